import { Queue } from 'bullmq';
import { assertModelName, bulkQueueName, chunkJobId, keys, now, resolveVersion, ScoreqError, type ErrorInfo, type ModelVersionRecord } from '@scoreq/contracts';
import type { BullFactoryConfig } from './bullmq-factory.js';
import type { ModelCatalog } from './catalog.js';
import type { ClientConnection } from './connection.js';
import { toScoreqError } from './connection.js';
import { int, MAX_TIMER_MS, record, refuseUnknown } from './checks.js';
import { assertRunId, describeRun, parseRunState, RUN_STATE_TTL_SEC, type RunInfo, type RunState, type RunStatus } from './run-state.js';

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
   * @throws ScoreqError RUN_NOT_FOUND when no run has that id (or its state expired).
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
   * Every run whose state is still kept (running ones, and finished ones until their state
   * expires), newest first; `status` keeps the runs in that state. Reads the run keys with
   * SCAN, so it suits operators and dashboards, not a hot path.
   */
  list(options: { status?: RunStatus } = {}): Promise<RunInfo[]> {
    return this.edge(async () => {
      const redis = await this.deps.connection.ready();
      const head = this.redisKeys.run('');
      const ids = new Set<string>();
      for await (const batch of redis.scanStream({ match: `${head}*`, count: 500 }) as AsyncIterable<string[]>) {
        // Other keys of a run (its producer lock) have a further ':'; run ids never do.
        for (const key of batch) if (!key.includes(':', head.length)) ids.add(key.slice(head.length));
      }
      const at = now();
      const hashes = await Promise.all([...ids].map(async (id) => ({ id, hash: await redis.hgetall(this.redisKeys.run(id)) })));
      return hashes
        .filter(({ hash }) => Object.keys(hash).length > 0) // expired since the scan
        .map(({ id, hash }) => describeRun(parseRunState(id, hash), at))
        .filter((info) => options.status === undefined || info.status === options.status)
        .sort((a, b) => b.startedAt - a.startedAt);
    });
  }

  /**
   * Resolves with the run's state once it is completed, failed or cancelled (it does not
   * throw for a failed run: look at `status` and `error`).
   *
   * @throws ScoreqError WAIT_TIMEOUT after `timeoutMs`; RUN_NOT_FOUND for an unknown run.
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
   * @throws ScoreqError RUN_NOT_FOUND for an unknown run.
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
   * Removes the chunk jobs of a run that are still waiting, their input bytes and the chunk
   * results nobody will read: every chunk between the last one written and the highest one
   * enqueued. Jobs a worker already holds stay (the worker fails them fast once the run is
   * cancelled).
   */
  async removeChunks(state: Pick<RunState, 'id' | 'model' | 'writtenChunks' | 'enqueuedChunks'>): Promise<void> {
    const redis = await this.deps.connection.ready();
    const queue = this.bulkQueue(state.model);
    const ids: string[] = [];
    for (let c = state.writtenChunks; c < state.enqueuedChunks; c++) ids.push(chunkJobId(state.model, state.id, c));
    await Promise.all(ids.map((jobId) => queue.remove(jobId)));
    if (ids.length > 0) await redis.unlink(...ids.flatMap((jobId) => [this.redisKeys.chunkResult(jobId), this.redisKeys.chunkInput(jobId)]));
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

function notFound(id: string): ScoreqError {
  return new ScoreqError('RUN_NOT_FOUND', `no run with id ${id} exists (its state may have expired)`, { id });
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
