import type { Redis } from 'ioredis';
import { keys, now } from '@scoreq/contracts';
import { parseRunState, RUN_STATE_TTL_SEC, runStateFields, type RunState, type RunStatus } from '@scoreq/client';

// Creates the hash only if no run has the id yet.
const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`;

// Ends a running run: a run cancelled meanwhile stays cancelled. ARGV: ttl, then field/value pairs.
const FINISH_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1`;

// Claims the announcement of a run's finish: only for a run that has ended, and only once
// (HSETNX), so that producers, resumes and cancellers racing to announce it announce it once.
const CLAIM_NOTICE_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'running' then return 0 end
return redis.call('HSETNX', KEYS[1], 'finishNotice', ARGV[1])`;

// Gives a claim back (the announcement failed), if it is still ours.
const RELEASE_NOTICE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'finishNotice') ~= ARGV[1] then return 0 end
return redis.call('HDEL', KEYS[1], 'finishNotice')`;

/** Hash field that records that a run's finish was announced (not part of {@link RunState}). */
const NOTICE_FIELD = 'finishNotice';

/**
 * The run hash at `keys(prefix).run(id)`, as the producer writes it. Its fields and their
 * encoding are {@link RunState} in `@scoreq/client`, which reads it for `runs.status`;
 * this store is the only writer apart from `runs.cancel` (which only moves `status`).
 */
export class RunStateStore {
  private readonly key: (id: string) => string;
  private readonly chunkKey: (jobId: string) => string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = keys(prefix).run;
    this.chunkKey = keys(prefix).chunkResult;
  }

  async load(id: string): Promise<RunState | null> {
    const hash = await this.redis.hgetall(this.key(id));
    return Object.keys(hash).length === 0 ? null : parseRunState(id, hash);
  }

  /** Writes a new run's state; false when a run with that id already exists. */
  async create(state: RunState): Promise<boolean> {
    const fields = Object.entries(runStateFields(state)).flat();
    return (await this.redis.eval(CREATE_SCRIPT, 1, this.key(state.id), ...fields)) === 1;
  }

  /** Deletes the state of a run that never got going (its set-up failed after `create`). */
  async discard(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  /**
   * Starts a new producer session of an existing run: status back to running (a failed run may
   * be resumed), its error and end time cleared, and no expiry while it runs.
   */
  async resume(id: string, fields: Partial<RunState>): Promise<void> {
    const replies = await this.redis
      .multi()
      .hdel(this.key(id), 'error', 'finishedAt', NOTICE_FIELD)
      .hset(this.key(id), runStateFields({ ...fields, status: 'running' }))
      .persist(this.key(id))
      .exec();
    const failed = replies?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async update(id: string, fields: Partial<RunState>): Promise<void> {
    await this.redis.hset(this.key(id), runStateFields(fields));
  }

  /**
   * Records a written chunk's position and removes its chunk result, in one transaction:
   * after a crash the position never points past bytes that were not written, and a result
   * is never deleted before its chunk is recorded.
   */
  async chunkWritten(id: string, fields: Partial<RunState>, consumedJobId: string | undefined): Promise<void> {
    const multi = this.redis.multi().hset(this.key(id), runStateFields({ ...fields, heartbeatAt: Math.round(now()) }));
    if (consumedJobId !== undefined) multi.unlink(this.chunkKey(consumedJobId));
    const replies = await multi.exec();
    const failed = replies?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  /**
   * Moves a running run to its final status and lets its state expire after `ttlSec`.
   * @returns false when the run was no longer running (cancelled meanwhile).
   */
  async finish(id: string, status: Exclude<RunStatus, 'running'>, fields: Partial<RunState>, ttlSec = RUN_STATE_TTL_SEC): Promise<boolean> {
    const pairs = Object.entries(runStateFields({ ...fields, status, finishedAt: Math.round(now()) })).flat();
    return (await this.redis.eval(FINISH_SCRIPT, 1, this.key(id), String(ttlSec), ...pairs)) === 1;
  }

  /**
   * Claims the one announcement of a run's finish (`token` says which finish, e.g.
   * `completed:<finishedAt>`). A resumed failed run is a new session: `resume` clears the claim.
   * @returns false when the run is still running, gone, or its finish was claimed already.
   */
  async claimFinishNotice(id: string, token: string): Promise<boolean> {
    return (await this.redis.eval(CLAIM_NOTICE_SCRIPT, 1, this.key(id), token)) === 1;
  }

  /** Gives a claim back after the announcement failed, so a later attempt may make it. */
  async releaseFinishNotice(id: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_NOTICE_SCRIPT, 1, this.key(id), token);
  }

  async status(id: string): Promise<RunStatus | null> {
    return (await this.redis.hget(this.key(id), 'status')) as RunStatus | null;
  }
}
