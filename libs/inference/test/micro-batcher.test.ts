/**
 * MicroBatcher with a real InferencePool as its runner. The runner is wrapped only to observe
 * it (calls, stacked shapes, concurrency); every batch still runs in onnxruntime in a Piscina
 * thread. Tests wait on the jobs' promises and on drain(), never on time: delays are either
 * tiny (a lone job) or huge (60 s) where a test proves something does not wait for the timer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEmbeddingLookup, buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { now } from '@scoreq/contracts';
import {
  fixedPolicy,
  InferencePool,
  type FlushPolicy,
  MicroBatcher,
  singlePolicy,
  type BatchItem,
  type BatchRecord,
  type BatchRunner,
  type ItemResult,
  type MicroBatcherOptions,
} from '../src/index.js';
import { assertClose, floatInput, floatRef, hasCode, idInput, modelDir, output, randomRows, type ModelDir } from './helpers.js';

const mlp = buildMlp(REFERENCE_MODELS.small);
const mlpBatch1 = buildMlp({ ...REFERENCE_MODELS.small, batch: 1 });
const embedding = buildEmbeddingLookup({ vocab: 10, dim: 4, seed: 7 });

/** Long enough that a test finishing at all proves the batcher did not wait for the timer. */
const NEVER_MS = 60_000;

let pool: InferencePool;
let dir: ModelDir;
const paths = { mlp: '', mlpBatch1: '', embedding: '' };

before(async () => {
  dir = await modelDir('batcher');
  pool = new InferencePool({ threads: 2 });
  paths.mlp = await dir.write('mlp', mlp);
  paths.mlpBatch1 = await dir.write('mlp-batch1', mlpBatch1);
  paths.embedding = await dir.write('embedding', embedding);
  await Promise.all([pool.load('mlp@1', paths.mlp), pool.load('mlp-batch1@1', paths.mlpBatch1), pool.load('embedding@1', paths.embedding)]);
});

after(async () => {
  await pool?.close();
  await dir?.remove();
});

/** A runner on the real pool that records every call's stacked shapes and how many calls overlap. */
interface Spy {
  run: BatchRunner;
  /** Dims of every input, per call, read before the buffers move to the thread. */
  calls: number[][][];
  active: number;
  maxActive: number;
}

function spyOn(key: string, path: string, fixedBatch: number | null = null): Spy {
  const spy: Spy = {
    calls: [],
    active: 0,
    maxActive: 0,
    run: async (inputs) => {
      spy.calls.push(inputs.map((t) => [...t.dims]));
      spy.active++;
      spy.maxActive = Math.max(spy.maxActive, spy.active);
      try {
        return await pool.run({ key, path, inputs, fixedBatch });
      } finally {
        spy.active--;
      }
    },
  };
  return spy;
}

/** One MLP job of `rows` random rows, with the reference on the same rows (computed before the buffer moves). */
function mlpJob(rows: number, seed: number, extra: Partial<BatchItem> = {}): { item: BatchItem; expected: Float32Array } {
  const input = randomRows(rows, 32, seed);
  const expected = floatRef(mlp.reference(input, rows), 'probabilities');
  return { item: { rows, inputs: [floatInput('input', input, rows)], ...extra }, expected };
}

function assertOwnRows(result: ItemResult, job: { item: BatchItem; expected: Float32Array }, what: string): void {
  const probabilities = output(result.outputs, 'probabilities');
  assert.deepEqual(probabilities.dims, [job.item.rows, 2], `${what}: dims`);
  assertClose(probabilities.data, job.expected, what);
}

function batcher(options: Partial<MicroBatcherOptions> & Pick<MicroBatcherOptions, 'run'>): MicroBatcher {
  return new MicroBatcher({ policy: fixedPolicy({ maxBatchRows: 64, maxDelayMs: NEVER_MS }), maxInFlight: 2, capacityJobs: 64, ...options });
}

// ---- options ---------------------------------------------------------------------------

test('the batcher refuses maxInFlight below 1, naming the option', () => {
  const run: BatchRunner = () => Promise.reject(new Error('never called'));
  assert.throws(() => batcher({ run, maxInFlight: 0 }), hasCode('INVALID_OPTION', 'maxInFlight'));
});

