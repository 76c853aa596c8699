import type { Command } from 'commander';
import { DEFAULT_SCENARIO, describeScenarios, parseNumberOption, runBench, type BenchOptions } from '../bench/index.js';

/** Options of `scoreq bench` as commander parses them: strings until resolved. */
interface BenchCommandOptions {
  runs?: string;
  threads?: string;
  concurrency?: string;
  jobs?: string;
  maxBatchRows?: string;
  maxDelayMs?: string;
  jsonOnly?: boolean;
}

const NUMERIC = ['runs', 'threads', 'concurrency', 'jobs', 'maxBatchRows', 'maxDelayMs'] as const;

/** Commander's strings → {@link BenchOptions}; ranges are checked once, by runBench. */
export function benchOptions(scenario: string | undefined, opts: BenchCommandOptions): BenchOptions {
  const options: BenchOptions = { scenario: scenario ?? DEFAULT_SCENARIO, jsonOnly: opts.jsonOnly === true };
  for (const name of NUMERIC) {
    const value = opts[name];
    if (value !== undefined) options[name] = parseNumberOption(name, value);
  }
  return options;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'Measure scoreq against baselines in the same run (noop and naive BullMQ workers, same Redis, threads and payloads); ' +
        'progress on stderr, one JSON line per scenario on stdout',
    )
    .argument('[scenario]', `scenario or group to run (default: ${DEFAULT_SCENARIO})`)
    .option('--runs <n>', 'timed drains per figure; the median is reported (default 3)')
    .option('--threads <n>', 'inference threads of every system (default: SCOREQ_POOL_THREADS, else the CPU count)')
    .option('--concurrency <n>', 'BullMQ worker concurrency of every system (default: SCOREQ_WORKER_CONCURRENCY, else 256)')
    .option('--jobs <n>', 'jobs per timed drain for every system (default: sized from a warm-up drain to last ~5 s per system)')
    .option('--max-batch-rows <n>', "scoreq's SCOREQ_MAX_BATCH_ROWS (default: configured value, 64)")
    .option('--max-delay-ms <ms>', "scoreq's SCOREQ_MAX_DELAY_MS (default: configured value, 2)")
    .option('--json-only', 'print only the JSON result lines, no progress on stderr')
    .addHelpText(
      'after',
      `\nScenarios:\n  ${describeScenarios().join('\n  ')}\n\nRuns on REDIS_URL (else redis://127.0.0.1:6379) under a fresh key prefix, removed at the end.`,
    )
    .action(async (scenario: string | undefined, opts: BenchCommandOptions) => {
      await runBench(benchOptions(scenario, opts));
    });
}
