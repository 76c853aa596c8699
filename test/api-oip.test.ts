/**
 * The Open Inference Protocol v2 routes of the HTTP API, on real Redis with a real in-process
 * worker: server and model metadata, readiness, and infer with several named inputs and outputs
 * (FP32, INT64, BOOL) through the queue and micro-batcher; bad requests answered in the
 * protocol's `{ "error": "..." }` form with nothing enqueued.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import onnxProto from 'onnx-proto';
import { queueName, type ModelRecord } from '@scoreq/contracts';
import { ScoringClient } from '@scoreq/client';
import { buildEmbeddingLookup, buildTreeEnsemble, type BuiltModel } from '@scoreq/onnx-builder';
import { publishModelRecord } from '@scoreq/registry';
import { createLogger } from '@scoreq/telemetry';
import type { ScoringWorker } from '@scoreq/worker';
import { ApiKeyStore, buildApi, type CreatedApiKey } from '@scoreq/api';
import { featureNames, ModelsDir, randomRows, toMatrix } from './helpers/models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './helpers/redis.js';
import { sampleValue, startTestWorker, testConfig } from './helpers/worker.js';

const prefix = testPrefix();
const F4 = featureNames(4);
let models: ModelsDir;
let worker: ScoringWorker;
let app: FastifyInstance;
let client: ScoringClient;
let redis: Redis;
let key: CreatedApiKey;
const queues: Queue[] = [];

/**
 * A model with three named inputs and three outputs: a and b (FP32 [N, 2]) and mask (BOOL
 * [N, 2]) in; sum = a + b, diff = a - b and picked = mask ? a : b out.
 */
function pairModel(): BuiltModel {
  const FLOAT = 1;
  const BOOL = 9;
  const info = (name: string, elemType: number) => ({ name, type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } });
  const bytes = onnxProto.onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'api-oip test',
    graph: {
      name: 'pair',
      node: [
        { opType: 'Add', input: ['a', 'b'], output: ['sum'], name: 'add' },
        { opType: 'Sub', input: ['a', 'b'], output: ['diff'], name: 'sub' },
        { opType: 'Where', input: ['mask', 'a', 'b'], output: ['picked'], name: 'where' },
      ],
      input: [info('a', FLOAT), info('b', FLOAT), info('mask', BOOL)],
      output: [info('sum', FLOAT), info('diff', FLOAT), info('picked', FLOAT)],
    },
  }).finish();
  // Only the bytes are written; the declared signature is what onnxruntime reads from them.
  return { bytes: new Uint8Array(bytes), inputs: [], outputs: [], reference: () => ({}) };
}

const forest = buildTreeEnsemble({ features: 4, trees: 5, depth: 3, classes: 3, mode: 'classifier', seed: 5 });

before(async () => {
  models = await ModelsDir.create();
  await models.add('pair', 1, pairModel(), {});
  await models.add('forest', 1, forest, { features: F4, output: { name: 'probabilities', kind: 'classification', labels: ['a', 'b', 'c'] } });
  await models.add('forest', 2, buildTreeEnsemble({ features: 4, trees: 3, depth: 2, classes: 3, mode: 'classifier', seed: 6 }), { features: F4 });
  await models.setAliases('forest', { production: '1' });
  await models.add('lookup', 1, buildEmbeddingLookup({ vocab: 10, dim: 3 }), {});
  worker = await startTestWorker(testConfig(prefix, models.dir, { SCOREQ_MAX_DELAY_MS: 5 }));
  redis = new Redis(redisUrl());
  const lookup = JSON.parse((await redis.get(`${prefix}:model:lookup`))!) as ModelRecord;
  await publishModelRecord(redis, prefix, { ...lookup, name: 'idle' });
  app = await buildApi({ config: testConfig(prefix, models.dir), logger: createLogger({ level: 'silent' }), maxWaitMs: 20_000 });
  client = new ScoringClient({ connection: redisUrl(), prefix });
  key = await new ApiKeyStore(redis, prefix).create({ tenant: 'acme', scopes: ['submit', 'read'] });
});

