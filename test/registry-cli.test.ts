/**
 * `scoreq models …` as a user runs it: the compiled CLI in a child process, on real Redis,
 * with readable tables by default, JSON with --json, and exit codes scripts can rely on.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { keys, type ModelAliasMove, type ModelRecord, type ModelVersionRecord } from '@scoreq/contracts';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import type { ValidationReport } from '@scoreq/registry';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(repoRoot, 'apps', 'cli', 'dist', 'src', 'main.js');
const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
let root: string;
const files = { v1: '', v2: '', bad: '', meta: '', wrongMeta: '', notJson: '', text: '' };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'scoreq-registry-cli-'));
  const write = async (name: string, data: Uint8Array | string): Promise<string> => {
    const path = join(root, name);
    await writeFile(path, data);
    return path;
  };
  files.v1 = await write('v1.onnx', buildLogisticRegression({ features: 3, seed: 1 }).bytes);
  files.v2 = await write('v2.onnx', buildLogisticRegression({ features: 3, seed: 2 }).bytes);
  files.text = await write('notes.onnx', 'not a model\n');
  const metadata = { features: ['x', 'y', 'z'], output: { kind: 'classification', labels: ['no', 'yes'] }, description: 'churn model' };
  files.meta = await write('meta.json', JSON.stringify(metadata));
  files.wrongMeta = await write('wrong.json', JSON.stringify({ ...metadata, samples: [{ x: 1, y: 1, z: 1 }], expected: { values: [[5]] } }));
  files.notJson = await write('broken.json', '{ "features": [');
});

after(async () => {
  await redis.quit();
  await rm(root, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Cli {
  prefix: string;
  storeDir: string;
  run(...args: string[]): Promise<Run>;
  /** Runs with --json and parses stdout, asserting exit 0. */
  json<T>(...args: string[]): Promise<T>;
}

/** A scoreq on a fresh prefix and directories; everything is removed when the test ends. */
async function cli(t: TestContext, env: Record<string, string> = {}): Promise<Cli> {
  const prefix = testPrefix();
  const dir = await mkdtemp(join(root, 'cli-'));
  const storeDir = join(dir, 'store');
  t.after(() => cleanupPrefix(redis, prefix).then(() => undefined));
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith('SCOREQ_')) delete childEnv[key];
  Object.assign(childEnv, {
    REDIS_URL: redisUrl(),
    SCOREQ_PREFIX: prefix,
    SCOREQ_MODEL_STORE_DIR: storeDir,
    SCOREQ_MODEL_CACHE_DIR: join(dir, 'cache'),
    USER: 'tester',
    ...env,
  });
  const run = (...args: string[]): Promise<Run> =>
    new Promise((done) => {
      const child = spawn(process.execPath, [main, 'models', ...args], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('close', (code) => done({ code, stdout, stderr }));
    });
  return {
    prefix,
    storeDir,
    run,
    async json<T>(...args: string[]): Promise<T> {
      const r = await run(...args, '--json');
      assert.equal(r.code, 0, `scoreq models ${args.join(' ')} --json exited ${r.code}: ${r.stderr}`);
      assert.equal(r.stderr.includes('open handles'), false);
      return JSON.parse(r.stdout) as T;
    },
  };
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /open handles/);
  return r;
}

