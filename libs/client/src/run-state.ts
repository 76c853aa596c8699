import { RUN_ID, ScoreqError, toErrorInfo, type ErrorInfo } from '@scoreq/contracts';

/**
 * A run's state as kept in Redis, and what can be derived from it: the one encoder and parser
 * of the run hash `keys(prefix).run(id)`, shared by the producer (`@scoreq/runs`) and readers
 * (`client.runs`, the HTTP API).
 */

/** Where a run is. `running` until the producer finishes, fails, or someone cancels it. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';
const STATUSES: ReadonlySet<string> = new Set<RunStatus>(['running', 'completed', 'failed', 'cancelled']);

/** File formats a run reads and writes. */
export type RunFileFormat = 'csv' | 'jsonl';

/**
 * A run's state as stored in the Redis hash `keys(prefix).run(id)`. The producer
 * (`startRun` in `@scoreq/runs`) writes it; anyone may read it, from any machine.
 * Times are epoch milliseconds.
 */
export interface RunState {
  id: string;
  model: string;
  /** What the run was asked for: a version number or an alias. */
  versionRef: string;
  /** The exact version pinned when the run started; every chunk is scored by it. */
  version: string;
  /** Absolute input path, or `-` for standard input. */
  input: string;
  inputFormat: RunFileFormat;
  output: string;
  outputFormat: RunFileFormat;
  /** Where rejected rows go (line number and reason). */
  rejects: string;
  chunkRows: number;
  /** Most chunks outstanding (enqueued and not yet written) at once. */
  window: number;
  /** Input columns copied in front of the prediction columns. */
  passThrough: string[];
  status: RunStatus;
  startedAt: number;
  finishedAt: number | undefined;
  /** Rows in the input: known once the producer has read it to the end. */
  total: number | undefined;
  /** Rows scored and written to the output. */
  done: number;
  /** Rows whose chunk failed in the worker (listed in the rejects file). */
  failed: number;
  /** Bad input rows (listed in the rejects file). */
  rejected: number;
  /** Chunks written to the output, in order: a resumed run starts after them. */
  writtenChunks: number;
  /** One past the highest chunk index ever enqueued (chunks at or above it were never sent). */
  enqueuedChunks: number;
  /** Length of the output file after `writtenChunks` chunks; a resume truncates to it. */
  outputBytes: number;
  /** Length of the rejects file after `writtenChunks` chunks. */
  rejectsBytes: number;
  /** Size of the input file, when it is a file. */
  inputBytes: number | undefined;
  /** Input bytes read when the last written chunk was cut: progress through the file. */
  inputPos: number;
  /** Where the run's webhook goes when it finishes (completed, failed or cancelled). */
  callbackUrl: string | undefined;
  /**
   * Who started the run: its webhook is signed with this tenant's secret, and over HTTP only
   * this tenant sees it. Absent for runs started without one, which belong to tenant `default`.
   */
  tenant?: string;
  /** Why the run failed or was cancelled. */
  error: ErrorInfo | undefined;
  /** Last time the producer said it was alive. */
  heartbeatAt: number | undefined;
  /** `host:pid` of the producer process. */
  producer: string | undefined;
  /** When the current (or last) producer session started, and the rows finished before it. */
  sessionStartedAt: number;
  sessionStartRows: number;
}

/** {@link RunState} plus figures derived from it when it was read. */
export interface RunInfo extends RunState {
  /** Rows finished (done + failed + rejected). */
  processed: number;
  /** Rows per second of the current (or last) producer session. */
  rowsPerSec: number;
  /** `total`, or an estimate from the share of the input file read; undefined when unknown. */
  expectedTotal: number | undefined;
  /** Share of the run finished, 0..1, when it can be told. */
  fraction: number | undefined;
  /** Seconds left at the current rate, when it can be told. */
  etaSec: number | undefined;
  /** False when the run is `running` but its producer stopped sending heartbeats. */
  producerAlive: boolean;
}

/** How often a producer refreshes `heartbeatAt` (and its lock). */
export const RUN_HEARTBEAT_MS = 5_000;
/** Seconds a finished, failed or cancelled run's state is kept. */
export const RUN_STATE_TTL_SEC = 7 * 24 * 3600;

/** Fields whose values are numbers in the hash. */
const NUMBER_FIELDS = [
  'chunkRows',
  'window',
  'startedAt',
  'finishedAt',
  'total',
  'done',
  'failed',
  'rejected',
  'writtenChunks',
  'enqueuedChunks',
  'outputBytes',
  'rejectsBytes',
  'inputBytes',
  'inputPos',
  'heartbeatAt',
  'sessionStartedAt',
  'sessionStartRows',
] as const satisfies readonly (keyof RunState)[];

/**
 * The hash fields for (part of) a run state: numbers as decimal strings, `passThrough` and
 * `error` as JSON, undefined fields left out. The one encoder of the run hash.
 */
export function runStateFields(state: Partial<RunState>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(state)) {
    if (value === undefined || name === 'id') continue;
    if (name === 'passThrough' || name === 'error') out[name] = JSON.stringify(value);
    else out[name] = String(value);
  }
  return out;
}

