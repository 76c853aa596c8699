import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { ScoreqError } from '@scoreq/contracts';
import { SCORE_JOB_NAME } from '@scoreq/client';

/**
 * Job options of every system's jobs, identical so that all pay the same Redis cost per job.
 * Finished jobs are kept for an hour, as the SDK keeps them for its result TTL (STACK-NOTES
 * trap 8); the bench obliterates the queue after each drain, so nothing piles up. Keeping
 * them also gives us the completed set, whose scores are the workers' finish times.
 */
export const BENCH_JOB_OPTIONS: Readonly<JobsOptions> = Object.freeze({
  removeOnComplete: { age: 3600 },
  removeOnFail: { age: 3600 },
});

/** addBulk chunk size: one round trip and one Lua call per 1,000 jobs. */
const PREFILL_CHUNK = 1_000;
/**
 * How often a drain reads the queue's counts. One getJobCounts is two ZCARDs in one script,
 * so 20 polls a second cost Redis nothing next to thousands of jobs a second; the figure
 * itself does not depend on the interval (see {@link BenchQueue.drain}).
 */
const POLL_MS = 50;
/** A drain with no job finished for this long has stalled: the bench fails rather than hangs. */
const STALL_MS = 60_000;

/** One timed drain. */
export interface DrainTiming {
  jobs: number;
  /** Queue resumed → last job finished (the worker's own finish time), ms. */
  elapsedMs: number;
  jobsPerSec: number;
}

/**
 * The producer side of a realtime benchmark for one queue: pre-fills it while it is paused,
 * resumes it and times the drain, then removes every job. Consumers (noop, naive, scoreq)
 * come and go; the queue, the payloads and the job options stay the same.
 */
export class BenchQueue {
  readonly name: string;
  private readonly connection: Redis;
  private readonly queue: Queue;
  private closing: Promise<void> | undefined;

  constructor(redisUrl: string, prefix: string, name: string) {
    this.name = name;
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    this.connection.on('error', () => undefined); // surfaced by the command that failed
    this.queue = new Queue(name, { connection: this.connection, prefix });
  }

  /**
   * Pauses the queue globally (no worker takes a job; a worker started now waits), then adds
   * `count` jobs in addBulk chunks. Resolves with their ids, in order.
   */
  async prefill(count: number, data: (i: number) => Record<string, unknown>): Promise<string[]> {
    await this.queue.pause();
    const ids: string[] = [];
    for (let first = 0; first < count; first += PREFILL_CHUNK) {
      const size = Math.min(PREFILL_CHUNK, count - first);
      const jobs = Array.from({ length: size }, (_, k) => ({ name: SCORE_JOB_NAME, data: data(first + k), opts: BENCH_JOB_OPTIONS }));
      for (const job of await this.queue.addBulk(jobs)) ids.push(job.id!);
    }
    return ids;
  }

  /**
   * Resumes the queue and waits until `count` jobs have finished. The time runs from just
   * before the resume to the finish time of the last job, as the worker stamped it in the
   * completed set, so the polling interval does not blur the figure. Throws when a job
   * failed (a failing system would look fast) or when the drain stalls.
   */
  async drain(count: number): Promise<DrainTiming> {
    const startedAt = Date.now();
    await this.queue.resume();
    let done = 0;
    let failed = 0;
    let lastProgressAt = performance.now();
    while (done < count) {
      await sleep(POLL_MS);
      const counts = await this.queue.getJobCounts('completed', 'failed');
      const now = (counts.completed ?? 0) + (counts.failed ?? 0);
      failed = counts.failed ?? 0;
      if (now > done) {
        done = now;
        lastProgressAt = performance.now();
      } else if (performance.now() - lastProgressAt > STALL_MS) {
        throw new ScoreqError('INTERNAL', `bench queue ${this.name} stalled: ${done} of ${count} jobs finished, none in ${STALL_MS / 1000} s`);
      }
    }
    if (failed > 0) {
      const [job] = await this.queue.getFailed(0, 0);
      throw new ScoreqError('INTERNAL', `${failed} of ${count} bench jobs failed on ${this.name}; for example: ${job?.failedReason ?? 'no reason recorded'}`);
    }
    const finishedAt = await this.lastFinishedAt();
    const elapsedMs = Math.max(1, finishedAt - startedAt);
    return { jobs: count, elapsedMs, jobsPerSec: (count * 1000) / elapsedMs };
  }

  /** Removes every job and key of the queue (obliterate, active jobs included). */
  async clear(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }

  /** Closes the queue and its connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue.close().catch(() => undefined);
      await this.connection.quit().catch(() => this.connection.disconnect());
    })();
    return this.closing;
  }

  /** Highest score of the completed set: when the last job finished (worker clock, epoch ms). */
  private async lastFinishedAt(): Promise<number> {
    const [, score] = await this.connection.zrange(this.queue.toKey('completed'), -1, -1, 'WITHSCORES');
    const at = Number(score);
    if (!Number.isFinite(at)) throw new ScoreqError('INTERNAL', `bench queue ${this.name} has no completed jobs to time`);
    return at;
  }
}
