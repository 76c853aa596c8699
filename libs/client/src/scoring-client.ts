import type { QueueEvents } from 'bullmq';
import { assertModelName, keys, ScoreqError, type JobRecord, type JobStatus, type ScoreResult } from '@scoreq/contracts';
import { createScoreQueue, createScoreQueueEvents, SCORE_JOB_NAME, type BullFactoryConfig, type ScoreQueue } from './bullmq-factory.js';
import { ModelCatalog } from './catalog.js';
import { ClientConnection, toScoreqError } from './connection.js';
import { assertAnyJobId, makeJobId, parseJobId } from './job-id.js';
import { assertInputShape, buildJob, validateJob, type BuiltJob, type ScoreInput } from './job-builder.js';
import { resolveSubmitManyOptions, resolveSubmitOptions, resolveWaitOptions } from './call-options.js';
import {
  resolveClientOptions,
  type ClientOptions,
  type ResolvedClientOptions,
  type SubmitManyOptions,
  type SubmitOptions,
  type WaitOptions,
} from './options.js';
import { cancelledRecord, parseJobRecord, recordError } from './records.js';
import { RunsClient } from './runs-client.js';
import { WaiterRegistry, type JobEvent, type RecordRead } from './waiters.js';

/** What `getStatus` returns. */
export interface JobStatusInfo {
  id: string;
  status: JobStatus;
  /** The result record, once the job has finished (completed, failed or cancelled). */
  record?: JobRecord;
}

/** BullMQ states a job can be cancelled in: it has not started. */
const CANCELLABLE = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);
const BULL_TO_STATUS: Record<string, JobStatus> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  'waiting-children': 'waiting',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
};

/**
 * The producer SDK: validates scoring jobs against the model catalogue, puts them on the
 * BullMQ queue `score-<model>`, and reads, awaits or cancels their outcome. One instance per
 * process is enough; every method may be called concurrently. Every error it throws is a
 * ScoreqError; branch on `code`.
 */
export class ScoringClient {
  /** The options in force, defaults applied. */
  readonly options: ResolvedClientOptions;
  /** Overnight runs: status, wait and cancel from any machine (`startRun` in `@scoreq/runs` starts them). */
  readonly runs: RunsClient;
  private readonly connection: ClientConnection;
  private readonly redisKeys: ReturnType<typeof keys>;
  private readonly bull: BullFactoryConfig;
  private readonly catalog: ModelCatalog;
  private readonly waiters: WaiterRegistry;
  private readonly queues = new Map<string, ScoreQueue>();
  private readonly events = new Map<string, QueueEvents>();
  private closing: Promise<void> | undefined;

