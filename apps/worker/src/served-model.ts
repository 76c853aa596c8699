import { latestVersion, resolveVersionNumber, ScoreqError, type ModelRecord, type ModelVersionRecord } from '@scoreq/contracts';
import { fixedPolicy, InferencePool, MicroBatcher, ModelCodec, singlePolicy, type BatchRecord } from '@scoreq/inference';
import type { SourceModel, SourceVersion } from '@scoreq/registry';
import type { Logger } from '@scoreq/telemetry';

/** Batching settings the worker applies unless a model's metadata overrides them. */
export interface BatchingDefaults {
  maxBatchRows: number;
  maxDelayMs: number;
  /** The BullMQ worker's concurrency: the most jobs a batcher can be handed at once. */
  capacityJobs: number;
  /** Pool threads bulk chunks never take (kept for real-time jobs). */
  reservedThreads: number;
}

/** One loaded model version: its record, codec and batcher. */
export interface ServedVersion {
  key: string;
  record: ModelVersionRecord;
  codec: ModelCodec;
  batcher: MicroBatcher;
}

export interface ServedModelDeps {
  pool: InferencePool;
  defaults: BatchingDefaults;
  logger: Logger;
  onBatch: (model: string, version: string, record: BatchRecord) => void;
  /** Load every version up front (a directory source, whose records the worker publishes). */
  eager: boolean;
}

/**
 * A model as one worker serves it. Versions load into the pool on first use; the versions
 * aliases point at (and the latest) load before the model switches to a new state, so a
 * promotion never makes a job wait for a load. Each version has its own batcher, so rows of
 * different versions never share a batch.
 */
export class ServedModel {
  readonly name: string;
  private readonly deps: ServedModelDeps;
  private state: SourceModel;
  private readonly loaded = new Map<string, Promise<ServedVersion>>();
  /** Versions whose load has finished, by number: what {@link loadedVersion} answers from. */
  private readonly ready = new Map<string, ServedVersion>();
  /** Version numbers jobs' refs resolved to under the current state (cleared when it changes). */
  private readonly refs = new Map<string | undefined, string>();

  private constructor(state: SourceModel, deps: ServedModelDeps) {
    this.name = state.name;
    this.state = state;
    this.deps = deps;
  }

  static async open(source: SourceModel, deps: ServedModelDeps): Promise<ServedModel> {
    const model = new ServedModel(source, deps);
    await model.apply(source);
    return model;
  }

  /** The version a job asked for (number, alias, or production by default), loading it if needed. */
  resolve(ref: string | undefined): Promise<ServedVersion> {
    const { state } = this;
    const number = resolveVersionNumber(
      this.name,
      state.versions.map((v) => v.version),
      state.aliases,
      ref,
    );
    // Refs are job input: numbers may be spelled many ways ("01"), so the memo stays small.
    if (this.refs.size >= MAX_REMEMBERED_REFS) this.refs.clear();
    this.refs.set(ref, number);
    return this.load(state.versions.find((v) => v.version === number)!);
  }

  /**
   * The loaded version a ref names, without waiting, when {@link resolve} has resolved the
   * same ref under the current state and the version has finished loading; otherwise
   * undefined (call `resolve`). Runs on every job: a promise per job is measurable there.
   */
  loadedVersion(ref: string | undefined): ServedVersion | undefined {
    const number = this.refs.get(ref);
    return number === undefined ? undefined : this.ready.get(number);
  }

  /** Aliases now in force, e.g. `{ production: "2" }`. */
  get aliases(): Record<string, string> {
    return { ...this.state.aliases };
  }

  /** The record of every loaded version, for publishing where the source does not. */
  async record(): Promise<ModelRecord> {
    const versions = await Promise.all([...this.loaded.values()]);
    return { name: this.name, versions: Object.fromEntries(versions.map((v) => [v.record.version, v.record])), aliases: this.state.aliases };
  }

  /**
   * Moves to a new state of the model: loads and warms the versions it makes live, then
   * switches in one assignment, then retires versions the source no longer has.
   */
  async apply(next: SourceModel): Promise<void> {
    const live = this.deps.eager ? next.versions : liveVersions(next);
    await Promise.all(live.map((v) => this.load(v)));
    const previous = this.state;
    this.state = next;
    this.refs.clear();
    const kept = new Set(next.versions.map((v) => v.version));
    const gone = previous.versions.filter((v) => !kept.has(v.version));
    await Promise.all(gone.map((v) => this.retire(v.version)));
    this.deps.logger.info(
      { model: this.name, aliases: next.aliases, live: live.map((v) => v.version), retired: gone.map((v) => v.version) },
      'model state applied',
    );
  }

  /** Flushes every batcher and waits for batches in flight. */
  async drain(): Promise<void> {
    const versions = await Promise.allSettled([...this.loaded.values()]);
    await Promise.all(versions.map((v) => (v.status === 'fulfilled' ? v.value.batcher.drain() : undefined)));
  }

  private load(v: SourceVersion): Promise<ServedVersion> {
    let pending = this.loaded.get(v.version);
    if (!pending) {
      const loading = loadVersion(this.name, v, this.deps);
      loading.then(
        (served) => {
          if (this.loaded.get(v.version) === loading) this.ready.set(v.version, served);
        },
        () => this.loaded.delete(v.version),
      );
      this.loaded.set(v.version, loading);
      pending = loading;
    }
    return pending;
  }

  /** Waits for the version's batches in flight, then frees its sessions in every thread. */
  private async retire(version: string): Promise<void> {
    const pending = this.loaded.get(version);
    if (!pending) return;
    this.loaded.delete(version);
    this.ready.delete(version);
    const served = await pending.catch(() => undefined);
    if (!served) return;
    await served.batcher.drain();
    this.deps.pool.release(served.key);
  }
}

const MAX_REMEMBERED_REFS = 64;

/** Versions some alias points at, and the latest (what `production` means without an alias). */
function liveVersions(model: SourceModel): SourceVersion[] {
  const numbers = new Set(Object.values(model.aliases));
  const latest = latestVersion(model.versions.map((v) => v.version));
  if (latest !== undefined) numbers.add(latest);
  return model.versions.filter((v) => numbers.has(v.version));
}

async function loadVersion(model: string, v: SourceVersion, deps: ServedModelDeps): Promise<ServedVersion> {
  const { pool, defaults } = deps;
  const key = `${model}@${v.version}#${v.sha256.slice(0, 12)}`;
  const path = await v.localPath();
  const loaded = await pool.load(key, path);
  if (loaded.nonTensorOutputs.length > 0) {
    throw new ScoreqError(
      'MODEL_LOAD_FAILED',
      `${model} v${v.version} has non-tensor outputs (${loaded.nonTensorOutputs.join(', ')}); export it without ZipMap (skl2onnx: options={id(model): {'zipmap': False}})`,
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
    maxBulkInFlight: Math.max(1, pool.threads - defaults.reservedThreads),
    capacityJobs: defaults.capacityJobs,
    run: (inputs) => pool.run({ key, path, inputs, fixedBatch: batch.dynamic ? null : batch.size }),
    onBatch: (r) => deps.onBatch(model, v.version, r),
  });
  deps.logger.info({ model, version: v.version, loadMs: Math.round(loaded.loadMs), batching: batch.dynamic }, 'model version loaded');
  return { key, record, codec, batcher };
}
