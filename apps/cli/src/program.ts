import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerApi } from './commands/api.js';
import { registerBench } from './commands/bench.js';
import { registerDemo } from './commands/demo.js';
import { registerKeys } from './commands/keys.js';
import { registerModels } from './commands/models.js';
import { registerRun } from './commands/run.js';
import { registerWebhooks } from './commands/webhooks.js';
import { registerWorker } from './commands/worker.js';
import { reportError } from './errors.js';

/**
 * Every command, one file each under `commands/`. A new command (`models`, `run`, `bench`,
 * `api`) exports a `register…(program)` function and is added here; nothing else changes.
 */
const COMMANDS: readonly ((program: Command) => void)[] = [
  registerDemo,
  registerWorker,
  registerBench,
  registerModels,
  registerRun,
  registerWebhooks,
  registerApi,
  registerKeys,
];

function cliVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? version : '0.0.0';
}

/** The `scoreq` command tree. Commander throws instead of exiting, so {@link run} owns exit codes. */
export function createProgram(): Command {
  // exitOverride first: subcommands copy it when they are created.
  const program = new Command('scoreq')
    .exitOverride()
    .description('Queue-driven, micro-batched ONNX inference on Redis: workers, a demo, and tools around them.')
    .version(cliVersion())
    .showHelpAfterError('(run scoreq --help for usage)')
    .showSuggestionAfterError();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Parses `argv`, runs the command and returns the process exit code; never throws. */
export async function run(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync([...argv]);
    return 0;
  } catch (err) {
    return reportError(err);
  }
}
