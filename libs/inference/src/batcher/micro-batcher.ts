import { now, ScoreqError, type BatchInfo, type FlushReason } from '@scoreq/contracts';
import type { FailedReply, RunReply } from '../pool/messages.js';
import type { BatchItem, BatchRecord, BatchRunner, ItemResult } from './batch-types.js';
import { settle, stack, stackable } from './batch-tensors.js';
import type { BatcherState, FlushPolicy } from './flush-policy.js';
import { BulkWork, SliceSizer, type BulkOutcome, type BulkSlice } from './bulk-work.js';

export type { BatchItem, BatchRecord, BatchRunner, ItemResult } from './batch-types.js';

export interface MicroBatcherOptions {
  policy: FlushPolicy;
  run: BatchRunner;
  /** Batches in flight at once; the next one fills meanwhile. Usually the pool's threads. */
  maxInFlight: number;
  /** Most jobs the caller can hand over at once (the BullMQ worker's concurrency). */
  capacityJobs: number;
  /**
   * Slots the bulk lane owns. The others are reserved for real-time jobs, which bulk work
   * only borrows, in slices, while no real-time job waits. @defaultValue maxInFlight − 1 (at least 1)
   */
  maxBulkInFlight?: number;
  /**
   * Longest a call on a borrowed slot should run, in ms: a real-time job arriving meanwhile
   * waits about this long at most. Slices are sized from the measured time per row of this
   * batcher's bulk calls (`policy.maxBatchRows` rows before the first measurement).
   * 0 turns borrowing off. @defaultValue {@link DEFAULT_BULK_SLICE_MS}
   */
  bulkSliceMs?: number;
  /** Called after every batch, from the main thread. */
  onBatch?: (record: BatchRecord) => void;
  /**
   * Called when the batcher becomes idle: every job it was handed has settled (scored, failed,
   * or rejected past its deadline without running) and no batch is in flight. Once per
   * transition to idle, not per batch.
   */
  onIdle?: () => void;
  /** Prefix of batch ids, unique per process. */
  idPrefix?: string;
}

interface Waiting {
  item: BatchItem;
  arrivedAt: number;
  resolve: (result: ItemResult) => void;
  reject: (err: ScoreqError) => void;
}

/** Target duration of a borrowed bulk call while the real-time lane is quiet. */
export const DEFAULT_BULK_SLICE_MS = 4;

/**
 * Real-time traffic seen this recently shrinks borrowed slices to a quarter of `bulkSliceMs`:
 * the next job is likely near, and a short slice costs bulk work little (a call's fixed cost is ~0.1 ms).
 */
const REALTIME_RECENT_MS = 1_000;
const BUSY_SLICE_SHARE = 0.25;

/** Errors worth splitting a batch for: one bad job may be the cause. */
const ISOLATE = new Set(['INFERENCE_FAILED', 'INVALID_INPUT']);
let batchCounter = 0;

/**
 * Stacks rows of many jobs into one inference call. Reacts to three events only: an
 * arrival, a finished batch (a free slot) and one timer. A failing batch is split in halves
 * until the failing job is alone, so its neighbours still succeed.
 */
export class MicroBatcher {
  private readonly options: MicroBatcherOptions;
  private readonly idPrefix: string;
  private queue: Waiting[] = [];
  private bulk: BulkWork[] = [];
  private readonly maxBulkInFlight: number;
  private readonly bulkSliceMs: number;
  private readonly sizer: SliceSizer;
  private lastRealtimeAt = Number.NEGATIVE_INFINITY;
  private pendingRows = 0;
  private inFlight = 0;
  /** Bulk calls on the lane's own slots (borrowed ones count in `inFlight` only). */
  private bulkInFlight = 0;
  private inFlightJobs = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private draining = false;
  /** Whether a job arrived since the batcher was last idle: {@link MicroBatcherOptions.onIdle} fires on the way back. */
  private busy = false;
  private idle: (() => void) | undefined;
  private drained: Promise<void> | undefined;

  constructor(options: MicroBatcherOptions) {
    if (!(options.maxInFlight >= 1)) throw new ScoreqError('INVALID_OPTION', 'maxInFlight must be at least 1', { field: 'maxInFlight' });
    if (!(options.capacityJobs >= 1)) throw new ScoreqError('INVALID_OPTION', 'capacityJobs must be at least 1', { field: 'capacityJobs' });
    this.options = options;
    this.maxBulkInFlight = options.maxBulkInFlight ?? Math.max(1, options.maxInFlight - 1);
    this.bulkSliceMs = options.bulkSliceMs ?? DEFAULT_BULK_SLICE_MS;
    this.sizer = new SliceSizer(options.policy.maxBatchRows);
    this.idPrefix = options.idPrefix ?? `b${process.pid.toString(36)}`;
  }

