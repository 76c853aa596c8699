import type { Redis, RedisOptions } from 'ioredis';
import { int, invalidOption, MAX_TIMER_MS, record, refuseUnknown, text, url } from './checks.js';

/** Where the client finds Redis. */
export type ConnectionInput = string | RedisOptions | Redis;

/** Options of {@link SubmitOptions} that may also be set once for every job of a client. */
export type SubmitDefaults = Pick<SubmitOptions, 'version' | 'priority' | 'resultTtlSec' | 'attempts' | 'tenant' | 'callbackUrl'>;

/** Options of `new ScoringClient(options)`. Resolved and checked once, in the constructor. */
export interface ClientOptions {
  /**
   * Redis to use: a `redis://` / `rediss://` URL, ioredis options, or an ioredis instance.
   * From a URL or options the client opens its own connections and closes them in `close()`;
   * an instance stays the caller's (used as is for commands, never closed by the client).
   * Connections the client opens for commands have `enableOfflineQueue: false`, so calls
   * fail fast with REDIS_UNAVAILABLE while Redis is down instead of queueing in memory.
   */
  connection: ConnectionInput;
  /**
   * Key prefix of every Redis key: BullMQ's `prefix` and scoreq's own keys. Use a hash tag
   * (`{scoreq}`) on Redis Cluster. Must match the workers'.
   * @defaultValue 'scoreq'
   */
  prefix?: string;
  /**
   * Most rows one job may carry; larger jobs are refused with JOB_TOO_LARGE before enqueueing.
   * Should equal the workers' `SCOREQ_MAX_JOB_ROWS`.
   * @defaultValue 10000
   */
  maxJobRows?: number;
  /**
   * Milliseconds a model record read from Redis is reused before it is read again
   * (0: read on every submit). Unknown models are never cached.
   * @defaultValue 5000
   */
  catalogTtlMs?: number;
  /**
   * Milliseconds `waitForResult` waits when the call gives no `timeoutMs`.
   * @defaultValue 30000
   */
  waitTimeoutMs?: number;
  /**
   * Milliseconds between fallback reads of the result keys of pending waiters (one MGET for
   * all of them), for completions whose event was trimmed from the events stream.
   * @defaultValue 1000
   */
  resultPollMs?: number;
  /**
   * Approximate length BullMQ trims each queue's events stream to. A Queue writes this to the
   * queue's meta key, so give every producer of a queue the same value.
   * @defaultValue 10000
   */
  eventsMaxLen?: number;
  /**
   * Defaults for every `submit` / `submitMany` of this client; per-call options win.
   * @defaultValue none: the SubmitOptions defaults apply
   */
  defaults?: SubmitDefaults;
  /**
   * Receives errors of background connections (reconnects, the events reader). Calls that need
   * Redis still fail on their own with REDIS_UNAVAILABLE, so the default ignores them.
   * @defaultValue a function that does nothing
   */
  onError?: (error: Error) => void;
}

