import type { Redis } from 'ioredis';
import { keys, type ChunkResult, type JobRecord } from '@scoreq/contracts';
import { recordJson } from './record-json.js';

/** SET key value EX ttl for each (KEYS[i], ARGV[i], ARGV[n + i]): one command for a whole batch. */
const SET_MANY = `
local n = #KEYS
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[i], 'EX', ARGV[n + i])
end
return n`;

interface PendingWrite {
  key: string;
  value: string;
  ttlSec: number;
  done: { resolve: () => void; reject: (err: unknown) => void };
}

/**
 * Name of the script command that writes a batch of records. It is sent once per batch, so
 * the result connection leaves it out of auto-pipelining, whose per-flush Pipeline object
 * cost more than the command itself.
 */
export const SET_MANY_COMMAND = 'scoreqSetMany';

type SetManyRedis = Redis & { scoreqSetMany(numKeys: number, ...args: (string | number)[]): Promise<number> };

/**
 * Writes each job's final record at its result key with a TTL. The jobs of one batch settle
 * in the same turn of the event loop; their writes are collected and sent as ONE script call
 * at the end of that turn, so Redis and the client parse one command per batch, not one per
 * job (per-job cost is what limits a queue-driven worker). Each `put` still resolves only
 * once its record is stored.
 */
export class ResultStore {
  private readonly redis: SetManyRedis;
  private readonly keys: ReturnType<typeof keys>;
  private pending: PendingWrite[] = [];
  private scheduled = false;

  constructor(redis: Redis, prefix: string) {
    if (!(SET_MANY_COMMAND in redis)) redis.defineCommand(SET_MANY_COMMAND, { lua: SET_MANY });
    this.redis = redis as SetManyRedis;
    this.keys = keys(prefix);
  }

  put(record: JobRecord, ttlSec: number): Promise<void> {
    return this.write(this.keys.result(record.id), recordJson(record), ttlSec);
  }

  putChunk(jobId: string, result: ChunkResult, ttlSec: number): Promise<void> {
    return this.write(this.keys.chunkResult(jobId), JSON.stringify(result), ttlSec);
  }

  /** Whether the run a chunk belongs to was cancelled (its state hash says so). */
  async runCancelled(runId: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.run(runId), 'status')) === 'cancelled';
  }

  private write(key: string, value: string, ttlSec: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ key, value, ttlSec, done: { resolve, reject } });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const writes = this.pending;
    this.pending = [];
    this.scheduled = false;
    const args: (string | number)[] = [];
    for (const w of writes) args.push(w.key);
    for (const w of writes) args.push(w.value);
    for (const w of writes) args.push(w.ttlSec);
    this.redis.scoreqSetMany(writes.length, ...args).then(
      () => writes.forEach((w) => w.done.resolve()),
      (err: unknown) => writes.forEach((w) => w.done.reject(err)),
    );
  }
}