  /** Jobs waiting plus jobs in flight. */
  get heldJobs(): number {
    return this.queue.length + this.inFlightJobs;
  }

  submit(item: BatchItem): Promise<ItemResult> {
    if (this.draining) {
      return Promise.reject(new ScoreqError('WORKER_SHUTTING_DOWN', 'the batcher is draining and takes no new jobs'));
    }
    return new Promise<ItemResult>((resolve, reject) => {
      const arrivedAt = now();
      if (item.lane === 'bulk') {
        this.bulk.push(bulkWork(item, resolve, reject));
      } else {
        this.queue.push({ item, arrivedAt, resolve, reject });
        this.pendingRows += item.rows;
        this.lastRealtimeAt = arrivedAt;
      }
      this.busy = true;
      this.pump();
    });
  }

  /**
   * Flushes everything waiting, regardless of the policy, and waits for batches in flight.
   * Idempotent: every call gets the same promise (one `idle` callback would strand earlier callers).
   */
  drain(): Promise<void> {
    this.drained ??= this.drainOnce();
    return this.drained;
  }

  private async drainOnce(): Promise<void> {
    this.draining = true;
    this.pump();
    if (this.isIdle()) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
  }

  private pump(): void {
    this.pumpRealtime();
    this.pumpBulk();
    if (!this.isIdle()) return;
    if (this.draining) this.idle?.();
    if (this.busy) {
      this.busy = false;
      this.options.onIdle?.();
    }
  }

