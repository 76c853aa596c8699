import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ScoreqError } from './errors.js';

const int = (min: number) => z.coerce.number().int().min(min);

/**
 * Every environment variable scoreq reads, with its default. The README's configuration
 * table is written from this list.
 */
export const ENV_SCHEMA = {
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379').describe('Redis connection URL'),
  SCOREQ_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]+$/, 'letters, digits, _, - and {} only')
    .default('scoreq')
    .describe('Key prefix for every Redis key scoreq and BullMQ write (use {scoreq} on Redis Cluster)'),
  SCOREQ_MODEL_SOURCE: z
    .enum(['registry', 'directory'])
    .default('registry')
    .describe('Where workers find models: the registry in Redis (scoreq models push/promote) or a plain directory (SCOREQ_MODELS_DIR)'),
  SCOREQ_MODELS_DIR: z
    .string()
    .default('models')
    .describe('With SCOREQ_MODEL_SOURCE=directory: directory of <name>/<version>/model.onnx (+ metadata.json) served by the worker'),
  SCOREQ_POOL_THREADS: int(1).default(Math.max(1, availableParallelism())).describe('Inference threads in the Piscina pool (default: CPU count)'),
  SCOREQ_WORKER_CONCURRENCY: int(1).default(256).describe('Jobs a worker holds at once per model; bounds how full batches get'),
  SCOREQ_MAX_BATCH_ROWS: int(1).default(64).describe('Most rows in one inference call'),
  SCOREQ_MAX_DELAY_MS: z.coerce.number().min(0).default(2).describe('Longest a row waits for its batch to fill, in ms'),
  SCOREQ_REALTIME_RESERVED_THREADS: int(0)
    .default(1)
    .describe(
      'Pool threads reserved for real-time jobs: run chunks borrow them only while no real-time job waits, in short slices (0 on workers that serve only overnight runs)',
    ),
  SCOREQ_BULK_CONCURRENCY: int(1).default(4).describe('Run chunks a worker holds at once per model (bulk queue)'),
  SCOREQ_LOCK_DURATION_MS: int(1000)
    .default(30_000)
    .describe('How long a worker holds a job before another may take it over if the first dies (BullMQ lockDuration); must exceed the slowest batch'),
  SCOREQ_STALLED_INTERVAL_MS: int(500).default(30_000).describe('How often workers look for jobs whose holder died (BullMQ stalledInterval)'),
  SCOREQ_MAX_STALLED_COUNT: int(0)
    .default(3)
    .describe(
      'Times a job whose worker died or stopped renewing its lock is put back to be scored again before it fails (BullMQ maxStalledCount); scoring is idempotent, so an overloaded worker should not fail jobs',
    ),
  SCOREQ_MAX_JOB_ROWS: int(1).default(10_000).describe('Most rows one real-time job may carry'),
  SCOREQ_RESULT_TTL_SEC: int(1).default(3600).describe('Seconds a result is kept in Redis'),
  SCOREQ_METRICS_PORT: int(0).default(9464).describe('Port of the worker /metrics and /healthz server (0: any free port)'),
  SCOREQ_METRICS_HOST: z.string().default('0.0.0.0').describe('Address the metrics server binds to'),
  SCOREQ_MODEL_STORE: z
    .enum(['file', 'redis'])
    .default('file')
    .describe('Where the model registry keeps model bytes: a directory (file) or Redis itself (redis, for hosts with no shared disk)'),
  SCOREQ_MODEL_STORE_DIR: z.string().default('.scoreq/models').describe('Directory of the file model store (<dir>/<sha256>.onnx)'),
  SCOREQ_MODEL_CACHE_DIR: z.string().default('.scoreq/cache').describe('Local cache of model bytes by sha256, verified before loading'),
  SCOREQ_MAX_MODEL_BYTES: int(1)
    .default(512 * 1024 * 1024)
    .describe('Largest model file the registry accepts, in bytes (default 512 MiB)'),
  SCOREQ_KEEP_UNALIASED: int(1).default(10).describe('Versions no alias points at that the registry keeps per model; older ones are deleted'),
  SCOREQ_WEBHOOK_ALLOW: z
    .string()
    .default('')
    .describe(
      'Comma list of hosts, IP addresses or CIDRs webhook callbacks may reach although private, loopback or link-local (e.g. 127.0.0.1,10.1.0.0/16,hooks.internal)',
    ),
  SCOREQ_WEBHOOK_CONCURRENCY: int(1).default(16).describe('Webhook deliveries a worker makes at once'),
  SCOREQ_WEBHOOK_TIMEOUT_MS: int(1).default(15_000).describe('Longest one webhook delivery attempt may take, in ms'),
  SCOREQ_WEBHOOK_MAX_ATTEMPTS: int(1).max(100).default(20).describe('Webhook delivery attempts (at most 100) before the delivery is dead-lettered'),
  SCOREQ_WEBHOOK_BACKOFF_BASE_MS: int(0)
    .default(5_000)
    .describe('Wait before the first webhook retry, in ms; each later wait doubles (±20% jitter) up to SCOREQ_WEBHOOK_BACKOFF_MAX_MS'),
  SCOREQ_WEBHOOK_BACKOFF_MAX_MS: int(0).default(3_600_000).describe('Longest wait between two webhook delivery attempts, in ms (default 1 h)'),
  PORT: int(0).max(65_535).default(3000).describe('Port of the HTTP API (scoreq api; 0: any free port)'),
  SCOREQ_AUTH: z
    .enum(['on', 'off'])
    .default('on')
    .describe("API keys on the HTTP API: 'on' (Authorization: Bearer <key>) or 'off' (every request is tenant 'default' with every scope; for local use only)"),
  SCOREQ_BODY_LIMIT_BYTES: int(1)
    .default(1024 * 1024)
    .describe('Largest HTTP API request body, in bytes (default 1 MiB; model uploads use SCOREQ_MAX_MODEL_BYTES)'),
  SCOREQ_RATE_LIMIT_PER_MIN: int(0).default(6000).describe('Requests one API key may make per minute on the HTTP API, across API instances (0: no limit)'),
  SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN: int(0)
    .default(60)
    .describe(
      'Requests without a valid API key (missing, wrong or revoked) one client (an IPv4 address, or an IPv6 /64) may make per minute on the HTTP API, across API instances; over it, its requests with a refused key answer 429 until the minute ends, while valid keys are served as usual (0: no limit)',
    ),
  SCOREQ_TRUST_PROXY: z
    .string()
    .default('')
    .describe(
      'Comma list of the addresses or CIDRs (or loopback, linklocal, uniquelocal) of proxies in front of the HTTP API whose X-Forwarded-For names the client, e.g. 10.0.0.5,10.1.0.0/16; empty: none, the client is the connecting address. true, * and hop counts are refused (a client could pose as any address)',
    ),
  SCOREQ_RUNS_DIR: z
    .string()
    .default('.scoreq/runs')
    .describe('Directory of the files of runs started over HTTP (POST /v1/runs): uploads go to <dir>/<run id>/, and JSON requests name paths inside it'),
  SCOREQ_RUN_ADOPT_INTERVAL_MS: int(0)
    .default(15_000)
    .describe(
      'How often the HTTP API looks for runs with files in SCOREQ_RUNS_DIR that no process produces (after a restart or a crash) and resumes them; 0: only at start',
    ),
  SCOREQ_RUN_UPLOAD_LIMIT_BYTES: int(1)
    .default(16 * 1024 * 1024 * 1024)
    .describe(
      'Largest run input file the HTTP API accepts as an upload (POST /v1/runs with a CSV or JSONL body), in bytes (default 16 GiB); streamed to disk, never held in memory',
    ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
} as const;

const envObject = z.object(ENV_SCHEMA);
export type EnvConfig = Readonly<z.infer<typeof envObject>>;

/**
 * Reads and validates configuration from the environment once, at start-up. Every wrong
 * variable is named in one CONFIG_INVALID error, so a bad deployment fails with a readable
 * message instead of a stack trace later.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const present: Record<string, string> = {};
  for (const key of Object.keys(ENV_SCHEMA)) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const parsed = envObject.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}=${JSON.stringify(present[String(i.path[0])])}: ${i.message}`);
    throw new ScoreqError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      variables: parsed.error.issues.map((i) => String(i.path[0])),
    });
  }
  return Object.freeze(parsed.data);
}
