/**
 * Thin helpers over the generated `onnx-proto` messages: value infos, initializers, attributes,
 * nodes and model encoding. Everything here is shared by the individual builders.
 *
 * @module
 */
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import type { BatchOption, Dim } from './types.js';

/**
 * The generated `onnx` namespace. `onnx-proto` is a CommonJS bundle that assigns
 * `module.exports = $root`, which Node's ESM loader only exposes as the default export, so a named
 * `import { onnx } from 'onnx-proto'` fails at run time; take it from the default export instead.
 */
const proto = onnxProto.onnx;

/** ONNX IR version written into every model (onnxruntime 1.30 accepts 3..11). */
export const IR_VERSION = 8;
/** Opset of the default (`ai.onnx`) domain. */
export const DEFAULT_OPSET = 17;
/** Opset of the `ai.onnx.ml` domain, imported only by models that use it. */
export const ML_OPSET = 3;
/** Domain name of the traditional-ML operators. */
export const ML_DOMAIN = 'ai.onnx.ml';

/** Producer written into `ModelProto.producer_name`. */
const PRODUCER_NAME = '@scoreq/onnx-builder';
/** Producer version written into `ModelProto.producer_version`. */
const PRODUCER_VERSION = '0.1.0';

/** `TensorProto.DataType` values used here. */
export const DataType = { FLOAT: 1, INT64: 7, STRING: 8 } as const;
/**
 * Element types of graph inputs and outputs, as onnxruntime-node names them. `'string'` is only
 * written by the deliberately unservable models in `refusable-models.ts`.
 */
export type ElemType = 'float32' | 'int64' | 'string';

const ELEM_TYPE_CODE: Record<ElemType, number> = { float32: DataType.FLOAT, int64: DataType.INT64, string: DataType.STRING };

const AttrType = proto.AttributeProto.AttributeType;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const utf8 = new TextEncoder();

/**
 * Validates a batch option and returns the first dimension to declare.
 *
 * @throws RangeError for anything but `'dynamic'` or a positive safe integer.
 */
export function batchDim(batch: BatchOption | undefined): Dim {
  if (batch === undefined || batch === 'dynamic') return 'N';
  if (!Number.isSafeInteger(batch) || batch < 1) {
    throw new RangeError(`batch must be 'dynamic' or a positive integer, got ${String(batch)}`);
  }
  return batch;
}

/** Throws a RangeError unless `value` is a positive safe integer. */
export function assertPositiveInt(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
}

/** A `ValueInfoProto` of a tensor with element type and full shape (symbolic dims as `dim_param`). */
export function tensorValueInfo(name: string, type: ElemType, shape: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE_CODE[type],
        shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

/** Little-endian bytes of a float32 array, without copying on little-endian hosts. */
function float32Bytes(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] ?? 0, true);
  return out;
}

/**
 * A float32 initializer stored as `raw_data` (one byte copy at encode time, no per-element objects).
 *
 * @throws RangeError when the product of `dims` differs from `values.length`.
 */
export function floatInitializer(name: string, dims: readonly number[], values: Float32Array): onnx.ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== values.length) {
    throw new RangeError(`initializer ${name}: dims [${dims.join(', ')}] need ${count} values, got ${values.length}`);
  }
  return { name, dims: [...dims], dataType: DataType.FLOAT, rawData: float32Bytes(values) };
}

/** An INT attribute. */
export function attrInt(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttrType.INT, i: value };
}

/** A FLOAT attribute. */
export function attrFloat(name: string, value: number): onnx.IAttributeProto {
  return { name, type: AttrType.FLOAT, f: value };
}

/** A STRING attribute (UTF-8). */
export function attrString(name: string, value: string): onnx.IAttributeProto {
  return { name, type: AttrType.STRING, s: utf8.encode(value) };
}

/** An INTS attribute. */
export function attrInts(name: string, values: ArrayLike<number>): onnx.IAttributeProto {
  return { name, type: AttrType.INTS, ints: Array.from(values) };
}

/** A FLOATS attribute; values should already be float32-representable (e.g. taken from a Float32Array). */
export function attrFloats(name: string, values: ArrayLike<number>): onnx.IAttributeProto {
  return { name, type: AttrType.FLOATS, floats: Array.from(values) };
}

/** A STRINGS attribute (UTF-8). */
export function attrStrings(name: string, values: readonly string[]): onnx.IAttributeProto {
  return { name, type: AttrType.STRINGS, strings: values.map((v) => utf8.encode(v)) };
}

/** A `NodeProto`. `domain` defaults to the default ONNX domain. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: { name?: string; domain?: string; attributes?: onnx.IAttributeProto[] } = {},
): onnx.INodeProto {
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    name: options.name ?? `${opType}_${outputs[0] ?? ''}`,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    attribute: options.attributes ?? [],
  };
}

/** Everything a graph needs besides the opset imports. */
export interface GraphParts {
  /** `GraphProto.name`. */
  name: string;
  /** Nodes in topological order. */
  nodes: onnx.INodeProto[];
  /** Constant tensors (weights); not repeated as graph inputs. */
  initializers?: onnx.ITensorProto[];
  /** Graph inputs with full tensor types. */
  inputs: onnx.IValueInfoProto[];
  /** Graph outputs with full tensor types. */
  outputs: onnx.IValueInfoProto[];
  /** `GraphProto.doc_string`. */
  docString?: string;
}

/**
 * Serializes a `ModelProto` (IR version 8, default-domain opset 17, plus `ai.onnx.ml` opset 3 when
 * `useMl` is set) with the generated protobufjs encoder.
 */
export function encodeModel(graph: GraphParts, options: { useMl?: boolean } = {}): Uint8Array {
  const opsetImport: onnx.IOperatorSetIdProto[] = [{ domain: '', version: DEFAULT_OPSET }];
  if (options.useMl) opsetImport.push({ domain: ML_DOMAIN, version: ML_OPSET });
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport,
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    graph: {
      name: graph.name,
      node: graph.nodes,
      initializer: graph.initializers ?? [],
      input: graph.inputs,
      output: graph.outputs,
      ...(graph.docString === undefined ? {} : { docString: graph.docString }),
    },
  };
  return ownBytes(proto.ModelProto.encode(model).finish());
}

/**
 * protobufjs returns a Node `Buffer` that may be a view into a shared pool; hand out a plain
 * `Uint8Array` that owns its whole `ArrayBuffer`, so callers can transfer it to worker threads or
 * compare it with other `Uint8Array`s.
 */
function ownBytes(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer)) {
    return new Uint8Array(bytes.buffer);
  }
  return new Uint8Array(bytes);
}

/**
 * Decodes serialized model bytes back into a `ModelProto` (handy for inspecting what a builder wrote).
 */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return proto.ModelProto.decode(bytes);
}

/** Checks a reference() input and returns nothing; throws RangeError on a size mismatch. */
export function assertInputSize(input: Float32Array, rows: number, features: number): void {
  if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  if (input.length !== rows * features) {
    throw new RangeError(`input has ${input.length} values, expected rows (${rows}) × features (${features})`);
  }
}
