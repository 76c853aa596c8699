/**
 * The run-finished webhook outside the HTTP API: `scoreq run --callback` (checked against the
 * SSRF guard, sent once when the run completes, signed with tenant default's secret), and
 * `startRun`'s onFinished seam called exactly once per finish, whoever sees the finish first.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bulkQueueName, WEBHOOK_QUEUE, type EnvConfig } from '@scoreq/contracts';
import { ScoringClient, type RunInfo } from '@scoreq/client';
import { buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { announceRunFinished, startRun, type RunOptions } from '@scoreq/runs';
import { createRunWebhookNotifier } from '@scoreq/webhooks';
import type { ScoringWorker } from '@scoreq/worker';
import { featureNames, ModelsDir, randomRows } from './helpers/models.js';
import { startCli } from './helpers/processes.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { deliveriesSettled, verifyDelivery, WebhookReceiver } from './helpers/webhook-receiver.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
let models: ModelsDir;
let dir: string;
let config: EnvConfig;
let worker: ScoringWorker;
let client: ScoringClient;
let redis: Redis;
let hooks: WebhookReceiver;

before(async () => {
  models = await ModelsDir.create();
  await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), {
    features: F32,
    output: { name: 'probabilities', kind: 'classification', labels: ['stay', 'churn'] },
  });
  dir = await mkdtemp(join(tmpdir(), 'scoreq-run-hooks-'));
  hooks = await WebhookReceiver.start();
  config = testConfig(prefix, models.dir, { SCOREQ_WEBHOOK_ALLOW: '127.0.0.1' });
  worker = await startTestWorker(config);
  client = new ScoringClient({ connection: redisUrl(), prefix });
  redis = new Redis(redisUrl());
});

after(async () => {
  await client?.close();
  await worker?.close();
  hooks?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
  await rm(dir, { recursive: true, force: true });
});

function toCsv(rows: Record<string, number>[]): string {
  return `id,${F32.join(',')}\n${rows.map((r, i) => `k${i},${F32.map((f) => r[f]).join(',')}`).join('\n')}\n`;
}

function cliEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: redisUrl(), SCOREQ_PREFIX: prefix, SCOREQ_WEBHOOK_ALLOW: config.SCOREQ_WEBHOOK_ALLOW, LOG_LEVEL: 'silent', ...overrides };
}

test('`scoreq run --callback` sends one signed run.completed webhook when the run completes', async () => {
  const input = join(dir, 'cli.csv');
  await writeFile(input, toCsv(randomRows(F32, 700, 21)));
  const output = join(dir, 'cli-out.csv');
  const args = [
    'run',
    '--model',
    'churn',
    '--input',
    input,
    '--output',
    output,
    '--id',
    'cli-hook',
    '--chunk-rows',
    '200',
    '--callback',
    hooks.url,
    '--progress',
    'none',
  ];
  const cli = startCli(args, cliEnv());
  assert.equal(await cli.exited, 0, cli.lines.join('\n'));
  const payload = await verifyDelivery<{
    type: string;
    id: string;
    status: string;
    tenant?: string;
    done: number;
    output: string;
    startedAt: string;
    finishedAt: string;
  }>(redis, prefix, 'default', await hooks.next('cli-hook'));
  assert.equal(payload.type, 'run.completed');
  assert.deepEqual([payload.id, payload.status, payload.done, payload.output, payload.tenant], ['cli-hook', 'completed', 700, output, undefined]);
  assert.ok(Date.parse(payload.finishedAt) >= Date.parse(payload.startedAt));

  // The same command again finds the run completed: no second webhook.
  const again = startCli(args, cliEnv());
  assert.equal(await again.exited, 0);
  await deliveriesSettled(redis, prefix);
  assert.equal(hooks.about('cli-hook').length, 1);
});

test('`scoreq run --callback` refuses a URL the SSRF guard refuses, before the run starts', async () => {
  const input = join(dir, 'ssrf.csv');
  await writeFile(input, toCsv(randomRows(F32, 5, 22)));
  const args = ['run', '--model', 'churn', '--input', input, '--output', join(dir, 'ssrf-out.csv'), '--id', 'ssrf', '--callback', hooks.url];
  const cli = startCli(args, cliEnv({ SCOREQ_WEBHOOK_ALLOW: '' }));
  assert.notEqual(await cli.exited, 0);
  await assert.rejects(client.runs.status('ssrf'), { code: 'RUN_NOT_FOUND' }, 'no run was started');
});

test('onFinished is called once per finish: not again on a resume of the ended run, and a cancel of a run with no producer is announced by the canceller', async () => {
  const seen: RunInfo[] = [];
  const onFinished = async (info: RunInfo): Promise<void> => void seen.push(info);
  const input = join(dir, 'once.csv');
  await writeFile(input, toCsv(randomRows(F32, 300, 23)));
  const options: RunOptions = {
    connection: redisUrl(),
    prefix,
    model: 'churn',
    input,
    output: join(dir, 'once-out.csv'),
    id: 'once',
    chunkRows: 100,
    pollMs: 50,
    onFinished,
  };
  assert.equal((await (await startRun(options)).finished).status, 'completed');
  assert.equal((await (await startRun(options)).finished).status, 'completed');
  assert.deepEqual(
    seen.map((i) => [i.id, i.status]),
    [['once', 'completed']],
  );
  assert.equal(await announceRunFinished({ redis, prefix, id: 'once', onFinished }), false, 'announced already');

  // A run whose producer stopped (interrupted), then cancelled from elsewhere.
  const queue = new Queue(bulkQueueName('churn'), { connection: redis, prefix });
  await queue.pause();
  try {
    const handle = await startRun({ ...options, id: 'orphan', output: join(dir, 'orphan-out.csv'), callbackUrl: hooks.url, tenant: 'acme' });
    assert.equal((await handle.stop()).status, 'running');
    assert.equal(await client.runs.cancel('orphan'), true);
    const notifier = createRunWebhookNotifier({ queue: new Queue(WEBHOOK_QUEUE, { connection: redis, prefix }) });
    const announce = (info: RunInfo): Promise<void> => Promise.all([onFinished(info), notifier(info)]).then(() => undefined);
    assert.equal(await announceRunFinished({ redis, prefix, id: 'orphan', onFinished: announce }), true);
    assert.equal(await announceRunFinished({ redis, prefix, id: 'orphan', onFinished: announce }), false);
    assert.deepEqual(seen.map((i) => [i.id, i.status]).slice(1), [['orphan', 'cancelled']]);
    const payload = await verifyDelivery<{ type: string; tenant: string }>(redis, prefix, 'acme', await hooks.next('orphan'));
    assert.deepEqual([payload.type, payload.tenant], ['run.cancelled', 'acme']);
  } finally {
    await queue.resume();
    await queue.close();
  }
});

test('a failing onFinished gives its claim back: starting the run again announces it', async () => {
  const input = join(dir, 'retry.csv');
  await writeFile(input, toCsv(randomRows(F32, 50, 24)));
  const options: RunOptions = { connection: redisUrl(), prefix, model: 'churn', input, output: join(dir, 'retry-out.csv'), id: 'retry', pollMs: 50 };
  const failing = await startRun({ ...options, onFinished: () => Promise.reject(new Error('queue down')) });
  await assert.rejects(failing.finished, { code: 'INTERNAL', message: /run retry completed, but announcing it failed: queue down; start the run again/ });
  const seen: string[] = [];
  const again = await startRun({ ...options, onFinished: async (info) => void seen.push(info.status) });
  assert.equal((await again.finished).status, 'completed');
  assert.deepEqual(seen, ['completed']);
});
