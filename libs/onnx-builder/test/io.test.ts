import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { buildMlp, REFERENCE_MODELS, writeModel } from '../src/index.js';

test('writeModel creates missing directories, writes model.onnx and onnxruntime loads it from the path', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'onnx-builder-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const model = buildMlp(REFERENCE_MODELS.small);
  const dir = join(root, 'models', 'demo', '1');
  const path = await writeModel(dir, model);
  assert.equal(path, join(dir, 'model.onnx'));
  assert.deepEqual(new Uint8Array(await readFile(path)), model.bytes);
  const session = await ort.InferenceSession.create(path);
  assert.deepEqual(session.inputNames, ['input']);
  assert.equal(await writeModel(dir, model), path, 'writing again replaces the file');
});
