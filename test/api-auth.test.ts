/**
 * Access control of the HTTP API on real Redis: API keys (hashed, revocable, from either
 * header), scopes, per-key rate limits, SCOREQ_AUTH=off, and the public /metrics and /docs.
 * No worker: jobs go to a model in the catalogue that no worker serves, so they stay waiting.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { MODEL_NAME, queueName, type ModelRecord } from '@scoreq/contracts';
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
/** A key of the right form that no one holds. */
const wrongKey = { authorization: `Bearer sq_0000000000000000_${'A'.repeat(32)}` };
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

function idleQueue(): Queue {
  const queue = new Queue(queueName('idle'), { connection: redis, prefix });
  queues.push(queue);
  return queue;
}

async function jobData(id: string): Promise<{ tenant?: string } | undefined> {
  return (await idleQueue().getJob(id))?.data as { tenant?: string } | undefined;
}

/** Every job on the idle model's queue, whatever its state. */
async function idleJobCount(): Promise<number> {
  const counts = await idleQueue().getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Sends a job that must be refused with 401 and enqueue nothing; returns the error message. */
async function unauthenticated(target: FastifyInstance, options: InjectOptions): Promise<string> {
  const before = await idleJobCount();
  const res = await target.inject({ method: 'POST', url: '/v1/jobs', payload: job, ...options });
  assert.equal(res.statusCode, 401, res.body);
  assert.equal(body(res).error.code, 'UNAUTHENTICATED');
  assert.equal(await idleJobCount(), before, 'a refused request enqueued nothing');
  return body(res).error.message;
}

test('requests without a valid key are refused with 401, say why and enqueue nothing', async () => {
  const before = await idleJobCount();
  const missing = await app.inject({ method: 'POST', url: '/v1/jobs', payload: job });
  assert.equal(missing.statusCode, 401);
  assert.equal(body(missing).error.code, 'UNAUTHENTICATED');
  assert.match(body(missing).error.message, /Authorization: Bearer/);
  assert.match(String(missing.headers['www-authenticate']), /^Bearer/);
  assert.equal(await idleJobCount(), before, 'a request without a key enqueued nothing');
  const wrongSecret = acme.key.slice(0, -4) + (acme.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  for (const key of [wrongSecret, 'sq_0000000000000000_' + 'A'.repeat(32)]) {
    assert.equal(await unauthenticated(app, { headers: { authorization: `Bearer ${key}` } }), 'the API key is not valid');
  }
  assert.match(await unauthenticated(app, { headers: { authorization: 'Bearer not-a-key' } }), /malformed/);
  await unauthenticated(app, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });

  const revoked = await keyStore.create({ tenant: 'acme', scopes: ['submit'] });
  const accepted = await app.inject({ method: 'POST', url: '/v1/jobs', payload: job, headers: { 'x-api-key': revoked.key } });
  assert.equal(accepted.statusCode, 202, 'x-api-key is accepted too');
  await keyStore.revoke(revoked.id);
  assert.match(await unauthenticated(app, { headers: { 'x-api-key': revoked.key } }), new RegExp(`${revoked.id} was revoked`));
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

test('a client address sending too many requests without a valid key gets 429 with Retry-After, while a valid key from it is served', async () => {
  const limit = 3;
  const limited = await open({ SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN: limit });
  const guesser = { remoteAddress: '203.0.113.7' };
  for (let i = 0; i < limit; i++) await unauthenticated(limited, { ...guesser, headers: i % 2 === 0 ? wrongKey : {} });
  const before = await idleJobCount();
  const over = await limited.inject({ method: 'POST', url: '/v1/jobs', payload: job, ...guesser, headers: wrongKey });
  assert.equal(over.statusCode, 429, over.body);
  assert.equal(body(over).error.code, 'RATE_LIMITED');
  assert.match(body(over).error.message, new RegExp(`client 203\\.0\\.113\\.7 made more than ${limit} requests without a valid API key`));
  const retryAfter = Number(over.headers['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${String(over.headers['retry-after'])}`);
  assert.equal(await idleJobCount(), before, 'a limited request enqueued nothing');
  // The key is checked first: a valid key from that address (another user behind the same
  // proxy or NAT) is served, a refused one still waits out the minute.
  const valid = await limited.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: job, ...guesser }));
  assert.equal(valid.statusCode, 202, valid.body);
  assert.equal(await idleJobCount(), before + 1);
  for (const headers of [wrongKey, {}]) {
    const still = await limited.inject({ method: 'POST', url: '/v1/jobs', payload: job, ...guesser, headers });
    assert.equal(still.statusCode, 429, still.body);
  }
  // Refusals of an address this instance knows is blocked are not counted again in Redis.
  assert.equal(await redis.get(`${prefix}:rate-limit:unauthenticated:203.0.113.7`), String(limit + 1));
  // Other addresses are unaffected, with a key or without.
  const elsewhere = { remoteAddress: '203.0.113.8' };
  assert.equal((await limited.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: job, ...elsewhere }))).statusCode, 202);
  await unauthenticated(limited, { ...elsewhere, headers: wrongKey });
});