test('the batcher refuses capacityJobs below 1, naming the option', () => {
  const run: BatchRunner = () => Promise.reject(new Error('never called'));
  assert.throws(() => batcher({ run, capacityJobs: 0 }), hasCode('INVALID_OPTION', 'capacityJobs'));
});

// ---- when batches leave ----------------------------------------------------------------

test('batches fill to maxBatchRows and leave as full when many jobs arrive at once', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const records: BatchRecord[] = [];
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 4, maxDelayMs: NEVER_MS }), run: spy.run, onBatch: (r) => records.push(r) });
  const jobs = Array.from({ length: 20 }, (_, i) => mlpJob(1, 300 + i));
  const results = await Promise.all(jobs.map((j) => b.submit(j.item)));

  assert.equal(spy.calls.length, 5);
  for (const dims of spy.calls) assert.deepEqual(dims, [[4, 32]]);
  assert.deepEqual(
    records.map((r) => [r.rows, r.jobs, r.reason, r.error]),
    Array.from({ length: 5 }, () => [4, 4, 'full', undefined]),
  );
  assert.equal(new Set(results.map((r) => r.batch.id)).size, 5);
  results.forEach((result, i) => {
    assert.equal(result.batch.reason, 'full');
    assertOwnRows(result, jobs[i]!, `jobs[${i}]`);
  });
  await b.drain();
});

test('a lone job leaves by delay once maxDelayMs has passed', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 64, maxDelayMs: 2 }), run: spy.run });
  const job = mlpJob(2, 310);
  const result = await b.submit(job.item);
  assert.deepEqual({ ...result.batch, id: '' }, { id: '', rows: 2, jobs: 1, reason: 'delay' });
  assertOwnRows(result, job, 'lone job');
  await b.drain();
});

for (const maxInFlight of [1, 2]) {
  test(`never more than maxInFlight (${maxInFlight}) batches run at once, though the pool has 2 threads`, async () => {
    const spy = spyOn('mlp@1', paths.mlp);
    const b = batcher({ policy: fixedPolicy({ maxBatchRows: 2, maxDelayMs: NEVER_MS }), run: spy.run, maxInFlight });
    const jobs = Array.from({ length: 40 }, (_, i) => mlpJob(1, 400 + i));
    const results = await Promise.all(jobs.map((j) => b.submit(j.item)));
    assert.equal(spy.calls.length, 20);
    assert.equal(spy.maxActive, maxInFlight);
    results.forEach((result, i) => assertOwnRows(result, jobs[i]!, `jobs[${i}]`));
    await b.drain();
  });
}

test('when heldJobs reaches capacityJobs the batch leaves at once as full, without waiting for a 60 s delay', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ run: spy.run, capacityJobs: 3 });
  const jobs = [mlpJob(1, 500), mlpJob(2, 501), mlpJob(1, 502)];
  const pending = jobs.slice(0, 2).map((j) => b.submit(j.item));
  assert.equal(spy.calls.length, 0, 'two of three jobs wait');
  pending.push(b.submit(jobs[2]!.item));
  // Dispatch happens inside submit, synchronously: no timer was involved.
  assert.deepEqual(spy.calls, [[[4, 32]]]);
  const results = await Promise.all(pending);
  results.forEach((result, i) => {
    assert.equal(result.batch.reason, 'full');
    assert.equal(result.batch.jobs, 3);
    assertOwnRows(result, jobs[i]!, `jobs[${i}]`);
  });
  await b.drain();
});

test('a job whose deadline falls before the delay ends leaves at once by deadline', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ run: spy.run });
  const job = mlpJob(1, 510, { deadline: now() + NEVER_MS / 2 });
  const pending = b.submit(job.item);
  assert.equal(spy.calls.length, 1, 'dispatched inside submit');
  const result = await pending;
  assert.equal(result.batch.reason, 'deadline');
  assertOwnRows(result, job, 'job');
  await b.drain();
});

// ---- what each job gets back -----------------------------------------------------------

