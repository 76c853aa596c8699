import { assertAliasName, ScoreqError, type ModelAliasMove, type ModelRecord, type ModelVersionRecord } from '@scoreq/contracts';
import { defaultActor } from './actor.js';
import { rollbackTarget } from './alias-history.js';
import type { RecordChange, RecordState } from './model-records.js';
import type { MoveOptions } from './registry-types.js';
import { versionsToDrop } from './retention.js';
import { aliasesOf, resolveRef, sortedVersions } from './version-ref.js';

/**
 * The registry's changes as pure functions of what a transaction read: each returns the
 * record to write, the alias moves and the event, or throws the error that refuses it.
 * `ModelRegistry` runs them inside `ModelRecords.update`, which retries them on a race.
 */

/** Who moves which alias and why, with the defaults filled in. */
export interface AliasMoveRequest {
  alias: string;
  by: string;
  reason: string;
}

export function aliasMoveRequest(options: MoveOptions): AliasMoveRequest {
  const alias = options.alias ?? 'production';
  assertAliasName(alias);
  return { alias, by: options.by ?? defaultActor(), reason: options.reason ?? '' };
}

export function modelNotFound(name: string): ScoreqError {
  return new ScoreqError('MODEL_NOT_FOUND', `the registry has no model '${name}'; push one first (scoreq models push ${name} model.onnx)`, { model: name });
}

/** A pushed version gets the next number; retention drops old unaliased versions in the same change. */
export function pushChange(
  state: RecordState,
  name: string,
  draft: ModelVersionRecord,
  keepUnaliased: number,
): RecordChange<{ version: ModelVersionRecord; dropped: ModelVersionRecord[] }> {
  const record = state.record ?? { name, versions: {}, aliases: {} };
  const number = Math.max(state.seq, ...Object.keys(record.versions).map(Number)) + 1;
  const at = new Date().toISOString();
  const version: ModelVersionRecord = { ...draft, version: String(number), createdAt: at };
  const next: ModelRecord = { ...record, versions: { ...record.versions, [version.version]: version } };
  const drop = versionsToDrop(next, state.history, keepUnaliased);
  for (const v of drop) delete next.versions[v];
  return {
    record: next,
    seq: number,
    event: { kind: 'push', version: version.version, alias: null, at },
    result: { version, dropped: drop.map((v) => record.versions[v]!) },
  };
}

export function promoteChange(state: RecordState, name: string, version: string, request: AliasMoveRequest): RecordChange<ModelAliasMove> {
  const record = existing(state.record, name);
  resolveRef(record, version); // VERSION_NOT_FOUND if it was deleted meanwhile
  return moveAlias(record, { ...request, from: record.aliases[request.alias] ?? null, to: version, kind: 'promote' });
}

/** Back to the alias's previous target, as the history says, skipping versions deleted since. */
export function rollbackChange(state: RecordState, name: string, request: AliasMoveRequest): RecordChange<ModelAliasMove> {
  const record = existing(state.record, name);
  const { alias } = request;
  const from = record.aliases[alias];
  if (from === undefined) throw noAlias(record, alias);
  const to = rollbackTarget(state.history, alias, from, (v) => record.versions[v] !== undefined);
  if (to === undefined) {
    throw new ScoreqError(
      'ALIAS_NOT_FOUND',
      `${alias} of model '${name}' has no earlier target to roll back to (it points at v${from}); promote the version you want instead`,
      { model: name, alias },
    );
  }
  return moveAlias(record, { ...request, from, to, kind: 'rollback' });
}

export function removeAliasChange(state: RecordState, name: string, request: AliasMoveRequest): RecordChange<ModelAliasMove> {
  const record = existing(state.record, name);
  const from = record.aliases[request.alias];
  if (from === undefined) throw noAlias(record, request.alias);
  return moveAlias(record, { ...request, from, to: null, kind: 'remove' });
}

/** Deleting the last version removes the record; its numbers and history are kept. */
export function removeVersionChange(
  state: RecordState,
  name: string,
  number: string,
): RecordChange<{ model: string; version: ModelVersionRecord; modelRemoved: boolean }> {
  const record = existing(state.record, name);
  const removed = resolveRef(record, number);
  const aliases = aliasesOf(record, number);
  if (aliases.length > 0) {
    throw new ScoreqError(
      'VERSION_IN_USE',
      `v${number} of model '${name}' is what ${aliases.join(', ')} point${aliases.length === 1 ? 's' : ''} at, so it cannot be deleted; ` +
        `promote another version to ${aliases.length === 1 ? 'it' : 'them'} or remove the alias first (scoreq models rm ${name} --alias ${aliases[0]})`,
      { model: name, version: number, aliases },
    );
  }
  const versions = { ...record.versions };
  delete versions[number];
  const empty = Object.keys(versions).length === 0;
  return {
    record: empty ? null : { ...record, versions },
    event: { kind: 'remove-version', version: number, alias: null, at: new Date().toISOString() },
    result: { model: name, version: removed, modelRemoved: empty },
  };
}

const EVENT_KIND = { promote: 'promote', rollback: 'rollback', remove: 'remove-alias' } as const;

/** One alias move: the record with the alias moved (or removed), the history entry and the event. */
function moveAlias(record: ModelRecord, move: Omit<ModelAliasMove, 'at'>): RecordChange<ModelAliasMove> {
  const at = new Date().toISOString();
  const entry: ModelAliasMove = { ...move, at };
  const aliases = { ...record.aliases };
  if (move.to === null) delete aliases[move.alias];
  else aliases[move.alias] = move.to;
  return {
    record: { ...record, aliases },
    moves: [entry],
    event: { kind: EVENT_KIND[move.kind], version: move.to ?? move.from!, alias: move.alias, at },
    result: entry,
  };
}

function existing(record: ModelRecord | null, name: string): ModelRecord {
  if (!record) throw modelNotFound(name);
  return record;
}

function noAlias(record: ModelRecord, alias: string): ScoreqError {
  const aliases = Object.entries(record.aliases).map(([a, v]) => `${a}=${v}`);
  return new ScoreqError(
    'ALIAS_NOT_FOUND',
    `model '${record.name}' has no alias '${alias}' (aliases: ${aliases.join(', ') || 'none'}; versions: ${sortedVersions(record).join(', ')})`,
    { model: record.name, alias },
  );
}
