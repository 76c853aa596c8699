import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Makes sure a redis-server the CLI started never outlives it. Children are killed (and
 * their temp dirs removed) when the process exits for any reason Node can see: a normal
 * end, `process.exit()`, an uncaught exception, or a SIGINT/SIGTERM/SIGHUP that nothing
 * else handles. When a command handles the signal itself (`scoreq worker` drains on
 * SIGTERM), that command owns the shutdown and calls `stop()`; the exit hook stays as the
 * backstop. Only SIGKILL of the CLI can orphan the child: nothing in Node runs then.
 *
 * Process-wide by nature, so one set of listeners serves every tracked child.
 */
interface Tracked {
  child: ChildProcess;
  dir: string;
}

const tracked = new Set<Tracked>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function reapAll(): void {
  for (const t of tracked) {
    if (t.child.exitCode === null && t.child.signalCode === null) t.child.kill('SIGKILL');
    rmSync(t.dir, { recursive: true, force: true });
  }
  tracked.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener means a command is shutting down gracefully and will stop Redis itself.
  if (process.listenerCount(signal) > 1) return;
  reapAll();
  uninstall();
  // Nobody else handles it: die of the signal as the default action would have.
  process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', reapAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.removeListener('exit', reapAll);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/** Registers a child for clean-up at exit; returns the function that unregisters it. */
export function trackChild(child: ChildProcess, dir: string): () => void {
  const entry: Tracked = { child, dir };
  if (tracked.size === 0) install();
  tracked.add(entry);
  return () => {
    if (!tracked.delete(entry)) return;
    if (tracked.size === 0) uninstall();
  };
}
