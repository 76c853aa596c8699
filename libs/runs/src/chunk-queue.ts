import type { QueueEvents, RedisOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { base64ToFloat32, chunkJobId, float32Bytes, isErrorCode, keys, now, type ChunkJobData, type ChunkResult, type ErrorInfo } from '@scoreq/contracts';
import { CHUNK_JOB_NAME, createBulkEvents, createBulkQueue, type BulkQueue } from './bullmq-factory.js';
import type { Chunk } from './chunker.js';
import type { ChunkOutcome } from './ordered-writer.js';

export interface ChunkQueueOptions {
  /** Command connection, shared with the Queue. */
  redis: Redis;
  /** Options for the blocking events reader. */
  eventsConnection: RedisOptions;
  prefix: string;
  model: string;
  /** The pinned version every chunk names. */
  version: string;
  runId: string;
  attempts: number;
  resultTtlSec: number;
  /** Milliseconds between fallback reads of outstanding chunks. */
  pollMs: number;
  /** A chunk's outcome, once (a chunk whose job vanished is enqueued again first). */
  onOutcome(index: number, outcome: ChunkOutcome): void;
  /** Each fallback poll, after outstanding chunks were checked. */
  onPoll(): Promise<void>;
  onError(error: Error): void;
}

interface Outstanding {
  readonly index: number;
  readonly rows: number;
  /** Kept until the outcome arrives, so a job that vanished can be enqueued again. */
  readonly data: ChunkJobData;
  readonly features: Float32Array;
}

/**
 * The run's side of the bulk queue `score-<model>-bulk`: enqueues chunks with deterministic
 * job ids and collects their outcomes. Completions arrive as queue events; because the events
 * stream is trimmed (STACK-NOTES trap 9), a poll also reads the result keys of outstanding
 * chunks and, for those still missing, their job state: a failed job reports its reason, and
 * a job that vanished without a result (removed by hand, lost) is enqueued again.
 *
 * A chunk's rows go to Redis as raw bytes under their own key, written just before the job:
 * base64 inside the job's JSON cost the producer, Redis and the worker a third more bytes
 * and an encode, a JSON escape scan and a decode per chunk.
 */
export class ChunkQueue {
  private readonly queue: BulkQueue;
  private readonly resultKey: (jobId: string) => string;
  private readonly outstanding = new Map<string, Outstanding>();
  private events: QueueEvents | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;

  private constructor(private readonly o: ChunkQueueOptions) {
    this.queue = createBulkQueue(o.model, o.redis, o.prefix, o.onError);
    this.resultKey = keys(o.prefix).chunkResult;
  }

  /** Opens the queue and starts reading its events from the current end of the stream. */
  static async open(options: ChunkQueueOptions): Promise<ChunkQueue> {
    const q = new ChunkQueue(options);
    // Read the stream's last id first: every event written after it is delivered.
    const tail = await options.redis.xrevrange(q.queue.keys.events!, '+', '-', 'COUNT', 1);
    const events = createBulkEvents(options.model, options.eventsConnection, options.prefix, tail[0]?.[0] ?? '0', options.onError);
    q.events = events;
    events.on('completed', ({ jobId }) => {
      if (q.outstanding.has(jobId)) q.fetch(jobId).catch(options.onError);
    });
    events.on('failed', ({ jobId, failedReason }) => {
      if (q.outstanding.has(jobId)) q.settle(jobId, { ok: false, error: parseFailedReason(failedReason) });
    });
    await events.waitUntilReady();
    q.timer = setInterval(() => void q.poll(), options.pollMs);
    return q;
  }

  /** Chunks enqueued whose outcome has not arrived. */
  get size(): number {
    return this.outstanding.size;
  }

  /**
   * Enqueues a chunk. With `reuse` (a resumed run, for chunks a previous session may have
   * enqueued) an existing result is taken as it is, a failed job is retried, and a waiting or
   * active job is left to finish; re-adding an existing job id is a no-op in BullMQ anyway.
   */
  async enqueue(chunk: Chunk, reuse: boolean): Promise<void> {
    const { o } = this;
    const jobId = chunkJobId(o.model, o.runId, chunk.index);
    const data: ChunkJobData = {
      model: o.model,
      version: o.version,
      run: { id: o.runId, chunk: chunk.index },
      rows: chunk.rows,
      width: chunk.width,
      enqueuedAt: now(),
      resultTtlSec: o.resultTtlSec,
    };
    this.outstanding.set(jobId, { index: chunk.index, rows: chunk.rows, data, features: chunk.features });
    if (reuse) {
      if (await this.fetch(jobId)) return;
      // The job may still be waiting while its input expired or was consumed: write it again.
      await this.putInput(jobId, chunk.features);
      const state = await this.queue.getJobState(jobId);
      if (state === 'failed') {
        await (await this.queue.getJob(jobId))?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return;
      }
      if (state !== 'unknown' && state !== 'completed') return;
      if (state === 'completed') await this.queue.remove(jobId);
      await this.add(jobId, data);
      return;
    }
    await this.putAndAdd(jobId, data, chunk.features);
  }

  /** Stops collecting. Jobs stay in the queue (a resumed run picks their results up). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([this.events?.close(), this.queue.close()]);
  }

  private async runCancelled(): Promise<boolean> {
    return (await this.o.redis.hget(keys(this.o.prefix).run(this.o.runId), 'status')) === 'cancelled';
  }

  private putInput(jobId: string, features: Float32Array): Promise<unknown> {
    return this.o.redis.set(keys(this.o.prefix).chunkInput(jobId), float32Bytes(features), 'EX', this.o.resultTtlSec);
  }

  /**
   * Input then job, sent back to back: commands on one connection run in order, and the job is
   * added in the same turn as before (a cancel that removes jobs must not race a late add).
   */
  private async putAndAdd(jobId: string, data: ChunkJobData, features: Float32Array): Promise<void> {
    await Promise.all([this.putInput(jobId, features), this.add(jobId, data)]);
  }

  private add(jobId: string, data: ChunkJobData): Promise<unknown> {
    return this.queue.add(CHUNK_JOB_NAME, data, {
      jobId,
      attempts: this.o.attempts,
      backoff: { type: 'exponential', delay: 1_000 },
      // A chunk's job is done once its result key is written; keeping the job would only use memory.
      removeOnComplete: true,
      removeOnFail: { age: this.o.resultTtlSec },
    });
  }

  /** Reads a chunk's result key and settles the chunk if it is there. */
  private async fetch(jobId: string): Promise<boolean> {
    const text = await this.o.redis.get(this.resultKey(jobId));
    if (text === null) return false;
    const chunk = this.outstanding.get(jobId);
    if (chunk) this.settle(jobId, decodeResult(text, chunk.rows, this.o.version));
    return true;
  }

  private settle(jobId: string, outcome: ChunkOutcome): void {
    const chunk = this.outstanding.get(jobId);
    if (!chunk || this.closed) return;
    this.outstanding.delete(jobId);
    this.o.onOutcome(chunk.index, outcome);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const ids = [...this.outstanding.keys()];
      if (ids.length > 0) {
        const texts = await this.o.redis.mget(ids.map(this.resultKey));
        texts.forEach((text, i) => {
          const chunk = this.outstanding.get(ids[i]!);
          if (text !== null && chunk) this.settle(ids[i]!, decodeResult(text, chunk.rows, this.o.version));
        });
        for (const jobId of ids) if (this.outstanding.has(jobId)) await this.checkJob(jobId);
      }
      await this.o.onPoll();
    } catch (err) {
      this.o.onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.polling = false;
    }
  }

  /** Settles a failed job, and enqueues again a job that vanished without a result. */
  private async checkJob(jobId: string): Promise<void> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'failed') {
      const job = await this.queue.getJob(jobId);
      this.settle(jobId, { ok: false, error: parseFailedReason(job?.failedReason ?? 'no reason given') });
    } else if (state === 'unknown') {
      // The worker writes the result before the job completes (and is removed): read it again
      // now that the job is gone before concluding the job was lost.
      if (await this.fetch(jobId)) return;
      const chunk = this.outstanding.get(jobId);
      // A cancel removes waiting jobs: those must not come back.
      if (chunk && !this.closed && !(await this.runCancelled())) await this.putAndAdd(jobId, chunk.data, chunk.features);
    }
  }
}

