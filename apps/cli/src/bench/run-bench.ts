import { createLogger, type Logger } from '@scoreq/telemetry';
import type { CleanupStack } from '../demo/cleanup-stack.js';
import { deleteKeysWithPrefix } from '../redis/delete-prefix.js';
import { ensureRedis } from '../redis/ensure-redis.js';
import { redactUrl } from '../redis/ping.js';
import { runInterruptibly } from '../signals.js';
import { machineInfo } from './machine.js';
import { resolveBenchOptions, type BenchOptions, type ResolvedBenchOptions } from './options.js';
import { resolveScenarios } from './registry.js';
import type { BenchResult, Scenario, ScenarioContext } from './scenario.js';

/**
 * Runs a scenario (or a group, `realtime` by default), prints each scenario's JSON line as
 * it finishes and resolves with them. Progress goes to stderr unless `jsonOnly`.
 *
 * Everything is undone at the end, or on the first SIGINT/SIGTERM: consumers and pools
 * closed, temp models removed, every key under the run's prefix deleted (SCAN + UNLINK, never
 * FLUSH*), a Redis the bench started stopped.
 *
 * @example
 * ```ts
 * const [small] = await runBench({ scenario: 'realtime-small', runs: 1, jobs: 300, jsonOnly: true });
 * console.log(small?.ratio_vs_noop);
 * ```
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchResult[]> {
  const opts = resolveBenchOptions(options);
  const scenarios = resolveScenarios(opts.scenario);
  const logger = createLogger({ level: opts.logLevel, service: 'scoreq-bench', destination: process.stderr });
  const results: BenchResult[] = [];
  await runInterruptibly('bench', logger, (cleanup) => bench(opts, scenarios, logger, cleanup, results));
  return results;
}

async function bench(opts: ResolvedBenchOptions, scenarios: Scenario[], logger: Logger, cleanup: CleanupStack, results: BenchResult[]): Promise<void> {
  const progress = opts.jsonOnly ? () => undefined : opts.progress;
  const redis = await ensureRedis({ url: opts.redisUrl, logger });
  cleanup.add('redis', () => redis.stop());
  if (!redis.started) {
    cleanup.add('bench keys', async () => {
      const removed = await deleteKeysWithPrefix(redis.url, opts.prefix);
      logger.debug({ prefix: opts.prefix, removed }, 'bench keys removed');
    });
  }
  const machine = machineInfo();
  progress(
    `scoreq bench ${scenarios.map((s) => s.name).join(', ')}: Redis ${redactUrl(redis.url)}${redis.started ? ' (started for this run)' : ''}, ` +
      `key prefix ${opts.prefix}; ${opts.threads} threads, concurrency ${opts.concurrency}, ${opts.runs} timed run${opts.runs === 1 ? '' : 's'} per figure; ` +
      `${machine.cpu}, ${machine.nproc} CPUs, node ${machine.node}`,
  );
  const ctx: ScenarioContext = { redisUrl: redis.url, prefix: opts.prefix, options: opts, machine, logger, cleanup, progress };
  for (const scenario of scenarios) {
    const result = await scenario.run(ctx);
    opts.print(JSON.stringify(result));
    results.push(result);
  }
}
