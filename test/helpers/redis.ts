import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { deleteKeysUnder } from '@scoreq/contracts';

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
export function cleanupPrefix(redis: Redis, prefix: string): Promise<number> {
  return deleteKeysUnder(redis, prefix);
}
