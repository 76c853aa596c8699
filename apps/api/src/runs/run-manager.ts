import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ScoreqError } from '@scoreq/contracts';
import type { RunFileFormat, RunInfo, RunStatus, ScoringClient } from '@scoreq/client';
import { announceRunFinished, newRunId, parseModelRef, startRun, type RunFinishedHook, type RunHandle, type RunOptions } from '@scoreq/runs';
import type { Logger } from '@scoreq/telemetry';
import { checkCallbackUrl, createRunWebhookNotifier, type Allowlist } from '@scoreq/webhooks';
import { apiError } from '../errors.js';
import { ownerOf } from '../job-access.js';
import type { RunsDir } from './runs-dir.js';
import { receiveUpload } from './upload.js';

/** What the API passes to every run it starts, and what it needs to manage them. */
export interface RunManagerDeps {
  redisUrl: string;
  prefix: string;
  dir: RunsDir;
  uploadLimitBytes: number;
  client: ScoringClient;
  /** The API's command connection (announcing finishes seen by a cancel). */
  redis: Redis;
  /** WEBHOOK_QUEUE on the API's prefix: run webhooks are queued there. */
  webhookQueue: Queue;
  callbackAllow: Allowlist;
  logger: Logger;
}

/** Options a request may give a run; files are named separately. */
export interface RunRequest {
  model: string;
  version?: string | undefined;
  id?: string | undefined;
  chunkRows?: number | undefined;
  passThrough?: string[] | undefined;
  callbackUrl?: string | undefined;
  maxRejectRate?: number | undefined;
  outputFormat?: RunFileFormat | undefined;
}

/** A run started from files already in SCOREQ_RUNS_DIR, named relative to it. */
export interface FileRunRequest extends RunRequest {
  input: string;
  output: string;
  inputFormat?: RunFileFormat | undefined;
}

/** A run whose input is the request body. */
export interface UploadRunRequest extends RunRequest {
  inputFormat: RunFileFormat;
  body: Readable;
  contentLength: number | undefined;
}

/** What `launch` passes to `startRun`, besides what every run of the API shares. */
type LaunchOptions = Omit<RunOptions, 'connection' | 'prefix' | 'onFinished' | 'onError'>;

/** A file of a run the API serves. */
export interface RunFile {
  path: string;
  format: RunFileFormat;
}

/**
 * The API as a run producer: starts and resumes runs in this process (they outlive the request
 * that started them), reads and cancels them on behalf of a tenant, and stops them on shutdown,
 * leaving them resumable. Another tenant's run answers as a missing one (RUN_NOT_FOUND). Each
 * run's end queues its webhook once (`createRunWebhookNotifier`), as `scoreq run` does.
 */
