import type { FileHandle } from 'node:fs/promises';
import { chunkJobId, now, ScoreqError, toErrorInfo } from '@scoreq/contracts';
import { describeRun, RUN_HEARTBEAT_MS, type RunInfo, type RunsClient, type RunState } from '@scoreq/client';
import type { Chunk, Chunker } from './chunker.js';
import type { ChunkQueue } from './chunk-queue.js';
import type { ResolvedRunOptions } from './options.js';
import type { ChunkOutcome, OrderedWriter, WriterPosition } from './ordered-writer.js';
import { writeAt } from './ordered-writer.js';
import type { ProducerLock } from './producer-lock.js';
import type { ReadBatch } from './readers/read-row.js';
import { formatRejects, type Reject } from './rejects.js';
import type { RunStateStore } from './run-state.js';

/** Why the producer stops before the input's end. */
type Stop = { kind: 'interrupted' } | { kind: 'cancelled' } | { kind: 'failed'; error: ScoreqError };

/** Everything a producer works with, opened by `startRun`. */
export interface ProducerParts<F> {
  readonly options: ResolvedRunOptions;
  readonly state: RunState;
  readonly store: RunStateStore;
  readonly runs: RunsClient;
  readonly lock: ProducerLock;
  readonly batches: AsyncIterable<ReadBatch<F>>;
  readonly chunker: Chunker<F>;
  readonly writer: OrderedWriter;
  readonly rejectsFile: FileHandle;
  /** Chunks below this were written by an earlier session: cut again, never enqueued. */
  readonly resumeFrom: number;
  /** Chunks below this may have been enqueued by an earlier session (their jobs or results are reused). */
  readonly reuseBelow: number;
  openQueue(onOutcome: (index: number, outcome: ChunkOutcome) => void, onPoll: () => Promise<void>): Promise<ChunkQueue>;
}

const EMPTY = new Float32Array(0);

/**
 * The run loop: read → chunk → wait for room in the window → enqueue; outcomes go to the
 * ordered writer, which writes them in input order and records each written chunk in the run
 * state. At most `window` chunks are outstanding, so producer, worker and Redis memory stay
 * flat whatever the input's size.
 */
