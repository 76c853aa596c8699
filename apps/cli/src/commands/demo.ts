import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, ScoreqError, type EnvConfig, type ScoreResult } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { ModelRegistry, registryOptionsFromConfig } from '@scoreq/registry';
import { Redis } from 'ioredis';
import { createLogger, type Logger } from '@scoreq/telemetry';
import { startWorker, type ScoringWorker } from '@scoreq/worker';
import type { CleanupStack } from '../demo/cleanup-stack.js';
import { createLimiter } from '../demo/limiter.js';
import { DEMO_VERSION, demoModels, registerDemoModels } from '../demo/models.js';
import { DEMO_RUN_ROWS, demoRun } from '../demo/overnight.js';
import { planDemo, type DemoPlan } from '../demo/plan.js';
import { formatSummary, summarize } from '../demo/stats.js';
import { formatTable } from '../output/table.js';
import { deleteKeysWithPrefix } from '../redis/delete-prefix.js';
import { ensureRedis, type RedisHandle } from '../redis/ensure-redis.js';
import { redactUrl } from '../redis/ping.js';
import { runInterruptibly } from '../signals.js';

/** Options of `scoreq demo`. */
export interface DemoOptions {
  /** Single-row jobs sent to churn; risk gets a fifth as many. @defaultValue 5000 */
  jobs?: number;
  /** Where output lines go. @defaultValue stdout */
  print?: (line: string) => void;
  /** Environment to read configuration from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

const DEMO_DEFAULTS = { jobs: 5_000 } as const;
/** Most jobs the demo will submit to churn. */
const MAX_JOBS = 1_000_000;
/** Results waited for at once; the client's waits are cheap, this only bounds memory. */
const WAIT_CONCURRENCY = 2_000;
/** How long one job may take end to end before the demo gives up. */
const RESULT_TIMEOUT_MS = 60_000;

interface Scored {
  id: string;
  model: string;
  result: ScoreResult;
}

/** `--jobs` as commander hands it over → a positive integer, or INVALID_OPTION naming it. */
export function parseJobs(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_JOBS) {
    throw new ScoreqError('INVALID_OPTION', `--jobs must be a whole number from 1 to ${MAX_JOBS}, got ${JSON.stringify(value)}`, { option: 'jobs' });
  }
  return n;
}

/**
 * `scoreq demo`: the whole system on one machine. Finds or starts a Redis, writes two demo
 * models, starts a worker in-process, scores a few thousand jobs through the SDK, prints a
 * sample of results and a throughput summary, and leaves nothing behind: the worker and the
 * client are closed, a Redis it started is stopped, and on a Redis it borrowed every key
 * under its own random prefix is deleted.
 */
export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const jobs = options.jobs ?? DEMO_DEFAULTS.jobs;
  const print = options.print ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  // Quiet by default so the table is readable; LOG_LEVEL set by the caller wins.
  const level = env.LOG_LEVEL ? config.LOG_LEVEL : 'warn';
  const logger = createLogger({ level, service: 'scoreq-demo' });

  await runInterruptibly('demo', logger, (cleanup) => demo(config, level, jobs, logger, print, cleanup, env));
}

