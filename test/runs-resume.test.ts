/**
 * `scoreq run` killed at any point and run again with the same --id: it continues without
 * re-scoring finished chunks, and its output is byte-identical to an uninterrupted run's. Also
 * `scoreq run status|wait|cancel` from another process, and one producer per run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bulkQueueName } from '@scoreq/contracts';
import { ScoringClient, type RunInfo } from '@scoreq/client';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { startRun } from '@scoreq/runs';
import type { ScoringWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir, randomRows } from './helpers/models.js';
import { startCli, type CliProcess } from './helpers/processes.js';
import { sampleValue, scrape, startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
const ROWS = 6_000;
let models: ModelsDir;
let dir: string;
let worker: ScoringWorker;
let client: ScoringClient;
let redis: Redis;
let queue: Queue;
let input: string;
const env = (): Record<string, string> => ({ REDIS_URL: redisUrl(), SCOREQ_PREFIX: prefix, LOG_LEVEL: 'silent' });

before(async () => {
  models = await ModelsDir.create();
  await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), {
    features: F32,
    output: { name: 'probabilities', kind: 'classification', labels: ['stay', 'churn'] },
  });
  dir = await mkdtemp(join(tmpdir(), 'scoreq-runs-resume-'));
  input = join(dir, 'in.csv');
  // Some rows are bad (a non-numeric cell), so the rejects file has to come out identical too.
  const rows = randomRows(F32, ROWS, 9).map((r, i) => `k${i},${F32.map((f) => (i % 97 === 5 ? 'x' : r[f])).join(',')}`);
  await writeFile(input, `id,${F32.join(',')}\n${rows.join('\n')}\n`);
  worker = await startTestWorker(testConfig(prefix, models.dir));
  client = new ScoringClient({ connection: redisUrl(), prefix });
  redis = new Redis(redisUrl());
  queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
});

after(async () => {
  await queue?.close();
  await client?.close();
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
  await rm(dir, { recursive: true, force: true });
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A process's nice value, from /proc/<pid>/stat (field 19; the fields after the command name start at 3). */
async function niceOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

async function state(id: string): Promise<RunInfo | undefined> {
  return client.runs.status(id).catch(() => undefined);
}

function runArgs(id: string, output: string): string[] {
  return [
    'run',
    '--model',
    'churn',
    '--input',
    input,
    '--output',
    output,
    '--id',
    id,
    '--pass-through',
    'id',
    '--chunk-rows',
    '200',
    '--window',
    '4',
    '--progress',
    'none',
  ];
}

async function rowsScored(): Promise<number> {
  return sampleValue(await scrape(worker), 'scoreq_rows_scored_total', { model: 'churn' });
}

