/**
 * The HTTP API's v1 job routes, on real Redis with a real in-process worker: submitting,
 * waiting, batches, reading and cancelling, tenants, and every kind of bad input refused with
 * the right status, a body naming what is wrong, and nothing enqueued. Keys, scopes, rate
 * limits and SCOREQ_AUTH=off are in api-auth.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue, QueueEvents } from 'bullmq';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { queueName, type ModelRecord } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { buildLogisticRegression, buildMlp, REFERENCE_MODELS } from '@scoreq/onnx-builder';
import { publishModelRecord } from '@scoreq/registry';
import { createLogger } from '@scoreq/telemetry';
import type { ScoringWorker } from '@scoreq/worker';
import { ApiKeyStore, buildApi, type CreatedApiKey } from '@scoreq/api';
import { featureNames, ModelsDir, randomRows } from './helpers/models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { verifyDelivery, WebhookReceiver } from './helpers/webhook-receiver.js';
import { startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F32 = featureNames(32);
const F8 = featureNames(8);
const BODY_LIMIT = 64 * 1024;
let models: ModelsDir;
let worker: ScoringWorker;
let app: FastifyInstance;
let client: ScoringClient;
let redis: Redis;
let acme: CreatedApiKey;
let globex: CreatedApiKey;
/** Queues by name, opened once each and closed after the file. */
const queues = new Map<string, Queue>();

before(async () => {
  models = await ModelsDir.create();
  await models.add('churn', 1, buildMlp(REFERENCE_MODELS.small), {
    features: F32,
    output: { name: 'probabilities', kind: 'classification', labels: ['stay', 'churn'] },
  });
  await models.add('risk', 1, buildLogisticRegression({ features: 8, seed: 3 }), { features: F8, output: { kind: 'classification', labels: ['low', 'high'] } });
  await models.add('risk', 2, buildLogisticRegression({ features: 8, seed: 4 }), { features: F8, output: { kind: 'classification', labels: ['low', 'high'] } });
  // 'held' scores two rows at a time and waits for the second as long as a test needs: its
  // first single-row job stays active until a second job arrives.
  await models.add('held', 1, buildLogisticRegression({ features: 8, seed: 5 }), {
    features: F8,
    output: { kind: 'classification', labels: ['low', 'high'] },
    batching: { maxBatchRows: 2, maxDelayMs: 600_000 },
  });
  worker = await startTestWorker(testConfig(prefix, models.dir, { SCOREQ_MAX_DELAY_MS: 2, SCOREQ_WEBHOOK_ALLOW: '127.0.0.1' }));
  redis = new Redis(redisUrl());
  // 'idle' is in the catalogue but no worker serves it: its jobs wait until cancelled.
  const churn = JSON.parse((await redis.get(`${prefix}:model:churn`))!) as ModelRecord;
  await publishModelRecord(redis, prefix, { ...churn, name: 'idle' });
  app = await buildApi({
    config: testConfig(prefix, models.dir, { SCOREQ_BODY_LIMIT_BYTES: BODY_LIMIT }),
    logger: createLogger({ level: 'silent' }),
    maxWaitMs: 20_000,
  });
  client = new ScoringClient({ connection: redisUrl(), prefix });
  const keyStore = new ApiKeyStore(redis, prefix);
  acme = await keyStore.create({ tenant: 'acme', scopes: ['submit', 'read'], name: 'acme-backend' });
  globex = await keyStore.create({ tenant: 'globex', scopes: ['submit', 'read'] });
});

after(async () => {
  await app?.close();
  await client?.close();
  for (const q of queues.values()) await q.close();
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
});

function as(key: CreatedApiKey | null, options: InjectOptions): InjectOptions {
  return key === null ? options : { ...options, headers: { authorization: `Bearer ${key.key}`, ...options.headers } };
}

function body(res: LightMyRequestResponse): { error: { code: string; message: string; details?: { field?: string } } } & Record<string, unknown> {
  return res.json();
}

function queue(name: string): Queue {
  let q = queues.get(name);
  if (!q) {
    q = new Queue(name, { connection: redis, prefix });
    queues.set(name, q);
  }
  return q;
}