test('push, list, show, validate, promote, history and rollback read as tables and reports', async (t) => {
  const c = await cli(t);
  const pushed = ok(await c.run('push', 'churn', files.v1, '--metadata', files.meta, '--comment', 'first cut'), 'push');
  assert.match(pushed.stdout, /^pushed churn v1 \(sha256 [0-9a-f]{12}, \d+ B\) by tester@/m);
  assert.match(pushed.stdout, /inputs: {2}input float32 \[N, 3\]/);
  assert.match(pushed.stdout, /batch: {3}dynamic \(batched\)/);
  ok(await c.run('push', 'churn', files.v2, '--metadata', files.meta, '--author', 'bo'), 'second push');

  const list = ok(await c.run('list'), 'list').stdout;
  assert.match(list, /^model +versions +latest +aliases +last push$/m);
  assert.match(list, /^churn +2 +v2 +- +\d{4}-/m);

  const show = ok(await c.run('show', 'churn'), 'show').stdout;
  assert.match(show, /^version +created +author +size +sha256 +aliases +comment$/m);
  assert.match(show, /^v1 .* tester@\S+ .* first cut$/m);
  assert.match(ok(await c.run('show', 'churn', '2'), 'show v2').stdout, /^churn v2\n {2}created: .* by bo/m);

  const validate = ok(await c.run('validate', 'churn', '1'), 'validate').stdout;
  assert.match(validate, /^churn v1: OK, 8 generated sample rows$/m);

  const promote1 = ok(await c.run('promote', 'churn', '1', '--reason', 'first release'), 'promote v1').stdout;
  assert.match(promote1, /^promoted churn production: nothing → v1 \(first release\)$/m);
  const promote2 = ok(await c.run('promote', 'churn', '2', '--by', 'ana', '--reason', 'better AUC'), 'promote v2').stdout;
  assert.match(promote2, /compared with production \(v1\) on the same rows:/);
  assert.match(promote2, /^ {2}probability +\S+ +\S+ +\d\/8$/m);
  assert.match(promote2, /labels changed: \d\/8/);
  assert.match(promote2, /^promoted churn production: v1 → v2 \(better AUC\)$/m);

  const rollback = ok(await c.run('rollback', 'churn', '--reason', 'latency'), 'rollback').stdout;
  assert.match(rollback, /^rolled back churn production: v2 → v1 \(latency\)$/m);

  const history = ok(await c.run('history', 'churn'), 'history').stdout.split('\n');
  assert.match(history[0] ?? '', /^at +alias +kind +from +to +by +reason$/);
  assert.match(history[2] ?? '', /production +rollback +v2 +v1 +tester@\S+ +latency$/);
  assert.match(history[3] ?? '', /production +promote +v1 +v2 +ana +better AUC$/);
  assert.match(history[4] ?? '', /production +promote +- +v1 +tester@\S+ +first release$/);
});

test('--json prints what scripts need: records, versions, reports and history', async (t) => {
  const c = await cli(t);
  const pushed = await c.json<{ model: string; version: ModelVersionRecord; removed: string[] }>('push', 'm', files.v1, '--metadata', files.meta);
  assert.equal(pushed.version.version, '1');
  assert.equal(pushed.version.metadata.description, 'churn model');
  const records = await c.json<ModelRecord[]>('list');
  assert.deepEqual(
    records.map((r) => r.name),
    ['m'],
  );
  assert.deepEqual(await c.json<ModelRecord>('show', 'm'), records[0]);
  assert.deepEqual(await c.json<ModelVersionRecord>('show', 'm', 'latest'), pushed.version);
  const report = await c.json<ValidationReport>('validate', 'm', '1');
  assert.equal(report.ok, true);
  const promoted = await c.json<{ move: ModelAliasMove; report: ValidationReport }>('promote', 'm', '1', '--alias', 'staging', '--by', 'ci');
  assert.deepEqual([promoted.move.alias, promoted.move.to, promoted.move.by], ['staging', '1', 'ci']);
  const history = await c.json<ModelAliasMove[]>('history', 'm');
  assert.equal(history.length, 1);
  assert.deepEqual(await c.json<ModelAliasMove[]>('history', 'm', '--alias', 'production'), []);
});

test('rm deletes an unaliased version, refuses an aliased one saying what to do, and removes aliases with --alias', async (t) => {
  const c = await cli(t);
  ok(await c.run('push', 'm', files.v1, '--metadata', files.meta), 'push');
  ok(await c.run('push', 'm', files.v2, '--metadata', files.meta), 'push');
  ok(await c.run('promote', 'm', '1', '--force'), 'promote');
  const refused = await c.run('rm', 'm', '1');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^error \[VERSION_IN_USE\]: v1 of model 'm' is what production points at.*scoreq models rm m --alias production/m);
  assert.match(ok(await c.run('rm', 'm', '2'), 'rm v2').stdout, /^deleted m v2$/m);
  assert.match(
    ok(await c.run('rm', 'm', '--alias', 'production', '--reason', 'retire'), 'rm alias').stdout,
    /^removed alias m production: v1 → nothing \(alias removed\) \(retire\)$/m,
  );
  assert.match(ok(await c.run('rm', 'm', '1'), 'rm v1').stdout, /^deleted m v1 \(its last version: m is no longer listed\)$/m);
  assert.match(ok(await c.run('list'), 'list').stdout, /no models yet/);
  const both = await c.run('rm', 'm', '1', '--alias', 'x');
  assert.equal(both.code, 2, 'a usage mistake');
  assert.match(both.stderr, /error \[INVALID_OPTION\]: give a version to delete or --alias/);
});

