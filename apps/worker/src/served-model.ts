import { latestVersion, resolveVersionNumber, type ModelRecord, type ModelVersionRecord } from '@scoreq/contracts';
import { fixedPolicy, InferencePool, MicroBatcher, ModelCodec, singlePolicy, type BatchRecord } from '@scoreq/inference';
import type { SourceModel, SourceVersion } from '@scoreq/registry';
import type { Logger } from '@scoreq/telemetry';
import { VersionSessions } from './version-sessions.js';

/** Batching settings the worker applies unless a model's metadata overrides them. */
export interface BatchingDefaults {
  maxBatchRows: number;
  maxDelayMs: number;
  /** The BullMQ worker's concurrency: the most jobs a batcher can be handed at once. */
  capacityJobs: number;
  /** Pool threads bulk chunks never take (kept for real-time jobs). */
  reservedThreads: number;
}

/** One loaded model version: its record, codec, batcher and sessions in the pool. */
export interface ServedVersion {
  record: ModelVersionRecord;
  codec: ModelCodec;
  batcher: MicroBatcher;
  sessions: VersionSessions;
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
 * different versions never share a batch. After a switch, versions no alias points at any
 * more are released from the pool once their batches are done; a job that pins one later
 * loads it again.
 */
export class ServedModel {
  readonly name: string;
  private readonly deps: ServedModelDeps;
  private state: SourceModel;
  /** Versions whose sessions are in the pool (or loading), by number. */
  private readonly loaded = new Map<string, Promise<ServedVersion>>();
  /**
   * Versions released from the pool, kept to be revived: one batcher and one session key per
   * version for the model's life, so a late batch of a released version never frees the
   * sessions of its revival.
   */
  private readonly released = new Map<string, Promise<ServedVersion>>();
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
   * switches in one assignment, then retires the versions it does not make live (with an
   * eager source, only those the source no longer has).
   */
  async apply(next: SourceModel): Promise<void> {
    const live = this.deps.eager ? next.versions : liveVersions(next);
    await Promise.all(live.map((v) => this.load(v)));
    this.state = next;
    this.refs.clear();
    const kept = new Set((this.deps.eager ? next.versions : live).map((v) => v.version));
    const retired = [...this.loaded.keys()].filter((version) => !kept.has(version));
    for (const version of retired) this.retire(version);
    const known = new Set(next.versions.map((v) => v.version));
    for (const version of this.released.keys()) if (!known.has(version)) this.released.delete(version);
    this.deps.logger.info({ model: this.name, aliases: next.aliases, live: live.map((v) => v.version), retired }, 'model state applied');
  }

  /** Flushes every batcher (released versions' too: a late job may still use one) and waits for batches in flight. */
  async drain(): Promise<void> {
    const versions = await Promise.allSettled([...this.loaded.values(), ...this.released.values()]);
    await Promise.all(versions.map((v) => (v.status === 'fulfilled' ? v.value.batcher.drain() : undefined)));
  }

  private load(v: SourceVersion): Promise<ServedVersion> {
    let pending = this.loaded.get(v.version);
    if (!pending) {
      const loading = this.revive(v) ?? loadVersion(this.name, v, this.deps);
      loading.then(
        (served) => {
          if (this.loaded.get(v.version) === loading) this.ready.set(v.version, served);
        },
        () => {
          if (this.loaded.get(v.version) === loading) this.loaded.delete(v.version);
        },
      );
      this.loaded.set(v.version, loading);
      pending = loading;
    }
    return pending;
  }

  /** Loads a released version's sessions again, when it was released with the same bytes. */
  private revive(v: SourceVersion): Promise<ServedVersion> | undefined {
    const shelved = this.released.get(v.version);
    if (!shelved) return undefined;
    this.released.delete(v.version);
    return shelved.then(async (served) => {
      if (served.record.sha256 !== v.sha256) return loadVersion(this.name, v, this.deps);
      const { loadMs } = await served.sessions.revive().catch((err: unknown) => {
        served.sessions.retire();
        this.released.set(v.version, shelved);
        throw err;
      });
      this.deps.logger.info({ model: this.name, version: v.version, loadMs: Math.round(loadMs) }, 'model version reloaded');
      return served;
    });
  }

  /**
   * Stops serving a version: new jobs that name it load it again, and its sessions are
   * released once its batcher is idle (a job holding it still scores, see VersionSessions).
   */
  private retire(version: string): void {
    const pending = this.loaded.get(version);
    if (!pending) return;
    this.loaded.delete(version);
    this.ready.delete(version);
    this.released.set(version, pending);
    // Runs before a revival's callback on the same promise, which undoes it.
    pending.then(
      (served) => served.sessions.retire(),
      () => {
        if (this.released.get(version) === pending) this.released.delete(version);
      },
    );
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
  const { pool, defaults, logger } = deps;
  const key = `${model}@${v.version}#${v.sha256.slice(0, 12)}`;
  const path = await v.localPath();
  const loaded = await pool.load(key, path);
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
  const sessions: VersionSessions = new VersionSessions({
    pool,
    key,
    path,
    fixedBatch: batch.dynamic ? null : batch.size,
    idle: () => batcher.heldJobs === 0,
    onReleased: () => logger.info({ model, version: v.version }, 'model version released'),
  });
  const batcher: MicroBatcher = new MicroBatcher({
    policy,
    maxInFlight: pool.threads,
    maxBulkInFlight: Math.max(1, pool.threads - defaults.reservedThreads),
    capacityJobs: defaults.capacityJobs,
    run: (inputs) => sessions.run(inputs),
    onBatch: (r) => deps.onBatch(model, v.version, r),
    onIdle: () => sessions.releaseIfIdle(),
  });
  logger.info({ model, version: v.version, loadMs: Math.round(loaded.loadMs), batching: batch.dynamic }, 'model version loaded');
  return { record, codec, batcher, sessions };
}
