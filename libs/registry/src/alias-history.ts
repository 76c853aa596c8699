import type { ModelAliasMove } from '@scoreq/contracts';

/**
 * The targets an alias has had that rollback can return to, oldest first, its current target
 * last. Replays the history: a promotion pushes its target (unless the alias already points
 * there), a rollback pops targets until the one it returned to, a removal forgets them all.
 *
 * @param history - alias moves, newest first, as stored.
 */
export function aliasTrail(history: readonly ModelAliasMove[], alias: string): string[] {
  const trail: string[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    const move = history[i]!;
    if (move.alias !== alias) continue;
    if (move.kind === 'remove' || move.to === null) {
      trail.length = 0;
    } else if (move.kind === 'rollback') {
      trail.pop();
      while (trail.length > 0 && trail[trail.length - 1] !== move.to) trail.pop();
      if (trail.length === 0) trail.push(move.to);
    } else if (trail[trail.length - 1] !== move.to) {
      trail.push(move.to);
    }
  }
  return trail;
}

/**
 * The version a rollback of `alias` moves it to: the newest earlier target that still exists
 * and differs from the current one; undefined when there is none.
 */
export function rollbackTarget(
  history: readonly ModelAliasMove[],
  alias: string,
  current: string | undefined,
  exists: (version: string) => boolean,
): string | undefined {
  const trail = aliasTrail(history, alias);
  for (let i = trail.length - 1; i >= 0; i--) {
    const version = trail[i]!;
    if (version !== current && exists(version)) return version;
  }
  return undefined;
}
