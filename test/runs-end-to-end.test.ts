/**
 * Overnight runs end to end against real Redis, the real worker and real onnxruntime: CSV and
 * JSONL in, outputs in input order equal to scoring the same rows directly, rejects, the bad-row
 * limit, and cancellation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import * as ort from 'onnxruntime-node';
import { bulkQueueName, keys } from '@scoreq/contracts';
import { ScoringClient, type RunInfo } from '@scoreq/client';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { startRun, type RunOptions } from '@scoreq/runs';
import type { ScoringWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir, randomRows, toMatrix } from './helpers/models.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
const LABELS = ['stay', 'churn'];
let models: ModelsDir;
let dir: string;
let worker: ScoringWorker;
let client: ScoringClient;
let redis: Redis;
let modelPath: string;

before(async () => {
  models = await ModelsDir.create();
  modelPath = await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), {
    features: F32,
    output: { name: 'probabilities', kind: 'classification', labels: LABELS },
  });
  dir = await mkdtemp(join(tmpdir(), 'scoreq-runs-'));
  worker = await startTestWorker(testConfig(prefix, models.dir));
  client = new ScoringClient({ connection: redisUrl(), prefix });
  redis = new Redis(redisUrl());
});

after(async () => {
  await client?.close();
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
  await rm(dir, { recursive: true, force: true });
});

function run(options: Omit<RunOptions, 'connection' | 'prefix'>) {
  return startRun({ connection: redisUrl(), prefix, pollMs: 50, ...options });
}

/** The small MLP's probabilities for `rows`, straight from onnxruntime. */
async function direct(rows: Record<string, number>[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(modelPath);
  const out = await session.run({ input: new ort.Tensor('float32', toMatrix(rows, F32), [rows.length, F32.length]) });
  await session.release();
  return out['probabilities']!.data as Float32Array;
}

function toCsv(rows: Record<string, number>[]): string {
  return `id,${F32.join(',')}\n${rows.map((r, i) => `k${i},${F32.map((f) => r[f]).join(',')}`).join('\n')}\n`;
}

/** Checks one output row (id, label, score, per-label scores) against onnxruntime's values. */
function checkRow(id: unknown, label: unknown, scores: number[], i: number, expected: Float32Array): void {
  assert.equal(id, `k${i}`, `row ${i} keeps its place and its id`);
  const [stay, churn] = [expected[i * 2]!, expected[i * 2 + 1]!];
  assert.ok(Math.abs(scores[0]! - stay) < 1e-6 && Math.abs(scores[1]! - churn) < 1e-6, `row ${i}: ${scores} vs ${stay},${churn}`);
  assert.equal(label, churn > stay ? 'churn' : 'stay');
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a CSV file is scored into a CSV file in input order, with values equal to scoring the rows directly', async () => {
  const rows = randomRows(F32, 2_345, 1);
  const input = join(dir, 'in.csv');
  const output = join(dir, 'out.csv');
  await writeFile(input, toCsv(rows));
  const progress: RunInfo[] = [];
  const handle = await run({ model: 'churn', input, output, passThrough: ['id'], chunkRows: 200, window: 4, onProgress: (i) => progress.push(i) });
  assert.equal(handle.resumed, false);
  const final = await handle.finished;
  assert.equal(final.status, 'completed');
  assert.deepEqual([final.total, final.done, final.rejected, final.failed, final.writtenChunks], [2_345, 2_345, 0, 0, 12]);
  assert.equal(final.version, '1');
  assert.ok(final.finishedAt! >= final.startedAt);
  assert.equal(progress.length, 12, 'one progress report per chunk written');
  assert.ok(progress.every((p, i) => p.done === Math.min(2_345, (i + 1) * 200)));

  const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
  assert.equal(lines[0], 'id,label,score,score_stay,score_churn');
  assert.equal(lines.length, 2_346);
  const expected = await direct(rows);
  lines.slice(1).forEach((line, i) => {
    const [id, label, score, stay, churn] = line.split(',');
    checkRow(id, label, [Number(stay), Number(churn)], i, expected);
    assert.equal(score, label === 'churn' ? churn : stay);
  });
  assert.equal(await readFile(`${output}.rejects.csv`, 'utf8'), 'line,field,reason\n');

  const status = await client.runs.status(handle.id);
  assert.equal(status.status, 'completed');
  assert.equal(status.fraction, 1);
  assert.equal(status.outputBytes, Buffer.byteLength(await readFile(output)));
  assert.equal(await redis.exists(keys(prefix).chunkResult(`churn.${handle.id}-c0`)), 0, 'consumed chunk results are deleted');
  assert.ok((await redis.ttl(keys(prefix).run(handle.id))) > 0, 'a finished run state expires');
});

