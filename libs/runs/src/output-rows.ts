import { formatRow, ScoreqError, type ModelMetadata } from '@scoreq/contracts';
import type { RunFileFormat } from '@scoreq/client';
import { csvField, csvLine } from './csv-field.js';
import { formatNumber } from './number-format.js';

/**
 * The output's rows: the pass-through columns first, then the predictions as the model's
 * metadata says (`formatRow` from the contracts):
 * - classification: `label`, `score`, then one `score_<label>` per class;
 * - regression: `value`;
 * - otherwise the raw values of the main output, `<output>_<i>` (`<output>` for one column).
 * JSONL lines carry the same names, with `scores` and `outputs` as objects like a job result.
 */
export class OutputRows {
  private readonly kind: 'classification' | 'regression' | 'raw';
  private readonly passKeys: string[];
  private readonly labelCells = new Map<string, string>();
  /** CSV label cells of the classifier fast path; null when it does not apply. */
  private fastClasses: string[] | null | undefined;

  constructor(
    readonly fileFormat: RunFileFormat,
    private readonly metadata: ModelMetadata,
    private readonly outputName: string,
    private readonly passThrough: readonly string[],
  ) {
    this.kind = metadata.output?.kind ?? 'raw';
    this.passKeys = passThrough.map((c) => `${JSON.stringify(c)}:`);
  }

  /**
   * Refuses pass-through columns whose names the prediction columns use.
   *
   * @throws ScoreqError INVALID_OPTION naming the column.
   */
  checkPassThrough(): void {
    for (const c of this.passThrough) {
      const clash =
        this.kind === 'classification'
          ? c === 'label' || c === 'score' || c === 'scores' || c.startsWith('score_')
          : this.kind === 'regression'
            ? c === 'value'
            : c === 'outputs' || c === this.outputName || c.startsWith(`${this.outputName}_`);
      if (clash)
        throw new ScoreqError('INVALID_OPTION', `pass-through column '${c}' clashes with a prediction column of the output; rename it in the input`, {
          field: 'passThrough',
        });
    }
  }

  /** The CSV header line for outputs `width` values wide; '' for JSONL. */
  header(width: number): string {
    if (this.fileFormat !== 'csv') return '';
    return csvLine([...this.passThrough, ...this.predictionColumns(width)]);
  }

  /** Names of the prediction columns for outputs `width` values wide. */
  predictionColumns(width: number): string[] {
    const row = formatRow(this.metadata, new Float32Array(width));
    if (row?.label !== undefined) return ['label', 'score', ...Object.keys(row.scores ?? {}).map((l) => `score_${l}`)];
    if (row?.value !== undefined) return ['value'];
    return width === 1 ? [this.outputName] : Array.from({ length: width }, (_, i) => `${this.outputName}_${i}`);
  }

  /** The text of one scored chunk: `rows` lines from `values` (rows × width). */
  format(passThrough: readonly unknown[], values: Float32Array, width: number, rows: number): string {
    const p = this.passThrough.length;
    let text = '';
    for (let r = 0; r < rows; r++) {
      const v = values.subarray(r * width, r * width + width);
      text += this.fileFormat === 'csv' ? this.csvRow(passThrough, r * p, v) : this.jsonRow(passThrough, r * p, v);
    }
    return text;
  }

  private csvRow(pass: readonly unknown[], from: number, values: Float32Array): string {
    let line = '';
    for (let i = 0; i < this.passThrough.length; i++) line += `${csvField(cellText(pass[from + i]))},`;
    const cells = this.classCells(values.length);
    if (cells !== undefined) return `${line}${this.csvClasses(values, cells)}\n`;
    const row = this.kind === 'raw' ? null : formatRow(this.metadata, values);
    if (row?.label !== undefined) {
      // The score is one of the per-label scores: format it once.
      const score = row.score!;
      const scoreText = formatNumber(score);
      line += `${this.labelCell(row.label)},${scoreText}`;
      for (const label in row.scores) {
        const v = row.scores[label]!;
        line += `,${v === score ? scoreText : formatNumber(v)}`;
      }
    } else if (row?.value !== undefined) {
      line += formatNumber(row.value);
    } else {
      for (let i = 0; i < values.length; i++) line += i === 0 ? formatNumber(values[i]!) : `,${formatNumber(values[i]!)}`;
    }
    return `${line}\n`;
  }

  private jsonRow(pass: readonly unknown[], from: number, values: Float32Array): string {
    let line = '{';
    for (let i = 0; i < this.passThrough.length; i++) line += `${this.passKeys[i]}${JSON.stringify(pass[from + i] ?? null)},`;
    const row = this.kind === 'raw' ? null : formatRow(this.metadata, values);
    if (row?.label !== undefined) {
      line += `"label":${JSON.stringify(row.label)},"score":${jsonNumber(row.score!)},"scores":{`;
      let first = true;
      for (const label in row.scores) {
        line += `${first ? '' : ','}${JSON.stringify(label)}:${jsonNumber(row.scores[label]!)}`;
        first = false;
      }
      line += '}';
    } else if (row?.value !== undefined) {
      line += `"value":${jsonNumber(row.value)}`;
    } else {
      line += `"outputs":{${JSON.stringify(this.outputName)}:[`;
      for (let i = 0; i < values.length; i++) line += i === 0 ? jsonNumber(values[i]!) : `,${jsonNumber(values[i]!)}`;
      line += ']}';
    }
    return `${line}}\n`;
  }

  /**
   * Label cells of a classifier whose every column has its own label: then a row's text can be
   * made without `formatRow`'s objects (hot path; a test checks both give the same text).
   * Undefined for every other output, which takes `formatRow`.
   */
  private classCells(width: number): string[] | undefined {
    if (this.fastClasses === null || this.kind !== 'classification' || width < 2) return undefined;
    if (this.fastClasses === undefined || this.fastClasses.length !== width) {
      const labels = this.metadata.output?.labels;
      this.fastClasses = labels && labels.length === width && new Set(labels).size === width ? labels.map(csvField) : null;
    }
    return this.fastClasses ?? undefined;
  }

  /** label, score, then each class's score: what `formatRow` gives for several columns. */
  private csvClasses(values: Float32Array, cells: string[]): string {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
    const scoreText = formatNumber(values[best]!);
    let text = `${cells[best]},${scoreText}`;
    for (let i = 0; i < values.length; i++) text += `,${i === best ? scoreText : formatNumber(values[i]!)}`;
    return text;
  }

  private labelCell(label: string): string {
    let cell = this.labelCells.get(label);
    if (cell === undefined) {
      cell = csvField(label);
      this.labelCells.set(label, cell);
    }
    return cell;
  }
}

/** A pass-through value as CSV text: strings as they are, other JSON values as JSON. */
function cellText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function jsonNumber(x: number): string {
  return Number.isFinite(x) ? formatNumber(x) : 'null';
}
