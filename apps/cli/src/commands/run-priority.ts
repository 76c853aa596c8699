import { getPriority, setPriority } from 'node:os';
import { ScoreqError } from '@scoreq/contracts';

/** Niceness `scoreq run` takes by default: a run yields the CPU to real-time work on a shared host. */
export const DEFAULT_NICE = 10;

/** `--nice` as a number: 0-19, default {@link DEFAULT_NICE}. */
export function niceness(value: string | undefined): number {
  if (value === undefined) return DEFAULT_NICE;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 19)
    throw new ScoreqError('INVALID_OPTION', `--nice must be a whole number from 0 to 19, got '${value}'`, { option: 'nice' });
  return n;
}

/**
 * Lowers the producer's CPU priority. Parsing is the producer's work and it runs on the main
 * thread, the one `setPriority` changes; on a host shared with workers, single jobs then keep
 * their latency while a run goes, and the run loses nothing when the CPU is otherwise idle.
 */
export function yieldCpu(nice: number, logger: { warn(obj: object, msg: string): void }): void {
  if (nice === 0) return;
  try {
    setPriority(Math.max(getPriority(), nice)); // never raises it: that needs privileges
  } catch (err) {
    logger.warn({ err }, `could not lower this process's CPU priority to nice ${nice}; going on at the current one`);
  }
}
