import {
  resolveVersion,
  ScoreqError,
  type ModelRecord,
  type ModelVersionRecord,
} from '@scoreq/contracts';
import { fixedPolicy, InferencePool, MicroBatcher, ModelCodec, singlePolicy, type BatchRecord } from '@scoreq/inference';
import type { SourceModel, SourceVersion } from '@scoreq/registry';

/** Batching settings the worker applies unless a model's metadata overrides them. */
export interface BatchingDefaults {
  maxBatchRows: number;
  maxDelayMs: number;
  /** The BullMQ worker's concurrency: the most jobs a batcher can be handed at once. */
  capacityJobs: number;
}

/** One loaded model version: its record, codec and batcher. */
export interface ServedVersion {
  record: ModelVersionRecord;
  codec: ModelCodec;
  batcher: MicroBatcher;
}

/**
 * A model as one worker serves it: every version loaded into the pool, with a batcher per
 * version so rows of different versions never share a batch.
 */
export class ServedModel {
  readonly name: string;
  readonly record: ModelRecord;
  private readonly versions: Map<string, ServedVersion>;

  private constructor(name: string, record: ModelRecord, versions: Map<string, ServedVersion>) {
    this.name = name;
    this.record = record;
    this.versions = versions;
  }

  static async load(
    source: SourceModel,
    pool: InferencePool,
    defaults: BatchingDefaults,
    onBatch: (model: string, version: string, record: BatchRecord) => void,
  ): Promise<ServedModel> {
    const versions = new Map<string, ServedVersion>();
    const records: Record<string, ModelVersionRecord> = {};
    for (const v of source.versions) {
      const served = await loadVersion(source.name, v, pool, defaults, onBatch);
      versions.set(v.version, served);
      records[v.version] = served.record;
    }
    return new ServedModel(source.name, { name: source.name, versions: records, aliases: source.aliases }, versions);
  }

  /** The version a job asked for (number, alias, or production by default). */
  resolve(ref: string | undefined): ServedVersion {
    const record = resolveVersion(this.record, ref);
    return this.versions.get(record.version)!;
  }

  /** Flushes every batcher and waits for batches in flight. */
  async drain(): Promise<void> {
    await Promise.all([...this.versions.values()].map((v) => v.batcher.drain()));
  }
}

async function loadVersion(
  model: string,
  v: SourceVersion,
  pool: InferencePool,
  defaults: BatchingDefaults,
  onBatch: (model: string, version: string, record: BatchRecord) => void,
): Promise<ServedVersion> {
  const key = `${model}@${v.version}#${v.sha256.slice(0, 12)}`;
  const path = await v.localPath();
  const loaded = await pool.load(key, path);
  if (loaded.nonTensorOutputs.length > 0) {
    throw new ScoreqError(
      'MODEL_LOAD_FAILED',
      `${model} v${v.version} has non-tensor outputs (${loaded.nonTensorOutputs.join(', ')}); export it without ZipMap (skl2onnx: options={'zipmap': False})`,
    );
  }
  const record: ModelVersionRecord = {
    version: v.version,
    sha256: v.sha256,
    size: v.size,
    createdAt: v.createdAt,
    signature: loaded.signature,
    metadata: v.metadata,
  };
  const codec = new ModelCodec(record);
  const { batch } = loaded.signature;
  const policy = batch.dynamic
    ? fixedPolicy({
        maxBatchRows: v.metadata.batching?.maxBatchRows ?? defaults.maxBatchRows,
        maxDelayMs: v.metadata.batching?.maxDelayMs ?? defaults.maxDelayMs,
      })
    : singlePolicy();
  const batcher = new MicroBatcher({
    policy,
    maxInFlight: pool.threads,
    capacityJobs: defaults.capacityJobs,
    run: (inputs) => pool.run({ key, path, inputs, fixedBatch: batch.dynamic ? null : batch.size }),
    onBatch: (r) => onBatch(model, v.version, r),
  });
  return { record, codec, batcher };
}
