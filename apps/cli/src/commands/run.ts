import type { Command } from 'commander';
import { loadConfig, ScoreqError, type EnvConfig } from '@scoreq/contracts';
import { ScoringClient, type RunFileFormat, type RunInfo, type RunStatus } from '@scoreq/client';
import { announceRunFinished, createProgress, describeProgress, startRun, type RunOptions } from '@scoreq/runs';
import { createLogger } from '@scoreq/telemetry';
import { checkCallbackUrl } from '@scoreq/webhooks';
import { formatTable } from '../output/table.js';
import { DEFAULT_NICE, niceness, yieldCpu } from './run-priority.js';
import { requireRedis } from '../redis/ping.js';
import { shutdownSignals } from '../signals.js';
import { openRunNotifier } from './run-webhooks.js';

/** How long the start-up check waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 2_000;
const REDIS_HINT = 'Start it, or point REDIS_URL at the Redis your workers use.';

/** Options of `scoreq run` as commander parses them: strings until resolved. */
interface RunCommandOptions {
  model?: string;
  input?: string;
  output?: string;
  id?: string;
  chunkRows?: string;
  window?: string;
  callback?: string;
  passThrough?: string;
  rejects?: string;
  maxRejectRate?: string;
  inputFormat?: string;
  outputFormat?: string;
  progress?: string;
  nice?: string;
}

