import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { loadConfig, ScoreqError, type ModelAliasMove, type ModelRecord, type ModelVersionRecord, type TensorSpec } from '@scoreq/contracts';
import {
  defaultActor,
  formatBytes,
  formatValidationReport,
  ModelRegistry,
  registryOptionsFromConfig,
  type AliasChange,
  type ValidationReport,
} from '@scoreq/registry';
import { formatTable } from '../output/table.js';
import { requireRedis } from '../redis/ping.js';

/** How long the start-up check waits for Redis to answer PING. */
const REDIS_PING_TIMEOUT_MS = 2_000;

interface JsonOption {
  json?: boolean;
}
interface PushCommandOptions extends JsonOption {
  metadata?: string;
  author?: string;
  comment?: string;
}
interface MoveCommandOptions extends JsonOption {
  alias: string;
  by: string;
  reason?: string;
}
interface PromoteCommandOptions extends MoveCommandOptions {
  force?: boolean;
}
interface RemoveCommandOptions extends JsonOption {
  alias?: string;
  by: string;
  reason?: string;
}

/** Where command output goes; errors go through `reportError`. */
function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/**
 * Runs `fn` with a registry on the configured Redis and store (REDIS_URL, SCOREQ_PREFIX,
 * SCOREQ_MODEL_STORE…), then closes everything it opened, so the command exits promptly.
 */
async function withRegistry<T>(fn: (registry: ModelRegistry) => Promise<T>): Promise<T> {
  const config = loadConfig();
  await requireRedis(config.REDIS_URL, REDIS_PING_TIMEOUT_MS, 'Start it, or point REDIS_URL at the Redis your workers use.');
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 });
  const registry = new ModelRegistry(registryOptionsFromConfig(config, redis));
  try {
    return await fn(registry);
  } finally {
    await registry.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** Reads `--metadata <file>` as JSON; its fields are checked by the registry. */
async function readMetadataFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ScoreqError('INVALID_OPTION', `--metadata: cannot read ${path}: ${(err as Error).message}`, { option: 'metadata' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ScoreqError('INVALID_METADATA', `--metadata: ${path} is not valid JSON: ${(err as Error).message}`, { field: 'metadata' });
  }
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new ScoreqError('INVALID_OPTION', `--limit must be a whole number from 1, got ${JSON.stringify(value)}`, { option: 'limit' });
  return n;
}

const tensor = (t: TensorSpec): string => `${t.name} ${t.type} [${t.shape.join(', ')}]`;
const short = (sha256: string): string => sha256.slice(0, 12);
const byNumber = (a: string, b: string): number => Number(a) - Number(b);

function aliasList(record: ModelRecord): string {
  const entries = Object.entries(record.aliases).sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([a, v]) => `${a}=${v}`).join(', ') || '-';
}

function signatureLines(v: ModelVersionRecord): string[] {
  const batch = v.signature.batch.dynamic ? 'dynamic (batched)' : `fixed at ${v.signature.batch.size} (batching off)`;
  return [`  inputs:  ${v.signature.inputs.map(tensor).join('; ')}`, `  outputs: ${v.signature.outputs.map(tensor).join('; ')}`, `  batch:   ${batch}`];
}

function describeMove(change: AliasChange): string {
  const { move } = change;
  const from = move.from === null ? 'nothing' : `v${move.from}`;
  const to = move.to === null ? 'nothing (alias removed)' : `v${move.to}`;
  return `${change.model} ${move.alias}: ${from} → ${to}${move.reason ? ` (${move.reason})` : ''}`;
}

async function push(name: string, file: string, opts: PushCommandOptions): Promise<void> {
  const metadata = opts.metadata === undefined ? undefined : await readMetadataFile(opts.metadata);
  const result = await withRegistry((r) =>
    r.push(name, file, {
      metadata,
      ...(opts.author === undefined ? {} : { author: opts.author }),
      ...(opts.comment === undefined ? {} : { comment: opts.comment }),
    }),
  );
  if (opts.json) return printJson(result);
  const v = result.version;
  print(`pushed ${name} v${v.version} (sha256 ${short(v.sha256)}, ${formatBytes(v.size)}) by ${v.author ?? '-'}`);
  print(signatureLines(v).join('\n'));
  if (result.removed.length > 0)
    print(`retention deleted unaliased version${result.removed.length === 1 ? '' : 's'} ${result.removed.map((n) => `v${n}`).join(', ')}`);
  print(`next: scoreq models validate ${name} ${v.version}, then scoreq models promote ${name} ${v.version}`);
}

