import type { JobRecord, Timings } from '@scoreq/contracts';

const quote = JSON.stringify;

/**
 * The JSON text of a job record, byte for byte what `JSON.stringify(record)` gives (a test
 * compares them). A scored row job's record is written from a template: JSON.stringify walks
 * the nested objects generically and took about half of the worker's own per-job time in
 * the result write; every other record (failures, tensor results) goes through it unchanged.
 * Expects records as the worker builds them, with no fields beyond the JobRecord type.
 */
export function recordJson(record: JobRecord): string {
  if (record.status !== 'completed' || record.result.rows === undefined || record.result.tensors !== undefined) return JSON.stringify(record);
  const { result } = record;
  const { batch } = result;
  const tenant = record.tenant === undefined ? '' : `,"tenant":${quote(record.tenant)}`;
  return (
    `{"id":${quote(record.id)},"status":"completed","result":{"model":${quote(result.model)},"version":${quote(result.version)},` +
    `"rows":${JSON.stringify(result.rows)},"batch":{"id":${quote(batch.id)},"rows":${finite(batch.rows)},"jobs":${finite(batch.jobs)},` +
    `"reason":${quote(batch.reason)}},"timings":${timingsJson(result.timings)}},"finishedAt":${quote(record.finishedAt)}${tenant}}`
  );
}

function timingsJson(t: Timings): string {
  return (
    `{"enqueuedAt":${finite(t.enqueuedAt)},"receivedAt":${finite(t.receivedAt)},"dispatchedAt":${finite(t.dispatchedAt)},` +
    `"inferenceStartedAt":${finite(t.inferenceStartedAt)},"inferenceEndedAt":${finite(t.inferenceEndedAt)},"settledAt":${finite(t.settledAt)},` +
    `"queuedMs":${finite(t.queuedMs)},"batchWaitMs":${finite(t.batchWaitMs)},"poolWaitMs":${finite(t.poolWaitMs)},` +
    `"inferenceMs":${finite(t.inferenceMs)},"totalMs":${finite(t.totalMs)}}`
  );
}

/** A number as JSON writes it: NaN and ±Infinity become null. */
function finite(x: number): number | 'null' {
  return Number.isFinite(x) ? x : 'null';
}
