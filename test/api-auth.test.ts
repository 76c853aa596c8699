/**
 * Access control of the HTTP API on real Redis: API keys (hashed, revocable, from either
 * header), scopes, per-key rate limits, SCOREQ_AUTH=off, and the public /metrics and /docs.
 * No worker: jobs go to a model in the catalogue that no worker serves, so they stay waiting.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { queueName, type ModelRecord } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { publishModelRecord } from '@scoreq/registry';
import { createLogger, type Logger } from '@scoreq/telemetry';
import { ApiKeyStore, buildApi, type CreatedApiKey } from '@scoreq/api';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { testConfig } from './helpers/worker.js';

const prefix = testPrefix();
/** A two-feature model in the catalogue that no worker serves. */
const idle: ModelRecord = {
  name: 'idle',
  aliases: {},
  versions: {
    '1': {
      version: '1',
      sha256: '0'.repeat(64),
      size: 1,
      createdAt: new Date(0).toISOString(),
      signature: {
        inputs: [{ name: 'input', type: 'float32', shape: ['N', 2] }],
        outputs: [{ name: 'score', type: 'float32', shape: ['N', 1] }],
        batch: { dynamic: true, size: null },
      },
      metadata: { features: ['a', 'b'] },
    },
  },
};
const job = { model: 'idle', rows: [{ a: 1, b: 2 }] };
let redis: Redis;
let app: FastifyInstance;
let client: ScoringClient;
let keyStore: ApiKeyStore;
let acme: CreatedApiKey;
let readOnly: CreatedApiKey;
const opened: FastifyInstance[] = [];
const queues: Queue[] = [];

before(async () => {
  redis = new Redis(redisUrl());
  await publishModelRecord(redis, prefix, idle);
  app = await open();
  client = new ScoringClient({ connection: redisUrl(), prefix });
  keyStore = new ApiKeyStore(redis, prefix);
  acme = await keyStore.create({ tenant: 'acme', scopes: ['submit', 'read'] });
  readOnly = await keyStore.create({ tenant: 'acme', scopes: ['read'] });
});

after(async () => {
  for (const a of opened) await a.close();
  await client?.close();
  for (const q of queues) await q.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
});

async function open(overrides: Parameters<typeof testConfig>[2] = {}, logger: Logger = createLogger({ level: 'silent' })): Promise<FastifyInstance> {
  const a = await buildApi({ config: testConfig(prefix, 'unused', overrides), logger });
  opened.push(a);
  return a;
}

function as(key: CreatedApiKey, options: InjectOptions): InjectOptions {
  return { ...options, headers: { authorization: `Bearer ${key.key}`, ...options.headers } };
}

function body(res: LightMyRequestResponse): { error: { code: string; message: string } } {
  return res.json();
}

async function jobData(id: string): Promise<{ tenant?: string } | undefined> {
  const queue = new Queue(queueName('idle'), { connection: redis, prefix });
  queues.push(queue);
  return (await queue.getJob(id))?.data as { tenant?: string } | undefined;
}

