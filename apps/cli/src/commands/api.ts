import type { Command } from 'commander';
import { loadConfig } from '@scoreq/contracts';
import { startApi } from '@scoreq/api';
import { createLogger } from '@scoreq/telemetry';
import { requireRedis } from '../redis/ping.js';
import { shutdownSignals } from '../signals.js';

/** How long the start-up check waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 2_000;

interface ApiCommandOptions {
  /** Address to bind; all interfaces when absent. */
  host?: string;
}

/**
 * `scoreq api`: serves the HTTP API on PORT (default 3000) against the Redis of REDIS_URL until
 * SIGTERM or SIGINT, then stops taking requests, lets those in flight finish and exits 0.
 */
export async function runApi(options: ApiCommandOptions): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'scoreq-api' });
  await requireRedis(config.REDIS_URL, REDIS_PING_TIMEOUT_MS, 'Start it, or point REDIS_URL at the Redis your workers use.');
  const signals = shutdownSignals(logger);
  try {
    const api = await startApi({ config, logger, ...(options.host === undefined ? {} : { host: options.host }) });
    logger.info({ url: api.url, auth: config.SCOREQ_AUTH }, 'serving until SIGTERM or SIGINT');
    await signals.received;
    await api.close();
  } finally {
    signals.dispose();
  }
}

export function registerApi(program: Command): void {
  program
    .command('api')
    .description('Serve the HTTP API (jobs, models, Open Inference Protocol v2, /docs, /metrics) on PORT (default 3000) until SIGTERM/SIGINT')
    .option('--host <address>', 'address to bind (default: all interfaces)')
    .action((options: ApiCommandOptions) => runApi(options));
}
