import type { Redis } from 'ioredis';
import { ScoreqError, type EnvConfig } from '@scoreq/contracts';
import type { Logger, ScoreqMetrics } from '@scoreq/telemetry';
import { parseAllowlist, type Allowlist } from './allowlist.js';

/** How deliveries are attempted, retried and given up. */
export interface DeliveryPolicy {
  /** Longest one attempt may take (DNS, connect, response), in ms. @defaultValue 15000 */
  timeoutMs?: number;
  /** Attempts before a delivery is dead-lettered, from 1 to 100. @defaultValue 8 */
  maxAttempts?: number;
  /**
   * Nominal wait before the first retry, in ms; each later one doubles it
   * (SCOREQ_WEBHOOK_BACKOFF_BASE_MS). @defaultValue 5000
   */
  backoffBaseMs?: number;
  /** Longest wait between two attempts, in ms, jitter included (SCOREQ_WEBHOOK_BACKOFF_MAX_MS). @defaultValue 3600000 */
  backoffMaxMs?: number;
  /** Each wait is drawn from ±jitter of its nominal value, so retries of many receivers spread out. From 0 to 1. @defaultValue 0.2 */
  jitter?: number;
  /**
   * Hosts, IP addresses or CIDRs that callbacks may reach although private, loopback or
   * link-local (SCOREQ_WEBHOOK_ALLOW). @defaultValue none
   */
  allow?: string | readonly string[];
  /** Most dead letters kept; older ones are trimmed. @defaultValue 10000 */
  deadLetterCap?: number;
}

/** Options of {@link startDeliveryWorker}. */
export interface DeliveryWorkerOptions {
  /**
   * Redis for the BullMQ worker and for secrets and dead letters. It must have
   * `maxRetriesPerRequest: null` (STACK-NOTES trap 5); it is not closed by the worker.
   */
  connection: Redis;
  /** Key prefix of the queue and of scoreq's keys (SCOREQ_PREFIX). */
  prefix: string;
  /** Deliveries in flight at once (SCOREQ_WEBHOOK_CONCURRENCY). @defaultValue 16 */
  concurrency?: number;
  logger: Logger;
  metrics: ScoreqMetrics;
  policy?: DeliveryPolicy;
}

/** Jobs carry this many attempts; the worker's own `maxAttempts` (at most this) decides when to give up. */
export const ATTEMPTS_CEILING = 100;

export const DELIVERY_DEFAULTS = Object.freeze({
  concurrency: 16,
  timeoutMs: 15_000,
  maxAttempts: 20,
  backoffBaseMs: 5_000,
  backoffMaxMs: 3_600_000,
  jitter: 0.2,
  deadLetterCap: 10_000,
});

/** {@link DeliveryPolicy} with every field resolved and checked. */
export interface ResolvedPolicy {
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly jitter: number;
  readonly allow: Allowlist;
  readonly deadLetterCap: number;
}

function invalid(option: string, rule: string, value: unknown): ScoreqError {
  return new ScoreqError('INVALID_OPTION', `options.${option} must be ${rule}; got ${JSON.stringify(value)}`, { option });
}

function wholeNumber(option: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalid(option, `a whole number from ${min} to ${max}`, value);
  return value;
}

/**
 * Fills the defaults in and checks every field once.
 *
 * @throws ScoreqError `INVALID_OPTION` naming the first bad option.
 */
export function resolvePolicy(concurrency: number | undefined, policy: DeliveryPolicy = {}): ResolvedPolicy {
  const backoffBaseMs = wholeNumber('policy.backoffBaseMs', policy.backoffBaseMs ?? DELIVERY_DEFAULTS.backoffBaseMs, 0);
  const backoffMaxMs = policy.backoffMaxMs ?? DELIVERY_DEFAULTS.backoffMaxMs;
  if (!Number.isSafeInteger(backoffMaxMs) || backoffMaxMs < backoffBaseMs)
    throw invalid('policy.backoffMaxMs', `a whole number of ms from policy.backoffBaseMs (${backoffBaseMs})`, backoffMaxMs);
  const jitter = policy.jitter ?? DELIVERY_DEFAULTS.jitter;
  if (!(jitter >= 0 && jitter <= 1)) throw invalid('policy.jitter', 'a number from 0 to 1', jitter);
  return Object.freeze({
    concurrency: wholeNumber('concurrency', concurrency ?? DELIVERY_DEFAULTS.concurrency, 1),
    timeoutMs: wholeNumber('policy.timeoutMs', policy.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs, 1),
    maxAttempts: wholeNumber('policy.maxAttempts', policy.maxAttempts ?? DELIVERY_DEFAULTS.maxAttempts, 1, ATTEMPTS_CEILING),
    backoffBaseMs,
    backoffMaxMs,
    jitter,
    allow: parseAllowlist(policy.allow ?? []),
    deadLetterCap: wholeNumber('policy.deadLetterCap', policy.deadLetterCap ?? DELIVERY_DEFAULTS.deadLetterCap, 1),
  });
}

/**
 * Concurrency and policy of the delivery worker from SCOREQ_WEBHOOK_* configuration.
 *
 * @throws ScoreqError `CONFIG_INVALID` when SCOREQ_WEBHOOK_BACKOFF_MAX_MS is below SCOREQ_WEBHOOK_BACKOFF_BASE_MS.
 */
export function deliveryOptionsFromConfig(config: EnvConfig): { concurrency: number; policy: DeliveryPolicy } {
  if (config.SCOREQ_WEBHOOK_BACKOFF_MAX_MS < config.SCOREQ_WEBHOOK_BACKOFF_BASE_MS) {
    throw new ScoreqError(
      'CONFIG_INVALID',
      `SCOREQ_WEBHOOK_BACKOFF_MAX_MS (${config.SCOREQ_WEBHOOK_BACKOFF_MAX_MS}) is below SCOREQ_WEBHOOK_BACKOFF_BASE_MS (${config.SCOREQ_WEBHOOK_BACKOFF_BASE_MS}): the longest wait cannot be shorter than the first`,
      { variables: ['SCOREQ_WEBHOOK_BACKOFF_MAX_MS', 'SCOREQ_WEBHOOK_BACKOFF_BASE_MS'] },
    );
  }
  return {
    concurrency: config.SCOREQ_WEBHOOK_CONCURRENCY,
    policy: {
      allow: config.SCOREQ_WEBHOOK_ALLOW,
      timeoutMs: config.SCOREQ_WEBHOOK_TIMEOUT_MS,
      maxAttempts: config.SCOREQ_WEBHOOK_MAX_ATTEMPTS,
      backoffBaseMs: config.SCOREQ_WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: config.SCOREQ_WEBHOOK_BACKOFF_MAX_MS,
    },
  };
}

/**
 * Wait before the retry that follows `failedAttempts` failed attempts, in ms: exponential
 * backoff, `min(base · 2^(failedAttempts − 1), max)`, spread by ±jitter and never above
 * `max`. `random` is injectable for tests.
 */
export function retryDelay(
  failedAttempts: number,
  policy: Pick<ResolvedPolicy, 'backoffBaseMs' | 'backoffMaxMs' | 'jitter'>,
  random: () => number = Math.random,
): number {
  // 2^(n-1) stays a finite double for every attempt count BullMQ can report (at most 100 here).
  const nominal = Math.min(policy.backoffBaseMs * 2 ** (Math.max(failedAttempts, 1) - 1), policy.backoffMaxMs);
  const spread = nominal * (1 - policy.jitter + 2 * policy.jitter * random());
  return Math.min(policy.backoffMaxMs, Math.max(0, Math.round(spread)));
}
