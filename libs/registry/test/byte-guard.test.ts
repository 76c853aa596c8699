/**
 * The byte guard's marks on real Redis, with a short TTL so that holding a mark through
 * several TTLs takes a second: a mark is renewed while its holder works, however long that
 * takes; it is gone once the holder ends; a holder that can no longer renew (a dead process)
 * leaves a mark that expires on its own within one TTL.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { deleteKeysUnder, keys } from '@scoreq/contracts';
import { createLogger } from '@scoreq/telemetry';
import { ByteGuard } from '../src/byte-guard.js';

const redis = new Redis(process.env.REDIS_URL || 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefixes: string[] = [];
/** Short enough that three TTLs pass in a test, long enough that a renewal (every TTL/3) never misses on a busy machine. */
const TTL_MS = 400;
const logger = createLogger({ level: 'silent', service: 'byte-guard-test' });

after(async () => {
  for (const prefix of prefixes) await deleteKeysUnder(redis, prefix);
  await redis.quit();
});

function setup(): { guard: ByteGuard; k: ReturnType<typeof keys>; prefix: string; sha: string } {
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  const sha = randomUUID().replaceAll('-', '').padEnd(64, '0');
  return { guard: new ByteGuard(redis, prefix, { markTtlMs: TTL_MS, logger }), k: keys(prefix), prefix, sha };
}

test('a deletion mark is renewed for as long as its deletion runs, past several TTLs, and cleared when it ends', async () => {
  const { guard, k, sha } = setup();
  let ran = false;
  await guard.deleting([sha], async (deletable) => {
    assert.deepEqual(deletable, [sha]);
    await delay(3 * TTL_MS);
    assert.equal(await redis.exists(k.modelBytesDeleting(sha)), 1, 'still marked after three TTLs');
    ran = true;
  });
  assert.equal(ran, true);
  assert.equal(await redis.exists(k.modelBytesDeleting(sha)), 0, 'cleared once the deletion ended');
});

test('a push mark is renewed until the push ends, past several TTLs, and cleared then', async () => {
  const { guard, k, sha } = setup();
  const end = await guard.beginPush(sha);
  await delay(3 * TTL_MS);
  assert.equal(await redis.exists(k.modelBytesPushing(sha)), 1, 'still marked after three TTLs');
  await end();
  assert.equal(await redis.exists(k.modelBytesPushing(sha)), 0);
});

test('a push of bytes whose deletion outlasts the TTL keeps waiting until the deletion ends', async () => {
  const { guard, prefix, sha } = setup();
  const pusher = new ByteGuard(redis, prefix, { markTtlMs: TTL_MS, logger });
  const events: string[] = [];
  let pushed: Promise<() => Promise<void>> | undefined;
  await guard.deleting([sha], async () => {
    pushed = pusher.beginPush(sha).then((end) => (events.push('push went ahead'), end));
    await delay(3 * TTL_MS);
    events.push('deletion ended');
  });
  const end = await pushed!;
  assert.deepEqual(events, ['deletion ended', 'push went ahead']);
  await end();
});

test('a holder that can no longer renew (a dead process) leaves a mark that expires on its own within one TTL', async () => {
  const { prefix, k, sha } = setup();
  // Once cut, its renewals fail at once instead of queueing for a reconnection.
  const connection = redis.duplicate({ maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  await new Promise((resolve) => connection.once('ready', resolve));
  const dying = new ByteGuard(connection, prefix, { markTtlMs: TTL_MS, logger });
  await dying.beginPush(sha);
  connection.disconnect();
  const ttl = await redis.pttl(k.modelBytesPushing(sha));
  assert.ok(ttl > 0 && ttl <= TTL_MS, `the mark expires within the TTL (PTTL ${ttl} ms)`);
  while ((await redis.exists(k.modelBytesPushing(sha))) === 1) await delay(TTL_MS / 4);
});

test('a deletion skips bytes being pushed and remembers them; a later deletion with no bytes of its own looks at them again', async () => {
  const { guard, k, sha } = setup();
  const end = await guard.beginPush(sha);
  const seen: string[][] = [];
  await guard.deleting([sha], async (deletable) => void seen.push(deletable));
  assert.deepEqual(await redis.smembers(k.modelBytesSkipped()), [sha], 'skipped for the push, and remembered');

  await guard.deleting([], async (deletable) => void seen.push(deletable));
  assert.deepEqual(await redis.smembers(k.modelBytesSkipped()), [sha], 'still skipped while the push holds its mark');

  await end();
  await guard.deleting([], async (deletable) => void seen.push(deletable));
  assert.deepEqual(seen, [[], [], [sha]], 'offered for deletion once the push ended');
  assert.equal(await redis.exists(k.modelBytesSkipped()), 0, 'and no longer remembered');
});
