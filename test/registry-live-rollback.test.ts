import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { ScoreResult } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { ModelRegistry } from '@scoreq/registry';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, randomRows } from './helpers/models.js';
import { startWorkerProcess, type CliProcess } from './helpers/processes.js';
import { testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F8 = featureNames(8);
const metadata = { features: F8, output: { kind: 'classification' as const, labels: ['low', 'high'] } };
let dir: string;
let redis: Redis;
let registry: ModelRegistry;
let client: ScoringClient;
const workers: CliProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scoreq-live-rollback-'));
  redis = new Redis(redisUrl());
  registry = new ModelRegistry({ redis, prefix, store: 'file', storeDir: join(dir, 'store'), cacheDir: join(dir, 'registry-cache') });
  await registry.push('risk', buildLogisticRegression({ features: 8, seed: 1 }).bytes, { metadata, author: 'test' });
  await registry.push('risk', buildLogisticRegression({ features: 8, seed: 2 }).bytes, { metadata, author: 'test' });
  await registry.promote('risk', '1', { alias: 'production', by: 'test', reason: 'start' });
  client = new ScoringClient({ connection: redisUrl(), prefix });
});

after(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await client?.close();
  await registry?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await rm(dir, { recursive: true, force: true });
});

/** Resolves when every worker has logged a model state whose production alias is `version`. */
function allApplied(version: string, from: number[]): Promise<unknown> {
  return Promise.all(workers.map((w, i) => w.waitForLine(`"production":"${version}"`, 30_000, from[i])));
}

test('promote and roll back under live traffic on two workers: no job fails and each is scored by a version live at the time', async () => {
  const registryWorker = (i: number): Promise<CliProcess> =>
    startWorkerProcess(
      testConfig(prefix, '', {
        SCOREQ_MODEL_SOURCE: 'registry',
        SCOREQ_MODEL_STORE: 'file',
        SCOREQ_MODEL_STORE_DIR: join(dir, 'store'),
        SCOREQ_MODEL_CACHE_DIR: join(dir, `cache-${i}`),
        SCOREQ_POOL_THREADS: 1,
      }),
      ['risk'],
    );
  workers.push(...(await Promise.all([registryWorker(0), registryWorker(1)])));

  // A closed loop: each round of 10 jobs is scored before the next is sent, so the queue
  // never holds a backlog that would be scored after the window it was sent in.
  const results: ScoreResult[] = [];
  let traffic = true;
  const producer = (async () => {
    let seed = 0;
    while (traffic) {
      const ids = await client.submitMany(
        'risk',
        randomRows(F8, 10, seed++).map((row) => ({ rows: [row] })),
      );
      results.push(...(await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 60_000 })))));
    }
  })();
  // Resolves once `count` results are in; rejects at once if a job failed.
  const until = (count: number): Promise<void> =>
    Promise.race([
      new Promise<void>((resolve) => {
        const check = (): void => (results.length >= count ? resolve() : void setTimeout(check, 5));
        check();
      }),
      producer.then(() => assert.fail('the producer stopped early')),
    ]);

  await until(300);
  const promoteAt = Date.now();
  let marks = workers.map((w) => w.lines.length);
  await registry.promote('risk', '2', { alias: 'production', by: 'test', reason: 'canary' });
  await allApplied('2', marks);
  await until(results.length + 300);
  marks = workers.map((w) => w.lines.length);
  const rollbackAt = Date.now();
  await registry.rollback('risk', { alias: 'production', by: 'test', reason: 'revert' });
  await allApplied('1', marks);
  const rolledBackAt = Date.now();
  await until(results.length + 300);
  traffic = false;
  await producer;

  // A worker picks a job's version when it receives the job; a job received just before a
  // switch still runs on the version it was given, in a batch that may start after the switch.
  const received = (r: ScoreResult): number => r.timings.receivedAt;
  for (const r of results) {
    if (received(r) < promoteAt) assert.equal(r.version, '1', 'before the promotion only v1 was live');
    if (received(r) > rolledBackAt) assert.equal(r.version, '1', 'after both workers rolled back only v1 is live');
    if (r.version === '2') assert.ok(received(r) >= promoteAt && received(r) <= rolledBackAt, 'v2 scored only while it was live');
  }
  assert.ok(
    results.some((r) => r.version === '2'),
    'v2 scored some jobs while it was production',
  );
  assert.ok(
    results.some((r) => received(r) > rollbackAt && r.version === '1'),
    'v1 scored again after the rollback',
  );
  const history = await registry.history('risk');
  assert.deepEqual(
    history
      .map((h) => h.kind)
      .slice(0, 2)
      .sort(),
    ['promote', 'rollback'],
  );

  for (const w of workers) w.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
});
