import { Queue, QueueEvents, type RedisOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { queueName, type ScoreJobData } from '@scoreq/contracts';

/**
 * Every BullMQ object of the client is built here, so the queue backend (or its options) can
 * be changed in one place.
 */

/** BullMQ job name of scoring jobs; workers may check it. */
export const SCORE_JOB_NAME = 'score';

export type ScoreQueue = Queue<ScoreJobData, unknown, typeof SCORE_JOB_NAME>;

export interface BullFactoryConfig {
  prefix: string;
  /** Shared by all queues; BullMQ leaves a passed-in instance open on `queue.close()`. */
  connection: Redis;
  /** Options (not an instance): BullMQ would duplicate an instance for a blocking reader. */
  eventsConnection: RedisOptions;
  eventsMaxLen: number;
  onError: (error: Error) => void;
}

/** The producer queue of a model. */
export function createScoreQueue(model: string, config: BullFactoryConfig): ScoreQueue {
  const queue: ScoreQueue = new Queue(queueName(model), {
    connection: config.connection,
    prefix: config.prefix,
    streams: { events: { maxLen: config.eventsMaxLen } },
  });
  // Without a listener an 'error' event would throw and end the process.
  queue.on('error', config.onError);
  return queue;
}

/**
 * A reader of a model queue's events stream, starting after `lastEventId` (an id read before
 * any waiter looked at a result key, so no completion after that read can be missed).
 */
export function createScoreQueueEvents(model: string, lastEventId: string, config: BullFactoryConfig): QueueEvents {
  const events = new QueueEvents(queueName(model), {
    connection: config.eventsConnection,
    prefix: config.prefix,
    lastEventId,
  });
  events.on('error', config.onError);
  return events;
}
