/**
 * Logs, metrics and the /metrics + /healthz server of every scoreq process. Nothing here is
 * global: the logger, the registry and the server are created by the caller and passed on.
 *
 * @example
 * ```ts
 * import { createLogger, createMetrics, startMetricsServer } from '@scoreq/telemetry';
 *
 * const logger = createLogger({ level: 'info', service: 'scoreq-worker' });
 * const metrics = createMetrics({ logger });
 * metrics.observePool(() => ({ utilization: pool.utilization, queueSize: pool.queueSize, threads: pool.threads.length }));
 * metrics.observeQueueDepth(async () => {
 *   const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
 *   return Object.entries(counts).map(([state, count]) => ({ queue: queue.name, state, count }));
 * });
 *
 * // On the main thread, when a batch comes back from the pool:
 * metrics.batches.inc({ model: 'churn', version: '3', reason: 'full' });
 * metrics.inference.observe({ model: 'churn', version: '3' }, result.inferenceSeconds);
 *
 * const server = await startMetricsServer({
 *   registry: metrics.registry,
 *   port: 9464,
 *   logger,
 *   health: () => ({ status: draining ? 'draining' : 'ok', details: { models: 2 } }),
 * });
 * logger.info({ url: server.url }, 'metrics server listening');
 * // ... on shutdown:
 * await server.close();
 * ```
 */
export { createLogger } from './logger.js';
export type { DestinationStream, Logger, LoggerOptions } from './logger.js';
export { BATCH_ROWS_BUCKETS, LATENCY_BUCKETS_SECONDS, createMetrics } from './metrics.js';
export type { BatchReason, JobOutcome, MetricsOptions, PoolStats, QueueDepth, ScoreqMetrics } from './metrics.js';
export { startMetricsServer } from './metrics-server.js';
export type { HealthReport, MetricsServer, MetricsServerOptions } from './metrics-server.js';
