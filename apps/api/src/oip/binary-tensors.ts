import { ScoreqError, type OutputTensor } from '@scoreq/contracts';
import { ELEMENT_CODECS } from './datatypes.js';

/**
 * Triton's binary tensor data extension, which tritonclient.http uses by default: the body is a
 * JSON inference header of `Inference-Header-Content-Length` bytes, then the raw bytes of each
 * tensor whose `parameters.binary_data_size` says so, in the order the JSON lists them
 * (little-endian, row-major, no padding). Responses carry binary outputs the same way.
 * See https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md
 */
export const HEADER_LENGTH = 'inference-header-content-length';

/** A request body cut in two: the JSON inference header and the binary tensor bytes after it. */
export interface InferBody {
  json: Buffer;
  /** Bytes after the JSON; empty when the request has no Inference-Header-Content-Length. */
  tail: Buffer;
}

/**
 * Cuts a request body at its `Inference-Header-Content-Length`; without that header the whole
 * body is the JSON.
 *
 * @throws ScoreqError INVALID_INPUT when the header is not a length within the body, or is 0
 * (Triton's raw binary request, which scoreq does not take).
 */
export function splitInferBody(body: Buffer, headerLength: string | string[] | undefined): InferBody {
  if (headerLength === undefined) return { json: body, tail: body.subarray(body.length) };
  const field = `headers.${HEADER_LENGTH}`;
  const text = Array.isArray(headerLength) ? headerLength.join(', ') : headerLength.trim();
  if (!/^\d{1,15}$/.test(text)) {
    throw invalid(`Inference-Header-Content-Length must be the byte length of the JSON inference header, got ${JSON.stringify(text)}`, field);
  }
  const length = Number(text);
  if (length === 0) {
    throw invalid(
      'Inference-Header-Content-Length is 0 (a raw binary request without JSON header), which scoreq does not take; send the JSON inference header first',
      field,
    );
  }
  if (length > body.length) throw invalid(`Inference-Header-Content-Length is ${length} but the body has only ${body.length} bytes`, field);
  return { json: body.subarray(0, length), tail: body.subarray(length) };
}

/** A binary input: where its bytes are in the tail and what they hold. */
export interface BinaryInput {
  /** How messages name it, e.g. `inputs[1] (b)`. */
  label: string;
  field: string;
  datatype: string;
  shape: number[];
  /** `parameters.binary_data_size` as the request gives it. */
  size: number;
}

/**
 * Reads the binary inputs from the bytes after the JSON header, in order, each as a flat array
 * of numbers (booleans for BOOL). Every byte of the tail must belong to an input.
 *
 * @throws ScoreqError INVALID_INPUT naming the input whose size does not match its shape and
 * datatype, which runs past the body, or whose values a JS number cannot hold exactly.
 */
export function readBinaryInputs(tail: Buffer, inputs: readonly BinaryInput[]): (number | boolean)[][] {
  let offset = 0;
  const decoded = inputs.map((input) => {
    const codec = ELEMENT_CODECS[input.datatype]!;
    const count = input.shape.reduce((a, b) => a * b, 1);
    if (input.size !== count * codec.size) {
      throw invalid(
        `${input.label} has binary_data_size ${input.size} but shape [${input.shape.join(', ')}] of ${input.datatype} needs ${count * codec.size} bytes`,
        `${input.field}.parameters.binary_data_size`,
      );
    }
    if (offset + input.size > tail.length) {
      throw invalid(
        `${input.label} needs ${input.size} bytes at offset ${offset} after the JSON header, but only ${tail.length} bytes follow it`,
        `${input.field}.parameters.binary_data_size`,
      );
    }
    const values = decode(tail, offset, count, input);
    offset += input.size;
    return values;
  });
  if (offset !== tail.length) {
    throw invalid(`${tail.length} bytes follow the JSON header but the inputs' binary_data_size add up to ${offset}`, 'body');
  }
  return decoded;
}

function decode(tail: Buffer, offset: number, count: number, input: BinaryInput): (number | boolean)[] {
  const codec = ELEMENT_CODECS[input.datatype]!;
  const view = new DataView(tail.buffer, tail.byteOffset + offset, count * codec.size);
  const values = new Array<number | boolean>(count);
  const bool = input.datatype === 'BOOL';
  const wide = codec.size === 8 && input.datatype !== 'FP64';
  for (let i = 0; i < count; i++) {
    const v = codec.read(view, i * codec.size);
    if (bool) {
      if (v > 1) throw invalid(`${input.label} element ${i} is the byte ${v}; a BOOL element is 0 or 1`, `${input.field}.data`);
      values[i] = v === 1;
    } else {
      if (wide && !Number.isSafeInteger(v)) {
        throw invalid(`${input.label} element ${i} is beyond ±2^53, which scoreq cannot carry exactly`, `${input.field}.data`);
      }
      values[i] = v;
    }
  }
  return values;
}

/** An output as the binary form answers it: described in JSON, its bytes after the JSON. */
export interface BinaryOutput {
  name: string;
  datatype: string;
  shape: number[];
  parameters: { binary_data_size: number };
}

/** Encodes an output tensor's values in the binary form. */
export function encodeBinaryOutput(tensor: OutputTensor): { described: BinaryOutput; bytes: Buffer } {
  const codec = ELEMENT_CODECS[tensor.datatype.toUpperCase()];
  if (codec === undefined) throw new ScoreqError('INTERNAL', `output '${tensor.name}' has datatype ${tensor.datatype}, which has no binary form here`);
  const bytes = Buffer.alloc(tensor.data.length * codec.size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  // Results pass through JSON, where NaN becomes null.
  const data = tensor.data as (number | null)[];
  for (let i = 0; i < data.length; i++) codec.write(view, i * codec.size, data[i] ?? null);
  return { described: { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, parameters: { binary_data_size: bytes.length } }, bytes };
}

function invalid(message: string, field: string): ScoreqError {
  return new ScoreqError('INVALID_INPUT', message, { field });
}
