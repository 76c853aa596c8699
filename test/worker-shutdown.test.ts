import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { keys } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { queueBacklog } from './helpers/backlog.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir } from './helpers/models.js';
import { startWorkerProcess } from './helpers/processes.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
let models: ModelsDir;
let client: ScoringClient;
let redis: Redis;

before(async () => {
  models = await ModelsDir.create();
  await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), { features: F32, output: { kind: 'classification', labels: ['stay', 'churn'] } });
  client = new ScoringClient({ connection: redisUrl(), prefix });
  redis = new Redis(redisUrl());
});

after(async () => {
  await client?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
});

test('SIGTERM under load drains the worker: it exits 0, no job is left active, and nothing is lost', async () => {
  const worker = await startWorkerProcess(testConfig(prefix, models.dir), ['churn']);
  const total = 4000;
  const { ids, queue, busy, stopListening } = await queueBacklog(client, redis, { prefix, model: 'churn', features: F32, total, busyAfter: 300 });
  await busy;
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exited, 0);
  await stopListening();

  const counts = await queue.getJobCounts('active', 'failed', 'completed', 'waiting');
  assert.equal(counts.active, 0, 'the drained worker left no job active');
  assert.equal(counts.failed, 0);
  const done = counts.completed ?? 0;
  assert.ok(done > 0 && done < total, `the first worker stopped part way (${done} done)`);
  const stored = (await redis.mget(ids.map((id) => keys(prefix).result(id)))).filter((v) => v !== null).length;
  assert.equal(stored, done, 'every completed job has its result stored');

  const second = await startTestWorker(testConfig(prefix, models.dir));
  try {
    const results = await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 60_000 })));
    assert.equal(results.length, total);
    assert.equal((await queue.getJobCounts('completed')).completed, total);
  } finally {
    await second.close();
    await queue.close();
  }
});
