/**
 * Shared test helpers: random inputs, running a built model in onnxruntime-node, comparisons.
 * Not a test file itself (no tests are registered here).
 */
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { seededRandom } from '../src/index.js';
import type { BuiltModel } from '../src/index.js';

/** Row-major `rows × features` float32 values from `U(-1.5, 1.5)`, deterministic from `seed`. */
export function randomRows(rows: number, features: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: rows * features }, () => next() * 3 - 1.5);
}

/** Width (features) of a model's single input, from its declared shape. */
export function featureCount(model: BuiltModel): number {
  const width = model.inputs[0]?.shape[1];
  assert.equal(typeof width, 'number', 'the input has a fixed feature dimension');
  return Number(width);
}

/** Creates a session from the model bytes. */
export function openSession(model: BuiltModel): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model.bytes);
}

/** Runs `rows` rows through the session, feeding the model's single input. */
export async function run(session: ort.InferenceSession, model: BuiltModel, input: Float32Array, rows: number): Promise<ort.InferenceSession.OnnxValueMapType> {
  const spec = model.inputs[0];
  assert.ok(spec, 'the model has an input');
  return session.run({ [spec.name]: new ort.Tensor('float32', input, [rows, featureCount(model)]) });
}

/** The data of a tensor output, asserting it exists and is a tensor. */
export function outputData(results: ort.InferenceSession.OnnxValueMapType, name: string): ort.Tensor {
  const value = results[name];
  assert.ok(value instanceof ort.Tensor, `output ${name} is a tensor`);
  return value;
}

/** Asserts two float arrays have the same length and agree element-wise within `tolerance`. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    assert.ok(Math.abs(a - e) <= tolerance, `${what}[${i}]: onnxruntime ${a} vs reference ${e} (tolerance ${tolerance})`);
  }
}

/** A Float32Array reference output, asserting its type. */
export function floatRef(values: Record<string, Float32Array | BigInt64Array>, name: string): Float32Array {
  const v = values[name];
  assert.ok(v instanceof Float32Array, `reference ${name} is float32`);
  return v;
}

/** A BigInt64Array reference output, asserting its type. */
export function int64Ref(values: Record<string, Float32Array | BigInt64Array>, name: string): BigInt64Array {
  const v = values[name];
  assert.ok(v instanceof BigInt64Array, `reference ${name} is int64`);
  return v;
}

/**
 * Asserts the session's input/output names and tensor metadata (type and shape) equal the
 * model's declared `inputs`/`outputs`.
 */
export function assertSignature(session: ort.InferenceSession, model: BuiltModel): void {
  assert.deepEqual(
    session.inputNames,
    model.inputs.map((i) => i.name),
  );
  assert.deepEqual(
    session.outputNames,
    model.outputs.map((o) => o.name),
  );
  const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]) =>
    meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
  assert.deepEqual(describe(session.inputMetadata), model.inputs);
  assert.deepEqual(describe(session.outputMetadata), model.outputs);
}

/** Sum of every row of a row-major `rows × width` array. */
export function rowSums(values: ArrayLike<number>, rows: number, width: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let s = 0;
    for (let j = 0; j < width; j++) s += values[r * width + j] ?? 0;
    return s;
  });
}

/** Index of the largest value of each row (first one on ties). */
export function argmaxRows(values: ArrayLike<number>, rows: number, width: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let j = 1; j < width; j++) if ((values[r * width + j] ?? 0) > (values[r * width + best] ?? 0)) best = j;
    return best;
  });
}

/** Batch sizes every model is checked with. */
export const BATCHES = [1, 17] as const;
/** Absolute tolerance between onnxruntime and the float64 reference. */
export const TOLERANCE = 1e-5;

/** The data of a float32 tensor, asserting its type. */
export function asFloat32(tensor: ort.Tensor): Float32Array {
  assert.ok(tensor.data instanceof Float32Array, `tensor of type ${tensor.type} holds float32 data`);
  return tensor.data;
}

/** The data of an int64 tensor, asserting its type. */
export function asInt64(tensor: ort.Tensor): BigInt64Array {
  assert.ok(tensor.data instanceof BigInt64Array, `tensor of type ${tensor.type} holds int64 data`);
  return tensor.data;
}
