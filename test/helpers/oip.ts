/**
 * Shared by the Open Inference Protocol tests: a model with several named inputs and outputs,
 * an API and worker on real Redis serving it, and the protocol's wire forms as Python's
 * tritonclient.http and KServe's REST client write and read them.
 */
import assert from 'node:assert/strict';
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
import { ApiKeyStore, buildApi } from '@scoreq/api';
import { featureNames, ModelsDir } from './models.js';
import { cleanupPrefix, redisUrl, testPrefix } from './redis.js';
import { startTestWorker, testConfig } from './worker.js';

export const F4 = featureNames(4);

/**
 * A model with three named inputs and three outputs: a and b (FP32 [N, 2]) and mask (BOOL
 * [N, 2]) in; sum = a + b, diff = a - b and picked = mask ? a : b out.
 */
export function pairModel(): BuiltModel {
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

export const forest = buildTreeEnsemble({ features: 4, trees: 5, depth: 3, classes: 3, mode: 'classifier', seed: 5 });

/** The API, worker and models of an OIP test file, on a prefix of its own. */
export class OipFixture {
  private readonly queues: Queue[] = [];

  private constructor(
    readonly prefix: string,
    readonly models: ModelsDir,
    readonly worker: ScoringWorker,
    readonly app: FastifyInstance,
    readonly client: ScoringClient,
    readonly redis: Redis,
    readonly key: string,
  ) {}

  /**
   * Models pair (v1), forest (v1 = production, v2), lookup (INT64 ids → embeddings), and idle
   * (lookup's record, which no worker serves); a worker, an API, and a key of tenant acme.
   */
  static async start(): Promise<OipFixture> {
    const prefix = testPrefix();
    const models = await ModelsDir.create();
    await models.add('pair', 1, pairModel(), {});
    await models.add('forest', 1, forest, { features: F4, output: { name: 'probabilities', kind: 'classification', labels: ['a', 'b', 'c'] } });
    await models.add('forest', 2, buildTreeEnsemble({ features: 4, trees: 3, depth: 2, classes: 3, mode: 'classifier', seed: 6 }), { features: F4 });
    await models.setAliases('forest', { production: '1' });
    await models.add('lookup', 1, buildEmbeddingLookup({ vocab: 10, dim: 3 }), {});
    const worker = await startTestWorker(testConfig(prefix, models.dir, { SCOREQ_MAX_DELAY_MS: 5 }));
    const redis = new Redis(redisUrl());
    const lookup = JSON.parse((await redis.get(`${prefix}:model:lookup`))!) as ModelRecord;
    await publishModelRecord(redis, prefix, { ...lookup, name: 'idle' });
    const app = await buildApi({ config: testConfig(prefix, models.dir), logger: createLogger({ level: 'silent' }), maxWaitMs: 20_000 });
    const client = new ScoringClient({ connection: redisUrl(), prefix });
    const key = await new ApiKeyStore(redis, prefix).create({ tenant: 'acme', scopes: ['submit', 'read'] });
    return new OipFixture(prefix, models, worker, app, client, redis, key.key);
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.client.close();
    for (const q of this.queues) await q.close();
    await this.worker.close();
    await cleanupPrefix(this.redis, this.prefix);
    await this.redis.quit();
    await this.models.remove();
  }

  authed(options: InjectOptions): InjectOptions {
    return { ...options, headers: { authorization: `Bearer ${this.key}`, ...options.headers } };
  }

  /** Every job of a model's queue, whatever its state. */
  async jobCount(model: string): Promise<number> {
    const queue = new Queue(queueName(model), { connection: this.redis, prefix: this.prefix });
    this.queues.push(queue);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'waiting-children');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /**
   * A request that must be refused: status, a body of exactly `{ error: string }` matching
   * `pattern`, and nothing enqueued on `model`'s queue. Returns the message.
   */
  async refused(model: string, options: InjectOptions, status: number, pattern: RegExp): Promise<string> {
    const before = await this.jobCount(model);
    const res = await this.app.inject(options);
    assert.equal(res.statusCode, status, res.body);
    const body = res.json<{ error: unknown }>();
    assert.deepEqual(Object.keys(body), ['error'], res.body);
    assert.equal(typeof body.error, 'string', res.body);
    assert.match(body.error as string, pattern);
    assert.equal(await this.jobCount(model), before, `nothing enqueued on ${model} for ${res.body}`);
    return body.error as string;
  }
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[]; data?: (number | boolean)[]; parameters?: { binary_data_size?: number } }[];
}

