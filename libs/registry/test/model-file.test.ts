/** Reading a model file for a push: refusals before anything is stored. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readModelFile } from '../src/model-file.js';
import { formatBytes } from '../src/index.js';
import { hasCode } from './helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scoreq-model-file-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a file is read whole and named in messages by its path', async () => {
  const path = join(dir, 'ok.onnx');
  await writeFile(path, new Uint8Array([1, 2, 3]));
  const { bytes, label } = await readModelFile(path, 10);
  assert.deepEqual(bytes, new Uint8Array([1, 2, 3]));
  assert.equal(label, `model file ${path}`);
});

test('a zero-byte file is refused with MODEL_INVALID saying the export did not finish', async () => {
  const path = join(dir, 'empty.onnx');
  await writeFile(path, '');
  await assert.rejects(readModelFile(path, 10), hasCode('MODEL_INVALID', 'file', /empty \(0 bytes\)/));
  await assert.rejects(readModelFile(new Uint8Array(0), 10), hasCode('MODEL_INVALID', 'file', /empty/));
});

test('a file over the limit is refused with MODEL_TOO_LARGE naming the size, the limit and the setting', async () => {
  const path = join(dir, 'big.onnx');
  await writeFile(path, new Uint8Array(2048));
  await assert.rejects(readModelFile(path, 1024), hasCode('MODEL_TOO_LARGE', 'file', /2 KiB \(2048 bytes\), over the limit of 1 KiB.*SCOREQ_MAX_MODEL_BYTES/));
  await assert.rejects(readModelFile(new Uint8Array(11), 10), hasCode('MODEL_TOO_LARGE'));
});

test('a missing file and a directory are refused with INVALID_OPTION', async () => {
  await assert.rejects(readModelFile(join(dir, 'nope.onnx'), 10), hasCode('INVALID_OPTION', 'file', /no such file/));
  await assert.rejects(readModelFile(dir, 10), hasCode('INVALID_OPTION', 'file'));
});

test('sizes read as people write them', () => {
  assert.equal(formatBytes(330), '330 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(512 * 1024 * 1024), '512 MiB');
});
