import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { apiError } from './errors.js';

/**
 * Requests per API key per minute, counted in Redis so every API instance shares the count.
 * Requests without a key (SCOREQ_AUTH=off, public routes) are counted per client address.
 * Runs after authentication: the route-level hook the plugin adds follows the app's own.
 */
export async function registerRateLimit(app: FastifyInstance, options: { perMinute: number; redis: Redis; prefix: string }): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: 60_000,
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