/** Options of one `submit`. */
export interface SubmitOptions {
  /**
   * Version number ("3") or alias ("production", "staging", "latest"). Checked against the
   * catalogue at submit and sent as given: the worker resolves it when the job runs.
   * @defaultValue none: the worker uses 'production' (the latest version without that alias)
   */
  version?: string;
  /**
   * BullMQ priority, 1 (highest) to 2 097 151. Jobs without a priority run before all
   * prioritized jobs.
   * @defaultValue none
   */
  priority?: number;
  /**
   * Milliseconds before the job may run.
   * @defaultValue 0
   */
  delayMs?: number;
  /**
   * Makes the job id `<model>.<key>` (1-128 of [A-Za-z0-9_-]). A repeat submit with the same
   * key returns the same id and adds nothing, while the job or its result record exists
   * (`resultTtlSec` after it finished). The repeat's input is not compared with the first's.
   * @defaultValue none: a random UUID
   */
  idempotencyKey?: string;
  /**
   * Seconds the result record and the finished BullMQ job are kept.
   * @defaultValue 3600
   */
  resultTtlSec?: number;
  /**
   * http(s) URL the worker POSTs the result to when the job finishes.
   * @defaultValue none
   */
  callbackUrl?: string;
  /**
   * Tenant the job is accounted to, at most 128 characters.
   * @defaultValue none
   */
  tenant?: string;
  /**
   * Absolute time after which the job must not be scored: a Date or epoch milliseconds. The
   * worker fails a late job with DEADLINE_EXCEEDED without running it, judged on its own
   * clock; a deadline already past is therefore accepted, and fails that way. Absolute, so
   * retries and `delayMs` cannot stretch it; for a relative budget pass `Date.now() + ms`.
   * @defaultValue none
   */
  deadline?: Date | number;
  /**
   * Tries of the job in all, retried with exponential backoff from 1000 ms.
   * @defaultValue 3
   */
  attempts?: number;
  /**
   * Output tensors to return for tensor jobs, by name.
   * @defaultValue all outputs
   */
  outputs?: string[];
}

/** Options of one `submitMany`: those of `submit`, with one idempotency key per input. */
export interface SubmitManyOptions extends Omit<SubmitOptions, 'idempotencyKey'> {
  /**
   * One idempotency key per input, in the same order, all different.
   * @defaultValue none: random UUIDs
   */
  idempotencyKeys?: string[];
}

