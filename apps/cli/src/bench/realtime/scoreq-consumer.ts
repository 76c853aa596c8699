import { Redis } from 'ioredis';
import { keys, resultId, ScoreqError, type EnvConfig, type JobRecord } from '@scoreq/contracts';
import { createLogger } from '@scoreq/telemetry';
import { startWorker } from '@scoreq/worker';
import { percentile } from '../stats.js';
import { once, type Consumer, type ConsumerSettings, type ScoredDrain } from './consumer.js';

/** Result keys read (MGET) or removed (UNLINK) per round trip. */
const RESULT_CHUNK = 1_000;

/**
 * The system under test: scoreq's own worker, in process, configured from the environment
 * with the bench's Redis, prefix, models directory, threads, concurrency and batching
 * settings. No metrics server; logs at the bench's level, to stderr.
 */
export async function startScoreqConsumer(s: ConsumerSettings): Promise<Consumer> {
  const config: EnvConfig = Object.freeze({
    ...s.config,
    REDIS_URL: s.redisUrl,
    SCOREQ_PREFIX: s.prefix,
    // The bench writes its model files to a temp directory rather than pushing them to the registry.
    SCOREQ_MODEL_SOURCE: 'directory',
    SCOREQ_MODELS_DIR: s.modelsDir,
    SCOREQ_POOL_THREADS: s.threads,
    SCOREQ_WORKER_CONCURRENCY: s.concurrency,
    SCOREQ_MAX_BATCH_ROWS: s.maxBatchRows,
    SCOREQ_MAX_DELAY_MS: s.maxDelayMs,
    SCOREQ_METRICS_PORT: 0,
    SCOREQ_METRICS_HOST: '127.0.0.1',
    LOG_LEVEL: s.logLevel,
  });
  const logger = createLogger({ level: s.logLevel, service: 'scoreq-bench-worker', destination: process.stderr });
  const worker = await startWorker({ config, models: [s.model.name], logger, metricsServer: false });
  const redis = new Redis(s.redisUrl, { maxRetriesPerRequest: 3 });
  const resultKey = keys(s.prefix).result;
  redis.on('error', (err) => s.logger.warn({ err: err.message }, 'bench result reader redis error'));
  return {
    system: 'scoreq',
    // Bench jobs have BullMQ's counter ids; scoreq keys their results by `<model>.<id>`.
    afterDrain: (ids) => readResults(redis, (id) => resultKey(resultId(s.model.name, id)), ids),
    close: once(async () => {
      await worker.close();
      await redis.quit().catch(() => redis.disconnect());
    }),
  };
}

/**
 * Reads the result record of every job of a drain, checks each was scored, and removes them.
 * The mean batch size is rows over distinct batches (what `scoreq_batch_rows` would say);
 * latencies are per job.
 */
async function readResults(redis: Redis, resultKeyOf: (jobId: string) => string, ids: readonly string[]): Promise<ScoredDrain> {
  const batches = new Map<string, number>();
  const latencies: number[] = [];
  for (let first = 0; first < ids.length; first += RESULT_CHUNK) {
    const chunk = ids.slice(first, first + RESULT_CHUNK).map(resultKeyOf);
    const values = await redis.mget(...chunk);
    values.forEach((text, i) => {
      if (text === null) throw new ScoreqError('INTERNAL', `scoreq completed a job but stored no result at ${chunk[i]}`);
      const record = JSON.parse(text) as JobRecord;
      if (record.status !== 'completed') {
        throw new ScoreqError('INTERNAL', `scoreq did not score bench job ${record.id}: ${record.status} (${record.error.code}: ${record.error.message})`);
      }
      const { batch, timings } = record.result;
      batches.set(batch.id, batch.rows);
      latencies.push(timings.totalMs - timings.queuedMs);
    });
    await redis.unlink(...chunk);
  }
  let rows = 0;
  for (const n of batches.values()) rows += n;
  latencies.sort((a, b) => a - b);
  return {
    meanBatchRows: batches.size > 0 ? rows / batches.size : Number.NaN,
    workerP50Ms: percentile(latencies, 50),
    workerP99Ms: percentile(latencies, 99),
  };
}
