import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EnvConfig } from '@scoreq/contracts';

/** The compiled `scoreq` command. */
export const CLI = fileURLToPath(new URL('../../../apps/cli/dist/src/main.js', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** Every stdout line so far (the worker logs JSON lines there). */
  lines: string[];
  /** Resolves with the first stdout line that contains `text`, looking from line index `from` (default 0). */
  waitForLine(text: string, timeoutMs?: number, from?: number): Promise<string>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  /** Everything written to stderr so far. */
  stderr(): string;
}

/** Starts `scoreq <args>` as a child process with extra environment variables. */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const watchers: Array<{ text: string; resolve: (line: string) => void }> = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of watchers.filter((w) => line.includes(w.text))) {
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(line);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    waitForLine(text, timeoutMs = 30_000, from = 0) {
      const seen = lines.slice(from).find((l) => l.includes(text));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line with '${text}' within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        watchers.push({ text, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        void exited.then((code) => reject(new Error(`process exited (${code}) before printing '${text}'; stderr: ${stderr}`)));
      });
    },
  };
}

/**
 * Starts `scoreq worker` as a child process configured like an in-process test worker
 * (`testConfig`), logging at info, and resolves once it is consuming.
 */
export async function startWorkerProcess(config: EnvConfig, models?: string[]): Promise<CliProcess> {
  const env = Object.fromEntries(Object.entries({ ...config, LOG_LEVEL: 'info' }).map(([k, v]) => [k, String(v)]));
  const worker = startCli(models ? ['worker', '--models', models.join(',')] : ['worker'], env);
  await worker.waitForLine('"msg":"worker ready"');
  return worker;
}
