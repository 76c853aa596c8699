/** Row encoding (the CSV fast path against encodeRows), rejects, and chunk boundaries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRows, featureSpecs, type FeatureRow, type ModelMetadata } from '@scoreq/contracts';
import { Chunker, CsvRowEncoder, JsonRowEncoder, type Chunk, type ReadRow } from '../src/index.js';
import { cellValue, decimalAt, decimalEnd } from '../src/cells.js';
import { seeded, versionRecord } from './helpers.js';

const metadata: ModelMetadata = {
  features: [
    { name: 'age', scale: { mean: 40, std: 10 } },
    { name: 'plan', categories: { basic: 0, pro: 1, '7': 9 } },
    { name: 'visits', default: 3 },
    'tenure',
  ],
};
const record = versionRecord(metadata);
const features = featureSpecs(metadata);

test('decimalAt reads a plain decimal in place exactly as Number() does, and refuses anything else', () => {
  const next = seeded(3);
  for (let i = 0; i < 20_000; i++) {
    const digits = 1 + Math.floor(next() * 15);
    let s = String(Math.floor(next() * 10 ** digits));
    const point = Math.floor(next() * (s.length + 1));
    if (next() < 0.7) s = `${s.slice(0, point)}.${s.slice(point)}`;
    if (next() < 0.5) s = `-${s}`;
    if (s === '.' || s === '-.') continue;
    assert.equal(Object.is(decimalAt(`x,${s},y`, 2, s.length + 4), Number(s)), true, s);
    assert.equal(decimalEnd, 2 + s.length);
  }
  for (const bad of ['', '-', '1e5', ' 1', '1 ', 'abc', '1.2.3', '0x10', 'Infinity', '1234567890123456']) {
    assert.ok(Number.isNaN(decimalAt(`${bad},`, 0, bad.length + 1)), bad);
  }
});

/** What encodeRows writes for the row the CSV cells mean. */
function reference(header: string[], cells: string[]): Float32Array | string {
  const row: FeatureRow = {};
  header.forEach((name, c) => {
    const f = features.find((x) => x.name === name);
    if (f) row[name] = cellValue(cells[c]!, f);
  });
  const out = new Float32Array(features.length);
  try {
    encodeRows(features, [row], out, 0, record);
    return out;
  } catch (err) {
    return (err as Error).message.replace(/rows\[0\]\.?/g, '');
  }
}

test('the CSV encoder writes exactly what encodeRows writes for the same cells, or the same reason', () => {
  const header = ['id', 'tenure', 'plan', 'age', 'visits'];
  const encoder = new CsvRowEncoder(header, features, record, ['id']);
  const next = seeded(11);
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)]!;
  let bad = 0;
  for (let i = 0; i < 5_000; i++) {
    const cells = [
      `r${i}`,
      pick(['12', '-0.25', '3.5e2', ' 7 ', '', 'x', String(next())]),
      pick(['basic', 'pro', '7', '2', '', 'gold']),
      pick(['41', '39.75', '', '-1', 'NaN', '1e400']),
      pick(['5', '', '0.001', 'true']),
    ];
    const line = cells.join(',');
    const out = new Float32Array(features.length);
    const pass: unknown[] = [];
    const problem = encoder.encode(line, out, 0, pass);
    const expected = reference(header, cells);
    if (typeof expected === 'string') {
      bad++;
      assert.equal(problem?.reason, expected, line);
      assert.deepEqual(pass, []);
    } else {
      assert.equal(problem, undefined, line);
      assert.deepEqual(out, expected, line);
      assert.deepEqual(pass, [`r${i}`]);
    }
  }
  assert.ok(bad > 500 && bad < 4_500, `a useful mix of good and bad rows (${bad} bad)`);
});

