import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import * as ort from 'onnxruntime-node';
import { base64ToFloat32, bulkQueueName, chunkJobId, float32Bytes, float32ToBase64, keys, type ChunkJobData, type ChunkResult } from '@scoreq/contracts';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import type { ScoringWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir, randomRows, toMatrix } from './helpers/models.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
let models: ModelsDir;
let worker: ScoringWorker;
let redis: Redis;
let queue: Queue;
let events: QueueEvents;
let path: string;

before(async () => {
  models = await ModelsDir.create();
  path = await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), {
    features: F32,
    output: { name: 'probabilities', kind: 'classification', labels: ['stay', 'churn'] },
  });
  worker = await startTestWorker(testConfig(prefix, models.dir));
  redis = new Redis(redisUrl());
  queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
  events = new QueueEvents(bulkQueueName('churn'), { connection: { url: redisUrl() }, prefix });
  await events.waitUntilReady();
});

after(async () => {
  await events?.close();
  await queue?.close();
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
});

function chunk(runId: string, index: number, matrix: Float32Array, rows: number): ChunkJobData {
  return { model: 'churn', version: '1', run: { id: runId, chunk: index }, rows, width: 32, features: float32ToBase64(matrix) };
}

test('a run chunk sent as a binary matrix is scored in one call and its output stored as binary', async () => {
  const rows = randomRows(F32, 1024, 5);
  const matrix = toMatrix(rows, F32);
  const id = chunkJobId('churn', 'run1', 0);
  const job = await queue.add('chunk', chunk('run1', 0, matrix, 1024), { jobId: id });
  await job.waitUntilFinished(events, 20_000);
  const stored = JSON.parse((await redis.get(keys(prefix).chunkResult(id)))!) as ChunkResult;
  const session = await ort.InferenceSession.create(path);
  const expected = (await session.run({ input: new ort.Tensor('float32', matrix, [1024, 32]) }))['probabilities']!.data as Float32Array;
  await session.release();
  assert.equal(stored.version, '1');
  assert.equal(stored.rows, 1024);
  assert.equal(stored.output.name, 'probabilities');
  assert.equal(stored.output.width, 2);
  assert.deepEqual(Array.from(base64ToFloat32(stored.output.data)), Array.from(expected));
});

test('a chunk of a cancelled run fails with CANCELLED without being scored', async () => {
  await redis.hset(keys(prefix).run('run2'), 'status', 'cancelled');
  const id = chunkJobId('churn', 'run2', 0);
  const job = await queue.add('chunk', chunk('run2', 0, toMatrix(randomRows(F32, 8, 1), F32), 8), { jobId: id });
  await assert.rejects(job.waitUntilFinished(events, 20_000), /CANCELLED/);
  assert.equal(await redis.exists(keys(prefix).chunkResult(id)), 0);
});

test('a chunk whose matrix does not match its row count fails with INVALID_INPUT', async () => {
  const id = chunkJobId('churn', 'run3', 0);
  const job = await queue.add('chunk', chunk('run3', 0, toMatrix(randomRows(F32, 8, 1), F32), 9), { jobId: id });
  await assert.rejects(job.waitUntilFinished(events, 20_000), /INVALID_INPUT/);
});

test('a chunk whose rows wait as raw bytes at its input key is scored the same, and the key is deleted after', async () => {
  const rows = randomRows(F32, 300, 9);
  const matrix = toMatrix(rows, F32);
  const id = chunkJobId('churn', 'run4', 0);
  const { features: _inline, ...data } = chunk('run4', 0, matrix, 300);
  await redis.set(keys(prefix).chunkInput(id), float32Bytes(matrix), 'EX', 60);
  const job = await queue.add('chunk', data, { jobId: id });
  await job.waitUntilFinished(events, 20_000);
  const stored = JSON.parse((await redis.get(keys(prefix).chunkResult(id)))!) as ChunkResult;
  const session = await ort.InferenceSession.create(path);
  const expected = (await session.run({ input: new ort.Tensor('float32', matrix, [300, 32]) }))['probabilities']!.data as Float32Array;
  await session.release();
  assert.deepEqual(Array.from(base64ToFloat32(stored.output.data)), Array.from(expected));
  assert.equal(await redis.exists(keys(prefix).chunkInput(id)), 0);
});

test('a chunk whose input key is gone fails with INVALID_INPUT naming it', async () => {
  const id = chunkJobId('churn', 'run5', 0);
  const { features: _inline, ...data } = chunk('run5', 0, toMatrix(randomRows(F32, 8, 1), F32), 8);
  const job = await queue.add('chunk', data, { jobId: id });
  await assert.rejects(job.waitUntilFinished(events, 20_000), /INVALID_INPUT: chunk input .*chunk-input.* is gone/);
});
