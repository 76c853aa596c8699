/** FileModelStore on a real temp directory: round trip, atomic writes, hashes that cannot escape. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FileModelStore, sha256Hex } from '../src/index.js';
import { hasCode } from './helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scoreq-file-store-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('bytes put under their sha256 come back from get, has says so, and delete removes them', async () => {
  const store = new FileModelStore(join(dir, 'round-trip'));
  const bytes = new TextEncoder().encode('model bytes');
  const sha = sha256Hex(bytes);
  assert.equal(await store.has(sha), false);
  assert.equal(await store.get(sha), null);
  await store.put(sha, bytes);
  assert.equal(await store.has(sha), true);
  assert.deepEqual(await store.get(sha), bytes);
  assert.deepEqual(await readdir(store.dir), [`${sha}.onnx`], 'one file named by the hash, no temp file left');
  await store.put(sha, bytes);
  assert.deepEqual(await readdir(store.dir), [`${sha}.onnx`], 'putting the same bytes again is harmless');
  await store.delete(sha);
  await store.delete(sha);
  assert.equal(await store.has(sha), false);
});

test('a hash that is not 64 hex digits is refused, so no path outside the directory can be named', async () => {
  const store = new FileModelStore(join(dir, 'refusals'));
  for (const bad of ['../../etc/passwd', 'ABC', '', 'g'.repeat(64)]) {
    await assert.rejects(store.put(bad, new Uint8Array([1])), hasCode('INVALID_OPTION', 'sha256'));
    await assert.rejects(store.get(bad), hasCode('INVALID_OPTION', 'sha256'));
  }
});
