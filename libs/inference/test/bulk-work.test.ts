/** Slices of a bulk item and their reassembly; slice sizing from measured time per row. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScoreqError } from '@scoreq/contracts';
import { BulkWork, SliceSizer, type BulkOutcome } from '../src/batcher/bulk-work.js';
import type { RunReply } from '../src/index.js';

/** A reply whose one output holds `rows` rows of two values: row r gives [r, -r] for rows counted from `from`. */
function reply(from: number, rows: number, startedAt: number): RunReply {
  const data = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) data.set([from + r, -(from + r)], r * 2);
  return { ok: true, outputs: [{ name: 'out', type: 'float32', dims: [rows, 2], data }], startedAt, endedAt: startedAt + 1 };
}

function work(rows: number): { work: BulkWork; outcome: () => BulkOutcome | undefined; error: () => ScoreqError | undefined } {
  let outcome: BulkOutcome | undefined;
  let error: ScoreqError | undefined;
  const input = new Float32Array(rows * 3).map((_, i) => i);
  const w = new BulkWork(
    { rows, inputs: [{ name: 'in', type: 'float32', dims: [rows, 3], data: input }], lane: 'bulk' },
    (o) => (outcome = o),
    (e) => (error = e),
  );
  return { work: w, outcome: () => outcome, error: () => error };
}

test('a bulk item taken whole goes out uncopied and settles with its one reply', () => {
  const { work: w, outcome } = work(10);
  const slice = w.take(100, 'b-1', 5);
  assert.equal(slice.rows, 10);
  assert.equal(w.remaining, 0);
  const r = reply(0, 10, 7);
  w.complete(slice, r);
  assert.equal(outcome()!.outputs, r.outputs);
  assert.deepEqual([outcome()!.batchId, outcome()!.dispatchedAt, outcome()!.startedAt], ['b-1', 5, 7]);
});

test('slices carry their own rows and settle in row order whatever order they finish in', () => {
  const { work: w, outcome } = work(10);
  const a = w.take(4, 'b-1', 1);
  const b = w.take(4, 'b-2', 2);
  const c = w.take(4, 'b-3', 3);
  assert.deepEqual([a.rows, b.rows, c.rows], [4, 4, 2]);
  assert.deepEqual([...(b.inputs[0]!.data as Float32Array)], [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
  assert.deepEqual(b.inputs[0]!.dims, [4, 3]);
  w.complete(c, reply(8, 2, 30));
  w.complete(a, reply(0, 4, 10));
  assert.equal(outcome(), undefined, 'not settled before every row is back');
  w.complete(b, reply(4, 4, 20));
  const out = outcome()!;
  assert.deepEqual(out.outputs[0]!.dims, [10, 2]);
  assert.deepEqual(
    [...(out.outputs[0]!.data as Float32Array)].filter((_, i) => i % 2 === 0),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual([out.batchId, out.dispatchedAt, out.startedAt, out.endedAt], ['b-1', 1, 10, 31]);
});

test('the first failing slice fails the item once; later replies are ignored', () => {
  const { work: w, outcome, error } = work(10);
  const a = w.take(5, 'b-1', 1);
  const b = w.take(5, 'b-2', 1);
  w.fail(new ScoreqError('INFERENCE_FAILED', 'boom'));
  w.fail(new ScoreqError('INTERNAL', 'again'));
  w.complete(a, reply(0, 5, 1));
  w.complete(b, reply(5, 5, 1));
  assert.equal(error()!.code, 'INFERENCE_FAILED');
  assert.equal(outcome(), undefined);
});

test('slice sizes come from the measured time per row, within bounds', () => {
  const sizer = new SliceSizer(64);
  assert.equal(sizer.rowsFor(4, Number.POSITIVE_INFINITY), 64, 'before any measurement: the initial rows');
  sizer.observe(500, 50); // 0.1 ms a row
  assert.equal(sizer.rowsFor(4, Number.POSITIVE_INFINITY), 40);
  assert.equal(sizer.rowsFor(4, 16), 16);
  assert.equal(sizer.rowsFor(0.01, 16), 1, 'at least one row');
  sizer.observe(100, 0); // a faster call moves the average (0.08 ms a row) down, not to it
  const rows = sizer.rowsFor(4, Number.POSITIVE_INFINITY);
  assert.ok(rows >= 49 && rows <= 50, `got ${rows}`);
});
