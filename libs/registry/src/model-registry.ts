import { assertAliasName, assertModelName, ScoreqError, type ModelAliasMove, type ModelRecord, type ModelVersionRecord } from '@scoreq/contracts';
import { InferencePool } from '@scoreq/inference';
import { defaultActor } from './actor.js';
import { ByteGuard } from './byte-guard.js';
import { parseMetadata } from './metadata.js';
import { LocalModelCache } from './model-cache.js';
import { readModelFile } from './model-file.js';
import { ModelRecords } from './model-records.js';
import { sha256Hex } from './model-store.js';
import { aliasMoveRequest, modelNotFound, promoteChange, pushChange, removeAliasChange, removeVersionChange, rollbackChange } from './record-changes.js';
import { resolveRegistryOptions, type RegistryOptions, type ResolvedRegistryOptions } from './registry-options.js';
import type { AliasChange, MoveOptions, PromoteOptions, PushOptions, PushResult } from './registry-types.js';
import type { ValidationReport } from './validation-report.js';
import { ModelValidator, type VersionFile } from './validator.js';
import { resolveRef } from './version-ref.js';

/**
 * The model repository: immutable numbered versions of ONNX models with their signatures and
 * metadata, aliases that point at versions, validation before an alias moves, a history of
 * every move, retention, and a change event per change. Records live in Redis (every process
 * sees one state), bytes in a `ModelStore`. Every change is one optimistic transaction.
 */
