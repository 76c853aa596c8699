import { Queue, Worker, type Processor } from 'bullmq';
import { Redis } from 'ioredis';
import { SET_MANY_COMMAND } from './result-store.js';

/**
 * Every BullMQ object and Redis connection the worker makes is built here, so the queue
 * backend (or its connection settings) can be switched in one place.
 */
export class BullFactory {
  private readonly url: string;
  private readonly prefix: string;

  constructor(url: string, prefix: string) {
    this.url = url;
    this.prefix = prefix;
  }

  /** A connection for blocking BullMQ commands: it must retry forever (STACK-NOTES trap 5). */
  workerConnection(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: null });
  }

  /**
   * A connection for our own writes, auto-pipelined so one batch's writes share a round trip;
   * the batch's result records are already one command, which skips the pipeline.
   */
  resultConnection(): Redis {
    return new Redis(this.url, { enableAutoPipelining: true, autoPipeliningIgnoredCommands: [SET_MANY_COMMAND], maxRetriesPerRequest: 3 });
  }

  worker<T, R>(
    queue: string,
    processor: Processor<T, R>,
    options: { concurrency: number; resultTtlSec: number; connection: Redis; lockDurationMs: number; stalledIntervalMs: number; maxStalledCount: number },
  ): Worker<T, R> {
    return new Worker<T, R>(queue, processor, {
      connection: options.connection,
      prefix: this.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
      autorun: true,
      // Jobs from plain BullMQ producers may not say how long to keep them (STACK-NOTES trap 8).
      removeOnComplete: { age: options.resultTtlSec },
      removeOnFail: { age: options.resultTtlSec },
    });
  }

  queue(name: string, connection: Redis): Queue {
    return new Queue(name, { connection, prefix: this.prefix });
  }
}
