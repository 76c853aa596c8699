/**
 * The registry as workers see it, on real Redis: the Redis byte store, the source a worker
 * loads versions from (through a verified local cache), and change events on promotion.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { keys, type ErrorCode, type ModelEvent, type ModelMetadata } from '@scoreq/contracts';
import { InferencePool } from '@scoreq/inference';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { ModelRegistry, RedisModelStore, RegistryModelSource, sha256Hex, subscribeModelEvents, type RegistryOptions } from '@scoreq/registry';
import { ScoringClient } from '@scoreq/client';
import { createLogger } from '@scoreq/telemetry';
import { startWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { testConfig } from './helpers/worker.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
let pool: InferencePool;
let root: string;

const model = (seed: number): Uint8Array => buildLogisticRegression({ features: 3, seed }).bytes;
const metadata: ModelMetadata = { features: ['x', 'y', 'z'] };

before(async () => {
  pool = new InferencePool({ threads: 1 });
  root = await mkdtemp(join(tmpdir(), 'scoreq-registry-source-'));
});

after(async () => {
  await pool?.close();
  await redis.quit();
  await rm(root, { recursive: true, force: true });
});

interface Fixture {
  prefix: string;
  registry: ModelRegistry;
  /** A worker's view: the same Redis and store, its own cache directory. */
  source: RegistryModelSource;
  workerCache: string;
}

async function fixture(t: TestContext, options: Partial<RegistryOptions> = {}): Promise<Fixture> {
  const prefix = testPrefix();
  const dir = await mkdtemp(join(root, 'fixture-'));
  const shared = { redis, prefix, storeDir: join(dir, 'store'), ...options };
  const registry = new ModelRegistry({ ...shared, cacheDir: join(dir, 'registry-cache'), pool });
  const workerCache = join(dir, 'worker-cache');
  const source = new RegistryModelSource({ ...shared, cacheDir: workerCache });
  t.after(async () => {
    await registry.close();
    await cleanupPrefix(redis, prefix);
  });
  return { prefix, registry, source, workerCache };
}

function code(expected: ErrorCode, pattern?: RegExp): (err: unknown) => true {
  return (err) => {
    const { code: actual, message } = err as { code?: unknown; message?: unknown };
    assert.equal(actual, expected, `error code (message: ${String(message)})`);
    if (pattern) assert.match(String(message), pattern);
    return true;
  };
}

test('the Redis byte store round-trips binary bytes under keys(prefix).modelBlob(sha256)', async (t) => {
  const prefix = testPrefix();
  t.after(() => cleanupPrefix(redis, prefix).then(() => undefined));
  const store = new RedisModelStore(redis, prefix);
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256);
  const sha = sha256Hex(bytes);
  assert.equal(await store.has(sha), false);
  assert.equal(await store.get(sha), null);
  await store.put(sha, bytes);
  assert.equal(await store.has(sha), true);
  assert.deepEqual(await store.get(sha), bytes);
  assert.equal(await redis.strlen(keys(prefix).modelBlob(sha)), bytes.length);
  await store.delete(sha);
  assert.equal(await store.has(sha), false);
  await assert.rejects(store.put('../x', bytes), code('INVALID_OPTION'));
});

test('a worker with no shared disk gets versions from the Redis store into its own verified cache', async (t) => {
  const f = await fixture(t, { store: 'redis' });
  const { version } = await f.registry.push('m', model(1), { metadata, comment: 'v1' });
  await f.registry.push('m', model(2), { metadata });
  await f.registry.promote('m', '1', { force: true });
  assert.equal(await redis.exists(keys(f.prefix).modelBlob(version.sha256)), 1, 'the bytes are in Redis');

  assert.equal(f.source.publishesRecords, true);
  assert.deepEqual(await f.source.listModels(), ['m']);
  assert.equal(await f.source.getModel('absent'), null);
  const served = await f.source.getModel('m');
  assert.ok(served);
  assert.deepEqual(served.aliases, { production: '1' });
  assert.deepEqual(
    served.versions.map((v) => [v.version, v.sha256, v.size]),
    [
      ['1', sha256Hex(model(1)), model(1).length],
      ['2', sha256Hex(model(2)), model(2).length],
    ],
  );
  assert.deepEqual(served.versions[0]?.metadata, metadata);
  const path = await served.versions[0]!.localPath();
  assert.equal(path, join(f.workerCache, `${version.sha256}.onnx`));
  assert.deepEqual(new Uint8Array(await readFile(path)), model(1));
});