  private pumpRealtime(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const decision = this.draining ? { flush: 'drain' as const } : this.options.policy.decide(this.state());
      if ('waitMs' in decision) {
        this.arm(decision.waitMs);
        return;
      }
      this.dispatch(decision.flush);
    }
    if (this.queue.length === 0) this.disarm();
  }

  /**
   * Real-time work keeps priority. Bulk work runs whole on the lane's own slots; a free slot
   * reserved for real-time jobs is borrowed only while none waits (or fills a batch), for one
   * short slice at a time, so a real-time job arriving meanwhile waits at most about a slice.
   */
  private pumpBulk(): void {
    const { maxInFlight } = this.options;
    while (this.bulk.length > 0 && this.inFlight < maxInFlight) {
      const own = this.bulkInFlight < this.maxBulkInFlight && (this.queue.length === 0 || this.maxBulkInFlight < maxInFlight);
      if (!own && !this.mayBorrow()) return;
      const work = this.bulk[0]!;
      if (!work.started && this.expired(work.item, work.fail, now())) {
        this.bulk.shift();
        continue;
      }
      const info: BatchInfo = { id: this.nextBatchId(), rows: 0, jobs: 1, reason: 'bulk' };
      const dispatchedAt = now();
      const slice = work.take(own ? work.remaining : this.sliceRows(), info.id, dispatchedAt);
      if (work.remaining === 0) this.bulk.shift();
      this.launchBulk(work, slice, { ...info, rows: slice.rows }, own, dispatchedAt);
    }
  }

  private mayBorrow(): boolean {
    return this.bulkSliceMs > 0 && this.queue.length === 0;
  }

  /** Rows of the next borrowed call: shorter while real-time traffic is about. */
  private sliceRows(): number {
    const recent = now() - this.lastRealtimeAt < REALTIME_RECENT_MS;
    return this.sizer.rowsFor(this.bulkSliceMs * (recent ? BUSY_SLICE_SHARE : 1), Number.POSITIVE_INFINITY);
  }

  /** Runs bulk rows in a pool slot (its own or a borrowed one), which frees when the call settles. */
  private launchBulk(work: BulkWork, slice: BulkSlice, info: BatchInfo, own: boolean, dispatchedAt: number): void {
    this.inFlight++;
    if (own) this.bulkInFlight++;
    void this.runBulk(work, slice, info, dispatchedAt).finally(() => {
      this.inFlight--;
      if (own) this.bulkInFlight--;
      this.pump();
    });
  }

  private async runBulk(work: BulkWork, slice: BulkSlice, info: BatchInfo, dispatchedAt: number): Promise<void> {
    let reply: RunReply | FailedReply;
    try {
      reply = await this.options.run(slice.inputs);
    } catch (err) {
      const error = new ScoreqError('INTERNAL', `inference pool failed: ${err instanceof Error ? err.message : String(err)}`);
      const at = now();
      this.report(info, dispatchedAt, { ok: false, error: error.toInfo(), startedAt: at, endedAt: at });
      work.fail(error);
      return;
    }
    this.report(info, dispatchedAt, reply);
    if (!reply.ok) {
      work.fail(ScoreqError.fromInfo(reply.error));
      return;
    }
    this.sizer.observe(slice.rows, reply.endedAt - reply.startedAt);
    work.complete(slice, reply);
  }

  private nextBatchId(): string {
    return `${this.idPrefix}-${(++batchCounter).toString(36)}`;
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.bulk.length === 0 && this.inFlight === 0;
  }

  private state(): BatcherState {
    let earliestDeadline = Number.POSITIVE_INFINITY;
    for (const w of this.queue) if (w.item.deadline !== undefined && w.item.deadline < earliestDeadline) earliestDeadline = w.item.deadline;
    return {
      pendingRows: this.pendingRows,
      pendingJobs: this.queue.length,
      oldestArrivalAt: this.queue[0]!.arrivedAt,
      earliestDeadline,
      heldJobs: this.heldJobs,
      capacityJobs: this.options.capacityJobs,
      now: now(),
    };
  }

  private arm(waitMs: number): void {
    const at = now() + waitMs;
    if (this.timer && this.timerAt <= at) return;
    this.disarm();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, waitMs),
    );
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Takes jobs from the front up to maxBatchRows (at least one) and runs them. */
  private dispatch(reason: FlushReason): void {
    const dispatchedAt = now();
    const batch: Waiting[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (batch.length > 0 && (rows + next.item.rows > this.options.policy.maxBatchRows || !stackable(batch[0]!.item, next.item))) break;
      this.queue.shift();
      this.pendingRows -= next.item.rows;
      if (this.expired(next.item, next.reject, dispatchedAt)) continue;
      batch.push(next);
      rows += next.item.rows;
    }
    if (batch.length > 0) this.launch(batch, rows, reason, dispatchedAt);
  }

  /** Rejects a job whose deadline passed before its batch left, without spending compute. */
  private expired(item: BatchItem, reject: (err: ScoreqError) => void, at: number): boolean {
    if (item.deadline === undefined || item.deadline >= at) return false;
    reject(new ScoreqError('DEADLINE_EXCEEDED', `deadline passed ${(at - item.deadline).toFixed(1)} ms before the batch ran`));
    return true;
  }

  /** Runs a real-time batch in a pool slot, which frees when the batch settles. */
  private launch(batch: Waiting[], rows: number, reason: FlushReason, dispatchedAt: number): void {
    this.inFlight++;
    this.inFlightJobs += batch.length;
    const id = this.nextBatchId();
    void this.runIsolating(batch, { id, rows, jobs: batch.length, reason }, dispatchedAt).finally(() => {
      this.inFlight--;
      this.inFlightJobs -= batch.length;
      this.pump();
    });
  }

  private async runIsolating(batch: Waiting[], info: BatchInfo, dispatchedAt: number): Promise<void> {
    let reply: RunReply | FailedReply;
    try {
      reply = await this.options.run(stack(batch.map((w) => w.item)));
    } catch (err) {
      // The pool itself failed (a thread died): not the jobs' fault, so no isolation.
      const error = new ScoreqError('INTERNAL', `inference pool failed: ${err instanceof Error ? err.message : String(err)}`);
      const at = now();
      this.report(info, dispatchedAt, { ok: false, error: error.toInfo(), startedAt: at, endedAt: at });
      for (const w of batch) w.reject(error);
      return;
    }
    this.report(info, dispatchedAt, reply);
    if (reply.ok) {
      settle(batch, reply, info, dispatchedAt);
      return;
    }
    if (batch.length === 1 || !ISOLATE.has(reply.error.code)) {
      const error = ScoreqError.fromInfo(reply.error);
      for (const w of batch) w.reject(error);
      return;
    }
    const half = Math.ceil(batch.length / 2);
    const parts = [batch.slice(0, half), batch.slice(half)];
    for (const [i, part] of parts.entries()) {
      const rows = part.reduce((n, w) => n + w.item.rows, 0);
      await this.runIsolating(part, { id: `${info.id}.${i}`, rows, jobs: part.length, reason: info.reason }, now());
    }
  }

  private report(info: BatchInfo, dispatchedAt: number, reply: RunReply | FailedReply): void {
    const record: BatchRecord = {
      ...info,
      dispatchedAt,
      startedAt: reply.startedAt,
      endedAt: reply.endedAt,
      poolWaitMs: reply.startedAt - dispatchedAt,
      executionMs: reply.endedAt - reply.startedAt,
    };
    if (!reply.ok) record.error = reply.error;
    this.options.onBatch?.(record);
  }
}

/** A bulk item's work; its result names the first call that took its rows, and spans all its calls. */
function bulkWork(item: BatchItem, resolve: (r: ItemResult) => void, reject: (e: ScoreqError) => void): BulkWork {
  const settle = (o: BulkOutcome): void =>
    resolve({
      outputs: o.outputs,
      batch: { id: o.batchId, rows: item.rows, jobs: 1, reason: 'bulk' },
      dispatchedAt: o.dispatchedAt,
      inferenceStartedAt: o.startedAt,
      inferenceEndedAt: o.endedAt,
    });
  return new BulkWork(item, settle, reject);
}
