import type { Redis } from 'ioredis';
import { keys, type ModelEvent } from '@scoreq/contracts';

const KINDS: ReadonlySet<string> = new Set<ModelEvent['kind']>(['push', 'promote', 'rollback', 'remove-version', 'remove-alias']);

/** Parses one message of the events channel; null for anything that is not a ModelEvent. */
export function parseModelEvent(message: string): ModelEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    // Someone else published on our channel: not ours to interpret.
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const e = value as Partial<ModelEvent>;
  if (typeof e.model !== 'string' || typeof e.kind !== 'string' || !KINDS.has(e.kind)) return null;
  return {
    model: e.model,
    kind: e.kind,
    version: typeof e.version === 'string' ? e.version : null,
    alias: typeof e.alias === 'string' ? e.alias : null,
    at: typeof e.at === 'string' ? e.at : '',
  };
}

/**
 * Subscribes to the registry's change events on a dedicated connection (a duplicate of
 * `redis`: a subscribed connection can run no other command). Resolves once subscribed, so
 * every change stored after that is seen; the returned function unsubscribes and closes the
 * connection. Events are at-most-once (Redis pub/sub): a process that was disconnected
 * should re-read the records it serves when it reconnects: `onReconnect` says when.
 */
export async function subscribeModelEvents(
  redis: Redis,
  prefix: string,
  onEvent: (event: ModelEvent) => void,
  onError?: (err: Error) => void,
  onReconnect?: () => void,
): Promise<() => Promise<void>> {
  const channel = keys(prefix).modelEvents();
  const subscriber = redis.duplicate();
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    const event = parseModelEvent(message);
    if (event) onEvent(event);
  });
  // Connection trouble arrives as 'error' events, which Node treats as uncaught without a
  // listener; ioredis reconnects and resubscribes by itself, so the caller only hears of it.
  subscriber.on('error', (err: Error) => onError?.(err));
  try {
    await subscriber.subscribe(channel);
  } catch (err) {
    subscriber.disconnect();
    throw err;
  }
  // Events published while the connection was down are lost (pub/sub is at-most-once):
  // after every reconnect the caller re-reads what it serves.
  subscriber.on('ready', () => onReconnect?.());
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    try {
      // Unsubscribing first: once it replies, the server no longer counts this subscriber.
      await subscriber.unsubscribe(channel);
      await subscriber.quit();
    } catch {
      // The connection is already broken: dropping it is all that is left to do.
      subscriber.disconnect();
    }
  };
  return () => (closing ??= close());
}
