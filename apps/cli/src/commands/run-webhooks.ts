import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { WEBHOOK_QUEUE, type EnvConfig } from '@scoreq/contracts';
import type { RunFinishedHook } from '@scoreq/runs';
import { createRunWebhookNotifier } from '@scoreq/webhooks';

/** What `scoreq run` announces a run's end with; `close()` when the command is done. */
export interface RunNotifier {
  /** Command connection of the webhook queue, also for `announceRunFinished`. */
  readonly redis: Redis;
  /** Queues the run's webhook (when it has a callback URL) for the workers' delivery worker. */
  readonly onFinished: RunFinishedHook;
  close(): Promise<void>;
}

/** Opens the webhook queue on REDIS_URL under SCOREQ_PREFIX, as the workers' notifier does. */
export function openRunNotifier(config: EnvConfig, onError: (err: Error) => void): RunNotifier {
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  redis.on('error', onError);
  const queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix: config.SCOREQ_PREFIX });
  queue.on('error', onError);
  return {
    redis,
    onFinished: createRunWebhookNotifier({ queue }),
    close: async () => {
      await queue.close().catch(onError);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
