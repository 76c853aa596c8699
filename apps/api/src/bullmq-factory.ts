import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { queueName, WEBHOOK_QUEUE } from '@scoreq/contracts';

/**
 * The API's own BullMQ objects, built here only: one Queue per model, used to read a job's data
 * (its tenant) and to count the workers consuming a model, and the webhook queue that run
 * webhooks go to. Jobs are added by the ScoringClient.
 * Queues are made only for models the catalogue knows, so a request naming random models
 * cannot grow this map.
 */
export class ApiQueues {
  private readonly queues = new Map<string, Queue>();
  private webhookQueue: Queue | undefined;

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly onError: (err: Error) => void,
  ) {}

  get(model: string): Queue {
    let queue = this.queues.get(model);
    if (!queue) {
      queue = new Queue(queueName(model), { connection: this.connection, prefix: this.prefix });
      queue.on('error', this.onError);
      this.queues.set(model, queue);
    }
    return queue;
  }

  /** WEBHOOK_QUEUE, where the API queues the webhooks of the runs it produces. */
  webhooks(): Queue {
    if (!this.webhookQueue) {
      this.webhookQueue = new Queue(WEBHOOK_QUEUE, { connection: this.connection, prefix: this.prefix });
      this.webhookQueue.on('error', this.onError);
    }
    return this.webhookQueue;
  }

  /** Closes every queue (not the shared connection); every one is closed even if one fails. */
  async close(): Promise<void> {
    const all = [...this.queues.values(), ...(this.webhookQueue ? [this.webhookQueue] : [])];
    const results = await Promise.allSettled(all.map((q) => q.close()));
    this.queues.clear();
    this.webhookQueue = undefined;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
