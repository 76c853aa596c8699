import { featureSpecs, mainOutput, ScoreqError, toErrorInfo, type ModelSignature, type ModelVersionRecord, type TensorSpec } from '@scoreq/contracts';
import { ModelCodec } from '@scoreq/inference';

/**
 * Checks that a version's metadata fits its signature: the named input and outputs exist,
 * features can feed the input (one 2-D input with as many columns as features, no name twice),
 * labels match the main output, samples can be encoded and expected values match them.
 * Throws INVALID_METADATA naming the field; returns the version's codec.
 */
export function checkMetadataFit(record: ModelVersionRecord): ModelCodec {
  const { metadata, signature } = record;
  const inputs = signature.inputs.map((i) => i.name);
  const outputs = signature.outputs.map((o) => o.name);
  if (metadata.input !== undefined && !inputs.includes(metadata.input)) {
    throw invalid('input', `metadata names input '${metadata.input}', which the model lacks (inputs: ${inputs.join(', ')})`);
  }
  if (metadata.output?.name !== undefined && !outputs.includes(metadata.output.name)) {
    throw invalid('output.name', `metadata names output '${metadata.output.name}', which the model lacks (outputs: ${outputs.join(', ')})`);
  }
  const features = featureSpecs(metadata);
  const seen = new Set<string>();
  for (const f of features) {
    if (seen.has(f.name)) throw invalid('features', `metadata names feature '${f.name}' twice`);
    seen.add(f.name);
  }
  if (features.length > 0) checkFeatureInput(signature, features.length);
  let codec: ModelCodec;
  try {
    codec = new ModelCodec(record);
  } catch (err) {
    throw invalid('features', toErrorInfo(err).message);
  }
  checkLabels(record);
  const { samples, expected } = metadata;
  if (samples) {
    if (features.length === 0) throw invalid('samples', 'metadata has samples (named feature rows) but names no "features" to feed them');
    try {
      codec.encode({ rows: samples });
    } catch (err) {
      const info = toErrorInfo(err);
      const field = typeof info.details?.field === 'string' ? info.details.field.replace(/^rows/, 'samples') : 'samples';
      throw invalid(field, `metadata samples cannot feed the model: ${info.message.replace(/\brows\[/g, 'samples[')}`);
    }
  }
  if (expected) {
    if (!samples) throw invalid('expected', 'metadata has "expected" outputs but no "samples" they belong to');
    if (expected.values.length !== samples.length) {
      throw invalid('expected.values', `metadata has ${expected.values.length} expected rows for ${samples.length} samples`);
    }
    const name = expected.output ?? mainOutput(record)?.name;
    if (name === undefined || !outputs.includes(name)) {
      throw invalid('expected.output', `metadata "expected" names output '${name}', which the model lacks (outputs: ${outputs.join(', ')})`);
    }
  }
  return codec;
}

function invalid(field: string, message: string): ScoreqError {
  return new ScoreqError('INVALID_METADATA', message, { field });
}

function checkFeatureInput(signature: ModelSignature, count: number): void {
  if (signature.inputs.length !== 1) {
    throw invalid(
      'features',
      `metadata names ${count} features, but the model has ${signature.inputs.length} inputs (${describeInputs(signature.inputs)}): ` +
        `feature rows can feed only a single-input model; drop "features" and send tensors, or export the model with one input`,
    );
  }
  const input = signature.inputs[0]!;
  if (input.shape.length !== 2) {
    throw invalid('features', `feature rows feed a 2-D [batch, features] input, but input '${input.name}' has shape [${input.shape.join(', ')}]`);
  }
}

function checkLabels(record: ModelVersionRecord): void {
  const spec = record.metadata.output;
  const main = mainOutput(record);
  if (!spec?.labels || !main || spec.kind !== 'classification') return;
  const inner = main.shape.slice(1);
  if (!inner.every((d): d is number => typeof d === 'number' && d > 0)) return;
  const width = inner.reduce((a, b) => a * b, 1);
  const wanted = width === 1 ? 2 : width;
  if (spec.labels.length !== wanted) {
    throw invalid(
      'output.labels',
      `metadata has ${spec.labels.length} labels but output '${main.name}' has ${width} column${width === 1 ? ' (a positive-class probability: give 2 labels, negative first)' : 's'}`,
    );
  }
}

export function describeInputs(inputs: TensorSpec[]): string {
  return inputs.map((i) => `${i.name} ${i.type} [${i.shape.join(', ')}]`).join(', ');
}