/**
 * Every job of every scoring queue under the test prefix, whatever its state: a refused request
 * that enqueued anything anywhere (under a name it should not have accepted too) changes it.
 */
async function jobCount(): Promise<number> {
  const names = new Set<string>();
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:score-*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) names.add(key.slice(prefix.length + 1, key.indexOf(':', prefix.length + 1)));
  } while (cursor !== '0');
  let total = 0;
  for (const name of names) {
    const counts = await queue(name).getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'waiting-children');
    total += Object.values(counts).reduce((a, b) => a + b, 0);
  }
  return total;
}

/** Sends a request that must be refused, and checks status, code, field and that nothing was enqueued. */
async function refused(options: InjectOptions, status: number, code: string, field?: string): Promise<string> {
  const before = await jobCount();
  const res = await app.inject(as(acme, options));
  assert.equal(res.statusCode, status, res.body);
  const { error } = body(res);
  assert.equal(error.code, code, res.body);
  if (field !== undefined) assert.equal(error.details?.field, field, res.body);
  assert.equal(await jobCount(), before, `${options.method ?? 'GET'} ${options.url as string} enqueued nothing`);
  return error.message;
}

test('POST /v1/jobs answers 202 with an id; GET /v1/jobs/:id then shows the scored rows', async () => {
  const rows = randomRows(F32, 2, 1);
  const res = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows } }));
  assert.equal(res.statusCode, 202, res.body);
  const { id } = res.json<{ id: string }>();
  assert.match(id, /^churn\./);
  assert.equal(res.headers.location, `/v1/jobs/${id}`);
  await client.waitForResult(id, { timeoutMs: 10_000 });
  const got = await app.inject(as(acme, { url: `/v1/jobs/${id}` }));
  assert.equal(got.statusCode, 200, got.body);
  const job = got.json<{
    status: string;
    model: string;
    version: string;
    result: { rows: { label: string }[] };
    timings: { totalMs: number };
    batch: { rows: number };
  }>();
  assert.equal(job.status, 'completed');
  assert.equal(job.model, 'churn');
  assert.equal(job.version, '1');
  assert.equal(job.result.rows.length, 2);
  assert.ok(job.result.rows.every((r) => ['stay', 'churn'].includes(r.label)));
  assert.ok(job.timings.totalMs >= 0);
  assert.ok(job.batch.rows >= 2);
});

test('POST /v1/jobs?wait answers 200 with the same result the SDK gets for the same rows', async () => {
  const rows = randomRows(F8, 3, 2);
  const res = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs?wait=10s', payload: { model: 'risk', version: '2', rows } }));
  assert.equal(res.statusCode, 200, res.body);
  const job = res.json<{ status: string; version: string; result: { rows: { label: string; scores: Record<string, number> }[] } }>();
  assert.equal(job.status, 'completed');
  assert.equal(job.version, '2');
  const sdk = await client.waitForResult(await client.submit('risk', { rows }, { version: '2' }), { timeoutMs: 10_000 });
  assert.deepEqual(
    job.result.rows.map((r) => r.scores),
    sdk.rows!.map((r) => r.scores),
  );
});

test('POST /v1/jobs?wait answers 202 with the status when the job does not finish in time', async () => {
  const res = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs?wait=50ms', payload: { model: 'idle', rows: randomRows(F32, 1, 3) } }));
  assert.equal(res.statusCode, 202, res.body);
  const { id, status } = res.json<{ id: string; status: string }>();
  assert.equal(status, 'waiting');
  const got = await app.inject(as(acme, { url: `/v1/jobs/${id}` }));
  assert.deepEqual(got.json(), { id, status: 'waiting', model: 'idle' });
});

test('POST /v1/jobs:batch enqueues every input and answers their ids in order', async () => {
  const inputs = [1, 2, 3].map((n) => ({ rows: randomRows(F8, n, 10 + n) }));
  const res = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs:batch', payload: { model: 'risk', inputs } }));
  assert.equal(res.statusCode, 202, res.body);
  const { ids } = res.json<{ ids: string[] }>();
  assert.equal(ids.length, 3);
  const results = await Promise.all(ids.map((id) => client.waitForResult(id, { timeoutMs: 10_000 })));
  assert.deepEqual(
    results.map((r) => r.rows!.length),
    [1, 2, 3],
  );
});

