import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Redis } from 'ioredis';
import { ScoreqError, type EnvConfig } from '@scoreq/contracts';
import type { InferencePool } from '@scoreq/inference';
import { createLogger, type Logger } from '@scoreq/telemetry';
import { FileModelStore } from './file-model-store.js';
import type { ModelStore } from './model-store.js';
import { RedisModelStore } from './redis-model-store.js';

/** Options of `ModelRegistry` and `RegistryModelSource` (the source reads only the storage ones). */
export interface RegistryOptions {
  /**
   * Connection for commands and transactions; the caller owns it and closes it. Watching
   * events subscribes on a duplicate of it.
   */
  redis: Redis;
  /** Prefix of every key. @defaultValue 'scoreq' */
  prefix?: string;
  /**
   * Where model bytes live: `'file'` (a directory, `storeDir`), `'redis'` (Redis itself, for
   * hosts with no shared disk) or any `ModelStore`. Every process of one deployment must use
   * the same store. @defaultValue 'file'
   */
  store?: 'file' | 'redis' | ModelStore;
  /** Directory of the file store. @defaultValue '.scoreq/models' */
  storeDir?: string;
  /** Local cache of model files by sha256, what onnxruntime loads. @defaultValue '.scoreq/cache' */
  cacheDir?: string;
  /** Largest model file accepted by push, in bytes. @defaultValue 536870912 (512 MiB) */
  maxModelBytes?: number;
  /**
   * Versions no alias points at that are kept per model; after each push older ones are
   * deleted (the previous target of an alias, which rollback returns to, is kept besides).
   * At least 1. @defaultValue 10
   */
  keepUnaliased?: number;
  /**
   * Pool that loads and runs models for validation. Without one, the registry starts a
   * one-thread pool on first use and closes it in `close()`.
   */
  pool?: InferencePool;
  /** Rows generated for validation when the metadata gives no samples. @defaultValue 8 */
  sampleRows?: number;
  /** Tries of one optimistic transaction before giving up with REGISTRY_CONFLICT. @defaultValue 50 */
  maxAttempts?: number;
  /** Where best-effort clean-up failures are reported (orphaned bytes left behind). @defaultValue a silent logger */
  logger?: Logger;
}

/** Options with every default applied and the store built; frozen. */
export interface ResolvedRegistryOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly store: ModelStore;
  readonly cacheDir: string;
  readonly maxModelBytes: number;
  readonly keepUnaliased: number;
  readonly pool: InferencePool | undefined;
  readonly sampleRows: number;
  readonly maxAttempts: number;
  readonly logger: Logger;
}

export const REGISTRY_DEFAULTS = Object.freeze({
  prefix: 'scoreq',
  store: 'file',
  storeDir: '.scoreq/models',
  cacheDir: '.scoreq/cache',
  maxModelBytes: 512 * 1024 * 1024,
  keepUnaliased: 10,
  sampleRows: 8,
  maxAttempts: 50,
} as const);

const PREFIX = /^[A-Za-z0-9_{}-]+$/;

/**
 * Applies defaults once and refuses bad values by name: INVALID_OPTION, or CONFIG_INVALID for a
 * file store that shares its directory with the cache.
 */
export function resolveRegistryOptions(options: RegistryOptions): ResolvedRegistryOptions {
  const o = { ...REGISTRY_DEFAULTS, ...stripUndefined(options) };
  if (!o.redis) throw invalid('redis', 'is required (an ioredis connection)');
  if (!PREFIX.test(o.prefix)) throw invalid('prefix', `must be letters, digits, _, - and {} only, got ${JSON.stringify(o.prefix)}`);
  integer('maxModelBytes', o.maxModelBytes, 1, Number.MAX_SAFE_INTEGER);
  integer('keepUnaliased', o.keepUnaliased, 1, 1_000_000);
  integer('sampleRows', o.sampleRows, 1, 1000);
  integer('maxAttempts', o.maxAttempts, 1, 10_000);
  let store: ModelStore;
  if (o.store === 'file') {
    assertSeparateDirs(o.cacheDir, o.storeDir);
    store = new FileModelStore(o.storeDir);
  } else if (o.store === 'redis') store = new RedisModelStore(o.redis, o.prefix);
  else if (typeof o.store === 'object' && o.store !== null) store = o.store;
  else throw invalid('store', `must be 'file', 'redis' or a ModelStore, got ${JSON.stringify(o.store)}`);
  return Object.freeze({
    redis: o.redis,
    prefix: o.prefix,
    store,
    cacheDir: o.cacheDir,
    maxModelBytes: o.maxModelBytes,
    keepUnaliased: o.keepUnaliased,
    pool: o.pool,
    sampleRows: o.sampleRows,
    maxAttempts: o.maxAttempts,
    logger: o.logger ?? createLogger({ level: 'silent', service: 'scoreq-registry' }),
  });
}

/** The registry options a process configured by environment variables uses. */
export function registryOptionsFromConfig(config: EnvConfig, redis: Redis): RegistryOptions {
  return {
    redis,
    prefix: config.SCOREQ_PREFIX,
    store: config.SCOREQ_MODEL_STORE,
    storeDir: config.SCOREQ_MODEL_STORE_DIR,
    cacheDir: config.SCOREQ_MODEL_CACHE_DIR,
    maxModelBytes: config.SCOREQ_MAX_MODEL_BYTES,
    keepUnaliased: config.SCOREQ_KEEP_UNALIASED,
  };
}

/**
 * The cache evicts and rewrites its files, which are named like the store's: sharing a
 * directory would delete stored model bytes.
 */
function assertSeparateDirs(cacheDir: string, storeDir: string): void {
  const cache = canonical(cacheDir);
  const store = canonical(storeDir);
  if (!contains(cache, store) && !contains(store, cache)) return;
  throw new ScoreqError(
    'CONFIG_INVALID',
    `options.cacheDir (SCOREQ_MODEL_CACHE_DIR, ${cache}) and options.storeDir (SCOREQ_MODEL_STORE_DIR, ${store}) must be separate directories, ` +
      `neither inside the other: the cache deletes and rewrites its files, which would delete stored model bytes. Point the cache at another directory`,
    { field: 'cacheDir', settings: ['cacheDir', 'storeDir'] },
  );
}

/** Whether `inner` is `outer` or a directory under it (both canonical). */
function contains(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The directory's absolute path with symbolic links resolved, so a link to the store counts as
 * the store. A directory not created yet resolves through its nearest existing ancestor.
 */
function canonical(dir: string): string {
  const absolute = resolve(dir);
  let existing = absolute;
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) return absolute;
    existing = parent;
  }
  return join(realpathSync(existing), relative(existing, absolute));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function integer(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw invalid(name, `must be an integer from ${min} to ${max}, got ${value}`);
}

function invalid(name: string, text: string): ScoreqError {
  return new ScoreqError('INVALID_OPTION', `options.${name} ${text}`, { field: name });
}
