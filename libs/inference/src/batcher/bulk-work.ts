import type { ScoreqError } from '@scoreq/contracts';
import { allocate, rowWidth, type WireTensor } from '../tensor.js';
import type { RunReply } from '../pool/messages.js';
import type { BatchItem } from './batch-types.js';

/** Rows `[from, from + rows)` of a bulk item, as one inference call. */
export interface BulkSlice {
  from: number;
  rows: number;
  inputs: WireTensor[];
}

/** What a bulk item gets once every row of it has run; the ids and times of its first call. */
export interface BulkOutcome {
  outputs: WireTensor[];
  batchId: string;
  dispatchedAt: number;
  startedAt: number;
  endedAt: number;
}

/**
 * A bulk item (an overnight-run chunk) while its rows are out: whole in one call on the bulk
 * lane's own slots, or in slices on slots it borrows from the real-time lane. Slices may run
 * at once on different slots; their outputs are put back together in row order.
 */
export class BulkWork {
  /** First row not yet handed to a call. */
  private next = 0;
  private doneRows = 0;
  private readonly parts: { from: number; reply: RunReply }[] = [];
  private failed = false;
  private first: { batchId: string; dispatchedAt: number } | undefined;

  readonly rows: number;

  constructor(
    readonly item: BatchItem,
    private readonly onDone: (outcome: BulkOutcome) => void,
    private readonly onFail: (error: ScoreqError) => void,
  ) {
    this.rows = item.rows;
  }

  get remaining(): number {
    return this.rows - this.next;
  }

  get started(): boolean {
    return this.next > 0;
  }

  /** Hands out the next `rows` rows (at most what remains). The whole item goes out as it is, uncopied. */
  take(rows: number, batchId: string, dispatchedAt: number): BulkSlice {
    this.first ??= { batchId, dispatchedAt };
    const from = this.next;
    const n = Math.min(rows, this.remaining);
    this.next += n;
    const { inputs } = this.item;
    if (from === 0 && n === this.rows) return { from, rows: n, inputs };
    return { from, rows: n, inputs: inputs.map((t) => sliceRows(t, from, n)) };
  }

  /** Records a slice's reply; settles the item once every row is back. */
  complete(slice: BulkSlice, reply: RunReply): void {
    if (this.failed) return;
    this.parts.push({ from: slice.from, reply });
    this.doneRows += slice.rows;
    if (this.doneRows === this.rows) this.onDone(this.assemble());
  }

  /** The first failing slice fails the item; later replies are ignored. */
  readonly fail = (error: ScoreqError): void => {
    if (this.failed) return;
    this.failed = true;
    this.onFail(error);
  };

  private assemble(): BulkOutcome {
    const parts = this.parts.sort((a, b) => a.from - b.from);
    const times = { ...this.first!, startedAt: Math.min(...parts.map((p) => p.reply.startedAt)), endedAt: Math.max(...parts.map((p) => p.reply.endedAt)) };
    if (parts.length === 1) return { outputs: parts[0]!.reply.outputs, ...times };
    const outputs = parts[0]!.reply.outputs.map((head, k) => {
      const width = rowWidth(head.dims);
      const data = allocate(head.type, this.rows * width);
      for (const p of parts) (data as Float32Array).set(p.reply.outputs[k]!.data as Float32Array, p.from * width);
      return { name: head.name, type: head.type, dims: [this.rows, ...head.dims.slice(1)], data } as WireTensor;
    });
    return { outputs, ...times };
  }
}

/** A view of rows `[from, from + rows)` (the pool copies a view before moving it to a thread). */
function sliceRows(t: WireTensor, from: number, rows: number): WireTensor {
  const width = rowWidth(t.dims);
  return { name: t.name, type: t.type, dims: [rows, ...t.dims.slice(1)], data: t.data.subarray(from * width, (from + rows) * width) };
}

/**
 * How many rows a borrowed call may take so that it stays near `targetMs`: from the measured
 * execution time per row of this batcher's bulk calls (a moving average), or `initialRows`
 * before the first measurement.
 */
export class SliceSizer {
  private msPerRow: number | undefined;

  constructor(private readonly initialRows: number) {}

  observe(rows: number, executionMs: number): void {
    if (rows <= 0 || !(executionMs >= 0)) return;
    const x = executionMs / rows;
    this.msPerRow = this.msPerRow === undefined ? x : 0.8 * this.msPerRow + 0.2 * x;
  }

  rowsFor(targetMs: number, maxRows: number): number {
    const rows = this.msPerRow === undefined || this.msPerRow === 0 ? this.initialRows : Math.floor(targetMs / this.msPerRow);
    return Math.max(1, Math.min(rows, maxRows));
  }
}
