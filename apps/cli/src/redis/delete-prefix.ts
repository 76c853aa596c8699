import { Redis } from 'ioredis';
import { deleteKeysUnder } from '@scoreq/contracts';

/**
 * Removes every key under `<prefix>:` (SCAN and UNLINK, never KEYS, never FLUSH*), so a run
 * that borrowed someone's Redis leaves it as it found it. Returns how many keys went.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    return await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
