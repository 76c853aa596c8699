import { assertModelName } from '@scoreq/contracts';
import { LocalModelCache } from './model-cache.js';
import { subscribeModelEvents } from './model-events.js';
import { ModelRecords } from './model-records.js';
import type { ModelSource, SourceModel } from './model-source.js';
import { resolveRegistryOptions, type RegistryOptions, type ResolvedRegistryOptions } from './registry-options.js';

/**
 * The registry as a worker's `ModelSource`: models, versions and aliases from the records in
 * Redis (which the registry publishes itself, so the worker does not), model files through a
 * `LocalModelCache` that fetches from the store and verifies each file's sha256 before
 * onnxruntime loads it, and `watch()` on the registry's change events.
 */
export class RegistryModelSource implements ModelSource {
  readonly publishesRecords = true;
  readonly options: ResolvedRegistryOptions;
  readonly cache: LocalModelCache;
  private readonly records: ModelRecords;
  private readonly onWatchError: ((err: Error) => void) | undefined;

  /**
   * @param options - the storage options (`redis`, `prefix`, `store`, `storeDir`, `cacheDir`);
   *   the others are ignored.
   * @param onWatchError - told of trouble on the events connection (it reconnects by itself).
   */
  constructor(options: RegistryOptions, onWatchError?: (err: Error) => void) {
    this.options = resolveRegistryOptions(options);
    this.cache = new LocalModelCache(this.options.cacheDir, this.options.store);
    this.records = new ModelRecords(this.options.redis, this.options.prefix, this.options.maxAttempts);
    this.onWatchError = onWatchError;
  }

  async listModels(): Promise<string[]> {
    return (await this.records.readAll()).filter((r) => Object.keys(r.versions).length > 0).map((r) => r.name);
  }

  async getModel(name: string): Promise<SourceModel | null> {
    assertModelName(name);
    const record = await this.records.read(name);
    if (!record) return null;
    const versions = Object.values(record.versions)
      .sort((a, b) => Number(a.version) - Number(b.version))
      .map((v) => ({
        version: v.version,
        sha256: v.sha256,
        size: v.size,
        createdAt: v.createdAt,
        metadata: v.metadata,
        localPath: () => this.cache.path(v.sha256),
      }));
    if (versions.length === 0) return null;
    return { name, versions, aliases: { ...record.aliases } };
  }

  /**
   * Calls `onChange(model)` after every stored change of a model (push, promote, rollback,
   * removals), from a dedicated subscribed connection, and for every model after the
   * connection comes back from a drop (events sent meanwhile are lost). Resolves once subscribed; the returned
   * function unsubscribes and closes that connection.
   */
  watch(onChange: (model: string) => void): Promise<() => Promise<void>> {
    const resync = (): void => {
      this.listModels().then(
        (names) => names.forEach(onChange),
        (err: Error) => this.onWatchError?.(err),
      );
    };
    return subscribeModelEvents(this.options.redis, this.options.prefix, (event) => onChange(event.model), this.onWatchError, resync);
  }
}