test('requests without a valid key are refused with 401 and say why', async () => {
  const post = { method: 'POST' as const, url: '/v1/jobs', payload: job };
  const missing = await app.inject(post);
  assert.equal(missing.statusCode, 401);
  assert.equal(body(missing).error.code, 'UNAUTHENTICATED');
  assert.match(body(missing).error.message, /Authorization: Bearer/);
  assert.match(String(missing.headers['www-authenticate']), /^Bearer/);
  const wrongSecret = acme.key.slice(0, -4) + (acme.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  for (const key of [wrongSecret, 'sq_0000000000000000_' + 'A'.repeat(32)]) {
    const res = await app.inject({ ...post, headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.statusCode, 401);
    assert.equal(body(res).error.message, 'the API key is not valid');
  }
  const malformed = await app.inject({ ...post, headers: { authorization: 'Bearer not-a-key' } });
  assert.equal(malformed.statusCode, 401);
  assert.match(body(malformed).error.message, /malformed/);
  const basic = await app.inject({ ...post, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  assert.equal(basic.statusCode, 401);

  const revoked = await keyStore.create({ tenant: 'acme', scopes: ['submit'] });
  const before = await app.inject({ ...post, headers: { 'x-api-key': revoked.key } });
  assert.equal(before.statusCode, 202, 'x-api-key is accepted too');
  await keyStore.revoke(revoked.id);
  const after = await app.inject({ ...post, headers: { 'x-api-key': revoked.key } });
  assert.equal(after.statusCode, 401);
  assert.match(body(after).error.message, new RegExp(`${revoked.id} was revoked`));
  const listed = (await keyStore.list()).find((k) => k.id === revoked.id);
  assert.ok(listed?.revokedAt);
  assert.equal(JSON.stringify(await redis.hgetall(`${prefix}:api-key:${revoked.id}`)).includes(revoked.key), false, 'the key itself is not stored');
});

test('a key without the scope a route needs is refused with 403', async () => {
  const submit = await app.inject(as(readOnly, { method: 'POST', url: '/v1/jobs', payload: job }));
  assert.equal(submit.statusCode, 403);
  assert.equal(body(submit).error.code, 'FORBIDDEN');
  assert.match(body(submit).error.message, /lacks scope 'submit'/);
  const models = await app.inject(as(acme, { url: '/v1/models' }));
  assert.equal(models.statusCode, 403);
  assert.match(body(models).error.message, /lacks scope 'admin'/);
});

test('a key over its rate limit gets 429 with Retry-After, other keys are unaffected', async () => {
  const limited = await open({ SCOREQ_RATE_LIMIT_PER_MIN: 3 });
  const one = await keyStore.create({ tenant: 'acme', scopes: ['read'] });
  const two = await keyStore.create({ tenant: 'acme', scopes: ['read'] });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await limited.inject(as(one, { url: '/v1/jobs/idle.unknown' }))).statusCode);
  assert.deepEqual(statuses, [404, 404, 404, 429]);
  const over = await limited.inject(as(one, { url: '/v1/jobs/idle.unknown' }));
  assert.equal(over.statusCode, 429);
  assert.equal(body(over).error.code, 'RATE_LIMITED');
  assert.match(body(over).error.message, new RegExp(`API key ${one.id} made more than 3 requests`));
  assert.ok(Number(over.headers['retry-after']) > 0);
  assert.equal((await limited.inject(as(two, { url: '/v1/jobs/idle.unknown' }))).statusCode, 404);
});

test('with SCOREQ_AUTH=off the API warns loudly at start-up and serves every request as tenant default', async () => {
  const lines: string[] = [];
  const open_ = await open({ SCOREQ_AUTH: 'off' }, createLogger({ level: 'warn', destination: { write: (line: string) => lines.push(line) } }));
  assert.ok(
    lines.some((l) => /SCOREQ_AUTH=off/.test(l) && (JSON.parse(l) as { level: number }).level === 40),
    lines.join('\n'),
  );
  const res = await open_.inject({ method: 'POST', url: '/v1/jobs', payload: job });
  assert.equal(res.statusCode, 202, res.body);
  const { id } = res.json<{ id: string }>();
  assert.equal((await jobData(id))?.tenant, 'default');
  assert.deepEqual((await open_.inject({ url: `/v1/jobs/${id}` })).json(), { id, status: 'waiting', model: 'idle' });
  assert.equal((await open_.inject({ url: '/v1/models' })).statusCode, 200, 'every scope');
  // A job an SDK producer added without a tenant is the default tenant's, and no other's.
  const sdk = await client.submit('idle', { rows: [{ a: 3, b: 4 }] });
  assert.equal((await jobData(sdk))?.tenant, undefined);
  assert.equal((await open_.inject({ url: `/v1/jobs/${sdk}` })).statusCode, 200);
  assert.equal((await app.inject(as(acme, { url: `/v1/jobs/${sdk}` }))).statusCode, 404);
});

test('/metrics counts requests by route pattern, method and status', async () => {
  const res = await app.inject({ url: '/metrics' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.match(res.body, /scoreq_http_request_seconds_count\{route="\/v1\/jobs",method="POST",status="202"\} \d+/);
  assert.match(res.body, /scoreq_http_request_seconds_count\{route="\/v1\/jobs\/:id",method="GET",status="404"\} \d+/);
  assert.doesNotMatch(res.body, /route="\/v1\/jobs\/idle\./, 'job ids are not labels');
});

test('/docs serves the OpenAPI description of every route', async () => {
  const res = await app.inject({ url: '/docs/json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
  assert.match(doc.openapi, /^3\./);
  for (const path of ['/v1/jobs', '/v1/jobs:batch', '/v1/jobs/{id}', '/v1/models/{name}/aliases/{alias}:rollback', '/v2/models/{name}/infer', '/metrics']) {
    assert.ok(doc.paths[path], `${path} is documented`);
  }
  assert.equal((await app.inject({ url: '/docs' })).statusCode, 200);
});
