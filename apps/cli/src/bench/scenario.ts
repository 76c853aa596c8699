import type { Logger } from '@scoreq/telemetry';
import type { CleanupStack } from '../demo/cleanup-stack.js';
import type { MachineInfo } from './machine.js';
import type { ResolvedBenchOptions } from './options.js';

/**
 * The one JSON line a scenario prints last: `scenario` plus flat numbers and strings, so a
 * script can read it (BENCHMARKS.md). Every figure in it is measured in the same run.
 */
export type BenchResult = { readonly scenario: string } & Readonly<Record<string, number | string>>;

/** What a scenario gets to run with; everything it opens it closes, or hands to `cleanup`. */
export interface ScenarioContext {
  /** Redis every system of the scenario uses. */
  readonly redisUrl: string;
  /**
   * Key prefix of the whole bench run (BullMQ's `prefix` and scoreq's SCOREQ_PREFIX). The
   * runner removes every key under it at the end; a scenario cleans its queues as it goes.
   */
  readonly prefix: string;
  readonly options: ResolvedBenchOptions;
  readonly machine: MachineInfo;
  readonly logger: Logger;
  /**
   * Steps undone when the run ends or is interrupted (Ctrl-C). Steps must be idempotent:
   * a scenario also runs them itself as soon as it is done with what they close.
   */
  readonly cleanup: CleanupStack;
  /** A human-readable progress line, to stderr unless --json-only. */
  progress(line: string): void;
}

/**
 * One benchmark scenario, one file each under `scenarios/`, listed in `registry.ts`. It
 * measures its system and the baselines it is compared with in the same run, and returns
 * the result line; the runner prints it.
 */
export interface Scenario {
  /** Name on the command line, e.g. `realtime-small`. */
  readonly name: string;
  /** One line for `scoreq bench --help`. */
  readonly description: string;
  run(ctx: ScenarioContext): Promise<BenchResult>;
}
