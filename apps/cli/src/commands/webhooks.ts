import type { Command } from 'commander';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig, ScoreqError, WEBHOOK_QUEUE, type EnvConfig } from '@scoreq/contracts';
import {
  getWebhookEndpoint,
  getWebhookSecret,
  listDeadLetters,
  removeWebhookEndpoint,
  replayDeadLetter,
  rotateWebhookSecret,
  setWebhookEndpoint,
  urlOrigin,
  type DeadLetter,
  type DeadLetterQuery,
} from '@scoreq/webhooks';
import { formatTable } from '../output/table.js';
import { requireRedis } from '../redis/ping.js';

/** How long the start-up check waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 2_000;

interface SecretCommandOptions {
  rotate?: boolean;
}
interface DeadLettersCommandOptions {
  json?: boolean;
  limit?: string;
  tenant?: string;
}
interface EndpointCommandOptions {
  remove?: boolean;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Runs `fn` on the configured Redis (REDIS_URL, SCOREQ_PREFIX), then closes the connection. */
async function withRedis<T>(fn: (redis: Redis, prefix: string, config: EnvConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  await requireRedis(config.REDIS_URL, REDIS_PING_TIMEOUT_MS, 'Start it, or point REDIS_URL at the Redis your workers use.');
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    return await fn(redis, config.SCOREQ_PREFIX, config);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

function parseLimit(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new ScoreqError('INVALID_OPTION', `--limit must be a whole number from 1, got ${JSON.stringify(value)}`, { option: 'limit' });
  return n;
}

async function secret(tenant: string, opts: SecretCommandOptions): Promise<void> {
  const value = await withRedis((redis, prefix) => (opts.rotate ? rotateWebhookSecret(redis, prefix, tenant) : getWebhookSecret(redis, prefix, tenant)));
  print(value);
}

/**
 * Sets (with a URL), removes (`--remove`) or prints a tenant's webhook endpoint. A URL is
 * checked against the SSRF guard with SCOREQ_WEBHOOK_ALLOW, as the API does.
 */
async function endpoint(tenant: string, url: string | undefined, opts: EndpointCommandOptions): Promise<void> {
  if (opts.remove && url !== undefined) {
    throw new ScoreqError('INVALID_OPTION', 'give either a URL to set or --remove, not both', { option: 'remove' });
  }
  const line = await withRedis(async (redis, prefix, config) => {
    if (opts.remove) {
      const removed = await removeWebhookEndpoint(redis, prefix, tenant);
      return removed ? `removed the webhook endpoint of ${tenant}` : `${tenant} had no webhook endpoint`;
    }
    if (url !== undefined) {
      await setWebhookEndpoint(redis, prefix, tenant, url, config.SCOREQ_WEBHOOK_ALLOW);
      return `jobs of ${tenant} without a callbackUrl now notify ${url} (workers see it within 5 s)`;
    }
    const current = await getWebhookEndpoint(redis, prefix, tenant);
    if (current === undefined) {
      throw new ScoreqError('WEBHOOK_ENDPOINT_NOT_FOUND', `tenant ${tenant} has no webhook endpoint; set one with: scoreq webhooks endpoint ${tenant} <url>`, {
        tenant,
      });
    }
    return current;
  });
  print(line);
}

async function deadLetters(opts: DeadLettersCommandOptions): Promise<void> {
  const limit = parseLimit(opts.limit);
  const query: DeadLetterQuery = { ...(limit === undefined ? {} : { limit }), ...(opts.tenant === undefined ? {} : { tenant: opts.tenant }) };
  const letters: DeadLetter[] = await withRedis((redis, prefix) => listDeadLetters({ redis, prefix }, query));
  if (opts.json) return print(JSON.stringify(letters, null, 2));
  if (letters.length === 0) return print('no dead-lettered webhook deliveries');
  const rows = letters.map((l) => [
    l.id,
    l.deadAt,
    l.tenant,
    l.payload.id,
    l.payload.type,
    urlOrigin(l.callbackUrl),
    l.outcome,
    String(l.attempts),
    l.lastError,
  ]);
  print(
    formatTable(['id', 'dead at', 'tenant', 'job', 'type', 'callback', 'outcome', 'attempts', 'last error'], rows, [
      'left',
      'left',
      'left',
      'left',
      'left',
      'left',
      'left',
      'right',
    ]),
  );
  print('replay one with: scoreq webhooks replay <id>');
}

async function replay(id: string): Promise<void> {
  const letter = await withRedis(async (redis, prefix) => {
    const queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix });
    try {
      return await replayDeadLetter({ redis, prefix, queue }, id);
    } finally {
      await queue.close();
    }
  });
  print(
    `queued ${letter.id} (${letter.payload.type} of ${letter.payload.type.startsWith('run.') ? 'run' : 'job'} ${letter.payload.id}) for delivery to ${urlOrigin(letter.callbackUrl)} again`,
  );
}

export function registerWebhooks(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('Webhook signing secrets, tenant endpoints and dead-lettered deliveries (on REDIS_URL, SCOREQ_PREFIX)');
  webhooks
    .command('secret')
    .description("Print a tenant's webhook signing secret (whsec_…), creating it if missing; 'default' signs jobs that name no tenant")
    .argument('<tenant>', 'tenant name')
    .option('--rotate', 'replace the secret with a new one (receivers must switch to it)')
    .action((tenant: string, opts: SecretCommandOptions) => secret(tenant, opts));
  webhooks
    .command('dead-letters')
    .description('List webhook deliveries that were given up, newest first')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'show at most n')
    .option('--tenant <tenant>', "only this tenant's")
    .action((opts: DeadLettersCommandOptions) => deadLetters(opts));
  webhooks
    .command('endpoint')
    .description("Print, set or remove a tenant's webhook endpoint: where the webhooks of its jobs without a callbackUrl go")
    .argument('<tenant>', "tenant name ('default' for jobs that name none)")
    .argument('[url]', 'http(s) URL to set (checked against the SSRF guard and SCOREQ_WEBHOOK_ALLOW)')
    .option('--remove', 'remove the endpoint')
    .action((tenant: string, url: string | undefined, opts: EndpointCommandOptions) => endpoint(tenant, url, opts));
  webhooks
    .command('replay')
    .description('Deliver a dead-lettered webhook again (same webhook-id, fresh attempts)')
    .argument('<id>', 'the dead letter id (msg_…)')
    .action((id: string) => replay(id));
}
