import type { FlushReason } from '@scoreq/contracts';

/** What a flush policy sees each time the batcher reconsiders (arrival, free slot, timer). */
export interface BatcherState {
  /** Rows and jobs waiting for a batch. */
  pendingRows: number;
  pendingJobs: number;
  /** When the oldest waiting job arrived, on the `now()` clock. */
  oldestArrivalAt: number;
  /** Earliest deadline among waiting jobs, or Infinity. */
  earliestDeadline: number;
  /** Jobs waiting plus jobs in batches in flight, against the most the worker can hold. */
  heldJobs: number;
  capacityJobs: number;
  now: number;
}

/** Flush now for a reason, or look again after `waitMs` unless something else happens first. */
export type FlushDecision = { flush: FlushReason } | { waitMs: number };

/**
 * Decides when waiting rows become a batch. The batcher calls it only when a pool slot is
 * free and rows are waiting; it never polls. A latency-target policy can replace the fixed one.
 */
export interface FlushPolicy {
  /** Most rows in one batch. A single job larger than this still runs, alone. */
  readonly maxBatchRows: number;
  decide(state: BatcherState): FlushDecision;
}

export interface FixedPolicyOptions {
  /** Most rows in one inference call. @defaultValue 64 */
  maxBatchRows: number;
  /** Longest the first waiting row waits for the batch to fill, in ms. @defaultValue 2 */
  maxDelayMs: number;
}

/**
 * Triton-style dynamic batching: flush when the batch is full, when the oldest row has
 * waited `maxDelayMs`, when a deadline would pass before that, or when the worker holds all
 * the jobs it can (no more can arrive, so waiting only adds latency).
 */
export function fixedPolicy(options: FixedPolicyOptions): FlushPolicy {
  const { maxBatchRows, maxDelayMs } = options;
  return {
    maxBatchRows,
    decide(s) {
      if (s.pendingRows >= maxBatchRows || s.heldJobs >= s.capacityJobs) return { flush: 'full' };
      const flushAt = s.oldestArrivalAt + maxDelayMs;
      if (s.now >= flushAt) return { flush: 'delay' };
      if (s.earliestDeadline <= flushAt) return { flush: 'deadline' };
      return { waitMs: flushAt - s.now };
    },
  };
}

/** Batching off: every job is its own call (models whose batch axis is not dynamic). */
export function singlePolicy(): FlushPolicy {
  return { maxBatchRows: 1, decide: () => ({ flush: 'single' }) };
}
