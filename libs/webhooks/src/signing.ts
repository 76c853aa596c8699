import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { ScoreqError } from '@scoreq/contracts';

/** Prefix of a Standard Webhooks signing secret: `whsec_<base64 of the key bytes>`. */
export const SECRET_PREFIX = 'whsec_';

/** Key bytes of a new secret: 32, above the 24 the Standard Webhooks spec asks for at least. */
const SECRET_BYTES = 32;

/** A new random signing secret, `whsec_<base64 of 32 random bytes>`. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/**
 * The HMAC key of a `whsec_` secret: its base64 part decoded (the prefix is not key material).
 *
 * @throws ScoreqError `INVALID_OPTION` when the secret is not `whsec_<base64>`.
 */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new ScoreqError('INVALID_OPTION', `a webhook secret must look like ${SECRET_PREFIX}<base64>`, { option: 'secret' });
  }
  return Buffer.from(encoded, 'base64');
}

/** A new message id (`webhook-id`): `msg_` and 32 hex digits. Never all digits and no `:`, so it is a valid BullMQ job id. */
export function newMessageId(): string {
  return `msg_${randomUUID().replaceAll('-', '')}`;
}

/**
 * The message id of a job's outcome, the same every time it is derived: when BullMQ replays
 * a job whose worker died after storing its result, the second delivery carries the same
 * `webhook-id` (and, as the delivery's job id, is not even queued while the first exists),
 * so receivers can drop duplicates as Standard Webhooks intends.
 */
export function outcomeMessageId(jobId: string, status: string): string {
  return `msg_${createHash('sha256').update(`${jobId}\n${status}`).digest('hex').slice(0, 32)}`;
}

/**
 * The Standard Webhooks signature of one attempt: `v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`, keyed with the secret's decoded bytes.
 */
export function sign(secret: string, messageId: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${messageId}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers of one attempt, signed at `nowMs`. */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Headers of one delivery attempt. The id stays the same across a message's retries (so
 * receivers can deduplicate); the timestamp is the attempt's own, so a receiver's replay
 * tolerance (usually 5 minutes) holds for every retry.
 */
export function signatureHeaders(secret: string, messageId: string, body: string, nowMs: number = Date.now()): SignatureHeaders {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(secret, messageId, timestamp, body),
  };
}
