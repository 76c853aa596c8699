import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import * as ort from 'onnxruntime-node';
import { keys, queueName, type JobRecord } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { buildEmbeddingLookup, buildLogisticRegression, buildMlp, buildTreeEnsemble, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import type { ScoringWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir, randomRows, toMatrix } from './helpers/models.js';
import { sampleValue, scrape, startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
const F8 = featureNames(8);
const F4 = featureNames(4);
let models: ModelsDir;
let worker: ScoringWorker;
let client: ScoringClient;
let redis: Redis;
let churnPath: string;

before(async () => {
  models = await ModelsDir.create();
  const classification = { kind: 'classification' as const, labels: ['stay', 'churn'] };
  churnPath = await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), { features: F32, output: { name: 'probabilities', ...classification } });
  await models.add('risk', 1, buildLogisticRegression({ features: 8, seed: 3 }), { features: F8, output: { kind: 'classification', labels: ['low', 'high'] } });
  await models.add('risk', 2, buildLogisticRegression({ features: 8, seed: 4 }), { features: F8, output: { kind: 'classification', labels: ['low', 'high'] } });
  await models.setAliases('risk', { production: '1', staging: '2' });
  await models.add('forest', 1, buildTreeEnsemble({ features: 4, trees: 5, depth: 3, classes: 3, mode: 'classifier', seed: 5 }), {
    features: F4,
    output: { name: 'probabilities', kind: 'classification', labels: ['a', 'b', 'c'] },
  });
  await models.add('lookup', 1, buildEmbeddingLookup({ vocab: 10, dim: 4 }), { features: ['id'], output: { kind: 'raw' } });
  await models.add('single', 1, buildMlp({ layers: [4, 3], seed: 9, batch: 1 }), { features: F4, output: { kind: 'raw' } });
  worker = await startTestWorker(testConfig(prefix, models.dir, { SCOREQ_MAX_DELAY_MS: 5 }));
  client = new ScoringClient({ connection: redisUrl(), prefix });
  redis = new Redis(redisUrl());
});

after(async () => {
  await client?.close();
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
});

async function directRun(path: string, rows: Record<string, number>[], names: string[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path);
  const out = await session.run({ input: new ort.Tensor('float32', toMatrix(rows, names), [rows.length, names.length]) });
  await session.release();
  return out['probabilities']!.data as Float32Array;
}

test('results equal running the same onnxruntime session directly on the same rows', async () => {
  const jobs = Array.from({ length: 60 }, (_, i) => randomRows(F32, 1 + (i % 3), 100 + i));
  const ids = await client.submitMany(
    'churn',
    jobs.map((rows) => ({ rows })),
  );
  const results = await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 20_000 })));
  for (const [i, result] of results.entries()) {
    const rows = jobs[i]!;
    const expected = await directRun(churnPath, rows, F32);
    assert.equal(result.version, '1');
    assert.equal(result.rows!.length, rows.length);
    result.rows!.forEach((row, r) => {
      assert.ok(Math.abs(row.scores!['stay']! - expected[r * 2]!) < 1e-6, `job ${i} row ${r} stay`);
      assert.ok(Math.abs(row.scores!['churn']! - expected[r * 2 + 1]!) < 1e-6, `job ${i} row ${r} churn`);
      assert.equal(row.label, expected[r * 2 + 1]! > expected[r * 2]! ? 'churn' : 'stay');
    });
  }
});

test('under concurrent load rows of many jobs share one inference call', async () => {
  const before = await scrape(worker);
  const ids = await client.submitMany(
    'churn',
    randomRows(F32, 400, 7).map((row) => ({ rows: [row] })),
  );
  const results = await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 20_000 })));
  const after = await scrape(worker);
  const batches = sampleValue(after, 'scoreq_batch_rows_count', { model: 'churn' }) - sampleValue(before, 'scoreq_batch_rows_count', { model: 'churn' });
  const rows = sampleValue(after, 'scoreq_batch_rows_sum', { model: 'churn' }) - sampleValue(before, 'scoreq_batch_rows_sum', { model: 'churn' });
  assert.equal(rows, 400);
  assert.ok(batches < 400 / 2, `400 rows took ${batches} batches`);
  assert.ok(
    results.some((r) => r.batch.rows > 1),
    'some result rode a batch of more than one row',
  );
});

test('one worker serves several models, each with its own labels', async () => {
  const [churn, risk, forest] = await Promise.all([
    client.submit('churn', { rows: randomRows(F32, 1, 1) }),
    client.submit('risk', { rows: randomRows(F8, 2, 2) }),
    client.submit('forest', { rows: randomRows(F4, 3, 3) }),
  ]);
  const results = await Promise.all([churn, risk, forest].map((id) => client.waitForResult(id, { timeoutMs: 10_000 })));
  assert.deepEqual(
    results.map((r) => r.model),
    ['churn', 'risk', 'forest'],
  );
  assert.ok(['stay', 'churn'].includes(results[0]!.rows![0]!.label!));
  assert.ok(results[1]!.rows!.every((r) => ['low', 'high'].includes(r.label!)));
  assert.ok(results[2]!.rows!.every((r) => ['a', 'b', 'c'].includes(r.label!) && Math.abs(Object.values(r.scores!).reduce((a, b) => a + b) - 1) < 1e-5));
});

