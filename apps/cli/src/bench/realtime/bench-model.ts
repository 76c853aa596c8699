import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FeatureRow, ModelMetadata } from '@scoreq/contracts';
import { buildMlp, seededRandom, writeModel, type MlpOptions } from '@scoreq/onnx-builder';

/** What a realtime scenario scores: an MLP from onnx-builder and how its jobs look. */
export interface RealtimeModelSpec {
  /** Model (and queue `score-<name>`) name. */
  name: string;
  mlp: MlpOptions;
  /** Class labels of the softmax head, in column order. */
  labels: string[];
  /**
   * Most jobs a sized drain pre-fills: bounds the Redis memory a fast system's queue takes
   * (a 256-feature row is ~3.5 KB of JSON).
   */
  maxJobs: number;
}

/** A model written where the scoreq worker reads models, and the rows every system is sent. */
export interface BenchModel {
  readonly name: string;
  /** `<dir>/<name>/1/model.onnx`. */
  readonly path: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  readonly metadata: ModelMetadata;
  readonly features: readonly string[];
  /** Distinct input rows; job i carries row i mod their count. */
  readonly rows: readonly FeatureRow[];
}

/** Distinct rows generated; enough that no cache sees the same row twice in a batch. */
const DISTINCT_ROWS = 1_000;
const ROW_SEED = 20_240_601;
export const BENCH_MODEL_VERSION = '1';

/** f00…f31 for 32 features, f000…f255 for 256: names sort in column order. */
export function featureNames(count: number): string[] {
  const width = Math.max(2, String(count - 1).length);
  return Array.from({ length: count }, (_, i) => `f${String(i).padStart(width, '0')}`);
}

/**
 * Writes `<dir>/<name>/1/model.onnx` and its `metadata.json` (named features, a
 * classification output), and draws the rows jobs will carry, seeded so every run and
 * every system scores the same inputs.
 */
export async function writeBenchModel(dir: string, spec: RealtimeModelSpec): Promise<BenchModel> {
  const inputWidth = spec.mlp.layers[0];
  if (inputWidth === undefined) throw new Error(`model ${spec.name} has no layers`);
  const features = featureNames(inputWidth);
  const metadata: ModelMetadata = {
    description: `scoreq bench: MLP [${spec.mlp.layers.join(', ')}] with seeded random weights`,
    features,
    output: { name: 'probabilities', kind: 'classification', labels: spec.labels },
  };
  const versionDir = join(dir, spec.name, BENCH_MODEL_VERSION);
  const path = await writeModel(versionDir, buildMlp(spec.mlp));
  await writeFile(join(versionDir, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
  const bytes = await readFile(path);
  const next = seededRandom(ROW_SEED);
  const rows = Array.from({ length: DISTINCT_ROWS }, () => {
    const row: FeatureRow = {};
    for (const f of features) row[f] = Math.round((next() * 4 - 2) * 1000) / 1000;
    return row;
  });
  return {
    name: spec.name,
    path,
    version: BENCH_MODEL_VERSION,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    metadata,
    features,
    rows,
  };
}
