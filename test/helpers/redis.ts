import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Redis of the test run: env REDIS_URL, else the local default. */
export function redisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/**
 * A fresh key prefix, `test-<uuid8>`, for one test file: every key a test makes (BullMQ's
 * and scoreq's) lives under it, so `cleanupPrefix` removes exactly what the test made.
 */
export function testPrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}

/**
 * Removes every key under `<prefix>:` with SCAN and UNLINK in batches (never FLUSHDB: other
 * tests and services share the Redis). Close the Queues, Workers and QueueEvents using the
 * prefix first, or they may write keys again. Returns the number of keys removed.
 */
export async function cleanupPrefix(redis: Redis, prefix: string): Promise<number> {
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  let cursor = '0';
  let removed = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) removed += await redis.unlink(...found);
  } while (cursor !== '0');
  return removed;
}
