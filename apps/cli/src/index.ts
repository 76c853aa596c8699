/**
 * The `scoreq` command-line launcher (bin `scoreq`, entry `main.ts`). This entry point
 * exports only the pieces other tools and tests reuse — finding or starting a Redis and
 * removing a key prefix — so importing it does not load the worker or onnxruntime.
 *
 * @example
 * ```ts
 * import { ensureRedis } from '@scoreq/cli';
 * import { createLogger } from '@scoreq/telemetry';
 *
 * const redis = await ensureRedis({ url: process.env.REDIS_URL, logger: createLogger() });
 * try {
 *   console.log(`Redis at ${redis.url}${redis.started ? ' (private)' : ''}`);
 * } finally {
 *   await redis.stop();
 * }
 * ```
 */
export { ensureRedis } from './redis/ensure-redis.js';
export type { EnsureRedisOptions, RedisHandle } from './redis/ensure-redis.js';
export { pingRedis, redactUrl, requireRedis } from './redis/ping.js';
export { deleteKeysWithPrefix } from './redis/delete-prefix.js';
