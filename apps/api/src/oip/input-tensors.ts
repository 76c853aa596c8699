import { ScoreqError, type InputTensor } from '@scoreq/contracts';
import type { InferRequest } from '../schemas/oip.js';
import { readBinaryInputs, type BinaryInput } from './binary-tensors.js';
import { supportedDatatype } from './datatypes.js';

type RequestInput = InferRequest['inputs'][number];
type Value = number | boolean;

/**
 * The request's inputs as scoring tensors, flat and row-major: JSON `data`, flat or nested
 * per the shape as Triton and KServe take it, or binary bytes after the JSON header (`tail`).
 * Datatypes are checked here; names, shapes and counts against the model by the shared
 * validation when the job is submitted.
 *
 * @throws ScoreqError INVALID_INPUT naming the input: unsupported datatype, shared memory, no
 * data or both forms, a value that is not a finite number or boolean, bad binary sizes.
 */
export function inputTensors(inputs: readonly RequestInput[], tail: Buffer): InputTensor[] {
  const binary: BinaryInput[] = [];
  /** Index in `inputs` of each binary input. */
  const binaryAt: number[] = [];
  const tensors = inputs.map((input, i): InputTensor => {
    const field = `inputs[${i}]`;
    const label = `${field} (${input.name})`;
    const datatype = supportedDatatype(input.datatype, label, `${field}.datatype`);
    refuseSharedMemory(input.parameters, label, `${field}.parameters`);
    const size = input.parameters?.binary_data_size;
    const tensor = { name: input.name, datatype, shape: input.shape };
    if (size !== undefined) {
      if (input.data !== undefined) throw invalid(`${label} has both data and parameters.binary_data_size; send one`, `${field}.data`);
      binary.push({ label, field, datatype, shape: input.shape, size });
      binaryAt.push(i);
      return { ...tensor, data: [] };
    }
    if (input.data === undefined) {
      throw invalid(`${label} has no data: send data, or parameters.binary_data_size with its bytes after the JSON header`, `${field}.data`);
    }
    return { ...tensor, data: flatten(input.data, input.shape.length, `${field}.data`) };
  });
  readBinaryInputs(tail, binary).forEach((data, k) => {
    tensors[binaryAt[k]!]!.data = data;
  });
  return tensors;
}

/**
 * Values of nested arrays in row-major order. Nesting deeper than the shape's rank is refused;
 * the count is checked against the shape later, as Triton does. Walked with a stack of its
 * own, not recursion, so no nesting can overflow the call stack.
 */
function flatten(data: readonly unknown[], rank: number, field: string): Value[] {
  const out: Value[] = [];
  /** The arrays being walked, outermost first, each with the index of its next value. */
  const stack: { node: readonly unknown[]; next: number; path: string }[] = [{ node: data, next: 0, path: field }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next === top.node.length) {
      stack.pop();
      continue;
    }
    const i = top.next++;
    const v = top.node[i];
    if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) {
      out.push(v);
      continue;
    }
    const path = `${top.path}[${i}]`;
    if (Array.isArray(v) && stack.length < rank) stack.push({ node: v, next: 0, path });
    else if (Array.isArray(v)) throw invalid(`${path} is nested deeper than the input's ${rank} dimensions`, path);
    else throw invalid(`${path}: expected a finite number or a boolean, got ${describe(v)}`, path);
  }
  return out;
}

/** A wrong value as a message shows it; objects by kind only (they may nest without end). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

function refuseSharedMemory(parameters: Record<string, unknown> | undefined, label: string, field: string): void {
  if (parameters?.shared_memory_region !== undefined) {
    throw invalid(`${label} names a shared memory region, which scoreq does not take; send the data in the body`, `${field}.shared_memory_region`);
  }
}

/**
 * Which outputs to answer in binary form: an output's own `binary_data` wins, then the
 * request's `binary_data_output`. Classification outputs and shared memory are refused.
 *
 * @throws ScoreqError INVALID_INPUT naming the output.
 */
export function binaryOutputs(request: Pick<InferRequest, 'outputs' | 'parameters'>): (name: string) => boolean {
  const all = request.parameters?.binary_data_output === true;
  const own = new Map<string, boolean>();
  request.outputs?.forEach((o, i) => {
    const label = `outputs[${i}] (${o.name})`;
    const classes = o.parameters?.classification;
    if (classes !== undefined && classes !== 0) {
      throw invalid(
        `${label} asks for classification, which scoreq does not support; ask for the output itself and take the top classes from it`,
        `outputs[${i}].parameters.classification`,
      );
    }
    refuseSharedMemory(o.parameters, label, `outputs[${i}].parameters`);
    if (o.parameters?.binary_data !== undefined) own.set(o.name, o.parameters.binary_data);
  });
  return (name) => own.get(name) ?? all;
}

function invalid(message: string, field: string): ScoreqError {
  return new ScoreqError('INVALID_INPUT', message, { field });
}
