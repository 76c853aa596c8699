import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScoreqError, type EnvConfig } from '@scoreq/contracts';
import { startApi } from '@scoreq/api';
import { ScoringClient } from '@scoreq/client';
import { REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { createLogger } from '@scoreq/telemetry';
import { startWorker } from '@scoreq/worker';
import { TARGET_DRAIN_SEC } from '../options.js';
import { writeBenchModel, type BenchModel } from '../realtime/bench-model.js';
import type { BenchResult, Scenario, ScenarioContext } from '../scenario.js';
import { median, percentile, round } from '../stats.js';

/** The part of autocannon's options and result this scenario uses (autocannon ships no types). */
interface LoadOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  amount?: number;
  duration?: number;
  /** Load generated in a worker thread, off the event loop the API and worker run on. */
  workers: number;
}
interface LoadResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
  statusCodeStats?: Record<string, { count: number }>;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: LoadOptions) => Promise<LoadResult>;

/** Paths compared in the same run, one at a time, on the same worker and model. */
const PATHS = ['sdk', 'http_wait', 'oip'] as const;
type PathName = (typeof PATHS)[number];

/** One timed run of a path. */
interface PathRun {
  jobsPerS: number;
  p50Ms: number;
  p99Ms: number;
}

/** How long `?wait=` may hold a request; far above any latency a healthy run sees. */
const WAIT = '30s';

/**
 * `http`: single-row jobs for the small reference MLP through the HTTP API under concurrent
 * load, `POST /v1/jobs?wait` and the Open Inference Protocol's `POST /v2/models/<m>/infer`
 * (autocannon, one worker thread, `concurrency` connections), against the SDK path
 * (`submit` + `waitForResult` from `concurrency` loops) in the same run, on the same in-process
 * worker. The paths take turns each round; figures are medians of the runs. Every request must
 * answer 200: a 202 (wait ran out) or an error fails the scenario rather than flatter it.
 */
export const httpScenario: Scenario = {
  name: 'http',
  description: 'single-row jobs over HTTP (POST /v1/jobs?wait and OIP /v2 infer, autocannon) vs the SDK submit+wait path, same worker',
  run: runHttp,
};