test('a batch with one bad input is refused whole, naming the input, and enqueues nothing', async () => {
  const bad = randomRows(F8, 1, 5);
  delete bad[0]!['f03'];
  const message = await refused(
    { method: 'POST', url: '/v1/jobs:batch', payload: { model: 'risk', inputs: [{ rows: randomRows(F8, 1, 4) }, { rows: bad }] } },
    400,
    'INVALID_INPUT',
    'inputs[1].rows[0].f03',
  );
  assert.match(message, /inputs\[1\].*f03 is missing/);
});

test('DELETE /v1/jobs/:id cancels a waiting job, again answers it cancelled, and is refused once a job has run', async () => {
  const submitted = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: { model: 'idle', rows: randomRows(F32, 1, 6) } }));
  const { id } = submitted.json<{ id: string }>();
  const cancelled = await app.inject(as(acme, { method: 'DELETE', url: `/v1/jobs/${id}` }));
  assert.equal(cancelled.statusCode, 200, cancelled.body);
  assert.equal(cancelled.json<{ status: string }>().status, 'cancelled');
  assert.equal(cancelled.json<{ error: { code: string } }>().error.code, 'CANCELLED');
  const again = await app.inject(as(acme, { method: 'DELETE', url: `/v1/jobs/${id}` }));
  assert.equal(again.statusCode, 200, again.body);
  const read = await app.inject(as(acme, { url: `/v1/jobs/${id}` }));
  assert.equal(read.json<{ status: string }>().status, 'cancelled');

  const done = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs?wait=10s', payload: { model: 'churn', rows: randomRows(F32, 1, 7) } }));
  const doneId = done.json<{ id: string }>().id;
  const late = await app.inject(as(acme, { method: 'DELETE', url: `/v1/jobs/${doneId}` }));
  assert.equal(late.statusCode, 409, late.body);
  assert.equal(body(late).error.code, 'CANCEL_TOO_LATE');
  assert.match(body(late).error.message, /completed/);
});

test('a job a worker has taken shows as active, and DELETE answers 409 CANCEL_TOO_LATE and leaves it running', async () => {
  const events = new QueueEvents(queueName('held'), { connection: { url: redisUrl() }, prefix });
  const active = new Set<string>();
  let activated: (() => void) | undefined;
  events.on('active', ({ jobId }) => {
    active.add(jobId);
    activated?.();
  });
  await events.waitUntilReady();
  try {
    const submitted = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: { model: 'held', rows: randomRows(F8, 1, 40) } }));
    assert.equal(submitted.statusCode, 202, submitted.body);
    const { id } = submitted.json<{ id: string }>();
    while (!active.has(id)) await new Promise<void>((resolve) => (activated = resolve));

    // Its batch waits for a second row, so the job stays active until the next one arrives.
    const read = await app.inject(as(acme, { url: `/v1/jobs/${id}` }));
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json<{ status: string }>().status, 'active');
    const late = await app.inject(as(acme, { method: 'DELETE', url: `/v1/jobs/${id}` }));
    assert.equal(late.statusCode, 409, late.body);
    assert.equal(body(late).error.code, 'CANCEL_TOO_LATE');
    assert.match(body(late).error.message, new RegExp(`${id} is active`));
    assert.equal((await app.inject(as(acme, { url: `/v1/jobs/${id}` }))).json<{ status: string }>().status, 'active');

    const second = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs?wait=10s', payload: { model: 'held', rows: randomRows(F8, 1, 41) } }));
    assert.equal(second.statusCode, 200, second.body);
    assert.equal(second.json<{ batch: { jobs: number } }>().batch.jobs, 2, "the held job rode the second job's batch");
    await client.waitForResult(id, { timeoutMs: 10_000 });
    assert.equal(
      (await app.inject(as(acme, { url: `/v1/jobs/${id}` }))).json<{ status: string }>().status,
      'completed',
      'the refused cancel left it to finish',
    );
  } finally {
    await events.close();
  }
});