test('refused keys count per /64 for IPv6 clients and per address for IPv4, IPv4-mapped IPv6 as IPv4', async () => {
  const limited = await open({ SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN: 1 });
  const refusedFrom = (remoteAddress: string) => limited.inject({ method: 'POST', url: '/v1/jobs', payload: job, remoteAddress, headers: wrongKey });
  await unauthenticated(limited, { remoteAddress: '2001:db8:1:2::a', headers: wrongKey });
  const sameNetwork = await refusedFrom('2001:db8:1:2:ffff:ffff:ffff:b');
  assert.equal(sameNetwork.statusCode, 429, sameNetwork.body);
  assert.match(body(sameNetwork).error.message, /^client 2001:db8:1:2::\/64 made more than 1 requests/);
  await unauthenticated(limited, { remoteAddress: '2001:db8:1:3::a', headers: wrongKey });

  await unauthenticated(limited, { remoteAddress: '::ffff:203.0.113.20', headers: wrongKey });
  const mapped = await refusedFrom('203.0.113.20');
  assert.equal(mapped.statusCode, 429, mapped.body);
  assert.match(body(mapped).error.message, /^client 203\.0\.113\.20 made/);
  await unauthenticated(limited, { remoteAddress: '203.0.113.21', headers: wrongKey });
});

test('with SCOREQ_TRUST_PROXY naming the proxy, clients behind it are limited by their X-Forwarded-For address; without it, the header is ignored', async () => {
  const proxy = '192.0.2.60';
  const fromProxy = (target: FastifyInstance, client: string) =>
    target.inject({ method: 'POST', url: '/v1/jobs', payload: job, remoteAddress: proxy, headers: { ...wrongKey, 'x-forwarded-for': client } });
  const trusting = await open({ SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN: 1, SCOREQ_TRUST_PROXY: `10.9.9.9, ${proxy}` });
  assert.equal((await fromProxy(trusting, '198.51.100.1')).statusCode, 401);
  const over = await fromProxy(trusting, '198.51.100.1');
  assert.equal(over.statusCode, 429, over.body);
  assert.match(body(over).error.message, /^client 198\.51\.100\.1 made/);
  assert.equal((await fromProxy(trusting, '198.51.100.2')).statusCode, 401, 'another client behind the proxy is counted apart');

  const untrusting = await open({ SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN: 1 });
  const direct = '192.0.2.61';
  const spoofed = (client: string) =>
    untrusting.inject({ method: 'POST', url: '/v1/jobs', payload: job, remoteAddress: direct, headers: { ...wrongKey, 'x-forwarded-for': client } });
  assert.equal((await spoofed('198.51.100.3')).statusCode, 401);
  const shared = await spoofed('198.51.100.4');
  assert.equal(shared.statusCode, 429, shared.body);
  assert.match(body(shared).error.message, /^client 192\.0\.2\.61 made/);
});

