import { ScoreqError } from '@scoreq/contracts';
import type { Logger } from '@scoreq/telemetry';
import { CleanupStack } from './demo/cleanup-stack.js';

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

/**
 * Runs a long command until it finishes or the first shutdown signal arrives, then always
 * undoes what it set up (`cleanup`, last in first out). An interruption fails with CANCELLED;
 * otherwise the command's own failure, or the first clean-up failure, is thrown.
 */
export async function runInterruptibly<T>(what: string, logger: Logger, work: (cleanup: CleanupStack) => Promise<T>): Promise<T> {
  const signals = shutdownSignals(logger);
  const cleanup = new CleanupStack(logger);
  cleanup.add('signal listeners', async () => signals.dispose());
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    const interrupted = signals.received.then((signal): never => {
      throw new ScoreqError('CANCELLED', `${what} interrupted by ${signal}; cleaning up`);
    });
    const running = work(cleanup);
    // The losing promise must not surface as an unhandled rejection: once interrupted, the
    // work's pending calls fail as clean-up closes their connections, and that is expected.
    running.catch((err: unknown) => logger.debug({ err }, `${what} ended after interruption`));
    interrupted.catch(() => undefined);
    outcome = { ok: true, value: await Promise.race([running, interrupted]) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const cleanupErrors = await cleanup.unwind();
  if (!outcome.ok) throw outcome.error;
  if (cleanupErrors.length > 0) throw cleanupErrors[0];
  return outcome.value;
}
