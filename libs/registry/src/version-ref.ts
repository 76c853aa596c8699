import { ScoreqError, type ModelRecord, type ModelVersionRecord } from '@scoreq/contracts';

/**
 * Resolves what an operator names — a version number ("3"), an alias ("staging") or
 * "latest" — to one version of the record. Unlike `resolveVersion` in contracts (how jobs
 * are served), an alias that does not exist is not read as "latest": promoting or deleting
 * must act on exactly the version meant.
 */
export function resolveRef(record: ModelRecord, ref: string): ModelVersionRecord {
  let version: string | undefined;
  if (/^\d+$/.test(ref)) version = String(Number(ref));
  else if (ref === 'latest') version = latestVersion(record);
  else version = record.aliases[ref];
  const found = version === undefined ? undefined : record.versions[version];
  if (found) return found;
  throw new ScoreqError(
    'VERSION_NOT_FOUND',
    `model '${record.name}' has no version or alias '${ref}' (versions: ${sortedVersions(record).join(', ') || 'none'}; ` +
      `aliases: ${
        Object.entries(record.aliases)
          .map(([a, v]) => `${a}=${v}`)
          .join(', ') || 'none'
      })`,
    { field: 'version', model: record.name, version: ref },
  );
}

/** Version numbers of a record, ascending. */
export function sortedVersions(record: ModelRecord): string[] {
  return Object.keys(record.versions).sort((a, b) => Number(a) - Number(b));
}

export function latestVersion(record: ModelRecord): string | undefined {
  return sortedVersions(record).at(-1);
}

/** Aliases pointing at `version`, sorted. */
export function aliasesOf(record: ModelRecord, version: string): string[] {
  return Object.entries(record.aliases)
    .filter(([, v]) => v === version)
    .map(([a]) => a)
    .sort();
}
