/**
 * Shared helpers of the inference tests: a temp directory of models built with onnx-builder,
 * deterministic inputs, comparisons against `reference()`, and error matchers that branch on
 * `code`. Not a test file itself (no tests are registered here).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, writeModel, type BuiltModel } from '@scoreq/onnx-builder';
import type { ErrorCode, ModelMetadata, ModelSignature, ModelVersionRecord } from '@scoreq/contracts';
import type { TensorData, WireTensor } from '../src/index.js';

/** Absolute tolerance between onnxruntime's results and the builders' float64 references. */
export const TOLERANCE = 1e-6;

/** A temp directory holding this file's models, removed by `remove()`. */
export interface ModelDir {
  path: string;
  /** Writes `<dir>/<name>/model.onnx` and returns its path. */
  write(name: string, model: BuiltModel): Promise<string>;
  remove(): Promise<void>;
}

export async function modelDir(prefix: string): Promise<ModelDir> {
  const path = await mkdtemp(join(tmpdir(), `scoreq-inference-${prefix}-`));
  return {
    path,
    write: (name, model) => writeModel(join(path, name), model),
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

/** Row-major `rows × features` float32 values from `U(-1.5, 1.5)`, deterministic from `seed`. */
export function randomRows(rows: number, features: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: rows * features }, () => next() * 3 - 1.5);
}

/** A float32 feature tensor of `rows × width` named `name`. */
export function floatInput(name: string, data: Float32Array, rows: number): WireTensor {
  return { name, type: 'float32', dims: [rows, data.length / rows], data };
}

/** An int64 `[rows, 1]` id tensor, as the embedding lookup takes. */
export function idInput(name: string, ids: readonly number[]): WireTensor {
  return { name, type: 'int64', dims: [ids.length, 1], data: BigInt64Array.from(ids.map(BigInt)) };
}

/** A reference output that must be float32. */
export function floatRef(values: Record<string, Float32Array | BigInt64Array>, name: string): Float32Array {
  const v = values[name];
  assert.ok(v instanceof Float32Array, `reference ${name} is float32`);
  return v;
}

/** A reference output that must be int64. */
export function int64Ref(values: Record<string, Float32Array | BigInt64Array>, name: string): BigInt64Array {
  const v = values[name];
  assert.ok(v instanceof BigInt64Array, `reference ${name} is int64`);
  return v;
}

/** The output called `name`, asserting it is there. */
export function output(outputs: readonly WireTensor[], name: string): WireTensor {
  const found = outputs.find((o) => o.name === name);
  assert.ok(found, `output ${name} is present (got ${outputs.map((o) => o.name).join(', ')})`);
  return found;
}

/** Asserts two numeric arrays have the same length and agree element-wise within `tolerance`. */
export function assertClose(actual: ArrayLike<number> | TensorData, expected: ArrayLike<number> | TensorData, what: string, tolerance = TOLERANCE): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    assert.ok(Math.abs(a - e) <= tolerance, `${what}[${i}]: got ${a}, reference ${e} (tolerance ${tolerance})`);
  }
}

/** A model version record around a signature read by `pool.load`. */
export function versionRecord(signature: ModelSignature, metadata: ModelMetadata, version = '1'): ModelVersionRecord {
  return { version, sha256: '0'.repeat(64), size: 0, createdAt: new Date(0).toISOString(), signature, metadata };
}

/**
 * A matcher for `assert.throws` / `assert.rejects`: the error carries `code` (and, when given,
 * `details.field`). Branches on `code`, never on the class: errors may have crossed a thread.
 */
export function hasCode(code: ErrorCode, field?: string): (err: unknown) => true {
  return (err) => {
    const { code: actual, details, message } = err as { code?: unknown; details?: { field?: unknown }; message?: unknown };
    assert.equal(actual, code, `error code (message: ${String(message)})`);
    if (field !== undefined) assert.equal(details?.field, field, `error field (message: ${String(message)})`);
    return true;
  };
}
