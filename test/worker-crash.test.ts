import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { ScoringClient } from '@scoreq/client';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { queueBacklog } from './helpers/backlog.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir } from './helpers/models.js';
import { startWorkerProcess } from './helpers/processes.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
// Short locks so a dead worker's jobs are taken over in seconds, not BullMQ's default 30 s.
const locks = { SCOREQ_LOCK_DURATION_MS: 2000, SCOREQ_STALLED_INTERVAL_MS: 1000 };
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

test('a worker killed with SIGKILL mid-batch loses nothing: another worker takes over its jobs', async () => {
  const victim = await startWorkerProcess(testConfig(prefix, models.dir, { ...locks, SCOREQ_POOL_THREADS: 1 }), ['churn']);
  const total = 5000;
  const { ids, queue, busy, stopListening } = await queueBacklog(client, redis, { prefix, model: 'churn', features: F32, total, busyAfter: 200 });
  await busy;
  victim.child.kill('SIGKILL');
  assert.equal(await victim.exited, 'SIGKILL');
  await stopListening();

  const stranded = (await queue.getJobCounts('active')).active ?? 0;
  const rescuer = await startTestWorker(testConfig(prefix, models.dir, locks));
  try {
    const results = await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 60_000 })));
    assert.equal(results.length, total);
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting');
    assert.deepEqual(counts, { completed: total, failed: 0, active: 0, waiting: 0 });
    assert.ok(stranded > 0, 'the kill left jobs active (held by the dead worker), which the rescuer recovered');
  } finally {
    await rescuer.close();
    await queue.close();
  }
});