export class ModelRegistry {
  readonly options: ResolvedRegistryOptions;
  readonly cache: LocalModelCache;
  private readonly records: ModelRecords;
  private readonly guard: ByteGuard;
  private ownPool: InferencePool | undefined;
  private checker: ModelValidator | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RegistryOptions) {
    this.options = resolveRegistryOptions(options);
    this.cache = new LocalModelCache(this.options.cacheDir, this.options.store);
    this.records = new ModelRecords(this.options.redis, this.options.prefix, this.options.maxAttempts);
    this.guard = new ByteGuard(this.options.redis, this.options.prefix, { logger: this.options.logger });
  }

  /**
   * Registers a model file as the model's next version. Refused before anything is stored: a
   * bad name, invalid metadata, a missing, empty or oversized file, a file onnxruntime cannot
   * load, non-numeric inputs, non-tensor outputs, metadata that does not fit the model. The
   * bytes are stored before the record names the version (waiting, if another process is
   * deleting the same bytes, until it is done); retention then drops old unaliased versions in
   * the same change.
   */
  async push(name: string, file: string | Uint8Array, options: PushOptions = {}): Promise<PushResult> {
    assertModelName(name);
    const metadata = parseMetadata(options.metadata);
    const { bytes, label } = await readModelFile(file, this.options.maxModelBytes);
    const sha256 = sha256Hex(bytes);
    // Bytes an existing version already has cached stay cached, whatever becomes of this push.
    const cachedBefore = await this.cache.has(sha256);
    const evictIfNew = (what: string): Promise<void> => (cachedBefore ? Promise.resolve() : this.bestEffort(what, () => this.cache.evict(sha256)));
    const path = await this.cache.put(sha256, bytes);
    let draft: ModelVersionRecord;
    try {
      draft = {
        version: 'new',
        sha256,
        size: bytes.byteLength,
        createdAt: '',
        author: options.author ?? defaultActor(),
        ...(options.comment === undefined ? {} : { comment: options.comment }),
        signature: await this.validator().inspect(sha256, path, label),
        metadata,
      };
      this.validator().checkMetadata(draft);
    } catch (err) {
      await evictIfNew('evict refused model from the cache');
      throw err;
    } finally {
      this.validator().release(sha256);
    }

    const { store } = this.options;
    let endPush: (() => Promise<void>) | undefined;
    let storedBefore = true;
    let result: { version: ModelVersionRecord; dropped: ModelVersionRecord[] };
    try {
      // Marked from before the bytes are stored until the record names them, so that no byte
      // deletion (in any process) removes them meanwhile.
      endPush = await this.guard.beginPush(sha256);
      storedBefore = await store.has(sha256);
      await store.put(sha256, bytes);
      result = await this.records.update(name, (state) => pushChange(state, name, draft, this.options.keepUnaliased), { history: true });
    } catch (err) {
      if (endPush) await this.bestEffort('clear the push mark', endPush);
      if (storedBefore) await evictIfNew('evict unrecorded model from the cache');
      else await this.deleteUnreferencedBytes([sha256]);
      throw err;
    }
    await this.bestEffort('clear the push mark', endPush);
    await this.deleteUnreferencedBytes(result.dropped.map((v) => v.sha256));
    return { model: name, version: result.version, removed: result.dropped.map((v) => v.version) };
  }

  /** Every model's record, by name. */
  list(): Promise<ModelRecord[]> {
    return this.records.readAll();
  }

  /** A model's record; MODEL_NOT_FOUND when the registry has none. */
  async get(name: string): Promise<ModelRecord> {
    assertModelName(name);
    const record = await this.records.read(name);
    if (!record) throw modelNotFound(name);
    return record;
  }

  /** One version, by number, alias or "latest". */
  async version(name: string, ref: string): Promise<ModelVersionRecord> {
    return resolveRef(await this.get(name), ref);
  }

  /**
   * Validates a version and compares it with what `against` points at now (see
   * `ValidationReport`); problems are in the report, not thrown.
   */
  async validate(name: string, ref: string, options: { against?: string } = {}): Promise<ValidationReport> {
    const record = await this.get(name);
    const against = options.against ?? 'production';
    assertAliasName(against);
    return this.check(record, resolveRef(record, ref), against);
  }

  /**
   * Points an alias at a version, after validating it (unless `force`): refused with
   * VALIDATION_FAILED, listing the problems, when validation fails. Concurrent promotions
   * serialise: the last one wins and every one is in the history.
   */
  async promote(name: string, ref: string, options: PromoteOptions = {}): Promise<AliasChange> {
    const request = aliasMoveRequest(options);
    const { alias } = request;
    const record = await this.get(name);
    const target = resolveRef(record, ref);
    let report: ValidationReport | undefined;
    if (options.force !== true) {
      report = await this.check(record, target, alias);
      if (!report.ok) {
        throw new ScoreqError(
          'VALIDATION_FAILED',
          `${name} v${target.version} failed validation, so ${alias} was not moved:\n  - ${report.problems.join('\n  - ')}\n` +
            `Fix the model or its metadata and push a new version (or promote with force to skip validation).`,
          { model: name, version: target.version, alias, report },
        );
      }
    }
    const move = await this.records.update(name, (state) => promoteChange(state, name, target.version, request));
    return report ? { model: name, move, report } : { model: name, move };
  }

  /**
   * Moves an alias back to its previous target, as the history says (skipping versions that
   * were deleted since). ALIAS_NOT_FOUND when the alias does not exist or has nowhere to go.
   */
  async rollback(name: string, options: MoveOptions = {}): Promise<AliasChange> {
    const request = aliasMoveRequest(options);
    assertModelName(name);
    const move = await this.records.update(name, (state) => rollbackChange(state, name, request), { history: true });
    return { model: name, move };
  }

  /** Removes an alias (recorded in the history); jobs naming it then fail, or get "latest" for production. */
  async removeAlias(name: string, alias: string, options: Omit<MoveOptions, 'alias'> = {}): Promise<AliasChange> {
    const request = aliasMoveRequest({ ...options, alias });
    assertModelName(name);
    const move = await this.records.update(name, (state) => removeAliasChange(state, name, request));
    return { model: name, move };
  }

  /**
   * Deletes a version and, when no other version of any model shares them, its bytes.
   * VERSION_IN_USE, naming the aliases, when an alias points at it. Deleting the last
   * version removes the model from the list; its numbers and history are kept.
   */
  async remove(name: string, version: string): Promise<{ model: string; version: ModelVersionRecord; modelRemoved: boolean }> {
    assertModelName(name);
    if (!/^\d+$/.test(version)) {
      throw new ScoreqError('INVALID_OPTION', `remove takes a version number, got ${JSON.stringify(version)}`, { field: 'version' });
    }
    const number = String(Number(version));
    const result = await this.records.update(name, (state) => removeVersionChange(state, name, number));
    await this.deleteUnreferencedBytes([result.version.sha256]);
    return result;
  }

  /** Alias moves, newest first; `alias` keeps one alias's, `limit` the newest few. */
  async history(name: string, options: { alias?: string; limit?: number } = {}): Promise<ModelAliasMove[]> {
    assertModelName(name);
    let moves = await this.records.history(name);
    if (moves.length === 0) await this.get(name);
    if (options.alias !== undefined) moves = moves.filter((m) => m.alias === options.alias);
    return options.limit === undefined ? moves : moves.slice(0, options.limit);
  }

  /** Closes what the registry opened (its transaction connection and its own pool); not the caller's Redis. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.records.close();
      await this.ownPool?.close();
    })();
    return this.closing;
  }

  private validator(): ModelValidator {
    if (!this.checker) {
      let pool = this.options.pool;
      if (!pool) {
        this.ownPool = new InferencePool({ threads: 1, onError: (err) => this.options.logger.error({ err }, 'registry validation pool error') });
        pool = this.ownPool;
      }
      this.checker = new ModelValidator(pool, { sampleRows: this.options.sampleRows });
    }
    return this.checker;
  }

  private async check(record: ModelRecord, target: ModelVersionRecord, against: string): Promise<ValidationReport> {
    const candidate: VersionFile = { model: record.name, record: target, path: await this.cache.path(target.sha256) };
    const currentVersion = record.aliases[against];
    const current = currentVersion === undefined ? undefined : record.versions[currentVersion];
    if (!current) {
      const report = await this.validator().validate(candidate);
      report.notes.push(`${against} points at no version yet: nothing to compare with`);
      return report;
    }
    let path: string;
    try {
      path = await this.cache.path(current.sha256);
    } catch (err) {
      const report = await this.validator().validate(candidate);
      report.notes.push(`v${current.version} (${against}) could not be fetched to compare with: ${(err as Error).message}`);
      return report;
    }
    return this.validator().validate(candidate, { model: record.name, record: current, path, alias: against });
  }

  /**
   * Deletes stored and cached bytes no version of any model names any more, unless a push of
   * the same bytes is under way (see `ByteGuard`). Runs after every push too, with no bytes of
   * its own maybe: bytes an earlier deletion skipped for a push that then died are collected
   * here. Best effort.
   */
  private async deleteUnreferencedBytes(shas: string[]): Promise<void> {
    await this.bestEffort('delete unreferenced model bytes', () =>
      this.guard.deleting(shas, async (deletable) => {
        if (deletable.length === 0) return;
        const referenced = new Set((await this.records.readAll()).flatMap((r) => Object.values(r.versions).map((v) => v.sha256)));
        for (const sha of deletable) {
          if (referenced.has(sha)) continue;
          await this.options.store.delete(sha);
          await this.cache.evict(sha);
        }
      }),
    );
  }

  /** Clean-up whose failure must not hide the outcome it follows: logged, not thrown. */
  private async bestEffort(what: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.options.logger.warn({ err }, `registry: could not ${what}; orphaned bytes may remain`);
    }
  }
}
