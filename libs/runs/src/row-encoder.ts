import { encodeRows, ScoreqError, type FeatureRow, type FeatureSpec, type ModelVersionRecord } from '@scoreq/contracts';
import { cellValue, decimalAt, decimalEnd } from './cells.js';
import { csvFieldsOf, type CsvFields, type JsonFields } from './readers/read-row.js';

/** Why a row cannot be scored: the feature (column) at fault, when one is. */
export interface RowProblem {
  readonly field: string | undefined;
  readonly reason: string;
}

/** Validates one input row against the pinned model version and encodes it. */
export interface RowEncoder<F> {
  /** Features per row. */
  readonly width: number;
  /**
   * Writes the row's `width` features at `out[offset…]` and appends its pass-through values to
   * `pass`; or returns why the row is bad (then `pass` is left as it was).
   */
  encode(fields: F, out: Float32Array, offset: number, pass: unknown[]): RowProblem | undefined;
}

/**
 * Runs `encodeRows` (the contract's one validation and encoding: defaults, categories, scaling)
 * on one row and turns its INVALID_INPUT into a row problem naming the feature.
 */
function encodeOne(features: FeatureSpec[], row: FeatureRow, out: Float32Array, offset: number, record: ModelVersionRecord): RowProblem | undefined {
  try {
    encodeRows(features, [row], out, offset, record);
    return undefined;
  } catch (err) {
    if (!(err instanceof ScoreqError) || err.code !== 'INVALID_INPUT') throw err;
    const field = typeof err.details?.field === 'string' ? err.details.field.replace(/^rows\[0\]\.?/, '') : '';
    return { field: field === '' ? undefined : field, reason: err.message.replace(/rows\[0\]\.?/g, '') };
  }
}

/**
 * Encodes JSONL rows: the model's features are picked from each object by name (other keys,
 * such as an id, are ignored) and validated by `encodeRows`; pass-through values are taken as
 * they are (null when absent).
 */
export class JsonRowEncoder implements RowEncoder<JsonFields> {
  readonly width: number;

  constructor(
    private readonly features: FeatureSpec[],
    private readonly record: ModelVersionRecord,
    private readonly passThrough: readonly string[],
  ) {
    this.width = features.length;
  }

  encode(fields: JsonFields, out: Float32Array, offset: number, pass: unknown[]): RowProblem | undefined {
    const row: FeatureRow = {};
    for (const f of this.features) if (Object.hasOwn(fields, f.name)) row[f.name] = fields[f.name] as FeatureRow[string];
    const problem = encodeOne(this.features, row, out, offset, this.record);
    if (problem) return problem;
    for (const c of this.passThrough) pass.push(Object.hasOwn(fields, c) ? fields[c] : null);
    return undefined;
  }
}

/** What a CSV column feeds: a feature (its index and rules), a pass-through slot, or nothing. */
interface Column {
  readonly feature: number;
  readonly categories: Record<string, number> | undefined;
  readonly scaled: boolean;
  readonly mean: number;
  readonly std: number;
  readonly pass: number;
}

/**
 * Encodes CSV rows. Cells are read by {@link cellValue}'s rules and validated by `encodeRows`.
 * A fast path handles the common row — an unsplit line whose feature cells are all plain
 * decimals or known categories — in one scan of the line: it counts the fields, parses the
 * numbers in place and slices out only the pass-through cells, writing exactly what
 * `encodeRows` would (same value, same scaling arithmetic; a test compares them). Splitting
 * the line, an object per row and `encodeRows`' per-value checks would cost ~8 µs a row, more
 * than the rest of a run's producer work. Any other row takes the `encodeRows` path, which
 * accepts it or names the problem.
 */
export class CsvRowEncoder implements RowEncoder<CsvFields> {
  readonly width: number;
  private readonly columns: Column[];
  /** True when every feature has a column: otherwise defaults apply, on the slow path. */
  private readonly complete: boolean;
  private readonly passColumns: number[];

