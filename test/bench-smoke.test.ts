import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';

// The bench is not part of @scoreq/cli's public entry point (that one must not load the worker
// or onnxruntime), so the test imports the compiled module by path; its types come from the
// source through the project reference.
type BenchModule = typeof import('../apps/cli/src/bench/index.js');
const BENCH_MODULE = new URL('../../apps/cli/dist/src/bench/index.js', import.meta.url).href;

/** Every figure of a realtime result line; each must be a positive number. */
const NUMBERS = [
  'jobs_per_s',
  'noop_jobs_per_s',
  'naive_jobs_per_s',
  'ratio_vs_noop',
  'ratio_vs_naive',
  'mean_batch_rows',
  'worker_p50_ms',
  'worker_p99_ms',
  'threads',
  'concurrency',
  'jobs',
  'runs',
  'nproc',
  'noop_jobs',
  'naive_jobs',
  'max_batch_rows',
  'max_delay_ms',
] as const;

const prefix = testPrefix();
const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
after(async () => {
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

/** One timed run of a scenario on this test's prefix: its single JSON line (checked against the returned result) and its progress lines. */
async function smokeRun(options: {
  scenario: string;
  jobs: number;
  concurrency: number;
  warmupJobs?: number;
}): Promise<{ line: Record<string, unknown>; progress: string[] }> {
  const { runBench } = (await import(BENCH_MODULE)) as BenchModule;
  const printed: string[] = [];
  const progress: string[] = [];
  const results = await runBench({
    ...options,
    runs: 1,
    threads: 1,
    redisUrl: redisUrl(),
    prefix,
    env: {},
    logLevel: 'silent',
    print: (line) => printed.push(line),
    progress: (line) => progress.push(line),
  });
  assert.equal(printed.length, 1, 'one JSON line per scenario');
  const line = JSON.parse(printed[0]!) as Record<string, unknown>;
  assert.deepEqual(line, results[0]);
  assert.equal(line.scenario, options.scenario);
  return { line, progress };
}

/** Each named field of a result line is a finite number that passes `ok`. */
function assertFigures(line: Record<string, unknown>, fields: readonly string[], ok: (value: number) => boolean, what: string): void {
  for (const field of fields) {
    const value = line[field];
    assert.ok(typeof value === 'number' && Number.isFinite(value) && ok(value), `${field} is ${what}, got ${String(value)}`);
  }
}

// Speed is never asserted here (BENCHMARKS.md): only that the bench runs, reports every
// field and cleans up after itself.
test('the realtime-small bench prints one JSON line with every figure positive and leaves no key behind', async () => {
  const { line, progress } = await smokeRun({ scenario: 'realtime-small', jobs: 300, concurrency: 64 });
  assertFigures(line, NUMBERS, (v) => v > 0, 'a positive number');
  assert.equal(line.jobs, 300);
  assert.equal(line.runs, 1);
  assert.equal(line.threads, 1);
  assert.equal(line.concurrency, 64);
  for (const field of ['cpu', 'node'] as const) assert.ok(typeof line[field] === 'string' && line[field] !== '', `${field} is named`);
  assert.ok(
    progress.some((l) => l.startsWith('realtime-small scoreq run 1/1: ')),
    'progress names each timed run',
  );
  assert.equal(await cleanupPrefix(redis, prefix), 0, 'the bench removed every key under its prefix');
});

/** Every figure of the http result line; each must be a positive number. */
const HTTP_NUMBERS = [
  'sdk_jobs_per_s',
  'http_wait_jobs_per_s',
  'oip_jobs_per_s',
  'ratio_http_wait_vs_sdk',
  'ratio_oip_vs_sdk',
  'connections',
  'threads',
  'runs',
  'jobs',
  'max_batch_rows',
  'nproc',
] as const;
/** Latencies of the http result line: finite and not negative (a fast machine may round one to 0 ms). */
const HTTP_LATENCIES = ['sdk_p50_ms', 'sdk_p99_ms', 'http_wait_p50_ms', 'http_wait_p99_ms', 'oip_p50_ms', 'oip_p99_ms'] as const;

test('the http bench drives the API with autocannon on every path and prints one JSON line of positive figures', async () => {
  const { line, progress } = await smokeRun({ scenario: 'http', jobs: 40, warmupJobs: 20, concurrency: 4 });
  assertFigures(line, HTTP_NUMBERS, (v) => v > 0, 'a positive number');
  assertFigures(line, HTTP_LATENCIES, (v) => v >= 0, 'a latency');
  assert.equal(line.jobs, 40);
  assert.equal(line.connections, 4);
  for (const path of ['sdk', 'http_wait', 'oip']) {
    assert.ok(
      progress.some((l) => l.startsWith(`http: run 1/1 ${path}: `)),
      `progress names the timed run of ${path}`,
    );
  }
  assert.equal(await cleanupPrefix(redis, prefix), 0, 'the bench removed every key under its prefix');
});

test('an unknown scenario is refused by name before anything runs', async () => {
  const { runBench } = (await import(BENCH_MODULE)) as BenchModule;
  await assert.rejects(runBench({ scenario: 'warp-speed', redisUrl: redisUrl(), prefix, env: {} }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'INVALID_OPTION');
    assert.match(err.message, /warp-speed/);
    assert.match(err.message, /realtime-small/);
    return true;
  });
});

test('bench options out of range are refused naming the option', async () => {
  const { resolveBenchOptions } = (await import(BENCH_MODULE)) as BenchModule;
  const refusals: Array<[Record<string, number>, string]> = [
    [{ runs: 0 }, '--runs'],
    [{ threads: 1.5 }, '--threads'],
    [{ concurrency: -1 }, '--concurrency'],
    [{ jobs: 0 }, '--jobs'],
    [{ maxBatchRows: Number.NaN }, '--max-batch-rows'],
    [{ maxDelayMs: -2 }, '--max-delay-ms'],
  ];
  for (const [options, flag] of refusals) {
    assert.throws(
      () => resolveBenchOptions({ ...options, env: {} }),
      (err: Error & { code?: string }) => err.code === 'INVALID_OPTION' && err.message.startsWith(flag),
      `${JSON.stringify(options)} is refused naming ${flag}`,
    );
  }
});
