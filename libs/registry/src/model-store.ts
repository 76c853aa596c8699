import { createHash } from 'node:crypto';
import { ScoreqError } from '@scoreq/contracts';

/**
 * Where model bytes live, addressed by their sha256. The registry writes a version's bytes
 * here before its record names the version; workers read them through a `LocalModelCache`,
 * which verifies the hash. Two implementations: `FileModelStore` (a directory, the default)
 * and `RedisModelStore` (Redis itself, for workers on hosts with no shared disk).
 *
 * A store trusts the sha256 it is given: callers hash the bytes (the registry on push, the
 * cache on read).
 */
export interface ModelStore {
  /** `file` or `redis`, for messages. */
  readonly kind: string;
  /** Stores the bytes under their sha256; storing the same bytes again is harmless. */
  put(sha256: string, bytes: Uint8Array): Promise<void>;
  /** The bytes, or null when the store has none under that sha256. */
  get(sha256: string): Promise<Uint8Array | null>;
  has(sha256: string): Promise<boolean>;
  /** Removes the bytes; removing absent bytes is not an error. */
  delete(sha256: string): Promise<void>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** Hex sha256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Refuses anything but 64 lowercase hex digits, so a hash can never name a path outside a
 * store's directory or another Redis key.
 */
export function assertSha256(sha256: string): void {
  if (!SHA256.test(sha256)) {
    throw new ScoreqError('INVALID_OPTION', `sha256 must be 64 lowercase hex digits, got ${JSON.stringify(sha256)}`, { field: 'sha256' });
  }
}
