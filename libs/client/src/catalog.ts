import { ScoreqError, type ModelRecord } from '@scoreq/contracts';

interface Entry {
  record: ModelRecord;
  expiresAt: number;
}

/**
 * The model records workers publish at `keys(prefix).model(name)`, read on demand and kept
 * for `ttlMs` per model. Concurrent reads of one model share one GET. A missing model is not
 * cached, so a model published a moment ago is found on the next submit.
 */
export class ModelCatalog {
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<ModelRecord>>();

  constructor(
    private readonly read: (model: string) => Promise<string | null>,
    private readonly ttlMs: number,
  ) {}

  /**
   * The record of a model.
   *
   * @throws ScoreqError MODEL_NOT_FOUND when no record is published under that name.
   */
  get(model: string): Promise<ModelRecord> {
    const hit = this.cache.get(model);
    if (hit && hit.expiresAt > performance.now()) return Promise.resolve(hit.record);
    let pending = this.inFlight.get(model);
    if (!pending) {
      pending = this.load(model).finally(() => this.inFlight.delete(model));
      this.inFlight.set(model, pending);
    }
    return pending;
  }

  /** Forgets cached records: one model's, or all. */
  invalidate(model?: string): void {
    if (model === undefined) this.cache.clear();
    else this.cache.delete(model);
  }

  private async load(model: string): Promise<ModelRecord> {
    const text = await this.read(model);
    if (text === null) {
      this.cache.delete(model);
      throw new ScoreqError('MODEL_NOT_FOUND', `no model '${model}' is published in the catalogue`, { field: 'model', model });
    }
    const record = parseModelRecord(text, model);
    if (this.ttlMs > 0) this.cache.set(model, { record, expiresAt: performance.now() + this.ttlMs });
    return record;
  }
}

/**
 * Parses a stored model record, checking the parts the client relies on. Input from Redis is
 * checked at this edge; the contracts offer no schema for the whole record.
 */
export function parseModelRecord(text: string, model: string): ModelRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw corrupt(model, `is not JSON (${(err as Error).message})`);
  }
  const r = value as Partial<ModelRecord> | null;
  if (typeof r !== 'object' || r === null) throw corrupt(model, 'is not an object');
  if (r.name !== model) throw corrupt(model, `names model ${JSON.stringify(r.name)}`);
  if (!isObject(r.versions) || !isObject(r.aliases)) throw corrupt(model, 'lacks versions or aliases');
  for (const [key, v] of Object.entries(r.versions)) {
    if (!isObject(v) || v.version !== key || !isObject(v.signature) || !Array.isArray(v.signature.inputs) || !isObject(v.metadata)) {
      throw corrupt(model, `has a malformed version '${key}'`);
    }
  }
  return r as ModelRecord;
}

function isObject<T>(v: T): v is T & object {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function corrupt(model: string, what: string): ScoreqError {
  return new ScoreqError('INTERNAL', `the catalogue record of model '${model}' ${what}`, { model });
}
