import { UnrecoverableError, type Job } from 'bullmq';
import {
  ERROR_CODES,
  now,
  resultId,
  parseScoreJobData,
  ScoreqError,
  toErrorInfo,
  type ErrorInfo,
  type FailureTimings,
  type JobRecord,
  type ScoreJobData,
  type ScoreResult,
  type Timings,
} from '@scoreq/contracts';
import type { BatchItem, ItemResult, ModelCodec } from '@scoreq/inference';
import type { Logger, ScoreqMetrics } from '@scoreq/telemetry';
import type { ServedModel } from './served-model.js';
import type { ResultStore } from './result-store.js';

export interface ProcessorDeps {
  model: ServedModel;
  results: ResultStore;
  metrics: ScoreqMetrics;
  logger: Logger;
  maxJobRows: number;
  resultTtlSec: number;
  /**
   * Called once a job's final record is stored, for jobs that asked to be told (a callback
   * URL, or their tenant's registered endpoint): the webhook seam. Its failure is logged,
   * never the job's.
   */
  onFinished?: (record: JobRecord, notify: { callbackUrl: string; tenant?: string }) => Promise<void>;
  /** Tenants' registered webhook endpoints, for jobs without a callback URL (`WebhookEndpointCache`). */
  endpoints?: EndpointLookup;
}

/** Tenant endpoints, cached: `cached` answers without a promise when it can (null: no endpoint; undefined: not known). */
export interface EndpointLookup {
  cached(tenant: string | undefined): string | null | undefined;
  load(tenant: string | undefined): Promise<string | null>;
}

/** What the BullMQ job returns; the full result lives at the result key. */
export interface JobReturn {
  version: string;
  batchId: string;
}

/**
 * The BullMQ processor of one model's queue: validate, encode, wait for the job's rows to
 * ride a micro-batch, decode, store the result, and only then complete the job.
 * A job that fails for its own reasons (bad input, deadline) fails alone and is never retried.
 */
export function createProcessor(deps: ProcessorDeps): (job: Job) => Promise<JobReturn> {
  const { model } = deps;
  const observe = jobObserver(deps.metrics, model.name);
  return async (job) => {
    const receivedAt = now();
    let version: string | undefined;
    try {
      const data = parseJobData(job.data, model.name);
      // A loaded version is taken without awaiting: a promise per job is measurable here.
      const served = model.loadedVersion(data.version) ?? (await model.resolve(data.version));
      version = served.record.version;
      const encoded = served.codec.encode(data);
      if (encoded.rows > deps.maxJobRows) {
        throw new ScoreqError('JOB_TOO_LARGE', `job has ${encoded.rows} rows; at most ${deps.maxJobRows} are allowed per job`, { field: 'rows' });
      }
      const item: BatchItem = encoded;
      if (data.deadline !== undefined) item.deadline = data.deadline;
      const scored = await served.batcher.submit(item);
      const timings = timingsOf(data.enqueuedAt ?? job.timestamp, receivedAt, scored);
      const record = completedRecord(resultId(model.name, job.id!), scoredResult(model.name, version, served.codec, data, scored, timings), data.tenant);
      await deps.results.put(record, data.resultTtlSec ?? deps.resultTtlSec);
      observe(version, encoded.rows, timings);
      // Without a promise when the tenant's endpoint is cached: jobs with nowhere to be told pay no awaited call.
      const target = noticeTarget(deps, data);
      if (target !== null) await notify(deps, record, data.tenant, target);
      return { version, batchId: scored.batch.id };
    } catch (err) {
      const info = toErrorInfo(err);
      const final = !ERROR_CODES[info.code].retryable || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      deps.logger.warn({ jobId: job.id, model: model.name, version, code: info.code, final }, info.message);
      if (final) {
        await recordFailure(deps, job, info, version, receivedAt);
        throw new UnrecoverableError(`${info.code}: ${info.message}`);
      }
      throw new Error(`${info.code}: ${info.message}`);
    }
  };
}

/** The result, its fields in the order the record's JSON has always had. */
function scoredResult(model: string, version: string, codec: ModelCodec, data: ScoreJobData, scored: ItemResult, timings: Timings): ScoreResult {
  const { batch } = scored;
  const decoded = codec.decode(scored.outputs, data.tensors !== undefined, data.outputs);
  return decoded.tensors ? { model, version, tensors: decoded.tensors, batch, timings } : { model, version, rows: decoded.rows, batch, timings };
}

function completedRecord(id: string, result: ScoreResult, tenant: string | undefined): JobRecord {
  return withTenant({ id, status: 'completed', result, finishedAt: isoNow() }, tenant);
}

