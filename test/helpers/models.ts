import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelMetadata } from '@scoreq/contracts';
import { seededRandom, writeModel, type BuiltModel } from '@scoreq/onnx-builder';

/** Feature names f00, f01, … for a model with `n` inputs columns. */
export function featureNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `f${String(i).padStart(2, '0')}`);
}

/** A temp models directory laid out as the worker reads it; `remove()` deletes it. */
export class ModelsDir {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(): Promise<ModelsDir> {
    return new ModelsDir(await mkdtemp(join(tmpdir(), 'scoreq-models-')));
  }

  /** Writes `<dir>/<name>/<version>/model.onnx` and its metadata; returns the model file path. */
  async add(name: string, version: number, model: BuiltModel, metadata: ModelMetadata): Promise<string> {
    const versionDir = join(this.dir, name, String(version));
    const path = await writeModel(versionDir, model);
    await writeFile(join(versionDir, 'metadata.json'), JSON.stringify(metadata));
    return path;
  }

  async setAliases(name: string, aliases: Record<string, string>): Promise<void> {
    await mkdir(join(this.dir, name), { recursive: true });
    await writeFile(join(this.dir, name, 'aliases.json'), JSON.stringify(aliases));
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }
}

/** Deterministic pseudo-random rows of named features in [-1, 1). */
export function randomRows(names: string[], count: number, seed: number): Record<string, number>[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () => Object.fromEntries(names.map((n) => [n, Math.fround(next() * 2 - 1)])));
}

/** Row-major Float32Array of the rows' features in `names` order. */
export function toMatrix(rows: Record<string, number>[], names: string[]): Float32Array {
  const out = new Float32Array(rows.length * names.length);
  rows.forEach((row, r) => names.forEach((n, c) => (out[r * names.length + c] = row[n]!)));
  return out;
}
