import { Queue, QueueEvents, type RedisOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { bulkQueueName, type ChunkJobData } from '@scoreq/contracts';

/**
 * Every BullMQ object of a run is built here, so the queue backend (or its options) can be
 * changed in one place.
 */

/** BullMQ job name of run chunks. */
export const CHUNK_JOB_NAME = 'chunk';

export type BulkQueue = Queue<ChunkJobData, unknown, typeof CHUNK_JOB_NAME>;

/** The producer side of a model's bulk queue, on the run's command connection. */
export function createBulkQueue(model: string, connection: Redis, prefix: string, onError: (err: Error) => void): BulkQueue {
  const queue: BulkQueue = new Queue(bulkQueueName(model), { connection, prefix });
  // Without a listener an 'error' event would throw and end the process.
  queue.on('error', onError);
  return queue;
}

/**
 * A reader of the bulk queue's events after `lastEventId`, on its own blocking connection
 * (BullMQ opens it from options; it must retry forever).
 */
export function createBulkEvents(model: string, connection: RedisOptions, prefix: string, lastEventId: string, onError: (err: Error) => void): QueueEvents {
  const events = new QueueEvents(bulkQueueName(model), { connection: { ...connection, maxRetriesPerRequest: null }, prefix, lastEventId });
  events.on('error', onError);
  return events;
}
