import { ScoreqError, type ErrorInfo } from '@scoreq/contracts';

/** Event type of a run's webhook: how the run ended. */
export type RunWebhookEventType = 'run.completed' | 'run.failed' | 'run.cancelled';

/**
 * What the run webhook reads of a run's final state. `RunInfo` of `@scoreq/client` has these
 * fields (this package does not import the client). Times are epoch milliseconds.
 */
export interface FinishedRun {
  id: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  tenant?: string;
  callbackUrl: string | undefined;
  model: string;
  versionRef: string;
  version: string;
  input: string;
  output: string;
  rejects: string;
  total: number | undefined;
  done: number;
  failed: number;
  rejected: number;
  startedAt: number;
  finishedAt: number | undefined;
  error: ErrorInfo | undefined;
}

/** The JSON body POSTed to a run's callback URL when it ends. */
export interface RunWebhookPayload {
  type: RunWebhookEventType;
  /** The run id, as `client.runs.status` and `GET /v1/runs/:id` take it. */
  id: string;
  status: Exclude<FinishedRun['status'], 'running'>;
  tenant?: string;
  model: string;
  /** The version or alias the run asked for, and the exact version that scored every row. */
  versionRef: string;
  version: string;
  /** Rows read; absent when the run ended before reading its input to the end. */
  total?: number;
  /** Rows scored and written to the output. */
  done: number;
  /** Rows of chunks that failed in a worker, and bad input rows (both listed in `rejects`). */
  failed: number;
  rejected: number;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string;
  /** Paths on the producer's host. */
  input: string;
  output: string;
  rejects: string;
  /** Why the run failed or was cancelled. */
  error?: ErrorInfo;
}

/**
 * The webhook body of an ended run.
 *
 * @throws ScoreqError INTERNAL for a run that is still running (nothing to announce).
 */
export function runPayloadOf(run: FinishedRun): RunWebhookPayload {
  if (run.status === 'running') throw new ScoreqError('INTERNAL', `run ${run.id} is still running: it has no finish to announce`, { id: run.id });
  return {
    type: `run.${run.status}`,
    id: run.id,
    status: run.status,
    ...(run.tenant === undefined ? {} : { tenant: run.tenant }),
    model: run.model,
    versionRef: run.versionRef,
    version: run.version,
    ...(run.total === undefined ? {} : { total: run.total }),
    done: run.done,
    failed: run.failed,
    rejected: run.rejected,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: new Date(run.finishedAt ?? Date.now()).toISOString(),
    input: run.input,
    output: run.output,
    rejects: run.rejects,
    ...(run.error === undefined ? {} : { error: run.error }),
  };
}