test('a JSONL file is scored into a JSONL file; extra keys are ignored and pass-through values keep their JSON type', async () => {
  const rows = randomRows(F32, 777, 2);
  const input = join(dir, 'in.jsonl');
  const output = join(dir, 'out.jsonl');
  await writeFile(input, rows.map((r, i) => JSON.stringify({ id: `k${i}`, seq: i, note: 'ignored', ...r })).join('\n'));
  const handle = await run({ model: 'churn@1', input, output, passThrough: ['id', 'seq'], chunkRows: 100, window: 3 });
  const final = await handle.finished;
  assert.equal(final.status, 'completed');
  assert.equal(final.done, 777);
  const out = (await readFile(output, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; seq: number; label: string; score: number; scores: Record<string, number> });
  assert.equal(out.length, 777);
  const expected = await direct(rows);
  out.forEach((o, i) => {
    assert.deepEqual(Object.keys(o), ['id', 'seq', 'label', 'score', 'scores']);
    assert.equal(o.seq, i);
    checkRow(o.id, o.label, [o.scores['stay']!, o.scores['churn']!], i, expected);
  });
});

test('bad rows go to the rejects file with their line and reason, and the output keeps every good row in order', async () => {
  const rows = randomRows(F32, 300, 3);
  const lines = toCsv(rows).trimEnd().split('\n');
  lines[5] = lines[5]!.replace(/,[^,]+,/, ',abc,'); // row k4: f00 not a number
  lines[10] = lines[10]!.split(',').slice(0, 20).join(','); // row k9: too few fields
  lines[20] = `${lines[20]!.split(',')[0]},${'9'.repeat(5_000)}`; // row k19: an over-long line
  lines[30] = lines[30]!.replace(/,[^,]+$/, ','); // row k29: f31 missing (no default)
  lines[40] = `"k39",${lines[40]!.split(',').slice(1).join(',')}`; // row k39: quoted, and fine
  const input = join(dir, 'bad.csv');
  const output = join(dir, 'bad-out.csv');
  await writeFile(input, `${lines.join('\n')}\n`);
  const handle = await run({ model: 'churn', input, output, passThrough: ['id'], chunkRows: 64, maxRejectRate: 0.05, maxLineLength: 2_000 });
  const final = await handle.finished;
  assert.equal(final.status, 'completed');
  assert.deepEqual([final.done, final.rejected, final.total], [296, 4, 300]);
  assert.equal(
    await readFile(`${output}.rejects.csv`, 'utf8'),
    'line,field,reason\n' +
      '6,f00,"f00 must be a number, got string ""abc"""\n' +
      '11,,has 20 fields; the header has 33\n' +
      '21,,line is 5004 characters long; the limit is 2000 (maxLineLength)\n' +
      '31,f31,f31 is missing and the feature has no default\n',
  );
  const out = (await readFile(output, 'utf8')).trimEnd().split('\n').slice(1);
  const kept = rows.map((_, i) => i).filter((i) => ![4, 9, 19, 29].includes(i));
  const expected = await direct(rows);
  assert.equal(out.length, kept.length);
  out.forEach((line, j) => {
    const [id, label, , stay, churn] = line.split(',');
    const i = kept[j]!;
    checkRow(id, label, [Number(stay), Number(churn)], i, expected);
  });
});

