import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { featureSpecs, featureWidth, mainOutput, now, ScoreqError, type ModelVersionRecord } from '@scoreq/contracts';
import { describeRun, RUN_HEARTBEAT_MS, ScoringClient, type RunInfo, type RunState } from '@scoreq/client';
import { Chunker } from './chunker.js';
import { ChunkQueue } from './chunk-queue.js';
import { inputSize, openRunFile } from './files.js';
import { announceFinish } from './finish-notice.js';
import { resolveRunOptions, type ResolvedRunOptions, type RunOptions } from './options.js';
import { OrderedWriter } from './ordered-writer.js';
import { OutputRows } from './output-rows.js';
import { ProducerLock } from './producer-lock.js';
import { openCsv } from './readers/csv.js';
import { readJsonl } from './readers/jsonl.js';
import type { ReadBatch } from './readers/read-row.js';
import { REJECTS_HEADER } from './rejects.js';
import { CsvRowEncoder, JsonRowEncoder, type RowEncoder } from './row-encoder.js';
import { RunProducer } from './run-producer.js';
import { RunStateStore } from './run-state.js';

/** A run being produced by this process. */
export interface RunHandle {
  readonly id: string;
  /** True when the id named an existing run, which continues where it stopped. */
  readonly resumed: boolean;
  /**
   * Resolves with the run's state when it ends: `completed`, `failed` (too many bad rows) or
   * `cancelled`; or still `running` after {@link stop}. Rejects on an unexpected failure
   * (Redis, the file system): the run then stays resumable.
   */
  readonly finished: Promise<RunInfo>;
  /** Stops producing at the next chunk, leaving the run resumable with the same id. */
  stop(): Promise<RunInfo>;
  /** Cancels the run (from any machine: `client.runs.cancel(id)`). */
  cancel(): Promise<RunInfo>;
}

/**
 * Starts (or, with the id of an unfinished run, resumes) an overnight run: streams the input
 * file through the model's bulk queue into the output file, in input order, with bad rows in
 * a rejects file. Resolves once the run is set up — model version pinned, files opened, input
 * header read — so that mistakes surface at once; the work goes on until `finished` settles.
 *
 * @throws ScoreqError INVALID_OPTION (names the option), MODEL_NOT_FOUND, VERSION_NOT_FOUND,
 * INVALID_INPUT (the input lacks required columns), REDIS_UNAVAILABLE.
 */