  /** @throws ScoreqError INVALID_OPTION naming the first bad option. */
  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
    const { prefix, onError } = this.options;
    this.connection = new ClientConnection(this.options.connection, onError);
    this.redisKeys = keys(prefix);
    this.bull = {
      prefix,
      connection: this.connection.redis,
      eventsConnection: this.connection.eventsOptions,
      eventsMaxLen: this.options.eventsMaxLen,
      onError,
    };
    this.catalog = new ModelCatalog(async (model) => (await this.connection.ready()).get(this.redisKeys.model(model)), this.options.catalogTtlMs);
    this.runs = new RunsClient({ connection: this.connection, bull: this.bull, catalog: this.catalog, assertOpen: () => this.assertOpen() });
    this.waiters = new WaiterRegistry({
      openEvents: (model, onEvent) => this.openEvents(model, onEvent),
      readRecords: (ids) => this.readRecords(ids),
      jobState: (id) => this.jobState(id),
      pollMs: this.options.resultPollMs,
      onError,
    });
  }

  /**
   * Validates one job and enqueues it. Nothing is enqueued when validation fails.
   *
   * @returns the job id, `<model>.<uuid>` or `<model>.<idempotencyKey>`.
   * @throws ScoreqError INVALID_MODEL_NAME, INVALID_OPTION, MODEL_NOT_FOUND, VERSION_NOT_FOUND,
   * INVALID_INPUT or JOB_TOO_LARGE (naming the field), REDIS_UNAVAILABLE.
   */
  submit(model: string, input: ScoreInput, options?: SubmitOptions): Promise<string> {
    return this.edge(async () => {
      assertModelName(model);
      const o = resolveSubmitOptions(options, this.options.defaults);
      assertInputShape(input);
      const record = await this.catalog.get(model);
      validateJob(record, input, o, this.options.maxJobRows);
      const id = makeJobId(model, o.idempotencyKey);
      const redis = await this.connection.ready();
      // BullMQ ignores an add whose id exists, but a finished job may already be removed
      // while its result record lives on: then the job must not run again.
      if (o.idempotencyKey !== undefined && (await redis.exists(this.redisKeys.result(id))) === 1) return id;
      const job = buildJob(model, id, input, o);
      await this.queue(model).add(SCORE_JOB_NAME, job.data, job.opts);
      return id;
    });
  }

  /**
   * Validates every input, then enqueues them all in one round trip (`addBulk`); nothing is
   * enqueued when any input is refused (the error names `inputs[i]…`).
   *
   * @returns the job ids, in the order of `inputs`.
   */
  submitMany(model: string, inputs: ScoreInput[], options?: SubmitManyOptions): Promise<string[]> {
    return this.edge(async () => {
      assertModelName(model);
      if (!Array.isArray(inputs)) throw new ScoreqError('INVALID_INPUT', 'inputs must be an array', { field: 'inputs' });
      const { shared, idempotencyKeys } = resolveSubmitManyOptions(options, this.options.defaults, inputs.length);
      if (inputs.length === 0) return [];
      inputs.forEach((input, i) => atIndex(i, () => assertInputShape(input)));
      const record = await this.catalog.get(model);
      inputs.forEach((input, i) => atIndex(i, () => validateJob(record, input, shared, this.options.maxJobRows)));
      const ids = inputs.map((_, i) => makeJobId(model, idempotencyKeys?.[i]));
      const redis = await this.connection.ready();
      let skip: boolean[] = [];
      if (idempotencyKeys) {
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.exists(this.redisKeys.result(id));
        skip = ((await pipeline.exec()) ?? []).map(([err, n]) => {
          if (err) throw err;
          return n === 1;
        });
      }
      const jobs: BuiltJob[] = [];
      inputs.forEach((input, i) => {
        if (!skip[i]) jobs.push(buildJob(model, ids[i]!, input, shared));
      });
      if (jobs.length > 0) await this.queue(model).addBulk(jobs.map((j) => ({ name: SCORE_JOB_NAME, data: j.data, opts: j.opts })));
      return ids;
    });
  }

  /**
   * The result record of a finished job, or null while it runs or after it expired. Unlike
   * the other methods it also takes ids of jobs that other BullMQ producers added to a
   * `score-<model>` queue (e.g. "42"), since only the result key is needed.
   */
  getResult(id: string): Promise<JobRecord | null> {
    return this.edge(async () => {
      assertAnyJobId(id);
      const [read] = await this.readRecords([id]);
      if (read instanceof Error) throw read;
      return read ?? null;
    });
  }

  /**
   * Where a job is: its result record once finished, else its BullMQ state (a prioritized job
   * counts as waiting).
   *
   * @throws ScoreqError JOB_NOT_FOUND when neither the job nor its record exists.
   */
  getStatus(id: string): Promise<JobStatusInfo> {
    return this.edge(async () => {
      const { model } = parseJobId(id);
      const record = await this.getResult(id);
      if (record) return { id, status: record.status, record };
      const status = BULL_TO_STATUS[await this.queue(model).getJobState(id)];
      if (status === undefined || status === 'completed' || status === 'failed') {
        // Finished (or removed) since the first read: the record is written before that.
        const late = await this.getResult(id);
        if (late) return { id, status: late.status, record: late };
        if (status === undefined) throw new ScoreqError('JOB_NOT_FOUND', `no job or result with id ${id} exists (it may have expired)`, { id });
      }
      return { id, status };
    });
  }

  /**
   * Waits for a job's outcome: one shared QueueEvents per model queue announces finished
   * jobs, and a slow poll of the result keys covers events lost to stream trimming.
   *
   * @throws ScoreqError with the record's code when the job failed or was cancelled,
   * WAIT_TIMEOUT when `timeoutMs` passes first, JOB_NOT_FOUND for an unknown job; the signal's
   * reason when it aborts.
   */
  async waitForResult(id: string, options?: WaitOptions): Promise<ScoreResult> {
    let signal: AbortSignal | undefined;
    try {
      const { model } = parseJobId(id);
      const wait = resolveWaitOptions(options, this.options.waitTimeoutMs);
      signal = wait.signal;
      this.assertOpen();
      const record = await this.waiters.wait(id, model, wait.timeoutMs, signal);
      if (record.status === 'completed') return record.result;
      throw recordError(record);
    } catch (err) {
      if (signal?.aborted && err === signal.reason) throw err;
      throw toScoreqError(err);
    }
  }

  /**
   * Cancels a job that has not started: removes it and writes a `cancelled` record (code
   * CANCELLED) so that its waiters settle.
   *
   * @returns true if the job was removed; false when it is running, finished or unknown.
   */
  cancel(id: string): Promise<boolean> {
    return this.edge(async () => {
      const { model } = parseJobId(id);
      const queue = this.queue(model);
      const job = await queue.getJob(id);
      if (!job || !CANCELLABLE.has(await queue.getJobState(id))) return false;
      // Refused (0) when a worker took the job meanwhile: its lock protects it.
      if ((await queue.remove(id)) !== 1) return false;
      const ttl = positiveInt(job.data.resultTtlSec) ?? this.options.defaults.resultTtlSec;
      const redis = await this.connection.ready();
      // NX: if the job ran between our state check and the removal, its own record stands.
      const written = await redis.set(this.redisKeys.result(id), JSON.stringify(cancelledRecord(id, model, job.data.version)), 'EX', ttl, 'NX');
      this.waiters.poke(id);
      return written === 'OK';
    });
  }

  /**
   * Closes every Queue and QueueEvents of the client and the connection it opened (not one
   * the caller passed in). Pending waiters reject. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.waiters.close(new ScoreqError('INTERNAL', 'the ScoringClient was closed while waiting for a result'));
    // Every step runs even if one fails; the first failures are reported together.
    const bull = await Promise.allSettled([...this.events.values(), ...this.queues.values(), this.runs].map((o) => o.close()));
    const conn = await Promise.allSettled([this.connection.close()]);
    const failures = [...bull, ...conn].flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.message ?? r.reason)] : []));
    if (failures.length > 0) throw new ScoreqError('INTERNAL', `closing the ScoringClient failed: ${failures.join('; ')}`, { failures });
  }

  private async edge<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.assertOpen();
      return await fn();
    } catch (err) {
      throw toScoreqError(err);
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new ScoreqError('INTERNAL', 'the ScoringClient is closed');
  }

  private queue(model: string): ScoreQueue {
    this.assertOpen();
    let queue = this.queues.get(model);
    if (!queue) {
      queue = createScoreQueue(model, this.bull);
      this.queues.set(model, queue);
    }
    return queue;
  }

  /**
   * Starts the model's QueueEvents after the current end of its events stream, read first:
   * every event written after this call is delivered (BullMQ's default, '$', would skip those
   * written before its first XREAD).
   */
  private async openEvents(model: string, onEvent: (jobId: string, event: JobEvent) => void): Promise<void> {
    const redis = await this.connection.ready();
    const tail = await redis.xrevrange(this.queue(model).keys.events!, '+', '-', 'COUNT', 1);
    this.assertOpen();
    const events = createScoreQueueEvents(model, tail[0]?.[0] ?? '0', this.bull);
    events.on('completed', ({ jobId }) => onEvent(jobId, 'completed'));
    events.on('failed', ({ jobId }) => onEvent(jobId, 'failed'));
    events.on('removed', ({ jobId }) => onEvent(jobId, 'removed'));
    this.events.set(model, events);
  }

  private async readRecords(ids: string[]): Promise<RecordRead[]> {
    const redis = await this.connection.ready();
    const texts = await redis.mget(ids.map((id) => this.redisKeys.result(id)));
    return texts.map((text, i) => {
      if (text === null) return null;
      try {
        return parseJobRecord(text, ids[i]!);
      } catch (err) {
        return toScoreqError(err);
      }
    });
  }

  private async jobState(id: string): Promise<{ state: string; failedReason?: string }> {
    const queue = this.queue(parseJobId(id).model);
    const state = await queue.getJobState(id);
    if (state !== 'failed') return { state };
    const job = await queue.getJob(id);
    return job?.failedReason ? { state, failedReason: job.failedReason } : { state };
  }
}

// Job data comes back from Redis and may have been written by another producer.
function positiveInt(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) > 0 ? (value as number) : undefined;
}

/** Runs a check for `inputs[i]`, prefixing the field and message of what it throws. */
function atIndex(i: number, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (!(err instanceof ScoreqError)) throw err;
    const field = typeof err.details?.field === 'string' ? `inputs[${i}].${err.details.field}` : `inputs[${i}]`;
    throw new ScoreqError(err.code, `inputs[${i}]: ${err.message}`, { ...err.details, field, index: i });
  }
}
