import { open, stat, type FileHandle } from 'node:fs/promises';
import { ScoreqError } from '@scoreq/contracts';

/**
 * Opens a file a run writes. A new run starts it empty; a resumed run cuts it back to the
 * length recorded after its last written chunk, so whatever a killed producer wrote past that
 * point is written again, identically.
 *
 * @throws ScoreqError INVALID_OPTION when the directory is missing, or when a resumed run's
 * file is gone or shorter than recorded (it was replaced: the run cannot continue it).
 */
export async function openRunFile(path: string, field: string, resumeAt: number | undefined): Promise<FileHandle> {
  if (resumeAt === undefined || resumeAt === 0) return openOrExplain(path, field, 'w');
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new ScoreqError('INVALID_OPTION', `cannot resume: the ${field} file ${path} is gone (it held ${resumeAt} bytes); start a new run with another --id`, {
      field,
    });
  }
  if (size < resumeAt) {
    throw new ScoreqError(
      'INVALID_OPTION',
      `cannot resume: the ${field} file ${path} has ${size} bytes, fewer than the ${resumeAt} recorded; start a new run with another --id`,
      { field },
    );
  }
  const file = await openOrExplain(path, field, 'r+');
  await file.truncate(resumeAt);
  return file;
}

/** Size of a regular input file (undefined for a pipe or a device). */
export async function inputSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new ScoreqError('INVALID_OPTION', `input ${path} is a directory`, { field: 'input' });
    return s.isFile() ? s.size : undefined;
  } catch (err) {
    if (err instanceof ScoreqError) throw err;
    throw new ScoreqError('INVALID_OPTION', `input file ${path} cannot be read: ${(err as Error).message}`, { field: 'input' });
  }
}

async function openOrExplain(path: string, field: string, flags: string): Promise<FileHandle> {
  try {
    return await open(path, flags);
  } catch (err) {
    throw new ScoreqError('INVALID_OPTION', `cannot open the ${field} file ${path}: ${(err as Error).message}`, { field });
  }
}