test('the CSV encoder names the field count, the feature at fault, and missing required columns', () => {
  const encoder = new CsvRowEncoder(['age', 'plan', 'tenure'], features, record, []);
  assert.deepEqual(encoder.encode('41,pro', new Float32Array(4), 0, []), { field: undefined, reason: 'has 2 fields; the header has 3' });
  assert.deepEqual(encoder.encode('41,pro,1,2', new Float32Array(4), 0, []), { field: undefined, reason: 'has 4 fields; the header has 3' });
  assert.deepEqual(encoder.encode('41,pro,abc', new Float32Array(4), 0, []), { field: 'tenure', reason: 'tenure must be a number, got string "abc"' });
  const out = new Float32Array(4);
  assert.equal(encoder.encode('41,pro,2', out, 0, []), undefined);
  assert.deepEqual([...out], [0.1, 1, 3, 2].map(Math.fround), 'visits takes its default: its column is absent');
  assert.throws(() => new CsvRowEncoder(['age', 'visits'], features, record, []), { code: 'INVALID_INPUT', message: /no column for features plan, tenure/ });
  assert.throws(() => new CsvRowEncoder(['age', 'plan', 'tenure'], features, record, ['id']), { code: 'INVALID_OPTION', message: /pass-through column 'id'/ });
});

test('the JSONL encoder picks features by name, ignores other keys, and keeps pass-through values as they are', () => {
  const encoder = new JsonRowEncoder(features, record, ['id', 'meta']);
  const out = new Float32Array(4);
  const pass: unknown[] = [];
  assert.equal(encoder.encode({ id: 7, age: 50, plan: 'basic', tenure: 1, meta: { a: 1 }, extra: 'x' }, out, 0, pass), undefined);
  assert.deepEqual([...out], [1, 0, 3, 1]);
  assert.deepEqual(pass, [7, { a: 1 }]);
  assert.deepEqual(encoder.encode({ age: 50, plan: 'basic', tenure: [1] }, out, 0, pass), {
    field: 'tenure',
    reason: 'tenure must be a number, got object [1]',
  });
  assert.equal(pass.length, 2);
});

test('chunks hold chunkRows valid rows; bad rows become rejects of the chunk being filled, with line and reason', () => {
  const encoder = new CsvRowEncoder(['id', 'age', 'plan', 'tenure'], features, record, ['id']);
  const chunker = new Chunker({ chunkRows: 2, encoder });
  const rows: ReadRow<string>[] = [
    { line: 2, fields: 'a,40,pro,1' },
    { line: 3, fields: 'b,x,pro,1' },
    { line: 4, fields: 'c,50,basic,2' },
    { line: 5, error: 'line is too long' },
    { line: 6, fields: 'd,60,pro,3' },
  ];
  const chunks: Chunk[] = [];
  for (const r of rows) {
    const c = chunker.push(r, r.line * 10);
    if (c) chunks.push(c);
  }
  const last = chunker.finish(99);
  if (last) chunks.push(last);
  assert.equal(chunks.length, 2);
  assert.deepEqual(
    chunks.map((c) => ({
      index: c.index,
      rows: c.rows,
      pass: c.passThrough,
      lines: [...c.lines],
      rejects: c.rejects.map((r) => [r.line, r.field]),
      inputPos: c.inputPos,
    })),
    [
      { index: 0, rows: 2, pass: ['a', 'c'], lines: [2, 4], rejects: [[3, 'age']], inputPos: 40 },
      { index: 1, rows: 1, pass: ['d'], lines: [6], rejects: [[5, undefined]], inputPos: 99 },
    ],
  );
  assert.deepEqual([...chunks[1]!.features], [2, 1, 3, 3].map(Math.fround));
  assert.equal(chunker.read, 5);
  assert.equal(chunker.rejected, 2);
});

test('a last chunk of nothing but rejects is still cut, so its rejects are written', () => {
  const chunker = new Chunker({ chunkRows: 2, encoder: new CsvRowEncoder(['age', 'plan', 'tenure'], features, record, []) });
  assert.equal(chunker.push({ line: 2, fields: '1,pro,1' }, 1), undefined);
  assert.ok(chunker.push({ line: 3, fields: '1,pro,1' }, 2));
  chunker.push({ line: 4, fields: 'bad' }, 3);
  const last = chunker.finish(3);
  assert.equal(last?.rows, 0);
  assert.equal(last?.rejects.length, 1);
  assert.equal(new Chunker({ chunkRows: 2, encoder: new CsvRowEncoder(['age', 'plan', 'tenure'], features, record, []) }).finish(0), undefined);
});
