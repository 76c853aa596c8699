import type { Redis } from 'ioredis';
import { DEFAULT_TENANT, keys } from '@scoreq/contracts';
import type { Allowlist } from './allowlist.js';
import { assertTenant } from './secrets.js';
import { checkCallbackUrl } from './ssrf.js';

/**
 * Registers `url` as the tenant's webhook endpoint: the webhooks of its jobs that name no
 * `callbackUrl` go there. The URL passes the SSRF guard first, as a job's callback URL does
 * at submit time (and again at each delivery).
 *
 * @returns the URL as stored.
 * @throws ScoreqError `CALLBACK_URL_REFUSED` saying why the URL is refused; `INVALID_OPTION` for a bad tenant.
 */
export async function setWebhookEndpoint(
  redis: Redis,
  prefix: string,
  tenant: string,
  url: string,
  allow: Allowlist | string | readonly string[] = [],
): Promise<string> {
  assertTenant(tenant);
  await checkCallbackUrl(url, allow);
  await redis.set(keys(prefix).webhookEndpoint(tenant), url);
  return url;
}

/** The tenant's registered webhook endpoint, or undefined when it has none. */
export async function getWebhookEndpoint(redis: Redis, prefix: string, tenant: string): Promise<string | undefined> {
  assertTenant(tenant);
  return (await redis.get(keys(prefix).webhookEndpoint(tenant))) ?? undefined;
}

/** Removes the tenant's webhook endpoint; true when it had one. */
export async function removeWebhookEndpoint(redis: Redis, prefix: string, tenant: string): Promise<boolean> {
  assertTenant(tenant);
  return (await redis.del(keys(prefix).webhookEndpoint(tenant))) === 1;
}

/** Options of {@link WebhookEndpointCache}. */
export interface EndpointCacheOptions {
  redis: Redis;
  prefix: string;
  /** How long a tenant's endpoint (or its absence) is trusted before it is read again, in ms. @defaultValue 5000 */
  ttlMs?: number;
}

/** Tenants whose endpoints are kept at most; past this the cache starts over (tenants come from job data). */
const MAX_TENANTS = 10_000;

/**
 * Tenant endpoints as the scoring worker reads them: once per tenant every `ttlMs`, not once
 * per job. A change made over HTTP or the CLI reaches every worker within `ttlMs`.
 */
export class WebhookEndpointCache {
  private readonly entries = new Map<string, { url: string | null; expiresAt: number }>();
  private readonly loading = new Map<string, Promise<string | null>>();
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(options: EndpointCacheOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.ttlMs = options.ttlMs ?? 5_000;
  }

  /**
   * The tenant's endpoint if the cache knows it: a URL, `null` for none, or `undefined` when it
   * must be {@link load}ed. Synchronous, so jobs of tenants without an endpoint pay no await.
   */
  cached(tenant: string | undefined): string | null | undefined {
    const entry = this.entries.get(tenant ?? DEFAULT_TENANT);
    return entry !== undefined && entry.expiresAt > performance.now() ? entry.url : undefined;
  }

  /** Reads the tenant's endpoint from Redis (one read for many jobs asking at once) and caches it. */
  load(tenant: string | undefined): Promise<string | null> {
    const name = tenant ?? DEFAULT_TENANT;
    let pending = this.loading.get(name);
    if (!pending) {
      pending = this.read(name).finally(() => this.loading.delete(name));
      this.loading.set(name, pending);
    }
    return pending;
  }

  private async read(tenant: string): Promise<string | null> {
    const url = await this.redis.get(keys(this.prefix).webhookEndpoint(tenant));
    if (this.entries.size >= MAX_TENANTS) this.entries.clear();
    this.entries.set(tenant, { url, expiresAt: performance.now() + this.ttlMs });
    return url;
  }
}