test('a producer killed mid-run and started again with the same id finishes with byte-identical output, scoring each chunk once', async () => {
  const reference = join(dir, 'reference.csv');
  const whole = await (
    await startRun({ connection: redisUrl(), prefix, model: 'churn', input, output: reference, passThrough: ['id'], chunkRows: 200, window: 4 })
  ).finished;
  assert.equal(whole.status, 'completed');
  assert.ok(whole.rejected > 0);

  const output = join(dir, 'resumed.csv');
  const scoredBefore = await rowsScored();
  await queue.pause();
  const first: CliProcess = startCli(runArgs('nightly', output), env());
  try {
    await first.waitForLine('run nightly started');
    assert.ok((await niceOf(first.child.pid!)) >= 10, 'the producer lowered its CPU priority (--nice defaults to 10)');
    await until('the first window is enqueued', async () => (await queue.getWaitingCount()) === 4);
    await queue.resume();
    await until('a few chunks are written', async () => ((await state('nightly'))?.writtenChunks ?? 0) >= 3);
    // Stop the workers taking more, so that some chunks are scored, some wait, and the rest
    // were never read, when the producer dies without any chance to clean up.
    await queue.pause();
  } finally {
    first.child.kill('SIGKILL');
  }
  assert.equal(await first.exited, 'SIGKILL');
  const killed = (await state('nightly'))!;
  assert.equal(killed.status, 'running');
  assert.ok(killed.writtenChunks < 30, `killed mid-run (${killed.writtenChunks} of 30 chunks written)`);
  const shown = startCli(['run', 'status', 'nightly'], env());
  assert.equal(await shown.exited, 0);
  assert.match(shown.lines.join('\n'), /run nightly running: [\d,]+ \/ ~?[\d,]+ rows/);

  await queue.resume();
  const second = startCli(runArgs('nightly', output), env());
  assert.equal(await second.exited, 0);
  assert.ok(second.lines.some((l) => l.startsWith('run nightly resumed')));
  assert.ok(second.lines.some((l) => /^run nightly completed: \d+ rows scored, \d+ rejected, 0 failed/.test(l)));

  assert.equal(await readFile(output, 'utf8'), await readFile(reference, 'utf8'));
  assert.equal(await readFile(`${output}.rejects.csv`, 'utf8'), await readFile(`${reference}.rejects.csv`, 'utf8'));
  assert.equal((await rowsScored()) - scoredBefore, whole.done, 'every chunk was scored exactly once across both producers');
  const final = (await state('nightly'))!;
  assert.deepEqual([final.status, final.done, final.rejected, final.total], ['completed', whole.done, whole.rejected, ROWS]);

  const waited = startCli(['run', 'wait', 'nightly', '--progress', 'none'], env());
  assert.equal(await waited.exited, 0);
  const json = startCli(['run', 'status', 'nightly', '--json'], env());
  assert.equal(await json.exited, 0);
  assert.equal((JSON.parse(json.lines[0]!) as RunInfo).status, 'completed');
  const again = startCli(runArgs('nightly', output), env());
  assert.equal(await again.exited, 0, 'running a completed run again is a no-op');
  assert.equal(await readFile(output, 'utf8'), await readFile(reference, 'utf8'));
});

test('a second producer for a live run is refused; `scoreq run cancel` stops the first', async () => {
  const output = join(dir, 'twice.csv');
  await queue.pause();
  const first = startCli(runArgs('twice', output), env());
  try {
    await first.waitForLine('run twice started');
    const second = startCli(runArgs('twice', output), env());
    assert.equal(await second.exited, 1);
    assert.match(second.stderr(), /error \[RUN_BUSY\]: run twice is being produced by /);
    const cancel = startCli(['run', 'cancel', 'twice'], env());
    assert.equal(await cancel.exited, 0);
    assert.deepEqual(cancel.lines, ['run twice cancelled']);
    assert.equal(await first.exited, 1, 'the producer ends with an error: its run was cancelled');
    assert.equal((await state('twice'))?.status, 'cancelled');
    const waited = startCli(['run', 'wait', 'twice', '--progress', 'none'], env());
    assert.equal(await waited.exited, 1);
  } finally {
    first.child.kill('SIGKILL');
    await queue.resume();
  }
});

test('a --nice outside 0-19 is refused by name before anything starts (exit 2)', async () => {
  const bad = startCli([...runArgs('too-nice', join(dir, 'too-nice.csv')), '--nice', '25'], env());
  assert.equal(await bad.exited, 2);
  assert.equal(await state('too-nice'), undefined, 'no run was created');
});

test('scoreq run list shows the runs, filtered by status, as a table or JSON lines', async () => {
  const json = startCli(['run', 'list', '--json'], env());
  assert.equal(await json.exited, 0);
  const listed = json.lines.map((l) => JSON.parse(l) as RunInfo);
  assert.ok(
    listed.some((r) => r.id === 'nightly' && r.status === 'completed'),
    'the resumed run is listed',
  );
  const table = startCli(['run', 'list', '--status', 'completed'], env());
  assert.equal(await table.exited, 0);
  assert.match(table.lines[0]!, /^run\s+model\s+status/);
  assert.ok(table.lines.some((l) => l.startsWith('nightly ') && l.includes('churn@1') && l.includes('completed')));
  const bad = startCli(['run', 'list', '--status', 'done'], env());
  assert.equal(await bad.exited, 2);
});