async function list(opts: JsonOption): Promise<void> {
  const records = await withRegistry((r) => r.list());
  if (opts.json) return printJson(records);
  if (records.length === 0) return print('no models yet: scoreq models push <name> <file.onnx>');
  const rows = records.map((rec) => {
    const numbers = Object.keys(rec.versions).sort(byNumber);
    const latest = rec.versions[numbers.at(-1) ?? ''];
    return [rec.name, String(numbers.length), latest ? `v${latest.version}` : '-', aliasList(rec), latest?.createdAt ?? '-'];
  });
  print(formatTable(['model', 'versions', 'latest', 'aliases', 'last push'], rows, ['left', 'right']));
}

async function show(name: string, ref: string | undefined, opts: JsonOption): Promise<void> {
  const { record, version } = await withRegistry(async (r) => ({
    record: await r.get(name),
    version: ref === undefined ? undefined : await r.version(name, ref),
  }));
  if (version === undefined) {
    if (opts.json) return printJson(record);
    const rows = Object.values(record.versions)
      .sort((a, b) => byNumber(a.version, b.version))
      .map((v) => [`v${v.version}`, v.createdAt, v.author ?? '-', formatBytes(v.size), short(v.sha256), aliasesOf(record, v.version) || '-', v.comment ?? '']);
    print(`${name}: aliases ${aliasList(record)}`);
    print(formatTable(['version', 'created', 'author', 'size', 'sha256', 'aliases', 'comment'], rows, ['left', 'left', 'left', 'right']));
    return;
  }
  if (opts.json) return printJson(version);
  const aliases = aliasesOf(record, version.version);
  print(`${name} v${version.version}${aliases ? ` (${aliases})` : ''}`);
  print(`  created: ${version.createdAt} by ${version.author ?? '-'}${version.comment ? ` (${version.comment})` : ''}`);
  print(`  sha256:  ${version.sha256} (${formatBytes(version.size)})`);
  print(signatureLines(version).join('\n'));
  print(`  metadata: ${JSON.stringify(version.metadata, null, 2).replace(/\n/g, '\n  ')}`);
}

function aliasesOf(record: ModelRecord, version: string): string {
  return Object.entries(record.aliases)
    .filter(([, n]) => n === version)
    .map(([a]) => a)
    .sort()
    .join(', ');
}

async function promote(name: string, version: string, opts: PromoteCommandOptions): Promise<void> {
  let change: AliasChange;
  try {
    change = await withRegistry((r) =>
      r.promote(name, version, { alias: opts.alias, by: opts.by, ...(opts.reason === undefined ? {} : { reason: opts.reason }), force: opts.force === true }),
    );
  } catch (err) {
    // Like `validate --json`: the report on stdout for scripts; the error still sets the exit code.
    const report = refusedReport(err);
    if (opts.json && report) printJson(report);
    throw err;
  }
  if (opts.json) return printJson(change);
  if (change.report) print(formatValidationReport(change.report));
  else print('validation skipped (--force)');
  print(`promoted ${describeMove(change)}`);
}

/** The validation report a VALIDATION_FAILED refusal carries, if `err` is one. */
function refusedReport(err: unknown): ValidationReport | undefined {
  const { code, details } = err as { code?: unknown; details?: { report?: ValidationReport } };
  return code === 'VALIDATION_FAILED' ? details?.report : undefined;
}

async function rollback(name: string, opts: MoveCommandOptions): Promise<void> {
  const change = await withRegistry((r) => r.rollback(name, { alias: opts.alias, by: opts.by, ...(opts.reason === undefined ? {} : { reason: opts.reason }) }));
  if (opts.json) return printJson(change);
  print(`rolled back ${describeMove(change)}`);
}

async function validate(name: string, version: string, opts: JsonOption & { against: string }): Promise<void> {
  const report: ValidationReport = await withRegistry((r) => r.validate(name, version, { against: opts.against }));
  if (opts.json) printJson(report);
  else print(formatValidationReport(report));
  if (!report.ok) {
    throw new ScoreqError(
      'VALIDATION_FAILED',
      `${name} v${report.version} failed validation (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'})`,
      {
        model: name,
        version: report.version,
      },
    );
  }
}

