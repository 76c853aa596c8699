import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { keys, ScoreqError } from '@scoreq/contracts';

// Sets the lock only if it still holds `expected` (compare-and-set).
const TAKE_OVER_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;
const RENEW_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`;
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * One producer per run: two processes writing one output file would interleave it. The lock is
 * a key with a TTL, renewed with the heartbeat, holding `host:pid:nonce`. A producer killed
 * outright leaves it behind until it expires, except that a process on the same host whose
 * holder is dead takes it over at once, so "kill it, run the same command again" just works.
 */
export class ProducerLock {
  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly holder: string,
    private readonly ttlMs: number,
  ) {}

  /** @throws ScoreqError RUN_BUSY when another live process produces the run. */
  static async acquire(redis: Redis, prefix: string, runId: string, ttlMs: number): Promise<ProducerLock> {
    const key = `${keys(prefix).run(runId)}:producer`;
    const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const lock = new ProducerLock(redis, key, holder, ttlMs);
    if ((await redis.set(key, holder, 'PX', ttlMs, 'NX')) === 'OK') return lock;
    const current = await redis.get(key);
    if (current !== null && isDeadLocalHolder(current)) {
      if ((await redis.eval(TAKE_OVER_SCRIPT, 1, key, current, holder, String(ttlMs))) === 1) return lock;
    } else if (current === null && (await redis.set(key, holder, 'PX', ttlMs, 'NX')) === 'OK') {
      return lock;
    }
    const ttl = await redis.pttl(key);
    const who = (current ?? 'another process').split(':').slice(0, 2).join(':');
    throw new ScoreqError(
      'RUN_BUSY',
      `run ${runId} is being produced by ${who}${ttl > 0 ? ` (its lock expires in ${Math.ceil(ttl / 1000)} s unless renewed)` : ''}: wait for it, cancel it, or use another --id`,
      { holder: current },
    );
  }

  /** Extends the lock; false if it was lost (expired and taken by another producer). */
  async renew(): Promise<boolean> {
    return (await this.redis.eval(RENEW_SCRIPT, 1, this.key, this.holder, String(this.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.key, this.holder);
  }
}

/** Whether a lock value names a process on this host that no longer exists. */
function isDeadLocalHolder(value: string): boolean {
  const [host, pid] = value.split(':');
  if (host !== hostname() || pid === undefined || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
