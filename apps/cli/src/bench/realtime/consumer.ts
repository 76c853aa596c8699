import type { EnvConfig } from '@scoreq/contracts';
import type { Logger } from '@scoreq/telemetry';
import type { BenchModel } from './bench-model.js';

/** The systems a realtime scenario compares (BENCHMARKS.md "Baselines"). */
export type SystemName = 'noop' | 'naive' | 'scoreq';

/** What every consumer of one scenario shares, so only the system differs. */
export interface ConsumerSettings {
  readonly redisUrl: string;
  /** BullMQ prefix (and SCOREQ_PREFIX). */
  readonly prefix: string;
  /** Queue `score-<model>`. */
  readonly queue: string;
  readonly model: BenchModel;
  /** Directory holding `<model>/1/model.onnx`, the worker's SCOREQ_MODELS_DIR. */
  readonly modelsDir: string;
  readonly threads: number;
  readonly concurrency: number;
  readonly maxBatchRows: number;
  readonly maxDelayMs: number;
  /** Configuration the scoreq worker starts from; the fields above override it. */
  readonly config: EnvConfig;
  readonly logLevel: EnvConfig['LOG_LEVEL'];
  readonly logger: Logger;
}

/** What scoreq's result records say about one drain. */
export interface ScoredDrain {
  /** Rows per inference call: rows scored ÷ distinct batches. */
  meanBatchRows: number;
  /**
   * Receipt in the worker → result stored (`timings.totalMs − timings.queuedMs`), ms.
   * Queue time is left out: in a pre-filled drain it only says how deep in the backlog a
   * job sat, not how fast anything ran.
   */
  workerP50Ms: number;
  workerP99Ms: number;
}

/** A running consumer of the bench queue. */
export interface Consumer {
  readonly system: SystemName;
  /**
   * Called after each drain with its job ids: checks and reads what the system stored for
   * them (scoreq's result records), then removes it. Resolves with scoreq's figures, or
   * undefined for the baselines, which store nothing of their own.
   */
  afterDrain(ids: readonly string[]): Promise<ScoredDrain | undefined>;
  /** Stops consuming and releases threads and connections. Idempotent. */
  close(): Promise<void>;
}

/** Memoises an async close so every caller waits for the same, single attempt. */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