test('a job pinned to a version or alias is scored by exactly that version', async () => {
  const rows = randomRows(F8, 1, 11);
  const [byDefault, pinned, staged] = await Promise.all([
    client.submit('risk', { rows }),
    client.submit('risk', { rows }, { version: '2' }),
    client.submit('risk', { rows }, { version: 'staging' }),
  ]);
  const [d, p, s] = await Promise.all([byDefault, pinned, staged].map((id) => client.waitForResult(id, { timeoutMs: 10_000 })));
  assert.equal(d!.version, '1');
  assert.equal(p!.version, '2');
  assert.equal(s!.version, '2');
  assert.notEqual(d!.rows![0]!.scores!['high'], p!.rows![0]!.scores!['high']);
  assert.equal(p!.rows![0]!.scores!['high'], s!.rows![0]!.scores!['high']);
});

test('a job that breaks inference fails alone while its batch neighbours succeed', async () => {
  const good = Array.from({ length: 15 }, (_, i) => ({ rows: [{ id: i % 10 }] }));
  const poison = { rows: [{ id: 99 }] };
  const ids = await client.submitMany('lookup', [...good.slice(0, 7), poison, ...good.slice(7)]);
  const settled = await Promise.allSettled(ids.map((id) => client.waitForResult(id, { timeoutMs: 10_000 })));
  const failed = settled.filter((s) => s.status === 'rejected');
  assert.equal(failed.length, 1);
  assert.equal(settled[7]!.status, 'rejected');
  assert.equal(((settled[7] as PromiseRejectedResult).reason as { code: string }).code, 'INFERENCE_FAILED');
  const record = (await client.getResult(ids[7]!)) as JobRecord;
  assert.equal(record.status, 'failed');
  const queue = new Queue(queueName('lookup'), { connection: redis, prefix });
  const job = await queue.getJob(ids[7]!);
  assert.equal(job?.attemptsMade, 1, 'bad input is never retried');
  await queue.close();
});

test('a job whose deadline passed before its batch ran fails with DEADLINE_EXCEEDED', async () => {
  const id = await client.submit('churn', { rows: randomRows(F32, 1, 5) }, { deadline: Date.now() - 1 });
  await assert.rejects(client.waitForResult(id, { timeoutMs: 10_000 }), (err: { code?: string }) => err.code === 'DEADLINE_EXCEEDED');
});

test('a model whose batch axis is fixed is served one job at a time with correct results', async () => {
  const ids = await client.submitMany(
    'single',
    Array.from({ length: 6 }, (_, i) => ({ rows: randomRows(F4, 1 + (i % 2), 30 + i) })),
  );
  const results = await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 10_000 })));
  for (const r of results) {
    assert.equal(r.batch.jobs, 1);
    assert.equal(r.batch.reason, 'single');
    for (const row of r.rows!) assert.equal(row.outputs!['probabilities']!.length, 3);
  }
});

test('a result expires after its TTL', async () => {
  const id = await client.submit('churn', { rows: randomRows(F32, 1, 9) }, { resultTtlSec: 1 });
  await client.waitForResult(id, { timeoutMs: 10_000 });
  const ttl = await redis.pttl(keys(prefix).result(id));
  assert.ok(ttl > 0 && ttl <= 1000, `pttl ${ttl}`);
  await new Promise((resolve) => setTimeout(resolve, ttl + 50));
  assert.equal(await client.getResult(id), null);
});

test('an idempotency key submitted twice is scored once', async () => {
  const rows = randomRows(F32, 1, 77);
  const first = await client.submit('churn', { rows }, { idempotencyKey: 'order-4711' });
  const result = await client.waitForResult(first, { timeoutMs: 10_000 });
  const second = await client.submit('churn', { rows }, { idempotencyKey: 'order-4711' });
  assert.equal(second, first);
  const again = await client.waitForResult(second, { timeoutMs: 10_000 });
  assert.equal(again.batch.id, result.batch.id, 'the second submit returned the first result, not a new scoring');
});

test('a job put on the queue by a plain BullMQ producer is scored and its result stored under <model>.<job id>', async () => {
  const queue = new Queue(queueName('risk'), { connection: redis, prefix });
  const events = new QueueEvents(queueName('risk'), { connection: { url: redisUrl() }, prefix });
  await events.waitUntilReady();
  const job = await queue.add('score', { model: 'risk', rows: randomRows(F8, 1, 3) });
  const returned = (await job.waitUntilFinished(events, 10_000)) as { version: string };
  await Promise.all([queue.close(), events.close()]);
  const record = await client.getResult(`risk.${job.id!}`);
  assert.equal(returned.version, '1');
  assert.equal(record?.status, 'completed');
  assert.equal(record?.status === 'completed' && record.result.version, '1');
});

test('garbage job data from a plain producer fails alone with INVALID_INPUT naming the field', async () => {
  const queue = new Queue(queueName('risk'), { connection: redis, prefix });
  const events = new QueueEvents(queueName('risk'), { connection: { url: redisUrl() }, prefix });
  await events.waitUntilReady();
  const bad = await queue.add('score', { model: 'risk', rows: [{ f00: 'lots' }] });
  const worse = await queue.add('score', { nonsense: true });
  for (const [job, field] of [
    [bad, 'rows[0].f00'],
    [worse, 'model'],
  ] as const) {
    await assert.rejects(job.waitUntilFinished(events, 10_000), /INVALID_INPUT/);
    const record = await client.getResult(`risk.${job.id!}`);
    assert.equal(record?.status, 'failed');
    assert.equal(record?.status === 'failed' && record.error.code, 'INVALID_INPUT');
    assert.equal(record?.status === 'failed' && record.error.details?.['field'], field);
  }
  await Promise.all([queue.close(), events.close()]);
});
