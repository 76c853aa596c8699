import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { loadConfig } from '@scoreq/contracts';
import { ApiKeyStore, SCOPES, type ApiKeyInfo } from '@scoreq/api';
import { formatTable } from '../output/table.js';
import { requireRedis } from '../redis/ping.js';

/** How long the start-up check waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 2_000;

interface JsonOption {
  json?: boolean;
}
interface CreateCommandOptions extends JsonOption {
  tenant: string;
  scopes: string;
  name?: string;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Runs `fn` with the key store of the configured Redis and prefix, then closes the connection. */
async function withKeys<T>(fn: (store: ApiKeyStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  await requireRedis(config.REDIS_URL, REDIS_PING_TIMEOUT_MS, 'Start it, or point REDIS_URL at the Redis the API uses.');
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    return await fn(new ApiKeyStore(redis, config.SCOREQ_PREFIX));
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

async function create(opts: CreateCommandOptions): Promise<void> {
  const created = await withKeys((store) =>
    store.create({ tenant: opts.tenant, scopes: opts.scopes.split(','), ...(opts.name === undefined ? {} : { name: opts.name }) }),
  );
  if (opts.json) return print(JSON.stringify(created, null, 2));
  print(created.key);
  process.stderr.write(
    `API key ${created.id} for tenant ${created.tenant} (scopes: ${created.scopes.join(', ')}).\n` +
      'The key above is shown this once and stored only as a hash: it will not be shown again, so keep it now. ' +
      'Send it as "Authorization: Bearer <key>".\n',
  );
}

async function revoke(id: string, opts: JsonOption): Promise<void> {
  const info = await withKeys((store) => store.revoke(id));
  if (opts.json) return print(JSON.stringify(info, null, 2));
  print(`revoked API key ${info.id} (tenant ${info.tenant}) at ${info.revokedAt ?? '-'}`);
}

async function list(opts: JsonOption): Promise<void> {
  const keys = await withKeys((store) => store.list());
  if (opts.json) return print(JSON.stringify(keys, null, 2));
  if (keys.length === 0) return print('no API keys yet: scoreq keys create --tenant <t> --scopes submit,read');
  const rows = keys.map((k: ApiKeyInfo) => [k.id, k.tenant, k.scopes.join(','), k.name ?? '', k.createdAt, k.revokedAt ?? '']);
  print(formatTable(['id', 'tenant', 'scopes', 'name', 'created', 'revoked'], rows));
}

/** `scoreq keys create|revoke|list`: API keys of the HTTP API, stored hashed in Redis. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys of the HTTP API: create (printed once), revoke, list');
  keys
    .command('create')
    .description('Create an API key for a tenant; prints the key once (only its sha256 is stored)')
    .requiredOption('--tenant <tenant>', 'tenant the key acts for; it sees only its own jobs')
    .requiredOption('--scopes <list>', `comma-separated scopes: ${SCOPES.join(', ')}`)
    .option('--name <label>', 'a label for people, e.g. billing-service')
    .option('--json', 'print JSON (with the key)')
    .action(create);
  keys
    .command('revoke')
    .description('Revoke a key: refused from the next request on')
    .argument('<id>', 'key id (scoreq keys list)')
    .option('--json', 'print JSON')
    .action(revoke);
  keys.command('list').description('Every key: id, tenant, scopes, created and revoked times (never the key)').option('--json', 'print JSON').action(list);
}
