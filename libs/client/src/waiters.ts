import { ScoreqError, type JobRecord } from '@scoreq/contracts';
import { toScoreqError } from './connection.js';

/** A result key as read: the record, an error when it is corrupt, or null when absent. */
export type RecordRead = JobRecord | ScoreqError | null;

/** What a queue's events stream says happened to a job. */
export type JobEvent = 'completed' | 'failed' | 'removed';

/** What the registry needs from the client; kept abstract so this file knows no BullMQ. */
export interface WaiterSource {
  /**
   * Starts delivering a model queue's events to `onEvent`. Called once per model (the registry
   * memoises it). It must resolve only once events after the call can no longer be missed.
   */
  openEvents(model: string, onEvent: (jobId: string, event: JobEvent) => void): Promise<void>;
  /** Reads result keys, in the order of `ids`. */
  readRecords(ids: string[]): Promise<RecordRead[]>;
  /** BullMQ state of a job ('unknown' when it does not exist) and, if failed, why. */
  jobState(id: string): Promise<{ state: string; failedReason?: string }>;
  /** Milliseconds between fallback reads of every pending result key. */
  pollMs: number;
  onError(error: Error): void;
}

interface Waiter {
  readonly id: string;
  readonly resolve: (record: JobRecord) => void;
  readonly reject: (error: unknown) => void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
  done?: boolean;
}

/** Ids per MGET of the fallback poll. */
const POLL_CHUNK = 500;

/**
 * Everyone waiting for a result, in one map jobId → waiters. Each model queue's events reach
 * the registry through one listener set (not one listener per waiter), so thousands of
 * concurrent waiters cost a map entry and a timer each. Because the events stream is trimmed
 * (trap 9), one interval timer also re-reads every pending result key with MGET; it runs only
 * while someone waits.
 *
 * Order matters: a waiter is in the map and its model's events are flowing before the first
 * read of its result key, so a job that finishes after that read is always announced.
 */
export class WaiterRegistry {
  private readonly pending = new Map<string, Set<Waiter>>();
  private readonly listening = new Map<string, Promise<void>>();
  private poll: NodeJS.Timeout | undefined;
  private polling = false;
  private closedWith: Error | undefined;

  constructor(private readonly source: WaiterSource) {}

  /** Number of pending waiters. */
  get size(): number {
    let n = 0;
    for (const set of this.pending.values()) n += set.size;
    return n;
  }

