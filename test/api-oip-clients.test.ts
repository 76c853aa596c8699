/**
 * Open Inference Protocol requests exactly as real clients put them on the wire, built here to
 * the clients' code (no Python in the test run): tritonclient.http with its defaults (binary
 * inputs and outputs, Inference-Header-Content-Length, no Content-Type) and KServe's
 * InferenceRESTClient (JSON without Content-Type; binary with application/octet-stream). The
 * answers are read as those clients read them. Binary requests that do not add up are refused
 * naming the input, with nothing enqueued.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { bool, decodeResponse, F4, fp32, int64, OipFixture, tritonRequest, type RawTensor } from './helpers/oip.js';
import { randomRows, toMatrix } from './helpers/models.js';

let fx: OipFixture;

before(async () => {
  fx = await OipFixture.start();
});

after(async () => {
  await fx?.close();
});

const A = [1, 2, 3, 4];
const B = [0.5, 0.25, -1, 8];
const MASK = [true, false, false, true];
const SUM = [1.5, 2.25, 2, 12];
const DIFF = [0.5, 1.75, 4, -4];
const PICKED = [1, 0.25, -1, 4];

const pairRaw = (): RawTensor[] => [
  { name: 'a', datatype: 'FP32', shape: [2, 2], bytes: fp32(A) },
  { name: 'b', datatype: 'FP32', shape: [2, 2], bytes: fp32(B) },
  { name: 'mask', datatype: 'BOOL', shape: [2, 2], bytes: bool(MASK) },
];

/** POST to a model's infer route, as the clients do (`v2/models/<name>/infer`), with the fixture's key. */
function post(model: string, request: { payload: Buffer | string; headers: Record<string, string> }): InjectOptions {
  return fx.authed({ method: 'POST', url: `/v2/models/${model}/infer`, payload: request.payload, headers: request.headers });
}

test('tritonclient.http defaults: binary inputs, no Content-Type, and with no outputs named every output in binary form', async () => {
  const request = tritonRequest(pairRaw());
  assert.equal(request.headers['content-type'], undefined);
  const res = await fx.app.inject(post('pair', request));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  const answer = decodeResponse(res);
  assert.equal(answer.json.model_name, 'pair');
  assert.equal(answer.json.model_version, '1');
  for (const output of answer.json.outputs) {
    assert.equal(output.data, undefined, `${output.name} has no data in the JSON`);
    assert.deepEqual(output.parameters, { binary_data_size: 16 });
    assert.deepEqual(output.shape, [2, 2]);
    assert.equal(output.datatype, 'FP32');
  }
  assert.deepEqual(answer.values('sum'), SUM);
  assert.deepEqual(answer.values('diff'), DIFF);
  assert.deepEqual(answer.values('picked'), PICKED);
});