test('jobs of 1, 3 and 7 rows stacked into one batch each get exactly their own rows back', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 11, maxDelayMs: NEVER_MS }), run: spy.run });
  const jobs = [mlpJob(1, 600), mlpJob(3, 601), mlpJob(7, 602)];
  const results = await Promise.all(jobs.map((j) => b.submit(j.item)));
  assert.deepEqual(spy.calls, [[[11, 32]]]);
  assert.equal(new Set(results.map((r) => r.batch.id)).size, 1, 'one batch');
  results.forEach((result, i) => {
    assert.deepEqual({ rows: result.batch.rows, jobs: result.batch.jobs }, { rows: 11, jobs: 3 });
    assertOwnRows(result, jobs[i]!, `job of ${jobs[i]!.item.rows} rows`);
  });
  await b.drain();
});

test('a poison job among 9 good ones fails alone with INFERENCE_FAILED while the 9 succeed, by splitting the batch', async () => {
  const spy = spyOn('embedding@1', paths.embedding);
  const records: BatchRecord[] = [];
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 10, maxDelayMs: NEVER_MS }), run: spy.run, onBatch: (r) => records.push(r) });
  const ids = [0, 1, 2, 3, 4, 5, 30, 7, 8, 9]; // 30 is outside the table of 10
  const poison = 6;
  const settled = await Promise.allSettled(ids.map((id) => b.submit({ rows: 1, inputs: [idInput('id', [id])] })));

  settled.forEach((s, i) => {
    if (i === poison) {
      assert.equal(s.status, 'rejected');
      hasCode('INFERENCE_FAILED')((s as PromiseRejectedResult).reason);
      return;
    }
    assert.equal(s.status, 'fulfilled', `job ${i} succeeded`);
    const rows = output((s as PromiseFulfilledResult<ItemResult>).value.outputs, 'embedding');
    assert.deepEqual(Array.from(rows.data as Float32Array), Array.from(floatRef(embedding.reference(Float32Array.of(ids[i]!), 1), 'embedding')));
  });

  // The whole batch failed first; every later record is one of its halves, named after it.
  const [first, ...splits] = records;
  assert.deepEqual([first?.rows, first?.jobs, first?.reason, first?.error?.code], [10, 10, 'full', 'INFERENCE_FAILED']);
  assert.ok(splits.length > 0);
  for (const r of splits) assert.ok(r.id.startsWith(`${first!.id}.`), `${r.id} is a part of ${first!.id}`);
  const succeeded = splits.filter((r) => !r.error);
  const failedAlone = splits.filter((r) => r.error && r.jobs === 1);
  assert.equal(
    succeeded.reduce((n, r) => n + r.jobs, 0),
    9,
    'the 9 good jobs ran in split batches',
  );
  assert.equal(failedAlone.length, 1, 'one single-job batch failed: the poison');
  assert.equal(failedAlone[0]!.error!.code, 'INFERENCE_FAILED');
  assert.equal(spy.calls.length, records.length, 'one record per runner call');
  await b.drain();
});

test('a job whose deadline has passed is rejected with DEADLINE_EXCEEDED and never reaches the runner', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ run: spy.run });

  const late = mlpJob(3, 700, { deadline: now() - 1_000 });
  await assert.rejects(b.submit(late.item), hasCode('DEADLINE_EXCEEDED'));
  assert.equal(spy.calls.length, 0);

  // Behind a waiting job, the late one makes the batch leave by deadline, and only the waiting job's rows run.
  const waiting = mlpJob(1, 701);
  const onTime = b.submit(waiting.item);
  const lateAgain = b.submit(mlpJob(3, 702, { deadline: now() - 1_000 }).item);
  await assert.rejects(lateAgain, hasCode('DEADLINE_EXCEEDED'));
  const result = await onTime;
  assert.deepEqual(spy.calls, [[[1, 32]]]);
  assert.deepEqual({ rows: result.batch.rows, jobs: result.batch.jobs, reason: result.batch.reason }, { rows: 1, jobs: 1, reason: 'deadline' });
  assertOwnRows(result, waiting, 'on-time job');
  await b.drain();
});

