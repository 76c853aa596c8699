import type { JobsOptions } from 'bullmq';
import { now, resolveVersion, ScoreqError, validateInput, type FeatureRow, type InputTensor, type ModelRecord, type ScoreJobData } from '@scoreq/contracts';
import { invalidOption } from './checks.js';
import type { ResolvedSubmitOptions } from './options.js';

/** A job's input: named feature rows, or Open Inference Protocol tensors. */
export type ScoreInput = { rows: FeatureRow[]; tensors?: undefined } | { tensors: InputTensor[]; rows?: undefined };

/** Base delay of the exponential retry backoff, in ms (1 s, 2 s, 4 s, …). */
const BACKOFF_DELAY_MS = 1_000;

function invalid(message: string, field: string): ScoreqError {
  return new ScoreqError('INVALID_INPUT', message, { field });
}

/**
 * Checks the outer shape of an input (exactly one non-empty `rows` or `tensors`, tensors
 * well-formed) so the contracts' validator, which trusts types, never meets a malformed value.
 */
export function assertInputShape(input: unknown): asserts input is ScoreInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('input must be an object with rows or tensors', 'input');
  for (const key of Object.keys(input)) {
    if (key !== 'rows' && key !== 'tensors') throw invalid(`input has unknown field '${key}' (give rows or tensors)`, key);
  }
  const { rows, tensors } = input as { rows?: unknown; tensors?: unknown };
  if ((rows === undefined) === (tensors === undefined)) throw invalid('input must have exactly one of rows or tensors', 'input');
  const field = rows === undefined ? 'tensors' : 'rows';
  const list = rows ?? tensors;
  if (!Array.isArray(list) || list.length === 0) throw invalid(`${field} must be a non-empty array`, field);
  if (rows !== undefined) return;
  list.forEach((t: unknown, i) => {
    const f = `tensors[${i}]`;
    const x = t as Partial<Record<keyof InputTensor, unknown>> | null;
    if (typeof x !== 'object' || x === null) throw invalid(`${f} must be an object`, f);
    if (typeof x.name !== 'string' || x.name === '') throw invalid(`${f}.name must be a non-empty string`, `${f}.name`);
    if (typeof x.datatype !== 'string') throw invalid(`${f}.datatype must be a string such as FP32`, `${f}.datatype`);
    if (!Array.isArray(x.shape) || !x.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw invalid(`${f}.shape must be an array of non-negative integers`, `${f}.shape`);
    if (!Array.isArray(x.data)) throw invalid(`${f}.data must be an array`, `${f}.data`);
  });
}

/**
 * Checks an input against the model version it would run on: the version reference, the
 * rows or tensors (INVALID_INPUT naming the field), the row count (JOB_TOO_LARGE) and the
 * requested outputs.
 */
export function validateJob(record: ModelRecord, input: ScoreInput, options: ResolvedSubmitOptions, maxJobRows: number): void {
  const version = resolveVersion(record, options.version);
  const rows = validateInput(version, input, maxJobRows);
  if (rows === 0) throw invalid('the job has no rows (batch size 0)', input.rows ? 'rows' : 'tensors');
  const outputs = new Set(version.signature.outputs.map((o) => o.name));
  options.outputs?.forEach((name, i) => {
    if (!outputs.has(name))
      throw invalidOption(`outputs[${i}]`, `names '${name}', which model ${record.name} v${version.version} lacks (outputs: ${[...outputs].join(', ')})`);
  });
}

/** A job ready for `queue.add` / `queue.addBulk`. */
export interface BuiltJob {
  data: ScoreJobData;
  opts: JobsOptions & { jobId: string };
}

/** Builds the job data and BullMQ options of one validated input. */
export function buildJob(model: string, id: string, input: ScoreInput, o: ResolvedSubmitOptions): BuiltJob {
  const data: ScoreJobData = {
    model,
    ...(input.rows ? { rows: input.rows } : { tensors: input.tensors }),
    enqueuedAt: now(),
    resultTtlSec: o.resultTtlSec,
  };
  // Absent fields stay absent: the worker applies its own defaults (e.g. version 'production').
  if (o.version !== undefined) data.version = o.version;
  if (o.outputs !== undefined) data.outputs = o.outputs;
  if (o.callbackUrl !== undefined) data.callbackUrl = o.callbackUrl;
  if (o.tenant !== undefined) data.tenant = o.tenant;
  if (o.deadline !== undefined) data.deadline = o.deadline;
  const opts: BuiltJob['opts'] = {
    jobId: id,
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: BACKOFF_DELAY_MS },
    // Finished jobs go after the result TTL (trap 8): kept forever they fill Redis.
    removeOnComplete: { age: o.resultTtlSec },
    removeOnFail: { age: o.resultTtlSec },
  };
  if (o.priority !== undefined) opts.priority = o.priority;
  if (o.delayMs > 0) opts.delay = o.delayMs;
  return { data, opts };
}
