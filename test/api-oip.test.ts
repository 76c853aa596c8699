/**
 * The Open Inference Protocol v2 routes of the HTTP API, on real Redis with a real in-process
 * worker: server and model metadata, readiness, and infer with several named inputs and outputs
 * (FP32, INT64, BOOL) through the queue and micro-batcher, data flat or nested, JSON with no
 * Content-Type, as application/json or octet-stream (others 415); bad requests answered in the
 * protocol's `{ "error": "..." }` form with nothing enqueued. The binary tensor form and real clients' requests: api-oip-clients.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { F4, forest, OipFixture, type InferResponse } from './helpers/oip.js';
import { randomRows, toMatrix } from './helpers/models.js';
import { sampleValue } from './helpers/worker.js';

let fx: OipFixture;

before(async () => {
  fx = await OipFixture.start();
});

after(async () => {
  await fx?.close();
});

const inferUrl = (model: string, version?: string): string =>
  version === undefined ? `/v2/models/${model}/infer` : `/v2/models/${model}/versions/${version}/infer`;

function infer(model: string, payload: unknown, version?: string): Promise<LightMyRequestResponse> {
  return fx.app.inject(fx.authed({ method: 'POST', url: inferUrl(model, version), payload: payload as Record<string, unknown> }));
}

/** An infer of `model` with a JSON body that must be refused, with nothing enqueued on its queue. */
function refused(model: string, payload: unknown, status: number, pattern: RegExp, url = inferUrl(model)): Promise<string> {
  return fx.refused(model, fx.authed({ method: 'POST', url, payload: payload as InjectOptions['payload'] }), status, pattern);
}

const pairInputs = (a: number[], b: number[], mask: boolean[]) => [
  { name: 'a', shape: [a.length / 2, 2], datatype: 'FP32', data: a as unknown[] },
  { name: 'b', shape: [b.length / 2, 2], datatype: 'FP32', data: b as unknown[] },
  { name: 'mask', shape: [mask.length / 2, 2], datatype: 'BOOL', data: mask as unknown[] },
];

test('GET /v2 describes the server, and health/live and health/ready answer 200', async () => {
  const server = await fx.app.inject({ url: '/v2' });
  assert.equal(server.statusCode, 200);
  assert.equal(server.json<{ name: string }>().name, 'scoreq');
  assert.deepEqual(server.json<{ extensions: string[] }>().extensions, ['binary_tensor_data']);
  assert.deepEqual((await fx.app.inject({ url: '/v2/health/live' })).json(), { live: true });
  const ready = await fx.app.inject({ url: '/v2/health/ready' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { ready: true });
});

test('model metadata lists versions, the platform and every input and output with -1 for dynamic dims', async () => {
  const res = await fx.app.inject(fx.authed({ url: '/v2/models/pair' }));
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
  const v2 = await fx.app.inject(fx.authed({ url: '/v2/models/forest/versions/2' }));
  assert.equal(v2.statusCode, 200, v2.body);
  assert.deepEqual(v2.json<{ versions: string[] }>().versions, ['1', '2']);
  assert.deepEqual(
    v2.json<{ outputs: { name: string; datatype: string }[] }>().outputs.map((o) => `${o.name}:${o.datatype}`),
    ['label:INT64', 'probabilities:FP32'],
  );
  const missing = await fx.app.inject(fx.authed({ url: '/v2/models/forest/versions/9' }));
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json<{ error: string }>().error, /no version or alias '9'/);
});

test('a model is ready when a worker serves it; one no worker serves answers 400, an unknown one 404', async () => {
  const ready = await fx.app.inject(fx.authed({ url: '/v2/models/pair/ready' }));
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { name: 'pair', ready: true });
  assert.equal((await fx.app.inject(fx.authed({ url: '/v2/models/forest/versions/2/ready' }))).statusCode, 200);
  const idle = await fx.app.inject(fx.authed({ url: '/v2/models/idle/ready' }));
  assert.equal(idle.statusCode, 400);
  assert.deepEqual(idle.json(), { name: 'idle', ready: false });
  const unknown = await fx.app.inject(fx.authed({ url: '/v2/models/nope/ready' }));
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
  const sdk = await fx.client.waitForResult(await fx.client.submit('forest', { tensors: inputs }), { timeoutMs: 10_000 });
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
  const sdk = await fx.client.waitForResult(await fx.client.submit('lookup', { tensors: inputs }), { timeoutMs: 10_000 });
  assert.deepEqual(res.json<InferResponse>().outputs, sdk.tensors);
});

