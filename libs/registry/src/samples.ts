import { featureSpecs, type FeatureRow, type FeatureSpec, type ModelSignature, type ModelVersionRecord } from '@scoreq/contracts';
import { allocate, fillFrom, rowWidth, toNumbers, type ModelCodec, type WireTensor } from '@scoreq/inference';

/** Inputs validation scores: the metadata's sample rows, or rows generated deterministically. */
export interface SampleSet {
  source: 'metadata' | 'generated';
  /** Rows checked; a fixed-batch model may be fed more (see `padTo`), which are not checked. */
  rows: number;
  /** Named feature rows, for models fed from their metadata's features. */
  featureRows?: FeatureRow[];
  /** Tensors per input, for models fed tensors (no features in the metadata). */
  tensors?: WireTensor[];
}

/**
 * The samples of a version: `metadata.samples` when given; otherwise `count` rows generated
 * from the feature specs (categories cycled, scaled features around their mean, the first row
 * leaving out features that have a default) or, for tensor-fed models, from the signature.
 * Same record and count, same samples: two versions are compared on identical inputs.
 */
export function buildSamples(record: ModelVersionRecord, count: number): SampleSet {
  const { metadata, signature } = record;
  if (metadata.samples) return { source: 'metadata', rows: metadata.samples.length, featureRows: metadata.samples };
  const features = featureSpecs(metadata);
  if (features.length > 0) return { source: 'generated', rows: count, featureRows: generateRows(features, count) };
  return { source: 'generated', rows: count, tensors: generateTensors(signature, count) };
}

function generateRows(features: FeatureSpec[], count: number): FeatureRow[] {
  const next = seeded(0x5eed);
  return Array.from({ length: count }, (_, r) => {
    const row: FeatureRow = {};
    features.forEach((f, c) => {
      if (r === 0 && f.default !== undefined) return;
      const categories = f.categories ? Object.keys(f.categories) : [];
      if (categories.length > 0) row[f.name] = categories[(r + c) % categories.length]!;
      else if (f.scale) row[f.name] = f.scale.mean + f.scale.std * (next() * 4 - 2);
      else row[f.name] = Math.fround(next() * 2 - 1);
    });
    return row;
  });
}

/**
 * One tensor per input: `count` rows, symbolic inner dims as 1; floats in [-1, 1), integers and
 * booleans 0 or 1 (valid indices for any embedding table).
 */
function generateTensors(signature: ModelSignature, count: number): WireTensor[] {
  const next = seeded(0x7e50);
  return signature.inputs.map((spec) => {
    const dims = spec.shape.map((d, axis) => (axis === 0 ? count : typeof d === 'number' && d > 0 ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const float = spec.type === 'float32' || spec.type === 'float64';
    const values = Array.from({ length: size }, (_, i) => (float ? Math.fround(next() * 2 - 1) : i % 2));
    const data = allocate(spec.type, size);
    fillFrom(spec.type, values, data, 0);
    return { name: spec.name, type: spec.type, dims, data };
  });
}

/**
 * Encodes samples as a version's input tensors, fresh each call (the pool transfers them),
 * padded by repeating rows up to `padTo` rows (a fixed-batch model takes whole calls only).
 * Throws the codec's INVALID_INPUT when this version cannot take the rows.
 */
export function encodeSamples(samples: SampleSet, codec: ModelCodec, padTo: number): WireTensor[] {
  const inputs = samples.featureRows ? codec.encode({ rows: samples.featureRows }).inputs : (samples.tensors ?? []);
  return inputs.map((t) => padRows(t, padTo));
}

/** Rows to feed for `rows` checked rows: a multiple of the fixed batch size, if any. */
export function paddedRows(rows: number, signature: ModelSignature): number {
  const size = signature.batch.dynamic ? null : signature.batch.size;
  return size ? Math.ceil(rows / size) * size : rows;
}

function padRows(t: WireTensor, total: number): WireTensor {
  const rows = t.dims[0] ?? 0;
  const width = rowWidth(t.dims);
  const data = allocate(t.type, total * width);
  for (let r = 0; r < total; r++) {
    const from = (r % rows) * width;
    (data as Float32Array).set((t.data as Float32Array).subarray(from, from + width), r * width);
  }
  return { ...t, dims: [total, ...t.dims.slice(1)], data };
}

/** The first `rows` rows of an output as plain numbers, or null when it has fewer rows. */
export function outputRows(t: WireTensor, rows: number): number[][] | null {
  if (t.dims.length === 0 || (t.dims[0] ?? 0) < rows) return null;
  const width = rowWidth(t.dims);
  return Array.from({ length: rows }, (_, r) => toNumbers(t.data, r * width, (r + 1) * width));
}

/** mulberry32: small, fast, deterministic. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
