import type { Redis } from 'ioredis';
import { keys, ScoreqError, type ModelAliasMove, type ModelEvent, type ModelRecord } from '@scoreq/contracts';

/** What a change sees: the record (null when the model does not exist), its counter and history. */
export interface RecordState {
  record: ModelRecord | null;
  /** Highest version number ever given to the model (0 for none). */
  seq: number;
  /** Alias moves, newest first; empty unless the change asked for history. */
  history: ModelAliasMove[];
}

/** What a change writes, all in one MULTI/EXEC with its event. */
export interface RecordChange<T> {
  /** The new record; null deletes the record and the model's name from the set of models. */
  record: ModelRecord | null;
  /** New value of the version counter, when the change gave out a number. */
  seq?: number;
  /** Alias moves to append to the history, oldest first. */
  moves?: ModelAliasMove[];
  event: Omit<ModelEvent, 'model'>;
  /** What `update` resolves to once the change is stored. */
  result: T;
}

/**
 * Reads and changes model records in Redis. Every change is one optimistic transaction:
 * WATCH the record and counter, read, compute, MULTI (record + history + event) EXEC, and
 * try again when another process changed the record in between.
 *
 * WATCH belongs to a connection and any EXEC on it forgets what was watched, so transactions
 * run on a connection of their own (a duplicate of the caller's, opened on first change and
 * closed by `close()`), one at a time per instance.
 */
export class ModelRecords {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof keys>;
  private readonly maxAttempts: number;
  private tx: Redis | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(redis: Redis, prefix: string, maxAttempts: number) {
    this.redis = redis;
    this.keys = keys(prefix);
    this.maxAttempts = maxAttempts;
  }

  /** Closes the transaction connection, after the changes queued so far. Idempotent. */
  async close(): Promise<void> {
    await this.tail;
    const tx = this.tx;
    this.tx = undefined;
    if (tx) await tx.quit().catch(() => tx.disconnect());
  }

  async read(name: string): Promise<ModelRecord | null> {
    return parseRecord(await this.redis.get(this.keys.model(name)));
  }

  /** Every model's record, sorted by name (records deleted meanwhile are left out). */
  async readAll(): Promise<ModelRecord[]> {
    const names = (await this.redis.smembers(this.keys.models())).sort();
    if (names.length === 0) return [];
    const texts = await this.redis.mget(...names.map((n) => this.keys.model(n)));
    return texts.map(parseRecord).filter((r): r is ModelRecord => r !== null);
  }

  /** Alias moves, newest first. */
  async history(name: string): Promise<ModelAliasMove[]> {
    return (await this.redis.lrange(this.keys.modelHistory(name), 0, -1)).map(parseMove);
  }

  /**
   * Applies `plan` to the current state atomically. `plan` may run several times (once per
   * attempt) and must not have side effects; it throws to refuse the change, which then
   * writes nothing.
   */
  update<T>(name: string, plan: (state: RecordState) => RecordChange<T>, options: { history?: boolean } = {}): Promise<T> {
    const run = this.tail.then(() => this.transact(name, plan, options.history === true));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async transact<T>(name: string, plan: (state: RecordState) => RecordChange<T>, withHistory: boolean): Promise<T> {
    const k = this.keys;
    this.tx ??= this.redis.duplicate();
    const tx = this.tx;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      await tx.watch(k.model(name), k.modelSeq(name));
      let change: RecordChange<T>;
      try {
        const [text, seq, history] = await Promise.all([
          tx.get(k.model(name)),
          tx.get(k.modelSeq(name)),
          withHistory ? tx.lrange(k.modelHistory(name), 0, -1) : Promise.resolve([]),
        ]);
        change = plan({ record: parseRecord(text), seq: Number(seq ?? 0), history: history.map(parseMove) });
      } catch (err) {
        await tx.unwatch();
        throw err;
      }
      const multi = tx.multi();
      if (change.record === null) multi.del(k.model(name)).srem(k.models(), name);
      else multi.set(k.model(name), JSON.stringify(change.record)).sadd(k.models(), name);
      if (change.seq !== undefined) multi.set(k.modelSeq(name), String(change.seq));
      for (const move of change.moves ?? []) multi.lpush(k.modelHistory(name), JSON.stringify(move));
      multi.publish(k.modelEvents(), JSON.stringify({ model: name, ...change.event } satisfies ModelEvent));
      const replies = await multi.exec();
      if (replies === null) {
        // Another process changed the record after WATCH: nothing was written; read again.
        await backoff(attempt);
        continue;
      }
      const failed = replies.find(([err]) => err !== null);
      if (failed) throw failed[0];
      return change.result;
    }
    throw new ScoreqError('REGISTRY_CONFLICT', `model '${name}' changed concurrently ${this.maxAttempts} times in a row; nothing was changed, try again`, {
      model: name,
    });
  }
}

function parseRecord(text: string | null): ModelRecord | null {
  return text === null ? null : (JSON.parse(text) as ModelRecord);
}

function parseMove(text: string): ModelAliasMove {
  return JSON.parse(text) as ModelAliasMove;
}

/** A few ms, growing and jittered, so racing writers stop colliding. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 * attempt);
  return new Promise((resolve) => setTimeout(resolve, ms));
}
