import type { Command } from 'commander';
import { assertModelName, loadConfig, ScoreqError } from '@scoreq/contracts';
import { createLogger } from '@scoreq/telemetry';
import { startWorker } from '@scoreq/worker';
import { requireRedis } from '../redis/ping.js';
import { shutdownSignals } from '../signals.js';

/** How long the start-up check waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 2_000;

/** Options of `scoreq worker` as commander parses them. */
interface WorkerCommandOptions {
  /** Comma-separated model names; every model of the model source when absent. */
  models?: string;
}

/** `--models a,b` → `['a', 'b']`, each a valid model name, no duplicates. */
export function parseModelList(value: string): string[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) throw new ScoreqError('INVALID_OPTION', '--models needs at least one model name, e.g. --models churn,risk', { option: 'models' });
  for (const name of names) {
    try {
      assertModelName(name);
    } catch (err) {
      throw new ScoreqError('INVALID_OPTION', `--models: ${(err as Error).message}`, { option: 'models' });
    }
  }
  return [...new Set(names)];
}

/**
 * `scoreq worker`: serves models from the registry (or SCOREQ_MODELS_DIR) on the Redis of REDIS_URL until
 * SIGTERM or SIGINT, then drains (jobs in hand are finished) and exits 0. A second signal
 * exits 1 at once.
 */
export async function runWorker(options: WorkerCommandOptions): Promise<void> {
  const models = options.models === undefined ? undefined : parseModelList(options.models);
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'scoreq-worker' });
  // A worker serves the Redis producers use, so it never starts a private one; it checks
  // the configured one answers, so a wrong REDIS_URL fails now, by name, not in a retry loop.
  await requireRedis(config.REDIS_URL, REDIS_PING_TIMEOUT_MS, 'Start it, or point REDIS_URL at the Redis your producers use.');

  const signals = shutdownSignals(logger);
  try {
    const worker = await startWorker({ config, logger, ...(models ? { models } : {}) });
    logger.info({ models: worker.models }, 'serving until SIGTERM or SIGINT');
    await signals.received;
    await worker.close();
  } finally {
    signals.dispose();
  }
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'Serve models from the registry (or SCOREQ_MODELS_DIR with SCOREQ_MODEL_SOURCE=directory): consume score-<model> queues until SIGTERM/SIGINT, then drain and exit',
    )
    .option('--models <names>', 'comma-separated models to serve (default: every model of the source)')
    .action((options: WorkerCommandOptions) => runWorker(options));
}