  /**
   * @throws ScoreqError INVALID_INPUT naming required features the header lacks;
   * INVALID_OPTION naming a pass-through column it lacks.
   */
  constructor(
    private readonly header: readonly string[],
    private readonly features: FeatureSpec[],
    private readonly record: ModelVersionRecord,
    passThrough: readonly string[],
  ) {
    this.width = features.length;
    const index = new Map(header.map((name, i) => [name, i]));
    const missing = features.filter((f) => !index.has(f.name) && f.default === undefined).map((f) => f.name);
    if (missing.length > 0) {
      throw new ScoreqError(
        'INVALID_INPUT',
        `the input has no column for feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of model version ${record.version}, and ${missing.length > 1 ? 'they have' : 'it has'} no default`,
        { field: missing[0], missing },
      );
    }
    this.passColumns = passThrough.map((c) => {
      const i = index.get(c);
      if (i === undefined)
        throw new ScoreqError('INVALID_OPTION', `pass-through column '${c}' is not in the input's header (columns: ${header.join(', ')})`, {
          field: 'passThrough',
        });
      return i;
    });
    this.complete = features.every((f) => index.has(f.name));
    const byName = new Map(features.map((f, i) => [f.name, i]));
    this.columns = header.map((name, c) => {
      const feature = byName.get(name) ?? -1;
      const spec = features[feature];
      return {
        feature,
        categories: spec?.categories,
        scaled: spec?.scale !== undefined,
        mean: spec?.scale?.mean ?? 0,
        std: spec?.scale?.std ?? 1,
        pass: this.passColumns.indexOf(c),
      };
    });
  }

  encode(fields: CsvFields, out: Float32Array, offset: number, pass: unknown[]): RowProblem | undefined {
    if (typeof fields !== 'string' || !this.complete) return this.slow(csvFieldsOf(fields), out, offset, pass);
    const columns = this.columns;
    const n = fields.length;
    const passFrom = pass.length;
    let c = 0;
    let start = 0;
    for (; start <= n; c++) {
      const col = columns[c];
      if (col === undefined) break; // more fields than columns: the slow path names the count
      let end: number;
      if (col.feature >= 0) {
        let x: number;
        if (col.categories !== undefined) {
          end = fields.indexOf(',', start);
          if (end < 0) end = n;
          const cell = fields.slice(start, end);
          x = Object.hasOwn(col.categories, cell) ? col.categories[cell]! : decimalAt(fields, start, end);
        } else {
          x = decimalAt(fields, start, n);
          end = decimalEnd;
        }
        if (x !== x) return this.bail(fields, out, offset, pass, passFrom);
        // Same expression as encodeRows: (x - mean) / std in double, stored as float32.
        out[offset + col.feature] = col.scaled ? (x - col.mean) / col.std : x;
        if (col.pass >= 0) pass[passFrom + col.pass] = fields.slice(start, end);
      } else {
        end = fields.indexOf(',', start);
        if (end < 0) end = n;
        if (col.pass >= 0) pass[passFrom + col.pass] = fields.slice(start, end);
      }
      start = end + 1;
    }
    if (c !== columns.length || start <= n) return this.bail(fields, out, offset, pass, passFrom);
    return undefined;
  }

  /** Leaves the fast path: forgets what it appended and starts over on the split fields. */
  private bail(line: string, out: Float32Array, offset: number, pass: unknown[], passFrom: number): RowProblem | undefined {
    pass.length = passFrom;
    return this.slow(line.split(','), out, offset, pass);
  }

  private slow(fields: readonly string[], out: Float32Array, offset: number, pass: unknown[]): RowProblem | undefined {
    if (fields.length !== this.header.length) return { field: undefined, reason: `has ${fields.length} fields; the header has ${this.header.length}` };
    const row: FeatureRow = {};
    this.header.forEach((name, c) => {
      const f = this.columns[c]!.feature;
      if (f >= 0) row[name] = cellValue(fields[c]!, this.features[f]!);
    });
    const problem = encodeOne(this.features, row, out, offset, this.record);
    if (problem) return problem;
    for (const c of this.passColumns) pass.push(fields[c]);
    return undefined;
  }
}
