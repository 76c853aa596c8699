import type { Redis } from 'ioredis';
import { keys, type ChunkResult, type JobRecord } from '@scoreq/contracts';

/**
 * Writes each job's final record at its result key with a TTL. The connection auto-pipelines,
 * so the records of one batch — settled in the same tick — go to Redis in one round trip.
 */
export class ResultStore {
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof keys>;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.keys = keys(prefix);
  }

  async put(record: JobRecord, ttlSec: number): Promise<void> {
    await this.redis.set(this.keys.result(record.id), JSON.stringify(record), 'EX', ttlSec);
  }

  async putChunk(jobId: string, result: ChunkResult, ttlSec: number): Promise<void> {
    await this.redis.set(this.keys.chunkResult(jobId), JSON.stringify(result), 'EX', ttlSec);
  }

  /** Whether the run a chunk belongs to was cancelled (its state hash says so). */
  async runCancelled(runId: string): Promise<boolean> {
    return (await this.redis.hget(this.keys.run(runId), 'status')) === 'cancelled';
  }
}
