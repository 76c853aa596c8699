import type { Redis } from 'ioredis';
import { keys } from '@scoreq/contracts';
import { assertSha256, type ModelStore } from './model-store.js';

/**
 * Model bytes in Redis itself, one string per sha256 at `keys(prefix).modelBlob(sha256)`, for
 * workers on hosts with no shared disk. A Redis string holds at most 512 MiB (the default
 * `proto-max-bulk-len`), which is also the registry's default size limit. Each worker reads the
 * bytes once into its local cache.
 */
export class RedisModelStore implements ModelStore {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private readonly keys: ReturnType<typeof keys>;

  /** `redis` is the caller's connection; the store never closes it. */
  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.keys = keys(prefix);
  }

  async put(sha256: string, bytes: Uint8Array): Promise<void> {
    assertSha256(sha256);
    await this.redis.set(this.keys.modelBlob(sha256), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  async get(sha256: string): Promise<Uint8Array | null> {
    assertSha256(sha256);
    const value = await this.redis.getBuffer(this.keys.modelBlob(sha256));
    return value === null ? null : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async has(sha256: string): Promise<boolean> {
    assertSha256(sha256);
    return (await this.redis.exists(this.keys.modelBlob(sha256))) === 1;
  }

  async delete(sha256: string): Promise<void> {
    assertSha256(sha256);
    await this.redis.unlink(this.keys.modelBlob(sha256));
  }
}
