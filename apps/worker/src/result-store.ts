import type { Redis } from 'ioredis';
import { keys, type JobRecord } from '@scoreq/contracts';

/**
 * Writes each job's final record at its result key with a TTL. The connection auto-pipelines,
 * so the records of one batch — settled in the same tick — go to Redis in one round trip.
 */
export class ResultStore {
  private readonly redis: Redis;
  private readonly key: (jobId: string) => string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.key = keys(prefix).result;
  }

  async put(record: JobRecord, ttlSec: number): Promise<void> {
    await this.redis.set(this.key(record.id), JSON.stringify(record), 'EX', ttlSec);
  }
}