test('jobs whose trailing dims differ are not stacked together', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ run: spy.run, capacityJobs: 3 });
  const a = mlpJob(1, 800);
  const c = mlpJob(2, 801);
  // 16 columns where the model takes 32: stacking it with the others would corrupt their batch.
  const narrow: BatchItem = { rows: 1, inputs: [floatInput('input', randomRows(1, 16, 802), 1)] };
  const settled = await Promise.allSettled([b.submit(a.item), b.submit(c.item), b.submit(narrow)]);

  assert.deepEqual(spy.calls, [[[3, 32]], [[1, 16]]]);
  assert.equal(settled[0].status, 'fulfilled');
  assert.equal(settled[1].status, 'fulfilled');
  assertOwnRows((settled[0] as PromiseFulfilledResult<ItemResult>).value, a, 'first 32-column job');
  assertOwnRows((settled[1] as PromiseFulfilledResult<ItemResult>).value, c, 'second 32-column job');
  assert.equal(settled[2].status, 'rejected');
  hasCode('INFERENCE_FAILED')((settled[2] as PromiseRejectedResult).reason);
  await b.drain();
});

test('with the single policy every job of a fixed-batch-1 model is its own call, a 5-row job included', async () => {
  const spy = spyOn('mlp-batch1@1', paths.mlpBatch1, 1);
  const b = batcher({ policy: singlePolicy(), run: spy.run });
  const jobs = [mlpJob(1, 900), mlpJob(5, 901), mlpJob(1, 902)];
  const results = await Promise.all(jobs.map((j) => b.submit(j.item)));
  assert.deepEqual(spy.calls, [[[1, 32]], [[5, 32]], [[1, 32]]]);
  results.forEach((result, i) => {
    assert.deepEqual({ jobs: result.batch.jobs, reason: result.batch.reason }, { jobs: 1, reason: 'single' });
    assertOwnRows(result, jobs[i]!, `jobs[${i}]`);
  });
  await b.drain();
});

// ---- failures and shutdown -------------------------------------------------------------

test('a runner that throws rejects every job of its batch with INTERNAL, without splitting', async () => {
  let calls = 0;
  const b = batcher({
    run: async () => {
      calls++;
      throw new Error('thread died');
    },
    capacityJobs: 3,
  });
  const settled = await Promise.allSettled([1, 2, 3].map((i) => b.submit(mlpJob(1, 1000 + i).item)));
  assert.equal(calls, 1);
  for (const s of settled) {
    assert.equal(s.status, 'rejected');
    hasCode('INTERNAL')((s as PromiseRejectedResult).reason);
    assert.match(((s as PromiseRejectedResult).reason as Error).message, /thread died/);
  }
  await b.drain();
});

test('drain flushes waiting jobs by drain, resolves after the batches in flight settle, and refuses later jobs', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 2, maxDelayMs: NEVER_MS }), run: spy.run, maxInFlight: 1 });
  const jobs = [mlpJob(1, 1100), mlpJob(1, 1101), mlpJob(3, 1102)];
  const events: string[] = [];
  const pending = jobs.map((j, i) => b.submit(j.item).then((r) => (events.push(`job ${i}`), r)));
  assert.equal(spy.calls.length, 1, 'the first two jobs are in flight, the third waits');

  await b.drain();
  events.push('drained');
  assert.deepEqual(events.slice().sort(), ['drained', 'job 0', 'job 1', 'job 2']);
  assert.equal(events.at(-1), 'drained', 'drain resolved after every job settled');

  const results = await Promise.all(pending);
  assert.deepEqual(
    results.map((r) => r.batch.reason),
    ['full', 'full', 'drain'],
  );
  results.forEach((result, i) => assertOwnRows(result, jobs[i]!, `jobs[${i}]`));
  assert.deepEqual(spy.calls, [[[2, 32]], [[3, 32]]]);

  await assert.rejects(b.submit(mlpJob(1, 1103).item), hasCode('WORKER_SHUTTING_DOWN'));
  assert.equal(spy.calls.length, 2, 'the refused job never reached the runner');
});

test('drain of a batcher that holds nothing resolves at once', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ run: spy.run });
  await b.drain();
  assert.equal(spy.calls.length, 0);
});

test('drain called twice while a batch is in flight resolves both calls', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ run: spy.run, capacityJobs: 1 });
  const job = mlpJob(1, 1200);
  const pending = b.submit(job.item);
  assert.equal(spy.calls.length, 1);
  await Promise.all([b.drain(), b.drain()]);
  assertOwnRows(await pending, job, 'job');
});

