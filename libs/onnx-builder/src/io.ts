/**
 * Writing models to disk.
 *
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltModel } from './types.js';

/**
 * Writes `model.bytes` to `<dir>/model.onnx`, creating `dir` (and its parents) when missing and
 * replacing an existing file.
 *
 * @param dir - Target directory.
 * @param model - A model from one of the builders.
 * @returns The path of the written file (`join(dir, 'model.onnx')`).
 *
 * @example
 * ```ts
 * const path = await writeModel('models/fraud/1', buildMlp(REFERENCE_MODELS.small));
 * ```
 */
export async function writeModel(dir: string, model: BuiltModel): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'model.onnx');
  await writeFile(path, model.bytes);
  return path;
}
