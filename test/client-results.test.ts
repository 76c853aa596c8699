import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { keys, queueName, type JobRecord, type ScoreJobData, type ScoreResult } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { publishRecord } from './helpers/catalog.js';

const prefix = testPrefix();
const redis = new Redis(redisUrl());
const client = new ScoringClient({ connection: redisUrl(), prefix });
const closers: (() => Promise<unknown>)[] = [];

after(async () => {
  await client.close();
  for (const close of closers.reverse()) await close();
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

let models = 0;
/** Publishes a model under a fresh name and returns the name. */
function publishModel(): Promise<string> {
  return publishRecord(redis, prefix, `r${++models}`);
}

function inspector(model: string): Queue<ScoreJobData> {
  const queue = new Queue<ScoreJobData>(queueName(model), { connection: redis, prefix });
  closers.push(() => queue.close());
  return queue;
}

/** What the scoreq worker would produce for a job. */
function fakeResult(job: Job<ScoreJobData>): ScoreResult {
  const t = job.data.enqueuedAt ?? Date.now();
  return {
    model: job.data.model,
    version: '1',
    rows: (job.data.rows ?? []).map(() => ({ label: 'yes', score: 0.9, scores: { no: 0.1, yes: 0.9 } })),
    batch: { id: 'b1', rows: job.data.rows?.length ?? 0, jobs: 1, reason: 'single' },
    timings: {
      enqueuedAt: t,
      receivedAt: t + 1,
      dispatchedAt: t + 2,
      inferenceStartedAt: t + 3,
      inferenceEndedAt: t + 4,
      settledAt: t + 5,
      queuedMs: 1,
      batchWaitMs: 1,
      poolWaitMs: 1,
      inferenceMs: 1,
      totalMs: 5,
    },
  };
}

/**
 * A real BullMQ worker standing in for scoreq's: like it, the processor writes the job's
 * final record at the result key before the job completes or fails.
 */
function startWorker(model: string, outcome: 'complete' | 'fail'): Worker<ScoreJobData> {
  const connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const worker = new Worker<ScoreJobData>(
    queueName(model),
    async (job) => {
      const id = job.id!;
      const ttl = job.data.resultTtlSec ?? 60;
      if (outcome === 'fail') {
        const record: JobRecord = {
          id,
          status: 'failed',
          model,
          error: { code: 'INFERENCE_FAILED', message: 'onnxruntime refused the batch', details: { batch: 'b1' } },
          finishedAt: new Date().toISOString(),
        };
        await redis.set(keys(prefix).result(id), JSON.stringify(record), 'EX', ttl);
        throw new UnrecoverableError('onnxruntime refused the batch');
      }
      const record: JobRecord = { id, status: 'completed', result: fakeResult(job), finishedAt: new Date().toISOString() };
      await redis.set(keys(prefix).result(id), JSON.stringify(record), 'EX', ttl);
      return { ok: true };
    },
    { connection, prefix },
  );
  worker.on('error', () => {});
  closers.push(async () => {
    await worker.close();
    await connection.quit();
  });
  return worker;
}

const rows = [{ a: 1, b: 2, c: 3 }];

test('waitForResult resolves from the completed event once the worker has written the record', async () => {
  // No fallback poll within the test's time: only the event (or the first read) can settle it.
  const eventsOnly = new ScoringClient({ connection: redisUrl(), prefix, resultPollMs: 600_000 });
  closers.push(() => eventsOnly.close());
  const model = await publishModel();
  const id = await eventsOnly.submit(model, { rows });
  const waiting = eventsOnly.waitForResult(id, { timeoutMs: 10_000 });
  const worker = startWorker(model, 'complete');
  const [job] = (await once(worker, 'completed')) as [Job<ScoreJobData>];
  assert.equal(job.id, id);
  const result = await waiting;
  assert.equal(result.model, model);
  assert.deepEqual(result.rows, [{ label: 'yes', score: 0.9, scores: { no: 0.1, yes: 0.9 } }]);
  assert.deepEqual(await eventsOnly.waitForResult(id, { timeoutMs: 1_000 }), result, 'a finished job resolves at once');
});

test('waitForResult rejects with the code of the record when the job failed', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows });
  const waiting = client.waitForResult(id, { timeoutMs: 10_000 });
  startWorker(model, 'fail');
  await assert.rejects(waiting, { name: 'ScoreqError', code: 'INFERENCE_FAILED', message: 'onnxruntime refused the batch', details: { batch: 'b1' } });
  const status = await client.getStatus(id);
  assert.equal(status.status, 'failed');
  assert.equal(status.record?.status, 'failed');
});

