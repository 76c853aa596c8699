import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keys, queueName, scoreJobDataSchema, type ScoreJobData } from '@scoreq/contracts';
import { parseJobId, ScoringClient, type ClientOptions, type ScoreInput, type SubmitOptions } from '@scoreq/client';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { modelRecord, publishRecord } from './helpers/catalog.js';

const prefix = testPrefix();
const redis = new Redis(redisUrl());
const client = new ScoringClient({ connection: redisUrl(), prefix, maxJobRows: 10 });
const inspectors = new Map<string, Queue<ScoreJobData>>();

after(async () => {
  await client.close();
  await Promise.all([...inspectors.values()].map((q) => q.close()));
  await cleanupPrefix(redis, prefix);
  await redis.quit();
});

let models = 0;
/** Publishes a model under a fresh name and returns the name. */
function publishModel(): Promise<string> {
  return publishRecord(redis, prefix, `m${++models}`);
}

function inspector(model: string): Queue<ScoreJobData> {
  let queue = inspectors.get(model);
  if (!queue) {
    queue = new Queue<ScoreJobData>(queueName(model), { connection: redis, prefix });
    inspectors.set(model, queue);
  }
  return queue;
}

/** Every key BullMQ would have made for the model's queue. */
async function queueKeys(model: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:${queueName(model)}:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}

const row = { a: 1, b: 2.5, c: -3 };

test('submit puts one job with the checked data and options on score-<model>', async () => {
  const model = await publishModel();
  const deadline = Date.now() + 60_000;
  const before = Date.now();
  const id = await client.submit(
    model,
    { rows: [row, { a: 0, b: 0, c: 0 }] },
    {
      version: '1',
      priority: 5,
      resultTtlSec: 120,
      tenant: 'acme',
      callbackUrl: 'https://example.com/hook',
      deadline: new Date(deadline),
    },
  );
  assert.match(id, new RegExp(`^${model}\\.[0-9a-f-]{36}$`));
  assert.equal(parseJobId(id).model, model);

  const job = await inspector(model).getJob(id);
  assert.ok(job, 'the job is on the queue');
  assert.equal(job.name, 'score');
  const { enqueuedAt, ...data } = job.data;
  assert.deepEqual(data, {
    model,
    rows: [row, { a: 0, b: 0, c: 0 }],
    version: '1',
    resultTtlSec: 120,
    tenant: 'acme',
    callbackUrl: 'https://example.com/hook',
    deadline,
  });
  assert.ok(typeof enqueuedAt === 'number' && enqueuedAt >= before - 1 && enqueuedAt <= Date.now() + 1, 'enqueuedAt is now');
  assert.ok(scoreJobDataSchema.safeParse(job.data).success, 'the data satisfies the wire schema');
  assert.equal(job.opts.attempts, 3);
  assert.deepEqual(job.opts.backoff, { type: 'exponential', delay: 1000 });
  assert.deepEqual(job.opts.removeOnComplete, { age: 120 });
  assert.deepEqual(job.opts.removeOnFail, { age: 120 });
  assert.equal(job.opts.priority, 5);
  assert.equal(await job.getState(), 'prioritized');
});

test('submit without options leaves the version to the worker and keeps finished jobs for an hour', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows: [row] });
  const job = await inspector(model).getJob(id);
  assert.ok(job);
  assert.equal(job.data.version, undefined);
  assert.equal(job.data.resultTtlSec, 3600);
  assert.deepEqual(job.opts.removeOnComplete, { age: 3600 });
  assert.deepEqual(job.opts.removeOnFail, { age: 3600 });
  assert.equal(job.opts.attempts, 3);
  assert.equal(await job.getState(), 'waiting');
});

test('submit sends a deadline that has already passed, for the worker to fail without compute', async () => {
  const model = await publishModel();
  const deadline = Date.now() - 1;
  const job = await inspector(model).getJob(await client.submit(model, { rows: [row] }, { deadline }));
  assert.equal(job?.data.deadline, deadline);
});