test('a job that fails shows as failed with its error; ?wait answers 200 with it and DELETE 409', async () => {
  const payload = { model: 'risk', rows: randomRows(F8, 1, 42), deadline: Date.now() - 1000 };
  const waited = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs?wait=10s', payload }));
  assert.equal(waited.statusCode, 200, waited.body);
  const job = waited.json<{ id: string; status: string; model: string; error: { code: string; message: string }; result?: unknown }>();
  assert.equal(job.status, 'failed');
  assert.equal(job.model, 'risk');
  assert.equal(job.error.code, 'DEADLINE_EXCEEDED');
  assert.match(job.error.message, /deadline/);
  assert.equal(job.result, undefined);
  const read = await app.inject(as(acme, { url: `/v1/jobs/${job.id}` }));
  assert.equal(read.statusCode, 200, read.body);
  assert.deepEqual(
    { status: read.json<{ status: string }>().status, error: read.json<{ error: { code: string } }>().error.code },
    { status: 'failed', error: 'DEADLINE_EXCEEDED' },
  );
  const late = await app.inject(as(acme, { method: 'DELETE', url: `/v1/jobs/${job.id}` }));
  assert.equal(late.statusCode, 409, late.body);
  assert.equal(body(late).error.code, 'CANCEL_TOO_LATE');
  assert.match(body(late).error.message, /failed/);
});

test('a job submitted with a callback URL has its result, then a failure, POSTed there signed for its tenant', async () => {
  const receiver = await WebhookReceiver.start();
  const hooked = await buildApi({
    config: testConfig(prefix, models.dir, { SCOREQ_WEBHOOK_ALLOW: '127.0.0.1' }),
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const submit = (payload: Record<string, unknown>): Promise<LightMyRequestResponse> =>
      hooked.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: { model: 'risk', callbackUrl: receiver.url, ...payload } }));
    const ok = await submit({ rows: randomRows(F8, 2, 43) });
    assert.equal(ok.statusCode, 202, ok.body);
    const { id } = ok.json<{ id: string }>();
    const completed = await verifyDelivery<{ type: string; id: string; status: string; tenant: string; version: string; result: { rows: unknown[] } }>(
      redis,
      prefix,
      'acme',
      await receiver.next(id),
    );
    const view = (await app.inject(as(acme, { url: `/v1/jobs/${id}` }))).json<{ version: string; result: { rows: unknown[] } }>();
    assert.equal(completed.type, 'job.completed');
    assert.equal(completed.id, id);
    assert.equal(completed.status, 'completed');
    assert.equal(completed.tenant, 'acme');
    assert.equal(completed.version, view.version);
    assert.deepEqual(completed.result.rows, view.result.rows);

    // Failure bodies are checked for what failed, not for their timings.
    const bad = await submit({ rows: randomRows(F8, 1, 44), deadline: Date.now() - 1000 });
    assert.equal(bad.statusCode, 202, bad.body);
    const badId = bad.json<{ id: string }>().id;
    const failed = await verifyDelivery<{ type: string; id: string; status: string; error: { code: string } }>(
      redis,
      prefix,
      'acme',
      await receiver.next(badId),
    );
    assert.deepEqual(
      { type: failed.type, id: failed.id, status: failed.status, code: failed.error.code },
      { type: 'job.failed', id: badId, status: 'failed', code: 'DEADLINE_EXCEEDED' },
    );
    assert.equal(receiver.about(id).length, 1, 'delivered once');
  } finally {
    await hooked.close();
    receiver.close();
  }
});

test('POST /v1/jobs:batch and GET /v1/jobs/:id refuse ?wait and other query parameters they do not take, naming them', async () => {
  const message = await refused(
    { method: 'POST', url: '/v1/jobs:batch?wait=5s', payload: { model: 'risk', inputs: [{ rows: randomRows(F8, 1, 45) }] } },
    400,
    'INVALID_INPUT',
    'query',
  );
  assert.match(message, /"wait"/);
  const read = await app.inject(as(acme, { url: '/v1/jobs/risk.unknown?wait=5s' }));
  assert.equal(read.statusCode, 400, read.body);
  assert.match(body(read).error.message, /"wait"/);
});