/**
 * Decodes a stored chunk result, checking it against the chunk it answers: a result that does
 * not fit fails the chunk (its rows go to the rejects file) instead of corrupting the output.
 */
export function decodeResult(text: string, rows: number, version: string): ChunkOutcome {
  try {
    const r = JSON.parse(text) as ChunkResult;
    if (r.version !== version) throw new Error(`scored by version ${String(r.version)}, but the run is pinned to ${version}`);
    if (r.rows !== rows) throw new Error(`has ${String(r.rows)} rows, the chunk ${rows}`);
    const width = r.output?.width;
    if (!Number.isInteger(width) || width <= 0) throw new Error(`has an output width of ${String(width)}`);
    const values = base64ToFloat32(r.output.data);
    if (values.length !== rows * width) throw new Error(`has ${values.length} values for ${rows} rows of ${width}`);
    return { ok: true, values, width };
  } catch (err) {
    return { ok: false, error: { code: 'INTERNAL', message: `the chunk result is unusable: ${(err as Error).message}` } };
  }
}

/** The worker fails jobs with `CODE: message`; anything else counts as INTERNAL. */
export function parseFailedReason(reason: string): ErrorInfo {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(reason);
  if (m && isErrorCode(m[1])) return { code: m[1], message: m[2]! };
  return { code: 'INTERNAL', message: reason };
}
