import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { ScoringClient } from '@scoreq/client';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { getWebhookSecret, removeWebhookEndpoint, setWebhookEndpoint } from '@scoreq/webhooks';
import type { ScoringWorker } from '@scoreq/worker';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { featureNames, ModelsDir, randomRows } from './helpers/models.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F8 = featureNames(8);
let models: ModelsDir;
let worker: ScoringWorker;
let client: ScoringClient;
let redis: Redis;
let server: Server;
let url: string;
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
const arrivals: Array<() => void> = [];

before(async () => {
  models = await ModelsDir.create();
  await models.add('risk', 1, buildLogisticRegression({ features: 8, seed: 3 }), { features: F8, output: { kind: 'classification', labels: ['low', 'high'] } });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
      arrivals.shift()?.();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/scoreq`;
  worker = await startTestWorker(testConfig(prefix, models.dir, { SCOREQ_WEBHOOK_ALLOW: '127.0.0.1' }));
  client = new ScoringClient({ connection: redisUrl(), prefix });
  redis = new Redis(redisUrl());
});

after(async () => {
  await client?.close();
  await worker?.close();
  server?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
});

test("a finished job's callback URL receives a Standard Webhooks signed POST with its result", async () => {
  const arrived = new Promise<void>((resolve) => arrivals.push(resolve));
  const id = await client.submit('risk', { rows: randomRows(F8, 1, 1) }, { callbackUrl: url, tenant: 'acme' });
  const result = await client.waitForResult(id, { timeoutMs: 10_000 });
  await arrived;
  const [delivery] = received;
  const secret = await getWebhookSecret(redis, prefix, 'acme');
  const payload = new Webhook(secret).verify(delivery!.body, {
    'webhook-id': String(delivery!.headers['webhook-id']),
    'webhook-timestamp': String(delivery!.headers['webhook-timestamp']),
    'webhook-signature': String(delivery!.headers['webhook-signature']),
  }) as { type: string; id: string; status: string; version: string; result: { rows: unknown[] } };
  assert.equal(payload.type, 'job.completed');
  assert.equal(payload.id, id);
  assert.equal(payload.version, '1');
  assert.deepEqual(payload.result.rows, result.rows);
});

test(
  'a job that finally fails in the worker is POSTed as job.failed with its error and the timings it has, which its record keeps too',
  { timeout: 30_000 },
  async () => {
    const arrived = new Promise<void>((resolve) => arrivals.push(resolve));
    const submittedAt = Date.now();
    // A deadline already past is accepted at the door and fails in the worker, unretried.
    const id = await client.submit('risk', { rows: randomRows(F8, 1, 2) }, { callbackUrl: url, tenant: 'acme', deadline: submittedAt - 1_000 });
    await assert.rejects(client.waitForResult(id, { timeoutMs: 10_000 }), { code: 'DEADLINE_EXCEEDED' });
    await arrived;
    const delivery = received.find((d) => (JSON.parse(d.body) as { id: string }).id === id);
    assert.ok(delivery, 'the failed job has its own delivery');
    const secret = await getWebhookSecret(redis, prefix, 'acme');
    const payload = new Webhook(secret).verify(delivery.body, {
      'webhook-id': String(delivery.headers['webhook-id']),
      'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
      'webhook-signature': String(delivery.headers['webhook-signature']),
    }) as { type: string; status: string; tenant: string; version: string; error: { code: string }; timings: Record<string, number> };
    assert.deepEqual(
      [payload.type, payload.status, payload.tenant, payload.version, payload.error.code],
      ['job.failed', 'failed', 'acme', '1', 'DEADLINE_EXCEEDED'],
    );
    const t = payload.timings;
    assert.deepEqual(Object.keys(t).sort(), ['enqueuedAt', 'queuedMs', 'receivedAt', 'settledAt', 'totalMs']);
    assert.ok(t.enqueuedAt! >= submittedAt && t.enqueuedAt! <= t.receivedAt! && t.receivedAt! <= t.settledAt!, JSON.stringify(t));
    assert.equal(t.queuedMs, t.receivedAt! - t.enqueuedAt!);
    assert.equal(t.totalMs, t.settledAt! - t.enqueuedAt!);
    const record = await client.getResult(id);
    assert.equal(record?.status, 'failed');
    assert.deepEqual(record.status === 'failed' ? record.timings : undefined, t, 'the record and the webhook carry the same timings');
  },
);

test(
  "a job with neither a callbackUrl nor a tenant is POSTed to the default tenant's endpoint, signed with the default secret",
  { timeout: 30_000 },
  async () => {
    await setWebhookEndpoint(redis, prefix, 'default', url, '127.0.0.1');
    try {
      const arrived = new Promise<void>((resolve) => arrivals.push(resolve));
      const id = await client.submit('risk', { rows: randomRows(F8, 1, 3) });
      await client.waitForResult(id, { timeoutMs: 10_000 });
      await arrived;
      const delivery = received.find((d) => (JSON.parse(d.body) as { id: string }).id === id);
      assert.ok(delivery, 'the job has a delivery');
      const secret = await getWebhookSecret(redis, prefix, 'default');
      const payload = new Webhook(secret).verify(delivery.body, {
        'webhook-id': String(delivery.headers['webhook-id']),
        'webhook-timestamp': String(delivery.headers['webhook-timestamp']),
        'webhook-signature': String(delivery.headers['webhook-signature']),
      }) as { type: string; tenant?: string };
      assert.equal(payload.type, 'job.completed');
      assert.equal(payload.tenant, undefined, 'the job named no tenant');
    } finally {
      await removeWebhookEndpoint(redis, prefix, 'default');
    }
  },
);
