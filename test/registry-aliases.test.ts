/**
 * Aliases on real Redis with real onnxruntime: promotion after validation (with the comparison
 * report), refusal when validation fails, racing promotions, rollback, the history of moves,
 * deletion refused for aliased versions, deletion racing a push of the same bytes (or one that
 * died), and retention.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { keys, type ErrorCode, type ModelMetadata } from '@scoreq/contracts';
import { InferencePool } from '@scoreq/inference';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { formatValidationReport, ModelRegistry, sha256Hex, type RegistryOptions } from '@scoreq/registry';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
let pool: InferencePool;
let root: string;

/** Logistic regressions over 4 features: each seed is a different version's bytes. */
const model = (seed: number): Uint8Array => buildLogisticRegression({ features: 4, seed }).bytes;
const metadata: ModelMetadata = { features: ['a', 'b', 'c', 'd'], output: { kind: 'classification', labels: ['no', 'yes'] } };

before(async () => {
  pool = new InferencePool({ threads: 1 });
  root = await mkdtemp(join(tmpdir(), 'scoreq-registry-aliases-'));
});

after(async () => {
  await pool?.close();
  await redis.quit();
  await rm(root, { recursive: true, force: true });
});

interface Fixture {
  prefix: string;
  registry: ModelRegistry;
  storeDir: string;
  cacheDir: string;
  /** Another registry on its own connection: another process, as far as WATCH can tell. */
  other(): ModelRegistry;
}

async function fixture(t: TestContext, options: Partial<RegistryOptions> = {}): Promise<Fixture> {
  const prefix = testPrefix();
  const dir = await mkdtemp(join(root, 'fixture-'));
  const storeDir = join(dir, 'store');
  const cacheDir = join(dir, 'cache');
  const opened: ModelRegistry[] = [];
  const registry = new ModelRegistry({ redis, prefix, storeDir, cacheDir, pool, ...options });
  t.after(async () => {
    await registry.close();
    for (const r of opened) {
      await r.close();
      r.options.redis.disconnect();
    }
    await cleanupPrefix(redis, prefix);
  });
  const other = (): ModelRegistry => {
    const r = new ModelRegistry({ redis: redis.duplicate(), prefix, storeDir, cacheDir, pool, ...options });
    opened.push(r);
    return r;
  };
  return { prefix, registry, storeDir, cacheDir, other };
}

/** Pushes one version per seed and returns their numbers. */
async function pushSeeds(r: ModelRegistry, name: string, ...seeds: number[]): Promise<string[]> {
  const numbers: string[] = [];
  for (const seed of seeds) numbers.push((await r.push(name, model(seed), { metadata })).version.version);
  return numbers;
}

function code(expected: ErrorCode, pattern?: RegExp): (err: unknown) => true {
  return (err) => {
    const { code: actual, message } = err as { code?: unknown; message?: unknown };
    assert.equal(actual, expected, `error code (message: ${String(message)})`);
    if (pattern) assert.match(String(message), pattern);
    return true;
  };
}

test('promote validates the version, compares it with the current target and records who, when and why', async (t) => {
  const f = await fixture(t);
  await pushSeeds(f.registry, 'churn', 1, 2);
  const first = await f.registry.promote('churn', '1', { by: 'ana', reason: 'first release' });
  assert.equal(first.report?.ok, true);
  assert.equal(first.report?.comparison, undefined);
  assert.match(first.report?.notes.join() ?? '', /production points at no version yet/);
  assert.deepEqual({ ...first.move, at: '' }, { alias: 'production', from: null, to: '1', by: 'ana', at: '', reason: 'first release', kind: 'promote' });

  const second = await f.registry.promote('churn', '2', { by: 'bo', reason: 'better AUC' });
  const c = second.report?.comparison;
  assert.ok(c?.comparable, 'compared with v1');
  assert.equal(c.alias, 'production');
  assert.equal(c.version, '1');
  assert.ok((c.outputs[0]?.maxAbsDiff ?? 0) > 0);
  assert.ok(c.labels !== undefined, 'classifiers on both sides: label changes counted');
  assert.match(formatValidationReport(second.report!), /compared with production \(v1\) on the same rows/);

  assert.deepEqual((await f.registry.get('churn')).aliases, { production: '2' });
  const history = await f.registry.history('churn');
  assert.deepEqual(
    history.map((m) => [m.kind, m.alias, m.from, m.to, m.by, m.reason]),
    [
      ['promote', 'production', '1', '2', 'bo', 'better AUC'],
      ['promote', 'production', null, '1', 'ana', 'first release'],
    ],
  );
  assert.ok(history.every((m) => !Number.isNaN(Date.parse(m.at))));
});

