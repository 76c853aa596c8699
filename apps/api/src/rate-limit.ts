import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { apiError } from './errors.js';

const WINDOW_MS = 60_000;

/**
 * Requests per API key per minute, counted in Redis so every API instance shares the count.
 * Requests without a key (SCOREQ_AUTH=off, public routes) are counted per client address.
 * Runs after authentication: the route-level hook the plugin adds follows the app's own.
 * Requests whose key is refused never get here: {@link UnauthenticatedLimiter} counts those.
 */
export async function registerRateLimit(app: FastifyInstance, options: { perMinute: number; redis: Redis; prefix: string }): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: WINDOW_MS,
    redis: options.redis,
    nameSpace: `${options.prefix}:rate-limit:`,
    keyGenerator: (request) => (request.principal?.keyId ? `key:${request.principal.keyId}` : `ip:${request.ip}`),
    errorResponseBuilder: (request, context) =>
      apiError(
        'RATE_LIMITED',
        `${request.principal?.keyId ? `API key ${request.principal.keyId}` : `client ${request.ip}`} made more than ${context.max} requests this minute; retry in ${context.after}`,
        { limit: context.max, retryAfterSec: Math.ceil(context.ttl / 1000) },
      ),
  });
}

/** Counts a refusal in a one-minute window: the count so far and the ms left in the window. */
const COUNT_REFUSAL = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { n, redis.call('PTTL', KEYS[1]) }`;

/** Most blocked addresses remembered before expired ones are swept. */
const SWEEP_ABOVE = 1_000;

/**
 * Requests without a valid API key (missing, malformed, wrong or revoked), per client address
 * per minute, counted in Redis across API instances. Once an address is over the limit, its
 * requests answer 429 before their key is even looked at, valid or not, until its minute
 * ends: guessing keys goes no faster than the limit.
 *
 * Blocked addresses are remembered in this instance, so a request with a valid key costs no
 * extra Redis call; an instance that has not yet seen an address go over learns it from the
 * next refusal it counts.
 */
export class UnauthenticatedLimiter {
  /** Address → epoch ms its window ends, for addresses this instance saw go over the limit. */
  private readonly blocked = new Map<string, number>();

  constructor(private readonly options: { perMinute: number; redis: Redis; prefix: string }) {}

  /** @throws ScoreqError RATE_LIMITED (Retry-After set) while `ip` is over its limit. */
  assertAllowed(ip: string, reply: FastifyReply): void {
    const until = this.blocked.get(ip);
    if (until === undefined) return;
    const leftMs = until - Date.now();
    if (leftMs > 0) throw this.limited(ip, leftMs, reply);
    this.blocked.delete(ip);
  }

  /**
   * Counts one request from `ip` whose key was refused.
   *
   * @throws ScoreqError RATE_LIMITED (Retry-After set) when it puts `ip` over the limit.
   */
  async countRefusal(ip: string, reply: FastifyReply): Promise<void> {
    const key = `${this.options.prefix}:rate-limit:unauthenticated:${ip}`;
    const [count, ttlMs] = (await this.options.redis.eval(COUNT_REFUSAL, 1, key, WINDOW_MS)) as [number, number];
    if (count <= this.options.perMinute) return;
    const leftMs = ttlMs > 0 ? ttlMs : WINDOW_MS;
    this.block(ip, Date.now() + leftMs);
    throw this.limited(ip, leftMs, reply);
  }

  private block(ip: string, until: number): void {
    if (this.blocked.size >= SWEEP_ABOVE) {
      const now = Date.now();
      for (const [address, end] of this.blocked) if (end <= now) this.blocked.delete(address);
    }
    this.blocked.set(ip, until);
  }

  private limited(ip: string, leftMs: number, reply: FastifyReply): Error {
    const retryAfterSec = Math.ceil(leftMs / 1000);
    reply.header('retry-after', String(retryAfterSec));
    return apiError(
      'RATE_LIMITED',
      `client ${ip} made more than ${this.options.perMinute} requests without a valid API key this minute; retry in ${retryAfterSec} s with a valid key`,
      { limit: this.options.perMinute, retryAfterSec },
    );
  }
}