// ---- idle ------------------------------------------------------------------------------

/**
 * Holds waiting jobs until every deadline among them has passed, then flushes by delay: what
 * fixedPolicy does when a deadline falls just after maxDelayMs, without depending on timing.
 */
function untilDeadlinesPass(): FlushPolicy {
  return {
    maxBatchRows: 64,
    decide: (s) => (s.now > s.earliestDeadline ? { flush: 'delay' } : { waitMs: s.earliestDeadline - s.now + 1 }),
  };
}

/** Counts `onIdle` calls; `next()` resolves at the next one (a job's promise settles before its batch frees the slot). */
function idleSpy(): { onIdle: () => void; readonly calls: number; next(): Promise<void> } {
  let calls = 0;
  const waiters: Array<() => void> = [];
  return {
    onIdle: () => {
      calls++;
      for (const resolve of waiters.splice(0)) resolve();
    },
    get calls() {
      return calls;
    },
    next: () => new Promise<void>((resolve) => waiters.push(resolve)),
  };
}

test('onIdle is called once when the last batch settles, not after every batch, and again after the next job', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const idle = idleSpy();
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 4, maxDelayMs: NEVER_MS }), run: spy.run, onIdle: idle.onIdle });
  let becameIdle = idle.next();
  await Promise.all(Array.from({ length: 20 }, (_, i) => b.submit(mlpJob(1, 1300 + i).item)));
  await becameIdle;
  assert.equal(spy.calls.length, 5, 'five batches ran');
  assert.equal(idle.calls, 1, 'idle once, after the last of them');

  becameIdle = idle.next();
  await b.submit(mlpJob(1, 1320, { deadline: now() + NEVER_MS }).item);
  await becameIdle;
  await b.drain();
  assert.equal(idle.calls, 2, 'idle again after the next job; draining an idle batcher is no new transition');
});

test('onIdle is called when the last waiting jobs pass their deadline before their batch leaves, though no batch runs', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const idle = idleSpy();
  const b = batcher({ policy: untilDeadlinesPass(), run: spy.run, onIdle: idle.onIdle });
  const jobs = [b.submit(mlpJob(1, 1400, { deadline: now() + 5 }).item), b.submit(mlpJob(2, 1401, { deadline: now() + 5 }).item)];
  assert.equal(b.heldJobs, 2, 'both wait for the batch');
  assert.equal(idle.calls, 0);
  for (const job of jobs) await assert.rejects(job, hasCode('DEADLINE_EXCEEDED'));
  assert.equal(spy.calls.length, 0, 'no batch ran');
  assert.equal(b.heldJobs, 0);
  assert.equal(idle.calls, 1, 'idle, though no batch settled');
  await b.drain();
});

// ---- bulk lane ---------------------------------------------------------------------------

test('with borrowing off, bulk chunks never take every slot: one stays free for real-time jobs', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const records: BatchRecord[] = [];
  const b = batcher({
    policy: fixedPolicy({ maxBatchRows: 64, maxDelayMs: 0 }),
    run: spy.run,
    maxInFlight: 2,
    bulkSliceMs: 0,
    onBatch: (r) => records.push(r),
  });
  const chunks = Array.from({ length: 4 }, (_, i) => mlpJob(256, 900 + i, { lane: 'bulk' }));
  const realtime = mlpJob(1, 950);
  const bulkResults = chunks.map((c) => b.submit(c.item));
  const realtimeResult = b.submit(realtime.item);
  const results = await Promise.all([...bulkResults, realtimeResult]);

  assert.equal(spy.maxActive, 2);
  // The real-time job went out second: after the first chunk, not behind the other three.
  assert.deepEqual(
    spy.calls.map((dims) => dims[0]![0]),
    [256, 1, 256, 256, 256],
  );
  assert.deepEqual(records.filter((r) => r.reason === 'bulk').length, 4);
  chunks.forEach((c, i) => assertOwnRows(results[i]!, c, `chunk ${i}`));
  assertOwnRows(results[4]!, realtime, 'real-time job');
  await b.drain();
});

