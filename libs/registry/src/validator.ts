import { mainOutput, ScoreqError, toErrorInfo, type ErrorInfo, type ModelSignature, type ModelVersionRecord, type TensorSpec } from '@scoreq/contracts';
import { ModelCodec, type InferencePool, type WireTensor } from '@scoreq/inference';
import { compareOutputs } from './comparison.js';
import { checkMetadataFit, describeInputs } from './metadata-fit.js';
import { checkOutputs } from './output-checks.js';
import { buildSamples, encodeSamples, outputRows, paddedRows, type SampleSet } from './samples.js';
import type { ValidationReport, VersionComparison } from './validation-report.js';

/** A version to validate or compare with: its record and a local file holding its bytes. */
export interface VersionFile {
  model: string;
  record: ModelVersionRecord;
  path: string;
}

/** Options of {@link ModelValidator}. */
export interface ValidatorOptions {
  /** Rows generated when the metadata gives no samples. @defaultValue 8 */
  sampleRows?: number;
}

/** Tolerance of metadata `expected` values when the metadata names none. */
const DEFAULT_TOLERANCE = 1e-4;

/**
 * Checks model versions with real onnxruntime sessions in the pool it is given:
 * `inspect` (loads, reads the signature, refuses non-numeric inputs and non-tensor outputs),
 * `checkMetadata` (the metadata can feed and read the model) and `validate` (runs samples,
 * checks outputs and expected values, compares with another version). Sessions are keyed by sha256 and released
 * once a validation is over (see `release`).
 */
export class ModelValidator {
  private readonly pool: InferencePool;
  private readonly sampleRows: number;

  constructor(pool: InferencePool, options: ValidatorOptions = {}) {
    this.pool = pool;
    this.sampleRows = options.sampleRows ?? 8;
  }

  /**
   * Loads a model file into onnxruntime and returns its signature. Refuses with MODEL_INVALID
   * a file onnxruntime cannot load, a model with inputs that are not numeric tensors (string
   * categories, sequences) and one with non-tensor outputs, saying what to do.
   *
   * @param label - how messages name the file, e.g. its path or `churn v3`.
   */
  async inspect(sha256: string, path: string, label: string): Promise<ModelSignature> {
    let loaded;
    try {
      loaded = await this.pool.load(sessionKey(sha256), path);
    } catch (err) {
      const info = toErrorInfo(err);
      if (info.code !== 'MODEL_LOAD_FAILED') throw err;
      throw loadRefusal(info, path, label);
    }
    return loaded.signature;
  }

  /**
   * Checks that the metadata fits the signature (see `checkMetadataFit`): throws
   * INVALID_METADATA naming the field; returns the version's codec.
   */
  checkMetadata(record: ModelVersionRecord): ModelCodec {
    return checkMetadataFit(record);
  }

  /**
   * Validates `candidate` (see `ValidationReport`): it loads, its metadata fits, the samples
   * run, every output has the declared dtype and shape and finite values, expected values
   * match; and, when `current` is given and is another version, compares their outputs on
   * the same samples. Problems are reported, not thrown.
   */
  async validate(candidate: VersionFile, current?: VersionFile & { alias: string }): Promise<ValidationReport> {
    try {
      return await this.check(candidate, current);
    } finally {
      this.release(candidate.record.sha256);
      if (current) this.release(current.record.sha256);
    }
  }

  /**
   * Frees the sessions `inspect` or `validate` loaded for these bytes in the pool's threads
   * (in the background): a long-lived registry validates many versions, and the pool may be a
   * worker's. A later use simply loads them again.
   */
  release(sha256: string): void {
    void this.pool.release(sessionKey(sha256));
  }

  private async check(candidate: VersionFile, current?: VersionFile & { alias: string }): Promise<ValidationReport> {
    const { record } = candidate;
    const report: ValidationReport = {
      ok: false,
      model: candidate.model,
      version: record.version,
      problems: [],
      notes: [],
      samples: { source: record.metadata.samples ? 'metadata' : 'generated', rows: 0 },
      outputs: [],
    };
    const finish = (): ValidationReport => ({ ...report, ok: report.problems.length === 0 });
    let codec: ModelCodec;
    try {
      const signature = await this.inspect(record.sha256, candidate.path, `${candidate.model} v${record.version}`);
      codec = this.checkMetadata({ ...record, signature });
      if (!signature.batch.dynamic)
        report.notes.push(
          `the batch axis is fixed at ${signature.batch.size} row${signature.batch.size === 1 ? '' : 's'}: the version is served with batching off`,
        );
    } catch (err) {
      report.problems.push(toErrorInfo(err).message);
      return finish();
    }
    const samples = buildSamples(record, this.sampleRows);
    report.samples = { source: samples.source, rows: samples.rows };
    let outputs: WireTensor[];
    try {
      outputs = await this.run(candidate, codec, samples);
    } catch (err) {
      report.problems.push(`the ${samples.rows} sample rows failed to run: ${toErrorInfo(err).message}`);
      return finish();
    }
    report.outputs = checkOutputs(record.signature, outputs, samples.rows, paddedRows(samples.rows, record.signature), report.problems);
    this.checkExpected(record, outputs, report);
    if (current && current.record.version !== record.version) {
      report.comparison = await this.compare(candidate, codec, outputs, current, samples);
    } else if (current) {
      report.notes.push(`${current.alias} already points at v${record.version}: nothing to compare with`);
    }
    return finish();
  }