export class RunProducer<F> {
  private readonly local: RunState;
  private stop: Stop | undefined;
  private wakeStop!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.wakeStop = resolve));
  private queue: ChunkQueue | undefined;
  private enqueuedHigh: number;
  private background: Error | undefined;

  constructor(private readonly p: ProducerParts<F>) {
    this.local = { ...p.state };
    this.enqueuedHigh = p.state.enqueuedChunks;
  }

  /** Stops at the next chunk boundary, leaving the run resumable (status stays running). */
  interrupt(): void {
    this.halt({ kind: 'interrupted' });
  }

  /** Runs to the end (or a stop) and resolves with the run's final state. */
  async run(): Promise<RunInfo> {
    const { p } = this;
    const heartbeat = setInterval(() => void this.beat(), RUN_HEARTBEAT_MS);
    try {
      this.queue = await p.openQueue(
        (index, outcome) => this.onOutcome(index, outcome),
        () => this.checkCancelled(),
      );
      await this.produce();
      return await this.conclude();
    } finally {
      clearInterval(heartbeat);
      await this.queue?.close();
    }
  }

  private async produce(): Promise<void> {
    const { chunker } = this.p;
    let bytesRead = 0;
    for await (const batch of this.p.batches) {
      bytesRead = batch.bytesRead;
      for (const row of batch.rows) {
        const chunk = chunker.push(row, bytesRead);
        if (chunk) await this.submit(chunk);
        if (this.stop) return;
      }
      this.checkBadRows(false);
      if (this.stop) return;
    }
    const last = chunker.finish(bytesRead);
    if (last) await this.submit(last);
    if (this.stop) return;
    this.local.total = chunker.read;
    await this.p.store.update(this.local.id, { total: chunker.read });
    this.checkBadRows(true);
    if (this.stop) return;
    await Promise.race([this.p.writer.finish(), this.stopped]);
  }

  private async submit(chunk: Chunk): Promise<void> {
    if (chunk.index < this.p.resumeFrom) return;
    const { writer } = this.p;
    await Promise.race([writer.room(), this.stopped]);
    this.throwBackground();
    if (this.stop) return;
    writer.expect(chunk);
    if (chunk.rows === 0) {
      writer.settle(chunk.index, { ok: true, values: EMPTY, width: 0 });
      return;
    }
    if (chunk.index + 1 > this.enqueuedHigh) {
      // Recorded before the job exists (commands on one connection run in order), so
      // `runs.cancel` always knows which jobs to remove.
      this.enqueuedHigh = chunk.index + 1;
      this.p.store.update(this.local.id, { enqueuedChunks: this.enqueuedHigh }).catch((err: unknown) => this.fail(err));
    }
    // Not awaited: adding a chunk (a ~170 KB payload) takes a few ms of round trip, during
    // which the next chunk is read; the window bounds how many are in flight.
    this.queue!.enqueue(chunk, chunk.index < this.p.reuseBelow).catch((err: unknown) => this.fail(err));
  }

  private onOutcome(index: number, outcome: ChunkOutcome): void {
    if (!outcome.ok && outcome.error.code === 'CANCELLED') {
      // Workers fail chunks of a cancelled run fast; the status tells whether that is the case.
      this.checkCancelled()
        .then(() => {
          if (!this.stop) this.p.writer.settle(index, outcome);
        })
        .catch((err: unknown) => this.fail(err));
      return;
    }
    this.p.writer.settle(index, outcome);
  }

  /** Called by the writer after each chunk's bytes are written. */
  async written(position: Readonly<WriterPosition>, index: number, rows: number): Promise<void> {
    Object.assign(this.local, position, { heartbeatAt: Math.round(now()) });
    const jobId = rows > 0 ? chunkJobId(this.local.model, this.local.id, index) : undefined;
    await this.p.store.chunkWritten(this.local.id, { ...position }, jobId);
    try {
      this.p.options.onProgress(this.info());
    } catch (err) {
      this.p.options.onError(err as Error);
    }
  }

  /** The run's state as this producer knows it, with derived figures. */
  info(): RunInfo {
    return describeRun(this.local, now());
  }

  private checkBadRows(final: boolean): void {
    const { chunker, options } = this.p;
    const bad = chunker.rejected + this.p.writer.written.failed;
    if (chunker.read === 0 || (!final && chunker.read < options.minRowsForRejectRate)) return;
    if (bad / chunker.read <= options.maxRejectRate) return;
    const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;
    this.halt({
      kind: 'failed',
      error: new ScoreqError(
        'INVALID_INPUT',
        `run ${this.local.id} stopped: ${bad} of the ${chunker.read} rows read were bad (${pct(bad / chunker.read)}), over the limit of ${pct(options.maxRejectRate)} ` +
          `(maxRejectRate); see ${options.rejects} for their line numbers and reasons`,
        { field: 'input', bad, read: chunker.read, maxRejectRate: options.maxRejectRate },
      ),
    });
  }

  private async checkCancelled(): Promise<void> {
    if ((await this.p.store.status(this.local.id)) === 'cancelled') this.halt({ kind: 'cancelled' });
  }

  private halt(stop: Stop): void {
    if (this.stop) return;
    this.stop = stop;
    this.wakeStop();
  }

  private fail(err: unknown): void {
    this.background ??= err instanceof Error ? err : new Error(String(err));
    this.wakeStop();
  }

  private throwBackground(): void {
    if (this.background) throw this.background;
  }

  private async beat(): Promise<void> {
    try {
      if (!(await this.p.lock.renew())) {
        this.halt({ kind: 'failed', error: new ScoreqError('INTERNAL', `run ${this.local.id} lost its producer lock (another process took the run over)`) });
        return;
      }
      await this.p.store.update(this.local.id, { heartbeatAt: Math.round(now()) });
    } catch (err) {
      this.p.options.onError(err as Error);
    }
  }

  private async conclude(): Promise<RunInfo> {
    this.throwBackground();
    const { store, writer } = this.p;
    const stop = this.stop;
    const id = this.local.id;
    if (stop === undefined) {
      const fields = { ...writer.written, total: this.local.total };
      if (await store.finish(id, 'completed', fields)) return this.reread();
      return this.cancelled();
    }
    if (stop.kind === 'interrupted') return this.info();
    if (stop.kind === 'cancelled') return this.cancelled();
    // Failed (too many bad rows): let outstanding chunks land so their rejects are listed,
    // then list the rejects of the chunk being filled past the recorded position (a resume
    // truncates them away and meets them again).
    await this.drainUnlessCancelled();
    const pending = this.p.chunker.pendingRejects();
    if (pending.length > 0 && writer.outstanding === 0) await appendRejects(this.p.rejectsFile, pending, writer.written.rejectsBytes);
    if (!(await store.finish(id, 'failed', { ...writer.written, error: toErrorInfo(stop.error) }))) return this.cancelled();
    return this.reread();
  }

  /** Waits for outstanding chunks to be written, unless the run is cancelled meanwhile. */
  private async drainUnlessCancelled(): Promise<void> {
    const { writer, options, store } = this.p;
    while (writer.outstanding > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([writer.idle(), new Promise((r) => (timer = setTimeout(r, options.pollMs)))]);
      clearTimeout(timer);
      if ((await store.status(this.local.id)) === 'cancelled') return;
    }
  }

  private async cancelled(): Promise<RunInfo> {
    const state = await this.p.store.load(this.local.id);
    if (state) await this.p.runs.removeChunks({ ...state, enqueuedChunks: Math.max(state.enqueuedChunks, this.enqueuedHigh) });
    return this.reread();
  }

  private async reread(): Promise<RunInfo> {
    const state = await this.p.store.load(this.local.id);
    return state ? describeRun(state, now()) : this.info();
  }
}

async function appendRejects(file: FileHandle, rejects: readonly Reject[], offset: number): Promise<void> {
  await writeAt(file, formatRejects(rejects), offset);
}
