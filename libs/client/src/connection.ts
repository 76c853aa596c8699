import type { RedisOptions as BullRedisOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { ScoreqError } from '@scoreq/contracts';
import { isRedisInstance, type ConnectionInput } from './options.js';

/**
 * The client's command connection: shared by every Queue of the client and by its own reads
 * and writes (catalogue, results, cancellation). Opened by the client from a URL or options
 * (then closed by it), or the caller's instance (never closed by the client).
 */
export class ClientConnection {
  readonly redis: Redis;
  /** Options for the blocking connections of QueueEvents, which BullMQ opens and closes. */
  readonly eventsOptions: BullRedisOptions;
  private readonly owned: boolean;
  private waiting: Promise<Redis> | undefined;

  constructor(input: ConnectionInput, onError: (error: Error) => void) {
    if (isRedisInstance(input)) {
      this.redis = input;
      this.owned = false;
    } else {
      // Producers fail fast (trap 5): no offline queue, so a call made while Redis is down
      // rejects at once instead of piling up in memory.
      const overrides: RedisOptions = { enableOfflineQueue: false };
      this.redis = typeof input === 'string' ? new Redis(input, overrides) : new Redis({ ...input, ...overrides });
      this.owned = true;
      this.redis.on('error', onError);
    }
    // A copy of the resolved options (URL already parsed), adjusted for a blocking reader:
    // BullMQ requires maxRetriesPerRequest null there, and XREAD should wait out a reconnect.
    // (A null retryStrategy, "never reconnect", is left to BullMQ's default: a reader reconnects.)
    const { retryStrategy, ...options } = this.redis.options;
    this.eventsOptions = { ...options, ...(retryStrategy ? { retryStrategy } : {}), maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false };
  }

  /**
   * Resolves once the connection is ready. Rejects with REDIS_UNAVAILABLE at the first
   * connection error rather than waiting for a reconnect, and at once while reconnecting.
   */
  ready(): Promise<Redis> {
    const r = this.redis;
    if (r.status === 'ready') return Promise.resolve(r);
    if (r.status === 'end' || r.status === 'close' || r.status === 'reconnecting') {
      return Promise.reject(unavailable(`Redis connection is ${r.status}`));
    }
    // One pending wait shared by all callers: thousands of early calls add three listeners, not 3000.
    this.waiting ??= new Promise<Redis>((resolve, reject) => {
      const done = (): void => {
        r.off('ready', onReady);
        r.off('error', onError);
        r.off('end', onEnd);
        this.waiting = undefined;
      };
      const onReady = (): void => {
        done();
        resolve(r);
      };
      const onError = (err: Error): void => {
        done();
        reject(unavailable(`Redis is unavailable: ${err.message}`));
      };
      const onEnd = (): void => onError(new Error('connection ended'));
      r.on('ready', onReady);
      r.on('error', onError);
      r.on('end', onEnd);
      if (r.status === 'wait') r.connect().catch(onError);
    });
    return this.waiting;
  }

  /** Closes the connection if the client opened it. */
  async close(): Promise<void> {
    if (!this.owned || this.redis.status === 'end') return;
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit();
  }
}

const CONNECTION_ERROR =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|max retries per request|Reached the max retries/i;

/**
 * Translates anything a call threw into a ScoreqError, once, at the client's edge: ScoreqErrors
 * pass through, connection failures become REDIS_UNAVAILABLE, the rest INTERNAL.
 */
export function toScoreqError(err: unknown): ScoreqError {
  if (err instanceof ScoreqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (CONNECTION_ERROR.test(message) || (typeof code === 'string' && CONNECTION_ERROR.test(code))) return unavailable(`Redis is unavailable: ${message}`);
  return new ScoreqError('INTERNAL', message, { errorName: err instanceof Error ? err.name : typeof err });
}

function unavailable(message: string): ScoreqError {
  return new ScoreqError('REDIS_UNAVAILABLE', message);
}
