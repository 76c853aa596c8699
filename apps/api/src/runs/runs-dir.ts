import { lstat, mkdir, realpath, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { apiError } from '../errors.js';

/**
 * SCOREQ_RUNS_DIR: the only place runs started over HTTP read and write. Requests name files
 * relative to it; a path that is absolute, has a `..` segment, or reaches outside through a
 * symbolic link is refused with INVALID_PATH before anything starts. Uploads get a directory
 * of their own, `<dir>/<run id>/`.
 */
export class RunsDir {
  private constructor(
    /** The directory's real path (symbolic links resolved), absolute. */
    readonly root: string,
  ) {}

  /** Creates the directory if needed and resolves its real path. */
  static async open(dir: string): Promise<RunsDir> {
    await mkdir(dir, { recursive: true });
    return new RunsDir(await realpath(dir));
  }

  /** An existing regular file inside the directory: the input of a run. */
  async existingFile(path: string, field: string): Promise<string> {
    const full = this.lexical(path, field);
    let real: string;
    try {
      real = await realpath(full);
    } catch {
      throw invalidPath(field, `${path} does not exist in SCOREQ_RUNS_DIR`);
    }
    if (!this.contains(real)) throw invalidPath(field, `${path} leads outside SCOREQ_RUNS_DIR through a symbolic link`);
    if (!(await stat(real)).isFile()) throw invalidPath(field, `${path} is not a regular file`);
    return full;
  }

  /**
   * A file a run may write inside the directory: its parent directories are created; if it
   * exists it must be a regular file, not a symbolic link.
   */
  async writableFile(path: string, field: string): Promise<string> {
    const full = this.lexical(path, field);
    const parent = dirname(full);
    const escapes = (): Error => invalidPath(field, `${path} leads outside SCOREQ_RUNS_DIR through a symbolic link`);
    // Checked before creating directories (none may be made outside), and after.
    if (!this.within(await realpath(await nearestExisting(parent)))) throw escapes();
    await mkdir(parent, { recursive: true });
    if (!this.within(await realpath(parent))) throw escapes();
    const existing = await lstat(full).catch(() => undefined);
    if (existing && !existing.isFile()) throw invalidPath(field, `${path} exists and is not a regular file`);
    return full;
  }

  /** A fresh, empty directory for an upload's files: `<dir>/<run id>/`. */
  async uploadDir(runId: string): Promise<string> {
    const dir = join(this.root, runId);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    return dir;
  }

  /** Whether a file a run state names may be served: a regular file inside the directory. */
  async servable(path: string): Promise<boolean> {
    try {
      const real = await realpath(path);
      return this.contains(real) && (await stat(real)).isFile();
    } catch {
      return false;
    }
  }

  /** A path as answers show it: relative to the directory when inside it. */
  shown(path: string): string {
    const rel = relative(this.root, path);
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  }

  /** Whether an absolute, real path lies inside the directory (not the directory itself). */
  private contains(real: string): boolean {
    return real.startsWith(this.root + sep);
  }

  /** Whether an absolute, real directory path is the directory or lies inside it. */
  private within(real: string): boolean {
    return real === this.root || this.contains(real);
  }

  /** The absolute path of a relative one, refused when it could leave the directory by its letters alone. */
  private lexical(path: string, field: string): string {
    if (path === '' || path.includes('\0')) throw invalidPath(field, 'must be a non-empty path relative to SCOREQ_RUNS_DIR');
    if (isAbsolute(path) || /^[A-Za-z]:/.test(path) || path.startsWith('\\'))
      throw invalidPath(field, `${path} is absolute: name a path relative to SCOREQ_RUNS_DIR`);
    if (path.split(/[/\\]/).includes('..')) throw invalidPath(field, `${path} has a '..' segment: paths may not leave SCOREQ_RUNS_DIR`);
    const full = resolve(this.root, path);
    if (!this.contains(full)) throw invalidPath(field, `${path} does not name a file inside SCOREQ_RUNS_DIR`);
    return full;
  }
}

/** The path itself or its nearest ancestor that exists. */
async function nearestExisting(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    if (
      await lstat(p).then(
        () => true,
        () => false,
      )
    )
      return p;
    if (dirname(p) === p) return p;
  }
}

function invalidPath(field: string, why: string): Error {
  return apiError('INVALID_PATH', `${field}: ${why}`, { field });
}
