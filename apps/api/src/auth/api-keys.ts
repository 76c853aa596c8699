import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keys, ScoreqError, TENANT_NAME } from '@scoreq/contracts';
import { apiError } from '../errors.js';

/** What an API key may do: enqueue and cancel jobs, read jobs and model metadata, manage models. */
export const SCOPES = ['submit', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Tenant names: they are stamped on jobs (at most 128 characters there) and shown in logs. */
/** `sq_<16 hex id>_<32 base64url secret>`; the id is public (it names the key), the rest is not. */
const KEY_FORMAT = /^sq_([0-9a-f]{16})_([A-Za-z0-9_-]{32})$/;
const ID_FORMAT = /^[0-9a-f]{16}$/;

/** An API key as listed: never its secret or hash. */
export interface ApiKeyInfo {
  id: string;
  tenant: string;
  scopes: Scope[];
  /** A label for people, e.g. `billing-service`. */
  name?: string;
  createdAt: string;
  /** Set once the key is revoked; a revoked key is refused but kept for the record. */
  revokedAt?: string;
}

/** A key just created: the only time the full key is known. */
export interface CreatedApiKey extends ApiKeyInfo {
  /** The key to send as `Authorization: Bearer <key>`; stored nowhere, show it once. */
  key: string;
}

/** Who a request acts for. */
export interface Principal {
  /** Id of the key used; null when SCOREQ_AUTH=off. */
  keyId: string | null;
  tenant: string;
  scopes: ReadonlySet<Scope>;
}

/**
 * API keys in Redis: a hash per key at `keys(prefix).apiKey(id)` holding the sha256 of the
 * key (never the key), its tenant, scopes and times, and the set `keys(prefix).apiKeys()` of
 * ids. Keys are 192 random bits, so a plain sha256 is as hard to reverse as the key to guess.
 */
export class ApiKeyStore {
  private readonly keys: ReturnType<typeof keys>;

  /**
   * @param redis connection the keys live on; the auth hook also counts refused keys there.
   * @param prefix key prefix (SCOREQ_PREFIX).
   */
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.keys = keys(prefix);
  }

  /**
   * Creates a key for a tenant with the given scopes.
   *
   * @throws ScoreqError INVALID_OPTION naming `tenant`, `scopes` or `name`.
   */
  async create(options: { tenant: string; scopes: readonly string[]; name?: string }): Promise<CreatedApiKey> {
    const tenant = assertTenant(options.tenant);
    const scopes = parseScopes(options.scopes);
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0 || options.name.length > 128)) {
      throw new ScoreqError('INVALID_OPTION', `name must be a string of 1-128 characters, got ${JSON.stringify(options.name)}`, { field: 'name' });
    }
    const id = randomBytes(8).toString('hex');
    const key = `sq_${id}_${randomBytes(24).toString('base64url')}`;
    const createdAt = new Date().toISOString();
    const fields: Record<string, string> = { hash: sha256(key), tenant, scopes: scopes.join(','), createdAt };
    if (options.name !== undefined) fields.name = options.name;
    await this.redis.multi().hset(this.keys.apiKey(id), fields).sadd(this.keys.apiKeys(), id).exec();
    return { id, key, tenant, scopes, ...(options.name === undefined ? {} : { name: options.name }), createdAt };
  }

  /**
   * Revokes a key: it is refused from the next request on. Revoking twice keeps the first time.
   *
   * @throws ScoreqError INVALID_OPTION when no key has that id.
   */
  async revoke(id: string): Promise<ApiKeyInfo> {
    if (typeof id !== 'string' || !ID_FORMAT.test(id)) {
      throw new ScoreqError('INVALID_OPTION', `API key id ${JSON.stringify(id)} is malformed: expected 16 hex characters (scoreq keys list)`, { field: 'id' });
    }
    const k = this.keys.apiKey(id);
    // EXISTS first so an unknown id creates nothing; HSETNX so the first revocation time stands.
    if ((await this.redis.exists(k)) !== 1) throw new ScoreqError('INVALID_OPTION', `no API key has id ${id} (scoreq keys list)`, { field: 'id' });
    await this.redis.hsetnx(k, 'revokedAt', new Date().toISOString());
    return info(id, await this.redis.hgetall(k));
  }

  /** Every key, oldest first, revoked ones included. */
  async list(): Promise<ApiKeyInfo[]> {
    const ids = await this.redis.smembers(this.keys.apiKeys());
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.apiKey(id));
    const rows = (await pipeline.exec()) ?? [];
    const out: ApiKeyInfo[] = [];
    rows.forEach(([err, fields], i) => {
      if (err) throw err;
      const f = fields as Record<string, string>;
      if (f.hash !== undefined) out.push(info(ids[i]!, f));
    });
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /**
   * The principal a key stands for.
   *
   * @throws ScoreqError UNAUTHENTICATED when the key is malformed, unknown, wrong or revoked.
   */
  async verify(key: string): Promise<Principal> {
    const match = KEY_FORMAT.exec(key);
    if (!match) throw apiError('UNAUTHENTICATED', 'the API key is malformed: expected sq_<id>_<secret> as printed by scoreq keys create');
    const id = match[1]!;
    const fields = await this.redis.hgetall(this.keys.apiKey(id));
    const stored = fields.hash;
    // Unknown id and wrong secret get the same answer: a caller learns nothing about which ids exist.
    if (stored === undefined || !sameHex(stored, sha256(key))) throw apiError('UNAUTHENTICATED', 'the API key is not valid');
    if (fields.revokedAt !== undefined) throw apiError('UNAUTHENTICATED', `API key ${id} was revoked at ${fields.revokedAt}`, { keyId: id });
    const record = info(id, fields);
    return { keyId: id, tenant: record.tenant, scopes: new Set(record.scopes) };
  }
}

/** `submit,read` → ['submit', 'read'], each a known scope, no duplicates, at least one. */
export function parseScopes(value: string | readonly string[]): Scope[] {
  const list = typeof value === 'string' ? value.split(',') : [...value];
  const scopes = [...new Set(list.map((s) => String(s).trim()).filter((s) => s !== ''))];
  if (scopes.length === 0) throw new ScoreqError('INVALID_OPTION', `scopes must name at least one of ${SCOPES.join(', ')}`, { field: 'scopes' });
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw new ScoreqError('INVALID_OPTION', `scope ${JSON.stringify(s)} is unknown; scopes are ${SCOPES.join(', ')}`, { field: 'scopes' });
    }
  }
  return scopes as Scope[];
}

export function assertTenant(tenant: unknown): string {
  if (typeof tenant !== 'string' || !TENANT_NAME.test(tenant)) {
    throw new ScoreqError(
      'INVALID_OPTION',
      `tenant ${JSON.stringify(tenant)} is invalid: use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit`,
      {
        field: 'tenant',
      },
    );
  }
  return tenant;
}

function info(id: string, f: Record<string, string>): ApiKeyInfo {
  const scopes = (f.scopes ?? '').split(',').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
  return {
    id,
    tenant: f.tenant ?? '',
    scopes,
    ...(f.name === undefined ? {} : { name: f.name }),
    createdAt: f.createdAt ?? '',
    ...(f.revokedAt === undefined ? {} : { revokedAt: f.revokedAt }),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
