/**
 * LocalModelCache over a real FileModelStore: fetches by sha256, verifies every file it hands
 * out, replaces a corrupt cached file from the store, and refuses corrupt or missing bytes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FileModelStore, LocalModelCache, sha256Hex } from '../src/index.js';
import { hasCode } from './helpers.js';

let dir: string;
let store: FileModelStore;
const bytes = new TextEncoder().encode('pretend these are ONNX bytes');
const sha = sha256Hex(bytes);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scoreq-cache-'));
  store = new FileModelStore(join(dir, 'store'));
  await store.put(sha, bytes);
});
after(() => rm(dir, { recursive: true, force: true }));

test('path() fetches the bytes from the store into <cache>/<sha256>.onnx', async () => {
  const cache = new LocalModelCache(join(dir, 'fetch'), store);
  const path = await cache.path(sha);
  assert.equal(path, join(dir, 'fetch', `${sha}.onnx`));
  assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
  assert.equal(await cache.path(sha), path, 'a second call returns the same verified file');
});

test('concurrent path() calls for one hash share one fetch', async () => {
  const cache = new LocalModelCache(join(dir, 'concurrent'), store);
  const paths = await Promise.all([cache.path(sha), cache.path(sha), cache.path(sha)]);
  assert.equal(new Set(paths).size, 1);
});

test('a corrupted cached file is detected by its hash and replaced with the store copy', async () => {
  const cache = new LocalModelCache(join(dir, 'corrupt-cache'), store);
  const path = await cache.path(sha);
  await writeFile(path, 'pretend these are ONNX bytez');
  assert.deepEqual(new Uint8Array(await readFile(path)).length, bytes.length, 'same size: only the hash can tell');
  assert.equal(await cache.path(sha), path);
  assert.deepEqual(new Uint8Array(await readFile(path)), bytes, 'the corrupt file was replaced');
});

test('bytes in the store that do not match their hash are refused with MODEL_CORRUPT and not cached', async () => {
  const bad = new FileModelStore(join(dir, 'bad-store'));
  const other = new TextEncoder().encode('other bytes');
  await bad.put(sha, other);
  const cache = new LocalModelCache(join(dir, 'corrupt-store'), bad);
  await assert.rejects(cache.path(sha), hasCode('MODEL_CORRUPT', undefined, /corrupt; push the version again/));
  await assert.rejects(stat(join(dir, 'corrupt-store', `${sha}.onnx`)), { code: 'ENOENT' });
});

test('a hash the store has no bytes for is refused with MODEL_BYTES_MISSING', async () => {
  const cache = new LocalModelCache(join(dir, 'missing'), store);
  await assert.rejects(cache.path('0'.repeat(64)), hasCode('MODEL_BYTES_MISSING', undefined, /file model store has no bytes/));
});

test('put() refuses bytes that do not match the hash given and evict() removes a cached file', async () => {
  const cache = new LocalModelCache(join(dir, 'put'), store);
  await assert.rejects(cache.put('0'.repeat(64), bytes), hasCode('MODEL_CORRUPT'));
  const path = await cache.put(sha, bytes);
  assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
  await cache.evict(sha);
  await assert.rejects(stat(path), { code: 'ENOENT' });
});
