import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ScoreqError } from '@scoreq/contracts';
import type { Logger } from 'pino';
import { createSourceGauges } from './source-gauges.js';
import type { PoolStats, QueueDepth } from './source-gauges.js';

export type { PoolStats, QueueDepth };

/**
 * Buckets of every latency histogram, in seconds. Most scoreq intervals are a few
 * milliseconds (a batch waits at most `SCOREQ_MAX_DELAY_MS`, a small model runs in well
 * under one), so the buckets are dense around milliseconds and sparse up to 30 s, where
 * only stuck jobs land.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);

/** Buckets of the rows-per-batch histogram: powers of two from 1 to 8192 rows. */
export const BATCH_ROWS_BUCKETS: readonly number[] = Object.freeze([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]);

/** Value of the `outcome` label of `scoreq_jobs_total`. */
export type JobOutcome = 'completed' | 'failed' | 'cancelled';

/** Value of the `reason` label of `scoreq_batches_total`: why the batcher sent a batch. */
export type BatchReason = 'full' | 'delay' | 'drain' | 'deadline' | 'single' | 'bulk';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * Registry the metrics are created on. Never the global prom-client registry by
   * default, so two workers in one process (as in tests) do not collide.
   * @defaultValue a new `Registry`
   */
  registry?: Registry;
  /**
   * Also collect prom-client's default process and Node.js metrics, named with the prefix
   * `scoreq_` (so `scoreq_process_cpu_seconds_total`,
   * `scoreq_nodejs_heap_size_used_bytes`, ...).
   * @defaultValue true
   */
  defaultMetrics?: boolean;
  /**
   * Where a failing or slow gauge source (see {@link ScoreqMetrics.observeQueueDepth}) is
   * reported at `warn`. Without one, failures show only in
   * `scoreq_metrics_source_errors_total`.
   * @defaultValue none
   */
  logger?: Logger;
  /**
   * Longest a scrape waits for an asynchronous gauge source, in milliseconds. A source that
   * takes longer (a BullMQ call while Redis is unreachable waits forever) is skipped for that
   * scrape, so the rest of /metrics is still served within Prometheus' scrape timeout.
   * @defaultValue 2000
   */
  sourceTimeoutMs?: number;
}

const METRICS_DEFAULTS = Object.freeze({ defaultMetrics: true, sourceTimeoutMs: 2000 });

/**
 * Every scoreq metric, created on one registry. Record on the main thread only: inference
 * runs in Piscina threads, which return their timings with the result instead of touching
 * metrics (prom-client state is per thread and a thread's values would never be scraped).
 */
export interface ScoreqMetrics {
  /** The registry every metric below is on; serve it with `startMetricsServer`. */
  readonly registry: Registry;
  /** `scoreq_jobs_total`: finished jobs; `outcome` is a {@link JobOutcome}, `code` the error code or `''` when completed. */
  readonly jobs: Counter<'model' | 'version' | 'outcome' | 'code'>;
  /** `scoreq_rows_scored_total`: rows that went through inference. */
  readonly rows: Counter<'model' | 'version'>;
  /** `scoreq_batches_total`: batches sent to the pool; `reason` is a {@link BatchReason}. */
  readonly batches: Counter<'model' | 'version' | 'reason'>;
  /** `scoreq_batch_rows`: rows per batch, buckets {@link BATCH_ROWS_BUCKETS}. */
  readonly batchRows: Histogram<'model' | 'version'>;
  /** `scoreq_queue_wait_seconds`: job enqueued until the worker received it. */
  readonly queueWait: Histogram<'model'>;
  /** `scoreq_batch_wait_seconds`: job received until its batch was dispatched to the pool. */
  readonly batchWait: Histogram<'model'>;
  /** `scoreq_pool_wait_seconds`: batch dispatched until inference started in a thread. */
  readonly poolWait: Histogram<'model'>;
  /** `scoreq_inference_seconds`: one batch's execution in a thread. */
  readonly inference: Histogram<'model' | 'version'>;
  /** `scoreq_job_latency_seconds`: job enqueued until its result was stored. */
  readonly jobLatency: Histogram<'model'>;
  /** `scoreq_webhook_deliveries_total`: webhook delivery attempts by outcome. */
  readonly webhookDeliveries: Counter<'outcome'>;
  /** `scoreq_run_rows_total`: rows of batch runs by outcome. */
  readonly runRows: Counter<'run' | 'outcome'>;
  /**
   * Registers the gauge `scoreq_queue_jobs{queue,state}`, filled on each scrape by calling
   * `source` (e.g. BullMQ `getJobCounts` per queue). A source that throws, rejects or
   * outlasts `sourceTimeoutMs` is logged and counted in
   * `scoreq_metrics_source_errors_total{source="queue_depth"}`, and the gauge has no samples
   * in that scrape; the scrape itself still succeeds. Calling it again replaces the source.
   */
  observeQueueDepth(source: () => Promise<QueueDepth[]>): void;
  /**
   * Registers the gauges `scoreq_pool_utilization` (0..1), `scoreq_pool_queue_size` and
   * `scoreq_pool_threads`, read from `source` on each scrape (once per gauge). Failures are
   * handled as in {@link ScoreqMetrics.observeQueueDepth}, with `source="pool"`. Calling it
   * again replaces the source.
   */
  observePool(source: () => PoolStats): void;
}

