import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { bulkQueueName, queueName, ScoreqError, WEBHOOK_QUEUE, type EnvConfig } from '@scoreq/contracts';
import { InferencePool, type BatchRecord } from '@scoreq/inference';
import { DirectoryModelSource, publishModelRecord, RegistryModelSource, registryOptionsFromConfig, type ModelSource } from '@scoreq/registry';
import { createWebhookNotifier, deliveryOptionsFromConfig, startDeliveryWorker, WebhookEndpointCache, type DeliveryWorker } from '@scoreq/webhooks';
import { createLogger, createMetrics, startMetricsServer, type Logger, type MetricsServer, type ScoreqMetrics } from '@scoreq/telemetry';
import { BullFactory } from './bullmq-factory.js';
import { createChunkProcessor } from './chunk-processor.js';
import { HotReloader } from './hot-reload.js';
import { createProcessor } from './job-processor.js';
import { ResultStore } from './result-store.js';
import { ServedModel } from './served-model.js';

export interface WorkerOptions {
  /** Validated configuration, usually `loadConfig()`. */
  config: EnvConfig;
  /** Models to serve; every model of the source when omitted. */
  models?: string[];
  logger?: Logger;
  metrics?: ScoreqMetrics;
  /** Where models come from. @defaultValue the registry, or a directory when SCOREQ_MODEL_SOURCE=directory */
  source?: ModelSource;
  /** Serve /metrics and /healthz on SCOREQ_METRICS_PORT. @defaultValue true */
  metricsServer?: boolean;
}

export interface ScoringWorker {
  readonly models: readonly string[];
  /** Base URL of the metrics server, when it runs. */
  readonly metricsUrl: string | undefined;
  readonly metrics: ScoreqMetrics;
  /** Stops fetching, finishes batches in flight, stores their results, then stops. Idempotent. */
  close(): Promise<void>;
}

type State = 'running' | 'draining' | 'closed';

/**
 * Starts a worker: loads and warms every served model version in the pool, publishes their
 * records for producers, then consumes one BullMQ queue per model. Resolves once consuming.
 */
