import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { queueName } from '@scoreq/contracts';
import type { ScoringClient } from '@scoreq/client';
import { randomRows } from './models.js';
import { redisUrl } from './redis.js';

/** A backlog of single-row jobs handed to a running worker all at once. */
export interface Backlog {
  ids: string[];
  /** The model's queue (the caller closes it). */
  queue: Queue;
  /** Resolves once `busyAfter` of the jobs have completed. */
  busy: Promise<void>;
  /** Stops listening for completions. */
  stopListening(): Promise<void>;
}

/**
 * Submits `total` single-row jobs while the model's queue is paused, then resumes it. A
 * worker then always has most of them left when the test acts on it (kill, SIGTERM), however
 * fast the machine: submitting while it ran let a fast one finish everything first.
 */
export async function queueBacklog(
  client: ScoringClient,
  redis: Redis,
  options: { prefix: string; model: string; features: string[]; total: number; busyAfter: number },
): Promise<Backlog> {
  const { prefix, model, features, total, busyAfter } = options;
  const queue = new Queue(queueName(model), { connection: redis, prefix });
  await queue.pause();
  const ids: string[] = [];
  for (let i = 0; i < total; i += 500)
    ids.push(
      ...(await client.submitMany(
        model,
        randomRows(features, Math.min(500, total - i), i).map((row) => ({ rows: [row] })),
      )),
    );
  const events = new QueueEvents(queueName(model), { connection: { url: redisUrl() }, prefix });
  await events.waitUntilReady();
  let completed = 0;
  const busy = new Promise<void>((resolve) => events.on('completed', () => ++completed === busyAfter && resolve()));
  await queue.resume();
  return { ids, queue, busy, stopListening: () => events.close() };
}
