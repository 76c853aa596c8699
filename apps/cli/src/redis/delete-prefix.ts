import { Redis } from 'ioredis';

/** Escapes the characters Redis glob patterns give a meaning to. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Removes every key under `<prefix>:` with SCAN and UNLINK (never KEYS, never FLUSH*), so a
 * run that borrowed someone's Redis leaves it as it found it. Returns how many keys went.
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let removed = 0;
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) removed += await redis.unlink(...batch);
    } while (cursor !== '0');
    return removed;
  } finally {
    redis.disconnect();
  }
}
