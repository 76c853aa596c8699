import type { FileHandle } from 'node:fs/promises';
import { ScoreqError, type ErrorInfo } from '@scoreq/contracts';
import type { Chunk } from './chunker.js';
import type { OutputRows } from './output-rows.js';
import { formatRejects, type Reject } from './rejects.js';

/** What the writer keeps of a chunk while it is being scored. */
export type PendingChunk = Pick<Chunk, 'index' | 'rows' | 'passThrough' | 'lines' | 'rejects' | 'inputPos'>;

/** How a chunk came back: its main output (rows × width), or why it failed. */
export type ChunkOutcome = { readonly ok: true; readonly values: Float32Array; readonly width: number } | { readonly ok: false; readonly error: ErrorInfo };

/** Where the output stands after the chunks written so far: what a resume starts from. */
export interface WriterPosition {
  writtenChunks: number;
  outputBytes: number;
  rejectsBytes: number;
  done: number;
  failed: number;
  rejected: number;
  inputPos: number;
}

export interface OrderedWriterOptions {
  /** Most chunks expected and not yet written. */
  window: number;
  /** Where the files stand: a fresh run's header bytes, or a resumed run's recorded position. */
  start: WriterPosition;
  output: FileHandle;
  rejects: FileHandle;
  rows: OutputRows;
  /** Width of the main output, when the signature tells it (for a header before any result). */
  width: number | undefined;
  /** Called after each chunk's bytes are written, before the next chunk is written. */
  onWritten(position: Readonly<WriterPosition>, chunk: PendingChunk): Promise<void>;
}

interface Slot {
  chunk: PendingChunk;
  outcome: ChunkOutcome | undefined;
}

/**
 * Writes chunks in input order whatever order they are scored in. A chunk is expected when it
 * is enqueued and settled when its outcome arrives; settled chunks wait in a buffer until every
 * chunk before them is written. The buffer is bounded by `window`: `room()` holds the producer
 * back while `window` chunks are outstanding, so memory stays flat however large the input.
 *
 * Bytes go to explicit file offsets from the recorded position, so a resumed run (files
 * truncated to that position) writes exactly what an uninterrupted run would.
 */
export class OrderedWriter {
  private readonly slots = new Map<number, Slot>();
  private readonly position: WriterPosition;
  private width: number | undefined;
  private expected: number;
  private flushing = false;
  private failure: Error | undefined;
  private waiters: { resolve: () => void; reject: (err: Error) => void; ready: () => boolean }[] = [];

  constructor(private readonly options: OrderedWriterOptions) {
    const { writtenChunks, outputBytes, rejectsBytes, done, failed, rejected, inputPos } = options.start;
    this.position = { writtenChunks, outputBytes, rejectsBytes, done, failed, rejected, inputPos };
    this.expected = options.start.writtenChunks;
    this.width = options.width;
  }

  /** Chunks expected and not yet written. */
  get outstanding(): number {
    return this.expected - this.position.writtenChunks;
  }

  /** The position after the last chunk written. */
  get written(): Readonly<WriterPosition> {
    return this.position;
  }

  /** Registers the next chunk in order. Call only once `room()` has resolved. */
  expect(chunk: PendingChunk): void {
    this.check();
    if (chunk.index !== this.expected) throw new ScoreqError('INTERNAL', `chunk ${chunk.index} expected out of order (next is ${this.expected})`);
    if (this.outstanding >= this.options.window)
      throw new ScoreqError('INTERNAL', `chunk ${chunk.index} expected with the window of ${this.options.window} full`);
    this.slots.set(chunk.index, { chunk, outcome: undefined });
    this.expected++;
  }

  /** Records a chunk's outcome; chunks are written as soon as all before them are. Later outcomes of a chunk are ignored. */
  settle(index: number, outcome: ChunkOutcome): void {
    const slot = this.slots.get(index);
    if (!slot || slot.outcome) return;
    slot.outcome = outcome;
    if (index === this.position.writtenChunks) void this.flush();
  }

  /** Whether a chunk is expected and has no outcome yet. */
  isWaiting(index: number): boolean {
    const slot = this.slots.get(index);
    return slot !== undefined && slot.outcome === undefined;
  }

  /** Resolves when fewer than `window` chunks are outstanding. */
  room(): Promise<void> {
    return this.when(() => this.outstanding < this.options.window);
  }

  /** Resolves when every expected chunk is written. */
  idle(): Promise<void> {
    return this.when(() => this.outstanding === 0);
  }

  /** Writes the CSV header if the output has none yet and its width is known (an output with no row). */
  async finish(): Promise<void> {
    await this.idle();
    if (this.position.outputBytes === 0 && this.width !== undefined) {
      const header = this.options.rows.header(this.width);
      this.position.outputBytes += await writeAt(this.options.output, header, 0);
    }
  }

  private when(ready: () => boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject, ready }));
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) {
      if (this.failure) w.reject(this.failure);
      else if (w.ready()) w.resolve();
      else this.waiters.push(w);
    }
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.failure) return;
    this.flushing = true;
    try {
      for (let slot = this.slots.get(this.position.writtenChunks); slot?.outcome; slot = this.slots.get(this.position.writtenChunks)) {
        await this.write(slot.chunk, slot.outcome);
        this.slots.delete(slot.chunk.index);
        this.wake();
      }
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.wake();
    } finally {
      this.flushing = false;
    }
  }

  private async write(chunk: PendingChunk, outcome: ChunkOutcome): Promise<void> {
    const { output, rejects, rows } = this.options;
    const p = this.position;
    let text = '';
    let rejected: readonly Reject[] = chunk.rejects;
    if (outcome.ok) {
      if (chunk.rows > 0) {
        if (p.outputBytes === 0) text = rows.header(outcome.width);
        this.width = outcome.width;
        text += rows.format(chunk.passThrough, outcome.values, outcome.width, chunk.rows);
      }
      p.done += chunk.rows;
    } else {
      rejected = mergeByLine(chunk.rejects, failedRows(chunk, outcome.error));
      p.failed += chunk.rows;
    }
    p.rejected += chunk.rejects.length;
    if (text.length > 0) p.outputBytes += await writeAt(output, text, p.outputBytes);
    if (rejected.length > 0) p.rejectsBytes += await writeAt(rejects, formatRejects(rejected), p.rejectsBytes);
    p.writtenChunks = chunk.index + 1;
    p.inputPos = chunk.inputPos;
    await this.options.onWritten(p, chunk);
  }
}

/** Writes `text` at byte `offset`; resolves with the bytes written. */
export async function writeAt(file: FileHandle, text: string, offset: number): Promise<number> {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, offset + done);
    done += bytesWritten;
  }
  return bytes.length;
}

function failedRows(chunk: PendingChunk, error: ErrorInfo): Reject[] {
  const reason = `chunk ${chunk.index} failed in the worker: ${error.code}: ${error.message}`;
  return Array.from(chunk.lines, (line) => ({ line, field: undefined, reason }));
}

function mergeByLine(a: readonly Reject[], b: readonly Reject[]): Reject[] {
  const out: Reject[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.line <= b[j]!.line)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
