import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { keys } from '@scoreq/contracts';

/** How long a push's mark outlives a process that died before clearing it: longer than any put and commit. */
const PUSH_MARK_MS = 10 * 60_000;
/** How long a deletion's mark outlives a process that died before clearing it. */
const DELETE_MARK_MS = 30_000;
/** Pause between looks while a push waits for a deletion of its bytes to end (rare: same bytes, same moment). */
const WAIT_STEP_MS = 20;

/**
 * Keeps byte deletion, in any process, from removing bytes a push has stored but not yet
 * recorded. A handshake through Redis, which runs commands one at a time: a push marks the
 * sha256 as being pushed, then waits while a deletion of it is marked; a deletion marks the
 * sha256 as being deleted, then leaves alone any sha256 marked as being pushed, and reads the
 * records only after that. Whichever marks second sees the other's mark. Marks are sets of
 * tokens, so concurrent pushes (or deletions) of the same bytes do not clear each other's.
 */
export class ByteGuard {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof keys>;

  /** `redis` is the caller's connection; the guard never closes it. */
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.keys = keys(prefix);
  }

  /**
   * Marks a push of these bytes and resolves once no deletion of them is under way. Call the
   * returned function once the version is recorded (or the push failed) to clear the mark.
   */
  async beginPush(sha256: string): Promise<() => Promise<void>> {
    const end = await this.mark(this.keys.modelBytesPushing(sha256), PUSH_MARK_MS);
    try {
      while ((await this.redis.exists(this.keys.modelBytesDeleting(sha256))) === 1) await delay(WAIT_STEP_MS);
    } catch (err) {
      await end();
      throw err;
    }
    return end;
  }

  /**
   * Runs `step` with these sha256s marked as being deleted, giving it those no push is storing;
   * `step` must read which versions reference them only then. Clears the marks after.
   */
  async deleting(shas: string[], step: (deletable: string[]) => Promise<void>): Promise<void> {
    const ends = await Promise.all(shas.map((sha) => this.mark(this.keys.modelBytesDeleting(sha), DELETE_MARK_MS)));
    try {
      const pushing = await Promise.all(shas.map((sha) => this.redis.exists(this.keys.modelBytesPushing(sha))));
      await step(shas.filter((_, i) => pushing[i] === 0));
    } finally {
      await Promise.all(ends.map((end) => end()));
    }
  }

  private async mark(key: string, ttlMs: number): Promise<() => Promise<void>> {
    const token = randomUUID();
    const replies = await this.redis.multi().sadd(key, token).pexpire(key, ttlMs).exec();
    const failed = replies?.find(([err]) => err !== null);
    if (failed) throw failed[0];
    return async () => {
      await this.redis.srem(key, token);
    };
  }
}
