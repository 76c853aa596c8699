import type { Redis } from 'ioredis';
import { keys, type ModelRecord } from '@scoreq/contracts';

/**
 * Publishes a model's record (versions with signatures, metadata, aliases) where producers
 * read it to validate input before enqueueing.
 */
export async function publishModelRecord(redis: Redis, prefix: string, record: ModelRecord): Promise<void> {
  const k = keys(prefix);
  await redis.multi().set(k.model(record.name), JSON.stringify(record)).sadd(k.models(), record.name).exec();
}

export async function readModelRecord(redis: Redis, prefix: string, name: string): Promise<ModelRecord | null> {
  const text = await redis.get(keys(prefix).model(name));
  return text === null ? null : (JSON.parse(text) as ModelRecord);
}