/**
 * Parses a run hash read from Redis (the edge where its text becomes a typed state).
 *
 * @throws ScoreqError INTERNAL naming the field when the hash is not a run state.
 */
export function parseRunState(id: string, hash: Record<string, string>): RunState {
  const bad = (field: string, why: string): ScoreqError => new ScoreqError('INTERNAL', `the state of run ${id} has ${why} in field '${field}'`, { id, field });
  const text = (field: keyof RunState): string => {
    const v = hash[field];
    if (v === undefined) throw bad(field, 'no value');
    return v;
  };
  const num: Partial<Record<(typeof NUMBER_FIELDS)[number], number>> = {};
  for (const field of NUMBER_FIELDS) {
    const v = hash[field];
    if (v === undefined) continue;
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) throw bad(field, `a non-number ${JSON.stringify(v)}`);
    num[field] = n;
  }
  const need = (field: (typeof NUMBER_FIELDS)[number], fallback?: number): number => {
    const v = num[field] ?? fallback;
    if (v === undefined) throw bad(field, 'no value');
    return v;
  };
  const status = text('status');
  if (!STATUSES.has(status)) throw bad('status', `an unknown status ${JSON.stringify(status)}`);
  const format = (field: 'inputFormat' | 'outputFormat'): RunFileFormat => {
    const v = text(field);
    if (v !== 'csv' && v !== 'jsonl') throw bad(field, `an unknown format ${JSON.stringify(v)}`);
    return v;
  };
  let passThrough: string[];
  try {
    passThrough = JSON.parse(hash.passThrough ?? '[]') as string[];
    if (!Array.isArray(passThrough) || passThrough.some((c) => typeof c !== 'string')) throw new Error('not a list of names');
  } catch {
    throw bad('passThrough', 'no JSON list of column names');
  }
  let error: ErrorInfo | undefined;
  if (hash.error !== undefined) {
    try {
      error = toErrorInfo(JSON.parse(hash.error));
    } catch {
      error = { code: 'INTERNAL', message: hash.error };
    }
  }
  return {
    id,
    model: text('model'),
    versionRef: text('versionRef'),
    version: text('version'),
    input: text('input'),
    inputFormat: format('inputFormat'),
    output: text('output'),
    outputFormat: format('outputFormat'),
    rejects: text('rejects'),
    chunkRows: need('chunkRows'),
    window: need('window'),
    passThrough,
    status: status as RunStatus,
    startedAt: need('startedAt'),
    finishedAt: num.finishedAt,
    total: num.total,
    done: need('done', 0),
    failed: need('failed', 0),
    rejected: need('rejected', 0),
    writtenChunks: need('writtenChunks', 0),
    enqueuedChunks: need('enqueuedChunks', 0),
    outputBytes: need('outputBytes', 0),
    rejectsBytes: need('rejectsBytes', 0),
    inputBytes: num.inputBytes,
    inputPos: need('inputPos', 0),
    callbackUrl: hash.callbackUrl,
    ...(hash.tenant === undefined ? {} : { tenant: hash.tenant }),
    error,
    heartbeatAt: num.heartbeatAt,
    producer: hash.producer,
    sessionStartedAt: need('sessionStartedAt', num.startedAt),
    sessionStartRows: need('sessionStartRows', 0),
  };
}

/** Adds the derived figures — rate, expected total, progress, ETA, liveness — as of `at`. */
export function describeRun(state: RunState, at: number): RunInfo {
  const processed = state.done + state.failed + state.rejected;
  const end = state.status === 'running' ? at : (state.finishedAt ?? at);
  const seconds = (end - state.sessionStartedAt) / 1000;
  const rowsPerSec = seconds > 0 ? Math.max(0, processed - state.sessionStartRows) / seconds : 0;
  let expectedTotal = state.total;
  if (expectedTotal === undefined && state.inputBytes && state.inputPos > 0 && processed > 0) {
    expectedTotal = Math.max(processed, Math.round((processed * state.inputBytes) / state.inputPos));
  }
  const fraction = state.status === 'completed' ? 1 : expectedTotal ? Math.min(1, processed / expectedTotal) : undefined;
  const etaSec =
    state.status !== 'running' ? 0 : expectedTotal !== undefined && rowsPerSec > 0 ? Math.max(0, expectedTotal - processed) / rowsPerSec : undefined;
  const producerAlive = state.status === 'running' && state.heartbeatAt !== undefined && at - state.heartbeatAt < 3 * RUN_HEARTBEAT_MS;
  return { ...state, processed, rowsPerSec, expectedTotal, fraction, etaSec, producerAlive };
}

/** Refuses a run id that could not be part of a job id or a key. */
export function assertRunId(id: unknown, field = 'id'): asserts id is string {
  if (typeof id !== 'string' || !RUN_ID.test(id)) {
    throw new ScoreqError('INVALID_OPTION', `${field} ${JSON.stringify(id)} is not a run id: use 1-64 of [A-Za-z0-9_-]`, { field });
  }
}
