/** The CSV and JSONL readers: streaming, line numbers, per-row errors, and agreement with csv-parse. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { csvFieldsOf, openCsv, readJsonl } from '../src/index.js';
import { collect, seeded, source } from './helpers.js';

const options = { maxLineLength: 200 };

test('a CSV input gives its header columns and each record with its line number, blank lines skipped', async () => {
  const csv = await openCsv(source('\uFEFFid,a,b\r\nx,1,2\r\n\r\ny,3,4\n'), options);
  assert.deepEqual(csv.columns, ['id', 'a', 'b']);
  const rows = await collect(csv.batches);
  assert.deepEqual(
    rows.map((r) => [r.line, r.error ?? csvFieldsOf(r.fields)]),
    [
      [2, ['x', '1', '2']],
      [4, ['y', '3', '4']],
    ],
  );
});

test('a record with quotes is parsed by csv-parse, over the lines it spans, numbered by its first line', async () => {
  const text = 'id,note,v\n1,"a, ""quoted"" note",5\n2,"two\nlines",6\n3,plain,7\n';
  const rows = await collect((await openCsv(source(text), options)).batches);
  assert.deepEqual(
    rows.map((r) => [r.line, r.error ?? csvFieldsOf(r.fields)]),
    [
      [2, ['1', 'a, "quoted" note', '5']],
      [3, ['2', 'two\nlines', '6']],
      [5, ['3', 'plain', '7']],
    ],
  );
});

test('wrong field counts of quoted records, malformed quoting, over-long lines and an unclosed quote are per-row errors', async () => {
  const long = `9,${'x'.repeat(300)},1`;
  const text = `id,a,b\n1,"x",2,3\n2,a"b"c,3\n${long}\n4,5,6\n5,"never closed,1\n`;
  const rows = await collect((await openCsv(source(text, 13), options)).batches);
  assert.equal(rows.length, 5);
  assert.match(rows[0]!.error!, /has 4 fields; the header has 3/);
  assert.equal(rows[0]!.line, 2);
  assert.match(rows[1]!.error!, /invalid CSV: Invalid Opening Quote/);
  assert.equal(rows[2]!.line, 4);
  assert.match(rows[2]!.error!, /line is 304 characters long; the limit is 200/);
  assert.deepEqual(csvFieldsOf((rows[3] as { fields: string }).fields), ['4', '5', '6']);
  assert.equal(rows[4]!.line, 6);
  assert.match(rows[4]!.error!, /quoted field opened here is never closed/);
});

test('an over-long line is reported without being held: a 5 MB line in a stream costs no 5 MB string', async () => {
  const huge = 'y'.repeat(5_000_000);
  const rows = await collect((await openCsv(source(`a,b\n${huge}\n1,2\n`, 65_536), { maxLineLength: 1_000 })).batches);
  assert.equal(rows.length, 2);
  assert.match(rows[0]!.error!, /line is 5000000 characters long/);
  assert.deepEqual(csvFieldsOf((rows[1] as { fields: string }).fields), ['1', '2']);
});

test('an empty input or a header naming a column twice is refused with INVALID_INPUT', async () => {
  await assert.rejects(openCsv(source(''), options), { code: 'INVALID_INPUT', message: /empty/ });
  await assert.rejects(openCsv(source('a,b,a\n1,2,3\n'), options), { code: 'INVALID_INPUT', message: /names column 'a' twice/ });
});

test('on generated files the reader gives exactly the records csv-parse gives', async () => {
  const next = seeded(7);
  const cell = (): string => {
    const r = next();
    if (r < 0.6) return String(Math.round((next() - 0.5) * 1e6) / 1e3);
    if (r < 0.7) return '';
    if (r < 0.8) return `"q${Math.floor(next() * 9)}, ""x"""`;
    if (r < 0.85) return `"multi\nline ${Math.floor(next() * 9)}"`;
    if (r < 0.9) return ' spaced ';
    return `w${Math.floor(next() * 100)}`;
  };
  const lines = ['c0,c1,c2,c3,c4'];
  for (let i = 0; i < 2_000; i++) lines.push(Array.from({ length: 5 }, cell).join(','));
  const text = `${lines.join('\n')}\n`;
  const expected = parse(text, { skip_empty_lines: true }) as string[][];
  const csv = await openCsv(source(text, 4_096), { maxLineLength: 10_000 });
  const rows = await collect(csv.batches);
  assert.deepEqual([csv.columns, ...rows.map((r) => (r.error === undefined ? [...csvFieldsOf(r.fields)] : r.error))], expected);
});

test('JSONL gives one object per line with its line number; other values and bad JSON are per-row errors', async () => {
  const text = '{"id":1,"a":2}\n\n[1,2]\n{"id":\n' + `{"pad":"${'z'.repeat(300)}"}\n` + '{"id":"é","a":null}\n';
  const rows = await collect(readJsonl(source(text, 5), options));
  assert.deepEqual(rows[0], { line: 1, fields: { id: 1, a: 2 } });
  assert.deepEqual(rows[1], { line: 3, error: 'is an array, not a JSON object' });
  assert.equal(rows[2]!.line, 4);
  assert.match(rows[2]!.error!, /^invalid JSON/);
  assert.match(rows[3]!.error!, /line is 310 characters long/);
  assert.deepEqual(rows[4], { line: 6, fields: { id: 'é', a: null } });
  assert.equal(rows.length, 5);
});