export async function startRun(options: RunOptions): Promise<RunHandle> {
  const o = resolveRunOptions(options);
  const redis =
    typeof o.connection === 'string' ? new Redis(o.connection, { maxRetriesPerRequest: 3 }) : new Redis({ ...o.connection, maxRetriesPerRequest: 3 });
  redis.on('error', o.onError);
  const client = new ScoringClient({ connection: redis, prefix: o.prefix, onError: o.onError });
  const closers: (() => Promise<unknown>)[] = [() => client.close(), () => redis.quit().catch(() => redis.disconnect())];
  const cleanup = async (): Promise<void> => {
    for (const close of closers.reverse().splice(0)) await close().catch(o.onError);
  };
  const id = o.id ?? newRunId();
  const store = new RunStateStore(redis, o.prefix);
  // Set when this call created the run: a set-up that fails after that deletes it again, so a
  // mistake (a missing column, an unwritable output) leaves no "running" run nobody produces.
  let created = false;
  try {
    const before = await store.load(id);
    // An ended run is announced here too, in case the process that ended it could not.
    if (before && before.status !== 'running' && o.onFinished) await announceFinish(store, describeRun(before, now()), o.onFinished);
    if (before?.status === 'completed') {
      await cleanup();
      const info = describeRun(before, now());
      return { id, resumed: true, finished: Promise.resolve(info), stop: () => Promise.resolve(info), cancel: () => Promise.resolve(info) };
    }
    if (before?.status === 'cancelled') throw new ScoreqError('INVALID_OPTION', `run ${id} was cancelled; start a new run with another --id`, { field: 'id' });
    const lock = await ProducerLock.acquire(redis, o.prefix, id, 3 * RUN_HEARTBEAT_MS);
    closers.push(() => lock.release());
    const existing = await store.load(id);
    const producer = `${hostname()}:${process.pid}`;
    let state: RunState;
    let version: ModelVersionRecord;
    if (existing) {
      if (existing.status !== 'running' && existing.status !== 'failed')
        throw new ScoreqError('INVALID_OPTION', `run ${id} is ${existing.status}`, { field: 'id' });
      assertSameRun(existing, o);
      version = await client.runs.modelVersion(o.model, existing.version);
      const at = Math.round(now());
      state = {
        ...existing,
        status: 'running',
        error: undefined,
        finishedAt: undefined,
        window: o.window,
        callbackUrl: o.callbackUrl ?? existing.callbackUrl,
        heartbeatAt: at,
        producer,
        sessionStartedAt: at,
        sessionStartRows: existing.done + existing.failed + existing.rejected,
      };
      await store.resume(id, state);
    } else {
      version = await client.runs.modelVersion(o.model, o.versionRef);
      state = freshState(id, o, version.version, producer, o.input === '-' ? undefined : await inputSize(o.input));
      if (!(await store.create(state)))
        throw new ScoreqError('INVALID_OPTION', `run ${id} was created by another process meanwhile; use another --id`, { field: 'id' });
      created = true;
    }
    const resumed = existing !== null;
    const shape = modelShape(version);
    const rows = new OutputRows(o.outputFormat, version.metadata, shape.outputName, o.passThrough);
    rows.checkPassThrough();

    const output = await openRunFile(o.output, 'output', resumed ? state.outputBytes : undefined);
    closers.push(() => output.close());
    const rejectsFile = await openRunFile(o.rejects, 'rejects', resumed ? state.rejectsBytes : undefined);
    closers.push(() => rejectsFile.close());
    if (!resumed || state.rejectsBytes === 0) state.rejectsBytes = await writeHeader(rejectsFile);

    const source = o.input === '-' ? (o.inputStream ?? process.stdin) : createReadStream(o.input, { highWaterMark: 1 << 20 });
    const input = await openInput(source, o, version, shape.features);
    const writer: OrderedWriter = new OrderedWriter({
      window: o.window,
      start: state,
      output,
      rejects: rejectsFile,
      rows,
      width: shape.width,
      // Called only once the producer below runs.
      onWritten: (position, chunk): Promise<void> => producerLoop.written(position, chunk.index, chunk.rows),
    });
    const producerLoop: RunProducer<unknown> = new RunProducer<unknown>({
      options: o,
      state,
      store,
      runs: client.runs,
      lock,
      batches: input.batches,
      chunker: new Chunker<unknown>({ chunkRows: state.chunkRows, encoder: input.encoder }),
      writer,
      rejectsFile,
      resumeFrom: state.writtenChunks,
      reuseBelow: state.enqueuedChunks,
      openQueue: (onOutcome, onPoll) =>
        ChunkQueue.open({
          redis,
          eventsConnection: eventsOptions(redis),
          prefix: o.prefix,
          model: o.model,
          version: version.version,
          runId: id,
          attempts: o.attempts,
          resultTtlSec: o.resultTtlSec,
          pollMs: o.pollMs,
          onOutcome,
          onPoll,
          onError: o.onError,
        }),
    });
    const finished = producerLoop
      .run()
      .then(async (info) => {
        if (o.onFinished) await announceFinish(store, info, o.onFinished);
        return info;
      })
      .finally(cleanup);
    // The caller may not attach a handler before a failure: keep it from being "unhandled".
    finished.catch(() => undefined);
    let cancelling: Promise<RunInfo> | undefined;
    return {
      id,
      resumed,
      finished,
      stop: () => {
        producerLoop.interrupt();
        return finished;
      },
      cancel: () => {
        cancelling ??= client.runs.cancel(id).then(() => finished);
        return cancelling;
      },
    };
  } catch (err) {
    if (created) await store.discard(id).catch(o.onError);
    await cleanup();
    throw err;
  }
}

/** `run-20250101-120000-1a2b`: sortable by start time, unique enough to never collide. */
export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `run-${t}-${randomBytes(2).toString('hex')}`;
}