/** Where `run` writes: result lines on stdout, progress on stderr. */
export interface RunIo {
  print(line: string): void;
  progressStream: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const DEFAULT_IO: RunIo = { print: (line) => void process.stdout.write(`${line}\n`), progressStream: process.stderr, env: process.env };

/** Commander's strings → {@link RunOptions} (without connection); values are checked by startRun. */
export function runOptions(opts: RunCommandOptions): Omit<RunOptions, 'connection'> {
  for (const name of ['model', 'input', 'output'] as const) {
    if (opts[name] === undefined)
      throw new ScoreqError('INVALID_OPTION', `--${name} is required (scoreq run --model <name[@version]> --input <file|-> --output <file>)`, { option: name });
  }
  const options: Omit<RunOptions, 'connection'> = { model: opts.model!, input: opts.input!, output: opts.output! };
  if (opts.id !== undefined) options.id = opts.id;
  if (opts.chunkRows !== undefined) options.chunkRows = number('chunk-rows', opts.chunkRows);
  if (opts.window !== undefined) options.window = number('window', opts.window);
  if (opts.callback !== undefined) options.callbackUrl = opts.callback;
  if (opts.passThrough !== undefined) options.passThrough = list(opts.passThrough);
  if (opts.rejects !== undefined) options.rejects = opts.rejects;
  if (opts.maxRejectRate !== undefined) options.maxRejectRate = number('max-reject-rate', opts.maxRejectRate);
  if (opts.inputFormat !== undefined) options.inputFormat = opts.inputFormat as RunFileFormat;
  if (opts.outputFormat !== undefined) options.outputFormat = opts.outputFormat as RunFileFormat;
  return options;
}

/**
 * `scoreq run …`: produces a run in this process until it ends, then queues its webhook (with
 * --callback). The first SIGINT/SIGTERM stops it at the next chunk, leaving it resumable (the
 * same command with the same --id continues).
 */
export async function runStart(opts: RunCommandOptions, io: RunIo = DEFAULT_IO): Promise<void> {
  const options = runOptions(opts);
  const nice = niceness(opts.nice);
  const config = loadConfig(io.env);
  await requireRedis(config.REDIS_URL, REDIS_PING_TIMEOUT_MS, REDIS_HINT);
  if (options.callbackUrl !== undefined) await checkCallbackUrl(options.callbackUrl, config.SCOREQ_WEBHOOK_ALLOW);
  const logger = createLogger({ level: config.LOG_LEVEL, service: 'scoreq-run', destination: process.stderr });
  const onError = (err: Error): void => logger.debug({ err }, 'background connection error');
  const progress = progressFor(opts.progress, io.progressStream);
  yieldCpu(nice, logger);
  const signals = shutdownSignals(logger);
  const notifier = openRunNotifier(config, onError);
  try {
    const handle = await startRun({
      ...options,
      connection: config.REDIS_URL,
      prefix: config.SCOREQ_PREFIX,
      onProgress: (info) => progress.update(info),
      onFinished: notifier.onFinished,
      onError,
    });
    io.print(`run ${handle.id} ${handle.resumed ? 'resumed' : 'started'}: ${options.model} ${options.input} → ${options.output}`);
    const stopped = signals.received.then(() => handle.stop());
    stopped.catch(() => undefined);
    const final = await Promise.race([handle.finished, stopped]);
    progress.stop(final);
    report(final, io);
  } finally {
    progress.stop();
    signals.dispose();
    await notifier.close();
  }
}

/** Prints a finished run's summary; throws (exit 1) unless it completed. */
function report(info: RunInfo, io: RunIo): void {
  if (info.status === 'running') {
    throw new ScoreqError('CANCELLED', `run ${info.id} interrupted after ${info.processed} rows; it is resumable: run the same command with --id ${info.id}`, {
      id: info.id,
    });
  }
  if (info.status === 'completed') {
    io.print(`run ${info.id} completed: ${info.done} rows scored, ${info.rejected} rejected, ${info.failed} failed → ${info.output}`);
    if (info.rejected + info.failed > 0) io.print(`rejected and failed rows (line numbers and reasons): ${info.rejects}`);
    return;
  }
  const error = info.error ?? { code: 'INTERNAL' as const, message: `run ${info.id} ${info.status}` };
  throw new ScoreqError(error.code, error.message, { id: info.id });
}

async function withClient<T>(io: RunIo, fn: (client: ScoringClient, config: EnvConfig) => Promise<T>): Promise<T> {
  const config = loadConfig(io.env);
  await requireRedis(config.REDIS_URL, REDIS_PING_TIMEOUT_MS, REDIS_HINT);
  const client = new ScoringClient({ connection: config.REDIS_URL, prefix: config.SCOREQ_PREFIX });
  try {
    return await fn(client, config);
  } finally {
    await client.close();
  }
}

/** `scoreq run status <id>`: one summary line, or the whole state with --json. */
export function runStatus(id: string, opts: { json?: boolean }, io: RunIo = DEFAULT_IO): Promise<void> {
  return withClient(io, async (client) => {
    const info = await client.runs.status(id);
    if (opts.json) {
      io.print(JSON.stringify(info));
      return;
    }
    io.print(describeProgress(info));
    io.print(`  model ${info.model} version ${info.version} (${info.versionRef}); ${info.input} → ${info.output}; rejects ${info.rejects}`);
    if (info.status === 'running' && !info.producerAlive)
      io.print('  its producer has stopped (killed or interrupted): run the same `scoreq run` command with --id to resume it');
    if (info.error) io.print(`  error [${info.error.code}]: ${info.error.message}`);
  });
}

const RUN_STATUSES: readonly RunStatus[] = ['running', 'completed', 'failed', 'cancelled'];

/** `scoreq run list`: every run whose state is kept, newest first, as a table or JSON lines. */
export function runList(opts: { status?: string; json?: boolean }, io: RunIo = DEFAULT_IO): Promise<void> {
  const status = opts.status;
  if (status !== undefined && !RUN_STATUSES.includes(status as RunStatus)) {
    throw new ScoreqError('INVALID_OPTION', `--status must be one of ${RUN_STATUSES.join(', ')}, got '${status}'`, { option: 'status' });
  }
  return withClient(io, async (client) => {
    const runs = await client.runs.list(status === undefined ? {} : { status: status as RunStatus });
    if (opts.json) {
      for (const info of runs) io.print(JSON.stringify(info));
      return;
    }
    if (runs.length === 0) {
      io.print(status === undefined ? 'no runs' : `no ${status} runs`);
      return;
    }
    const rows = runs.map((r) => [
      r.id,
      `${r.model}@${r.version}`,
      r.status === 'running' && !r.producerAlive ? 'running (no producer)' : r.status,
      `${r.done}${r.total === undefined ? '' : `/${r.total}`}`,
      String(r.rejected + r.failed),
      new Date(r.startedAt).toISOString().replace('T', ' ').slice(0, 19),
    ]);
    io.print(formatTable(['run', 'model', 'status', 'rows done', 'rejected', 'started (UTC)'], rows, ['left', 'left', 'left', 'right', 'right']));
  });
}

/** `scoreq run wait <id>`: progress until the run ends; exit 0 only if it completed. */
export function runWait(id: string, opts: { timeout?: string; progress?: string }, io: RunIo = DEFAULT_IO): Promise<void> {
  return withClient(io, async (client) => {
    const progress = progressFor(opts.progress, io.progressStream);
    try {
      const timeoutMs = opts.timeout === undefined ? undefined : Math.round(number('timeout', opts.timeout) * 1000);
      const final = await client.runs.wait(id, { ...(timeoutMs === undefined ? {} : { timeoutMs }), onProgress: (info) => progress.update(info) });
      progress.stop(final);
      report(final, io);
    } finally {
      progress.stop();
    }
  });
}

/**
 * `scoreq run cancel <id>`. Also queues the run's webhook: its producer does when it is alive,
 * but it may be gone (whoever comes first announces the run, once).
 */
export function runCancel(id: string, io: RunIo = DEFAULT_IO): Promise<void> {
  return withClient(io, async (client, config) => {
    if (!(await client.runs.cancel(id))) {
      io.print(`run ${id} was not running (status: ${(await client.runs.status(id)).status}); nothing to cancel`);
      return;
    }
    io.print(`run ${id} cancelled`);
    const notifier = openRunNotifier(config, () => undefined);
    try {
      await announceRunFinished({ redis: notifier.redis, prefix: config.SCOREQ_PREFIX, id, onFinished: notifier.onFinished });
    } finally {
      await notifier.close();
    }
  });
}

export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description(
      "Score a CSV or JSONL file into a file through the model's bulk queue: streamed in binary chunks, output in input order, " +
        'bad rows to a rejects file, resumable (the same command with the same --id continues where it stopped)',
    )
    .option('--model <name[@version]>', 'model, optionally with a version number or alias (default alias: production); pinned when the run starts')
    .option('--input <file|->', 'input .csv, .jsonl or .ndjson file, or - for standard input')
    .option('--output <file>', 'output .csv, .jsonl or .ndjson file')
    .option('--id <runId>', 'run id (1-64 of [A-Za-z0-9_-]); the id of an unfinished run resumes it (default: a new id)')
    .option('--chunk-rows <n>', 'rows per chunk job (default 1024)')
    .option('--window <n>', 'most chunks outstanding at once (default 16)')
    .option('--callback <url>', 'URL that receives the signed run.completed / run.failed / run.cancelled webhook when the run ends')
    .option('--pass-through <cols>', 'comma-separated input columns copied in front of the predictions, e.g. an id')
    .option('--rejects <file>', 'where bad rows go, as CSV line,field,reason (default: <output>.rejects.csv)')
    .option('--max-reject-rate <share>', 'largest share of bad rows before the run stops as failed, 0-1 (default 0.05)')
    .option('--input-format <csv|jsonl>', 'input format when the extension does not say (default for -: csv)')
    .option('--output-format <csv|jsonl>', 'output format when the extension does not say')
    .option('--progress <bar|lines|none>', 'progress on stderr (default: bar on a terminal, lines otherwise)')
    .option(
      '--nice <0-19>',
      `CPU niceness of this producer, so a run on a host shared with workers leaves the CPU to real-time jobs first (default ${DEFAULT_NICE}; 0 keeps the current priority)`,
    )
    .addHelpText('after', '\nRuns on REDIS_URL under SCOREQ_PREFIX; workers (scoreq worker) score the chunks.')
    .action((opts: RunCommandOptions) => runStart(opts));
  run
    .command('list')
    .description('List runs whose state is kept (running ones, finished ones until their state expires), newest first')
    .option('--status <running|completed|failed|cancelled>', 'only runs in this state')
    .option('--json', 'one JSON line per run')
    .action((opts: { status?: string; json?: boolean }) => runList(opts));
  run
    .command('status')
    .description("Show a run's progress and state (from any machine)")
    .argument('<id>', 'run id')
    .option('--json', 'print the whole state as one JSON line')
    .action((id: string, opts: { json?: boolean }) => runStatus(id, opts));
  run
    .command('wait')
    .description('Wait for a run to end, showing progress; exit 0 only if it completed')
    .argument('<id>', 'run id')
    .option('--timeout <seconds>', 'give up after this long (exit 1)')
    .option('--progress <bar|lines|none>', 'progress on stderr (default: bar on a terminal, lines otherwise)')
    .action((id: string, opts: { timeout?: string; progress?: string }) => runWait(id, opts));
  run
    .command('cancel')
    .description('Cancel a run: its producer stops and its waiting chunk jobs are removed')
    .argument('<id>', 'run id')
    .action((id: string) => runCancel(id));
}

function progressFor(mode: string | undefined, stream: NodeJS.WriteStream): { update(info: RunInfo): void; stop(info?: RunInfo): void } {
  if (mode === 'none') return { update: () => undefined, stop: () => undefined };
  if (mode !== undefined && mode !== 'bar' && mode !== 'lines') {
    throw new ScoreqError('INVALID_OPTION', `--progress must be bar, lines or none, got ${JSON.stringify(mode)}`, { option: 'progress' });
  }
  return createProgress({ stream, ...(mode === undefined ? {} : { tty: mode === 'bar' }) });
}

function number(name: string, value: string): number {
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) throw new ScoreqError('INVALID_OPTION', `--${name} must be a number, got ${JSON.stringify(value)}`, { option: name });
  return n;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
