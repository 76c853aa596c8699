/**
 * deleteKeysUnder on real Redis: the one way scoreq (demo, bench, tests) removes what it made
 * under a prefix, leaving every other key of a shared Redis alone.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { deleteKeysUnder } from '@scoreq/contracts';
import { redisUrl, testPrefix } from './helpers/redis.js';

const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
const base = testPrefix();
after(async () => {
  await redis.del(`${base}[1]`, `${base}x:kept`, `${base}1:kept`);
  await redis.quit();
});

test('every key under <prefix>: goes, in batches; a prefix with glob characters matches only itself', async () => {
  const prefix = `${base}[1]`;
  const under = Array.from({ length: 2_500 }, (_, i) => `${prefix}:k${i}`);
  for (let i = 0; i < under.length; i += 500) await redis.mset(...under.slice(i, i + 500).flatMap((k) => [k, '1']));
  // Keys a careless pattern would also match: the bare prefix, a longer prefix, and what `[1]` means as a glob.
  await redis.mset(prefix, 'kept', `${base}x:kept`, 'kept', `${base}1:kept`, 'kept');

  assert.equal(await deleteKeysUnder(redis, prefix), under.length);
  assert.equal(await redis.exists(...under.slice(0, 100)), 0);
  assert.equal(await redis.exists(prefix, `${base}x:kept`, `${base}1:kept`), 3, 'keys outside the prefix stay');
  assert.equal(await deleteKeysUnder(redis, prefix), 0, 'nothing left to remove');
});
