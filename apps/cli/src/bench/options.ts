import { randomBytes } from 'node:crypto';
import { loadConfig, ScoreqError, type EnvConfig } from '@scoreq/contracts';

/**
 * Options of `scoreq bench` and of {@link runBench}. Every system a scenario compares runs
 * with the same threads, concurrency and job payloads, so only the system differs.
 */
export interface BenchOptions {
  /** A scenario (`realtime-small`) or a group of them (`realtime`). @defaultValue 'realtime' */
  scenario?: string;
  /** Timed drains per figure; the median is reported. @defaultValue 3 */
  runs?: number;
  /** Inference threads of every system's pool. @defaultValue SCOREQ_POOL_THREADS, else the CPU count */
  threads?: number;
  /** BullMQ worker concurrency of every system. @defaultValue SCOREQ_WORKER_CONCURRENCY, else 256 */
  concurrency?: number;
  /**
   * Jobs in each timed drain, the same for every system. When absent each system gets as
   * many as it drains in about {@link TARGET_DRAIN_SEC} seconds at its warm-up rate.
   */
  jobs?: number;
  /** Jobs of the untimed warm-up drain that also sizes `jobs`. @defaultValue 2000, or `jobs` when smaller */
  warmupJobs?: number;
  /** scoreq's SCOREQ_MAX_BATCH_ROWS. @defaultValue the configured value (64) */
  maxBatchRows?: number;
  /** scoreq's SCOREQ_MAX_DELAY_MS. @defaultValue the configured value (2) */
  maxDelayMs?: number;
  /** Print only the JSON lines: no progress on stderr. @defaultValue false */
  jsonOnly?: boolean;
  /** Redis to run on. @defaultValue env REDIS_URL, else redis://127.0.0.1:6379 (else a private redis-server) */
  redisUrl?: string;
  /** Key prefix of every key the run writes; all of them are removed at the end. @defaultValue `bench-<random>` */
  prefix?: string;
  /** Level of the scoreq worker's and the bench's own logs, written to stderr. @defaultValue 'warn' */
  logLevel?: EnvConfig['LOG_LEVEL'];
  /** Environment configuration is read from. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Where result (JSON) lines go. @defaultValue stdout */
  print?: (line: string) => void;
  /** Where progress lines go (unless `jsonOnly`). @defaultValue stderr */
  progress?: (line: string) => void;
}

/** A timed drain should last at least 3 s (BENCHMARKS.md); sizing aims a little above. */
export const TARGET_DRAIN_SEC = 5;

/** {@link BenchOptions} resolved once: no optionals except `jobs` (absent: sized per system). */
export interface ResolvedBenchOptions {
  readonly scenario: string;
  readonly runs: number;
  readonly threads: number;
  readonly concurrency: number;
  readonly jobs: number | undefined;
  readonly warmupJobs: number;
  readonly maxBatchRows: number;
  readonly maxDelayMs: number;
  readonly jsonOnly: boolean;
  /** undefined: let ensureRedis use the default address (or start a private Redis). */
  readonly redisUrl: string | undefined;
  readonly prefix: string;
  readonly logLevel: EnvConfig['LOG_LEVEL'];
  /** Configuration the scoreq worker starts from (environment plus defaults). */
  readonly config: EnvConfig;
  readonly print: (line: string) => void;
  readonly progress: (line: string) => void;
}

const BENCH_DEFAULTS = Object.freeze({ scenario: 'realtime', runs: 3, warmupJobs: 2_000, jsonOnly: false, logLevel: 'warn' as const });

const LIMITS = {
  runs: { min: 1, max: 50 },
  threads: { min: 1, max: 256 },
  concurrency: { min: 1, max: 10_000 },
  jobs: { min: 1, max: 1_000_000 },
  warmupJobs: { min: 1, max: 1_000_000 },
  maxBatchRows: { min: 1, max: 1_000_000 },
} as const;

const PREFIX = /^[A-Za-z0-9_{}-]+$/;

/** Validates and fills in every option, once; refuses a wrong value naming its option. */
export function resolveBenchOptions(options: BenchOptions = {}): ResolvedBenchOptions {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const jobs = options.jobs === undefined ? undefined : wholeNumber('jobs', options.jobs);
  const prefix = options.prefix ?? `bench-${randomBytes(4).toString('hex')}`;
  if (!PREFIX.test(prefix)) throw invalid('prefix', `must be letters, digits, _, - or {} only, got ${JSON.stringify(prefix)}`);
  const maxDelayMs = options.maxDelayMs ?? config.SCOREQ_MAX_DELAY_MS;
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) throw invalid('maxDelayMs', `must be a number of milliseconds ≥ 0, got ${String(options.maxDelayMs)}`);
  const redisUrl = options.redisUrl ?? (env.REDIS_URL ? config.REDIS_URL : undefined);
  const resolved: ResolvedBenchOptions = {
    scenario: options.scenario ?? BENCH_DEFAULTS.scenario,
    runs: wholeNumber('runs', options.runs ?? BENCH_DEFAULTS.runs),
    threads: wholeNumber('threads', options.threads ?? config.SCOREQ_POOL_THREADS),
    concurrency: wholeNumber('concurrency', options.concurrency ?? config.SCOREQ_WORKER_CONCURRENCY),
    jobs,
    warmupJobs: wholeNumber('warmupJobs', options.warmupJobs ?? Math.min(BENCH_DEFAULTS.warmupJobs, jobs ?? Number.POSITIVE_INFINITY)),
    maxBatchRows: wholeNumber('maxBatchRows', options.maxBatchRows ?? config.SCOREQ_MAX_BATCH_ROWS),
    maxDelayMs,
    jsonOnly: options.jsonOnly ?? BENCH_DEFAULTS.jsonOnly,
    redisUrl: redisUrl === '' ? undefined : redisUrl,
    prefix,
    logLevel: options.logLevel ?? BENCH_DEFAULTS.logLevel,
    config,
    print: options.print ?? ((line) => void process.stdout.write(`${line}\n`)),
    progress: options.progress ?? ((line) => void process.stderr.write(`${line}\n`)),
  };
  return Object.freeze(resolved);
}

/** `--max-batch-rows` for `maxBatchRows`: how the user typed the option. */
function flag(name: string): string {
  return `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function invalid(name: string, why: string): ScoreqError {
  return new ScoreqError('INVALID_OPTION', `${flag(name)} ${why}`, { option: name });
}

function wholeNumber(name: keyof typeof LIMITS, value: number): number {
  const { min, max } = LIMITS[name];
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(name, `must be a whole number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/**
 * A numeric option as commander hands it over (a string) → a number, or INVALID_OPTION
 * naming it. Ranges are checked by {@link resolveBenchOptions}.
 */
export function parseNumberOption(name: string, value: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) throw invalid(name, `must be a number, got ${JSON.stringify(value)}`);
  return n;
}
