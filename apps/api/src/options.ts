import type { Redis } from 'ioredis';
import { ScoreqError, type EnvConfig } from '@scoreq/contracts';
import type { Logger, ScoreqMetrics } from '@scoreq/telemetry';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';

/** Options of {@link buildApi} and {@link startApi}. */
export interface ApiOptions {
  /**
   * Configuration from the environment (`loadConfig()`): REDIS_URL, SCOREQ_PREFIX, PORT,
   * SCOREQ_AUTH, SCOREQ_BODY_LIMIT_BYTES, SCOREQ_RATE_LIMIT_PER_MIN,
   * SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN, SCOREQ_MAX_JOB_ROWS,
   * SCOREQ_RESULT_TTL_SEC, SCOREQ_TRUST_PROXY, the registry's SCOREQ_MODEL_STORE* and LOG_LEVEL.
   */
  config: EnvConfig;
  /**
   * Logger of the API, also Fastify's.
   * @defaultValue `createLogger({ level: config.LOG_LEVEL, service: 'scoreq-api' })`
   */
  logger?: Logger;
  /**
   * Metrics registry to serve at /metrics and to add the HTTP metrics to (share one with an
   * in-process worker).
   * @defaultValue `createMetrics({ logger })`
   */
  metrics?: ScoreqMetrics;
  /**
   * Redis connection for the API's own commands (keys, rate limits, results, queues). The
   * caller keeps it and closes it. It should have `enableOfflineQueue: false`, so requests fail
   * fast with REDIS_UNAVAILABLE while Redis is down.
   * @defaultValue one opened from config.REDIS_URL and closed by `app.close()`
   */
  redis?: Redis;
  /**
   * Longest a request may wait for a job, in ms: `?wait=` on POST /v1/jobs is capped to it,
   * and it is how long an Open Inference Protocol infer call waits.
   * @defaultValue 30000
   */
  maxWaitMs?: number;
  /**
   * Port {@link startApi} listens on (0: any free port).
   * @defaultValue config.PORT
   */
  port?: number;
  /**
   * Address {@link startApi} binds to.
   * @defaultValue '0.0.0.0'
   */
  host?: string;
}

/** Options with defaults applied; frozen. */
export interface ResolvedApiOptions {
  readonly config: EnvConfig;
  readonly logger: Logger | undefined;
  readonly metrics: ScoreqMetrics | undefined;
  readonly redis: Redis | undefined;
  readonly maxWaitMs: number;
  readonly port: number;
  readonly host: string;
  /** Fastify's `trustProxy`, from config.SCOREQ_TRUST_PROXY. */
  readonly trustProxy: TrustProxy;
}

export const API_DEFAULTS = Object.freeze({
  maxWaitMs: 30_000,
  host: '0.0.0.0',
});

/** Longest timer Node can arm. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Applies the defaults once and refuses bad values by name (INVALID_OPTION; CONFIG_INVALID for
 * SCOREQ_TRUST_PROXY).
 */
export function resolveApiOptions(options: ApiOptions): ResolvedApiOptions {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'must be an object');
  if (typeof options.config !== 'object' || options.config === null) throw invalid('config', 'is required (loadConfig())');
  const maxWaitMs = options.maxWaitMs ?? API_DEFAULTS.maxWaitMs;
  if (!Number.isInteger(maxWaitMs) || maxWaitMs < 1 || maxWaitMs > MAX_TIMER_MS) {
    throw invalid('maxWaitMs', `must be an integer from 1 to ${MAX_TIMER_MS}, got ${JSON.stringify(maxWaitMs)}`);
  }
  const port = options.port ?? options.config.PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw invalid('port', `must be an integer from 0 to 65535, got ${JSON.stringify(port)}`);
  const host = options.host ?? API_DEFAULTS.host;
  if (typeof host !== 'string' || host === '') throw invalid('host', `must be a non-empty string, got ${JSON.stringify(host)}`);
  const trustProxy = parseTrustProxy(options.config.SCOREQ_TRUST_PROXY);
  return Object.freeze({
    config: options.config,
    logger: options.logger,
    metrics: options.metrics,
    redis: options.redis,
    maxWaitMs,
    port,
    host,
    trustProxy,
  });
}

function invalid(name: string, text: string): ScoreqError {
  return new ScoreqError('INVALID_OPTION', `options.${name} ${text}`, { field: name });
}