test("a tenant cannot read or cancel another tenant's job: it answers as a job that does not exist", async () => {
  const mine = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload: { model: 'idle', rows: randomRows(F32, 1, 8) } }));
  const { id } = mine.json<{ id: string }>();
  const finished = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs?wait=10s', payload: { model: 'churn', rows: randomRows(F32, 1, 9) } }));
  const finishedId = finished.json<{ id: string }>().id;
  for (const jobId of [id, finishedId]) {
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await app.inject(as(globex, { method, url: `/v1/jobs/${jobId}` }));
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(body(res).error.code, 'JOB_NOT_FOUND');
    }
  }
  const unknown = await app.inject(as(globex, { url: '/v1/jobs/idle.no-such-job' }));
  assert.equal(unknown.statusCode, 404);
  assert.equal(body(unknown).error.code, 'JOB_NOT_FOUND');
  // The owner still has it, untouched.
  const owner = await app.inject(as(acme, { url: `/v1/jobs/${id}` }));
  assert.equal(owner.json<{ status: string }>().status, 'waiting');
  const cancelled = await app.inject(as(acme, { method: 'DELETE', url: `/v1/jobs/${id}` }));
  assert.equal(cancelled.statusCode, 200);
  const stillHidden = await app.inject(as(globex, { url: `/v1/jobs/${id}` }));
  assert.equal(stillHidden.statusCode, 404, 'a cancelled job stays its tenant’s');
});

test('an idempotency key returns the same job for one tenant and a different job for another', async () => {
  const payload = { model: 'churn', rows: randomRows(F32, 1, 11), idempotencyKey: 'order-1234' };
  const first = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload }));
  const second = await app.inject(as(acme, { method: 'POST', url: '/v1/jobs', payload }));
  const other = await app.inject(as(globex, { method: 'POST', url: '/v1/jobs', payload }));
  const ids = [first, second, other].map((r) => r.json<{ id: string }>().id);
  assert.equal(ids[0], ids[1]);
  assert.notEqual(ids[0], ids[2]);
});

test('malformed JSON is refused with 400 naming where it broke', async () => {
  const message = await refused(
    { method: 'POST', url: '/v1/jobs', payload: '{"model": "churn", "rows": [{"f00": NaN}]}', headers: { 'content-type': 'application/json' } },
    400,
    'INVALID_INPUT',
    'body',
  );
  assert.match(message, /not valid JSON/);
  assert.match(message, /Unexpected token 'N'/);
  await refused({ method: 'POST', url: '/v1/jobs', payload: '', headers: { 'content-type': 'application/json' } }, 400, 'INVALID_INPUT', 'body');
});

test('wrong types, unknown fields and a missing model are refused with 400 naming the field', async () => {
  await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: 'f00=1' } }, 400, 'INVALID_INPUT', 'rows');
  await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: [{ f00: { value: 1 } }] } }, 400, 'INVALID_INPUT', 'rows[0].f00');
  await refused({ method: 'POST', url: '/v1/jobs', payload: { rows: randomRows(F32, 1, 14) } }, 400, 'INVALID_INPUT', 'model');
  const message = await refused(
    { method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: randomRows(F32, 1, 15), tenant: 'globex' } },
    400,
    'INVALID_INPUT',
    'body',
  );
  assert.match(message, /tenant/);
  await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: randomRows(F32, 1, 16), tensors: [] } }, 400, 'INVALID_INPUT');
  await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: [] } }, 400, 'INVALID_INPUT', 'rows');
  await refused(
    { method: 'POST', url: '/v1/jobs?wait=forever', payload: { model: 'churn', rows: randomRows(F32, 1, 17) } },
    400,
    'INVALID_INPUT',
    'query.wait',
  );
  await refused(
    { method: 'POST', url: '/v1/jobs', payload: 'model=churn', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    415,
    'UNSUPPORTED_MEDIA_TYPE',
  );
});