test('waitForResult times out with WAIT_TIMEOUT when no worker takes the job', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows });
  const started = performance.now();
  await assert.rejects(client.waitForResult(id, { timeoutMs: 150 }), { code: 'WAIT_TIMEOUT', details: { id, timeoutMs: 150 } });
  assert.ok(performance.now() - started >= 140);
});

test('waitForResult rejects with JOB_NOT_FOUND for a well-formed id of no job', async () => {
  const model = await publishModel();
  await assert.rejects(client.waitForResult(`${model}.never-submitted`, { timeoutMs: 10_000 }), { code: 'JOB_NOT_FOUND' });
});

test('waitForResult stops when its signal aborts, with the signal reason', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows });
  const controller = new AbortController();
  const waiting = client.waitForResult(id, { timeoutMs: 10_000, signal: controller.signal });
  const reason = new Error('caller went away');
  controller.abort(reason);
  await assert.rejects(waiting, (err) => err === reason);
});

test('a thousand waiters on one job all settle from one record found by the fallback poll', async () => {
  const polling = new ScoringClient({ connection: redisUrl(), prefix, resultPollMs: 50 });
  closers.push(() => polling.close());
  const model = await publishModel();
  const id = await polling.submit(model, { rows });
  // Collected before the record exists: a poll may settle them while the write is answered.
  const waiters = Promise.allSettled(Array.from({ length: 1000 }, () => polling.waitForResult(id, { timeoutMs: 10_000 })));
  // Written behind BullMQ's back: no event announces it, only the poll can find it.
  const record: JobRecord = { id, status: 'failed', model, error: { code: 'DEADLINE_EXCEEDED', message: 'too late' }, finishedAt: new Date().toISOString() };
  await redis.set(keys(prefix).result(id), JSON.stringify(record), 'EX', 60);
  const settled = await waiters;
  assert.ok(settled.every((s) => s.status === 'rejected' && (s.reason as { code?: string }).code === 'DEADLINE_EXCEEDED'));
});

test('cancel removes a waiting job, writes a cancelled record, and its waiter rejects with CANCELLED', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows }, { resultTtlSec: 300 });
  // The assertion is attached first: the waiter may settle while cancel is still answered.
  const rejected = assert.rejects(client.waitForResult(id, { timeoutMs: 10_000 }), { code: 'CANCELLED' });
  assert.equal(await client.cancel(id), true);
  await rejected;
  assert.equal(await inspector(model).getJob(id), undefined, 'the job is gone');
  const record = await client.getResult(id);
  assert.equal(record?.status, 'cancelled');
  assert.ok(record.status === 'cancelled' && record.error.code === 'CANCELLED' && record.model === model);
  const ttl = await redis.ttl(keys(prefix).result(id));
  assert.ok(ttl > 0 && ttl <= 300, `the record expires with the job's resultTtlSec (ttl ${ttl})`);
  assert.deepEqual(await client.getStatus(id), { id, status: 'cancelled', record });
  assert.equal(await client.cancel(id), false, 'a second cancel finds nothing to remove');
});

test('cancel removes a delayed job too', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows }, { delayMs: 60_000 });
  assert.equal(await client.cancel(id), true);
  await assert.rejects(client.waitForResult(id, { timeoutMs: 5_000 }), { code: 'CANCELLED' });
});

test('cancel returns false for a finished job and for an unknown id, and leaves them alone', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows });
  const worker = startWorker(model, 'complete');
  await once(worker, 'completed');
  assert.equal(await client.cancel(id), false);
  assert.equal((await client.getResult(id))?.status, 'completed');
  assert.equal(await client.cancel(`${model}.unknown`), false);
  await assert.rejects(client.cancel('not-an-id'), { code: 'INVALID_OPTION', details: { field: 'id' } });
});

