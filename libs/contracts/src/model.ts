import { z } from 'zod';
import { ScoreqError } from './errors.js';

/** Element types onnxruntime-node accepts for tensors scoreq feeds. */
export const TENSOR_TYPES = ['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool'] as const;
export type TensorType = (typeof TENSOR_TYPES)[number];

/** Open Inference Protocol datatype names, as KServe and Triton spell them. */
export const OIP_DATATYPES: Record<TensorType, string> = {
  float32: 'FP32',
  float64: 'FP64',
  int8: 'INT8',
  uint8: 'UINT8',
  int16: 'INT16',
  uint16: 'UINT16',
  int32: 'INT32',
  uint32: 'UINT32',
  int64: 'INT64',
  uint64: 'UINT64',
  bool: 'BOOL',
};

/** One input or output of a model as onnxruntime reports it. Symbolic dims are strings. */
export interface TensorSpec {
  name: string;
  type: TensorType;
  shape: (number | string)[];
}

/** What onnxruntime says the model takes and gives, read once when a version is loaded. */
export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /**
   * Axis 0 of every input is the batch axis. `dynamic` when it is symbolic (or -1): rows of many
   * jobs may be stacked. Otherwise `size` rows exactly go into one call and batching is off.
   */
  batch: { dynamic: boolean; size: number | null };
}

const featureSpec = z.object({
  name: z.string().min(1),
  /** Value used when a row omits the feature or sends null. Without it the feature is required. */
  default: z.number().finite().optional(),
  /** Standard scaling applied before inference: (x - mean) / std. */
  scale: z.object({ mean: z.number().finite(), std: z.number().finite().positive() }).optional(),
  /** Categorical map from a string value to the number fed to the model. */
  categories: z.record(z.string(), z.number().finite()).optional(),
});
export type FeatureSpec = z.infer<typeof featureSpec>;

export const modelMetadataSchema = z.object({
  /** Feature names in the column order of the model's feature input. */
  features: z.array(z.union([z.string().min(1), featureSpec])).optional(),
  /** The input that named features feed; defaults to the model's only input. */
  input: z.string().optional(),
  /** How to present outputs per row. */
  output: z
    .object({
      /** Output tensor to read; defaults to the first output. */
      name: z.string().optional(),
      kind: z.enum(['classification', 'regression', 'raw']).default('raw'),
      /** Class labels in the order of the probability columns. */
      labels: z.array(z.string()).optional(),
      /** For one-column probabilities: label 1 when score >= threshold. @defaultValue 0.5 */
      threshold: z.number().min(0).max(1).optional(),
    })
    .optional(),
  /** Per-model batching settings; the worker's defaults apply otherwise. */
  batching: z
    .object({
      maxBatchRows: z.number().int().positive().optional(),
      maxDelayMs: z.number().min(0).optional(),
    })
    .optional(),
  description: z.string().optional(),
  owner: z.string().optional(),
  tags: z.array(z.string()).optional(),
  /**
   * Sample feature rows the registry scores when it validates a version before an alias may
   * point at it (and compares with the alias's current version). Without them it generates
   * deterministic rows from the feature specs or the signature.
   */
  samples: z
    .array(z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])))
    .min(1)
    .max(1000)
    .optional(),
  /** Outputs the samples must produce, checked within a tolerance at validation. Needs `samples`. */
  expected: z
    .object({
      /** Output tensor to check; defaults to the main output (see `mainOutput`). */
      output: z.string().optional(),
      /** One array per sample row: that row's values of the output, e.g. `[[0.1, 0.9], …]`. */
      values: z.array(z.array(z.number())),
      /** Largest absolute difference accepted per value. @defaultValue 0.0001 */
      tolerance: z.number().nonnegative().optional(),
    })
    .optional(),
});
export type ModelMetadata = z.infer<typeof modelMetadataSchema>;

/** One immutable version of a model. */
export interface ModelVersionRecord {
  /** Decimal version number as a string: "1", "2", … */
  version: string;
  sha256: string;
  size: number;
  createdAt: string;
  /** Who registered the version and why (registry only). */
  author?: string;
  comment?: string;
  signature: ModelSignature;
  metadata: ModelMetadata;
}