async function history(name: string, opts: JsonOption & { alias?: string; limit?: string }): Promise<void> {
  const moves: ModelAliasMove[] = await withRegistry((r) =>
    r.history(name, { ...(opts.alias === undefined ? {} : { alias: opts.alias }), ...(opts.limit === undefined ? {} : { limit: parseLimit(opts.limit) }) }),
  );
  if (opts.json) return printJson(moves);
  if (moves.length === 0) return print(`${name}: no alias has moved yet`);
  const v = (n: string | null): string => (n === null ? '-' : `v${n}`);
  const rows = moves.map((m) => [m.at, m.alias, m.kind, v(m.from), v(m.to), m.by, m.reason]);
  print(formatTable(['at', 'alias', 'kind', 'from', 'to', 'by', 'reason'], rows));
}

async function remove(name: string, version: string | undefined, opts: RemoveCommandOptions): Promise<void> {
  if ((version === undefined) === (opts.alias === undefined)) {
    throw new ScoreqError('INVALID_OPTION', 'give a version to delete or --alias <alias> to remove, not both and not neither', { option: 'alias' });
  }
  if (opts.alias !== undefined) {
    const alias = opts.alias;
    const change = await withRegistry((r) => r.removeAlias(name, alias, { by: opts.by, ...(opts.reason === undefined ? {} : { reason: opts.reason }) }));
    if (opts.json) return printJson(change);
    return print(`removed alias ${describeMove(change)}`);
  }
  const result = await withRegistry((r) => r.remove(name, version!));
  if (opts.json) return printJson(result);
  print(`deleted ${name} v${result.version.version}${result.modelRemoved ? ` (its last version: ${name} is no longer listed)` : ''}`);
}

/**
 * `scoreq models …`: the model repository on the Redis of REDIS_URL and the store of
 * SCOREQ_MODEL_STORE. Every subcommand prints a readable table or report, or JSON with --json.
 */
export function registerModels(program: Command): void {
  const by = defaultActor();
  const models = program.command('models').description('Model repository: push versions, promote and roll back aliases with validation, history, retention');

  models
    .command('push')
    .description('Register a .onnx file as the next version of a model (checked with onnxruntime first)')
    .argument('<name>', 'model name: letters, digits, _ and -')
    .argument('<file>', 'the .onnx file')
    .option('--metadata <file>', 'metadata JSON: features, preprocessing, output labels, batching, samples, expected…')
    .option('--author <who>', `who registers it (default: ${by})`)
    .option('--comment <text>', 'why this version exists')
    .option('--json', 'print JSON')
    .action(push);

  models.command('list').description('Every model with its versions and aliases').option('--json', 'print JSON').action(list);

  models
    .command('show')
    .description("A model's versions, or one version's signature and metadata")
    .argument('<name>')
    .argument('[version]', 'version number, alias or latest')
    .option('--json', 'print JSON')
    .action(show);

  models
    .command('promote')
    .description('Validate a version, compare it with what the alias points at now, then point the alias at it')
    .argument('<name>')
    .argument('<version>', 'version number, alias or latest')
    .option('--alias <alias>', 'alias to move', 'production')
    .option('--by <who>', 'recorded in the history', by)
    .option('--reason <text>', 'recorded in the history')
    .option('--force', 'skip validation')
    .option('--json', 'print JSON')
    .action(promote);

  models
    .command('rollback')
    .description('Move the alias back to its previous target (from the history)')
    .argument('<name>')
    .option('--alias <alias>', 'alias to move back', 'production')
    .option('--by <who>', 'recorded in the history', by)
    .option('--reason <text>', 'recorded in the history')
    .option('--json', 'print JSON')
    .action(rollback);

  models
    .command('validate')
    .description('Load a version, run samples, check outputs and compare with an alias; exit 1 if it fails')
    .argument('<name>')
    .argument('<version>', 'version number, alias or latest')
    .option('--against <alias>', 'alias whose version the outputs are compared with', 'production')
    .option('--json', 'print JSON')
    .action(validate);

  models
    .command('history')
    .description('Every alias move: who, when, why')
    .argument('<name>')
    .option('--alias <alias>', 'only this alias')
    .option('--limit <n>', 'only the newest n moves')
    .option('--json', 'print JSON')
    .action(history);

  models
    .command('rm')
    .description('Delete a version no alias points at, or remove an alias with --alias')
    .argument('<name>')
    .argument('[version]', 'version number to delete')
    .option('--alias <alias>', 'remove this alias instead of a version')
    .option('--by <who>', 'recorded in the history when an alias is removed', by)
    .option('--reason <text>', 'recorded in the history when an alias is removed')
    .option('--json', 'print JSON')
    .action(remove);
}
