/** The ordered writer: input order whatever the completion order, a bounded window, resumable positions. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRow } from '@scoreq/contracts';
import { formatNumber, OrderedWriter, OutputRows, REJECTS_HEADER, type PendingChunk, type WriterPosition } from '../src/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scoreq-writer-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const classifier = new OutputRows('csv', { output: { kind: 'classification', labels: ['no', 'yes, sure'] } }, 'probabilities', ['id']);

function chunk(index: number, ids: string[], rejects: PendingChunk['rejects'] = []): PendingChunk {
  return { index, rows: ids.length, passThrough: ids, lines: Uint32Array.from(ids, (_, i) => index * 10 + i + 2), rejects, inputPos: index * 100 };
}

async function files(name: string): Promise<{ output: FileHandle; rejects: FileHandle; paths: [string, string] }> {
  const paths: [string, string] = [join(dir, `${name}.csv`), join(dir, `${name}.rejects.csv`)];
  const output = await open(paths[0], 'w');
  const rejects = await open(paths[1], 'w');
  await rejects.write(REJECTS_HEADER, 0);
  return { output, rejects, paths };
}

const start = (): WriterPosition => ({ writtenChunks: 0, outputBytes: 0, rejectsBytes: REJECTS_HEADER.length, done: 0, failed: 0, rejected: 0, inputPos: 0 });

test('chunks settled out of order are written in input order, and the window bounds what is outstanding', async () => {
  const f = await files('order');
  const written: number[] = [];
  const writer = new OrderedWriter({
    window: 3,
    start: start(),
    output: f.output,
    rejects: f.rejects,
    rows: classifier,
    width: undefined,
    onWritten: async (p) => void written.push(p.writtenChunks),
  });
  for (let i = 0; i < 3; i++) {
    await writer.room();
    writer.expect(chunk(i, [`a${i}`, `b${i}`], i === 1 ? [{ line: 13, field: 'x', reason: 'x must be a number, got "q"' }] : []));
  }
  assert.throws(() => writer.expect(chunk(3, ['c'])), /window of 3 full/);
  let roomy = false;
  const room = writer.room().then(() => (roomy = true));
  writer.settle(2, { ok: true, values: Float32Array.of(0.5, 0.5, 0.25, 0.75), width: 2 });
  writer.settle(1, { ok: false, error: { code: 'INFERENCE_FAILED', message: 'boom' } });
  await Promise.resolve();
  assert.equal(roomy, false, 'nothing written while chunk 0 is outstanding');
  writer.settle(0, { ok: true, values: Float32Array.of(0.9, 0.1, 0.2, 0.8), width: 2 });
  await room;
  await writer.idle();
  assert.deepEqual(written, [1, 2, 3]);
  assert.deepEqual(writer.written, {
    writtenChunks: 3,
    outputBytes: writer.written.outputBytes,
    rejectsBytes: writer.written.rejectsBytes,
    done: 4,
    failed: 2,
    rejected: 1,
    inputPos: 200,
  });
  await f.output.close();
  await f.rejects.close();
  const out = await readFile(f.paths[0], 'utf8');
  assert.equal(Buffer.byteLength(out), writer.written.outputBytes);
  assert.equal(
    out,
    'id,label,score,score_no,"score_yes, sure"\n' +
      `a0,no,${formatNumber(Math.fround(0.9))},${formatNumber(Math.fround(0.9))},${formatNumber(Math.fround(0.1))}\n` +
      `b0,"yes, sure",${formatNumber(Math.fround(0.8))},${formatNumber(Math.fround(0.2))},${formatNumber(Math.fround(0.8))}\n` +
      'a2,no,0.5,0.5,0.5\nb2,"yes, sure",0.75,0.25,0.75\n',
  );
  assert.equal(
    await readFile(f.paths[1], 'utf8'),
    'line,field,reason\n12,,chunk 1 failed in the worker: INFERENCE_FAILED: boom\n13,x,"x must be a number, got ""q"""\n13,,chunk 1 failed in the worker: INFERENCE_FAILED: boom\n',
  );
});

test('a writer resumed from a recorded position writes the same bytes as one that never stopped', async () => {
  const values = (i: number): Float32Array => Float32Array.of(i / 10, 1 - i / 10);
  const write = async (output: FileHandle, rejects: FileHandle, from: WriterPosition, chunks: number[]): Promise<WriterPosition> => {
    const writer = new OrderedWriter({ window: 2, start: from, output, rejects, rows: classifier, width: 2, onWritten: async () => undefined });
    for (const i of chunks) {
      await writer.room();
      writer.expect(chunk(i, [`r${i}`]));
      writer.settle(i, { ok: true, values: values(i), width: 2 });
    }
    await writer.finish();
    return { ...writer.written };
  };
  const whole = await files('whole');
  await write(whole.output, whole.rejects, start(), [0, 1, 2, 3]);
  await whole.output.close();
  await whole.rejects.close();

  const first = await files('resumed');
  const half = await write(first.output, first.rejects, start(), [0, 1]);
  // A producer killed after writing more than it recorded leaves bytes past the position.
  await first.output.write('r2,half a line', half.outputBytes);
  await first.output.close();
  await first.rejects.close();
  const output = await open(first.paths[0], 'r+');
  const rejects = await open(first.paths[1], 'r+');
  await output.truncate(half.outputBytes);
  await rejects.truncate(half.rejectsBytes);
  await write(output, rejects, half, [2, 3]);
  await output.close();
  await rejects.close();
  assert.equal(await readFile(first.paths[0], 'utf8'), await readFile(whole.paths[0], 'utf8'));
});

test('an output with no scored row still gets its CSV header when the width is known; JSONL rows mirror job results', async () => {
  const f = await files('empty');
  const writer = new OrderedWriter({
    window: 1,
    start: start(),
    output: f.output,
    rejects: f.rejects,
    rows: classifier,
    width: 2,
    onWritten: async () => undefined,
  });
  await writer.finish();
  await f.output.close();
  await f.rejects.close();
  assert.equal(await readFile(f.paths[0], 'utf8'), 'id,label,score,score_no,"score_yes, sure"\n');
  const jsonl = new OutputRows('jsonl', { output: { kind: 'classification', labels: ['no', 'yes'] } }, 'probabilities', ['id', 'k']);
  assert.equal(
    jsonl.format([1, 'a"b'], Float32Array.of(0.25, 0.75), 2, 1),
    '{"id":1,"k":"a\\"b","label":"yes","score":0.75,"scores":{"no":0.25,"yes":0.75}}\n',
  );
  const raw = new OutputRows('csv', {}, 'logits', []);
  assert.equal(raw.header(3), 'logits_0,logits_1,logits_2\n');
  assert.equal(raw.format([], Float32Array.of(1, -2.5, 1e-7), 3, 1), `1,-2.5,${formatNumber(Math.fround(1e-7))}\n`);
  const regression = new OutputRows('jsonl', { output: { kind: 'regression' } }, 'y', []);
  assert.equal(regression.format([], Float32Array.of(3.5), 1, 1), '{"value":3.5}\n');
  assert.throws(() => new OutputRows('csv', { output: { kind: 'classification' } }, 'p', ['score']).checkPassThrough(), { code: 'INVALID_OPTION' });
});

test('numbers keep 9 significant digits, enough to tell every float32 apart', () => {
  assert.equal(formatNumber(0.5), '0.5');
  assert.equal(formatNumber(Math.fround(0.1)), '0.100000001');
  assert.equal(formatNumber(Math.fround(1e-7)), '1.00000001e-7');
  assert.equal(formatNumber(-3), '-3');
  assert.equal(formatNumber(0), '0');
  for (const x of [Math.fround(0.880797), Math.fround(1e-30), Math.fround(123456.789)]) assert.equal(Math.fround(Number(formatNumber(x))), x);
});

test("a classifier's CSV rows are the same whether made on the fast path or through formatRow", () => {
  const labels = ['a', 'b,c', 'd'];
  const fast = new OutputRows('csv', { output: { kind: 'classification', labels } }, 'p', ['id']);
  // Duplicate labels keep the generic path, which collapses them like formatRow's scores object.
  const generic = new OutputRows('csv', { output: { kind: 'classification', labels: [...labels, 'a'] } }, 'p', ['id']);
  let seed = 1;
  const next = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 500; i++) {
    const v = Float32Array.from({ length: 3 }, () => (i % 7 === 0 ? 0.25 : next()));
    const viaFormatRow = (() => {
      const row = formatRow({ output: { kind: 'classification', labels } }, v)!;
      const cells = [row.label!.includes(',') ? `"${row.label}"` : row.label!, formatNumber(row.score!), ...Object.values(row.scores!).map(formatNumber)];
      return `k,${cells.join(',')}\n`;
    })();
    assert.equal(fast.format(['k'], v, 3, 1), viaFormatRow);
  }
  assert.equal(generic.header(4), 'id,label,score,score_a,"score_b,c",score_d\n');
});