test('a waiting real-time job stops borrowing: it goes out on the next free slot, before the rest of the run', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 64, maxDelayMs: 0 }), run: spy.run, maxInFlight: 2, maxBulkInFlight: 1 });
  const chunks = Array.from({ length: 4 }, (_, i) => mlpJob(256, 900 + i, { lane: 'bulk' }));
  const realtime = mlpJob(1, 950);
  const bulkResults = chunks.map((c) => b.submit(c.item));
  const realtimeResult = b.submit(realtime.item);
  const results = await Promise.all([...bulkResults, realtimeResult]);

  assert.equal(spy.maxActive, 2);
  const rows = spy.calls.map((dims) => dims[0]![0]!);
  // A whole chunk on the bulk lane's slot, a slice (policy.maxBatchRows before any measurement)
  // on the borrowed one, then the real-time job on whichever frees first.
  assert.deepEqual(rows.slice(0, 3), [256, 64, 1]);
  assert.equal(
    rows.slice(3).reduce((n, r) => n + r, 0),
    4 * 256 - 256 - 64,
  );
  chunks.forEach((c, i) => assertOwnRows(results[i]!, c, `chunk ${i}`));
  assertOwnRows(results[4]!, realtime, 'real-time job');
  await b.drain();
});

test('with no real-time traffic bulk work uses every slot, borrowed ones in slices, and every chunk gets its own rows back', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const records: BatchRecord[] = [];
  const b = batcher({ run: spy.run, maxInFlight: 2, maxBulkInFlight: 1, onBatch: (r) => records.push(r) });
  const chunks = Array.from({ length: 6 }, (_, i) => mlpJob(512, 1300 + i, { lane: 'bulk' }));
  const results = await Promise.all(chunks.map((c) => b.submit(c.item)));

  assert.equal(spy.maxActive, 2);
  assert.ok(
    records.some((r) => r.rows < 512),
    'some calls ran slices on the borrowed slot',
  );
  assert.equal(
    records.reduce((n, r) => n + r.rows, 0),
    6 * 512,
  );
  assert.ok(records.every((r) => r.reason === 'bulk' && r.jobs === 1 && r.error === undefined));
  chunks.forEach((c, i) => {
    assertOwnRows(results[i]!, c, `chunk ${i}`);
    assert.equal(results[i]!.batch.rows, 512, `chunk ${i}: the result counts all its rows`);
    assert.ok(results[i]!.inferenceEndedAt >= results[i]!.inferenceStartedAt);
  });
  await b.drain();
});

test('a real-time job arriving during a run is served by the next free slot, while borrowed slices stay short', async () => {
  let reached: () => void = () => undefined;
  const fourCalls = new Promise<void>((resolve) => (reached = resolve));
  const spy = spyOn('mlp@1', paths.mlp);
  const run: BatchRunner = (inputs) => {
    const reply = spy.run(inputs);
    if (spy.calls.length === 4) reached();
    return reply;
  };
  const b = batcher({ policy: fixedPolicy({ maxBatchRows: 64, maxDelayMs: 0 }), run, maxInFlight: 2, maxBulkInFlight: 1, bulkSliceMs: 1 });
  const chunks = Array.from({ length: 8 }, (_, i) => mlpJob(1024, 1400 + i, { lane: 'bulk' }));
  const bulkResults = chunks.map((c) => b.submit(c.item));
  await fourCalls;
  const callsBefore = spy.calls.length;
  const realtime = mlpJob(1, 1450);
  const realtimeResult = await b.submit(realtime.item);

  // Both slots were busy with bulk work when the job arrived: the very next call is the job's.
  assert.deepEqual(spy.calls[callsBefore], [[1, 32]]);
  assertOwnRows(realtimeResult, realtime, 'real-time job');
  const results = await Promise.all(bulkResults);
  chunks.forEach((c, i) => assertOwnRows(results[i]!, c, `chunk ${i}`));
  assert.ok(
    spy.calls.some((dims) => dims[0]![0]! < 1024),
    'borrowed slots ran slices, not whole chunks',
  );
  await b.drain();
});

test('drain waits for bulk chunks too', async () => {
  const spy = spyOn('mlp@1', paths.mlp);
  const b = batcher({ run: spy.run });
  const chunk = mlpJob(64, 990, { lane: 'bulk' });
  const pending = b.submit(chunk.item);
  await b.drain();
  assertOwnRows(await pending, chunk, 'chunk');
});
