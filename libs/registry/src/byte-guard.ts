import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { keys } from '@scoreq/contracts';
import type { Logger } from '@scoreq/telemetry';

export interface ByteGuardOptions {
  /**
   * How long a mark outlives a holder that stopped renewing it (a process that died), in ms.
   * A live holder renews its marks every third of this, however long its work takes.
   * @defaultValue {@link DEFAULT_MARK_TTL_MS}
   */
  markTtlMs?: number;
  /** Where a failed renewal is reported (the next one tries again). */
  logger: Logger;
}

/** Default {@link ByteGuardOptions.markTtlMs}: a crashed holder's mark is gone within 30 s. */
export const DEFAULT_MARK_TTL_MS = 30_000;
/** Pause between looks while a push waits for a deletion of its bytes to end (rare: same bytes, same moment). */
const WAIT_STEP_MS = 20;

/**
 * For each sha256 (ARGV) whose push mark (KEYS[i + 1]) exists, adds it to the skipped set
 * (KEYS[1]), else removes it from that set; returns 1 for each sha256 no push is storing. One
 * script, so no deletion can drop a sha256 another deletion has just added because of a push.
 */
const SORT_BY_PUSH = `
local deletable = {}
for i, sha in ipairs(ARGV) do
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    redis.call('SADD', KEYS[1], sha)
    deletable[i] = 0
  else
    redis.call('SREM', KEYS[1], sha)
    deletable[i] = 1
  end
end
return deletable
`;

/**
 * Keeps byte deletion, in any process, from removing bytes a push has stored but not yet
 * recorded. A handshake through Redis, which runs commands one at a time: a push marks the
 * sha256 as being pushed, then waits while a deletion of it is marked; a deletion marks the
 * sha256 as being deleted, then leaves alone any sha256 marked as being pushed, and reads the
 * records only after that. Whichever marks second sees the other's mark. Marks are sets of
 * tokens, so concurrent pushes (or deletions) of the same bytes do not clear each other's.
 *
 * Marks expire unless renewed, and their holders renew them while they work: a process that
 * dies leaves a mark for one TTL at most. Bytes a deletion skipped because of a push are kept
 * in a set that every later deletion looks at again, so the bytes of a push that died before
 * recording its version are collected by the next deletion after its mark expired.
 */
export class ByteGuard {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof keys>;
  private readonly markTtlMs: number;
  private readonly logger: Logger;

  /** `redis` is the caller's connection; the guard never closes it. */
  constructor(redis: Redis, prefix: string, options: ByteGuardOptions) {
    this.redis = redis;
    this.keys = keys(prefix);
    this.markTtlMs = options.markTtlMs ?? DEFAULT_MARK_TTL_MS;
    this.logger = options.logger;
  }

  /**
   * Marks a push of these bytes and resolves once no deletion of them is under way. Call the
   * returned function once the version is recorded (or the push failed) to clear the mark;
   * until then it is renewed.
   */
  async beginPush(sha256: string): Promise<() => Promise<void>> {
    const end = await this.hold([this.keys.modelBytesPushing(sha256)]);
    try {
      while ((await this.redis.exists(this.keys.modelBytesDeleting(sha256))) === 1) await delay(WAIT_STEP_MS);
    } catch (err) {
      await end();
      throw err;
    }
    return end;
  }

  /**
   * Runs `step` with these sha256s, and those earlier deletions skipped, marked as being
   * deleted, giving it those no push is storing; `step` must read which versions reference
   * them only then. Clears the marks after. Does nothing when there is nothing to look at.
   */
  async deleting(shas: string[], step: (deletable: string[]) => Promise<void>): Promise<void> {
    const skipped = this.keys.modelBytesSkipped();
    const candidates = [...new Set([...shas, ...(await this.redis.smembers(skipped))])];
    if (candidates.length === 0) return;
    const end = await this.hold(candidates.map((sha) => this.keys.modelBytesDeleting(sha)));
    try {
      const pushKeys = candidates.map((sha) => this.keys.modelBytesPushing(sha));
      const deletable = (await this.redis.eval(SORT_BY_PUSH, pushKeys.length + 1, skipped, ...pushKeys, ...candidates)) as number[];
      await step(candidates.filter((_, i) => deletable[i] === 1));
    } finally {
      await end();
    }
  }

  /**
   * Adds one token to each key's set and renews the keys every third of the TTL until the
   * returned function takes the token out again. The timer is unref'd: a held mark never keeps
   * the process alive.
   */
  private async hold(markKeys: string[]): Promise<() => Promise<void>> {
    const token = randomUUID();
    const mark = async (): Promise<void> => {
      const tx = this.redis.multi();
      // SADD too, not only PEXPIRE: a renewal after a stall longer than the TTL puts the mark back.
      for (const key of markKeys) tx.sadd(key, token).pexpire(key, this.markTtlMs);
      const failed = (await tx.exec())?.find(([err]) => err !== null);
      if (failed) throw failed[0];
    };
    await mark();
    let renewing = Promise.resolve();
    const timer = setInterval(
      () => {
        renewing = mark().catch((err: unknown) => this.logger.warn({ err, keys: markKeys }, 'registry: could not renew a model byte mark; trying again'));
      },
      Math.max(1, Math.floor(this.markTtlMs / 3)),
    );
    timer.unref();
    return async () => {
      clearInterval(timer);
      // A renewal under way would put the token back after the SREM.
      await renewing;
      const tx = this.redis.multi();
      for (const key of markKeys) tx.srem(key, token);
      const failed = (await tx.exec())?.find(([err]) => err !== null);
      if (failed) throw failed[0];
    };
  }
}
