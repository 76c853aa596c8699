import { z } from 'zod';
import type { ErrorInfo } from './errors.js';

/** A feature value: numbers, booleans (fed as 1/0), category strings, or null for "use the default". */
export type FeatureValue = number | string | boolean | null;
/** One row of named features: `{ age: 41, income: 52000 }`. */
export type FeatureRow = Record<string, FeatureValue>;

/** An input tensor in Open Inference Protocol form. `data` is flat, row-major. */
export interface InputTensor {
  name: string;
  /** OIP datatype, e.g. FP32, INT64, BOOL. */
  datatype: string;
  shape: number[];
  data: (number | boolean)[];
}

const featureRow = z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()]));
const inputTensor = z.object({
  name: z.string().min(1),
  datatype: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  data: z.array(z.union([z.number(), z.boolean()])),
});

/**
 * What a producer puts on queue `score-<model>`, from the SDK or from any BullMQ client in
 * any language. Exactly one of `rows` and `tensors`.
 */
export const scoreJobDataSchema = z
  .object({
    model: z.string(),
    /** Version number or alias. @defaultValue "production" */
    version: z.string().min(1).optional(),
    rows: z.array(featureRow).min(1).optional(),
    tensors: z.array(inputTensor).min(1).optional(),
    /** Names of the outputs to return for tensor jobs; all when omitted. */
    outputs: z.array(z.string()).optional(),
    callbackUrl: z.string().url().optional(),
    tenant: z.string().max(128).optional(),
    /** Epoch ms after which the job must not be scored (it fails with DEADLINE_EXCEEDED). */
    deadline: z.number().optional(),
    /** Epoch ms (sub-ms precision) when the producer enqueued the job. */
    enqueuedAt: z.number().optional(),
    /** Seconds the result is kept in Redis. */
    resultTtlSec: z.number().int().positive().optional(),
  })
  .refine((d) => (d.rows === undefined) !== (d.tensors === undefined), {
    message: 'give exactly one of rows or tensors',
    path: ['rows'],
  });
export type ScoreJobData = z.infer<typeof scoreJobDataSchema>;

/** How one row was scored, shaped by the model metadata's `output.kind`. */
export interface RowOutput {
  /** Predicted class (classification). */
  label?: string;
  /** Probability of the predicted class (classification) or the single output value (regression). */
  score?: number;
  /** Probability per class label (classification). */
  scores?: Record<string, number>;
  /** The regression value, when the output has one column. */
  value?: number;
  /** Every output's values for this row, by output name (raw). */
  outputs?: Record<string, number[]>;
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

/** Why a micro-batch left the batcher. */
export type FlushReason = 'full' | 'delay' | 'drain' | 'deadline' | 'single' | 'bulk';

/**
 * Every stage of a job on one clock (epoch ms, sub-ms precision), plus the derived spans.
 * queued = received − enqueued; batchWait = dispatched − received;
 * poolWait = inferenceStarted − dispatched (measured in the pool thread);
 * inference = inferenceEnded − inferenceStarted; total = settled − enqueued.
 */
export interface Timings {
  enqueuedAt: number;
  receivedAt: number;
  dispatchedAt: number;
  inferenceStartedAt: number;
  inferenceEndedAt: number;
  settledAt: number;
  queuedMs: number;
  batchWaitMs: number;
  poolWaitMs: number;
  inferenceMs: number;
  totalMs: number;
}

/**
 * The stages a failed job did go through: enqueued, received by a worker, and settled (when
 * it failed), with the spans between them. Whatever failed in between (a batch, the pool) has
 * no stage times of its own here.
 */
export type FailureTimings = Pick<Timings, 'enqueuedAt' | 'receivedAt' | 'settledAt' | 'queuedMs' | 'totalMs'>;

export interface BatchInfo {
  id: string;
  rows: number;
  jobs: number;
  reason: FlushReason;
}

/** The outcome of a scored job. */
export interface ScoreResult {
  model: string;
  /** The exact version that scored the job. */
  version: string;
  rows?: RowOutput[];
  tensors?: OutputTensor[];
  batch: BatchInfo;
  timings: Timings;
}

export type JobStatus = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

/**
 * What is stored at the result key of a finished job (see `keys(prefix).result`), and what
 * `getResult` returns. Written once per outcome, with the job's result TTL.
 */
export type JobRecord =
  | { id: string; status: 'completed'; result: ScoreResult; finishedAt: string; tenant?: string }
  | {
      id: string;
      status: 'failed' | 'cancelled';
      model: string;
      version?: string;
      error: ErrorInfo;
      finishedAt: string;
      tenant?: string;
      /** Of a job that failed in a worker; absent when it was cancelled before one took it. */
      timings?: FailureTimings;
    };

/**
 * Parses job data as the worker receives it, once per job. The common shape (named rows,
 * optional scalar fields) is checked by hand — about ten times cheaper than the schema on a
 * 32-feature row, which matters at thousands of jobs a second; anything else goes through
 * {@link scoreJobDataSchema} so errors read the same. Feature values are checked later, by
 * the input codec, which names the field.
 */
export function parseScoreJobData(raw: unknown): { ok: true; data: ScoreJobData } | { ok: false; field: string; message: string } {
  if (isCommonShape(raw)) return { ok: true, data: raw };
  const parsed = scoreJobDataSchema.safeParse(raw);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { ok: false, field: issue.path.join('.') || 'data', message: issue.message };
}

function isCommonShape(raw: unknown): raw is ScoreJobData {
  if (typeof raw !== 'object' || raw === null) return false;
  const d = raw as Record<string, unknown>;
  if (typeof d['model'] !== 'string' || d['tensors'] !== undefined || d['callbackUrl'] !== undefined || d['outputs'] !== undefined) return false;
  const rows = d['rows'];
  if (!Array.isArray(rows) || rows.length === 0) return false;
  for (const row of rows) if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
  return (
    optional(d['version'], (v) => typeof v === 'string' && v.length > 0) &&
    optional(d['tenant'], (v) => typeof v === 'string' && v.length <= 128) &&
    optional(d['deadline'], (v) => typeof v === 'number') &&
    optional(d['enqueuedAt'], (v) => typeof v === 'number') &&
    optional(d['resultTtlSec'], (v) => Number.isInteger(v) && (v as number) > 0)
  );
}

function optional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || check(value);
}
