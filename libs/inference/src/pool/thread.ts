/**
 * The Piscina thread file: owns one onnxruntime InferenceSession per model version.
 *
 * Rules this file keeps (see shared/STACK-NOTES.md):
 * - nothing runs at import and nothing throws at import: sessions load inside tasks;
 * - no timers or logging: with `atomics: 'sync'` the thread is parked between tasks;
 * - failures are returned as values (`{ ok: false, error }`), because errors thrown here
 *   reach the main thread without their `code`;
 * - output buffers are moved back, never copied.
 */
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import * as ort from 'onnxruntime-node';
import { now, type ModelSignature, type TensorSpec, type TensorType, TENSOR_TYPES } from '@scoreq/contracts';
import type { FailedReply, LoadReply, ReleaseReply, RunReply, RunTask, SessionKey, ThreadTask } from './messages.js';
import { allocate, rowWidth, type TensorData, type WireTensor } from '../tensor.js';
import { sessionOptions } from './session-options.js';

const sessions = new Map<SessionKey, Promise<ort.InferenceSession>>();

export default async function handle(task: ThreadTask): Promise<unknown> {
  if (task.kind === 'load') return load(task.key, task.path);
  if (task.kind === 'release') return release(task.release);
  return run(task);
}

function session(key: SessionKey, path: string): Promise<ort.InferenceSession> {
  let pending = sessions.get(key);
  if (!pending) {
    pending = ort.InferenceSession.create(path, sessionOptions());
    // A failed load must not poison the cache: the next task tries again.
    pending.catch(() => sessions.delete(key));
    sessions.set(key, pending);
  }
  return pending;
}

async function load(key: SessionKey, path: string): Promise<LoadReply | FailedReply> {
  const startedAt = now();
  try {
    const s = await session(key, path);
    const { signature, nonTensorOutputs, unsupportedInputs } = readSignature(s);
    if (unsupportedInputs.length > 0 || nonTensorOutputs.length > 0) {
      // Refused here, for every caller: such a model cannot be fed, or cannot hand back its results.
      releaseSession(key);
      return failed('MODEL_LOAD_FAILED', describeUnservable(unsupportedInputs, nonTensorOutputs), startedAt, { unsupportedInputs, nonTensorOutputs });
    }
    await warmUp(s, signature);
    return { ok: true, signature, loadMs: now() - startedAt };
  } catch (err) {
    return failed('MODEL_LOAD_FAILED', `onnxruntime could not load ${path}: ${message(err)}`, startedAt);
  }
}

async function run(task: RunTask): Promise<unknown> {
  for (const key of task.release ?? []) releaseSession(key);
  let startedAt = now();
  let s: ort.InferenceSession;
  try {
    s = await session(task.key, task.path);
  } catch (err) {
    return failed('MODEL_LOAD_FAILED', `onnxruntime could not load ${task.path}: ${message(err)}`, startedAt);
  }
  startedAt = now();
  try {
    const rows = task.inputs[0]?.dims[0] ?? 0;
    const step = task.fixedBatch ?? rows;
    if (step <= 0 || rows % step !== 0) {
      return failed('INVALID_INPUT', `this model takes exactly ${step} rows per call; got ${rows}`, startedAt);
    }
    const parts: WireTensor[][] = [];
    for (let first = 0; first < rows; first += step) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const input of task.inputs) feeds[input.name] = toOrt(input, first, step, rows);
      const result = task.outputs ? await s.run(feeds, task.outputs) : await s.run(feeds);
      parts.push(Object.entries(result).map(([name, t]) => fromOrt(name, t)));
    }
    const outputs = parts.length === 1 ? parts[0]! : concatParts(parts);
    const reply: RunReply = { ok: true, threadId, outputs, startedAt, endedAt: now() };
    return move({ [transferableSymbol]: outputs.map((o) => o.data.buffer), [valueSymbol]: reply } as never);
  } catch (err) {
    return failed('INFERENCE_FAILED', message(err), startedAt);
  }
}

function release(keys: SessionKey[]): ReleaseReply {
  for (const key of keys) releaseSession(key);
  return { ok: true, threadId };
}

function releaseSession(key: SessionKey): void {
  const pending = sessions.get(key);
  if (!pending) return;
  sessions.delete(key);
  pending.then((s) => s.release()).catch(() => undefined);
}

function toOrt(input: WireTensor, first: number, count: number, rows: number): ort.Tensor {
  const dims = [count, ...input.dims.slice(1)];
  if (count === rows) return new ort.Tensor(input.type, input.data, dims);
  const width = rowWidth(input.dims);
  return new ort.Tensor(input.type, input.data.subarray(first * width, (first + count) * width), dims);
}

