import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { keys, ScoreqError } from '@scoreq/contracts';
import { addDelivery, type DeliveryJobData } from './enqueue.js';

/** A delivery that was given up, as kept in the dead-letter list. */
export interface DeadLetter extends DeliveryJobData {
  /** The message id: what `replayDeadLetter` and `scoreq webhooks replay` take. */
  id: string;
  /** `dead`: every attempt failed; `refused`: the SSRF guard refused the URL, or the receiver redirected. */
  outcome: 'dead' | 'refused';
  /** Attempts made. */
  attempts: number;
  /** Why the last attempt failed: `HTTP 500`, `no response within 15000 ms`, `redirect to …`. */
  lastError: string;
  /** HTTP status of the last attempt, when the receiver answered. */
  lastStatus?: number;
  /** ISO 8601 time the delivery was given up. */
  deadAt: string;
}

/** Where dead letters live: a Redis connection and the key prefix. */
export interface DeadLetterStore {
  redis: Redis;
  prefix: string;
}

/** Pushes a dead letter (newest first) and trims the list to `cap` entries, in one transaction. */
export async function pushDeadLetter(store: DeadLetterStore, letter: DeadLetter, cap: number): Promise<void> {
  const key = keys(store.prefix).webhookDeadLetters();
  await store.redis
    .multi()
    .lpush(key, JSON.stringify(letter))
    .ltrim(key, 0, cap - 1)
    .exec();
}

function parseLetter(raw: string): DeadLetter | undefined {
  try {
    const value = JSON.parse(raw) as Partial<DeadLetter>;
    return typeof value.id === 'string' && typeof value.callbackUrl === 'string' ? (value as DeadLetter) : undefined;
  } catch {
    return undefined;
  }
}

/** Which dead letters {@link listDeadLetters} answers. */
export interface DeadLetterQuery {
  /** At most this many, newest first. @defaultValue all */
  limit?: number;
  /** Only this tenant's letters (whose secret signs them). @defaultValue every tenant's */
  tenant?: string;
}

/** Dead letters, newest first, of one tenant or all; entries that are not dead letters are skipped. */
export async function listDeadLetters(store: DeadLetterStore, options: DeadLetterQuery = {}): Promise<DeadLetter[]> {
  const limit = options.limit ?? -1;
  if (limit !== -1 && !(Number.isSafeInteger(limit) && limit >= 1)) {
    throw new ScoreqError('INVALID_OPTION', `options.limit must be a whole number from 1; got ${JSON.stringify(limit)}`, { option: 'limit' });
  }
  const { tenant } = options;
  // A tenant's letters are spread through the list (at most the dead-letter cap): read it all and filter.
  const last = limit === -1 || tenant !== undefined ? -1 : limit - 1;
  const raws = await store.redis.lrange(keys(store.prefix).webhookDeadLetters(), 0, last);
  const letters = raws.map(parseLetter).filter((l): l is DeadLetter => l !== undefined && (tenant === undefined || l.tenant === tenant));
  return limit === -1 ? letters : letters.slice(0, limit);
}

/**
 * Delivers a dead letter again: takes it off the list (LREM, so two replays of one letter
 * cannot both win) and queues it with a fresh attempt budget. The message keeps its
 * `webhook-id`, so a receiver that did get an earlier attempt can tell it is the same
 * message. The SSRF guard checks the URL again at delivery.
 * With `options.tenant`, only that tenant's letters are replayed: another tenant's id
 * answers as an id that does not exist.
 *
 * @returns the letter that was replayed.
 * @throws ScoreqError `DEAD_LETTER_NOT_FOUND` when no dead letter (of the tenant) has that id.
 */
export async function replayDeadLetter(target: DeadLetterStore & { queue: Queue }, id: string, options: { tenant?: string } = {}): Promise<DeadLetter> {
  const key = keys(target.prefix).webhookDeadLetters();
  const raws = await target.redis.lrange(key, 0, -1);
  for (const raw of raws) {
    const letter = parseLetter(raw);
    if (letter?.id !== id || (options.tenant !== undefined && letter.tenant !== options.tenant)) continue;
    if ((await target.redis.lrem(key, 1, raw)) === 0) break; // replayed by someone else meanwhile
    const data: DeliveryJobData = {
      messageId: letter.messageId,
      callbackUrl: letter.callbackUrl,
      tenant: letter.tenant,
      payload: letter.payload,
      createdAt: letter.createdAt,
    };
    try {
      // A job id of its own: the given-up job may still be kept under the message id.
      await addDelivery(target.queue, data, `${letter.messageId}-replay-${randomUUID().slice(0, 8)}`);
    } catch (err) {
      await target.redis.lpush(key, raw);
      throw err;
    }
    return letter;
  }
  throw new ScoreqError('DEAD_LETTER_NOT_FOUND', `no dead-lettered webhook delivery has id ${JSON.stringify(id)}`, { id });
}