test('a corrupted cached file is detected and replaced; corrupt bytes in the store are refused with MODEL_CORRUPT', async (t) => {
  const f = await fixture(t, { store: 'redis' });
  const { version } = await f.registry.push('m', model(1), { metadata });
  const served = (await f.source.getModel('m'))!;
  const path = await served.versions[0]!.localPath();
  const good = await readFile(path);
  const flipped = Buffer.from(good);
  flipped[flipped.length >> 1]! ^= 0xff;
  await writeFile(path, flipped);
  assert.equal(await served.versions[0]!.localPath(), path);
  assert.deepEqual(await readFile(path), good, 'the cache hashed the file, saw the mismatch and fetched it again');

  await redis.set(keys(f.prefix).modelBlob(version.sha256), flipped);
  await f.source.cache.evict(version.sha256);
  await assert.rejects(
    served.versions[0]!.localPath(),
    code('MODEL_CORRUPT', /redis model store's copy of model [0-9a-f]{64} hash to [0-9a-f]{64}: the bytes are corrupt/),
  );
  await redis.unlink(keys(f.prefix).modelBlob(version.sha256));
  await assert.rejects(served.versions[0]!.localPath(), code('MODEL_BYTES_MISSING', /redis model store has no bytes/));
});

test('watch() calls back with the model name when a promotion is stored, and stops when unsubscribed', async (t) => {
  const f = await fixture(t);
  await f.registry.push('m', model(1), { metadata });
  await f.registry.push('m', model(2), { metadata });
  let changed!: (model: string) => void;
  const promoted = new Promise<string>((r) => (changed = r));
  const unsubscribe = await f.source.watch((name) => changed(name));
  const channel = keys(f.prefix).modelEvents();
  assert.deepEqual(await redis.pubsub('NUMSUB', channel), [channel, 1]);

  await f.registry.promote('m', '2', { force: true });
  assert.equal(await promoted, 'm');
  await unsubscribe();
  await unsubscribe();
  assert.deepEqual(await redis.pubsub('NUMSUB', channel), [channel, 0], 'the dedicated connection is gone');
});

test('every kind of change publishes one event naming the model, version and alias', async (t) => {
  const f = await fixture(t);
  const events: ModelEvent[] = [];
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  const unsubscribe = await subscribeModelEvents(redis, f.prefix, (e) => {
    events.push(e);
    if (events.length === 7) done();
  });
  t.after(unsubscribe);
  await f.registry.push('m', model(1), { metadata });
  await f.registry.push('m', model(2), { metadata });
  await f.registry.promote('m', '1', { force: true });
  await f.registry.promote('m', '2', { force: true });
  await f.registry.rollback('m');
  await f.registry.removeAlias('m', 'production');
  await f.registry.remove('m', '2');
  await all;
  assert.deepEqual(
    events.map((e) => [e.model, e.kind, e.version, e.alias]),
    [
      ['m', 'push', '1', null],
      ['m', 'push', '2', null],
      ['m', 'promote', '1', 'production'],
      ['m', 'promote', '2', 'production'],
      ['m', 'rollback', '1', 'production'],
      ['m', 'remove-alias', '1', 'production'],
      ['m', 'remove-version', '2', null],
    ],
  );
  assert.ok(events.every((e) => !Number.isNaN(Date.parse(e.at))));
});

test('a worker serving from the registry scores with production and follows a promotion', async (t) => {
  const f = await fixture(t, { store: 'redis' });
  await f.registry.push('m', model(1), { metadata });
  await f.registry.push('m', model(2), { metadata });
  await f.registry.promote('m', '1', { force: true });
  const worker = await startWorker({
    config: testConfig(f.prefix, root, { SCOREQ_POOL_THREADS: 1 }),
    source: f.source,
    models: ['m'],
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', service: 'registry-test-worker' }),
    metricsServer: false,
  });
  const client = new ScoringClient({ connection: redisUrl(), prefix: f.prefix });
  t.after(async () => {
    await client.close();
    await worker.close();
  });
  const score = async (): Promise<string> =>
    (await client.waitForResult(await client.submit('m', { rows: [{ x: 0.1, y: 0.2, z: 0.3 }] }), { timeoutMs: 10_000 })).version;
  assert.equal(await score(), '1');
  await f.registry.promote('m', '2', { force: true });
  // The worker loads v2 in the background after the event, then switches: poll a bounded number of jobs.
  let version = '1';
  for (let i = 0; i < 200 && version === '1'; i++) version = await score();
  assert.equal(version, '2');
});
