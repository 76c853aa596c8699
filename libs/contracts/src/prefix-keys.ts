/** The two Redis commands {@link deleteKeysUnder} needs; an ioredis client has them. */
export interface KeyScanner {
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', size: number): Promise<[cursor: string, keys: string[]]>;
  unlink(...keys: string[]): Promise<number>;
}

/** Escapes the characters Redis glob patterns give a meaning to. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * Removes every key under `<prefix>:` with SCAN and UNLINK in batches, never KEYS or FLUSH*:
 * the Redis may be shared, and whatever else it holds stays. Close the queues and workers
 * using the prefix first, or they may write keys again. Returns how many keys went.
 */
export async function deleteKeysUnder(redis: KeyScanner, prefix: string): Promise<number> {
  const pattern = `${escapeGlob(prefix)}:*`;
  let removed = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) removed += await redis.unlink(...found);
  } while (cursor !== '0');
  return removed;
}
