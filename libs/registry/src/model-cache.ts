import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ScoreqError } from '@scoreq/contracts';
import { writeAtomically } from './file-model-store.js';
import { assertSha256, sha256Hex, type ModelStore } from './model-store.js';

/**
 * A local directory of model files by sha256, `<dir>/<sha256>.onnx`, filled from a
 * `ModelStore`, so onnxruntime always loads a local file. Every `path()` hashes the file
 * before returning it: bytes that do not match their sha256 are never handed to onnxruntime.
 */
export class LocalModelCache {
  readonly dir: string;
  private readonly store: ModelStore;
  /** One fetch per sha256 at a time: concurrent loads of one version share it. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(dir: string, store: ModelStore) {
    this.dir = resolve(dir);
    this.store = store;
  }

  /**
   * A verified local file holding the bytes of `sha256`. A cached file whose hash does not
   * match is deleted and fetched again from the store; bytes from the store that do not match
   * are refused with MODEL_CORRUPT (and not cached), absent ones with MODEL_BYTES_MISSING.
   */
  path(sha256: string): Promise<string> {
    assertSha256(sha256);
    let pending = this.pending.get(sha256);
    if (!pending) {
      pending = this.fetch(sha256).finally(() => this.pending.delete(sha256));
      this.pending.set(sha256, pending);
    }
    return pending;
  }

  /** Caches bytes the caller has in hand (a push), after checking them against `sha256`. */
  async put(sha256: string, bytes: Uint8Array): Promise<string> {
    assertSha256(sha256);
    verify(sha256, bytes, 'the bytes given');
    const path = this.fileOf(sha256);
    await writeAtomically(path, bytes);
    return path;
  }

  /** Whether a file for `sha256` is cached (unverified: `path()` checks it before use). */
  async has(sha256: string): Promise<boolean> {
    assertSha256(sha256);
    const info = await stat(this.fileOf(sha256)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    return info?.isFile() ?? false;
  }

  /** Removes a cached file; absent files are fine. */
  async evict(sha256: string): Promise<void> {
    assertSha256(sha256);
    await rm(this.fileOf(sha256), { force: true });
  }

  private fileOf(sha256: string): string {
    return join(this.dir, `${sha256}.onnx`);
  }

  private async fetch(sha256: string): Promise<string> {
    const path = this.fileOf(sha256);
    const cached = await hashFile(path);
    if (cached === sha256) return path;
    // Absent (null) or corrupt: either way the store's copy replaces it.
    if (cached !== null) await rm(path, { force: true });
    const bytes = await this.store.get(sha256);
    if (bytes === null) {
      throw new ScoreqError('MODEL_BYTES_MISSING', `the ${this.store.kind} model store has no bytes for sha256 ${sha256}; push the version again`, { sha256 });
    }
    verify(sha256, bytes, `the ${this.store.kind} model store's copy`);
    await writeAtomically(path, bytes);
    return path;
  }
}

function verify(sha256: string, bytes: Uint8Array, what: string): void {
  const actual = sha256Hex(bytes);
  if (actual !== sha256) {
    throw new ScoreqError('MODEL_CORRUPT', `${what} of model ${sha256} hash to ${actual}: the bytes are corrupt; push the version again`, {
      sha256,
      actual,
    });
  }
}

/** Hex sha256 of a file, streamed (models can be hundreds of MiB); null when it does not exist. */
async function hashFile(path: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return hash.digest('hex');
}