test('submit accepts tensors and delays a job by delayMs', async () => {
  const model = await publishModel();
  const tensors = [{ name: 'input', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }];
  const id = await client.submit(model, { tensors }, { delayMs: 60_000, attempts: 1 });
  const job = await inspector(model).getJob(id);
  assert.ok(job);
  assert.deepEqual(job.data.tensors, tensors);
  assert.equal(job.data.rows, undefined);
  assert.equal(job.opts.delay, 60_000);
  assert.equal(job.opts.attempts, 1);
  assert.equal(await job.getState(), 'delayed');
});

interface Refusal {
  what: string;
  model?: string;
  input?: unknown;
  options?: unknown;
  code: string;
  field: string;
}

const refusals: Refusal[] = [
  { what: 'an unknown model', model: 'nosuchmodel', code: 'MODEL_NOT_FOUND', field: 'model' },
  { what: "a model name with '/'", model: 'a/b', code: 'INVALID_MODEL_NAME', field: 'model' },
  { what: "a model name with ':'", model: 'a:b', code: 'INVALID_MODEL_NAME', field: 'model' },
  { what: 'an unknown feature', input: { rows: [{ ...row, d: 4 }] }, code: 'INVALID_INPUT', field: 'rows[0].d' },
  { what: 'a missing feature', input: { rows: [row, { a: 1, b: 2 }] }, code: 'INVALID_INPUT', field: 'rows[1].c' },
  { what: 'a string where a number is expected', input: { rows: [{ ...row, a: 'x' }] }, code: 'INVALID_INPUT', field: 'rows[0].a' },
  { what: 'NaN', input: { rows: [{ ...row, b: NaN }] }, code: 'INVALID_INPUT', field: 'rows[0].b' },
  { what: 'Infinity', input: { rows: [{ ...row, c: Infinity }] }, code: 'INVALID_INPUT', field: 'rows[0].c' },
  {
    what: 'tensor data whose length does not match the shape',
    input: { tensors: [{ name: 'input', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5] }] },
    code: 'INVALID_INPUT',
    field: 'tensors[0].data',
  },
  { what: 'more rows than maxJobRows', input: { rows: Array.from({ length: 11 }, () => row) }, code: 'JOB_TOO_LARGE', field: 'rows' },
  { what: 'no rows', input: { rows: [] }, code: 'INVALID_INPUT', field: 'rows' },
  { what: 'both rows and tensors', input: { rows: [row], tensors: [] }, code: 'INVALID_INPUT', field: 'input' },
  { what: 'an unknown version', options: { version: '9' }, code: 'VERSION_NOT_FOUND', field: 'version' },
  { what: 'an unknown alias', options: { version: 'staging' }, code: 'VERSION_NOT_FOUND', field: 'version' },
  { what: 'an unknown output', options: { outputs: ['logits'] }, code: 'INVALID_OPTION', field: 'outputs[0]' },
  { what: 'an idempotency key with a space', options: { idempotencyKey: 'order 1' }, code: 'INVALID_OPTION', field: 'idempotencyKey' },
  { what: 'an idempotency key with a colon', options: { idempotencyKey: 'order:1' }, code: 'INVALID_OPTION', field: 'idempotencyKey' },
  { what: 'a deadline that is not a time', options: { deadline: 'tomorrow' }, code: 'INVALID_OPTION', field: 'deadline' },
  { what: 'an invalid Date as deadline', options: { deadline: new Date('nonsense') }, code: 'INVALID_OPTION', field: 'deadline' },
  { what: 'priority 0', options: { priority: 0 }, code: 'INVALID_OPTION', field: 'priority' },
  { what: 'a fractional resultTtlSec', options: { resultTtlSec: 1.5 }, code: 'INVALID_OPTION', field: 'resultTtlSec' },
  { what: 'a callbackUrl that is not http(s)', options: { callbackUrl: 'file:///etc/passwd' }, code: 'INVALID_OPTION', field: 'callbackUrl' },
  { what: 'a tenant longer than 128 characters', options: { tenant: 't'.repeat(129) }, code: 'INVALID_OPTION', field: 'tenant' },
  { what: 'an unknown option', options: { colour: 'red' }, code: 'INVALID_OPTION', field: 'colour' },
];

