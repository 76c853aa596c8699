import { OIP_DATATYPES, ScoreqError } from '@scoreq/contracts';

/** The Open Inference Protocol datatypes scoreq takes and gives: those of onnxruntime's element types it feeds. */
export const SUPPORTED_DATATYPES: readonly string[] = Object.values(OIP_DATATYPES);

/**
 * Reads and writes one element of a datatype in the binary tensor form: little-endian, native
 * size, BOOL one byte of 0 or 1. 64-bit integers become JS numbers, exact up to 2^53.
 */
export interface ElementCodec {
  /** Bytes of one element. */
  size: number;
  read(view: DataView, offset: number): number;
  write(view: DataView, offset: number, value: number | boolean | null): void;
}

const LE = true;
const num = (v: number | boolean | null): number => (v === null ? NaN : Number(v));
const int = (v: number | boolean | null): bigint => {
  const n = num(v);
  return BigInt(Number.isFinite(n) ? Math.trunc(n) : 0);
};

/** Element codecs by datatype, keyed as SUPPORTED_DATATYPES spells them. */
export const ELEMENT_CODECS: Readonly<Record<string, ElementCodec>> = {
  FP32: { size: 4, read: (d, o) => d.getFloat32(o, LE), write: (d, o, v) => d.setFloat32(o, num(v), LE) },
  FP64: { size: 8, read: (d, o) => d.getFloat64(o, LE), write: (d, o, v) => d.setFloat64(o, num(v), LE) },
  INT8: { size: 1, read: (d, o) => d.getInt8(o), write: (d, o, v) => d.setInt8(o, num(v)) },
  UINT8: { size: 1, read: (d, o) => d.getUint8(o), write: (d, o, v) => d.setUint8(o, num(v)) },
  INT16: { size: 2, read: (d, o) => d.getInt16(o, LE), write: (d, o, v) => d.setInt16(o, num(v), LE) },
  UINT16: { size: 2, read: (d, o) => d.getUint16(o, LE), write: (d, o, v) => d.setUint16(o, num(v), LE) },
  INT32: { size: 4, read: (d, o) => d.getInt32(o, LE), write: (d, o, v) => d.setInt32(o, num(v), LE) },
  UINT32: { size: 4, read: (d, o) => d.getUint32(o, LE), write: (d, o, v) => d.setUint32(o, num(v), LE) },
  INT64: { size: 8, read: (d, o) => Number(d.getBigInt64(o, LE)), write: (d, o, v) => d.setBigInt64(o, int(v), LE) },
  UINT64: { size: 8, read: (d, o) => Number(d.getBigUint64(o, LE)), write: (d, o, v) => d.setBigUint64(o, BigInt.asUintN(64, int(v)), LE) },
  // Read as the byte itself: the decoder refuses bytes other than 0 and 1.
  BOOL: { size: 1, read: (d, o) => d.getUint8(o), write: (d, o, v) => d.setUint8(o, v === true || v === 1 ? 1 : 0) },
};

/**
 * The datatype of an input as the rest of scoreq spells it (upper case), once it is one scoreq
 * supports. FP16, BF16 and BYTES are not: onnxruntime-node is fed float32/64, integers and bool.
 *
 * @param label How the message names the input, e.g. `inputs[0] (a)`.
 * @throws ScoreqError INVALID_INPUT naming the input and listing the supported datatypes.
 */
export function supportedDatatype(datatype: string, label: string, field: string): string {
  const upper = datatype.toUpperCase();
  if (SUPPORTED_DATATYPES.includes(upper)) return upper;
  const hint = upper === 'FP16' || upper === 'BF16' ? '; send it as FP32 to a model that takes float32' : '';
  throw new ScoreqError(
    'INVALID_INPUT',
    `${label} has datatype ${datatype}, which scoreq does not support${hint} (supported: ${SUPPORTED_DATATYPES.join(', ')})`,
    { field },
  );
}
