/**
 * The scoreq worker: consumes `score-<model>` queues, micro-batches rows into onnxruntime
 * sessions on a Piscina pool, and stores each result in Redis before completing its job.
 *
 * @example
 * ```ts
 * import { loadConfig } from '@scoreq/contracts';
 * import { startWorker } from '@scoreq/worker';
 * const worker = await startWorker({ config: loadConfig(), models: ['churn'] });
 * process.once('SIGTERM', () => void worker.close());
 * ```
 */
export { startWorker, type ScoringWorker, type WorkerOptions } from './scoring-worker.js';
export type { JobReturn } from './job-processor.js';
