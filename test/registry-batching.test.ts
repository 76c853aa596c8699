/**
 * A version's metadata `batching` reaches the worker that serves it from the registry, on real
 * Redis with real onnxruntime: what each result says about its batch shows the limits applied.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ScoringClient } from '@scoreq/client';
import { InferencePool } from '@scoreq/inference';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { ModelRegistry, RegistryModelSource } from '@scoreq/registry';
import { createLogger } from '@scoreq/telemetry';
import { startWorker } from '@scoreq/worker';
import { randomRows } from './helpers/models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { testConfig } from './helpers/worker.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
let pool: InferencePool;
let root: string;

before(async () => {
  pool = new InferencePool({ threads: 1 });
  root = await mkdtemp(join(tmpdir(), 'scoreq-registry-batching-'));
});

after(async () => {
  await pool?.close();
  await redis.quit();
  await rm(root, { recursive: true, force: true });
});

test("a version's metadata batching overrides the worker's: batches of at most maxBatchRows, held up to maxDelayMs", async (t) => {
  const prefix = testPrefix();
  const storage = { redis, prefix, store: 'redis' as const };
  const registry = new ModelRegistry({ ...storage, cacheDir: join(root, 'registry-cache'), pool });
  const source = new RegistryModelSource({ ...storage, cacheDir: join(root, 'worker-cache') });
  const features = ['x', 'y', 'z'];
  // Held a minute at most: a batch can only leave full, at 2 rows, well before that.
  await registry.push('m', buildLogisticRegression({ features: 3, seed: 1 }).bytes, {
    metadata: { features, batching: { maxBatchRows: 2, maxDelayMs: 60_000 } },
  });
  // The worker's own settings would put every job in one batch within 2 ms.
  const worker = await startWorker({
    config: testConfig(prefix, root, { SCOREQ_POOL_THREADS: 1, SCOREQ_MAX_BATCH_ROWS: 64, SCOREQ_MAX_DELAY_MS: 2 }),
    source,
    models: ['m'],
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', service: 'registry-batching-worker' }),
    metricsServer: false,
  });
  const client = new ScoringClient({ connection: redisUrl(), prefix });
  t.after(async () => {
    await client.close();
    await worker.close();
    await registry.close();
    await cleanupPrefix(redis, prefix);
  });

  const ids = await client.submitMany(
    'm',
    randomRows(features, 6, 3).map((row) => ({ rows: [row] })),
  );
  const results = await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 20_000 })));
  assert.deepEqual(
    results.map((r) => [r.batch.rows, r.batch.jobs, r.batch.reason]),
    Array.from({ length: 6 }, () => [2, 2, 'full']),
  );
  assert.equal(new Set(results.map((r) => r.batch.id)).size, 3, 'three batches of two jobs');
});
