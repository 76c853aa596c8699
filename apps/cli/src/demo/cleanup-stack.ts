import type { Logger } from '@scoreq/telemetry';

/**
 * Things to undo, undone in reverse order with every step run even if one fails. A step
 * added after `unwind()` began (a worker that finished starting after Ctrl-C) is undone at
 * once, so an interrupted demo still leaves nothing running.
 */
export class CleanupStack {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private unwinding = false;

  constructor(private readonly logger: Logger) {}

  add(name: string, run: () => Promise<unknown>): void {
    if (!this.unwinding) {
      this.steps.push({ name, run });
      return;
    }
    run().catch((err: unknown) => this.logger.error({ err, step: name }, 'late clean-up step failed'));
  }

  /** Runs every step, last added first; resolves with the errors of the steps that failed. */
  async unwind(): Promise<unknown[]> {
    this.unwinding = true;
    const errors: unknown[] = [];
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (err) {
        this.logger.error({ err, step: step.name }, 'clean-up step failed');
        errors.push(err);
      }
    }
    return errors;
  }
}