export async function startWorker(options: WorkerOptions): Promise<ScoringWorker> {
  const { config } = options;
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL, service: 'scoreq-worker' });
  const metrics = options.metrics ?? createMetrics();
  const factory = new BullFactory(config.REDIS_URL, config.SCOREQ_PREFIX);
  const pool = new InferencePool({ threads: config.SCOREQ_POOL_THREADS, onError: (err) => logger.error({ err }, 'inference pool error') });
  const connections: Redis[] = [];
  const workers: Worker[] = [];
  const queues: Queue[] = [];
  const served: ServedModel[] = [];
  let server: MetricsServer | undefined;
  let deliveries: DeliveryWorker | undefined;
  let state: State = 'running';
  let unwatch: () => Promise<void> = async () => undefined;

  const close = memoise(async () => {
    state = 'draining';
    logger.info('worker draining');
    const steps: Array<() => Promise<unknown>> = [
      () => unwatch(),
      () => Promise.all(workers.map((w) => w.close())),
      () => Promise.all(served.map((m) => m.drain())),
      // Every final webhook is queued by now; deliveries in flight finish (each bounded by its timeout).
      async () => deliveries?.close(),
      () => pool.close(),
      () => Promise.all(queues.map((q) => q.close())),
      () => Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect()))),
      async () => server?.close(),
    ];
    for (const step of steps) {
      await step().catch((err: unknown) => logger.error({ err }, 'worker close step failed'));
    }
    state = 'closed';
    logger.info('worker closed');
  });

  try {
    const results = connection(factory.resultConnection());
    const source = options.source ?? defaultSource(config, results, logger);
    const names = options.models?.length ? options.models : await source.listModels();
    if (names.length === 0) throw new ScoreqError('MODEL_NOT_FOUND', `no models to serve: the ${config.SCOREQ_MODEL_SOURCE} source is empty`);
    const store = new ResultStore(results, config.SCOREQ_PREFIX);
    const webhookQueue = factory.queue(WEBHOOK_QUEUE, results);
    queues.push(webhookQueue);
    const onFinished = createWebhookNotifier({ queue: webhookQueue });
    const endpoints = new WebhookEndpointCache({ redis: results, prefix: config.SCOREQ_PREFIX });
    deliveries = await startDeliveryWorker({
      connection: connection(factory.workerConnection()),
      prefix: config.SCOREQ_PREFIX,
      logger,
      metrics,
      ...deliveryOptionsFromConfig(config),
    });
    const onBatch = batchObserver(metrics, logger);
    const defaults = {
      maxBatchRows: config.SCOREQ_MAX_BATCH_ROWS,
      maxDelayMs: config.SCOREQ_MAX_DELAY_MS,
      capacityJobs: config.SCOREQ_WORKER_CONCURRENCY,
      reservedThreads: config.SCOREQ_REALTIME_RESERVED_THREADS,
    };
    for (const name of names) {
      const model = await source.getModel(name);
      if (!model) throw new ScoreqError('MODEL_NOT_FOUND', `model '${name}' is not in the model source`, { model: name });
      const loaded = await ServedModel.open(model, { pool, defaults, onBatch, logger, eager: !source.publishesRecords });
      served.push(loaded);
      if (!source.publishesRecords) await publishModelRecord(results, config.SCOREQ_PREFIX, await loaded.record());
    }
    const consumerOptions = {
      resultTtlSec: config.SCOREQ_RESULT_TTL_SEC,
      lockDurationMs: config.SCOREQ_LOCK_DURATION_MS,
      stalledIntervalMs: config.SCOREQ_STALLED_INTERVAL_MS,
      maxStalledCount: config.SCOREQ_MAX_STALLED_COUNT,
    };
    for (const model of served) {
      const deps = {
        model,
        results: store,
        metrics,
        logger,
        maxJobRows: config.SCOREQ_MAX_JOB_ROWS,
        resultTtlSec: config.SCOREQ_RESULT_TTL_SEC,
        onFinished,
        endpoints,
      };
      // One consumer for real-time jobs, one for run chunks: the same settings but concurrency.
      const consumers = [
        factory.worker(queueName(model.name), createProcessor(deps), {
          ...consumerOptions,
          concurrency: config.SCOREQ_WORKER_CONCURRENCY,
          connection: connection(factory.workerConnection()),
        }),
        factory.worker(bulkQueueName(model.name), createChunkProcessor(deps, { redis: results, prefix: config.SCOREQ_PREFIX }), {
          ...consumerOptions,
          concurrency: config.SCOREQ_BULK_CONCURRENCY,
          connection: connection(factory.workerConnection()),
        }),
      ];
      for (const w of consumers) {
        w.on('error', (err) => logger.error({ err, model: model.name, queue: w.name }, 'bullmq worker error'));
        workers.push(w);
      }
      queues.push(factory.queue(queueName(model.name), results), factory.queue(bulkQueueName(model.name), results));
    }
    unwatch = await new HotReloader(source, served, logger).start();
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    metrics.observePool(() => ({ utilization: pool.utilization, queueSize: pool.queueSize, threads: pool.threads }));
    metrics.observeQueueDepth(() => queueDepths(queues));
    if (options.metricsServer !== false) {
      server = await startMetricsServer({
        registry: metrics.registry,
        port: config.SCOREQ_METRICS_PORT,
        host: config.SCOREQ_METRICS_HOST,
        health: () => ({ status: state === 'running' ? 'ok' : 'draining', details: { models: names } }),
      });
    }
    logger.info({ models: names, threads: pool.threads, concurrency: config.SCOREQ_WORKER_CONCURRENCY, metrics: server?.url }, 'worker ready');
  } catch (err) {
    await close();
    throw err;
  }

  return {
    models: served.map((m) => m.name),
    metricsUrl: server?.url,
    metrics,
    close,
  };

  function connection(redis: Redis): Redis {
    connections.push(redis);
    redis.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
    return redis;
  }
}

function defaultSource(config: EnvConfig, redis: Redis, logger: Logger): ModelSource {
  if (config.SCOREQ_MODEL_SOURCE === 'directory') return new DirectoryModelSource(config.SCOREQ_MODELS_DIR);
  return new RegistryModelSource(registryOptionsFromConfig(config, redis), (err) => logger.warn({ err: err.message }, 'model events connection'));
}

function batchObserver(metrics: ScoreqMetrics, logger: Logger) {
  return (model: string, version: string, r: BatchRecord): void => {
    metrics.batches.inc({ model, version, reason: r.reason });
    metrics.batchRows.observe({ model, version }, r.rows);
    metrics.poolWait.observe({ model }, r.poolWaitMs / 1000);
    metrics.inference.observe({ model, version }, r.executionMs / 1000);
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        { model, version, batchId: r.id, rows: r.rows, jobs: r.jobs, reason: r.reason, poolWaitMs: r.poolWaitMs, executionMs: r.executionMs, error: r.error },
        'batch',
      );
    }
  };
}

async function queueDepths(queues: Queue[]): Promise<Array<{ queue: string; state: string; count: number }>> {
  const rows: Array<{ queue: string; state: string; count: number }> = [];
  for (const q of queues) {
    const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
    for (const [state, count] of Object.entries(counts)) rows.push({ queue: q.name, state, count });
  }
  return rows;
}

function memoise(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