  private async run(version: VersionFile, codec: ModelCodec, samples: SampleSet): Promise<WireTensor[]> {
    const { signature } = version.record;
    const inputs = encodeSamples(samples, codec, paddedRows(samples.rows, signature));
    const reply = await this.pool.run({
      key: sessionKey(version.record.sha256),
      path: version.path,
      inputs,
      fixedBatch: signature.batch.dynamic ? null : signature.batch.size,
    });
    if (!reply.ok) throw ScoreqError.fromInfo(reply.error);
    return reply.outputs;
  }

  private checkExpected(record: ModelVersionRecord, outputs: WireTensor[], report: ValidationReport): void {
    const { expected } = record.metadata;
    if (!expected) return;
    const name = expected.output ?? mainOutput(record)?.name ?? '';
    const tolerance = expected.tolerance ?? DEFAULT_TOLERANCE;
    const out = outputs.find((o) => o.name === name);
    const rows = out ? outputRows(out, expected.values.length) : null;
    if (!rows) {
      report.problems.push(`output '${name}' has no row per sample to check against "expected"`);
      return;
    }
    let max = 0;
    let worst = '';
    expected.values.forEach((want, r) => {
      const got = rows[r]!;
      if (want.length !== got.length) {
        report.problems.push(`expected.values[${r}] has ${want.length} values; output '${name}' has ${got.length} per row`);
        return;
      }
      want.forEach((w, i) => {
        const d = Math.abs(w - got[i]!);
        if (!(d <= max)) {
          max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
          worst = `sample ${r}, value ${i}: got ${got[i]}, expected ${w}`;
        }
      });
    });
    const ok = max <= tolerance;
    if (!ok)
      report.problems.push(`output '${name}' differs from the metadata's expected values by up to ${max} (${worst}), more than the tolerance ${tolerance}`);
    report.expected = { output: name, maxAbsDiff: max, tolerance, ok };
  }

  private async compare(
    candidate: VersionFile,
    codec: ModelCodec,
    outputs: WireTensor[],
    current: VersionFile & { alias: string },
    samples: SampleSet,
  ): Promise<VersionComparison> {
    const notComparable = (reason: string): VersionComparison => ({
      alias: current.alias,
      version: current.record.version,
      comparable: false,
      reason,
      outputs: [],
      mismatched: [],
    });
    const label = `${current.model} v${current.record.version}`;
    let currentCodec: ModelCodec;
    try {
      await this.inspect(current.record.sha256, current.path, label);
      currentCodec = new ModelCodec(current.record);
    } catch (err) {
      return notComparable(`${label} cannot be loaded: ${toErrorInfo(err).message}`);
    }
    if (samples.tensors && !sameInputs(candidate.record.signature.inputs, current.record.signature.inputs)) {
      return notComparable(`${label} has other inputs (${describeInputs(current.record.signature.inputs)}), so it cannot take the same tensors`);
    }
    let currentOutputs: WireTensor[];
    try {
      currentOutputs = await this.run(current, currentCodec, samples);
    } catch (err) {
      return notComparable(`${label} cannot score the same samples: ${toErrorInfo(err).message}`);
    }
    return compareOutputs(
      current.alias,
      { record: candidate.record, codec, outputs },
      { record: current.record, codec: currentCodec, outputs: currentOutputs },
      samples.rows,
    );
  }
}

/** MODEL_INVALID for a file the pool could not load, with advice that fits the reason. */
function loadRefusal(info: ErrorInfo, path: string, label: string): ScoreqError {
  // The pool names the inputs and outputs it cannot serve, and says what to do about them.
  const inputs = info.details?.['unsupportedInputs'];
  const outputs = info.details?.['nonTensorOutputs'];
  if (Array.isArray(inputs) && Array.isArray(outputs)) {
    return new ScoreqError('MODEL_INVALID', `${label} has ${info.message}, and push it again`, {
      field: 'file',
      ...(inputs.length > 0 ? { inputs } : {}),
      ...(outputs.length > 0 ? { outputs } : {}),
    });
  }
  // ORT names the cache file it was given, which means nothing to the person pushing.
  const reason = info.message.replace(`onnxruntime could not load ${path}: `, '').split(path).join('the file').replace(/\.+$/, '');
  const advice = /protobuf parsing failed/i.test(reason)
    ? 'Push a complete .onnx file: check the export finished and the file was copied whole (truncated and non-ONNX files fail here), ' +
      'e.g. re-export it with torch.onnx.export or skl2onnx and check it with onnx.checker.check_model'
    : 'onnxruntime refused the graph itself (e.g. a type the exporter declared wrongly, or an operator or opset it lacks): ' +
      're-export it, check it with onnx.checker.check_model(model, full_check=True) and push it again';
  return new ScoreqError('MODEL_INVALID', `${label} is not a model onnxruntime can load: ${reason}. ${advice}`, { field: 'file' });
}

/** Session key of a file in the pool: the bytes decide the session, so the hash names it. */
function sessionKey(sha256: string): string {
  return `registry#${sha256}`;
}

function sameInputs(a: TensorSpec[], b: TensorSpec[]): boolean {
  return a.length === b.length && a.every((x, i) => x.name === b[i]?.name && x.type === b[i]?.type && x.shape.join() === b[i]?.shape.join());
}
