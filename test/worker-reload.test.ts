/**
 * Hot reload on one worker, against real Redis and onnxruntime: when an alias moves, the
 * version it left is released from the pool once its batches are done, and a job that pins
 * that version later is still scored by it (the worker loads it again).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { queueName, type ModelMetadata } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { ModelRegistry, RegistryModelSource } from '@scoreq/registry';
import { createLogger } from '@scoreq/telemetry';
import { startWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { testConfig } from './helpers/worker.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'scoreq-worker-reload-'));
});

after(async () => {
  await redis.quit();
  await rm(root, { recursive: true, force: true });
});

interface LogLine {
  msg: string;
  version?: string;
  aliases?: Record<string, string>;
  retired?: string[];
}

/** The worker's log lines, parsed, and a way to wait for one (event-driven, no polling). */
function logSink(): { lines: LogLine[]; write(line: string): void; next(match: (l: LogLine) => boolean, from: number): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  return {
    lines,
    write(line) {
      const parsed = JSON.parse(line) as LogLine;
      lines.push(parsed);
      for (const w of waiters.filter((w) => w.match(parsed))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(parsed);
      }
    },
    next(match, from) {
      const seen = lines.slice(from).find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

const applied = (production: string) => (l: LogLine) => l.msg === 'model state applied' && l.aliases?.['production'] === production;
const said = (msg: string, version: string) => (l: LogLine) => l.msg === msg && l.version === version;

interface Served {
  prefix: string;
  registry: ModelRegistry;
  client: ScoringClient;
  log: ReturnType<typeof logSink>;
  /** Submits one row (pinned to `version` if given) and resolves with the version that scored it. */
  score(version?: string): Promise<string>;
}

const features = ['x', 'y', 'z'];

/**
 * Model `m` in a registry on a fresh prefix, one version per metadata (production → v1), and
 * an in-process worker serving it from the registry with its log lines read back.
 */
async function serve(t: TestContext, versions: ModelMetadata[]): Promise<Served> {
  const prefix = testPrefix();
  const dir = await mkdtemp(join(root, 'case-'));
  const shared = { redis, prefix, store: 'redis' as const, storeDir: join(dir, 'store') };
  const registry = new ModelRegistry({ ...shared, cacheDir: join(dir, 'registry-cache') });
  for (const [i, metadata] of versions.entries()) await registry.push('m', buildLogisticRegression({ features: 3, seed: i + 1 }).bytes, { metadata });
  await registry.promote('m', '1', { force: true });
  const log = logSink();
  const worker = await startWorker({
    config: testConfig(prefix, root, { SCOREQ_POOL_THREADS: 2 }),
    source: new RegistryModelSource({ ...shared, cacheDir: join(dir, 'worker-cache') }),
    models: ['m'],
    logger: createLogger({ level: 'info', service: 'reload-test-worker', destination: log }),
    metricsServer: false,
  });
  const client = new ScoringClient({ connection: redisUrl(), prefix });
  t.after(async () => {
    await client.close();
    await worker.close();
    await registry.close();
    await cleanupPrefix(redis, prefix);
  });
  const score = async (version?: string): Promise<string> => {
    const id = await client.submit('m', { rows: [{ x: 0.1, y: 0.2, z: 0.3 }] }, version === undefined ? {} : { version });
    return (await client.waitForResult(id, { timeoutMs: 10_000 })).version;
  };
  return { prefix, registry, client, log, score };
}

test(
  'after a promotion the old version is released; a job pinned to it later is scored by it, and a rollback releases the new one',
  { timeout: 60_000 },
  async (t) => {
    // The latest version stays loaded whatever the aliases say: v3 keeps v1 and v2 apart from it.
    const { registry, log, score } = await serve(t, [{ features }, { features }, { features }]);
    assert.equal(await score(), '1');

    let mark = log.lines.length;
    await registry.promote('m', '2', { force: true });
    assert.deepEqual((await log.next(applied('2'), mark)).retired, ['1'], 'the switch to v2 retires v1');
    await log.next(said('model version released', '1'), mark);
    assert.equal(await score(), '2');

    mark = log.lines.length;
    assert.equal(await score('1'), '1', 'a job pinned to the released version is scored by it');
    assert.ok(log.lines.slice(mark).some(said('model version reloaded', '1')), 'v1 was loaded again for the pinned job: its sessions had been released');
    assert.equal(await score(), '2', 'the pinned job did not move production');

    mark = log.lines.length;
    await registry.rollback('m');
    assert.deepEqual((await log.next(applied('1'), mark)).retired, ['2'], 'the rollback retires v2 and keeps v1, which is live again');
    await log.next(said('model version released', '2'), mark);
    assert.equal(await score(), '1');
    assert.equal(await score('2'), '2');
  },
);

test(
  'jobs waiting in the batcher of a version that retires are scored by it, with a job pinned to it after the switch; it is released after the next change',
  { timeout: 60_000 },
  async (t) => {
    // v1 holds rows until 4 are waiting (no delay flush): its batch can only leave with the pinned job.
    const { prefix, registry, client, log } = await serve(t, [{ features, batching: { maxBatchRows: 4, maxDelayMs: 600_000 } }, { features }]);
    const row = { x: 0.1, y: 0.2, z: 0.3 };
    const events = new QueueEvents(queueName('m'), { connection: { url: redisUrl() }, prefix });
    t.after(() => events.close());
    await events.waitUntilReady();
    let active = 0;
    const threeActive = new Promise<void>((resolve) => events.on('active', () => ++active === 3 && resolve()));
    const held = await client.submitMany('m', [{ rows: [row] }, { rows: [row] }, { rows: [row] }]);
    await threeActive;

    let mark = log.lines.length;
    await registry.promote('m', '2', { force: true });
    assert.deepEqual((await log.next(applied('2'), mark)).retired, ['1']);
    const pinned = await client.submit('m', { rows: [row] }, { version: '1' });
    const results = await Promise.all([...held, pinned].map((id) => client.waitForResult(id, { timeoutMs: 10_000 })));
    assert.deepEqual(
      results.map((r) => r.version),
      ['1', '1', '1', '1'],
      'the jobs received before the switch and the pinned one were all scored by v1',
    );

    // v1 is no alias's target: the next change retires it again, and this time its batcher is idle.
    mark = log.lines.length;
    await registry.promote('m', '2', { alias: 'staging', force: true });
    assert.deepEqual((await log.next((l) => l.msg === 'model state applied' && l.aliases?.['staging'] === '2', mark)).retired, ['1']);
    await log.next(said('model version released', '1'), mark);
  },
);
