import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assertModelName, isModelName, modelMetadataSchema, ScoreqError, type ModelMetadata } from '@scoreq/contracts';
import type { ModelSource, SourceModel, SourceVersion } from './model-source.js';

const ALIASES_FILE = 'aliases.json';
const MODEL_FILE = 'model.onnx';
const METADATA_FILE = 'metadata.json';

/**
 * Serves models from a directory laid out as
 * `<dir>/<model>/<version>/model.onnx` with an optional `metadata.json` beside it, and an
 * optional `<dir>/<model>/aliases.json` (`{ "production": "2" }`). Versions are whole numbers.
 */
export class DirectoryModelSource implements ModelSource {
  readonly dir: string;
  readonly publishesRecords = false;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async listModels(): Promise<string[]> {
    const entries = await readdir(this.dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new ScoreqError('CONFIG_INVALID', `models directory ${this.dir} does not exist (SCOREQ_MODELS_DIR)`);
      throw err;
    });
    return entries
      .filter((e) => e.isDirectory() && isModelName(e.name))
      .map((e) => e.name)
      .sort();
  }

  async getModel(name: string): Promise<SourceModel | null> {
    assertModelName(name);
    const modelDir = join(this.dir, name);
    const entries = await readdir(modelDir, { withFileTypes: true }).catch(() => null);
    if (!entries) return null;
    const numbers = entries.filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => e.name);
    const versions = (await Promise.all(numbers.map((v) => this.readVersion(modelDir, v)))).filter((v): v is SourceVersion => v !== null);
    if (versions.length === 0) return null;
    versions.sort((a, b) => Number(a.version) - Number(b.version));
    return { name, versions, aliases: await readAliases(join(modelDir, ALIASES_FILE)) };
  }

  private async readVersion(modelDir: string, version: string): Promise<SourceVersion | null> {
    const path = join(modelDir, version, MODEL_FILE);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) return null;
    const bytes = await readFile(path);
    return {
      version: String(Number(version)),
      localPath: () => Promise.resolve(path),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: info.size,
      createdAt: info.mtime.toISOString(),
      metadata: await readMetadata(join(modelDir, version, METADATA_FILE)),
    };
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ScoreqError('INVALID_METADATA', `${path} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
}

async function readMetadata(path: string): Promise<ModelMetadata> {
  const raw = await readJson(path);
  const parsed = modelMetadataSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ScoreqError('INVALID_METADATA', `${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`, { file: path });
  }
  return parsed.data;
}

async function readAliases(path: string): Promise<Record<string, string>> {
  const raw = await readJson(path);
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Object.values(raw).some((v) => !/^\d+$/.test(String(v)))) {
    throw new ScoreqError('INVALID_METADATA', `${path} must map alias names to version numbers`, { file: path });
  }
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(Number(v))]));
}
