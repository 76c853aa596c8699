/**
 * Webhooks over the HTTP API, on real Redis with a real worker and real receivers: a tenant's
 * registered endpoint (admin scope, SSRF-checked) gets the webhooks of its jobs that name no
 * callbackUrl; dead letters are listed and replayed per tenant (another tenant's letters are
 * neither seen nor replayable); a failed job shows its timings.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { buildLogisticRegression } from '@scoreq/onnx-builder';
import { createLogger } from '@scoreq/telemetry';
import { ApiKeyStore, buildApi, type CreatedApiKey } from '@scoreq/api';
import type { ScoringWorker } from '@scoreq/worker';
import { featureNames, ModelsDir, randomRows } from './helpers/models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { verifyDelivery, WebhookReceiver, type Delivery } from './helpers/webhook-receiver.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F8 = featureNames(8);
/** Two attempts, 10 ms apart: a receiver that answers 500 dead-letters a delivery at once. */
const overrides = {
  SCOREQ_WEBHOOK_ALLOW: '127.0.0.1',
  SCOREQ_WEBHOOK_MAX_ATTEMPTS: 2,
  SCOREQ_WEBHOOK_BACKOFF_BASE_MS: 10,
  SCOREQ_WEBHOOK_BACKOFF_MAX_MS: 10,
};
let models: ModelsDir;
let worker: ScoringWorker;
let app: FastifyInstance;
let redis: Redis;
let hooks: WebhookReceiver;
let acme: CreatedApiKey;
let acmeReader: CreatedApiKey;
let globex: CreatedApiKey;

before(async () => {
  models = await ModelsDir.create();
  await models.add('risk', 1, buildLogisticRegression({ features: 8, seed: 5 }), { features: F8, output: { kind: 'classification', labels: ['low', 'high'] } });
  redis = new Redis(redisUrl());
  worker = await startTestWorker(testConfig(prefix, models.dir, overrides));
  app = await buildApi({ config: testConfig(prefix, models.dir, overrides), logger: createLogger({ level: 'silent' }) });
  const keyStore = new ApiKeyStore(redis, prefix);
  acme = await keyStore.create({ tenant: 'acme', scopes: ['submit', 'read', 'admin'] });
  acmeReader = await keyStore.create({ tenant: 'acme', scopes: ['read'] });
  globex = await keyStore.create({ tenant: 'globex', scopes: ['submit', 'read', 'admin'] });
  hooks = await WebhookReceiver.start();
});

after(async () => {
  await app?.close();
  await worker?.close();
  hooks?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
});

function as(key: CreatedApiKey, options: InjectOptions): InjectOptions {
  return { ...options, headers: { authorization: `Bearer ${key.key}`, ...options.headers } };
}

function errorCode(res: LightMyRequestResponse): string {
  return (res.json() as { error: { code: string } }).error.code;
}

async function submit(key: CreatedApiKey, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await app.inject(as(key, { method: 'POST', url: '/v1/jobs', payload: { model: 'risk', rows: randomRows(F8, 1, 7), ...extra } }));
  assert.equal(res.statusCode, 202, res.body);
  return (res.json() as { id: string }).id;
}

