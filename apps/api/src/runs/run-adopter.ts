import type { RunInfo, ScoringClient } from '@scoreq/client';
import type { Logger } from '@scoreq/telemetry';
import type { RunManager } from './run-manager.js';
import type { RunsDir } from './runs-dir.js';

export interface RunAdopterDeps {
  client: ScoringClient;
  dir: RunsDir;
  runs: RunManager;
  logger: Logger;
  /** Time between sweeps; 0 sweeps once, at start. */
  intervalMs: number;
}

/**
 * Resumes the runs this API should be producing and nobody is: running, with their input and
 * output inside SCOREQ_RUNS_DIR, and no process holding their producer lock. That is every
 * run of this API after a restart or a crash, and those of another API instance that shares
 * the directory and died. The producer lock settles races: a run that another live process
 * produces is skipped, and is looked at again at the next sweep.
 */
export class RunAdopter {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<string[]> | undefined;
  private closed = false;

  constructor(private readonly deps: RunAdopterDeps) {}

  /** Sweeps now, then every `intervalMs`. */
  start(): void {
    void this.sweep();
    if (this.deps.intervalMs > 0) {
      this.timer = setInterval(() => void this.sweep(), this.deps.intervalMs);
      this.timer.unref();
    }
  }

  /** One sweep (joined if one is under way); resolves with the ids of the runs it resumed. */
  sweep(): Promise<string[]> {
    this.sweeping ??= this.sweepOnce()
      .catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'looking for runs to resume failed; trying again at the next sweep');
        return [];
      })
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.sweeping;
  }

  private async sweepOnce(): Promise<string[]> {
    const resumed: string[] = [];
    for (const info of await this.deps.client.runs.list({ status: 'running' })) {
      if (this.closed) break;
      if (!(await this.isOrphanOfOurs(info))) continue;
      if (await this.deps.runs.adopt(info)) resumed.push(info.id);
    }
    return resumed;
  }

  private async isOrphanOfOurs(info: RunInfo): Promise<boolean> {
    if (info.status !== 'running' || this.deps.runs.isProducing(info.id)) return false;
    const { dir } = this.deps;
    return (await dir.servable(info.input)) && (await dir.servable(info.output));
  }
}
