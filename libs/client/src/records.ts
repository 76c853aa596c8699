import { ScoreqError, now, toErrorInfo, type JobRecord } from '@scoreq/contracts';

const STATUSES = new Set(['completed', 'failed', 'cancelled']);

/**
 * Parses a result record read from Redis, checking what the client branches on. A record
 * written by a producer or worker in another language may carry an unknown error code; it is
 * kept as INTERNAL, with the message.
 */
export function parseJobRecord(text: string, id: string): JobRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw corrupt(id, `is not JSON (${(err as Error).message})`);
  }
  const r = value as { id?: unknown; status?: unknown; result?: unknown; error?: unknown } | null;
  if (typeof r !== 'object' || r === null || r.id !== id || typeof r.status !== 'string' || !STATUSES.has(r.status)) {
    throw corrupt(id, 'lacks a matching id or a known status');
  }
  if (r.status === 'completed') {
    if (typeof r.result !== 'object' || r.result === null) throw corrupt(id, 'is completed without a result');
  } else {
    if (typeof r.error !== 'object' || r.error === null) throw corrupt(id, `is ${r.status} without an error`);
    r.error = toErrorInfo(r.error);
  }
  return r as JobRecord;
}

/** The record a successful `cancel` writes, so that waiters settle with CANCELLED. */
export function cancelledRecord(id: string, model: string, version: string | undefined): JobRecord {
  return {
    id,
    status: 'cancelled',
    model,
    ...(version === undefined ? {} : { version }),
    error: { code: 'CANCELLED', message: `job ${id} was cancelled before it ran` },
    finishedAt: new Date(now()).toISOString(),
  };
}

/** The error a failed or cancelled record stands for. */
export function recordError(record: Extract<JobRecord, { status: 'failed' | 'cancelled' }>): ScoreqError {
  return ScoreqError.fromInfo(record.error);
}

function corrupt(id: string, what: string): ScoreqError {
  return new ScoreqError('INTERNAL', `the result record of job ${id} ${what}`, { id });
}
