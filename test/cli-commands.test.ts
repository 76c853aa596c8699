import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { buildMlp, REFERENCE_MODELS, writeModel } from '@scoreq/onnx-builder';
import { cleanupPrefix, redisUrl as testRedisUrl, testPrefix } from './helpers/redis.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(repoRoot, 'apps', 'cli', 'dist', 'src', 'main.js');
const redisUrl = testRedisUrl();
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
after(() => redis.quit());

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Env for a child scoreq: this test's Redis, no inherited scoreq settings. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl, ...extra };
  for (const key of ['SCOREQ_PREFIX', 'SCOREQ_MODELS_DIR', 'LOG_LEVEL', 'SCOREQ_METRICS_PORT']) if (!(key in extra)) delete env[key];
  return env;
}

/**
 * Runs `scoreq <args>`; `onStdout` sees output as it arrives, to act on the process (send a
 * signal once it is ready).
 */
function scoreq(args: string[], env: NodeJS.ProcessEnv, onStdout?: (soFar: string, kill: (s: NodeJS.Signals) => void) => void): Promise<Run> {
  const child = spawn(process.execPath, [main, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onStdout?.(stdout, (s) => child.kill(s));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((r) => child.once('close', (code, signal) => r({ code, signal, stdout, stderr })));
}

function deadPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function keysUnder(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}

test('scoreq demo scores its jobs on the given Redis, prints a summary, exits 0 and leaves no keys behind', async () => {
  const run = await scoreq(['demo'], childEnv());
  assert.equal(run.code, 0, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  const summary = /^summary: (\d+) jobs \((\d+) rows\) in [\d.]+ s = \d+ jobs\/s; mean batch [\d.]+ rows; total ms p50 [\d.]+, p99 [\d.]+$/m.exec(run.stdout);
  assert.ok(summary, `no summary line in:\n${run.stdout}`);
  assert.equal(Number(summary[1]), 5000 + 1000 + 10 + 5);
  assert.match(run.stdout, /^job id +model +version +rows +label +score +batch rows +total ms$/m);
  assert.match(run.stdout, /^ {2}customer_id,label,score,score_stay,score_churn\n {2}c000000,(stay|churn),/m, 'the run output starts in input order');
  assert.match(run.stdout, /^run run-\S+: 20000 rows scored in [\d.]+ s = \d+ rows\/s, 0 rejected, in input order$/m);
  assert.match(run.stdout, /already running; demo keys are removed at the end/);
  const prefix = /key prefix (scoreq-demo-[0-9a-f]+)/.exec(run.stdout)?.[1];
  assert.ok(prefix, 'the demo names its key prefix');
  assert.deepEqual(await keysUnder(prefix), []);
  assert.doesNotMatch(run.stderr, /open handles/);
});

test('a bad --jobs value exits 2 with the error code and no stack', async () => {
  const run = await scoreq(['demo', '--jobs', '0'], childEnv());
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^error \[INVALID_OPTION\]: --jobs must be a whole number/m);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('an invalid environment variable exits 2 with CONFIG_INVALID naming it', async () => {
  const run = await scoreq(['demo'], childEnv({ LOG_LEVEL: 'loud' }));
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^error \[CONFIG_INVALID\]: invalid configuration:\n\s+LOG_LEVEL="loud"/m);
});

test('an unknown command is a usage error: exit 2', async () => {
  const run = await scoreq(['no-such-command'], childEnv());
  assert.equal(run.code, 2);
  assert.match(run.stderr, /unknown command 'no-such-command'/);
});

test('--help exits 0 and lists the commands', async () => {
  const run = await scoreq(['--help'], childEnv());
  assert.equal(run.code, 0);
  assert.match(run.stdout, /^\s+demo\b/m);
  assert.match(run.stdout, /^\s+worker\b/m);
});

test('scoreq worker refuses an invalid model name with exit 2', async () => {
  const run = await scoreq(['worker', '--models', 'churn,not valid!'], childEnv());
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^error \[INVALID_OPTION\]: --models: model name "not valid!" is invalid/m);
});

test('scoreq worker with an unreachable REDIS_URL exits 1 naming it', async () => {
  const url = `redis://127.0.0.1:${await deadPort()}`;
  const run = await scoreq(['worker'], childEnv({ REDIS_URL: url }));
  assert.equal(run.code, 1);
  assert.ok(run.stderr.includes(`error [REDIS_UNAVAILABLE]: Redis at REDIS_URL=${url} did not answer PING`), run.stderr);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('scoreq worker serves until SIGTERM, then drains and exits 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'scoreq-cli-test-models-'));
  const prefix = testPrefix();
  t.after(async () => {
    await rm(dir, { recursive: true, force: true });
    await cleanupPrefix(redis, prefix);
  });
  const versionDir = join(dir, 'churn', '1');
  await writeModel(versionDir, buildMlp(REFERENCE_MODELS.small));
  const features = Array.from({ length: 32 }, (_, i) => `f${i}`);
  await writeFile(join(versionDir, 'metadata.json'), JSON.stringify({ features, output: { kind: 'classification', labels: ['stay', 'churn'] } }));

  let signalled = false;
  const run = await scoreq(
    ['worker', '--models', 'churn'],
    childEnv({
      SCOREQ_MODEL_SOURCE: 'directory',
      SCOREQ_MODELS_DIR: dir,
      SCOREQ_PREFIX: prefix,
      SCOREQ_METRICS_PORT: '0',
      SCOREQ_POOL_THREADS: '1',
      LOG_LEVEL: 'info',
    }),
    (soFar, kill) => {
      if (!signalled && soFar.includes('"msg":"serving until SIGTERM or SIGINT"')) {
        signalled = true;
        kill('SIGTERM');
      }
    },
  );
  assert.equal(signalled, true, `the worker never said it was ready:\n${run.stdout}\n${run.stderr}`);
  assert.equal(run.code, 0, `exit ${run.code} ${run.signal}\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /"msg":"worker closed"/);
});
