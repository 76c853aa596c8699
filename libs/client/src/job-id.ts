import { randomUUID } from 'node:crypto';
import { isModelName, ScoreqError } from '@scoreq/contracts';

/**
 * Job ids are `<model>.<suffix>`. Model names cannot contain '.', so the first '.' splits an
 * id and tells which queue (`score-<model>`) the job is on. The suffix is a random UUID or the
 * caller's idempotency key. Neither part may contain ':' (BullMQ refuses such custom ids) and
 * the '.' keeps an id from ever being all digits (BullMQ refuses those too).
 */
const SUFFIX = /^[A-Za-z0-9_-]{1,128}$/;

/** The two parts of a job id. */
export interface ParsedJobId {
  /** Model whose queue holds the job. */
  model: string;
  /** Random UUID or the idempotency key given at submit. */
  suffix: string;
}

/**
 * Splits a job id into model and suffix. The worker and the HTTP API use it too, so every
 * part of scoreq agrees on what a well-formed id is.
 *
 * @throws ScoreqError INVALID_OPTION naming `field` when the id is malformed.
 */
export function parseJobId(id: unknown, field = 'id'): ParsedJobId {
  if (typeof id === 'string') {
    const dot = id.indexOf('.');
    const model = id.slice(0, dot);
    const suffix = id.slice(dot + 1);
    if (dot > 0 && isModelName(model) && SUFFIX.test(suffix)) return { model, suffix };
  }
  throw new ScoreqError(
    'INVALID_OPTION',
    `${field} ${JSON.stringify(id)} is not a scoreq job id: expected <model>.<suffix>, the suffix 1-128 of [A-Za-z0-9_-]`,
    { field },
  );
}

/**
 * Checks an id that may also come from another BullMQ producer (whose ids, often numeric,
 * do not name the model): a non-empty string of at most 512 characters. Only where nothing
 * but the result key is needed, i.e. `getResult`.
 *
 * @throws ScoreqError INVALID_OPTION naming `field`.
 */
export function assertAnyJobId(id: unknown, field = 'id'): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 512) {
    throw new ScoreqError('INVALID_OPTION', `${field} ${JSON.stringify(id)} is not a job id: expected a string of 1-512 characters`, { field });
  }
}

/** Builds a job id from a model and a suffix (a fresh UUID when none is given). */
export function makeJobId(model: string, suffix: string = randomUUID()): string {
  return `${model}.${suffix}`;
}

/**
 * Refuses an idempotency key that could not be a job id suffix.
 *
 * @throws ScoreqError INVALID_OPTION naming `field`.
 */
export function assertIdempotencyKey(key: unknown, field = 'idempotencyKey'): asserts key is string {
  if (typeof key !== 'string' || !SUFFIX.test(key)) {
    throw new ScoreqError('INVALID_OPTION', `${field} ${JSON.stringify(key)} is invalid: use 1-128 of [A-Za-z0-9_-]`, { field });
  }
}
