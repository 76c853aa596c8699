import {
  featureSpecs,
  featureWidth,
  formatRow,
  mainOutput,
  rowEncoder,
  OIP_DATATYPES,
  ScoreqError,
  tensorRows,
  type FeatureRow,
  type FeatureSpec,
  type InputTensor,
  type ModelVersionRecord,
  type OutputTensor,
  type RowOutput,
  type RowsEncoder,
  type TensorSpec,
} from '@scoreq/contracts';
import { allocate, fillFrom, isBigIntType, rowWidth, toNumbers, type TensorData, type WireTensor } from './tensor.js';

export interface EncodedInput {
  rows: number;
  inputs: WireTensor[];
}

export interface DecodedOutput {
  rows?: RowOutput[];
  tensors?: OutputTensor[];
}

/**
 * Pre- and post-processing for one model version, built once per version from its
 * signature and metadata: named feature rows or OIP tensors in, typed arrays out, and back.
 */
export class ModelCodec {
  private readonly record: ModelVersionRecord;
  private readonly features: FeatureSpec[];
  private readonly rowInput: { input: TensorSpec; width: number } | undefined;
  private readonly encodeFeatures: RowsEncoder;
  /** Name of the output rows are formatted from (see `mainOutput`). */
  private readonly mainName: string | undefined;

  constructor(record: ModelVersionRecord) {
    this.record = record;
    this.features = featureSpecs(record.metadata);
    this.encodeFeatures = rowEncoder(this.features, record);
    this.mainName = mainOutput(record)?.name;
    this.rowInput = this.features.length > 0 && record.signature.inputs.length === 1 ? featureWidth(record) : undefined;
    const columns = this.rowInput?.input.shape[1];
    if (this.rowInput && typeof columns === 'number' && columns > 0 && columns !== this.rowInput.width) {
      throw new ScoreqError(
        'INVALID_METADATA',
        `metadata names ${this.rowInput.width} features but input '${this.rowInput.input.name}' has ${columns} columns`,
        { field: 'features' },
      );
    }
  }

  /** Validates and encodes one job's input. Throws INVALID_INPUT naming the field. */
  encode(input: { rows?: FeatureRow[]; tensors?: InputTensor[] }): EncodedInput {
    if (input.rows) return this.encodeRows(input.rows);
    return this.encodeTensors(input.tensors ?? []);
  }

  private encodeRows(rows: FeatureRow[]): EncodedInput {
    if (!this.rowInput) {
      const why = this.features.length === 0 ? 'its metadata names no features' : 'it has several inputs';
      throw new ScoreqError('INVALID_INPUT', `model version ${this.record.version} cannot take feature rows: ${why}; send tensors`, { field: 'rows' });
    }
    const { input, width } = this.rowInput;
    const data = allocate(input.type, rows.length * width);
    if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
      const scratch = new Float64Array(rows.length * width);
      this.encodeFeatures(rows, scratch, 0);
      for (let i = 0; i < scratch.length; i++) data[i] = BigInt(Math.round(scratch[i]!));
    } else {
      this.encodeFeatures(rows, data, 0);
    }
    return { rows: rows.length, inputs: [{ name: input.name, type: input.type, dims: [rows.length, width], data }] };
  }

  /**
   * Wraps a matrix the producer already encoded (rows × width, feature order, scaled) as the
   * model's feature input: the bulk path, with no per-row work on the worker.
   */
  encodeMatrix(features: Float32Array, rows: number, width: number): EncodedInput {
    if (!this.rowInput) throw new ScoreqError('INVALID_INPUT', `model version ${this.record.version} cannot take feature rows`, { field: 'features' });
    const { input } = this.rowInput;
    if (width !== this.rowInput.width) {
      throw new ScoreqError('INVALID_INPUT', `chunk has ${width} features per row; model version ${this.record.version} takes ${this.rowInput.width}`, {
        field: 'width',
      });
    }
    if (features.length !== rows * width) {
      throw new ScoreqError('INVALID_INPUT', `chunk has ${features.length} values; ${rows} rows × ${width} features need ${rows * width}`, {
        field: 'features',
      });
    }
    let data: TensorData = features;
    if (input.type !== 'float32') {
      data = allocate(input.type, features.length);
      fillFrom(
        input.type,
        Array.from(features, (v) => (isBigIntType(input.type) ? Math.round(v) : v)),
        data,
        0,
      );
    }
    return { rows, inputs: [{ name: input.name, type: input.type, dims: [rows, width], data }] };
  }

  /** The main output of a batch slice (see `mainOutput`) as float32 rows × width. */
  mainValues(outputs: WireTensor[]): { name: string; width: number; data: Float32Array } {
    const main = this.mainOf(outputs);
    if (!main) throw new ScoreqError('INFERENCE_FAILED', 'the model returned no outputs');
    const data = main.data instanceof Float32Array ? main.data.slice() : Float32Array.from(main.data as ArrayLike<number>, Number);
    return { name: main.name, width: rowWidth(main.dims), data };
  }

  private encodeTensors(tensors: InputTensor[]): EncodedInput {
    const rows = tensorRows(this.record, tensors);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const inputs = this.record.signature.inputs.map((spec) => {
      const t = byName.get(spec.name)!;
      const data = allocate(spec.type, t.data.length);
      fillFrom(spec.type, t.data, data, 0);
      return { name: spec.name, type: spec.type, dims: [...t.shape], data };
    });
    return { rows, inputs };
  }

  /** Shapes one job's slice of the batch outputs as rows (for row jobs) or tensors. */
  decode(outputs: WireTensor[], asTensors: boolean, wanted?: string[]): DecodedOutput {
    if (asTensors) {
      const chosen = wanted ? outputs.filter((o) => wanted.includes(o.name)) : outputs;
      return {
        tensors: chosen.map((o) => ({ name: o.name, datatype: OIP_DATATYPES[o.type], shape: o.dims, data: toNumbers(o.data, 0, o.data.length) })),
      };
    }
    return { rows: this.decodeRows(outputs) };
  }

  private decodeRows(outputs: WireTensor[]): RowOutput[] {
    const main = this.mainOf(outputs);
    if (!main) return [];
    const rows = main.dims[0] ?? 1;
    const width = rowWidth(main.dims);
    const { data } = main;
    // A float job slice is read in place: formatRow takes any ArrayLike of numbers, and a
    // one-row job (the real-time common case) is the whole slice, so no copy is needed.
    const direct = rows === 1 && (data instanceof Float32Array || data instanceof Float64Array);
    const result = new Array<RowOutput>(rows);
    for (let r = 0; r < rows; r++) {
      const values = direct ? data : toNumbers(data, r * width, (r + 1) * width);
      result[r] = formatRow(this.record.metadata, values) ?? { outputs: rowOutputs(outputs, r) };
    }
    return result;
  }

  private mainOf(outputs: WireTensor[]): WireTensor | undefined {
    for (const o of outputs) if (o.name === this.mainName) return o;
    return outputs[0];
  }
}

function rowOutputs(outputs: WireTensor[], r: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const o of outputs) {
    const width = rowWidth(o.dims);
    out[o.name] = toNumbers(o.data, r * width, (r + 1) * width);
  }
  return out;
}
