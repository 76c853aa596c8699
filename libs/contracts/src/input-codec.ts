import { ScoreqError } from './errors.js';
import type { FeatureRow, InputTensor } from './job.js';
import { featureInput, featureSpecs, OIP_DATATYPES, type FeatureSpec, type ModelVersionRecord, type TensorSpec, type TensorType } from './model.js';

/** A writable numeric buffer: a typed array, or a plain array when only validating. */
export interface NumericSink {
  [index: number]: number;
}

function invalid(message: string, field: string): ScoreqError {
  return new ScoreqError('INVALID_INPUT', message, { field });
}

/**
 * Checks one job's input against a model version and its row count, without encoding.
 * The SDK and the worker both call it, so a bad job gets the same error wherever it is caught.
 */
export function validateInput(record: ModelVersionRecord, input: { rows?: FeatureRow[]; tensors?: InputTensor[] }, maxRows: number): number {
  const rows = input.rows ? input.rows.length : tensorRows(record, input.tensors ?? []);
  if (rows > maxRows) {
    throw new ScoreqError('JOB_TOO_LARGE', `job has ${rows} rows; at most ${maxRows} are allowed per job`, {
      field: input.rows ? 'rows' : 'tensors',
      rows,
      maxRows,
    });
  }
  if (input.rows) encodeRows(featureSpecs(record.metadata), input.rows, [], 0, record);
  return rows;
}

/**
 * Validates named feature rows and writes them, row-major, into `out` from `offset`.
 * Applies defaults, categorical maps and scaling from the metadata. Throws INVALID_INPUT
 * naming the first offending field, e.g. `rows[3].age`.
 */
export function encodeRows(features: FeatureSpec[], rows: FeatureRow[], out: NumericSink, offset: number, record: ModelVersionRecord): void {
  rowEncoder(features, record)(rows, out, offset);
}

/** {@link encodeRows} with its feature list and record bound once: `(rows, out, offset) => void`. */
export type RowsEncoder = (rows: FeatureRow[], out: NumericSink, offset: number) => void;

const encoderCache = new WeakMap<FeatureSpec[], { record: ModelVersionRecord; encode: RowsEncoder }>();

/**
 * The encoder {@link encodeRows} runs, built once per feature list (and cached): callers that
 * encode on every job hold it instead of looking it up. Same values and same errors.
 */
export function rowEncoder(features: FeatureSpec[], record: ModelVersionRecord): RowsEncoder {
  const cached = encoderCache.get(features);
  if (cached && cached.record === record) return cached.encode;
  const encode = compileRowEncoder(features, record);
  encoderCache.set(features, { record, encode });
  return encode;
}

/**
 * Each row first tries the plain-number path: exactly as many keys as features and every
 * value a finite number (what the SDK and most producers send). That path writes the same
 * values with the same arithmetic as the checked path, without building a field name per
 * value; any other row (a default, a category, a boolean, an unknown key, a bad value) is
 * redone by the checked path, which writes it or throws naming the field.
 */
function compileRowEncoder(features: FeatureSpec[], record: ModelVersionRecord): RowsEncoder {
  if (features.length === 0) {
    return () => {
      throw invalid(`model version ${record.version} has no feature names in its metadata: send tensors, or add "features" to the metadata`, 'rows');
    };
  }
  const names = features.map((f) => f.name);
  const scales = features.map((f) => f.scale);
  const known = new Map(features.map((f, i) => [f.name, i]));
  const width = names.length;

  const plainRow = (row: FeatureRow, out: NumericSink, k: number): boolean => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
    let keys = 0;
    for (const _ in row) keys++;
    if (keys !== width) return false;
    for (let i = 0; i < width; i++) {
      const x = row[names[i]!];
      if (typeof x !== 'number' || !Number.isFinite(x)) return false;
      const scale = scales[i];
      out[k + i] = scale ? (x - scale.mean) / scale.std : x;
    }
    return true;
  };

  const checkedRow = (row: FeatureRow, r: number, out: NumericSink, k: number): void => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw invalid(`rows[${r}] must be an object of named features`, `rows[${r}]`);
    for (const name in row) {
      if (!known.has(name)) throw invalid(`rows[${r}] has unknown feature '${name}' (expected: ${names.join(', ')})`, `rows[${r}].${name}`);
    }
    for (let i = 0; i < width; i++) out[k + i] = featureValue(features[i]!, row[names[i]!], r);
  };

  return (rows, out, offset) => {
    let k = offset;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      if (!plainRow(row, out, k)) checkedRow(row, r, out, k);
      k += width;
    }
  };
}

