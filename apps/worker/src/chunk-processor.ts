import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  base64ToFloat32,
  bytesToFloat32,
  chunkJobDataSchema,
  ERROR_CODES,
  float32ToBase64,
  keys,
  ScoreqError,
  toErrorInfo,
  type ChunkJobData,
} from '@scoreq/contracts';
import type { ProcessorDeps } from './job-processor.js';

/** Where chunk inputs are read from: the worker's result connection and key prefix. */
export interface ChunkInputSource {
  redis: Redis;
  prefix: string;
}

/** What a chunk job returns; the scored rows live at the chunk result key. */
export interface ChunkReturn {
  version: string;
  rows: number;
}

/**
 * The processor of a model's bulk queue: one overnight-run chunk per job. The producer has
 * already validated and encoded the rows, so the chunk goes to the batcher as one binary
 * matrix in the bulk lane, where real-time jobs keep priority.
 */
export function createChunkProcessor(deps: ProcessorDeps, inputs: ChunkInputSource): (job: Job) => Promise<ChunkReturn> {
  const { model, results, metrics } = deps;
  const { redis } = inputs;
  const redisKeys = keys(inputs.prefix);
  return async (job) => {
    try {
      const data = parseChunk(job.data, model.name);
      if (await results.runCancelled(data.run.id)) throw new ScoreqError('CANCELLED', `run ${data.run.id} was cancelled`);
      const served = await model.resolve(data.version);
      const inputKey = redisKeys.chunkInput(job.id!);
      const features = data.features === undefined ? await readInput(redis, inputKey) : base64ToFloat32(data.features);
      if (features === undefined) {
        // A replay of a chunk whose result is already stored (its input was deleted then).
        if ((await redis.exists(redisKeys.chunkResult(job.id!))) === 1) return { version: served.record.version, rows: data.rows };
        throw new ScoreqError('INVALID_INPUT', `chunk input ${inputKey} is gone (it lives resultTtlSec seconds); resume the run to write it again`, {
          field: 'features',
        });
      }
      const encoded = served.codec.encodeMatrix(features, data.rows, data.width);
      const scored = await served.batcher.submit({ ...encoded, lane: 'bulk' });
      const main = served.codec.mainValues(scored.outputs);
      const inferenceMs = scored.inferenceEndedAt - scored.inferenceStartedAt;
      await results.putChunk(
        job.id!,
        { version: served.record.version, rows: data.rows, output: { name: main.name, width: main.width, data: float32ToBase64(main.data) }, inferenceMs },
        data.resultTtlSec ?? deps.resultTtlSec,
      );
      if (data.features === undefined) await redis.unlink(inputKey);
      metrics.rows.inc({ model: model.name, version: served.record.version }, data.rows);
      return { version: served.record.version, rows: data.rows };
    } catch (err) {
      const info = toErrorInfo(err);
      deps.logger.warn({ jobId: job.id, model: model.name, code: info.code }, info.message);
      if (ERROR_CODES[info.code].retryable) throw new Error(`${info.code}: ${info.message}`);
      throw new UnrecoverableError(`${info.code}: ${info.message}`);
    }
  };
}

async function readInput(redis: Redis, key: string): Promise<Float32Array | undefined> {
  const bytes = await redis.getBuffer(key);
  return bytes === null ? undefined : bytesToFloat32(bytes);
}

function parseChunk(raw: unknown, model: string): ChunkJobData {
  const parsed = chunkJobDataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'data';
    throw new ScoreqError('INVALID_INPUT', `chunk data: ${field}: ${issue.message}`, { field });
  }
  if (parsed.data.model !== model) {
    throw new ScoreqError('INVALID_INPUT', `chunk names model '${parsed.data.model}' but sits on the bulk queue of '${model}'`, { field: 'model' });
  }
  return parsed.data;
}