/** Everything callers need to know about a model: its versions and aliases. */
export interface ModelRecord {
  name: string;
  versions: Record<string, ModelVersionRecord>;
  /** Alias name → version, e.g. `{ production: "2", staging: "3" }`. */
  aliases: Record<string, string>;
}

/**
 * One move of an alias, as the registry records it in `keys(prefix).modelHistory(model)`:
 * a promotion, a rollback to the alias's previous target, or the alias's removal.
 */
export interface ModelAliasMove {
  alias: string;
  /** Version the alias pointed at before the move; null when it did not exist. */
  from: string | null;
  /** Version the alias points at after the move; null when it was removed. */
  to: string | null;
  /** Who moved it, e.g. `ana@build-01`. */
  by: string;
  /** ISO time of the move. */
  at: string;
  reason: string;
  kind: 'promote' | 'rollback' | 'remove';
}

/**
 * Published on `keys(prefix).modelEvents()` after each change of a model record, once the
 * change is stored: workers reload the model, caches refresh.
 */
export interface ModelEvent {
  model: string;
  kind: 'push' | 'promote' | 'rollback' | 'remove-version' | 'remove-alias';
  /** The version pushed, removed or now aliased. */
  version: string | null;
  /** The alias moved, for promote, rollback and remove-alias. */
  alias: string | null;
  at: string;
}

/** The alias a job uses when it names no version. */
export const DEFAULT_VERSION_REF = 'production';

/**
 * Resolves a version reference — a number ("3"), an alias ("production") or "latest" — to
 * one version of the record. A model with no `production` alias serves its latest version
 * under that name, so a freshly added model works without a promotion step.
 */
export function resolveVersion(record: ModelRecord, ref: string = DEFAULT_VERSION_REF): ModelVersionRecord {
  const version = resolveVersionNumber(record.name, Object.keys(record.versions), record.aliases, ref);
  return record.versions[version]!;
}

/** {@link resolveVersion} on bare version numbers and aliases: the version number `ref` names. */
export function resolveVersionNumber(name: string, numbers: readonly string[], aliases: Record<string, string>, ref: string = DEFAULT_VERSION_REF): string {
  let version: string | undefined;
  if (/^\d+$/.test(ref)) version = String(Number(ref));
  else if (aliases[ref] !== undefined) version = aliases[ref];
  else if (ref === 'latest' || ref === DEFAULT_VERSION_REF) version = latestVersion(numbers);
  if (version === undefined || !numbers.includes(version)) {
    const names = Object.keys(aliases);
    throw new ScoreqError(
      'VERSION_NOT_FOUND',
      `model '${name}' has no version or alias '${ref}' (versions: ${numbers.join(', ') || 'none'}; aliases: ${names.join(', ') || 'none'})`,
      { field: 'version', model: name, version: ref },
    );
  }
  return version;
}

export function latestVersion(numbers: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const n of numbers) if (best === undefined || Number(n) > Number(best)) best = n;
  return best;
}

/** Feature specs of a version, with bare names expanded. Empty when the metadata names none. */
export function featureSpecs(metadata: ModelMetadata): FeatureSpec[] {
  return (metadata.features ?? []).map((f) => (typeof f === 'string' ? { name: f } : f));
}

/** The input that named feature rows feed, or undefined when rows cannot be used. */
export function featureInput(record: ModelVersionRecord): TensorSpec | undefined {
  const { inputs } = record.signature;
  const name = record.metadata.input ?? (inputs.length === 1 ? inputs[0]?.name : undefined);
  return inputs.find((i) => i.name === name);
}

/** The output rows are formatted from: metadata `output.name`, else the first float output. */
export function mainOutput(record: ModelVersionRecord): TensorSpec | undefined {
  const { outputs } = record.signature;
  const named = record.metadata.output?.name;
  if (named) return outputs.find((o) => o.name === named);
  return outputs.find((o) => o.type === 'float32' || o.type === 'float64') ?? outputs[0];
}