for (const r of refusals) {
  test(`submit refuses ${r.what} with ${r.code} naming ${r.field} and enqueues nothing`, async () => {
    const model = r.model ?? (await publishModel());
    const input = (r.input ?? { rows: [row] }) as ScoreInput;
    await assert.rejects(client.submit(model, input, r.options as SubmitOptions), (err: { code?: string; details?: { field?: string } }) => {
      assert.equal(err.code, r.code);
      assert.equal(err.details?.field, r.field);
      return true;
    });
    assert.deepEqual(await queueKeys(model), []);
  });
}

test('submitMany adds one job per input in one call and returns their ids in order', async () => {
  const model = await publishModel();
  const inputs: ScoreInput[] = [
    { rows: [{ a: 1, b: 1, c: 1 }] },
    { rows: [{ a: 2, b: 2, c: 2 }] },
    { tensors: [{ name: 'input', datatype: 'FP32', shape: [1, 3], data: [3, 3, 3] }] },
  ];
  const ids = await client.submitMany(model, inputs, { tenant: 'acme' });
  assert.equal(ids.length, 3);
  assert.equal(new Set(ids).size, 3);
  const jobs = await Promise.all(ids.map((id) => inspector(model).getJob(id)));
  jobs.forEach((job, i) => {
    assert.ok(job);
    assert.deepEqual(job.data.rows ?? job.data.tensors, inputs[i]!.rows ?? inputs[i]!.tensors);
    assert.equal(job.data.tenant, 'acme');
  });
  assert.equal(await inspector(model).getWaitingCount(), 3);
});

test('submitMany refuses the whole batch when one input is bad, naming its index', async () => {
  const model = await publishModel();
  await assert.rejects(client.submitMany(model, [{ rows: [row] }, { rows: [{ ...row, a: 'x' }] }]), {
    code: 'INVALID_INPUT',
    details: { field: 'inputs[1].rows[0].a', index: 1 },
  });
  assert.deepEqual(await queueKeys(model), []);
});

test('submitMany refuses idempotency keys that do not match the inputs one to one', async () => {
  const model = await publishModel();
  await assert.rejects(client.submitMany(model, [{ rows: [row] }], { idempotencyKeys: ['k1', 'k2'] }), {
    code: 'INVALID_OPTION',
    details: { field: 'idempotencyKeys' },
  });
  await assert.rejects(client.submitMany(model, [{ rows: [row] }, { rows: [row] }], { idempotencyKeys: ['k1', 'k1'] }), {
    code: 'INVALID_OPTION',
    details: { field: 'idempotencyKeys[1]' },
  });
  assert.deepEqual(await queueKeys(model), []);
});

test('submit with the same idempotency key twice adds one job and returns the same id', async () => {
  const model = await publishModel();
  const first = await client.submit(model, { rows: [row] }, { idempotencyKey: 'order-1' });
  const second = await client.submit(model, { rows: [row] }, { idempotencyKey: 'order-1' });
  assert.equal(first, `${model}.order-1`);
  assert.equal(second, first);
  assert.equal(await inspector(model).getWaitingCount(), 1);
});

test('submit with an idempotency key adds nothing once the job is gone but its result remains', async () => {
  const model = await publishModel();
  const id = await client.submit(model, { rows: [row] }, { idempotencyKey: 'order-2' });
  // What a worker leaves behind: a result record, and a finished job removed by age.
  const record = { id, status: 'failed', model, error: { code: 'INFERENCE_FAILED', message: 'boom' }, finishedAt: new Date().toISOString() };
  await redis.set(keys(prefix).result(id), JSON.stringify(record), 'EX', 60);
  assert.equal(await inspector(model).remove(id), 1);
  assert.equal(await client.submit(model, { rows: [row] }, { idempotencyKey: 'order-2' }), id);
  assert.equal(await inspector(model).getJob(id), undefined);
});