/** Sends bytes over a real socket with exactly these headers (Node adds Host and Connection, as geventhttpclient sends Host). */
function send(path: string, headers: Record<string, string>, body: Buffer): Promise<{ statusCode: number; headers: IncomingHttpHeaders; rawPayload: Buffer }> {
  const { port } = fx.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, rawPayload: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

test("over a real socket, tritonclient.http's request (geventhttpclient: no Content-Type) is answered in binary form", async () => {
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  const { payload, headers } = tritonRequest(pairRaw());
  const res = await send(
    '/v2/models/pair/infer',
    {
      'User-Agent': 'python/gevent-http-client-2.0',
      'Content-Length': String(payload.length),
      authorization: `Bearer ${fx.key}`,
      ...headers,
    },
    payload,
  );
  assert.equal(res.statusCode, 200, res.rawPayload.toString());
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.equal(Number(res.headers['content-length']), res.rawPayload.length);
  const answer = decodeResponse(res);
  assert.deepEqual(answer.values('sum'), SUM);
  assert.deepEqual(answer.values('picked'), PICKED);
});

test('tritonclient.http with requested outputs: binary_data false answers JSON data, true binary bytes, in one answer', async () => {
  const request = tritonRequest(
    pairRaw(),
    [
      { name: 'sum', binary_data: false },
      { name: 'picked', binary_data: true },
    ],
    'req-7',
  );
  const res = await fx.app.inject(post('pair', request));
  assert.equal(res.statusCode, 200, res.body);
  const answer = decodeResponse(res);
  assert.equal(answer.json.id, 'req-7');
  assert.deepEqual(
    answer.json.outputs.map((o) => o.name),
    ['sum', 'picked'],
  );
  assert.deepEqual(answer.json.outputs[0], { name: 'sum', datatype: 'FP32', shape: [2, 2], data: SUM });
  assert.deepEqual(answer.json.outputs[1]!.parameters, { binary_data_size: 16 });
  assert.deepEqual(answer.values('picked'), PICKED);

  // Every output asked for in JSON: a plain JSON answer, no Inference-Header-Content-Length.
  const json = await fx.app.inject(post('pair', tritonRequest(pairRaw(), [{ name: 'diff', binary_data: false }])));
  assert.equal(json.statusCode, 200, json.body);
  assert.equal(json.headers['inference-header-content-length'], undefined);
  assert.match(String(json.headers['content-type']), /^application\/json/);
  assert.deepEqual(decodeResponse(json).values('diff'), DIFF);
});

test('binary INT64 inputs and outputs carry the same values as the JSON form', async () => {
  const ids = [3, 1, 4, 1];
  const binary = await fx.app.inject(post('lookup', tritonRequest([{ name: 'id', datatype: 'INT64', shape: [4, 1], bytes: int64(ids) }])));
  assert.equal(binary.statusCode, 200, binary.body);
  const json = await fx.app.inject(
    fx.authed({ method: 'POST', url: '/v2/models/lookup/infer', payload: { inputs: [{ name: 'id', shape: [4, 1], datatype: 'INT64', data: ids }] } }),
  );
  const fromBinary = decodeResponse(binary);
  for (const output of decodeResponse(json).json.outputs) assert.deepEqual(fromBinary.values(output.name), output.data, output.name);

  const matrix = Array.from(toMatrix(randomRows(F4, 3, 9), F4));
  const features: RawTensor = { name: 'input', datatype: 'FP32', shape: [3, 4], bytes: fp32(matrix) };
  const forest = decodeResponse(await fx.app.inject(post('forest', tritonRequest([features]))));
  const label = forest.json.outputs.find((o) => o.name === 'label')!;
  assert.equal(label.datatype, 'INT64');
  assert.deepEqual(label.parameters, { binary_data_size: 24 });
  const sdk = await fx.client.waitForResult(await fx.client.submit('forest', { tensors: [{ name: 'input', datatype: 'FP32', shape: [3, 4], data: matrix }] }), {
    timeoutMs: 10_000,
  });
  assert.deepEqual(forest.values('label'), sdk.tensors!.find((t) => t.name === 'label')!.data);
});

test("KServe's InferenceRESTClient: JSON without Content-Type, and binary inputs with application/octet-stream, read by from_bytes", async () => {
  // InferRequest.to_rest() with data lists: a dict (orjson, with model_name and a uuid id), posted as bytes without Content-Type.
  const id = randomUUID();
  const request = {
    id,
    model_name: 'pair',
    inputs: [
      { name: 'a', shape: [2, 2], datatype: 'FP32', data: A },
      { name: 'b', shape: [2, 2], datatype: 'FP32', data: B },
      { name: 'mask', shape: [2, 2], datatype: 'BOOL', data: MASK },
    ],
  };
  const json = await fx.app.inject(post('pair', { payload: JSON.stringify(request), headers: {} }));
  assert.equal(json.statusCode, 200, json.body);
  const fromJson = decodeResponse(json);
  assert.equal(fromJson.json.id, id);
  assert.equal(fromJson.json.model_name, 'pair');
  assert.deepEqual(fromJson.values('sum'), SUM);

  // With set_data_from_numpy(binary_data=True) and an output asking binary_data: the bytes follow the JSON.
  const header = Buffer.from(
    JSON.stringify({
      id,
      model_name: 'pair',
      inputs: pairRaw().map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: t.bytes.length } })),
      outputs: [{ name: 'diff', parameters: { binary_data: true } }],
    }),
  );
  const payload = Buffer.concat([header, ...pairRaw().map((t) => t.bytes)]);
  const headers = { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' };
  const binary = await fx.app.inject(post('pair', { payload, headers }));
  assert.equal(binary.statusCode, 200, binary.body);
  assert.deepEqual(decodeResponse(binary).values('diff'), DIFF);
});