async function demo(
  config: EnvConfig,
  level: EnvConfig['LOG_LEVEL'],
  jobs: number,
  logger: Logger,
  print: (line: string) => void,
  cleanup: CleanupStack,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  // REDIS_URL has a default in the config; only a REDIS_URL the user set is used as is.
  const redis: RedisHandle = await ensureRedis({ url: env.REDIS_URL ? config.REDIS_URL : undefined, logger });
  cleanup.add('redis', () => redis.stop());
  const prefix = `scoreq-demo-${randomBytes(4).toString('hex')}`;
  if (!redis.started) cleanup.add('demo keys', () => deleteKeysWithPrefix(redis.url, prefix));

  const dir = await mkdtemp(join(tmpdir(), 'scoreq-demo-models-'));
  // Also removed when a second Ctrl-C exits at once, without the clean-up below.
  const removeDirAtExit = (): void => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDirAtExit);
  cleanup.add('models dir', async () => {
    process.removeListener('exit', removeDirAtExit);
    await rm(dir, { recursive: true, force: true });
  });
  const models = demoModels();
  const workerConfig: EnvConfig = Object.freeze({
    ...config,
    REDIS_URL: redis.url,
    SCOREQ_MODEL_SOURCE: 'registry',
    SCOREQ_MODEL_STORE: 'file',
    SCOREQ_MODEL_STORE_DIR: join(dir, 'store'),
    SCOREQ_MODEL_CACHE_DIR: join(dir, 'cache'),
    SCOREQ_PREFIX: prefix,
    SCOREQ_METRICS_PORT: 0,
    SCOREQ_METRICS_HOST: '127.0.0.1',
    LOG_LEVEL: level,
  });
  const registryRedis = new Redis(redis.url);
  const registry = new ModelRegistry({ ...registryOptionsFromConfig(workerConfig, registryRedis), logger });
  cleanup.add('registry', async () => {
    await registry.close();
    await registryRedis.quit();
  });
  await registerDemoModels(registry, models);
  const worker: ScoringWorker = await startWorker({ config: workerConfig, models: models.map((m) => m.name), logger });
  cleanup.add('worker', () => worker.close());
  const client = new ScoringClient({ connection: redis.url, prefix });
  cleanup.add('client', () => client.close());

  const plan = planDemo(models, jobs);
  print('scoreq demo');
  print(
    `  redis    ${redactUrl(redis.url)} (${redis.started ? `started for this demo, pid ${String(redis.pid)}` : 'already running; demo keys are removed at the end'})`,
  );
  print(`  models   ${models.map((m) => `${m.name} v${DEMO_VERSION}`).join(', ')} pushed to the registry and promoted to production (bytes in ${dir})`);
  print(`  worker   serving ${worker.models.join(', ')}${worker.metricsUrl ? `; metrics at ${worker.metricsUrl}` : ''}`);
  print(`  jobs     ${plan.singleRowJobs} single-row + ${plan.multiRowJobs} multi-row, key prefix ${prefix}`);
  print('');

  const { scored, elapsedMs } = await scoreAll(client, plan);
  print(sampleTable(scored));
  print('');
  print(
    formatSummary(
      summarize(
        scored.map((s) => s.result),
        elapsedMs,
      ),
    ),
  );

  print('');
  print(`overnight run: ${DEMO_RUN_ROWS} rows of churn features from a CSV file, through the bulk queue (as \`scoreq run\` does)`);
  const run = await demoRun({ redisUrl: redis.url, prefix, dir, model: models.find((m) => m.name === 'churn')! });
  for (const line of run.head) print(`  ${line}`);
  print(
    `run ${run.id}: ${run.rows} rows scored in ${run.seconds.toFixed(2)} s = ${Math.round(run.rows / run.seconds)} rows/s, ${run.rejected} rejected, in input order`,
  );
}

/**
 * Submits the plan chunk by chunk while already waiting for the first results. Every wait
 * gets a handler the moment it starts, so a failure (or the client closing on Ctrl-C) is
 * never an unhandled rejection; the first failure stops submission and is thrown.
 */
async function scoreAll(client: ScoringClient, plan: DemoPlan): Promise<{ scored: Scored[]; elapsedMs: number }> {
  const limit = createLimiter(WAIT_CONCURRENCY);
  const waits: Promise<Scored | undefined>[] = [];
  let firstError: { error: unknown } | undefined;
  const started = performance.now();
  for (const chunk of plan.chunks) {
    if (firstError) break;
    const ids = await client.submitMany(
      chunk.model,
      chunk.jobs.map((j) => j.input),
    );
    for (const id of ids) {
      const wait = limit(async () => ({ id, model: chunk.model, result: await client.waitForResult(id, { timeoutMs: RESULT_TIMEOUT_MS }) }));
      waits.push(
        wait.catch((error: unknown) => {
          firstError ??= { error };
          return undefined;
        }),
      );
    }
  }
  const settled = await Promise.all(waits);
  if (firstError) throw firstError.error;
  return { scored: settled.filter((s): s is Scored => s !== undefined), elapsedMs: performance.now() - started };
}

/** Five results to look at: two single-row jobs per model, then a multi-row one. */
function sampleTable(scored: readonly Scored[]): string {
  const pick = (model: string, multi: boolean, n: number): Scored[] =>
    scored.filter((s) => s.model === model && (s.result.rows?.length ?? 0) > 1 === multi).slice(0, n);
  const sample = [...pick('churn', false, 2), ...pick('risk', false, 2), ...pick('churn', true, 1)];
  return formatTable(
    ['job id', 'model', 'version', 'rows', 'label', 'score', 'batch rows', 'total ms'],
    sample.map(({ id, result }) => {
      const first = result.rows?.[0];
      return [
        id,
        result.model,
        result.version,
        String(result.rows?.length ?? 0),
        first?.label ?? '-',
        first?.score === undefined ? '-' : first.score.toFixed(3),
        String(result.batch.rows),
        result.timings.totalMs.toFixed(1),
      ];
    }),
    ['left', 'left', 'left', 'right', 'left', 'right', 'right', 'right'],
  );
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Score a few thousand jobs on two generated models with an in-process worker; needs only Node and redis-server')
    .option('--jobs <n>', `single-row jobs sent to churn; risk gets a fifth as many (default ${DEMO_DEFAULTS.jobs})`)
    .action((opts: { jobs?: string }) => runDemo(opts.jobs === undefined ? {} : { jobs: parseJobs(opts.jobs) }));
}
