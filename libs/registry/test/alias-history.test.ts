/** Rollback targets and retention, computed from the alias history alone (no Redis). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelAliasMove, ModelRecord, ModelVersionRecord } from '@scoreq/contracts';
import { aliasTrail, rollbackTarget } from '../src/index.js';
import { versionsToDrop } from '../src/retention.js';

/** History as stored: newest first, from moves written oldest first. */
function history(...moves: [ModelAliasMove['kind'], string, string | null, string | null][]): ModelAliasMove[] {
  return moves.map(([kind, alias, from, to], i) => ({ kind, alias, from, to, by: 't', at: String(i), reason: '' })).reverse();
}

const all = (): boolean => true;

test('the trail of an alias follows promotions and skips a promotion to the current target', () => {
  const h = history(
    ['promote', 'production', null, '1'],
    ['promote', 'production', '1', '2'],
    ['promote', 'production', '2', '2'],
    ['promote', 'staging', null, '3'],
  );
  assert.deepEqual(aliasTrail(h, 'production'), ['1', '2']);
  assert.deepEqual(aliasTrail(h, 'staging'), ['3']);
  assert.deepEqual(aliasTrail(h, 'canary'), []);
});

test('rollback returns to the previous target, and a second rollback goes one further back', () => {
  let h = history(['promote', 'production', null, '1'], ['promote', 'production', '1', '2'], ['promote', 'production', '2', '3']);
  assert.equal(rollbackTarget(h, 'production', '3', all), '2');
  h = history(
    ['promote', 'production', null, '1'],
    ['promote', 'production', '1', '2'],
    ['promote', 'production', '2', '3'],
    ['rollback', 'production', '3', '2'],
  );
  assert.deepEqual(aliasTrail(h, 'production'), ['1', '2']);
  assert.equal(rollbackTarget(h, 'production', '2', all), '1');
  h = [...history(['rollback', 'production', '2', '1']), ...h];
  assert.equal(rollbackTarget(h, 'production', '1', all), undefined, 'nothing before the first target');
});

test('rollback skips versions that no longer exist and forgets targets before the alias was removed', () => {
  const h = history(['promote', 'production', null, '1'], ['promote', 'production', '1', '2'], ['promote', 'production', '2', '3']);
  assert.equal(
    rollbackTarget(h, 'production', '3', (v) => v !== '2'),
    '1',
  );
  const removed = history(['promote', 'production', null, '1'], ['remove', 'production', '1', null], ['promote', 'production', null, '2']);
  assert.equal(rollbackTarget(removed, 'production', '2', all), undefined);
});

test('promoting back to an older version makes the version it replaced the rollback target', () => {
  const h = history(['promote', 'production', null, '1'], ['promote', 'production', '1', '2'], ['promote', 'production', '2', '1']);
  assert.equal(rollbackTarget(h, 'production', '1', all), '2');
});

function record(versions: number, aliases: Record<string, string>): ModelRecord {
  const v: Record<string, ModelVersionRecord> = {};
  for (let i = 1; i <= versions; i++) {
    v[String(i)] = {
      version: String(i),
      sha256: String(i).padStart(64, '0'),
      size: 1,
      createdAt: '',
      signature: { inputs: [], outputs: [], batch: { dynamic: true, size: null } },
      metadata: {},
    };
  }
  return { name: 'm', versions: v, aliases };
}

test('retention keeps the newest N unaliased versions, every aliased one, and each alias rollback target', () => {
  assert.deepEqual(versionsToDrop(record(6, {}), [], 2).sort(), ['1', '2', '3', '4']);
  assert.deepEqual(versionsToDrop(record(6, { production: '1' }), [], 2).sort(), ['2', '3', '4']);
  const h = history(['promote', 'production', null, '2'], ['promote', 'production', '2', '3']);
  assert.deepEqual(versionsToDrop(record(7, { production: '3' }), h, 2).sort(), ['1', '4', '5'], 'v2 is where production rolls back to');
  assert.deepEqual(versionsToDrop(record(3, {}), [], 10), []);
});