test('SCOREQ_TRUST_PROXY values that would trust any client, hop counts and non-addresses are refused naming the variable', async () => {
  for (const value of ['true', '*', '0.0.0.0/0', '10.0.0.1,::/0', '1', 'proxy.internal', '10.0.0.0/33']) {
    await assert.rejects(
      buildApi({ config: testConfig(prefix, 'unused', { SCOREQ_TRUST_PROXY: value }), logger: createLogger({ level: 'silent' }) }),
      (err: { code?: string; message?: string; details?: { variables?: string[] } }) => {
        assert.equal(err.code, 'CONFIG_INVALID', value);
        assert.deepEqual(err.details?.variables, ['SCOREQ_TRUST_PROXY']);
        assert.match(err.message ?? '', /SCOREQ_TRUST_PROXY=/);
        return true;
      },
    );
  }
});

test('SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN=0 turns the per-address limit off', async () => {
  const unlimited = await open({ SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN: 0 });
  const guesser = { remoteAddress: '203.0.113.9' };
  // More than the default limit would let through.
  const beyondDefault = testConfig(prefix, 'unused').SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN + 1;
  for (let i = 0; i < beyondDefault; i++) await unauthenticated(unlimited, { ...guesser, headers: {} });
  assert.equal((await unlimited.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: job, ...guesser }))).statusCode, 202);
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

test('/docs serves the OpenAPI description of every route, model names with their pattern', async () => {
  // Every route the app registers, seen as Fastify adds it (diagnostics channel, before any route).
  const registered: Array<{ method: string; url: string }> = [];
  const collect = (message: unknown): void => {
    (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) registered.push({ method, url: route.url });
    });
  };
  const initialization = diagnostics.channel('fastify.initialization');
  initialization.subscribe(collect);
  let documented: FastifyInstance;
  try {
    documented = await open();
  } finally {
    initialization.unsubscribe(collect);
  }
  const res = await documented.inject({ url: '/docs/json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json<{ openapi: string; paths: Record<string, Record<string, { summary?: string; responses?: Record<string, unknown> }>> }>();
  assert.match(doc.openapi, /^3\./);
  const routes = registered.filter((r) => r.method !== 'HEAD' && r.url !== '/docs' && !r.url.startsWith('/docs/'));
  assert.ok(routes.length >= 20, `${routes.length} routes seen`);
  for (const { method, url } of routes) {
    const operation = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${url} is documented as ${openApiPath(url)}`);
    assert.ok(operation.summary, `${method} ${url} has a summary`);
    assert.ok(
      Object.keys(operation.responses ?? {}).some((status) => status.startsWith('2')),
      `${method} ${url} documents its answer`,
    );
  }
  // Model names are documented with the rule the API enforces (INVALID_MODEL_NAME otherwise).
  const submitSchema = (
    doc.paths['/v1/jobs']?.post as { requestBody: { content: Record<string, { schema: { properties: Record<string, { pattern?: string }> } }> } }
  ).requestBody;
  assert.equal(submitSchema.content['application/json']?.schema.properties['model']?.pattern, MODEL_NAME.source);
  const modelParameters = (doc.paths['/v1/models/{name}']?.get as { parameters: Array<{ name: string; schema: { pattern?: string } }> }).parameters;
  assert.equal(modelParameters.find((p) => p.name === 'name')?.schema.pattern, MODEL_NAME.source);
  assert.equal((await documented.inject({ url: '/docs' })).statusCode, 200);
});

/** A Fastify route path as OpenAPI writes it: `:name` → `{name}`, regex constraints dropped, `::` → `:`. */
function openApiPath(url: string): string {
  return url
    .split('::')
    .map((part) => part.replace(/:(\w+)(\([^)]*\))?/g, '{$1}'))
    .join(':');
}
