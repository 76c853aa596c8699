import type { ReadRow } from './readers/read-row.js';
import type { Reject } from './rejects.js';
import type { RowEncoder } from './row-encoder.js';

/**
 * Up to `chunkRows` valid rows, encoded as one binary matrix: the unit a run enqueues, scores
 * and writes. Chunk boundaries depend only on the input and the model, so a resumed run cuts
 * the same chunks and can skip those already written.
 */
export interface Chunk {
  readonly index: number;
  /** Valid rows in the chunk (0 only for a last chunk that holds nothing but rejects). */
  readonly rows: number;
  readonly width: number;
  /** rows × width features, row-major, in the model's feature order, already encoded. */
  readonly features: Float32Array;
  /** rows × pass-through columns, row-major: what the output copies in front of predictions. */
  readonly passThrough: unknown[];
  /** Input line of each row, for the rejects of a chunk that fails. */
  readonly lines: Uint32Array;
  /** Bad rows met while this chunk filled, in input order. */
  readonly rejects: Reject[];
  /** Input bytes read when the chunk was cut. */
  readonly inputPos: number;
}

export interface ChunkerOptions<F> {
  chunkRows: number;
  /** Validates and encodes rows, and picks their pass-through values. */
  encoder: RowEncoder<F>;
}

/**
 * Validates and encodes rows into chunks. Bad rows (reader errors and rows `encodeRows`
 * refuses) become rejects of the chunk being filled, with their line number and reason.
 */
export class Chunker<F> {
  /** Rows seen (valid and rejected). */
  read = 0;
  /** Rows rejected. */
  rejected = 0;
  private index = 0;
  private features: Float32Array;
  private passThrough: unknown[] = [];
  private lines: Uint32Array;
  private rejects: Reject[] = [];
  private rows = 0;

  constructor(private readonly options: ChunkerOptions<F>) {
    this.features = new Float32Array(options.chunkRows * options.encoder.width);
    this.lines = new Uint32Array(options.chunkRows);
  }

  /** Number of the next chunk to be cut. */
  get nextIndex(): number {
    return this.index;
  }

  /** Adds one row; returns the chunk it completed, if any. */
  push(row: ReadRow<F>, inputPos: number): Chunk | undefined {
    this.read++;
    if (row.error !== undefined) {
      this.reject({ line: row.line, field: undefined, reason: row.error });
      return undefined;
    }
    const { encoder, chunkRows } = this.options;
    const problem = encoder.encode(row.fields, this.features, this.rows * encoder.width, this.passThrough);
    if (problem) {
      this.reject({ line: row.line, field: problem.field, reason: problem.reason });
      return undefined;
    }
    this.lines[this.rows++] = row.line;
    return this.rows === chunkRows ? this.cut(inputPos) : undefined;
  }

  /** The last, partial chunk: undefined when nothing (no row, no reject) is left. */
  finish(inputPos: number): Chunk | undefined {
    return this.rows > 0 || this.rejects.length > 0 ? this.cut(inputPos) : undefined;
  }

  /** Rejects met since the last chunk was cut (listed when a run stops early). */
  pendingRejects(): readonly Reject[] {
    return this.rejects;
  }

  private reject(r: Reject): void {
    this.rejected++;
    this.rejects.push(r);
  }

  private cut(inputPos: number): Chunk {
    const { width } = this.options.encoder;
    const full = this.rows === this.options.chunkRows;
    const chunk: Chunk = {
      index: this.index++,
      rows: this.rows,
      width,
      features: full ? this.features : this.features.slice(0, this.rows * width),
      passThrough: this.passThrough,
      lines: full ? this.lines : this.lines.slice(0, this.rows),
      rejects: this.rejects,
      inputPos,
    };
    this.features = new Float32Array(this.options.chunkRows * width);
    this.lines = new Uint32Array(this.options.chunkRows);
    this.passThrough = [];
    this.rejects = [];
    this.rows = 0;
    return chunk;
  }
}
