/** Registry options: defaults applied once, frozen, and each bad value refused by name. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import type { Redis } from 'ioredis';
import { loadConfig } from '@scoreq/contracts';
import { FileModelStore, LocalModelCache, RedisModelStore, registryOptionsFromConfig, resolveRegistryOptions, type RegistryOptions } from '../src/index.js';
import { hasCode } from './helpers.js';

// Resolving options opens nothing: a stand-in object is enough where no command is sent.
const redis = {} as Redis;

test('defaults: prefix scoreq, a file store in .scoreq/models, 512 MiB, keep 10 unaliased; frozen', () => {
  const o = resolveRegistryOptions({ redis });
  assert.equal(o.prefix, 'scoreq');
  assert.ok(o.store instanceof FileModelStore);
  assert.equal((o.store as FileModelStore).dir, resolve('.scoreq/models'));
  assert.equal(new LocalModelCache(o.cacheDir, o.store).dir, resolve('.scoreq/cache'));
  assert.equal(o.maxModelBytes, 512 * 1024 * 1024);
  assert.equal(o.keepUnaliased, 10);
  assert.equal(o.sampleRows, 8);
  assert.ok(Object.isFrozen(o));
});

test("store 'redis' keeps bytes in Redis and the environment maps onto the options", () => {
  assert.ok(resolveRegistryOptions({ redis, store: 'redis' }).store instanceof RedisModelStore);
  const config = loadConfig({ SCOREQ_MODEL_STORE: 'redis', SCOREQ_MAX_MODEL_BYTES: '1000', SCOREQ_KEEP_UNALIASED: '3', SCOREQ_PREFIX: 'p' });
  const o = resolveRegistryOptions(registryOptionsFromConfig(config, redis));
  assert.ok(o.store instanceof RedisModelStore);
  assert.equal(o.maxModelBytes, 1000);
  assert.equal(o.keepUnaliased, 3);
  assert.equal(o.prefix, 'p');
});

test('each bad option is refused with INVALID_OPTION naming it', () => {
  const bad: [keyof RegistryOptions, unknown][] = [
    ['prefix', 'a:b'],
    ['maxModelBytes', 0],
    ['keepUnaliased', 0],
    ['keepUnaliased', 1.5],
    ['sampleRows', 0],
    ['maxAttempts', 0],
    ['store', 'disk'],
  ];
  for (const [name, value] of bad) {
    assert.throws(() => resolveRegistryOptions({ redis, [name]: value } as RegistryOptions), hasCode('INVALID_OPTION', name, new RegExp(`options\\.${name}`)));
  }
});

test('the environment refuses an unknown model store', () => {
  assert.throws(() => loadConfig({ SCOREQ_MODEL_STORE: 's3' }), hasCode('CONFIG_INVALID', undefined, /SCOREQ_MODEL_STORE/));
});

test('a file store sharing its directory with the cache, or nested in it, is refused with CONFIG_INVALID naming both settings', () => {
  const overlapping: [string, string][] = [
    ['models', 'models'],
    ['models', './models/'],
    ['models/cache', 'models'],
    ['cache', 'cache/store'],
    ['store/..cache', 'store'], // a name starting with '..' is inside, not above
  ];
  for (const [cacheDir, storeDir] of overlapping) {
    assert.throws(
      () => resolveRegistryOptions({ redis, cacheDir, storeDir }),
      hasCode(
        'CONFIG_INVALID',
        'cacheDir',
        /options\.cacheDir \(SCOREQ_MODEL_CACHE_DIR, .*\) and options\.storeDir \(SCOREQ_MODEL_STORE_DIR, .*\) must be separate/,
      ),
      `cacheDir ${cacheDir}, storeDir ${storeDir}`,
    );
  }
  assert.doesNotThrow(() => resolveRegistryOptions({ redis, cacheDir: 'models-cache', storeDir: 'models' }), 'a sibling whose name starts alike is fine');
  assert.doesNotThrow(() => resolveRegistryOptions({ redis, store: 'redis', cacheDir: 'models', storeDir: 'models' }), 'the Redis store has no directory');
});

test('a cache directory that is a symbolic link to the store directory is refused too', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'scoreq-options-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const storeDir = join(root, 'store');
  await mkdir(storeDir);
  await symlink(storeDir, join(root, 'cache-link'));
  assert.throws(
    () => resolveRegistryOptions({ redis, cacheDir: join(root, 'cache-link'), storeDir }),
    hasCode('CONFIG_INVALID', 'cacheDir', /must be separate/),
  );
  assert.throws(
    () => resolveRegistryOptions({ redis, cacheDir: join(root, 'cache-link', 'not-yet'), storeDir }),
    hasCode('CONFIG_INVALID', 'cacheDir', /must be separate/),
    'a directory not created yet under the link',
  );
  assert.doesNotThrow(() => resolveRegistryOptions({ redis, cacheDir: join(root, 'cache'), storeDir }));
});
