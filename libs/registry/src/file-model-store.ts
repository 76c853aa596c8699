import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertSha256, type ModelStore } from './model-store.js';

/**
 * Model bytes as files, `<dir>/<sha256>.onnx`. Writes go to a temp file in the same directory
 * and are renamed into place, so a reader never sees half a model, even if the writer dies.
 * Put the directory on a shared disk for workers on several hosts, or use `RedisModelStore`.
 */
export class FileModelStore implements ModelStore {
  readonly kind = 'file';
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The file that holds (or would hold) these bytes. */
  pathOf(sha256: string): string {
    assertSha256(sha256);
    return join(this.dir, `${sha256}.onnx`);
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    await writeAtomically(this.pathOf(sha256), bytes);
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.pathOf(sha256)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async has(sha256: string): Promise<boolean> {
    const info = await stat(this.pathOf(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    return info?.isFile() ?? false;
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }
}

/**
 * Writes `bytes` to `path` through a temp file beside it and a rename (atomic on one file
 * system). The temp file is removed if anything fails.
 */
export async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const dir = resolve(path, '..');
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
