import type { ModelSource } from '@scoreq/registry';
import type { Logger } from '@scoreq/telemetry';
import type { ServedModel } from './served-model.js';

/**
 * Applies model changes the source announces (promotion, rollback, new or removed version)
 * while traffic flows. Reloads of one model run one at a time, and a burst of events while
 * one runs collapses into a single follow-up reload that reads the latest state.
 */
export class HotReloader {
  private readonly source: ModelSource;
  private readonly models: Map<string, ServedModel>;
  private readonly logger: Logger;
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued = new Set<string>();

  constructor(source: ModelSource, models: ServedModel[], logger: Logger) {
    this.source = source;
    this.models = new Map(models.map((m) => [m.name, m]));
    this.logger = logger;
  }

  /** Subscribes to the source's change events; resolves to an unsubscribe (a no-op when the source cannot watch). */
  async start(): Promise<() => Promise<void>> {
    if (!this.source.watch) return async () => undefined;
    const stop = await this.source.watch((name) => this.changed(name));
    return async () => {
      await stop();
      await Promise.allSettled([...this.running.values()]);
    };
  }

  /** Called for every change event; resolves once the model's state is current. */
  changed(name: string): Promise<void> {
    const model = this.models.get(name);
    if (!model) return Promise.resolve();
    const current = this.running.get(name);
    if (current) {
      this.queued.add(name);
      return current;
    }
    const run = this.reload(model).finally(() => {
      this.running.delete(name);
      if (this.queued.delete(name)) void this.changed(name);
    });
    this.running.set(name, run);
    return run;
  }

  private async reload(model: ServedModel): Promise<void> {
    try {
      const next = await this.source.getModel(model.name);
      if (!next) {
        this.logger.warn({ model: model.name }, 'model vanished from the source; still serving the last state');
        return;
      }
      await model.apply(next);
    } catch (err) {
      this.logger.error({ err, model: model.name }, 'model reload failed; still serving the last state');
    }
  }
}