function featureValue(f: FeatureSpec, raw: unknown, r: number): number {
  let x: number;
  if (raw === undefined || raw === null) {
    if (f.default === undefined) throw invalidValue(f, r, 'is missing and the feature has no default');
    x = f.default;
  } else if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw invalidValue(f, r, `must be a finite number, got ${raw}`);
    x = raw;
  } else if (typeof raw === 'boolean') {
    x = raw ? 1 : 0;
  } else if (typeof raw === 'string' && f.categories) {
    const mapped = f.categories[raw];
    if (mapped === undefined) throw invalidValue(f, r, `has unknown category '${raw}' (known: ${Object.keys(f.categories).join(', ')})`);
    x = mapped;
  } else {
    throw invalidValue(f, r, `must be a number, got ${typeof raw} ${JSON.stringify(raw)}`);
  }
  return f.scale ? (x - f.scale.mean) / f.scale.std : x;
}

/** Built only when a value is refused: the field name is a string per value. */
function invalidValue(f: FeatureSpec, r: number, why: string): ScoreqError {
  const field = `rows[${r}].${f.name}`;
  return invalid(`${field} ${why}`, field);
}

/** Number of feature columns a row-fed model expects, checked against the input's shape. */
export function featureWidth(record: ModelVersionRecord): { input: TensorSpec; width: number } {
  const input = featureInput(record);
  if (!input) {
    throw invalid(`model version ${record.version} has several inputs and its metadata names none for features: send tensors`, 'rows');
  }
  return { input, width: featureSpecs(record.metadata).length };
}

const DATATYPE_TO_TYPE = new Map<string, TensorType>(Object.entries(OIP_DATATYPES).map(([t, d]) => [d, t as TensorType]));

/** Maps an OIP datatype ("FP32") to an onnxruntime element type ("float32"). */
export function tensorTypeOf(datatype: string): TensorType | undefined {
  return DATATYPE_TO_TYPE.get(datatype.toUpperCase());
}

/**
 * Validates OIP input tensors against the signature: every model input given once, known
 * names, matching datatypes, data length equal to the product of the shape, fixed dims equal
 * to the model's, one batch size for all, finite numbers. Returns the batch size (rows).
 */
export function tensorRows(record: ModelVersionRecord, tensors: InputTensor[]): number {
  const specs = new Map(record.signature.inputs.map((s) => [s.name, s]));
  const seen = new Set<string>();
  let rows: number | undefined;
  tensors.forEach((t, i) => {
    const field = `tensors[${i}]`;
    const spec = specs.get(t.name);
    if (!spec) throw invalid(`${field} names input '${t.name}', which the model lacks (inputs: ${[...specs.keys()].join(', ')})`, `${field}.name`);
    if (seen.has(t.name)) throw invalid(`${field} repeats input '${t.name}'`, `${field}.name`);
    seen.add(t.name);
    const type = tensorTypeOf(t.datatype);
    if (type !== spec.type)
      throw invalid(`${field} (${t.name}) has datatype ${t.datatype}; the model expects ${OIP_DATATYPES[spec.type]}`, `${field}.datatype`);
    checkShape(spec, t.shape, `${field}.shape`);
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected)
      throw invalid(`${field} (${t.name}) has ${t.data.length} values but shape [${t.shape.join(', ')}] needs ${expected}`, `${field}.data`);
    checkValues(t, type, `${field}.data`);
    const batch = t.shape[0] ?? 1;
    if (rows !== undefined && batch !== rows) throw invalid(`${field} (${t.name}) has batch size ${batch}, other inputs have ${rows}`, `${field}.shape`);
    rows = batch;
  });
  for (const name of specs.keys()) if (!seen.has(name)) throw invalid(`input '${name}' is missing from tensors`, 'tensors');
  return rows ?? 0;
}

function checkShape(spec: TensorSpec, shape: number[], field: string): void {
  if (shape.length !== spec.shape.length) {
    throw invalid(`${field} has rank ${shape.length}; input '${spec.name}' has shape [${spec.shape.join(', ')}]`, field);
  }
  shape.forEach((dim, axis) => {
    const want = spec.shape[axis];
    if (axis > 0 && typeof want === 'number' && want >= 0 && want !== dim) {
      throw invalid(`${field}[${axis}] is ${dim}; input '${spec.name}' needs ${want}`, field);
    }
  });
}

function checkValues(t: InputTensor, type: TensorType, field: string): void {
  const integer = type !== 'float32' && type !== 'float64' && type !== 'bool';
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i];
    if (type === 'bool') {
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) throw invalid(`${field}[${i}] must be a boolean`, field);
    } else if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw invalid(`${field}[${i}] must be a finite ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`, field);
    }
  }
}
