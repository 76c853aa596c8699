import { Queue } from 'bullmq';
import {
  assertModelName,
  bulkQueueName,
  chunkJobId,
  keys,
  now,
  resolveVersion,
  RUN_ID,
  ScoreqError,
  toErrorInfo,
  type ErrorInfo,
  type ModelVersionRecord,
} from '@scoreq/contracts';
import type { BullFactoryConfig } from './bullmq-factory.js';
import type { ModelCatalog } from './catalog.js';
import type { ClientConnection } from './connection.js';
import { toScoreqError } from './connection.js';
import { int, MAX_TIMER_MS, record, refuseUnknown } from './checks.js';

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
  /** Kept for the webhook fired when the run finishes (once webhooks land). */
  callbackUrl: string | undefined;
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

/** Options of `runs.wait`. */
export interface RunWaitOptions {
  /**
   * Milliseconds to wait before rejecting with WAIT_TIMEOUT.
   * @defaultValue no limit
   */
  timeoutMs?: number;
  /**
   * Milliseconds between reads of the run state.
   * @defaultValue 1000
   */
  pollMs?: number;
  /** Called with every state read while waiting, e.g. to show progress. */
  onProgress?: (info: RunInfo) => void;
  /** Stops waiting early; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What the client shares with its RunsClient. */
export interface RunsClientDeps {
  connection: ClientConnection;
  bull: BullFactoryConfig;
  catalog: ModelCatalog;
  assertOpen: () => void;
}

const WAIT_KEYS = new Set(['timeoutMs', 'pollMs', 'onProgress', 'signal']);

// Moves a running run to cancelled, atomically: a run that finished meanwhile keeps its status.
const CANCEL_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finishedAt', ARGV[1], 'error', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

/**
 * Overnight runs as seen from any machine: read a run's state, wait for it to finish, cancel
 * it. Runs are started (with their files) by `startRun` in `@scoreq/runs`. Reached as
 * `client.runs` of a {@link ScoringClient}, sharing its connection.
 */
export class RunsClient {
  private readonly deps: RunsClientDeps;
  private readonly redisKeys: ReturnType<typeof keys>;
  private readonly queues = new Map<string, Queue>();

  /** @internal Built by ScoringClient. */
  constructor(deps: RunsClientDeps) {
    this.deps = deps;
    this.redisKeys = keys(deps.bull.prefix);
  }

  /**
   * The state of a run and the figures derived from it (rows/s, ETA, progress).
   *
   * @throws ScoreqError JOB_NOT_FOUND when no run has that id (or its state expired).
   */
  status(id: string): Promise<RunInfo> {
    return this.edge(async () => {
      assertRunId(id);
      const info = await this.read(id);
      if (!info) throw notFound(id);
      return info;
    });
  }

  /**
   * Resolves with the run's state once it is completed, failed or cancelled (it does not
   * throw for a failed run: look at `status` and `error`).
   *
   * @throws ScoreqError WAIT_TIMEOUT after `timeoutMs`; JOB_NOT_FOUND for an unknown run.
   */
  async wait(id: string, options?: RunWaitOptions): Promise<RunInfo> {
    const o = record(options ?? {}, 'options');
    refuseUnknown(o, WAIT_KEYS, '');
    const timeoutMs = int(o.timeoutMs, 'timeoutMs', 0, Number.MAX_SAFE_INTEGER);
    const pollMs = int(o.pollMs, 'pollMs', 10, MAX_TIMER_MS) ?? 1_000;
    const onProgress = o.onProgress as ((info: RunInfo) => void) | undefined;
    const signal = o.signal as AbortSignal | undefined;
    const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const info = await this.status(id);
      onProgress?.(info);
      if (info.status !== 'running') return info;
      const left = deadline - performance.now();
      if (left <= 0) throw new ScoreqError('WAIT_TIMEOUT', `run ${id} did not finish within ${timeoutMs} ms`, { id, timeoutMs });
      await pause(Math.min(pollMs, left), signal);
    }
  }

  /**
   * Cancels a running run: marks it `cancelled` (its producer stops, workers fail its chunks
   * fast with CANCELLED) and removes its chunk jobs that no worker has taken yet.
   *
   * @returns true if the run was running and is now cancelled; false if it had already
   * finished (completed, failed or cancelled).
   * @throws ScoreqError JOB_NOT_FOUND for an unknown run.
   */
  cancel(id: string): Promise<boolean> {
    return this.edge(async () => {
      assertRunId(id);
      const redis = await this.deps.connection.ready();
      const key = this.redisKeys.run(id);
      const error: ErrorInfo = { code: 'CANCELLED', message: `run ${id} was cancelled` };
      const moved = (await redis.eval(CANCEL_SCRIPT, 1, key, String(Math.round(now())), JSON.stringify(error), String(RUN_STATE_TTL_SEC))) === 1;
      const info = await this.read(id);
      if (!info) throw notFound(id);
      if (moved) await this.removeChunks(info);
      return moved;
    });
  }

  /**
   * Removes the chunk jobs of a run that are still waiting and the chunk results nobody will
   * read: every chunk between the last one written and the highest one enqueued. Jobs a worker
   * already holds stay (the worker fails them fast once the run is cancelled).
   */
  async removeChunks(state: Pick<RunState, 'id' | 'model' | 'writtenChunks' | 'enqueuedChunks'>): Promise<void> {
    const redis = await this.deps.connection.ready();
    const queue = this.bulkQueue(state.model);
    const ids: string[] = [];
    for (let c = state.writtenChunks; c < state.enqueuedChunks; c++) ids.push(chunkJobId(state.model, state.id, c));
    await Promise.all(ids.map((jobId) => queue.remove(jobId)));
    if (ids.length > 0) await redis.unlink(...ids.map((jobId) => this.redisKeys.chunkResult(jobId)));
  }

  /**
   * The model version a new run pins: a version number or an alias resolved against the
   * catalogue now, so that the whole run is scored by one version even if an alias moves.
   *
   * @throws ScoreqError MODEL_NOT_FOUND, VERSION_NOT_FOUND.
   */
  modelVersion(model: string, ref?: string): Promise<ModelVersionRecord> {
    return this.edge(async () => {
      assertModelName(model);
      this.deps.catalog.invalidate(model);
      return resolveVersion(await this.deps.catalog.get(model), ref);
    });
  }

  /** Closes the bulk queues this client opened (the connection belongs to the ScoringClient). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }

  private async read(id: string): Promise<RunInfo | null> {
    const redis = await this.deps.connection.ready();
    const hash = await redis.hgetall(this.redisKeys.run(id));
    if (Object.keys(hash).length === 0) return null;
    return describeRun(parseRunState(id, hash), now());
  }

  private bulkQueue(model: string): Queue {
    let queue = this.queues.get(model);
    if (!queue) {
      // Built here rather than in bullmq-factory.ts only to keep this change to one file.
      queue = new Queue(bulkQueueName(model), { connection: this.deps.bull.connection, prefix: this.deps.bull.prefix });
      queue.on('error', this.deps.bull.onError);
      this.queues.set(model, queue);
    }
    return queue;
  }

  private async edge<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.deps.assertOpen();
      return await fn();
    } catch (err) {
      throw toScoreqError(err);
    }
  }
}

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

function notFound(id: string): ScoreqError {
  return new ScoreqError('JOB_NOT_FOUND', `no run with id ${id} exists (its state may have expired)`, { id });
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