test('concurrent infer calls go through the micro-batcher: rows of many calls share inference calls', async () => {
  const text = async () => fx.worker.metrics.registry.metrics();
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
  const json = { 'content-type': 'application/json' };
  await fx.refused('pair', fx.authed({ method: 'POST', url: inferUrl('pair'), payload: text, headers: json }), 400, /inputs\[0\]\.data\[0\]/);
  await refused('pair', { inputs: [] }, 400, /^inputs: /);
  await refused(
    'forest',
    { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'nope' }] },
    400,
    /outputs\[0\] names 'nope'/,
  );
});

test('FP16, BF16 and BYTES inputs are refused naming the input and the datatypes scoreq supports', async () => {
  const supported = /\(supported: FP32, FP64, INT8, UINT8, INT16, UINT16, INT32, UINT32, INT64, UINT64, BOOL\)/;
  const half = pairInputs([1, 2], [3, 4], [true, false]);
  half[1]!.datatype = 'FP16';
  const message = await refused('pair', { inputs: half }, 400, /^inputs\[1\] \(b\) has datatype FP16, which scoreq does not support; send it as FP32/);
  assert.match(message, supported);
  const brain = pairInputs([1, 2], [3, 4], [true, false]);
  brain[0]!.datatype = 'BF16';
  await refused('pair', { inputs: brain }, 400, /^inputs\[0\] \(a\) has datatype BF16, which scoreq does not support/);
  const text = [{ name: 'input', shape: [1], datatype: 'BYTES', data: ['four features'] }];
  assert.match(await refused('forest', { inputs: text }, 400, /^inputs\[0\] \(input\) has datatype BYTES, which scoreq does not support/), supported);
});

test('data nested per the shape scores like flat data; nesting deeper than the shape or a wrong count is refused', async () => {
  const flat = await infer('pair', { inputs: pairInputs([1, 2, 3, 4], [0.5, 0.25, -1, 8], [true, false, false, true]) });
  const nested: { name: string; shape: number[]; datatype: string; data: unknown[] }[] = [
    {
      name: 'a',
      shape: [2, 2],
      datatype: 'FP32',
      data: [
        [1, 2],
        [3, 4],
      ],
    },
    {
      name: 'b',
      shape: [2, 2],
      datatype: 'FP32',
      data: [
        [0.5, 0.25],
        [-1, 8],
      ],
    },
    {
      name: 'mask',
      shape: [2, 2],
      datatype: 'BOOL',
      data: [
        [true, false],
        [false, true],
      ],
    },
  ];
  const res = await infer('pair', { inputs: nested });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json<InferResponse>().outputs, flat.json<InferResponse>().outputs);
  assert.deepEqual(res.json<InferResponse>().outputs.find((o) => o.name === 'sum')!.data, [1.5, 2.25, 2, 12]);

  const rows = randomRows(F4, 2, 3);
  const matrix = Array.from(toMatrix(rows, F4));
  const forestFlat = await infer('forest', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: matrix }] });
  const forestNested = await infer('forest', { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [matrix.slice(0, 4), matrix.slice(4)] }] });
  assert.equal(forestNested.statusCode, 200, forestNested.body);
  assert.deepEqual(forestNested.json<InferResponse>().outputs, forestFlat.json<InferResponse>().outputs);

  const deep = structuredClone(nested);
  deep[0]!.data = [[[1, 2]], [3, 4]];
  await refused('pair', { inputs: deep }, 400, /^inputs\[0\]\.data\[0\]\[0\] is nested deeper than the input's 2 dimensions/);
  const short = structuredClone(nested);
  short[1]!.data = [[0.5, 0.25], [-1]];
  await refused('pair', { inputs: short }, 400, /inputs\[1\] \(b\) has 3 values but shape \[2, 2\] needs 4/);
  const text = structuredClone(nested);
  text[0]!.data = [
    [1, 2],
    [3, 'four'],
  ];
  await refused('pair', { inputs: text }, 400, /^inputs\[0\]\.data\[1\]\[1\]: expected a finite number or a boolean, got "four"/);
});

