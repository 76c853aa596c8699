import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ScenarioContext } from '../scenario.js';

/** The compiled `scoreq` entry point this bench belongs to. */
const MAIN = fileURLToPath(new URL('../../main.js', import.meta.url));

/** A `scoreq` child process: the worker or a run producer, measured from outside. */
export interface CliChild {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the first output line (stdout or stderr) containing `text`. */
  waitFor(text: string): Promise<string>;
  /** Resolves with the exit code (or signal) and everything the process printed. */
  readonly exited: Promise<{ code: number | string; output: string[] }>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Extra node flags for the children, e.g. `SCOREQ_BENCH_CHILD_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof'`
 * to profile the worker and the producer of a bulk bench (node refuses --cpu-prof in NODE_OPTIONS).
 */
function childFlags(): string[] {
  return (process.env.SCOREQ_BENCH_CHILD_FLAGS ?? '').split(' ').filter((f) => f !== '');
}

export function startCliChild(args: string[], env: Record<string, string>): CliChild {
  const child = spawn(process.execPath, [...childFlags(), MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const watchers: { text: string; resolve: (line: string) => void }[] = [];
  const onLine = (line: string): void => {
    if (output.length < 1_000) output.push(line);
    for (const w of watchers.filter((x) => line.includes(x.text))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(line);
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: (code ?? signal) as number | string, output }));
  return {
    child,
    pid: child.pid!,
    exited,
    waitFor: (text) => {
      const seen = output.find((l) => l.includes(text));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        watchers.push({ text, resolve });
        void exited.then(({ code }) => reject(new Error(`scoreq ${args[0]} exited (${code}) before printing '${text}':\n${output.slice(-20).join('\n')}`)));
      });
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `scoreq worker --models <model>` as every bulk scenario runs it: the model from `modelsDir`,
 * the bench's Redis, prefix, threads and batching, metrics on a free loopback port.
 */
export function startBenchWorker(ctx: ScenarioContext, model: string, modelsDir: string): CliChild {
  const { options } = ctx;
  return startCliChild(['worker', '--models', model], {
    REDIS_URL: ctx.redisUrl,
    SCOREQ_PREFIX: ctx.prefix,
    SCOREQ_MODEL_SOURCE: 'directory',
    SCOREQ_MODELS_DIR: modelsDir,
    SCOREQ_POOL_THREADS: String(options.threads),
    SCOREQ_MAX_BATCH_ROWS: String(options.maxBatchRows),
    SCOREQ_MAX_DELAY_MS: String(options.maxDelayMs),
    SCOREQ_METRICS_PORT: '0',
    SCOREQ_METRICS_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });
}