/** Reads until `done` holds (at most 10 s), for state another process writes in its own time. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A receiver on 127.0.0.1 that answers `status` (changeable) and keeps every request. */
class FlakyReceiver {
  status = 500;
  readonly requests: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(this.status).end();
      this.requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of this.waiters.filter((w) => this.requests.length >= w.n)) w.resolve();
    });
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks?token=s3cr3t`;
  }

  /** Resolves once `n` requests have arrived. */
  received(n: number): Promise<void> {
    return this.requests.length >= n ? Promise.resolve() : new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

test('a tenant sets, reads and removes its webhook endpoint with the admin scope; the URL must pass the SSRF guard; another tenant does not see it', async () => {
  const endpoint = (key: CreatedApiKey, method: 'GET' | 'PUT' | 'DELETE', payload?: object) =>
    app.inject(as(key, payload === undefined ? { method, url: '/v1/webhooks/endpoint' } : { method, url: '/v1/webhooks/endpoint', payload }));

  const none = await endpoint(acme, 'GET');
  assert.equal(none.statusCode, 404);
  assert.equal(errorCode(none), 'WEBHOOK_ENDPOINT_NOT_FOUND');
  const forbidden = await endpoint(acmeReader, 'PUT', { url: hooks.url });
  assert.equal(forbidden.statusCode, 403);
  assert.equal(errorCode(forbidden), 'FORBIDDEN');
  const metadata = await endpoint(acme, 'PUT', { url: 'http://169.254.169.254/latest/meta-data' });
  assert.equal(metadata.statusCode, 400);
  assert.equal(errorCode(metadata), 'CALLBACK_URL_REFUSED');

  const set = await endpoint(acme, 'PUT', { url: hooks.url });
  assert.equal(set.statusCode, 200, set.body);
  assert.deepEqual(set.json(), { tenant: 'acme', url: hooks.url });
  assert.deepEqual((await endpoint(acme, 'GET')).json(), { tenant: 'acme', url: hooks.url });
  assert.equal(errorCode(await endpoint(globex, 'GET')), 'WEBHOOK_ENDPOINT_NOT_FOUND', "another tenant's endpoint is its own");

  const removed = await endpoint(acme, 'DELETE');
  assert.equal(removed.statusCode, 204);
  assert.equal(removed.body, '');
  assert.equal((await endpoint(acme, 'GET')).statusCode, 404);
  assert.equal((await endpoint(acme, 'DELETE')).statusCode, 204, 'removing twice is fine');
});

test("a job submitted without a callbackUrl is POSTed to its tenant's endpoint, signed with the tenant's secret", async () => {
  const set = await app.inject(as(globex, { method: 'PUT', url: '/v1/webhooks/endpoint', payload: { url: hooks.url } }));
  assert.equal(set.statusCode, 200, set.body);
  const id = await submit(globex);
  const payload = await verifyDelivery<{ type: string; id: string; tenant: string; result: { rows: unknown[] } }>(
    redis,
    prefix,
    'globex',
    await hooks.next(id),
  );
  assert.deepEqual([payload.type, payload.id, payload.tenant, payload.result.rows.length], ['job.completed', id, 'globex', 1]);
});

test('dead letters are listed and replayed per tenant: another tenant neither sees nor replays them, and a replay delivers the same webhook-id', async () => {
  const flaky = new FlakyReceiver();
  const url = await flaky.start();
  try {
    const id = await submit(acme, { callbackUrl: url });
    await flaky.received(2);
    const list = (key: CreatedApiKey) => app.inject(as(key, { method: 'GET', url: '/v1/webhooks/dead-letters' }));
    type Letters = { deadLetters: Array<Record<string, unknown> & { id: string; payload: { id: string } }> };
    const listed = await until(
      async () => (await list(acme)).json() as Letters,
      (b) => b.deadLetters.length > 0,
      'the dead letter',
    );
    const [letter, ...others] = listed.deadLetters;
    assert.equal(others.length, 0);
    const messageId = String(flaky.requests[0]!.headers['webhook-id']);
    assert.deepEqual(
      [
        letter!.id,
        letter!.type,
        letter!.subject,
        letter!.callback,
        letter!.outcome,
        letter!.attempts,
        letter!.lastStatus,
        letter!.lastError,
        letter!.payload.id,
      ],
      [messageId, 'job.completed', id, new URL(url).origin, 'dead', 2, 500, 'HTTP 500', id],
    );
    assert.doesNotMatch(JSON.stringify(listed), /s3cr3t/, 'the callback shows its origin only');

    assert.deepEqual((await list(globex)).json(), { deadLetters: [] }, "another tenant's list is empty");
    const stolen = await app.inject(as(globex, { method: 'POST', url: `/v1/webhooks/dead-letters/${messageId}/replay` }));
    assert.equal(stolen.statusCode, 404);
    assert.equal(errorCode(stolen), 'DEAD_LETTER_NOT_FOUND');
    const readOnly = await app.inject(as(acmeReader, { method: 'POST', url: `/v1/webhooks/dead-letters/${messageId}/replay` }));
    assert.equal(readOnly.statusCode, 403, 'replaying needs the submit scope');
    assert.equal((await list(acme)).json<Letters>().deadLetters.length, 1, 'refused replays leave the letter where it was');

    flaky.status = 200;
    const replay = await app.inject(as(acme, { method: 'POST', url: `/v1/webhooks/dead-letters/${messageId}/replay` }));
    assert.equal(replay.statusCode, 202, replay.body);
    assert.equal(replay.json<{ deadLetter: { id: string } }>().deadLetter.id, messageId);
    await flaky.received(3);
    const again = flaky.requests[2]!;
    assert.equal(again.headers['webhook-id'], messageId);
    const delivered = await verifyDelivery<{ id: string }>(redis, prefix, 'acme', again as Delivery);
    assert.equal(delivered.id, id);
    assert.deepEqual((await list(acme)).json(), { deadLetters: [] });
    const twice = await app.inject(as(acme, { method: 'POST', url: `/v1/webhooks/dead-letters/${messageId}/replay` }));
    assert.equal(errorCode(twice), 'DEAD_LETTER_NOT_FOUND');
  } finally {
    flaky.close();
  }
});

test('GET /v1/jobs/:id of a job that failed in the worker shows its error and timings', async () => {
  const id = await submit(acme, { deadline: Date.now() - 1_000 });
  const view = await until(
    async () =>
      (await app.inject(as(acme, { method: 'GET', url: `/v1/jobs/${id}` }))).json<{
        status: string;
        error?: { code: string };
        timings?: Record<string, number>;
      }>(),
    (v) => v.status === 'failed',
    'the job to fail',
  );
  assert.equal(view.error?.code, 'DEADLINE_EXCEEDED');
  const t = view.timings!;
  assert.deepEqual(Object.keys(t).sort(), ['enqueuedAt', 'queuedMs', 'receivedAt', 'settledAt', 'totalMs']);
  assert.equal(t.totalMs, t.settledAt! - t.enqueuedAt!);
});

test('the webhook routes are in the OpenAPI document', async () => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
  assert.deepEqual(Object.keys(doc.paths['/v1/webhooks/endpoint'] ?? {}).sort(), ['delete', 'get', 'put']);
  assert.ok(doc.paths['/v1/webhooks/dead-letters']?.get);
  assert.ok(doc.paths['/v1/webhooks/dead-letters/{id}/replay']?.post);
});