after(async () => {
  await app?.close();
  await client?.close();
  for (const q of queues) await q.close();
  await worker?.close();
  await cleanupPrefix(redis, prefix);
  await redis?.quit();
  await models?.remove();
});

function authed(options: InjectOptions): InjectOptions {
  return { ...options, headers: { authorization: `Bearer ${key.key}`, ...options.headers } };
}

function infer(model: string, payload: unknown, version?: string): Promise<LightMyRequestResponse> {
  const url = version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${version}/infer`;
  return app.inject(authed({ method: 'POST', url, payload: payload as Record<string, unknown> }));
}

interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[]; data: (number | boolean)[] }[];
}

async function jobCount(model: string): Promise<number> {
  const queue = new Queue(queueName(model), { connection: redis, prefix });
  queues.push(queue);
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'waiting-children');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** An infer that must be refused: status, `{ error: string }` matching `pattern`, nothing enqueued. */
async function refused(model: string, payload: unknown, status: number, pattern: RegExp, url?: string): Promise<void> {
  const before = await jobCount(model);
  const res = url === undefined ? await infer(model, payload) : await app.inject(authed({ method: 'POST', url, payload: payload as Record<string, unknown> }));
  assert.equal(res.statusCode, status, res.body);
  const body = res.json<{ error: unknown }>();
  assert.deepEqual(Object.keys(body), ['error'], res.body);
  assert.equal(typeof body.error, 'string', res.body);
  assert.match(body.error as string, pattern);
  assert.equal(await jobCount(model), before, `nothing enqueued for ${res.body}`);
}

const pairInputs = (a: number[], b: number[], mask: boolean[]) => [
  { name: 'a', shape: [a.length / 2, 2], datatype: 'FP32', data: a },
  { name: 'b', shape: [b.length / 2, 2], datatype: 'FP32', data: b },
  { name: 'mask', shape: [mask.length / 2, 2], datatype: 'BOOL', data: mask },
];

test('GET /v2 describes the server, and health/live and health/ready answer 200', async () => {
  const server = await app.inject({ url: '/v2' });
  assert.equal(server.statusCode, 200);
  assert.equal(server.json<{ name: string }>().name, 'scoreq');
  assert.deepEqual((await app.inject({ url: '/v2/health/live' })).json(), { live: true });
  const ready = await app.inject({ url: '/v2/health/ready' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { ready: true });
});

test('model metadata lists versions, the platform and every input and output with -1 for dynamic dims', async () => {
  const res = await app.inject(authed({ url: '/v2/models/pair' }));
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), {
    name: 'pair',
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [
      { name: 'a', datatype: 'FP32', shape: [-1, 2] },
      { name: 'b', datatype: 'FP32', shape: [-1, 2] },
      { name: 'mask', datatype: 'BOOL', shape: [-1, 2] },
    ],
    outputs: [
      { name: 'sum', datatype: 'FP32', shape: [-1, 2] },
      { name: 'diff', datatype: 'FP32', shape: [-1, 2] },
      { name: 'picked', datatype: 'FP32', shape: [-1, 2] },
    ],
  });
  const v2 = await app.inject(authed({ url: '/v2/models/forest/versions/2' }));
  assert.equal(v2.statusCode, 200, v2.body);
  assert.deepEqual(v2.json<{ versions: string[] }>().versions, ['1', '2']);
  assert.deepEqual(
    v2.json<{ outputs: { name: string; datatype: string }[] }>().outputs.map((o) => `${o.name}:${o.datatype}`),
    ['label:INT64', 'probabilities:FP32'],
  );
  const missing = await app.inject(authed({ url: '/v2/models/forest/versions/9' }));
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json<{ error: string }>().error, /no version or alias '9'/);
});

test('a model is ready when a worker serves it; one no worker serves answers 400, an unknown one 404', async () => {
  const ready = await app.inject(authed({ url: '/v2/models/pair/ready' }));
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { name: 'pair', ready: true });
  assert.equal((await app.inject(authed({ url: '/v2/models/forest/versions/2/ready' }))).statusCode, 200);
  const idle = await app.inject(authed({ url: '/v2/models/idle/ready' }));
  assert.equal(idle.statusCode, 400);
  assert.deepEqual(idle.json(), { name: 'idle', ready: false });
  const unknown = await app.inject(authed({ url: '/v2/models/nope/ready' }));
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json<{ error: string }>().error, /nope/);
});

test('infer with several named FP32 and BOOL inputs answers every named output, computed by the model', async () => {
  const a = [1, 2, 3, 4];
  const b = [0.5, 0.25, -1, 8];
  const mask = [true, false, false, true];
  const res = await infer('pair', { id: 'req-1', inputs: pairInputs(a, b, mask) });
  assert.equal(res.statusCode, 200, res.body);
  const out = res.json<InferResponse>();
  assert.equal(out.model_name, 'pair');
  assert.equal(out.model_version, '1');
  assert.equal(out.id, 'req-1');
  const byName = Object.fromEntries(out.outputs.map((o) => [o.name, o]));
  assert.deepEqual(byName['sum'], { name: 'sum', datatype: 'FP32', shape: [2, 2], data: [1.5, 2.25, 2, 12] });
  assert.deepEqual(byName['diff']!.data, [0.5, 1.75, 4, -4]);
  assert.deepEqual(byName['picked']!.data, [1, 0.25, -1, 4]);
});

test('infer answers only the outputs asked for, with INT64 labels as integers, and the job id without a request id', async () => {
  const rows = randomRows(F4, 3, 1);
  const inputs = [{ name: 'input', shape: [3, 4], datatype: 'FP32', data: Array.from(toMatrix(rows, F4)) }];
  const all = await infer('forest', { inputs });
  assert.equal(all.statusCode, 200, all.body);
  const out = all.json<InferResponse>();
  assert.match(out.id, /^forest\./);
  assert.deepEqual(
    out.outputs.map((o) => `${o.name}:${o.datatype}:${o.shape.join('x')}`),
    ['label:INT64:3', 'probabilities:FP32:3x3'],
  );
  const sdk = await client.waitForResult(await client.submit('forest', { tensors: inputs }), { timeoutMs: 10_000 });
  assert.deepEqual(out.outputs, sdk.tensors);
  assert.ok(out.outputs[0]!.data.every((label) => Number.isInteger(label) && (label as number) >= 0 && (label as number) < 3));
  const expected = forest.reference(toMatrix(rows, F4), 3)['probabilities'] as Float32Array;
  const probs = out.outputs[1]!.data as number[];
  expected.forEach((p, i) => assert.ok(Math.abs(p - probs[i]!) < 1e-5, `probability ${i}`));

  const one = await infer('forest', { inputs, outputs: [{ name: 'probabilities' }] });
  assert.deepEqual(
    one.json<InferResponse>().outputs.map((o) => o.name),
    ['probabilities'],
  );
  const pinned = await infer('forest', { inputs }, '2');
  assert.equal(pinned.json<InferResponse>().model_version, '2');
});

test('infer takes INT64 inputs and equals the SDK scoring the same tensors', async () => {
  const inputs = [{ name: 'id', shape: [4, 1], datatype: 'INT64', data: [3, 1, 4, 1] }];
  const res = await infer('lookup', { inputs });
  assert.equal(res.statusCode, 200, res.body);
  const sdk = await client.waitForResult(await client.submit('lookup', { tensors: inputs }), { timeoutMs: 10_000 });
  assert.deepEqual(res.json<InferResponse>().outputs, sdk.tensors);
});

test('concurrent infer calls go through the micro-batcher: rows of many calls share inference calls', async () => {
  const text = async () => worker.metrics.registry.metrics();
  const before = await text();
  const calls = Array.from({ length: 60 }, (_, i) => infer('pair', { inputs: pairInputs([i, i], [1, 1], [true, false]) }));
  const responses = await Promise.all(calls);
  responses.forEach((res, i) => {
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json<InferResponse>().outputs.find((o) => o.name === 'sum')!.data, [i + 1, i + 1]);
  });
  const after = await text();
  const batches = sampleValue(after, 'scoreq_batch_rows_count', { model: 'pair' }) - sampleValue(before, 'scoreq_batch_rows_count', { model: 'pair' });
  const rows = sampleValue(after, 'scoreq_batch_rows_sum', { model: 'pair' }) - sampleValue(before, 'scoreq_batch_rows_sum', { model: 'pair' });
  assert.equal(rows, 60);
  assert.ok(batches < 60, `60 calls took ${batches} inference calls`);
});

test('a tensor whose data length does not match its shape is refused naming the input', async () => {
  const inputs = pairInputs([1, 2, 3, 4], [1, 2, 3, 4], [true, true, false, false]);
  inputs[1]!.data = [1, 2, 3];
  await refused('pair', { inputs }, 400, /inputs\[1\] \(b\) has 3 values but shape \[2, 2\] needs 4/);
});

test('wrong datatypes, missing or unknown inputs, "NaN" strings and float32 overflow are refused with 400', async () => {
  const ok = () => pairInputs([1, 2], [3, 4], [true, false]);
  const wrongType = ok();
  wrongType[0]!.datatype = 'INT64';
  await refused('pair', { inputs: wrongType }, 400, /inputs\[0\] \(a\) has datatype INT64; the model expects FP32/);
  await refused('pair', { inputs: ok().slice(0, 2) }, 400, /input 'mask' is missing/);
  const unknown = ok();
  unknown[2]!.name = 'maks';
  await refused('pair', { inputs: unknown }, 400, /names input 'maks', which the model lacks/);
  const nan = ok() as { data: unknown[] }[];
  nan[0]!.data = ['NaN', 1];
  await refused('pair', { inputs: nan }, 400, /^inputs\[0\]\.data\[0\]: expected a finite number or a boolean/);
  const huge = ok();
  huge[1]!.data = [1e39, 0];
  await refused('pair', { inputs: huge }, 400, /inputs\[1\]\.data\[0\] is 1e\+39, outside the float32 range/);
  const text = '{"inputs":[{"name":"a","shape":[1,2],"datatype":"FP32","data":[1e400,0]}]}';
  const before = await jobCount('pair');
  const res = await app.inject(authed({ method: 'POST', url: '/v2/models/pair/infer', payload: text, headers: { 'content-type': 'application/json' } }));
  assert.equal(res.statusCode, 400);
  assert.match(res.json<{ error: string }>().error, /inputs\[0\]\.data\[0\]/);
  assert.equal(await jobCount('pair'), before);
  await refused('pair', { inputs: [] }, 400, /^inputs: /);
  await refused(
    'forest',
    { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'nope' }] },
    400,
    /outputs\[0\] names 'nope'/,
  );
});

test('malformed JSON, unknown models and versions, path tricks and a missing key answer in the protocol form', async () => {
  const bad = await app.inject(
    authed({ method: 'POST', url: '/v2/models/pair/infer', payload: '{"inputs": [', headers: { 'content-type': 'application/json' } }),
  );
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json<{ error: string }>().error, /not valid JSON/);
  const inputs = [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }];
  await refused('forest', { inputs }, 404, /no version or alias '7'/, '/v2/models/forest/versions/7/infer');
  const unknown = await infer('nope', { inputs });
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json<{ error: string }>().error, /no model 'nope'/);
  const tricky = await app.inject(authed({ method: 'POST', url: '/v2/models/..%2Fforest/infer', payload: { inputs } }));
  assert.equal(tricky.statusCode, 400);
  assert.match(tricky.json<{ error: string }>().error, /model name "..\/forest" is invalid/);
  const slash = await app.inject(authed({ method: 'POST', url: '/v2/models/a/b/infer', payload: { inputs } }));
  assert.equal(slash.statusCode, 404);
  assert.match(slash.json<{ error: string }>().error, /no route POST \/v2\/models\/a\/b\/infer/);
  const noKey = await app.inject({ method: 'POST', url: '/v2/models/forest/infer', payload: { inputs } });
  assert.equal(noKey.statusCode, 401);
  assert.match(noKey.json<{ error: string }>().error, /no API key/);
});
