import type { FailedReply, InferencePool, LoadReply, RunReply, SessionKey, WireTensor } from '@scoreq/inference';

export interface VersionSessionsOptions {
  pool: InferencePool;
  key: SessionKey;
  /** The model file the threads load. */
  path: string;
  /** Rows per call when the model's batch axis is fixed; null when it is dynamic. */
  fixedBatch: number | null;
  /** True when the version's batcher holds no job, waiting or in flight. */
  idle: () => boolean;
  /** Called when a retirement's release is handed to the pool. */
  onReleased: () => void;
}

/**
 * One model version's sessions in the pool, as its batcher runs them. Retiring releases them
 * once the version's batcher is idle (its `onIdle` calls {@link VersionSessions.releaseIfIdle}).
 * The batcher stays open: a job that resolved the version just before it retired still scores
 * with it (its thread loads the session again), and the release is sent again once the
 * batcher is idle again. Reviving loads them again.
 */
export class VersionSessions {
  private readonly options: VersionSessionsOptions;
  private inFlight = 0;
  private retired = false;
  /** Whether this retirement's release was reported (a late batch sends it again, quietly). */
  private reported = false;

  constructor(options: VersionSessionsOptions) {
    this.options = options;
  }

  /** Runs one batch of this version: the batcher's `run`. */
  async run(inputs: WireTensor[]): Promise<RunReply | FailedReply> {
    const { pool, key, path, fixedBatch } = this.options;
    this.inFlight++;
    try {
      return await pool.run({ key, path, inputs, fixedBatch });
    } finally {
      this.inFlight--;
    }
  }

  /** Frees the sessions in every thread now if the batcher is idle, else after its last batch. */
  retire(): void {
    this.retired = true;
    this.reported = false;
    this.releaseIfIdle();
  }

  /** Loads and warms the sessions again in every thread, cancelling a release under way. */
  revive(): Promise<LoadReply> {
    this.retired = false;
    return this.options.pool.load(this.options.key, this.options.path);
  }

  /**
   * Frees the sessions in every thread if the version is retired and its batcher is idle: the
   * batcher's `onIdle`. Its last jobs may settle without a batch (all past their deadline), so
   * a finished batch is not the only moment the batcher goes idle.
   */
  releaseIfIdle(): void {
    if (!this.retired || this.inFlight > 0 || !this.options.idle()) return;
    void this.options.pool.release(this.options.key);
    if (!this.reported) this.options.onReleased();
    this.reported = true;
  }
}
