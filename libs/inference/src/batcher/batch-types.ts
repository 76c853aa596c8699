import type { BatchInfo, ErrorInfo } from '@scoreq/contracts';
import type { WireTensor } from '../tensor.js';
import type { FailedReply, RunReply } from '../pool/messages.js';

/** One job's rows, encoded: one tensor per model input, each with `rows` on axis 0. */
export interface BatchItem {
  rows: number;
  inputs: WireTensor[];
  /** Epoch ms after which the item must not run. */
  deadline?: number;
  /**
   * `bulk` items (overnight run chunks) run alone, never stacked with others: whole on the
   * bulk lane's own `maxBulkInFlight` slots (never while a real-time job waits on a
   * single-slot pool), and in short slices on the slots reserved for real-time jobs while no
   * real-time job waits. @defaultValue 'realtime'
   */
  lane?: 'realtime' | 'bulk';
}

/** What a job gets back: its own slice of every output, and where it rode. */
export interface ItemResult {
  outputs: WireTensor[];
  batch: BatchInfo;
  dispatchedAt: number;
  inferenceStartedAt: number;
  inferenceEndedAt: number;
}

/** A record per batch, for metrics and debug logs. Execution time is kept apart from waiting. */
export interface BatchRecord extends BatchInfo {
  dispatchedAt: number;
  startedAt: number;
  endedAt: number;
  /** dispatch → inference start inside the thread. */
  poolWaitMs: number;
  /** session.run time in the thread. */
  executionMs: number;
  error?: ErrorInfo;
}

/** Runs one stacked batch; the batcher never sees the pool. */
export type BatchRunner = (inputs: WireTensor[]) => Promise<RunReply | FailedReply>;
