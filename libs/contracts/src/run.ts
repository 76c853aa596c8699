import { z } from 'zod';

/** Run ids: letters, digits, `_` and `-`, so they fit in job ids and Redis keys. */
export const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A chunk of an overnight run, on queue `score-<model>-bulk`. Rows travel as one binary
 * matrix (a little-endian Float32Array, rows × width, already in the model's feature order
 * and scaled), never as JSON numbers: as raw bytes at `keys(prefix).chunkInput(jobId)` (what
 * `scoreq run` writes: no base64, and the job's JSON stays small), or base64 in `features`.
 * Job id: `<model>.<runId>-c<chunk>`.
 */
export const chunkJobDataSchema = z.object({
  model: z.string(),
  /** The exact version number the run was pinned to when it started. */
  version: z.string().regex(/^\d+$/),
  run: z.object({ id: z.string().regex(RUN_ID), chunk: z.number().int().nonnegative() }),
  rows: z.number().int().positive(),
  /** base64 Float32Array of rows × width values; when absent the bytes are at `keys(prefix).chunkInput(jobId)`. */
  features: z.string().optional(),
  width: z.number().int().positive(),
  enqueuedAt: z.number().optional(),
  /** Seconds the chunk result is kept. */
  resultTtlSec: z.number().int().positive().optional(),
});
export type ChunkJobData = z.infer<typeof chunkJobDataSchema>;

/**
 * What the worker stores at `keys(prefix).chunkResult(jobId)` for a scored chunk: the model's
 * main output (metadata `output.name`, else the first float output) as base64 Float32Array,
 * rows × width. The run's writer formats rows from it with `formatRow`.
 */
export interface ChunkResult {
  version: string;
  rows: number;
  output: { name: string; width: number; data: string };
  inferenceMs: number;
}

/** A Float32Array's bytes as a Buffer, uncopied (little-endian on every platform Node runs on here). */
export function float32Bytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** Copies raw float32 bytes into a Float32Array that owns its buffer (so it can be transferred). */
export function bytesToFloat32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`payload of ${bytes.byteLength} bytes is not a whole number of float32 values`);
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function chunkJobId(model: string, runId: string, chunk: number): string {
  return `${model}.${runId}-c${chunk}`;
}

/** base64 of a Float32Array's bytes (little-endian on every platform Node runs on here). */
export function float32ToBase64(values: Float32Array): string {
  return float32Bytes(values).toString('base64');
}

/** Decodes base64 into a Float32Array that owns its buffer (so it can be transferred). */
export function base64ToFloat32(text: string): Float32Array {
  return bytesToFloat32(Buffer.from(text, 'base64'));
}