function fromOrt(name: string, t: ort.Tensor): WireTensor {
  if (!isTensorType(t.type)) throw new Error(`output '${name}' has type ${t.type}, which scoreq cannot return`);
  return { name, type: t.type, dims: [...t.dims], data: t.data as TensorData };
}

function concatParts(parts: WireTensor[][]): WireTensor[] {
  const first = parts[0]!;
  return first.map((head, i) => {
    const pieces = parts.map((p) => p[i]!);
    const total = pieces.reduce((n, p) => n + p.data.length, 0);
    const data = allocate(head.type, total);
    let offset = 0;
    for (const p of pieces) {
      (data as Float32Array).set(p.data as Float32Array, offset);
      offset += p.data.length;
    }
    const rows = pieces.reduce((n, p) => n + (p.dims[0] ?? 1), 0);
    return { name: head.name, type: head.type, dims: [rows, ...head.dims.slice(1)], data };
  });
}

/** An input scoreq cannot feed: `type` is onnxruntime's element type (e.g. `string`) or `non-tensor`. */
interface UnsupportedInput {
  name: string;
  type: string;
}

/**
 * The signature of a loaded session, with what it leaves out: inputs and outputs that are not
 * numeric tensors (the load refuses such a model).
 */
function readSignature(s: ort.InferenceSession): { signature: ModelSignature; nonTensorOutputs: string[]; unsupportedInputs: UnsupportedInput[] } {
  const nonTensorOutputs: string[] = [];
  const unsupportedInputs: UnsupportedInput[] = [];
  const inputs: TensorSpec[] = [];
  for (const m of s.inputMetadata) {
    if (m.isTensor && isTensorType(m.type)) inputs.push({ name: m.name, type: m.type, shape: [...m.shape] });
    else unsupportedInputs.push({ name: m.name, type: m.isTensor ? m.type : 'non-tensor' });
  }
  const outputs: TensorSpec[] = [];
  for (const m of s.outputMetadata) {
    if (m.isTensor && isTensorType(m.type)) outputs.push({ name: m.name, type: m.type, shape: [...m.shape] });
    else nonTensorOutputs.push(m.name);
  }
  const batchDims = inputs.map((i) => i.shape[0]);
  const fixed = batchDims.find((d): d is number => typeof d === 'number' && d > 0);
  const dynamic = fixed === undefined;
  return { signature: { inputs, outputs, batch: { dynamic, size: dynamic ? null : fixed } }, nonTensorOutputs, unsupportedInputs };
}

/** What is wrong with the model and what to do, e.g. for an input of category names or a ZipMap output. */
function describeUnservable(inputs: UnsupportedInput[], outputs: string[]): string {
  const problems: string[] = [];
  if (inputs.length > 0) {
    const each = inputs.map((i) =>
      i.type === 'non-tensor' ? `input '${i.name}' is not a tensor (a sequence or map)` : `input '${i.name}' is a ${i.type} tensor`,
    );
    const todo = inputs.some((i) => i.type === 'string')
      ? 'encode categories as numbers (export the model with a numeric input, e.g. ordinal-encoded, and map the names to those numbers with metadata features[].categories)'
      : 'export the model to take numeric tensors instead';
    problems.push(`inputs scoreq cannot feed: ${each.join(', ')}; scoreq feeds numeric tensors only: ${todo}`);
  }
  if (outputs.length > 0) {
    problems.push(
      `outputs onnxruntime-node cannot return as numeric tensors: ${outputs.join(', ')} ` +
        `(a ZipMap sequence of maps, which scikit-learn exporters add by default, or string labels): ` +
        `export it without ZipMap — skl2onnx: to_onnx(model, X, options={id(model): {'zipmap': False}}) — with numeric class labels`,
    );
  }
  return problems.join('; and ');
}

/** One call on zeros, so the first real batch does not pay for lazy allocations. */
async function warmUp(s: ort.InferenceSession, signature: ModelSignature): Promise<void> {
  const rows = signature.batch.size ?? 1;
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of signature.inputs) {
    const dims = input.shape.map((d, axis) => (axis === 0 ? rows : typeof d === 'number' && d > 0 ? d : 1));
    feeds[input.name] = new ort.Tensor(
      input.type,
      allocate(
        input.type,
        dims.reduce((a, b) => a * b, 1),
      ),
      dims,
    );
  }
  await s.run(feeds);
}

function isTensorType(type: string): type is TensorType {
  return (TENSOR_TYPES as readonly string[]).includes(type);
}

function failed(code: FailedReply['error']['code'], text: string, startedAt: number, details?: Record<string, unknown>): FailedReply {
  const error = details ? { code, message: text, details } : { code, message: text };
  return { ok: false, threadId, error, startedAt, endedAt: now() };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
