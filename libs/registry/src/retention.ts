import type { ModelAliasMove, ModelRecord } from '@scoreq/contracts';
import { rollbackTarget } from './alias-history.js';

/**
 * Versions retention deletes: of the versions no alias points at, all but the newest `keep`.
 * The version each alias would roll back to is kept as well (and not counted), so retention
 * never takes away a rollback.
 */
export function versionsToDrop(record: ModelRecord, history: readonly ModelAliasMove[], keep: number): string[] {
  const exists = (v: string): boolean => record.versions[v] !== undefined;
  const kept = new Set(Object.values(record.aliases));
  for (const [alias, current] of Object.entries(record.aliases)) {
    const target = rollbackTarget(history, alias, current, exists);
    if (target !== undefined) kept.add(target);
  }
  return Object.keys(record.versions)
    .filter((v) => !kept.has(v))
    .sort((a, b) => Number(b) - Number(a))
    .slice(keep);
}