test('a run whose share of bad rows passes the limit stops as failed, naming the share, the limit and the rejects file', async () => {
  const rows = randomRows(F32, 100, 4);
  const lines = toCsv(rows).trimEnd().split('\n');
  for (let i = 1; i <= 100; i += 5) lines[i] = lines[i]!.replace(/,[^,]+,/, ',oops,');
  const input = join(dir, 'worse.csv');
  const output = join(dir, 'worse-out.csv');
  await writeFile(input, `${lines.join('\n')}\n`);
  const handle = await run({ model: 'churn', input, output, passThrough: ['id'], chunkRows: 16, maxRejectRate: 0.1, minRowsForRejectRate: 50 });
  const final = await handle.finished;
  assert.equal(final.status, 'failed');
  assert.equal(final.error?.code, 'INVALID_INPUT');
  assert.match(
    final.error!.message,
    /stopped: \d+ of the \d+ rows read were bad \(20\.0%\), over the limit of 10\.0% \(maxRejectRate\); see .*worse-out\.csv\.rejects\.csv/,
  );
  const rejects = (await readFile(`${output}.rejects.csv`, 'utf8')).trimEnd().split('\n').slice(1);
  assert.ok(rejects.length >= 10, `the bad rows read so far are listed (${rejects.length})`);
  assert.ok(rejects.every((r) => r.includes('must be a number, got string ""oops""')));
  assert.equal((await client.runs.status(handle.id)).status, 'failed');
});

test('a cancelled run stops, its waiting chunk jobs and results are removed, and its id cannot be resumed', async () => {
  const queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
  await queue.pause();
  try {
    const rows = randomRows(F32, 1_000, 5);
    const input = join(dir, 'cancel.csv');
    const output = join(dir, 'cancel-out.csv');
    await writeFile(input, toCsv(rows));
    const handle = await run({ model: 'churn', input, output, passThrough: ['id'], chunkRows: 50, window: 5 });
    await until('the window is full', async () => (await queue.getWaitingCount()) === 5);
    const state = await client.runs.status(handle.id);
    assert.equal(state.status, 'running');
    assert.equal(state.enqueuedChunks, 5);
    assert.ok(state.producerAlive);
    assert.equal(await client.runs.cancel(handle.id), true);
    const final = await handle.finished;
    assert.equal(final.status, 'cancelled');
    assert.equal(final.error?.code, 'CANCELLED');
    assert.equal(await queue.getWaitingCount(), 0, 'waiting chunk jobs are removed');
    assert.deepEqual(await redis.keys(`${prefix}:chunk-input:*`), [], 'their input bytes are removed');
    assert.equal(await client.runs.cancel(handle.id), false, 'a second cancel changes nothing');
    await assert.rejects(run({ model: 'churn', input, output, id: handle.id }), { code: 'INVALID_OPTION', message: /was cancelled/ });
  } finally {
    await queue.resume();
    await queue.close();
  }
});

test('wrong options are refused by name before anything starts', async () => {
  const input = join(dir, 'in.csv');
  await assert.rejects(run({ model: 'nope', input, output: join(dir, 'x.csv') }), { code: 'MODEL_NOT_FOUND' });
  await assert.rejects(run({ model: 'churn@7', input, output: join(dir, 'x.csv') }), { code: 'VERSION_NOT_FOUND' });
  await assert.rejects(run({ model: 'churn', input, output: join(dir, 'x.txt') }), { code: 'INVALID_OPTION', message: /outputFormat/ });
  await assert.rejects(run({ model: 'churn', input, output: join(dir, 'x.csv'), passThrough: ['customer'] }), {
    code: 'INVALID_OPTION',
    message: /pass-through column 'customer'/,
  });
  await assert.rejects(run({ model: 'churn', input: join(dir, 'missing.csv'), output: join(dir, 'x.csv') }), {
    code: 'INVALID_OPTION',
    message: /cannot be read/,
  });
  await assert.rejects(run({ model: 'churn', input, output: join(dir, 'x.csv'), chunkRows: 0 }), { code: 'INVALID_OPTION', message: /chunkRows/ });
  const noFeatures = join(dir, 'nofeat.csv');
  await writeFile(noFeatures, 'id,f00\nk,1\n');
  await assert.rejects(run({ model: 'churn', input: noFeatures, output: join(dir, 'x.csv') }), {
    code: 'INVALID_INPUT',
    message: /no column for features f01, /,
  });
  await assert.rejects(client.runs.status('no-such-run'), { code: 'RUN_NOT_FOUND' });
  await assert.rejects(run({ model: 'churn', input: noFeatures, output: join(dir, 'x.csv'), id: 'refused-start' }), { code: 'INVALID_INPUT' });
  await assert.rejects(client.runs.status('refused-start'), { code: 'RUN_NOT_FOUND' }, 'a refused start leaves no run behind');
});