/** A tensor as numpy's `tobytes()` gives it: little-endian, row-major. */
export interface RawTensor {
  name: string;
  datatype: string;
  shape: number[];
  bytes: Buffer;
}

export const fp32 = (values: number[]): Buffer => Buffer.from(new Float32Array(values).buffer);
export const int64 = (values: number[]): Buffer => Buffer.from(new BigInt64Array(values.map(BigInt)).buffer);
export const bool = (values: boolean[]): Buffer => Buffer.from(values.map((v) => (v ? 1 : 0)));

/**
 * The body and headers of tritonclient.http's `InferenceServerClient.infer()` with inputs set by
 * `set_data_from_numpy(..., binary_data=True)` (its default), as `_get_inference_request`
 * builds them: JSON with `binary_data_size` per input, then each input's bytes; requested
 * outputs carry `binary_data`; with none, the request asks `binary_data_output`. The client
 * sends Inference-Header-Content-Length and no Content-Type.
 */
export function tritonRequest(
  inputs: RawTensor[],
  outputs?: { name: string; binary_data: boolean }[],
  requestId = '',
): { payload: Buffer; headers: Record<string, string> } {
  const request: Record<string, unknown> = {};
  if (requestId !== '') request.id = requestId;
  request.inputs = inputs.map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: t.bytes.length } }));
  if (outputs !== undefined) request.outputs = outputs.map((o) => ({ name: o.name, parameters: { binary_data: o.binary_data } }));
  else request.parameters = { binary_data_output: true };
  const json = Buffer.from(JSON.stringify(request));
  return { payload: Buffer.concat([json, ...inputs.map((t) => t.bytes)]), headers: { 'Inference-Header-Content-Length': String(json.length) } };
}

/** A response read as tritonclient.http's InferResult and KServe's InferResponse.from_bytes read it. */
export interface DecodedResponse {
  json: InferResponse;
  /** An output's values as `as_numpy(name)` would hold them, flat: from its bytes when binary, else from `data`. */
  values(name: string): (number | boolean)[];
}

/**
 * Reads an infer answer as both clients do: the JSON is the first Inference-Header-Content-Length
 * bytes (the whole body without that header); outputs with `parameters.binary_data_size` take
 * that many bytes after it, in the order the JSON lists them.
 */
export function decodeResponse(res: Pick<LightMyRequestResponse, 'headers' | 'rawPayload'>): DecodedResponse {
  const header = res.headers['inference-header-content-length'];
  const body = res.rawPayload;
  const jsonLength = header === undefined ? body.length : Number(header);
  const json = JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as InferResponse;
  const offsets = new Map<string, number>();
  let offset = jsonLength;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    offsets.set(o.name, offset);
    offset += size;
  }
  assert.equal(offset, body.length, 'the binary outputs fill the rest of the body');
  return {
    json,
    values(name) {
      const output = json.outputs.find((o) => o.name === name);
      assert.ok(output, `output ${name} is in the answer`);
      const start = offsets.get(name);
      if (start === undefined) {
        assert.ok(output.data, `output ${name} has data when it has no binary_data_size`);
        return output.data;
      }
      // A copy: typed arrays need aligned offsets.
      const bytes = body.subarray(start, start + output.parameters!.binary_data_size!);
      const copy = new Uint8Array(bytes).buffer;
      switch (output.datatype) {
        case 'FP32':
          return Array.from(new Float32Array(copy));
        case 'INT64':
          return Array.from(new BigInt64Array(copy), Number);
        case 'BOOL':
          return Array.from(new Uint8Array(copy), (b) => b !== 0);
        default:
          throw new Error(`no numpy dtype for ${output.datatype} in this test`);
      }
    },
  };
}