test('binary requests that do not add up are refused naming the input, and enqueue nothing', async () => {
  const refused = (raw: RawTensor[], status: number, pattern: RegExp, edit?: (r: ReturnType<typeof tritonRequest>) => void) => {
    const request = tritonRequest(raw);
    edit?.(request);
    return fx.refused('pair', post('pair', request), status, pattern);
  };
  const short = pairRaw();
  short[1]!.bytes = fp32([0.5, 0.25, -1]);
  await refused(short, 400, /^inputs\[1\] \(b\) has binary_data_size 12 but shape \[2, 2\] of FP32 needs 16 bytes/);
  const badBool = pairRaw();
  badBool[2]!.bytes = Buffer.from([1, 0, 2, 1]);
  await refused(badBool, 400, /^inputs\[2\] \(mask\) element 2 is the byte 2; a BOOL element is 0 or 1/);
  await refused(pairRaw(), 400, /^inputs\[2\] \(mask\) needs 4 bytes at offset 32 after the JSON header, but only 34 bytes follow it/, (r) => {
    r.payload = r.payload.subarray(0, r.payload.length - 2);
  });
  await refused(pairRaw(), 400, /^38 bytes follow the JSON header but the inputs' binary_data_size add up to 36/, (r) => {
    r.payload = Buffer.concat([r.payload, Buffer.from([0, 0])]);
  });
  await refused(pairRaw(), 400, /^Inference-Header-Content-Length is 99999 but the body has only \d+ bytes/, (r) => {
    r.headers['Inference-Header-Content-Length'] = '99999';
  });
  await refused(pairRaw(), 400, /^Inference-Header-Content-Length must be the byte length of the JSON inference header, got "-5"/, (r) => {
    r.headers['Inference-Header-Content-Length'] = '-5';
  });
  await refused(pairRaw(), 400, /^Inference-Header-Content-Length is 0 \(a raw binary request without JSON header\), which scoreq does not take/, (r) => {
    r.headers['Inference-Header-Content-Length'] = '0';
  });
  await refused(pairRaw(), 400, /^the JSON inference header is not valid JSON/, (r) => {
    r.headers['Inference-Header-Content-Length'] = String(Number(r.headers['Inference-Header-Content-Length']) - 3);
  });
  // binary_data_size without the header: the whole body is the JSON, and no bytes follow it.
  await refused(pairRaw(), 400, /^inputs\[0\] \(a\) needs 16 bytes at offset 0 after the JSON header, but only 0 bytes follow it/, (r) => {
    r.payload = r.payload.subarray(0, Number(r.headers['Inference-Header-Content-Length']));
    delete r.headers['Inference-Header-Content-Length'];
  });
  const huge = [{ name: 'id', datatype: 'INT64', shape: [1, 1], bytes: Buffer.from(new BigInt64Array([2n ** 60n]).buffer) }];
  await fx.refused('lookup', post('lookup', tritonRequest(huge)), 400, /^inputs\[0\] \(id\) element 0 is beyond ±2\^53/);
});

test('inputs with both or neither data forms, classification, shared memory and compressed bodies are refused clearly', async () => {
  const inputs = (): Record<string, unknown>[] => pairRaw().map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, data: [1, 2, 3, 4] }));
  const refused = (body: Record<string, unknown>, status: number, pattern: RegExp, headers: Record<string, string> = {}) =>
    fx.refused('pair', post('pair', { payload: JSON.stringify(body), headers }), status, pattern);
  const both = inputs();
  both[0]!.parameters = { binary_data_size: 16 };
  await refused({ inputs: both }, 400, /^inputs\[0\] \(a\) has both data and parameters\.binary_data_size; send one/);
  const neither = inputs();
  delete neither[1]!.data;
  await refused({ inputs: neither }, 400, /^inputs\[1\] \(b\) has no data: send data, or parameters\.binary_data_size/);
  await refused(
    { inputs: inputs(), outputs: [{ name: 'sum', parameters: { classification: 2 } }] },
    400,
    /^outputs\[0\] \(sum\) asks for classification, which scoreq does not support/,
  );
  const shared = inputs();
  shared[0]!.parameters = { shared_memory_region: 'input0', shared_memory_byte_size: 16 };
  await refused({ inputs: shared }, 400, /^inputs\[0\] \(a\) names a shared memory region, which scoreq does not take/);
  await refused({ inputs: inputs() }, 415, /^Content-Encoding gzip is not supported; send the body uncompressed/, { 'content-encoding': 'gzip' });
  await refused({ inputs: inputs(), parameters: { binary_data_output: 'yes' } }, 400, /^parameters\.binary_data_output: /);
});
