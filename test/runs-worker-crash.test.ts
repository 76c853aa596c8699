/**
 * A worker killed (SIGKILL) while it holds chunks of a run: BullMQ's stalled-job recovery hands
 * them to another worker, and the output is complete, in order, each row exactly once, with
 * the values an uninterrupted run gives.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { bulkQueueName } from '@scoreq/contracts';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { startRun, type RunHandle } from '@scoreq/runs';
import type { ScoringWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir, randomRows } from './helpers/models.js';
import { startWorkerProcess, type CliProcess } from './helpers/processes.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
// The large MLP, so that a chunk takes tens of milliseconds and the worker dies in the middle of one.
const F = featureNames(256);
const ROWS = 4_000;
/** Short locks, so the chunks a dead worker held are handed on in seconds, not BullMQ's 30 s. */
const LOCKS = { SCOREQ_LOCK_DURATION_MS: 2_000, SCOREQ_STALLED_INTERVAL_MS: 1_000 };
let models: ModelsDir;
let dir: string;
let worker: ScoringWorker | undefined;
let redis: Redis;
let input: string;

before(async () => {
  models = await ModelsDir.create();
  await models.add('churn', 1, buildMlp(REFERENCE_MODELS.large), {
    features: F,
    output: { name: 'probabilities', kind: 'classification', labels: Array.from({ length: 10 }, (_, i) => `c${i}`) },
  });
  dir = await mkdtemp(join(tmpdir(), 'scoreq-runs-crash-'));
  input = join(dir, 'in.csv');
  const rows = randomRows(F, ROWS, 21).map((r, i) => `k${i},${F.map((f) => r[f]).join(',')}`);
  await writeFile(input, `id,${F.join(',')}\n${rows.join('\n')}\n`);
  redis = new Redis(redisUrl());
});

after(async () => {
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
  await rm(dir, { recursive: true, force: true });
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('chunks held by a worker killed mid-run are scored by another worker: nothing lost, nothing duplicated', { timeout: 60_000 }, async (t) => {
  const queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
  let doomed: CliProcess | undefined;
  let handle: RunHandle | undefined;
  const eventsRedis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const events = new QueueEvents(bulkQueueName('churn'), { connection: eventsRedis, prefix });
  try {
    await events.waitUntilReady();
    let stalled = 0;
    events.on('stalled', () => stalled++);
    doomed = await startWorkerProcess(testConfig(prefix, models.dir, { ...LOCKS, SCOREQ_POOL_THREADS: 1 }));
    await queue.pause();
    const output = join(dir, 'out.csv');
    handle = await startRun({ connection: redisUrl(), prefix, model: 'churn', input, output, passThrough: ['id'], chunkRows: 500, window: 8, pollMs: 100 });
    await until('the window is enqueued on the paused queue', async () => (await queue.getWaitingCount()) === 8);
    const firstActive = new Promise<void>((resolve) => events.once('active', () => resolve()));
    await queue.resume();
    // Killed while it holds chunks (up to SCOREQ_BULK_CONCURRENCY), one of them in inference.
    await firstActive;
    assert.ok((await queue.getActiveCount()) >= 1);
    doomed.child.kill('SIGKILL');
    assert.equal(await doomed.exited, 'SIGKILL');
    worker = await startTestWorker(testConfig(prefix, models.dir, LOCKS));
    const final = await handle.finished;
    assert.equal(final.status, 'completed');
    assert.deepEqual([final.done, final.failed, final.rejected], [ROWS, 0, 0]);
    assert.ok(stalled >= 1, 'the chunks the killed worker held were recovered as stalled');
    t.diagnostic(`${stalled} chunk(s) recovered from the killed worker`);

    const reference = join(dir, 'reference.csv');
    assert.equal(
      (await (await startRun({ connection: redisUrl(), prefix, model: 'churn', input, output: reference, passThrough: ['id'], chunkRows: 500 })).finished)
        .status,
      'completed',
    );
    const lines = (await readFile(output, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, ROWS + 1);
    assert.deepEqual(
      lines.slice(1).map((l) => l.slice(0, l.indexOf(','))),
      Array.from({ length: ROWS }, (_, i) => `k${i}`),
      'every row once, in input order',
    );
    assert.equal(await readFile(output, 'utf8'), await readFile(reference, 'utf8'));
  } finally {
    doomed?.child.kill('SIGKILL');
    await handle?.stop().catch(() => undefined);
    await events.close();
    await eventsRedis.quit();
    await queue.close();
  }
});