function freshState(id: string, o: ResolvedRunOptions, version: string, producer: string, inputBytes: number | undefined): RunState {
  const at = Math.round(now());
  return {
    id,
    model: o.model,
    versionRef: o.versionRef ?? 'production',
    version,
    input: o.input,
    inputFormat: o.inputFormat,
    output: o.output,
    outputFormat: o.outputFormat,
    rejects: o.rejects,
    chunkRows: o.chunkRows,
    window: o.window,
    passThrough: [...o.passThrough],
    status: 'running',
    startedAt: at,
    finishedAt: undefined,
    total: undefined,
    done: 0,
    failed: 0,
    rejected: 0,
    writtenChunks: 0,
    enqueuedChunks: 0,
    outputBytes: 0,
    rejectsBytes: 0,
    inputBytes,
    inputPos: 0,
    callbackUrl: o.callbackUrl,
    ...(o.tenant === undefined ? {} : { tenant: o.tenant }),
    error: undefined,
    heartbeatAt: at,
    producer,
    sessionStartedAt: at,
    sessionStartRows: 0,
  };
}

/**
 * A resumed run must cut the same chunks and write the same files: the options that decide
 * them must not change. (The window and the callback URL may; an omitted version or tenant
 * keeps the run's.)
 */
function assertSameRun(s: RunState, o: ResolvedRunOptions): void {
  const same: [string, unknown, unknown][] = [
    ['model', s.model, o.model],
    ['input', s.input, o.input],
    ['inputFormat', s.inputFormat, o.inputFormat],
    ['output', s.output, o.output],
    ['outputFormat', s.outputFormat, o.outputFormat],
    ['rejects', s.rejects, o.rejects],
    ['chunkRows', s.chunkRows, o.chunkRows],
    ['passThrough', s.passThrough.join(','), o.passThrough.join(',')],
  ];
  if (o.versionRef !== undefined) same.push(['version', s.versionRef, o.versionRef]);
  if (o.tenant !== undefined) same.push(['tenant', s.tenant, o.tenant]);
  for (const [field, was, now] of same) {
    if (was !== now) {
      throw new ScoreqError(
        'INVALID_OPTION',
        `run ${s.id} was started with ${field} ${JSON.stringify(was)}, not ${JSON.stringify(now)}: resume it with the same options, or use another --id`,
        {
          field,
        },
      );
    }
  }
}

interface ModelShape {
  features: ReturnType<typeof featureSpecs>;
  outputName: string;
  /** Width of the main output when its shape says it. */
  width: number | undefined;
}

/** @throws ScoreqError INVALID_INPUT when the model cannot take named feature rows. */
function modelShape(version: ModelVersionRecord): ModelShape {
  const features = featureSpecs(version.metadata);
  if (features.length === 0) {
    throw new ScoreqError(
      'INVALID_INPUT',
      `model version ${version.version} has no feature names in its metadata: a run needs them to read its input's columns`,
      {
        field: 'model',
      },
    );
  }
  featureWidth(version);
  const main = mainOutput(version);
  const last = main?.shape[main.shape.length - 1];
  return { features, outputName: main?.name ?? 'output', width: main?.shape.length === 2 && typeof last === 'number' && last > 0 ? last : undefined };
}

interface OpenedInput {
  batches: AsyncIterable<ReadBatch<unknown>>;
  encoder: RowEncoder<unknown>;
}

async function openInput(
  source: AsyncIterable<Buffer | string>,
  o: ResolvedRunOptions,
  version: ModelVersionRecord,
  features: ModelShape['features'],
): Promise<OpenedInput> {
  if (o.inputFormat === 'jsonl') {
    return {
      batches: readJsonl(source, { maxLineLength: o.maxLineLength }),
      encoder: new JsonRowEncoder(features, version, o.passThrough) as RowEncoder<unknown>,
    };
  }
  const csv = await openCsv(source, { maxLineLength: o.maxLineLength });
  return { batches: csv.batches, encoder: new CsvRowEncoder(csv.columns, features, version, o.passThrough) as RowEncoder<unknown> };
}

async function writeHeader(file: FileHandle): Promise<number> {
  await file.truncate(0);
  const bytes = Buffer.from(REJECTS_HEADER);
  await file.write(bytes, 0, bytes.length, 0);
  return bytes.length;
}

/** Options for the blocking events reader, copied from the command connection's. */
function eventsOptions(redis: Redis): Record<string, unknown> {
  const { retryStrategy, ...rest } = redis.options;
  return { ...rest, ...(retryStrategy ? { retryStrategy } : {}), maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false };
}