  /**
   * Resolves with the job's record when it is written, whatever its status. Rejects with
   * WAIT_TIMEOUT after `timeoutMs`, JOB_NOT_FOUND when the job does not exist (after one poll
   * interval of grace), or the signal's reason when it aborts.
   */
  wait(id: string, model: string, timeoutMs: number, signal?: AbortSignal): Promise<JobRecord> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason);
    let waiter!: Waiter;
    const promise = new Promise<JobRecord>((resolve, reject) => {
      waiter = { id, resolve, reject };
    });
    waiter.timer = setTimeout(() => {
      this.settle(waiter, new ScoreqError('WAIT_TIMEOUT', `job ${id} did not finish within ${timeoutMs} ms`, { id, timeoutMs }));
    }, timeoutMs);
    if (signal) {
      waiter.signal = signal;
      waiter.onAbort = () => this.settle(waiter, signal.reason);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    let set = this.pending.get(id);
    if (!set) this.pending.set(id, (set = new Set()));
    set.add(waiter);
    this.startPoll();
    this.listen(model)
      .then(() => this.check(id, 'initial'))
      .catch((err: unknown) => this.settle(waiter, toScoreqError(err)));
    return promise;
  }

  /** Reads a job's result key now, e.g. after this process cancelled it. */
  poke(id: string): void {
    if (this.pending.has(id)) this.check(id, 'removed').catch(this.source.onError);
  }

  /** Rejects every pending waiter with `reason` and stops the poll; later waits reject too. */
  close(reason: Error): void {
    this.closedWith = reason;
    for (const set of [...this.pending.values()]) for (const w of [...set]) this.settle(w, reason);
    this.stopPoll();
  }

  private listen(model: string): Promise<void> {
    let started = this.listening.get(model);
    if (!started) {
      started = this.source.openEvents(model, (jobId, event) => {
        if (this.pending.has(jobId)) this.check(jobId, event).catch(this.source.onError);
      });
      // A failed start is retried by the next waiter of the model.
      started.catch(() => this.listening.delete(model));
      this.listening.set(model, started);
    }
    return started;
  }

  /**
   * Reads the result key and settles the id's waiters if it is there. The first check of a
   * waiter and a 'failed' event also look at the BullMQ job: a job that is gone, or finished
   * without a record, will never get one, so waiting on would only end in WAIT_TIMEOUT.
   */
  private async check(id: string, reason: 'initial' | 'verdict' | JobEvent): Promise<void> {
    if (!this.pending.has(id)) return;
    const [read] = await this.source.readRecords([id]);
    if (read) return this.settleAll(id, read);
    if (reason === 'completed' || reason === 'removed' || !this.pending.has(id)) return;
    const { state, failedReason } = await this.source.jobState(id);
    if (state !== 'unknown' && state !== 'completed' && state !== 'failed') return;
    // The worker writes the record before it finishes the job: read again in case the job
    // finished between the two reads above.
    const [again] = await this.source.readRecords([id]);
    if (again) return this.settleAll(id, again);
    if (state === 'failed') {
      this.settleAll(id, new ScoreqError('INTERNAL', `job ${id} failed without a result record: ${failedReason ?? 'no reason given'}`, { id }));
    } else if (state === 'completed' && reason === 'initial') {
      this.settleAll(id, new ScoreqError('JOB_NOT_FOUND', `cannot wait for job ${id}: it finished but its result record has expired`, { id }));
    } else if (state === 'unknown' && reason === 'initial') {
      // `cancel` removes a job a moment before it writes the cancelled record: give the record
      // one poll interval to appear before calling the job unknown.
      setTimeout(() => this.check(id, 'verdict').catch(this.source.onError), this.source.pollMs).unref();
    } else if (state === 'unknown' && reason === 'verdict') {
      this.settleAll(id, new ScoreqError('JOB_NOT_FOUND', `cannot wait for job ${id}: no such job or result exists`, { id }));
    }
  }

  private settleAll(id: string, outcome: JobRecord | Error): void {
    const set = this.pending.get(id);
    if (set) for (const w of [...set]) this.settle(w, outcome);
  }

  private settle(w: Waiter, outcome: JobRecord | unknown): void {
    if (w.done) return;
    w.done = true;
    clearTimeout(w.timer);
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    const set = this.pending.get(w.id);
    set?.delete(w);
    if (set?.size === 0) this.pending.delete(w.id);
    if (this.pending.size === 0) this.stopPoll();
    if (isRecord(outcome)) w.resolve(outcome);
    else w.reject(outcome);
  }

  private startPoll(): void {
    if (this.poll) return;
    this.poll = setInterval(() => void this.pollOnce(), this.source.pollMs);
    // Waiters keep the process alive with their own timeout timers; the poll need not.
    this.poll.unref();
  }

  private stopPoll(): void {
    clearInterval(this.poll);
    this.poll = undefined;
  }

  private async pollOnce(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const ids = [...this.pending.keys()];
      for (let i = 0; i < ids.length; i += POLL_CHUNK) {
        const chunk = ids.slice(i, i + POLL_CHUNK);
        const reads = await this.source.readRecords(chunk);
        reads.forEach((read, j) => {
          if (read) this.settleAll(chunk[j]!, read);
        });
      }
    } catch (err) {
      this.source.onError(err as Error);
    } finally {
      this.polling = false;
    }
  }
}

function isRecord(value: unknown): value is JobRecord {
  return typeof value === 'object' && value !== null && !(value instanceof Error) && 'status' in value && 'id' in value;
}