let isoMs = Number.NaN;
let iso = '';
/** `new Date().toISOString()`, formatted once per millisecond: a batch's jobs finish within one. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

function parseJobData(raw: unknown, model: string): ScoreJobData {
  const parsed = parseScoreJobData(raw);
  if (!parsed.ok) throw new ScoreqError('INVALID_INPUT', `job data: ${parsed.field}: ${parsed.message}`, { field: parsed.field });
  if (parsed.data.model !== model) {
    throw new ScoreqError('INVALID_INPUT', `job names model '${parsed.data.model}' but sits on the queue of '${model}'`, { field: 'model' });
  }
  return parsed.data;
}

async function recordFailure(deps: ProcessorDeps, job: Job, error: ErrorInfo, version: string | undefined, receivedAt: number): Promise<void> {
  const raw = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as Partial<ScoreJobData>;
  const timings = failureTimings(typeof raw.enqueuedAt === 'number' ? raw.enqueuedAt : job.timestamp, receivedAt);
  const base = { id: resultId(deps.model.name, job.id!), status: 'failed' as const, model: deps.model.name, error, finishedAt: isoNow(), timings };
  const record: JobRecord = withTenant(version === undefined ? base : { ...base, version }, typeof raw.tenant === 'string' ? raw.tenant : undefined);
  await deps.results.put(record, typeof raw.resultTtlSec === 'number' ? raw.resultTtlSec : deps.resultTtlSec);
  deps.metrics.jobs.inc({ model: deps.model.name, version: version ?? '', outcome: 'failed', code: error.code });
  const target = noticeTarget(deps, raw);
  if (target !== null) await notify(deps, record, typeof raw.tenant === 'string' ? raw.tenant : undefined, target);
}

/** Adds the tenant to a record built here (in place: no copy on the hot path). */
function withTenant<T extends JobRecord>(record: T, tenant: string | undefined): T {
  if (tenant !== undefined) record.tenant = tenant;
  return record;
}

/**
 * Where a finished job's webhook goes: its callback URL, else its tenant's registered endpoint
 * (a promise only when the cache must read it); null when nowhere.
 */
function noticeTarget(deps: ProcessorDeps, data: Partial<ScoreJobData>): string | Promise<string | null> | null {
  if (deps.onFinished === undefined) return null;
  if (typeof data.callbackUrl === 'string') return data.callbackUrl;
  if (deps.endpoints === undefined) return null;
  const tenant = typeof data.tenant === 'string' ? data.tenant : undefined;
  const known = deps.endpoints.cached(tenant);
  return known === undefined ? deps.endpoints.load(tenant) : known;
}

/** Queues the job's webhook to `target` (from {@link noticeTarget}); a failure is logged, not thrown. */
async function notify(deps: ProcessorDeps, record: JobRecord, tenant: string | undefined, target: string | Promise<string | null>): Promise<void> {
  try {
    const callbackUrl = await target;
    if (callbackUrl === null) return;
    await deps.onFinished!(record, tenant === undefined ? { callbackUrl } : { callbackUrl, tenant });
  } catch (err) {
    deps.logger.error({ err, jobId: record.id }, 'could not enqueue the webhook delivery');
  }
}

function timingsOf(enqueuedAt: number, receivedAt: number, scored: { dispatchedAt: number; inferenceStartedAt: number; inferenceEndedAt: number }): Timings {
  const settledAt = now();
  return {
    enqueuedAt,
    receivedAt,
    dispatchedAt: scored.dispatchedAt,
    inferenceStartedAt: scored.inferenceStartedAt,
    inferenceEndedAt: scored.inferenceEndedAt,
    settledAt,
    queuedMs: receivedAt - enqueuedAt,
    batchWaitMs: scored.dispatchedAt - receivedAt,
    poolWaitMs: scored.inferenceStartedAt - scored.dispatchedAt,
    inferenceMs: scored.inferenceEndedAt - scored.inferenceStartedAt,
    totalMs: settledAt - enqueuedAt,
  };
}

function failureTimings(enqueuedAt: number, receivedAt: number): FailureTimings {
  const settledAt = now();
  return { enqueuedAt, receivedAt, settledAt, queuedMs: receivedAt - enqueuedAt, totalMs: settledAt - enqueuedAt };
}

/**
 * The per-job metric series of one model, resolved once (and once per version) instead of
 * hashing label objects on every job: this runs thousands of times a second.
 */
function jobObserver(metrics: ScoreqMetrics, model: string): (version: string, rows: number, t: Timings) => void {
  const queueWait = metrics.queueWait.labels({ model });
  const batchWait = metrics.batchWait.labels({ model });
  const jobLatency = metrics.jobLatency.labels({ model });
  const byVersion = new Map<string, { completed: { inc(): void }; rows: { inc(n: number): void } }>();
  return (version, rows, t) => {
    let series = byVersion.get(version);
    if (!series) {
      series = { completed: metrics.jobs.labels({ model, version, outcome: 'completed', code: '' }), rows: metrics.rows.labels({ model, version }) };
      byVersion.set(version, series);
    }
    series.completed.inc();
    series.rows.inc(rows);
    queueWait.observe(t.queuedMs / 1000);
    batchWait.observe(t.batchWaitMs / 1000);
    jobLatency.observe(t.totalMs / 1000);
  };
}