test('any alias name works, and a version can be promoted by another alias’s name', async (t) => {
  const f = await fixture(t);
  await pushSeeds(f.registry, 'm', 1, 2);
  await f.registry.promote('m', '2', { alias: 'staging' });
  await f.registry.promote('m', 'staging', { alias: 'production' });
  assert.deepEqual((await f.registry.get('m')).aliases, { staging: '2', production: '2' });
  for (const alias of ['1', 'latest', 'a:b', '', 'a/b']) {
    await assert.rejects(f.registry.promote('m', '1', { alias }), code('INVALID_OPTION'), `alias ${JSON.stringify(alias)}`);
  }
  await assert.rejects(f.registry.promote('m', '9'), code('VERSION_NOT_FOUND', /no version or alias '9' \(versions: 1, 2; aliases: staging=2, production=2\)/));
  await assert.rejects(f.registry.promote('nope', '1'), code('MODEL_NOT_FOUND', /push one first/));
});

test('a version that fails validation is refused with the problems listed, and nothing moves', async (t) => {
  const f = await fixture(t);
  await pushSeeds(f.registry, 'm', 1);
  await f.registry.promote('m', '1');
  // Wrong expected outputs: the version loads and runs, but does not give what its metadata promises.
  const wrong = { ...metadata, samples: [{ a: 1, b: 2, c: 3, d: 4 }], expected: { values: [[2]] } };
  const { version } = await f.registry.push('m', model(2), { metadata: wrong });
  const before = await redis.get(keys(f.prefix).model('m'));
  await assert.rejects(
    f.registry.promote('m', version.version, { reason: 'should fail' }),
    code('VALIDATION_FAILED', /m v2 failed validation, so production was not moved:\n {2}- output 'probability' differs from the metadata's expected values/),
  );
  assert.equal(await redis.get(keys(f.prefix).model('m')), before);
  assert.equal((await f.registry.history('m')).length, 1);

  const report = await f.registry.validate('m', '2');
  assert.equal(report.ok, false);
  assert.equal(report.comparison?.version, '1', 'the report still compares with production');

  const forced = await f.registry.promote('m', '2', { force: true, reason: 'known mismatch' });
  assert.equal(forced.report, undefined);
  assert.equal((await f.registry.get('m')).aliases.production, '2');
});

test('two promotions racing through one registry: the last one wins and both are in the history', async (t) => {
  const f = await fixture(t);
  await pushSeeds(f.registry, 'm', 1, 2, 3);
  await f.registry.promote('m', '1');
  await Promise.all([f.registry.promote('m', '2', { by: 'a' }), f.registry.promote('m', '3', { by: 'b' })]);
  const [last, previous] = await f.registry.history('m');
  assert.deepEqual(new Set([last?.to, previous?.to]), new Set(['2', '3']));
  assert.equal(previous?.from, '1');
  assert.equal(last?.from, previous?.to, 'the later move saw the earlier one');
  assert.equal((await f.registry.get('m')).aliases.production, last?.to, 'the last move is what the alias points at');
});

test('promotions racing from separate connections (processes) serialise: last wins, every move recorded in order', async (t) => {
  const f = await fixture(t);
  const numbers = await pushSeeds(f.registry, 'm', 1, 2, 3, 4);
  const racers = [f.registry, f.other(), f.other(), f.other()];
  // Validation first, as promote does (not forced), for the first pair; forced for the rest.
  await Promise.all([racers[0]!.promote('m', '1', { by: 'r0' }), racers[1]!.promote('m', '2', { by: 'r1' })]);
  await Promise.all(racers.flatMap((r, i) => numbers.map((n) => r.promote('m', n, { by: `r${i}`, force: true }))));
  const history = (await f.registry.history('m')).reverse();
  assert.equal(history.length, 2 + racers.length * numbers.length, 'every promotion is in the history');
  for (let i = 1; i < history.length; i++) assert.equal(history[i]!.from, history[i - 1]!.to, `move ${i} saw move ${i - 1}`);
  assert.equal((await f.registry.get('m')).aliases.production, history.at(-1)!.to);
});

test('rollback returns the alias to its previous target, again and again, until there is none', async (t) => {
  const f = await fixture(t);
  await pushSeeds(f.registry, 'm', 1, 2, 3);
  for (const v of ['1', '2', '3']) await f.registry.promote('m', v, { force: true });
  const back = await f.registry.rollback('m', { by: 'oncall', reason: 'error rate' });
  assert.deepEqual([back.move.kind, back.move.from, back.move.to, back.move.by, back.move.reason], ['rollback', '3', '2', 'oncall', 'error rate']);
  assert.equal((await f.registry.rollback('m')).move.to, '1');
  await assert.rejects(
    f.registry.rollback('m'),
    code('ALIAS_NOT_FOUND', /production of model 'm' has no earlier target to roll back to \(it points at v1\); promote/),
  );
  await assert.rejects(f.registry.rollback('m', { alias: 'staging' }), code('ALIAS_NOT_FOUND', /has no alias 'staging' \(aliases: production=1/));
  assert.deepEqual(
    (await f.registry.history('m', { alias: 'production' })).map((m) => `${m.kind}:${m.from}->${m.to}`),
    ['rollback:2->1', 'rollback:3->2', 'promote:2->3', 'promote:1->2', 'promote:null->1'],
  );
  assert.equal((await f.registry.history('m', { limit: 2 })).length, 2);
});

test('deleting an aliased version is refused naming its aliases; an unaliased one goes with its bytes', async (t) => {
  const f = await fixture(t);
  await pushSeeds(f.registry, 'm', 1, 2, 3);
  await f.registry.promote('m', '1', { force: true });
  await f.registry.promote('m', '1', { alias: 'staging', force: true });
  await assert.rejects(
    f.registry.remove('m', '1'),
    code('VERSION_IN_USE', /v1 of model 'm' is what production, staging point at.*scoreq models rm m --alias production/),
  );
  assert.ok((await f.registry.get('m')).versions['1'], 'still there');

  const sha2 = sha256Hex(model(2));
  const removed = await f.registry.remove('m', '2');
  assert.equal(removed.version.sha256, sha2);
  assert.equal(removed.modelRemoved, false);
  assert.ok(!(await readdir(f.storeDir)).includes(`${sha2}.onnx`), 'the bytes went with it');
  await assert.rejects(f.registry.remove('m', '2'), code('VERSION_NOT_FOUND'));
  await assert.rejects(f.registry.remove('m', 'latest'), code('INVALID_OPTION'));

  const change = await f.registry.removeAlias('m', 'staging', { by: 'ana', reason: 'done testing' });
  assert.deepEqual([change.move.kind, change.move.from, change.move.to], ['remove', '1', null]);
  assert.deepEqual((await f.registry.get('m')).aliases, { production: '1' });
});

test('bytes shared by two versions stay until the last version using them is deleted', async (t) => {
  const f = await fixture(t);
  await f.registry.push('a', model(5), { metadata });
  await f.registry.push('b', model(5), { metadata });
  const file = `${sha256Hex(model(5))}.onnx`;
  await f.registry.remove('a', '1');
  assert.ok((await readdir(f.storeDir)).includes(file), 'model b still uses them');
  await f.registry.remove('b', '1');
  assert.ok(!(await readdir(f.storeDir)).includes(file));
});

test('bytes another process is pushing are kept when the last version using them is deleted', async (t) => {
  const f = await fixture(t);
  const sha = sha256Hex(model(7));
  const file = `${sha}.onnx`;
  await f.registry.push('a', model(7), { metadata });
  // What a push of the same bytes in another process holds from before it stores them until its version is recorded.
  const pushing = keys(f.prefix).modelBytesPushing(sha);
  await redis.sadd(pushing, 'other-process');
  await f.registry.remove('a', '1');
  assert.ok((await readdir(f.storeDir)).includes(file), 'kept for the push under way');
  assert.deepEqual(await redis.smembers(pushing), ['other-process'], "the other push's mark is untouched");

  await redis.srem(pushing, 'other-process');
  await f.registry.push('a', model(7), { metadata });
  assert.equal(await redis.exists(keys(f.prefix).modelBytesSkipped()), 0, 'recorded by then: no longer set aside for a later look');
  await f.registry.remove('a', '2');
  assert.ok(!(await readdir(f.storeDir)).includes(file), 'with no push under way the bytes go');
});

test('bytes kept for a push that died before recording them are deleted by the next change once its mark has expired', async (t) => {
  const f = await fixture(t);
  const sha = sha256Hex(model(9));
  const file = `${sha}.onnx`;
  const k = keys(f.prefix);
  await f.registry.push('a', model(9), { metadata });
  // What a push of the same bytes leaves when its process dies: a mark nobody renews any more.
  await redis.multi().sadd(k.modelBytesPushing(sha), 'dead-process').pexpire(k.modelBytesPushing(sha), 200).exec();
  await f.registry.remove('a', '1');
  assert.ok((await readdir(f.storeDir)).includes(file), 'kept while the mark lasts');
  assert.deepEqual(await redis.smembers(k.modelBytesSkipped()), [sha], 'set aside for a later look');

  while ((await redis.exists(k.modelBytesPushing(sha))) === 1) await delay(50);
  await f.registry.push('b', model(10), { metadata });
  assert.ok(!(await readdir(f.storeDir)).includes(file), 'a push of other bytes collected them');
  assert.equal(await redis.exists(k.modelBytesSkipped()), 0);
});

test('a push of bytes whose deletion is under way in another process stores them only once the deletion is over', async (t) => {
  const f = await fixture(t);
  const sha = sha256Hex(model(8));
  const k = keys(f.prefix);
  await redis.sadd(k.modelBytesDeleting(sha), 'other-process');
  let settled = false;
  const pushed = f.registry.push('m', model(8), { metadata }).finally(() => (settled = true));
  while ((await redis.exists(k.modelBytesPushing(sha))) === 0) {
    assert.equal(settled, false, 'the push finished without marking its bytes as being pushed');
    await delay(5);
  }
  assert.deepEqual(await readdir(f.storeDir).catch(() => []), [], 'nothing stored while the deletion is marked');
  assert.equal(await redis.exists(k.model('m')), 0, 'nothing recorded');

  await redis.srem(k.modelBytesDeleting(sha), 'other-process');
  const { version } = await pushed;
  assert.equal(version.version, '1');
  assert.deepEqual(await readdir(f.storeDir), [`${sha}.onnx`]);
  assert.equal(await redis.exists(k.modelBytesPushing(sha)), 0, 'the push cleared its mark');
});

test('retention keeps the newest unaliased versions, every aliased one and the rollback target, and deletes the rest with their bytes', async (t) => {
  const f = await fixture(t, { keepUnaliased: 2 });
  await pushSeeds(f.registry, 'm', 1, 2);
  await f.registry.promote('m', '1', { force: true });
  await f.registry.promote('m', '2', { force: true });
  const pushes = [];
  for (const seed of [3, 4, 5, 6]) pushes.push(await f.registry.push('m', model(seed), { metadata }));
  assert.deepEqual(
    pushes.map((p) => p.removed),
    [[], [], ['3'], ['4']],
  );
  const record = await f.registry.get('m');
  assert.deepEqual(Object.keys(record.versions).sort(), ['1', '2', '5', '6'], 'v2 aliased, v1 its rollback target, v5 and v6 the newest');
  const files = (await readdir(f.storeDir)).sort();
  assert.deepEqual(files, [1, 2, 5, 6].map((s) => `${sha256Hex(model(s))}.onnx`).sort());
  assert.equal((await f.registry.rollback('m')).move.to, '1', 'rollback still has somewhere to go');
});
