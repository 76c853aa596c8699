/**
 * An API killed with SIGKILL while it produces a run: the next API started on the same
 * SCOREQ_RUNS_DIR adopts the run by itself (no request names it) and finishes it, with output
 * byte-identical to an uninterrupted run.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bulkQueueName, keys } from '@scoreq/contracts';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { startRun } from '@scoreq/runs';
import type { ScoringWorker } from '@scoreq/worker';
import { featureNames, ModelsDir, randomRows } from './helpers/models.js';
import { startCli, type CliProcess } from './helpers/processes.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
const ROWS = 2_000;
let models: ModelsDir;
let runsDir: string;
let worker: ScoringWorker;
let redis: Redis;
const apis: CliProcess[] = [];

before(async () => {
  models = await ModelsDir.create();
  await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), { features: F32, output: { kind: 'classification', labels: ['stay', 'churn'] } });
  runsDir = await mkdtemp(join(tmpdir(), 'scoreq-api-crash-'));
  const rows = randomRows(F32, ROWS, 31);
  await writeFile(join(runsDir, 'in.csv'), `id,${F32.join(',')}\n${rows.map((r, i) => `k${i},${F32.map((f) => r[f]).join(',')}`).join('\n')}\n`);
  worker = await startTestWorker(testConfig(prefix, models.dir));
  redis = new Redis(redisUrl());
});

after(async () => {
  for (const api of apis) api.child.kill('SIGKILL');
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
  await rm(runsDir, { recursive: true, force: true });
});

/** `scoreq api` on a free port, keys off (tenant "default"), resolving with its base URL. */
async function startApi(): Promise<string> {
  const api = startCli(['api', '--host', '127.0.0.1'], {
    REDIS_URL: redisUrl(),
    SCOREQ_PREFIX: prefix,
    PORT: '0',
    SCOREQ_AUTH: 'off',
    SCOREQ_RUNS_DIR: runsDir,
    LOG_LEVEL: 'info',
  });
  apis.push(api);
  const line = await api.waitForLine('scoreq api listening');
  return (JSON.parse(line) as { url: string }).url;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a run whose API was killed (SIGKILL) is adopted by the next API and finishes byte-identical', { timeout: 120_000 }, async () => {
  const queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
  await queue.pause();
  try {
    const first = await startApi();
    const started = await fetch(`${first}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'churn', input: 'in.csv', output: 'out.csv', passThrough: ['id'], chunkRows: 100, id: 'crashy' }),
    });
    assert.equal(started.status, 202, await started.text());
    await until('chunks wait on the paused queue', async () => (await queue.getWaitingCount()) > 0);
    apis[0]!.child.kill('SIGKILL');
    assert.equal(await apis[0]!.exited, 'SIGKILL');
    assert.equal((await redis.hgetall(keys(prefix).run('crashy'))).status, 'running', 'the run outlives its producer');
    await queue.resume();

    const second = await startApi();
    await until('the adopted run completes', async () => {
      const res = await fetch(`${second}/v1/runs/crashy`);
      const run = (await res.json()) as { status: string };
      assert.notEqual(run.status, 'failed');
      return run.status === 'completed';
    });
    const output = await (await fetch(`${second}/v1/runs/crashy/output`)).text();
    const reference = join(runsDir, 'reference.csv');
    const whole = await (
      await startRun({ connection: redisUrl(), prefix, model: 'churn', input: join(runsDir, 'in.csv'), output: reference, passThrough: ['id'], chunkRows: 100 })
    ).finished;
    assert.equal(whole.status, 'completed');
    assert.equal(output.trimEnd().split('\n').length, ROWS + 1);
    assert.equal(output, await readFile(reference, 'utf8'), 'byte-identical to an uninterrupted run');
  } finally {
    await queue.resume();
    await queue.close();
  }
});
