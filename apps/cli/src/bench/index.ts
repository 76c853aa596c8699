/**
 * `scoreq bench`: scoreq's speed as ratios against baselines measured in the same run
 * (shared/BENCHMARKS.md). One file per scenario under `scenarios/`, listed in `registry.ts`.
 *
 * @example
 * ```ts
 * import { runBench } from './bench/index.js';
 * const results = await runBench({ scenario: 'realtime', runs: 3 });
 * ```
 */
export { runBench } from './run-bench.js';
export { resolveBenchOptions, parseNumberOption, TARGET_DRAIN_SEC } from './options.js';
export type { BenchOptions, ResolvedBenchOptions } from './options.js';
export { DEFAULT_SCENARIO, describeScenarios, resolveScenarios, scenarioNames } from './registry.js';
export type { BenchResult, Scenario, ScenarioContext } from './scenario.js';