test('a missing feature, the string "NaN" and numbers JSON cannot hold are refused naming the feature', async () => {
  const missing = randomRows(F32, 2, 18);
  delete missing[1]!['f07'];
  assert.match(await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: missing } }, 400, 'INVALID_INPUT', 'rows[1].f07'), /missing/);
  const nan: Record<string, unknown> = { ...randomRows(F32, 1, 19)[0], f02: 'NaN' };
  assert.match(
    await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: [nan] } }, 400, 'INVALID_INPUT', 'rows[0].f02'),
    /must be a number/,
  );
  // 1e400 parses to Infinity: refused by the schema.
  const text = JSON.stringify({ model: 'churn', rows: [{ ...randomRows(F32, 1, 20)[0], f03: 12345 }] }).replace('12345', '1e400');
  await refused({ method: 'POST', url: '/v1/jobs', payload: text, headers: { 'content-type': 'application/json' } }, 400, 'INVALID_INPUT', 'rows[0].f03');
  const unknown = { ...randomRows(F32, 1, 21)[0], f99: 1 };
  assert.match(
    await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: [unknown] } }, 400, 'INVALID_INPUT', 'rows[0].f99'),
    /unknown feature/,
  );
});

test('a tensor whose data does not fit its shape or whose values overflow float32 is refused', async () => {
  const tensors = [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: Array.from({ length: 31 }, () => 0.5) }];
  assert.match(
    await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', tensors } }, 400, 'INVALID_INPUT', 'tensors[0].data'),
    /31 values but shape \[1, 32\] needs 32/,
  );
  const huge = [{ name: 'input', datatype: 'FP32', shape: [1, 32], data: Array.from({ length: 32 }, (_, i) => (i === 5 ? 1e39 : 0.5)) }];
  assert.match(
    await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', tensors: huge } }, 400, 'INVALID_INPUT', 'tensors[0].data[5]'),
    /float32 range/,
  );
});

test('a callback URL to a private, loopback or metadata address is refused before anything is enqueued', async () => {
  for (const callbackUrl of ['http://127.0.0.1:8080/hook', 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.7/hook']) {
    const message = await refused(
      { method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: randomRows(F32, 1, 30), callbackUrl } },
      400,
      'CALLBACK_URL_REFUSED',
      'callbackUrl',
    );
    assert.match(message, /refused/);
  }
  await refused(
    { method: 'POST', url: '/v1/jobs:batch', payload: { model: 'churn', inputs: [{ rows: randomRows(F32, 1, 31) }], callbackUrl: 'http://localhost/hook' } },
    400,
    'CALLBACK_URL_REFUSED',
    'callbackUrl',
  );
  await refused(
    { method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows: randomRows(F32, 1, 32), callbackUrl: 'ftp://example.com/x' } },
    400,
    'INVALID_INPUT',
    'callbackUrl',
  );
});

test('a body over the limit is refused with 413', async () => {
  const rows = randomRows(F32, 200, 22);
  assert.ok(JSON.stringify(rows).length > BODY_LIMIT);
  const message = await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'churn', rows } }, 413, 'BODY_TOO_LARGE');
  assert.match(message, new RegExp(String(BODY_LIMIT)));
});

test('unknown models and versions answer 404; names with path tricks answer 400 or 404, never a file', async () => {
  await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'nope', rows: randomRows(F32, 1, 23) } }, 404, 'MODEL_NOT_FOUND', 'model');
  assert.match(
    await refused(
      { method: 'POST', url: '/v1/jobs', payload: { model: 'churn', version: '7', rows: randomRows(F32, 1, 24) } },
      404,
      'VERSION_NOT_FOUND',
      'version',
    ),
    /versions: 1/,
  );
  await refused({ method: 'POST', url: '/v1/jobs', payload: { model: '../churn', rows: randomRows(F32, 1, 25) } }, 400, 'INVALID_MODEL_NAME', 'model');
  await refused({ method: 'POST', url: '/v1/jobs', payload: { model: 'a/b', rows: randomRows(F32, 1, 26) } }, 400, 'INVALID_MODEL_NAME', 'model');
  for (const url of ['/v1/jobs/..%2F..%2Fetc', '/v1/jobs/churn.%2E%2E%2Fx', '/v1/jobs/churn:1']) {
    const res = await app.inject(as(acme, { url }));
    assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
    assert.equal(body(res).error.code, 'JOB_NOT_FOUND');
  }
  const route = await app.inject(as(acme, { url: '/v1/jobs/a/b' }));
  assert.equal(route.statusCode, 404);
  assert.equal(body(route).error.code, 'ROUTE_NOT_FOUND');
});