async function runHttp(ctx: ScenarioContext): Promise<BenchResult> {
  const { options } = ctx;
  const dir = await mkdtemp(join(tmpdir(), 'scoreq-bench-http-'));
  ctx.cleanup.add('bench models dir', () => rm(dir, { recursive: true, force: true }));
  const model = await writeBenchModel(dir, { name: 'bench-http', mlp: REFERENCE_MODELS.small, labels: ['no', 'yes'], maxJobs: 0 });
  const config: EnvConfig = Object.freeze({
    ...options.config,
    REDIS_URL: ctx.redisUrl,
    SCOREQ_PREFIX: ctx.prefix,
    SCOREQ_MODEL_SOURCE: 'directory',
    SCOREQ_MODELS_DIR: dir,
    SCOREQ_POOL_THREADS: options.threads,
    SCOREQ_WORKER_CONCURRENCY: options.concurrency,
    SCOREQ_MAX_BATCH_ROWS: options.maxBatchRows,
    SCOREQ_MAX_DELAY_MS: options.maxDelayMs,
    SCOREQ_METRICS_PORT: 0,
    SCOREQ_METRICS_HOST: '127.0.0.1',
    // The bench measures the HTTP path, not keys or limits: no key lookup, no rate limit.
    SCOREQ_AUTH: 'off',
    SCOREQ_RATE_LIMIT_PER_MIN: 0,
    LOG_LEVEL: options.logLevel,
  });
  const logger = createLogger({ level: options.logLevel, service: 'scoreq-bench-http', destination: process.stderr });
  const worker = await startWorker({ config, models: [model.name], logger, metricsServer: false });
  ctx.cleanup.add('bench worker', () => worker.close());
  const api = await startApi({ config, logger, host: '127.0.0.1', port: 0 });
  ctx.cleanup.add('bench api', () => api.close());
  const client = new ScoringClient({ connection: ctx.redisUrl, prefix: ctx.prefix });
  ctx.cleanup.add('bench client', () => client.close());

  const connections = options.concurrency;
  const load = options.jobs === undefined ? { duration: TARGET_DRAIN_SEC } : { amount: options.jobs };
  const row = model.rows[0]!;
  const runners: Record<PathName, (limit: { duration?: number; amount?: number }) => Promise<PathRun>> = {
    sdk: (limit) => sdkPath(client, model, connections, limit),
    http_wait: (limit) => httpPath(`${api.url}/v1/jobs?wait=${WAIT}`, { model: model.name, rows: [row] }, connections, limit),
    oip: (limit) =>
      httpPath(
        `${api.url}/v2/models/${model.name}/infer`,
        { inputs: [{ name: 'input', shape: [1, model.features.length], datatype: 'FP32', data: model.features.map((f) => row[f] as number) }] },
        connections,
        limit,
      ),
  };

  ctx.progress(`http: warm-up, ${options.warmupJobs} jobs per path, ${connections} concurrent callers`);
  for (const path of PATHS) await runners[path]({ amount: options.warmupJobs });
  const runs: Record<PathName, PathRun[]> = { sdk: [], http_wait: [], oip: [] };
  for (let round_ = 1; round_ <= options.runs; round_++) {
    for (const path of PATHS) {
      const run = await runners[path](load);
      runs[path].push(run);
      ctx.progress(`http: run ${round_}/${options.runs} ${path}: ${round(run.jobsPerS)} jobs/s, p50 ${round(run.p50Ms, 2)} ms, p99 ${round(run.p99Ms, 2)} ms`);
    }
  }
  const figure = (path: PathName, key: keyof PathRun, digits: number): number => round(median(runs[path].map((r) => r[key])), digits);
  const result: Record<string, number | string> = {};
  for (const path of PATHS) {
    result[`${path}_jobs_per_s`] = figure(path, 'jobsPerS', 0);
    result[`${path}_p50_ms`] = figure(path, 'p50Ms', 2);
    result[`${path}_p99_ms`] = figure(path, 'p99Ms', 2);
  }
  return {
    scenario: 'http',
    ...result,
    ratio_http_wait_vs_sdk: round(median(runs.http_wait.map((r) => r.jobsPerS)) / median(runs.sdk.map((r) => r.jobsPerS)), 3),
    ratio_oip_vs_sdk: round(median(runs.oip.map((r) => r.jobsPerS)) / median(runs.sdk.map((r) => r.jobsPerS)), 3),
    connections,
    threads: options.threads,
    runs: options.runs,
    ...(load.amount === undefined ? { duration_s: load.duration } : { jobs: load.amount }),
    max_batch_rows: options.maxBatchRows,
    max_delay_ms: options.maxDelayMs,
    nproc: ctx.machine.nproc,
  };
}

/** `connections` callers of the API under autocannon; every answer must be a 200. */
async function httpPath(url: string, body: unknown, connections: number, limit: { duration?: number; amount?: number }): Promise<PathRun> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    connections,
    workers: 1,
    ...limit,
  });
  const ok = result.statusCodeStats?.['200']?.count ?? result.requests.total - result.non2xx;
  const other = result.requests.total - ok;
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0 || other > 0) {
    throw new ScoreqError(
      'INTERNAL',
      `bench: ${url} answered ${other} of ${result.requests.total} requests without 200 (${JSON.stringify(result.statusCodeStats ?? {})}), ` +
        `${result.errors} connection errors, ${result.timeouts} timeouts`,
    );
  }
  return { jobsPerS: result.requests.total / result.duration, p50Ms: result.latency.p50, p99Ms: result.latency.p99 };
}

/** `connections` loops of SDK submit + waitForResult, for a duration or a number of jobs. */
async function sdkPath(client: ScoringClient, model: BenchModel, connections: number, limit: { duration?: number; amount?: number }): Promise<PathRun> {
  const latencies: number[] = [];
  const started = performance.now();
  const endAt = limit.duration === undefined ? Infinity : started + limit.duration * 1000;
  let left = limit.amount ?? Infinity;
  const row = model.rows[0]!;
  const loop = async (): Promise<void> => {
    while (left > 0 && performance.now() < endAt) {
      left--;
      const t0 = performance.now();
      await client.waitForResult(await client.submit(model.name, { rows: [row] }), { timeoutMs: 30_000 });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { jobsPerS: latencies.length / elapsedS, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
