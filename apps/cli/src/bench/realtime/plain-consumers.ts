import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { FeatureRow } from '@scoreq/contracts';
import { InferencePool, ModelCodec } from '@scoreq/inference';
import { once, type Consumer, type ConsumerSettings } from './consumer.js';

/** What `noop` returns for every job. */
const NOOP_RESULT = 'ok';

/**
 * A plain BullMQ Worker on the bench queue, configured as scoreq's own (a connection with
 * `maxRetriesPerRequest: null`, the same prefix and concurrency); the job options come with
 * the jobs, so they are the same for every system.
 */
async function plainWorker<R>(s: ConsumerSettings, processor: (job: Job<{ rows: FeatureRow[] }>) => Promise<R>): Promise<{ stop: () => Promise<void> }> {
  const connection = new Redis(s.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (err) => s.logger.warn({ err: err.message }, 'bench worker redis error'));
  const worker = new Worker<{ rows: FeatureRow[] }, R>(s.queue, processor, { connection, prefix: s.prefix, concurrency: s.concurrency, autorun: true });
  worker.on('error', (err) => s.logger.error({ err }, 'bench worker error'));
  const stop = async (): Promise<void> => {
    await worker.close().catch((err: unknown) => s.logger.error({ err }, 'bench worker close failed'));
    await connection.quit().catch(() => connection.disconnect());
  };
  try {
    await worker.waitUntilReady();
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** Baseline `noop`: a plain BullMQ Worker whose processor returns a constant — the queue's own ceiling. */
export async function startNoopConsumer(s: ConsumerSettings): Promise<Consumer> {
  const { stop } = await plainWorker(s, () => Promise.resolve(NOOP_RESULT));
  return { system: 'noop', afterDrain: () => Promise.resolve(undefined), close: once(stop) };
}

/**
 * Baseline `naive`: what a user writes in an afternoon. A plain BullMQ Worker that, per job,
 * encodes the row with scoreq's codec, runs it as one pool task (a batch of 1) on a pool
 * with the same threads, decodes, and returns the scores as the job's return value.
 */
export async function startNaiveConsumer(s: ConsumerSettings): Promise<Consumer> {
  const { model } = s;
  const pool = new InferencePool({ threads: s.threads, onError: (err) => s.logger.error({ err }, 'naive pool error') });
  const key = `${model.name}@${model.version}#${model.sha256.slice(0, 12)}`;
  let codec: ModelCodec;
  try {
    const loaded = await pool.load(key, model.path);
    codec = new ModelCodec({
      version: model.version,
      sha256: model.sha256,
      size: model.size,
      createdAt: new Date().toISOString(),
      signature: loaded.signature,
      metadata: model.metadata,
    });
  } catch (err) {
    await pool.close();
    throw err;
  }
  let stopWorker: () => Promise<void>;
  try {
    ({ stop: stopWorker } = await plainWorker(s, async (job) => {
      const { inputs } = codec.encode(job.data);
      const reply = await pool.run({ key, path: model.path, inputs, fixedBatch: null });
      if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
      return codec.decode(reply.outputs, false).rows;
    }));
  } catch (err) {
    await pool.close();
    throw err;
  }
  return {
    system: 'naive',
    afterDrain: () => Promise.resolve(undefined),
    // Worker first, then the pool: never stop a thread inside session.run (STACK-NOTES trap 1).
    close: once(async () => {
      await stopWorker();
      await pool.close();
    }),
  };
}