/**
 * Creates every scoreq metric on `opts.registry` (a fresh registry by default).
 *
 * @throws ScoreqError `INVALID_OPTION` when `sourceTimeoutMs` is not a positive number.
 * @throws Error from prom-client when the registry already holds a scoreq metric.
 */
export function createMetrics(opts: MetricsOptions = {}): ScoreqMetrics {
  const sourceTimeoutMs = opts.sourceTimeoutMs ?? METRICS_DEFAULTS.sourceTimeoutMs;
  if (!(Number.isFinite(sourceTimeoutMs) && sourceTimeoutMs > 0)) {
    throw new ScoreqError('INVALID_OPTION', `options.sourceTimeoutMs must be a positive number of milliseconds; got ${String(sourceTimeoutMs)}`, {
      option: 'sourceTimeoutMs',
    });
  }
  const registry = opts.registry ?? new Registry();
  if (opts.defaultMetrics ?? METRICS_DEFAULTS.defaultMetrics) {
    collectDefaultMetrics({ register: registry, prefix: 'scoreq_' });
  }
  const registers = [registry];
  const latency = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Histogram<L>({ name, help, labelNames, buckets: [...LATENCY_BUCKETS_SECONDS], registers });

  const recorded = {
    registry,
    jobs: new Counter({
      name: 'scoreq_jobs_total',
      help: 'Jobs finished by this worker. outcome: completed, failed or cancelled; code: the scoreq error code of a failed or cancelled job, empty when completed.',
      labelNames: ['model', 'version', 'outcome', 'code'] as const,
      registers,
    }),
    rows: new Counter({
      name: 'scoreq_rows_scored_total',
      help: 'Rows scored by inference, summed over batches.',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    batches: new Counter({
      name: 'scoreq_batches_total',
      help: 'Batches sent to the inference pool. reason: why the batcher sent it (full, delay, drain, deadline or single).',
      labelNames: ['model', 'version', 'reason'] as const,
      registers,
    }),
    batchRows: new Histogram({
      name: 'scoreq_batch_rows',
      help: 'Rows per batch sent to the inference pool; low values under load mean the batch delay is too short or concurrency too low.',
      labelNames: ['model', 'version'] as const,
      buckets: [...BATCH_ROWS_BUCKETS],
      registers,
    }),
    queueWait: latency(
      'scoreq_queue_wait_seconds',
      'Seconds from a job being enqueued to this worker receiving it (queue backlog; includes clock skew between producer and worker).',
      ['model'] as const,
    ),
    batchWait: latency(
      'scoreq_batch_wait_seconds',
      'Seconds from a job being received to its batch being dispatched to the pool (time spent filling the batch).',
      ['model'] as const,
    ),
    poolWait: latency('scoreq_pool_wait_seconds', 'Seconds from a batch being dispatched to the pool to inference starting in a thread (all threads busy).', [
      'model',
    ] as const),
    inference: latency('scoreq_inference_seconds', "Seconds one batch's execution took in a pool thread.", ['model', 'version'] as const),
    jobLatency: latency('scoreq_job_latency_seconds', 'Seconds from a job being enqueued to its result being stored (end-to-end latency seen by clients).', [
      'model',
    ] as const),
    webhookDeliveries: new Counter({
      name: 'scoreq_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome.',
      labelNames: ['outcome'] as const,
      registers,
    }),
    runRows: new Counter({
      name: 'scoreq_run_rows_total',
      help: 'Rows processed by batch runs, by run id and outcome.',
      labelNames: ['run', 'outcome'] as const,
      registers,
    }),
  };
  // Created after the recorded metrics so the exposition lists those first.
  const gauges = createSourceGauges({ registry, logger: opts.logger, sourceTimeoutMs });
  return { ...recorded, ...gauges };
}
