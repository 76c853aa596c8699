/**
 * Pushing model versions into the registry on real Redis with real onnxruntime: what a version
 * records, how versions are numbered, and every bad input refused with a clear error and no
 * partial state (no record change, no key, no stored or cached bytes, no event).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { keys, type ErrorCode, type ModelEvent, type ModelMetadata } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { InferencePool } from '@scoreq/inference';
import { buildLogisticRegression, buildMlp, REFERENCE_MODELS, stringInputModel, zipMapClassifier } from '@scoreq/onnx-builder';
import { ModelRegistry, sha256Hex, subscribeModelEvents, type RegistryOptions } from '@scoreq/registry';
import { featureNames } from './helpers/models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
let pool: InferencePool;
let root: string;
let models: string;

const mlp = buildMlp(REFERENCE_MODELS.small);
const mlpMetadata: ModelMetadata = {
  features: featureNames(32),
  output: { kind: 'classification', labels: ['no', 'yes'] },
  description: 'churn',
  owner: 'ml',
  tags: ['t'],
};

before(async () => {
  pool = new InferencePool({ threads: 1 });
  root = await mkdtemp(join(tmpdir(), 'scoreq-registry-push-'));
  models = join(root, 'files');
  await mkdir(models);
  await writeFile(join(models, 'mlp.onnx'), mlp.bytes);
  await writeFile(join(models, 'text.onnx'), 'this is a text file, not an ONNX model\n');
  await writeFile(join(models, 'truncated.onnx'), mlp.bytes.subarray(0, Math.floor(mlp.bytes.length / 2)));
  await writeFile(join(models, 'empty.onnx'), '');
  await writeFile(join(models, 'zipmap.onnx'), zipMapClassifier());
  await writeFile(join(models, 'categorical.onnx'), stringInputModel());
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
}

/** A registry on a fresh prefix and fresh directories, removed when the test ends. */
async function fixture(t: TestContext, options: Partial<RegistryOptions> = {}): Promise<Fixture> {
  const prefix = testPrefix();
  const dir = await mkdtemp(join(root, 'fixture-'));
  const storeDir = join(dir, 'store');
  const cacheDir = join(dir, 'cache');
  const registry = new ModelRegistry({ redis, prefix, storeDir, cacheDir, pool, ...options });
  t.after(async () => {
    await registry.close();
    await cleanupPrefix(redis, prefix);
  });
  return { prefix, registry, storeDir, cacheDir };
}

/** Everything a push could leave behind: keys under the prefix and files in the store and cache. */
async function state(f: Fixture): Promise<{ keys: Record<string, string>; store: string[]; cache: string[] }> {
  const found: Record<string, string> = {};
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${f.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) {
      const type = await redis.type(key);
      found[key] =
        type === 'string'
          ? ((await redis.get(key)) ?? '')
          : type === 'list'
            ? JSON.stringify(await redis.lrange(key, 0, -1))
            : JSON.stringify((await redis.smembers(key)).sort());
    }
  } while (cursor !== '0');
  const list = (dir: string): Promise<string[]> =>
    readdir(dir).then(
      (l) => l.sort(),
      () => [],
    );
  return { keys: found, store: await list(f.storeDir), cache: await list(f.cacheDir) };
}

function code(expected: ErrorCode, pattern?: RegExp): (err: unknown) => true {
  return (err) => {
    const { code: actual, message } = err as { code?: unknown; message?: unknown };
    assert.equal(actual, expected, `error code (message: ${String(message)})`);
    if (pattern) assert.match(String(message), pattern);
    return true;
  };
}

test('a pushed file becomes v1 with its hash, size, author, comment, signature and metadata, in the record producers read', async (t) => {
  const f = await fixture(t);
  const before = Date.now();
  const pushed = await f.registry.push('churn', join(models, 'mlp.onnx'), { metadata: mlpMetadata, author: 'ana@host', comment: 'first cut' });
  assert.equal(pushed.model, 'churn');
  assert.deepEqual(pushed.removed, []);
  const v = pushed.version;
  assert.equal(v.version, '1');
  assert.equal(v.sha256, sha256Hex(mlp.bytes));
  assert.equal(v.size, mlp.bytes.length);
  assert.ok(Date.parse(v.createdAt) >= before - 1000);
  assert.equal(v.author, 'ana@host');
  assert.equal(v.comment, 'first cut');
  assert.deepEqual(v.signature, {
    inputs: [{ name: 'input', type: 'float32', shape: ['N', 32] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['N', 2] }],
    batch: { dynamic: true, size: null },
  });
  assert.deepEqual(v.metadata, mlpMetadata);

  const k = keys(f.prefix);
  const stored = JSON.parse((await redis.get(k.model('churn'))) ?? 'null') as unknown;
  assert.deepEqual(stored, { name: 'churn', versions: { '1': v }, aliases: {} }, 'exactly the ModelRecord shape');
  assert.deepEqual(await redis.smembers(k.models()), ['churn']);
  assert.equal(await redis.get(k.modelSeq('churn')), '1');
  assert.deepEqual((await state(f)).store, [`${v.sha256}.onnx`], 'bytes in the file store under their hash');

  // The SDK validates input against the record the registry wrote.
  const client = new ScoringClient({ connection: redisUrl(), prefix: f.prefix });
  t.after(() => client.close());
  const row = Object.fromEntries(featureNames(32).map((n) => [n, 0.5]));
  assert.match(await client.submit('churn', { rows: [row] }), /^churn\./);
  await assert.rejects(client.submit('churn', { rows: [{ ...row, bogus: 1 }] }), code('INVALID_INPUT', /unknown feature 'bogus'/));
});

