/**
 * The per-address limiter of refused API keys on real Redis: what it remembers of blocked
 * clients is bounded, oldest forgotten first, and a forgotten client is still refused (its
 * count lives in Redis).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import type { FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import { deleteKeysUnder } from '@scoreq/contracts';
import { MAX_BLOCKED, UnauthenticatedLimiter } from '../src/rate-limit.js';

const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `test-${randomUUID().slice(0, 8)}`;

after(async () => {
  await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

/** Only the Retry-After header is written to the reply. */
const reply = { header: () => reply } as unknown as FastifyReply;
const address = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const countOf = async (ip: string): Promise<string | null> => redis.get(`${prefix}:rate-limit:unauthenticated:${ip}`);

async function refuse(limiter: UnauthenticatedLimiter, ip: string): Promise<void> {
  await assert.rejects(limiter.countRefusal(ip, reply), (err: { code?: string }) => err.code === 'RATE_LIMITED');
}

test(`the limiter remembers at most ${MAX_BLOCKED} blocked clients, forgetting the oldest first; a forgotten one is counted in Redis again and still refused`, async () => {
  // With a limit of 0 every refusal blocks its client.
  const limiter = new UnauthenticatedLimiter({ perMinute: 0, redis, prefix });
  await refuse(limiter, address(0));
  await refuse(limiter, address(1));
  // Blocked again while remembered: answered without a Redis count.
  await refuse(limiter, address(0));
  assert.equal(await countOf(address(0)), '1');
  for (let from = 2; from <= MAX_BLOCKED; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, MAX_BLOCKED + 1 - from) }, (_, k) => refuse(limiter, address(from + k)));
    await Promise.all(batch);
  }
  // MAX_BLOCKED + 1 clients were blocked: the oldest, address 0, is forgotten and counted again.
  await refuse(limiter, address(0));
  assert.equal(await countOf(address(0)), '2');
  // The newest are still remembered.
  await refuse(limiter, address(MAX_BLOCKED));
  assert.equal(await countOf(address(MAX_BLOCKED)), '1');
});