export class RunManager {
  private readonly handles = new Map<string, RunHandle>();
  private readonly uploading = new Set<string>();
  /** Runs being set up by `launch` (a request and the adopter may reach one at once). */
  private readonly launching = new Map<string, Promise<RunInfo>>();
  private readonly onFinished: RunFinishedHook;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: RunManagerDeps) {
    this.onFinished = createRunWebhookNotifier({ queue: deps.webhookQueue });
  }

  /** @throws ScoreqError RUN_NOT_FOUND when the run does not exist, expired, or is another tenant's. */
  async find(id: string, tenant: string): Promise<RunInfo> {
    const info = await this.stateOf(id);
    if (!info || ownerOf(info.tenant) !== tenant) throw notFound(id);
    return info;
  }

  /** The tenant's runs whose state is still kept, newest first; `status` keeps those in that state. */
  async list(tenant: string, status?: RunStatus): Promise<RunInfo[]> {
    return (await this.deps.client.runs.list(status === undefined ? {} : { status })).filter((info) => ownerOf(info.tenant) === tenant);
  }

  /**
   * Starts a run on files in SCOREQ_RUNS_DIR, or resumes the tenant's run of that id (the same
   * options again, as `scoreq run --id`).
   *
   * @throws ScoreqError INVALID_PATH, RUN_EXISTS (another tenant's id), CALLBACK_URL_REFUSED,
   * and whatever `startRun` refuses (INVALID_OPTION, MODEL_NOT_FOUND, INVALID_INPUT…).
   */
  async startFromFiles(request: FileRunRequest, tenant: string): Promise<RunInfo> {
    this.assertOpen();
    const id = request.id ?? newRunId();
    const existing = await this.stateOf(id);
    if (existing && ownerOf(existing.tenant) !== tenant) throw exists(id, 'run ids are shared by every tenant');
    if (existing && this.handles.has(id)) return existing;
    const { dir } = this.deps;
    const input = await dir.existingFile(request.input, 'input');
    const output = await dir.writableFile(request.output, 'output');
    await dir.writableFile(`${request.output}.rejects.csv`, 'output');
    await this.checkCallback(request.callbackUrl);
    return this.launch({ ...runOptions(request), id, tenant, input, output, ...(request.inputFormat ? { inputFormat: request.inputFormat } : {}) });
  }

  /**
   * Streams the body to `<SCOREQ_RUNS_DIR>/<id>/input.<ext>`, then starts the run into
   * `output.<ext>` beside it. The model is looked up before the body is read.
   *
   * @throws ScoreqError RUN_EXISTS (the id is taken), BODY_TOO_LARGE, CALLBACK_URL_REFUSED,
   * MODEL_NOT_FOUND, VERSION_NOT_FOUND, and what `startRun` refuses.
   */
  async startFromUpload(request: UploadRunRequest, tenant: string): Promise<RunInfo> {
    this.assertOpen();
    const id = request.id ?? newRunId();
    const upload = 'an upload always starts a new run; resume one with a JSON body naming its files';
    if (this.uploading.has(id) || this.handles.has(id) || (await this.stateOf(id))) throw exists(id, upload);
    await this.checkCallback(request.callbackUrl);
    const { model, versionRef } = parseModelRef(request.model, request.version);
    await this.deps.client.runs.modelVersion(model, versionRef);
    this.uploading.add(id);
    try {
      const dir = await this.deps.dir.uploadDir(id);
      const input = join(dir, `input.${request.inputFormat}`);
      const output = join(dir, `output.${request.outputFormat ?? request.inputFormat}`);
      try {
        await receiveUpload(request.body, input, this.deps.uploadLimitBytes, request.contentLength);
        return await this.launch({ ...runOptions(request), id, tenant, input, inputFormat: request.inputFormat, output });
      } catch (err) {
        // The files of a run that never began are of no use; a run that began keeps them to resume.
        if (!(await this.stateOf(id))) await rm(dir, { recursive: true, force: true });
        throw err;
      }
    } finally {
      this.uploading.delete(id);
    }
  }

  /**
   * Cancels the tenant's running run; cancelling a cancelled run answers it again.
   *
   * @throws ScoreqError CANCEL_TOO_LATE once it completed or failed; RUN_NOT_FOUND as `find`.
   */
  async cancel(id: string, tenant: string): Promise<RunInfo> {
    const info = await this.find(id, tenant);
    if (info.status === 'cancelled') return info;
    if (info.status !== 'running') {
      throw new ScoreqError('CANCEL_TOO_LATE', `run ${id} is ${info.status} and can no longer be cancelled`, { id, status: info.status });
    }
    const handle = this.handles.get(id);
    if (handle) {
      // Our producer stops, removes the run's chunks and announces the end.
      await handle.cancel();
    } else {
      // Produced elsewhere: its producer announces the end if it is alive; if not, this does.
      await this.deps.client.runs.cancel(id);
      await announceRunFinished({ redis: this.deps.redis, prefix: this.deps.prefix, id, onFinished: this.onFinished });
    }
    return this.find(id, tenant);
  }

  /**
   * The output (once the run completed) or the rejects file (once it ended) of the tenant's run.
   *
   * @throws ScoreqError RUN_NOT_FINISHED before then; INVALID_PATH when the run's files are not
   * in SCOREQ_RUNS_DIR (it was started elsewhere); RUN_NOT_FOUND as `find`.
   */
  async file(id: string, tenant: string, which: 'output' | 'rejects'): Promise<RunFile> {
    const info = await this.find(id, tenant);
    if (which === 'output' && info.status !== 'completed') {
      const why =
        info.status === 'running'
          ? `is running (${info.processed} rows so far); GET /v1/runs/${id} until its status is completed`
          : `ended ${info.status}, so its output is incomplete; GET /v1/runs/${id}/rejects lists the rows it refused`;
      throw apiError('RUN_NOT_FINISHED', `run ${id} ${why}`, { id, status: info.status });
    }
    if (which === 'rejects' && info.status === 'running') {
      throw apiError('RUN_NOT_FINISHED', `run ${id} is running; its rejects file is served once it has ended`, { id, status: info.status });
    }
    const path = which === 'output' ? info.output : info.rejects;
    if (!(await this.deps.dir.servable(path))) {
      throw apiError('INVALID_PATH', `run ${id} wrote its ${which} outside SCOREQ_RUNS_DIR (it was started elsewhere): the API serves only files inside it`, {
        field: which,
      });
    }
    return { path, format: which === 'output' ? info.outputFormat : 'csv' };
  }

  /** Whether this process produces the run now (or is receiving its upload). */
  isProducing(id: string): boolean {
    return this.handles.has(id) || this.uploading.has(id) || this.launching.has(id);
  }

  /**
   * Resumes a run nobody produces, with the options its state records (see `RunAdopter`).
   * False when it could not: another process took it first, or it can no longer run (each
   * logged).
   */
  async adopt(info: RunInfo): Promise<boolean> {
    if (this.closing || this.isProducing(info.id)) return false;
    try {
      await this.launch({
        id: info.id,
        tenant: ownerOf(info.tenant),
        model: info.model,
        version: info.versionRef,
        input: info.input,
        inputFormat: info.inputFormat,
        output: info.output,
        outputFormat: info.outputFormat,
        rejects: info.rejects,
        chunkRows: info.chunkRows,
        passThrough: info.passThrough,
        ...(info.callbackUrl === undefined ? {} : { callbackUrl: info.callbackUrl }),
      });
      return true;
    } catch (err) {
      const held = err instanceof ScoreqError && err.code === 'RUN_BUSY';
      if (held) this.deps.logger.debug({ runId: info.id }, 'run is produced by another process; not adopted');
      else this.deps.logger.warn({ err, runId: info.id }, 'could not resume a run nobody produces');
      return false;
    }
  }

  /** Runs produced by this process now. */
  get producing(): number {
    return this.handles.size;
  }

  /** Stops every run this process produces at its next chunk, leaving each resumable by id. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.allSettled([...this.handles.values()].map((h) => h.stop())).then((results) => {
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      for (const f of failed) this.deps.logger.error({ err: f.reason as unknown }, 'a run failed while stopping');
    });
    return this.closing;
  }

  /** Starts or resumes a run; a second call for a run being set up joins the first. */
  private launch(options: LaunchOptions & { id: string }): Promise<RunInfo> {
    const pending = this.launching.get(options.id);
    if (pending) return pending;
    const running = this.handles.get(options.id);
    if (running) return this.currentState(running);
    const launched = this.launchOnce(options).finally(() => this.launching.delete(options.id));
    this.launching.set(options.id, launched);
    return launched;
  }

  private async launchOnce(options: LaunchOptions): Promise<RunInfo> {
    const { logger } = this.deps;
    const handle = await startRun({
      ...options,
      connection: this.deps.redisUrl,
      prefix: this.deps.prefix,
      onFinished: this.onFinished,
      onError: (err) => logger.debug({ err, runId: options.id }, 'run background connection error'),
    });
    this.track(handle);
    logger.info({ runId: handle.id, model: options.model, tenant: options.tenant, resumed: handle.resumed }, handle.resumed ? 'run resumed' : 'run started');
    return this.currentState(handle);
  }

  private async currentState(handle: RunHandle): Promise<RunInfo> {
    return (await this.stateOf(handle.id)) ?? (await handle.finished);
  }

  private track(handle: RunHandle): void {
    const { logger } = this.deps;
    this.handles.set(handle.id, handle);
    handle.finished
      .then(
        (info) => logger.info({ runId: info.id, status: info.status, done: info.done, rejected: info.rejected, failed: info.failed }, `run ${info.status}`),
        (err: unknown) => logger.error({ err, runId: handle.id }, 'run stopped by an unexpected error; it is resumable'),
      )
      .finally(() => this.handles.delete(handle.id));
  }

  private async stateOf(id: string): Promise<RunInfo | null> {
    try {
      return await this.deps.client.runs.status(id);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'RUN_NOT_FOUND') return null;
      throw err;
    }
  }

  private async checkCallback(url: string | undefined): Promise<void> {
    if (url !== undefined) await checkCallbackUrl(url, this.deps.callbackAllow);
  }

  private assertOpen(): void {
    if (this.closing) throw new ScoreqError('API_SHUTTING_DOWN', 'the API is shutting down and starts no runs; try again on another instance');
  }
}

function runOptions(request: RunRequest): Omit<RunOptions, 'connection' | 'input' | 'output'> {
  const o: Omit<RunOptions, 'connection' | 'input' | 'output'> = { model: request.model };
  if (request.version !== undefined) o.version = request.version;
  if (request.chunkRows !== undefined) o.chunkRows = request.chunkRows;
  if (request.passThrough !== undefined) o.passThrough = request.passThrough;
  if (request.callbackUrl !== undefined) o.callbackUrl = request.callbackUrl;
  if (request.maxRejectRate !== undefined) o.maxRejectRate = request.maxRejectRate;
  if (request.outputFormat !== undefined) o.outputFormat = request.outputFormat;
  return o;
}

function notFound(id: string): ScoreqError {
  return new ScoreqError('RUN_NOT_FOUND', `no run ${JSON.stringify(id)} exists for this tenant (its state may have expired)`, { id, field: 'id' });
}

function exists(id: string, why: string): ScoreqError {
  return new ScoreqError('RUN_EXISTS', `a run with id ${JSON.stringify(id)} exists already: choose another id (${why})`, { id, field: 'id' });
}
