/**
 * Shapes shared by every builder.
 *
 * @module
 */

/**
 * The batch (first) axis of a model's inputs and outputs: `'dynamic'` writes the symbolic
 * dimension `'N'`, a positive integer writes that fixed size.
 */
export type BatchOption = 'dynamic' | number;

/** One dimension of a tensor shape: a fixed size or a symbolic name such as `'N'`. */
export type Dim = number | string;

/** A graph input as declared in the model; builders only produce float32 inputs. */
export interface ModelInput {
  /** Name of the graph input, the feed key for onnxruntime. */
  name: string;
  /** Element type, spelled as onnxruntime-node spells it. */
  type: 'float32' | 'int64';
  /** Declared shape; symbolic dims are strings (`'N'`). */
  shape: Dim[];
}

/** A graph output as declared in the model. */
export interface ModelOutput {
  /** Name of the graph output, the key in onnxruntime's results. */
  name: string;
  /** Element type, spelled as onnxruntime-node spells it. */
  type: 'float32' | 'int64';
  /** Declared shape; symbolic dims are strings (`'N'`). */
  shape: Dim[];
}

/** A serialized model together with its declared signature and a pure-JS reference implementation. */
export interface BuiltModel {
  /** The serialized `onnx.ModelProto`, ready for `ort.InferenceSession.create(bytes)` or a file. */
  bytes: Uint8Array;
  /** Graph inputs, in graph order. */
  inputs: ModelInput[];
  /** Graph outputs, in graph order. */
  outputs: ModelOutput[];
  /**
   * Pure-JS forward pass with the exact weights in `bytes`, computed in float64 and rounded to
   * float32 (int64 for labels). Used to check onnxruntime's results.
   *
   * @param input - Row-major `rows × features` values of the (single) input.
   * @param rows - Number of rows in `input`.
   * @returns One array per output name, row-major, `rows × width` elements.
   * @throws RangeError when `input.length !== rows * features`.
   */
  reference(input: Float32Array, rows: number): Record<string, Float32Array | BigInt64Array>;
}
