import { Redis } from 'ioredis';
import { ScoreqError } from '@scoreq/contracts';

/**
 * Connects to `url` once, sends PING and disconnects. Resolves when Redis answers PONG;
 * rejects with the connection error (ECONNREFUSED, ENOTFOUND, NOAUTH, a timeout …) otherwise.
 * No retries and no offline queue: the caller decides whether and how often to ask again.
 */
export async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  let lastError: Error | undefined;
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    enableReadyCheck: false,
  });
  // ioredis reports the socket error as an event and rejects connect() with a generic
  // "Connection is closed."; keep the event's error, it says why.
  client.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await client.connect();
    const reply = await client.ping();
    if (reply !== 'PONG') throw new Error(`unexpected reply to PING: ${JSON.stringify(reply)}`);
  } catch (err) {
    throw lastError ?? err;
  } finally {
    client.disconnect();
  }
}

/** The URL with any password replaced by `***`, fit for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL at all: nothing parseable to redact, and the caller wants to show what it got.
    return url;
  }
}

/** Why a connection attempt failed, in one line: `ECONNREFUSED connect ECONNREFUSED …`. */
export function failureReason(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined && !err.message.includes(code) ? `${code} ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Checks that the Redis of REDIS_URL answers, so a wrong URL fails at once, by name, instead
 * of in a client's reconnect loop. `hint` says what to do about it in the caller's terms.
 *
 * @throws ScoreqError REDIS_UNAVAILABLE naming the URL (password hidden) and the reason.
 */
export async function requireRedis(url: string, timeoutMs: number, hint: string): Promise<void> {
  try {
    await pingRedis(url, timeoutMs);
  } catch (err) {
    throw new ScoreqError('REDIS_UNAVAILABLE', `Redis at REDIS_URL=${redactUrl(url)} did not answer PING: ${failureReason(err)}. ${hint}`, {
      url: redactUrl(url),
    });
  }
}
