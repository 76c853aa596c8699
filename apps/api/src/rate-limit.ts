import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import ipaddr from 'ipaddr.js';
import { apiError } from './errors.js';

const WINDOW_MS = 60_000;

/**
 * Requests per API key per minute, counted in Redis so every API instance shares the count.
 * Requests without a key (SCOREQ_AUTH=off, public routes) are counted per client address.
 * Runs after authentication: the route-level hook the plugin adds follows the app's own.
 * Requests whose key is refused never get here: {@link UnauthenticatedLimiter} counts those.
 * Behind a proxy, `request.ip` is the client's only with SCOREQ_TRUST_PROXY set.
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

/**
 * Most blocked clients one instance remembers; past it the oldest entry goes. Every block
 * lasts at most a minute, so the oldest entry is also the first to end.
 */
export const MAX_BLOCKED = 10_000;

/**
 * Requests with a refused API key (missing, malformed, wrong or revoked), per client per
 * minute, counted in Redis across API instances. A client is an IPv4 address, or the /64 of an
 * IPv6 address (one holder of a /64 can use any address in it). Over the limit, its refused
 * requests answer 429 until its minute ends: guessing keys goes no faster than the limit. A
 * valid key is never refused here, so a client sharing an address with a guesser (behind a
 * proxy or NAT) is not locked out; keys carry a 192-bit secret, so blocking valid keys would
 * protect nothing.
 *
 * Blocked clients are remembered in this instance, so their further refusals cost no Redis
 * call; an instance that has not yet seen a client go over learns it from the next refusal it
 * counts.
 */
export class UnauthenticatedLimiter {
  /** Client → epoch ms its window ends, for clients this instance saw go over the limit; oldest first. */
  private readonly blocked = new Map<string, number>();

  constructor(private readonly options: { perMinute: number; redis: Redis; prefix: string }) {}

  /**
   * Counts one request from `ip` whose key was refused; a client this instance knows is
   * blocked is answered without counting.
   *
   * @throws ScoreqError RATE_LIMITED (Retry-After set) while the client of `ip` is over its limit.
   */
  async countRefusal(ip: string, reply: FastifyReply): Promise<void> {
    const client = clientOf(ip);
    const leftMs = this.blockedFor(client);
    if (leftMs > 0) throw this.limited(client, leftMs, reply);
    const key = `${this.options.prefix}:rate-limit:unauthenticated:${client}`;
    const [count, ttlMs] = (await this.options.redis.eval(COUNT_REFUSAL, 1, key, WINDOW_MS)) as [number, number];
    if (count <= this.options.perMinute) return;
    const windowLeftMs = ttlMs > 0 ? ttlMs : WINDOW_MS;
    this.block(client, Date.now() + windowLeftMs);
    throw this.limited(client, windowLeftMs, reply);
  }

  /** Ms until `client` may be counted again; 0 when this instance knows no block of it. */
  private blockedFor(client: string): number {
    const until = this.blocked.get(client);
    if (until === undefined) return 0;
    const leftMs = until - Date.now();
    if (leftMs <= 0) this.blocked.delete(client);
    return Math.max(0, leftMs);
  }

  private block(client: string, until: number): void {
    // Re-inserted so the Map's insertion order stays the order blocks end in.
    this.blocked.delete(client);
    this.blocked.set(client, until);
    if (this.blocked.size > MAX_BLOCKED) this.blocked.delete(this.blocked.keys().next().value!);
  }

  private limited(client: string, leftMs: number, reply: FastifyReply): Error {
    const retryAfterSec = Math.ceil(leftMs / 1000);
    reply.header('retry-after', String(retryAfterSec));
    return apiError(
      'RATE_LIMITED',
      `client ${client} made more than ${this.options.perMinute} requests without a valid API key this minute; retry in ${retryAfterSec} s with a valid key`,
      { limit: this.options.perMinute, retryAfterSec },
    );
  }
}

/**
 * What refusals are counted against: an IPv4 address (IPv4-mapped IPv6 too) as itself, an IPv6
 * address as its /64, e.g. `2001:db8:1:2::/64`. Anything unparsable is taken as it is.
 */
export function clientOf(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  return `${ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/64`).toString()}/64`;
}