/** Options of `waitForResult`. */
export interface WaitOptions {
  /**
   * Milliseconds to wait before rejecting with WAIT_TIMEOUT.
   * @defaultValue the client's `waitTimeoutMs`
   */
  timeoutMs?: number;
  /** Stops waiting early; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Client options after defaults and checks. */
export interface ResolvedClientOptions {
  readonly connection: ConnectionInput;
  readonly prefix: string;
  readonly maxJobRows: number;
  readonly catalogTtlMs: number;
  readonly waitTimeoutMs: number;
  readonly resultPollMs: number;
  readonly eventsMaxLen: number;
  readonly defaults: Readonly<ResolvedDefaults>;
  readonly onError: (error: Error) => void;
}

/** Client-wide SubmitOptions defaults after checks. */
export interface ResolvedDefaults {
  version: string | undefined;
  priority: number | undefined;
  resultTtlSec: number;
  attempts: number;
  tenant: string | undefined;
  callbackUrl: string | undefined;
}

/** One job's options after defaults and checks; the deadline is in epoch ms. */
export interface ResolvedSubmitOptions extends ResolvedDefaults {
  delayMs: number;
  idempotencyKey: string | undefined;
  deadline: number | undefined;
  outputs: string[] | undefined;
}

/** The one defaults object of the client. */
export const CLIENT_DEFAULTS = Object.freeze({
  prefix: 'scoreq',
  maxJobRows: 10_000,
  catalogTtlMs: 5_000,
  waitTimeoutMs: 30_000,
  resultPollMs: 1_000,
  eventsMaxLen: 10_000,
  resultTtlSec: 3_600,
  attempts: 3,
});

const MAX_PRIORITY = 2_097_151; // BullMQ PRIORITY_LIMIT, 2 ** 21 - 1
const PREFIX = /^[A-Za-z0-9_{}-]{1,64}$/;
const CLIENT_KEYS = new Set(['connection', 'prefix', 'maxJobRows', 'catalogTtlMs', 'waitTimeoutMs', 'resultPollMs', 'eventsMaxLen', 'defaults', 'onError']);
/** Names of the SubmitOptions that may have client-wide defaults. */
export const DEFAULT_KEYS: readonly string[] = ['version', 'priority', 'resultTtlSec', 'attempts', 'tenant', 'callbackUrl'];

/** Applies defaults to the constructor options, checks every value, and freezes the result. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const o = record(options, 'options');
  refuseUnknown(o, CLIENT_KEYS, '');
  checkConnection(o.connection);
  const prefix = o.prefix ?? CLIENT_DEFAULTS.prefix;
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) throw invalidOption('prefix', `must be 1-64 of [A-Za-z0-9_{}-], got ${JSON.stringify(prefix)}`);
  if (o.onError !== undefined && typeof o.onError !== 'function') throw invalidOption('onError', 'must be a function');
  const d = o.defaults === undefined ? {} : record(o.defaults, 'defaults');
  refuseUnknown(d, new Set(DEFAULT_KEYS), 'defaults.');
  return Object.freeze({
    connection: o.connection as ConnectionInput,
    prefix,
    maxJobRows: int(o.maxJobRows, 'maxJobRows', 1, Number.MAX_SAFE_INTEGER) ?? CLIENT_DEFAULTS.maxJobRows,
    catalogTtlMs: int(o.catalogTtlMs, 'catalogTtlMs', 0, Number.MAX_SAFE_INTEGER) ?? CLIENT_DEFAULTS.catalogTtlMs,
    waitTimeoutMs: int(o.waitTimeoutMs, 'waitTimeoutMs', 0, MAX_TIMER_MS) ?? CLIENT_DEFAULTS.waitTimeoutMs,
    resultPollMs: int(o.resultPollMs, 'resultPollMs', 10, MAX_TIMER_MS) ?? CLIENT_DEFAULTS.resultPollMs,
    eventsMaxLen: int(o.eventsMaxLen, 'eventsMaxLen', 1, Number.MAX_SAFE_INTEGER) ?? CLIENT_DEFAULTS.eventsMaxLen,
    defaults: Object.freeze(resolveDefaults(d, undefined, 'defaults.')),
    onError: (o.onError as ((error: Error) => void) | undefined) ?? ignoreBackgroundError,
  });
}

/** Checks the defaultable SubmitOptions in `o`, falling back to `base` then CLIENT_DEFAULTS. */
export function resolveDefaults(o: Record<string, unknown>, base: Readonly<ResolvedDefaults> | undefined, path: string): ResolvedDefaults {
  return {
    version: text(o.version, `${path}version`, 64) ?? base?.version,
    priority: int(o.priority, `${path}priority`, 1, MAX_PRIORITY) ?? base?.priority,
    resultTtlSec: int(o.resultTtlSec, `${path}resultTtlSec`, 1, 365 * 24 * 3600) ?? base?.resultTtlSec ?? CLIENT_DEFAULTS.resultTtlSec,
    attempts: int(o.attempts, `${path}attempts`, 1, 100) ?? base?.attempts ?? CLIENT_DEFAULTS.attempts,
    tenant: text(o.tenant, `${path}tenant`, 128) ?? base?.tenant,
    callbackUrl: url(o.callbackUrl, `${path}callbackUrl`) ?? base?.callbackUrl,
  };
}

function checkConnection(value: unknown): void {
  if (typeof value === 'string') {
    if (URL.canParse(value) && ['redis:', 'rediss:'].includes(new URL(value).protocol)) return;
    throw invalidOption('connection', `must be a redis:// or rediss:// URL, got ${JSON.stringify(value)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption('connection', 'must be a Redis URL, ioredis options or an ioredis instance');
  }
  const options = isRedisInstance(value) ? (value as Redis).options : (value as RedisOptions);
  if (options.keyPrefix) throw invalidOption('connection', "must not set ioredis keyPrefix (BullMQ refuses it): use the client's prefix option");
}

/** The test BullMQ itself uses to tell a client instance from connection options. */
export function isRedisInstance(value: unknown): value is Redis {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && ['connect', 'disconnect', 'duplicate'].every((m) => typeof v[m] === 'function');
}

// Background connection errors also fail the calls that need the connection, with a code;
// a reconnect loop would otherwise print one line per attempt.
function ignoreBackgroundError(): void {}