test('a /v2 body is read as JSON without a Content-Type, as application/json or octet-stream; other types answer 415; /v1 still refuses octet-stream', async () => {
  const payload = JSON.stringify({ inputs: pairInputs([1, 2], [3, 4], [true, false]) });
  const accepted = [
    {},
    { 'content-type': 'application/octet-stream' },
    { 'content-type': 'application/json' },
    { 'content-type': 'Application/JSON; charset=utf-8' },
  ];
  for (const headers of accepted) {
    const res = await fx.app.inject(fx.authed({ method: 'POST', url: inferUrl('pair'), payload, headers }));
    assert.equal(res.statusCode, 200, `${JSON.stringify(headers)}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json<InferResponse>().outputs.find((o) => o.name === 'sum')!.data, [4, 6]);
  }
  // Types a web page may POST without a CORS preflight.
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain; charset=utf-8']) {
    const message = await fx.refused(
      'pair',
      fx.authed({ method: 'POST', url: inferUrl('pair'), payload, headers: { 'content-type': type } }),
      415,
      /is not taken/,
    );
    assert.ok(message.includes(JSON.stringify(type)), message);
    assert.match(message, /send application\/json or application\/octet-stream \(or no Content-Type\)/);
  }
  const v1 = await fx.app.inject(
    fx.authed({
      method: 'POST',
      url: '/v1/jobs',
      payload: JSON.stringify({ model: 'pair', tensors: [] }),
      headers: { 'content-type': 'application/octet-stream' },
    }),
  );
  assert.equal(v1.statusCode, 415, v1.body);
  assert.equal(v1.json<{ error: { code: string } }>().error.code, 'UNSUPPORTED_MEDIA_TYPE');
});

test('a shape of thousands of dimensions with data nested as deep answers 400 naming the shape, and enqueues nothing', async () => {
  const rank = 20_000;
  const shape = `[${Array.from({ length: rank }, () => '1').join(',')}]`;
  const data = `${'['.repeat(rank)}1${']'.repeat(rank)}`;
  const payload = `{"inputs":[{"name":"a","shape":${shape},"datatype":"FP32","data":${data}}]}`;
  await fx.refused(
    'pair',
    fx.authed({ method: 'POST', url: inferUrl('pair'), payload, headers: { 'content-type': 'application/json' } }),
    400,
    /^inputs\[0\]\.shape: a tensor has at most 16 dimensions/,
  );
});

test('malformed JSON, unknown models and versions, path tricks and a missing key answer in the protocol form and enqueue nothing', async () => {
  const json = { 'content-type': 'application/json' };
  const post = (url: string, payload: InjectOptions['payload'], headers: Record<string, string> = {}): InjectOptions =>
    fx.authed({ method: 'POST', url, payload, headers });
  await fx.refused('pair', post(inferUrl('pair'), '{"inputs": [', json), 400, /^the body is not valid JSON: /);
  await fx.refused('pair', post(inferUrl('pair'), '{"inputs": [', {}), 400, /^the body is not valid JSON: /);
  await fx.refused('pair', post(inferUrl('pair'), '', json), 400, /the body is empty/);
  const inputs = [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }];
  await refused('forest', { inputs }, 404, /no version or alias '7'/, inferUrl('forest', '7'));
  await refused('nope', { inputs }, 404, /no model 'nope'/);
  await refused('forest', { inputs }, 400, /model name "..\/forest" is invalid/, '/v2/models/..%2Fforest/infer');
  await refused('forest', { inputs }, 400, /model name "forest\/..\/pair" is invalid/, '/v2/models/forest%2F..%2Fpair/infer');
  await refused('forest', { inputs }, 404, /no route POST \/v2\/models\/a\/b\/infer/, '/v2/models/a/b/infer');
  await fx.refused('forest', { method: 'POST', url: inferUrl('forest'), payload: { inputs } }, 401, /no API key/);
  await fx.refused('forest', { method: 'POST', url: inferUrl('forest'), payload: { inputs }, headers: { authorization: 'Bearer sk_nope' } }, 401, /API key/);
});

test('a body over the limit answers 413 in the protocol form and enqueues nothing', async () => {
  const limit = 1024 * 1024;
  const values = Array.from({ length: limit / 4 }, () => 0.5);
  const payload = JSON.stringify({ inputs: [{ name: 'a', shape: [values.length / 2, 2], datatype: 'FP32', data: values }] });
  assert.ok(payload.length > limit);
  const message = await refused('pair', payload, 413, /^the request body is larger than this route's limit of 1048576 bytes/);
  assert.doesNotMatch(message, /code/);
});
