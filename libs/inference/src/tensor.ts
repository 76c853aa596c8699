import type { TensorType } from '@scoreq/contracts';

/** Typed arrays scoreq moves between threads; int64/uint64 use BigInt arrays as onnxruntime does. */
export type TensorData =
  Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

/**
 * A tensor as it crosses the thread boundary: plain fields plus a typed array whose buffer
 * is transferred, never copied element by element.
 */
export interface WireTensor {
  name: string;
  type: TensorType;
  dims: number[];
  data: TensorData;
}

type TypedArrayConstructor = { new (length: number): TensorData; BYTES_PER_ELEMENT: number };

const CONSTRUCTORS: Record<TensorType, TypedArrayConstructor> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export function allocate(type: TensorType, length: number): TensorData {
  return new CONSTRUCTORS[type](length);
}

export function isBigIntType(type: TensorType): boolean {
  return type === 'int64' || type === 'uint64';
}

/** Writes JSON numbers or booleans into a typed array of the given element type. */
export function fillFrom(type: TensorType, values: readonly (number | boolean)[], out: TensorData, offset: number): void {
  if (isBigIntType(type)) {
    const big = out as BigInt64Array | BigUint64Array;
    for (let i = 0; i < values.length; i++) big[offset + i] = BigInt(values[i] as number);
    return;
  }
  const num = out as Exclude<TensorData, BigInt64Array | BigUint64Array>;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    num[offset + i] = typeof v === 'boolean' ? (v ? 1 : 0) : (v as number);
  }
}

/** Reads a slice of a typed array as plain JSON numbers (BigInts become numbers). */
export function toNumbers(data: TensorData, start: number, end: number): number[] {
  const out = new Array<number>(end - start);
  for (let i = start; i < end; i++) out[i - start] = Number(data[i]);
  return out;
}

/** Elements per row of a tensor: the product of every dim after the batch axis. */
export function rowWidth(dims: readonly number[]): number {
  let width = 1;
  for (let i = 1; i < dims.length; i++) width *= dims[i]!;
  return width;
}