test('bad input fails with a clear error and exit code 1, and leaves nothing behind', async (t) => {
  const c = await cli(t);
  const cases: [string[], RegExp][] = [
    [['push', 'a/b', files.v1], /^error \[INVALID_MODEL_NAME\]: model name "a\/b" is invalid/],
    [['push', '..', files.v1], /^error \[INVALID_MODEL_NAME\]/],
    [['push', 'm', files.text], /^error \[MODEL_INVALID\]: model file .*notes\.onnx is not a model onnxruntime can load/],
    [['push', 'm', files.v1, '--metadata', files.notJson], /^error \[INVALID_METADATA\]: --metadata: .*broken\.json is not valid JSON/],
    [['push', 'm', files.v1, '--metadata', join(root, 'absent.json')], /^error \[INVALID_OPTION\]: --metadata: cannot read/],
    [['show', 'm'], /^error \[MODEL_NOT_FOUND\]: the registry has no model 'm'; push one first/],
  ];
  for (const [args, pattern] of cases) {
    const r = await c.run(...args);
    assert.notEqual(r.code, 0, `scoreq models ${args.join(' ')} should fail`);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  assert.deepEqual(await readdir(c.storeDir).catch(() => []), []);
  assert.equal(await redis.exists(keys(c.prefix).model('m')), 0);

  const small = await cli(t, { SCOREQ_MAX_MODEL_BYTES: '100' });
  const tooLarge = await small.run('push', 'm', files.v1);
  assert.equal(tooLarge.code, 1);
  assert.match(tooLarge.stderr, /^error \[MODEL_TOO_LARGE\]: .*over the limit of 100 B/);
  assert.deepEqual(await readdir(small.storeDir).catch(() => []), []);
  assert.equal(await redis.exists(keys(small.prefix).model('m')), 0);

  // The cache directory relative to the working directory, where the store directory is.
  const shared = await (await cli(t, { SCOREQ_MODEL_CACHE_DIR: 'store' })).run('push', 'm', files.v1);
  assert.equal(shared.code, 2, 'a configuration mistake');
  assert.match(
    shared.stderr,
    /^error \[CONFIG_INVALID\]: options\.cacheDir \(SCOREQ_MODEL_CACHE_DIR, .*\) and options\.storeDir \(SCOREQ_MODEL_STORE_DIR, .*\) must be separate/,
  );
});

test('validate and promote exit 1 on a version that fails validation, printing the problems (as JSON on stdout with --json)', async (t) => {
  const c = await cli(t);
  ok(await c.run('push', 'm', files.v1, '--metadata', files.wrongMeta), 'push');
  const validate = await c.run('validate', 'm', '1');
  assert.equal(validate.code, 1);
  assert.match(validate.stdout, /^m v1: FAILED, 1 metadata sample row$/m);
  assert.match(validate.stdout, /problems:\n {4}- output 'probability' differs from the metadata's expected values/);
  assert.match(validate.stderr, /^error \[VALIDATION_FAILED\]: m v1 failed validation \(1 problem\)/);
  const promote = await c.run('promote', 'm', '1');
  assert.equal(promote.code, 1);
  assert.match(promote.stderr, /^error \[VALIDATION_FAILED\]: m v1 failed validation, so production was not moved:/);
  assert.match(promote.stderr, /promote with force to skip validation/);
  const promoteJson = await c.run('promote', 'm', '1', '--json');
  assert.equal(promoteJson.code, 1);
  const report = JSON.parse(promoteJson.stdout) as ValidationReport;
  assert.deepEqual([report.ok, report.model, report.version], [false, 'm', '1']);
  assert.match(report.problems.join('\n'), /output 'probability' differs from the metadata's expected values/);
  assert.match(promoteJson.stderr, /^error \[VALIDATION_FAILED\]: m v1 failed validation, so production was not moved:/);
  assert.deepEqual(JSON.parse(ok(await c.run('history', 'm', '--json'), 'history').stdout), []);
});

test('SCOREQ_MODEL_STORE=redis keeps the bytes in Redis', async (t) => {
  const c = await cli(t, { SCOREQ_MODEL_STORE: 'redis' });
  const pushed = await c.json<{ version: ModelVersionRecord }>('push', 'm', files.v1);
  assert.equal(await redis.exists(keys(c.prefix).modelBlob(pushed.version.sha256)), 1);
  assert.deepEqual(await readdir(c.storeDir).catch(() => []), [], 'nothing on disk in the store directory');
});