test('bytes can be pushed from memory, and the author defaults to $USER@hostname', async (t) => {
  const f = await fixture(t);
  const { version } = await f.registry.push('inline', mlp.bytes);
  assert.match(version.author ?? '', /^.+@.+$/);
  assert.equal(version.comment, undefined);
  assert.deepEqual(version.metadata, {});
});

test('versions are numbered 1, 2, 3…, and a deleted number is never given out again', async (t) => {
  const f = await fixture(t);
  const file = join(models, 'mlp.onnx');
  for (const expected of ['1', '2', '3']) assert.equal((await f.registry.push('m', file)).version.version, expected);
  await f.registry.remove('m', '3');
  assert.equal((await f.registry.push('m', file)).version.version, '4');
  await f.registry.remove('m', '4');
  await f.registry.remove('m', '2');
  await f.registry.remove('m', '1');
  assert.deepEqual(await f.registry.list(), [], 'a model without versions is no longer listed');
  assert.equal((await f.registry.push('m', file)).version.version, '5');
});

test('concurrent pushes, through one registry and through two connections, get distinct consecutive numbers', async (t) => {
  const f = await fixture(t);
  const other = new ModelRegistry({ redis: redis.duplicate(), prefix: f.prefix, storeDir: f.storeDir, cacheDir: f.cacheDir, pool });
  t.after(async () => {
    await other.close();
    other.options.redis.disconnect();
  });
  const file = join(models, 'mlp.onnx');
  const results = await Promise.all([f.registry.push('m', file), other.push('m', file), f.registry.push('m', file), other.push('m', file)]);
  assert.deepEqual(results.map((r) => r.version.version).sort(), ['1', '2', '3', '4']);
  assert.deepEqual(Object.keys((await f.registry.get('m')).versions).sort(), ['1', '2', '3', '4']);
});

test('model names with path separators, dots only, colons or odd characters are refused and store nothing', async (t) => {
  const f = await fixture(t);
  for (const name of ['a/b', 'a\\b', '../etc', '..', '.', 'a:b', '', 'a b', '-x', 'ü', 'x'.repeat(65)]) {
    await assert.rejects(
      f.registry.push(name, join(models, 'mlp.onnx')),
      code('INVALID_MODEL_NAME', /letters, digits, '_' or '-'/),
      `name ${JSON.stringify(name)}`,
    );
  }
  assert.deepEqual(await state(f), { keys: {}, store: [], cache: [] });
});

test('a non-ONNX file, a truncated model and a zero-byte file are refused with MODEL_INVALID and leave nothing behind', async (t) => {
  const f = await fixture(t);
  await assert.rejects(
    f.registry.push('m', join(models, 'text.onnx')),
    code('MODEL_INVALID', /text\.onnx is not a model onnxruntime can load: .*Push a complete \.onnx file/),
  );
  await assert.rejects(f.registry.push('m', join(models, 'truncated.onnx')), code('MODEL_INVALID', /truncated\.onnx is not a model onnxruntime can load/));
  await assert.rejects(f.registry.push('m', join(models, 'empty.onnx')), code('MODEL_INVALID', /empty\.onnx is empty \(0 bytes\)/));
  await assert.rejects(f.registry.push('m', join(models, 'absent.onnx')), code('INVALID_OPTION', /no such file/));
  assert.deepEqual(await state(f), { keys: {}, store: [], cache: [] });
});

test('a file over the size limit is refused with MODEL_TOO_LARGE naming the limit and the setting', async (t) => {
  const f = await fixture(t, { maxModelBytes: 4096 });
  await assert.rejects(
    f.registry.push('m', join(models, 'mlp.onnx')),
    code('MODEL_TOO_LARGE', /over the limit of 4 KiB \(4096 bytes\).*SCOREQ_MAX_MODEL_BYTES/),
  );
  assert.deepEqual(await state(f), { keys: {}, store: [], cache: [] });
});

