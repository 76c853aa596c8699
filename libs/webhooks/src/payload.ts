import type { ErrorInfo, FailureTimings, JobRecord, JobStatus, ScoreResult, Timings } from '@scoreq/contracts';

/** Event type of a webhook: a job completed, or finally failed (or was cancelled). */
export type WebhookEventType = 'job.completed' | 'job.failed';

/**
 * The JSON body POSTed to a job's callback URL, derived from the job's final
 * {@link JobRecord}. Model, version and timings are lifted to the top; `result` holds the
 * outputs (`rows` or `tensors`) and the batch.
 */
export interface WebhookPayload {
  type: WebhookEventType;
  /** The job's result id (`<model>.<job id>`), as `getResult` takes it. */
  id: string;
  status: Extract<JobStatus, 'completed' | 'failed' | 'cancelled'>;
  tenant?: string;
  model: string;
  /** The exact version that scored the job; absent when a job failed before one was resolved. */
  version?: string;
  /** ISO 8601 time the final record was written. */
  finishedAt: string;
  /** Outputs of a completed job. */
  result?: Pick<ScoreResult, 'rows' | 'tensors' | 'batch'>;
  /** Why a job failed. */
  error?: ErrorInfo;
  /**
   * Stage times: every stage of a completed job; of a job that failed in a worker, when it was
   * enqueued, received and failed (`enqueuedAt`, `receivedAt`, `settledAt`, `queuedMs`,
   * `totalMs`). Absent for a job cancelled before a worker took it.
   */
  timings?: Timings | FailureTimings;
}

/** The webhook body of a job's final record. */
export function payloadOf(record: JobRecord): WebhookPayload {
  const tenant = record.tenant === undefined ? {} : { tenant: record.tenant };
  if (record.status === 'completed') {
    const { model, version, timings, rows, tensors, batch } = record.result;
    const result: WebhookPayload['result'] = { ...(rows === undefined ? {} : { rows }), ...(tensors === undefined ? {} : { tensors }), batch };
    return { type: 'job.completed', id: record.id, status: 'completed', ...tenant, model, version, finishedAt: record.finishedAt, result, timings };
  }
  return {
    type: 'job.failed',
    id: record.id,
    status: record.status,
    ...tenant,
    model: record.model,
    ...(record.version === undefined ? {} : { version: record.version }),
    finishedAt: record.finishedAt,
    error: record.error,
    ...(record.timings === undefined ? {} : { timings: record.timings }),
  };
}