test('submitMany with idempotency keys returns the same ids and adds nothing on a repeat', async () => {
  const model = await publishModel();
  const inputs: ScoreInput[] = [{ rows: [row] }, { rows: [row] }];
  const ids = await client.submitMany(model, inputs, { idempotencyKeys: ['a-1', 'a-2'] });
  assert.deepEqual(ids, [`${model}.a-1`, `${model}.a-2`]);
  assert.deepEqual(await client.submitMany(model, inputs, { idempotencyKeys: ['a-1', 'a-2'] }), ids);
  assert.equal(await inspector(model).getWaitingCount(), 2);
});

test('a model published after a miss is found on the next submit', async () => {
  const name = `late${models}`;
  await assert.rejects(client.submit(name, { rows: [row] }), { code: 'MODEL_NOT_FOUND' });
  await redis.set(keys(prefix).model(name), JSON.stringify(modelRecord(name)));
  assert.match(await client.submit(name, { rows: [row] }), new RegExp(`^${name}\\.`));
});

test('submit fails fast with REDIS_UNAVAILABLE when Redis cannot be reached', async () => {
  const unreachable = new ScoringClient({ connection: 'redis://127.0.0.1:1', prefix });
  const started = performance.now();
  await assert.rejects(unreachable.submit('m1', { rows: [row] }), { code: 'REDIS_UNAVAILABLE' });
  await assert.rejects(unreachable.waitForResult('m1.x', { timeoutMs: 10_000 }), { code: 'REDIS_UNAVAILABLE' });
  assert.ok(performance.now() - started < 5_000, 'no waiting for a reconnect');
  await unreachable.close();
});

const badOptions: { what: string; options: Record<string, unknown>; field: string }[] = [
  { what: 'a prefix with a colon', options: { prefix: 'a:b' }, field: 'prefix' },
  { what: 'maxJobRows 0', options: { maxJobRows: 0 }, field: 'maxJobRows' },
  { what: 'a negative catalogTtlMs', options: { catalogTtlMs: -1 }, field: 'catalogTtlMs' },
  { what: 'a resultPollMs below 10', options: { resultPollMs: 1 }, field: 'resultPollMs' },
  { what: 'a waitTimeoutMs beyond what a timer can hold', options: { waitTimeoutMs: 2 ** 31 }, field: 'waitTimeoutMs' },
  { what: 'an http connection URL', options: { connection: 'http://127.0.0.1:6379' }, field: 'connection' },
  { what: 'an ioredis keyPrefix', options: { connection: { keyPrefix: 'x:' } }, field: 'connection' },
  { what: 'a bad default attempts', options: { defaults: { attempts: 0 } }, field: 'defaults.attempts' },
  { what: 'a default that cannot be defaulted', options: { defaults: { idempotencyKey: 'k' } }, field: 'defaults.idempotencyKey' },
  { what: 'an unknown option', options: { maxRows: 5 }, field: 'maxRows' },
];

for (const b of badOptions) {
  test(`the constructor refuses ${b.what} with INVALID_OPTION naming ${b.field}`, () => {
    const options = { connection: redisUrl(), ...b.options } as ClientOptions;
    assert.throws(() => new ScoringClient(options), { code: 'INVALID_OPTION', details: { field: b.field } });
  });
}

test('parseJobId splits model and suffix and refuses malformed ids', () => {
  assert.deepEqual(parseJobId('churn.order-1'), { model: 'churn', suffix: 'order-1' });
  assert.deepEqual(parseJobId('m_2.0b1c'), { model: 'm_2', suffix: '0b1c' });
  for (const bad of ['churn', '.x', 'churn.', 'a/b.x', 'churn.x.y', 'churn.x:y', 'churn.has space', `churn.${'k'.repeat(129)}`, 42, null]) {
    assert.throws(() => parseJobId(bad), { code: 'INVALID_OPTION', details: { field: 'id' } }, `refuses ${String(bad)}`);
  }
});