test('getStatus reports waiting, prioritized as waiting, delayed, completed with its record, and unknown ids', async () => {
  const model = await publishModel();
  const waiting = await client.submit(model, { rows });
  const prioritized = await client.submit(model, { rows }, { priority: 3 });
  const delayed = await client.submit(model, { rows }, { delayMs: 60_000 });
  assert.deepEqual(await client.getStatus(waiting), { id: waiting, status: 'waiting' });
  assert.deepEqual(await client.getStatus(prioritized), { id: prioritized, status: 'waiting' });
  assert.deepEqual(await client.getStatus(delayed), { id: delayed, status: 'delayed' });

  const other = await publishModel();
  const done = await client.submit(other, { rows });
  const worker = startWorker(other, 'complete');
  await once(worker, 'completed');
  const status = await client.getStatus(done);
  assert.equal(status.status, 'completed');
  assert.equal(status.record?.status, 'completed');
  assert.deepEqual(status.record, await client.getResult(done));

  await assert.rejects(client.getStatus(`${model}.nothing-here`), { code: 'JOB_NOT_FOUND' });
  await assert.rejects(client.getStatus('no-dot'), { code: 'INVALID_OPTION' });
  assert.equal(await client.getResult(`${model}.nothing-here`), null);
});

test('getResult also reads the record of a job another BullMQ producer added under a numeric id', async () => {
  const model = await publishModel();
  const job = await inspector(model).add('score', { model, rows });
  assert.equal(await client.getResult(job.id!), null);
  const record: JobRecord = {
    id: job.id!,
    status: 'failed',
    model,
    error: { code: 'INVALID_INPUT', message: 'bad', details: { field: 'rows[0].a' } },
    finishedAt: new Date().toISOString(),
  };
  await redis.set(keys(prefix).result(job.id!), JSON.stringify(record), 'EX', 60);
  assert.deepEqual(await client.getResult(job.id!), record);
  await assert.rejects(client.getResult(''), { code: 'INVALID_OPTION', details: { field: 'id' } });
});

test('close can be called twice, rejects pending waiters, and leaves a caller-owned connection open', async () => {
  const own = new Redis(redisUrl());
  const c = new ScoringClient({ connection: own, prefix });
  const model = await publishModel();
  const id = await c.submit(model, { rows });
  const rejected = assert.rejects(c.waitForResult(id, { timeoutMs: 10_000 }), { code: 'INTERNAL' });
  const first = c.close();
  const second = c.close();
  assert.equal(first, second, 'the same promise');
  await first;
  await rejected;
  await assert.rejects(c.submit(model, { rows }), { code: 'INTERNAL' });
  assert.equal(own.status, 'ready');
  assert.equal(await own.ping(), 'PONG');
  await own.quit();
});

test('close ends every connection the client opened', async () => {
  const connectionName = `${prefix}-own`;
  const url = new URL(redisUrl());
  const c = new ScoringClient({
    connection: {
      host: url.hostname,
      port: Number(url.port || 6379),
      password: url.password || undefined,
      db: Number(url.pathname.slice(1) || 0),
      connectionName,
    },
    prefix,
  });
  const model = await publishModel();
  const id = await c.submit(model, { rows });
  await assert.rejects(c.waitForResult(id, { timeoutMs: 100 }), { code: 'WAIT_TIMEOUT' });
  // BullMQ renames the events reader's connection after the queue.
  const names = [connectionName, `${prefix}:${Buffer.from(queueName(model)).toString('base64')}:qe`];
  const named = async (): Promise<number> =>
    String(await redis.client('LIST'))
      .split('\n')
      .filter((line) => names.some((name) => line.includes(` name=${name} `))).length;
  assert.equal(await named(), 2, 'the command connection and the events reader are open');
  await c.close();
  await c.close();
  // The server drops a closed socket asynchronously: wait for it, bounded.
  const until = Date.now() + 5_000;
  while ((await named()) > 0 && Date.now() < until) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await named(), 0);
});
