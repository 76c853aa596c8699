import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { now, type ScoreResult } from '@scoreq/contracts';
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

interface Scored {
  result: ScoreResult;
  /** When this test saw the result (contracts' `now()`, this process's clock). */
  doneAt: number;
}

async function scored(id: string): Promise<Scored> {
  const result = await client.waitForResult(id, { timeoutMs: 60_000 });
  return { result, doneAt: now() };
}

/** Resolves when every worker has logged a model state whose production alias is `version`. */
function allApplied(version: string, from: number[]): Promise<unknown> {
  return Promise.all(workers.map((w, i) => w.waitForLine(`"production":"${version}"`, 30_000, from[i])));
}

test('promote and roll back under live traffic on two workers: no job fails, each is scored by the version live when it was sent, and pinned jobs keep theirs', async () => {
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
  // never holds a backlog that would be scored after the window it was sent in. Each result
  // keeps when the test saw it; `timings.enqueuedAt` is when the client sent it. Both are
  // read from this process's clock (contracts' `now()`), as are the marks below, so the
  // windows need no agreement between the clocks of processes.
  const results: Scored[] = [];
  let traffic = true;
  const producer = (async () => {
    let seed = 0;
    while (traffic) {
      const ids = await client.submitMany(
        'risk',
        randomRows(F8, 10, seed++).map((row) => ({ rows: [row] })),
      );
      results.push(...(await Promise.all(ids.map((id) => scored(id)))));
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
  const promoteAt = now();
  let marks = workers.map((w) => w.lines.length);
  await registry.promote('risk', '2', { alias: 'production', by: 'test', reason: 'canary' });
  await allApplied('2', marks);
  const appliedV2At = now();
  // v1 is no alias's target any more: each worker releases it once its last batch is done.
  await Promise.all(workers.map((w, i) => w.waitForLine('"version":"1","msg":"model version released"', 30_000, marks[i])));
  // Jobs pinned to v1 meanwhile are scored by v1 (each worker loads it again), none fails.
  const pinned = await client.submitMany(
    'risk',
    randomRows(F8, 20, 1_000).map((row) => ({ rows: [row] })),
    { version: '1' },
  );
  const pinnedResults = await Promise.all(pinned.map((id) => client.waitForResult(id, { timeoutMs: 60_000 })));
  await until(results.length + 300);
  marks = workers.map((w) => w.lines.length);
  const rollbackAt = now();
  await registry.rollback('risk', { alias: 'production', by: 'test', reason: 'revert' });
  await allApplied('1', marks);
  const rolledBackAt = now();
  await until(results.length + 300);
  traffic = false;
  await producer;

  assert.deepEqual(
    pinnedResults.map((r) => r.version),
    pinned.map(() => '1'),
    'jobs pinned to v1 were scored by v1 while v2 was production',
  );
  // A job sent after every worker applied a state was received after it, so its version is
  // certain; a job seen back before a move was requested was received before it.
  const sentAfter = (at: number) => (s: Scored) => s.result.timings.enqueuedAt >= at;
  const backBefore = (at: number) => (s: Scored) => s.doneAt <= at;
  const versions = (list: Scored[]): string[] => [...new Set(list.map((s) => s.result.version))];
  assert.deepEqual(versions(results.filter(backBefore(promoteAt))), ['1'], 'before the promotion only v1 scored');
  const v2Window = results.filter((s) => sentAfter(appliedV2At)(s) && backBefore(rollbackAt)(s));
  assert.ok(v2Window.length > 0, 'some jobs were sent after both workers applied v2 and scored before the rollback');
  assert.deepEqual(versions(v2Window), ['2'], 'once both workers applied v2, every unpinned job was scored by v2');
  const afterRollback = results.filter(sentAfter(rolledBackAt));
  assert.ok(afterRollback.length > 0, 'some jobs were sent after both workers rolled back');
  assert.deepEqual(versions(afterRollback), ['1'], 'after both workers rolled back only v1 scored');
  for (const s of results.filter((r) => r.result.version === '2')) {
    assert.ok(s.doneAt > promoteAt && s.result.timings.enqueuedAt < rolledBackAt, 'v2 scored only jobs in flight while it was production');
  }

  // The last two moves, newest first: the promotion to v2, then the rollback to v1.
  const history = await registry.history('risk');
  assert.deepEqual(
    history.slice(0, 2).map((h) => ({ kind: h.kind, alias: h.alias, from: h.from, to: h.to, reason: h.reason })),
    [
      { kind: 'rollback', alias: 'production', from: '2', to: '1', reason: 'revert' },
      { kind: 'promote', alias: 'production', from: '1', to: '2', reason: 'canary' },
    ],
  );

  for (const w of workers) w.child.kill('SIGTERM');
  assert.deepEqual(await Promise.all(workers.map((w) => w.exited)), [0, 0]);
});