test('a ZipMap output is refused with how to export without it, and leaves nothing behind', async (t) => {
  const f = await fixture(t);
  await assert.rejects(
    f.registry.push('sk', join(models, 'zipmap.onnx')),
    code('MODEL_INVALID', /probabilities .*ZipMap.*skl2onnx: .*options=\{id\(model\): \{'zipmap': False\}\}/),
  );
  assert.deepEqual(await state(f), { keys: {}, store: [], cache: [] });
});

test('a string input is refused naming the input and how to feed categories as numbers, not as a broken file, and leaves nothing behind', async (t) => {
  const f = await fixture(t);
  await assert.rejects(f.registry.push('cat', join(models, 'categorical.onnx')), (err: Error) => {
    code(
      'MODEL_INVALID',
      /categorical\.onnx has inputs scoreq cannot feed: input 'city' is a string tensor; scoreq feeds numeric tensors only: encode categories as numbers .*metadata features\[\]\.categories/,
    )(err);
    assert.doesNotMatch(err.message, /truncated|Push a complete/);
    return true;
  });
  assert.deepEqual(await state(f), { keys: {}, store: [], cache: [] });
});

test('a refused push of bytes an existing version has leaves that version’s cached file in place', async (t) => {
  const f = await fixture(t);
  const { version } = await f.registry.push('m', join(models, 'mlp.onnx'), { metadata: mlpMetadata });
  const before = await state(f);
  assert.deepEqual(before.cache, [`${version.sha256}.onnx`]);
  await assert.rejects(f.registry.push('m', join(models, 'mlp.onnx'), { metadata: { features: ['x'] } }), code('INVALID_METADATA'));
  await assert.rejects(f.registry.push('other', join(models, 'mlp.onnx'), { metadata: { features: ['x'] } }), code('INVALID_METADATA'));
  assert.deepEqual(await state(f), before, 'record, store and cache as they were');
});

test('metadata naming an input the model lacks, or that cannot feed it, is refused and the model stays as it was', async (t) => {
  const f = await fixture(t);
  await f.registry.push('m', join(models, 'mlp.onnx'), { metadata: mlpMetadata });
  const other = buildLogisticRegression({ features: 4, seed: 9 });
  const before = await state(f);
  await assert.rejects(
    f.registry.push('m', other.bytes, { metadata: { input: 'features', features: ['a', 'b', 'c', 'd'] } }),
    code('INVALID_METADATA', /names input 'features', which the model lacks \(inputs: input\)/),
  );
  await assert.rejects(
    f.registry.push('m', other.bytes, { metadata: { features: ['a', 'b'] } }),
    code('INVALID_METADATA', /2 features but input 'input' has 4 columns/),
  );
  await assert.rejects(f.registry.push('m', other.bytes, { metadata: { features: 'a,b' } }), code('INVALID_METADATA', /metadata\.features/));
  await assert.rejects(f.registry.push('m', other.bytes, { metadata: { featurs: ['a'] } }), code('INVALID_METADATA', /featurs/));
  assert.deepEqual(await state(f), before, 'record, counter, store and cache untouched');
});

test('a refused push publishes no event; a stored one publishes exactly one', async (t) => {
  const f = await fixture(t);
  const events: ModelEvent[] = [];
  let seenTwo!: () => void;
  const two = new Promise<void>((r) => (seenTwo = r));
  const unsubscribe = await subscribeModelEvents(redis, f.prefix, (e) => {
    events.push(e);
    if (events.length === 2) seenTwo();
  });
  t.after(unsubscribe);
  await assert.rejects(f.registry.push('m', join(models, 'text.onnx')));
  await assert.rejects(f.registry.push('m', join(models, 'mlp.onnx'), { metadata: { features: ['x'] } }));
  await f.registry.push('m', join(models, 'mlp.onnx'));
  await assert.rejects(f.registry.push('m', join(models, 'mlp.onnx'), { metadata: { features: ['x'] } }));
  // Events arrive in publish order on one connection: a late event of the first push, or one of
  // a refused push, would come before the second push's.
  await f.registry.push('m', join(models, 'mlp.onnx'));
  await two;
  assert.deepEqual(
    events.map((e) => [e.model, e.kind, e.version, e.alias]),
    [
      ['m', 'push', '1', null],
      ['m', 'push', '2', null],
    ],
  );
});

test('a model whose batch axis is fixed is accepted, and validation notes it is served with batching off', async (t) => {
  const f = await fixture(t);
  const { version } = await f.registry.push('single', buildMlp({ layers: [4, 3], seed: 9, batch: 1 }).bytes, { metadata: { features: featureNames(4) } });
  assert.deepEqual(version.signature.batch, { dynamic: false, size: 1 });
  const report = await f.registry.validate('single', version.version);
  assert.equal(report.ok, true);
  assert.match(report.notes.join('\n'), /batch axis is fixed at 1 row: the version is served with batching off/);
});
