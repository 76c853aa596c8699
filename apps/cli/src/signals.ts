import type { Logger } from '@scoreq/telemetry';

/** The first shutdown signal a command receives, and how to stop listening. */
export interface ShutdownSignals {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly received: Promise<NodeJS.Signals>;
  /** Removes the listeners; call once the command has finished. */
  dispose(): void;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Graceful shutdown for long-running commands: the first SIGINT/SIGTERM resolves
 * `received` (the command drains and returns), a second one exits at once with code 1,
 * for when draining takes longer than the operator will wait. Exit hooks still run then,
 * so a redis-server the CLI started is killed either way.
 */
export function shutdownSignals(logger: Logger): ShutdownSignals {
  let first: NodeJS.Signals | undefined;
  let resolve!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onSignal = (signal: NodeJS.Signals): void => {
    if (first === undefined) {
      first = signal;
      logger.info({ signal }, 'shutting down gracefully; send the signal again to exit at once');
      resolve(signal);
      return;
    }
    logger.error({ signal, first }, 'second signal during shutdown: exiting without draining');
    process.exit(1);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    received,
    dispose: () => {
      for (const s of SIGNALS) process.removeListener(s, onSignal);
    },
  };
}
