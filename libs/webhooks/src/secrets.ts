import type { Redis } from 'ioredis';
import { keys, ScoreqError } from '@scoreq/contracts';
import { generateSecret } from './signing.js';

/** Tenants are Redis key parts: 1-128 characters, no control characters (as job data allows). */
export function assertTenant(tenant: unknown): asserts tenant is string {
  if (typeof tenant !== 'string' || !/^[^\x00-\x1f\x7f]{1,128}$/.test(tenant)) {
    throw new ScoreqError('INVALID_OPTION', `tenant ${JSON.stringify(tenant)} is invalid: use 1-128 characters, no control characters`, { option: 'tenant' });
  }
}

/**
 * The tenant's signing secret, created on first use. Creation is `SET NX`, so two workers
 * that race on a new tenant end up signing with the same secret.
 */
export async function getWebhookSecret(redis: Redis, prefix: string, tenant: string): Promise<string> {
  assertTenant(tenant);
  const key = keys(prefix).webhookSecret(tenant);
  const existing = await redis.get(key);
  if (existing !== null) return existing;
  await redis.set(key, generateSecret(), 'NX');
  const secret = await redis.get(key);
  if (secret === null) throw new ScoreqError('INTERNAL', `the webhook secret of tenant ${tenant} vanished right after it was created`);
  return secret;
}

/**
 * Replaces the tenant's signing secret with a new one and returns it. Deliveries signed from
 * now on use it; receivers must switch at the same time (the old secret stops verifying).
 */
export async function rotateWebhookSecret(redis: Redis, prefix: string, tenant: string): Promise<string> {
  assertTenant(tenant);
  const secret = generateSecret();
  await redis.set(keys(prefix).webhookSecret(tenant), secret);
  return secret;
}
