import type { ModelMetadata } from './model.js';
import type { RowOutput } from './job.js';

/**
 * Turns one row of a classifier's output into label, score and per-label scores.
 * One column is a positive-class probability compared with `threshold`; several columns are
 * class probabilities and the highest wins.
 */
export function classifyRow(values: ArrayLike<number>, labels: readonly string[] | undefined, threshold: number): RowOutput {
  if (values.length === 1) {
    const p = values[0]!;
    const [negative, positive] = [labels?.[0] ?? '0', labels?.[1] ?? '1'];
    const isPositive = p >= threshold;
    return { label: isPositive ? positive : negative, score: isPositive ? p : 1 - p, scores: { [negative]: 1 - p, [positive]: p } };
  }
  let best = 0;
  const scores: Record<string, number> = {};
  for (let i = 0; i < values.length; i++) {
    scores[labels?.[i] ?? String(i)] = values[i]!;
    if (values[i]! > values[best]!) best = i;
  }
  return { label: labels?.[best] ?? String(best), score: values[best]!, scores };
}

/**
 * Formats one row of the model's main output as the metadata's `output.kind` says:
 * classification → label/score/scores, one-column regression → value, otherwise null
 * (the caller returns raw outputs).
 */
export function formatRow(metadata: ModelMetadata, values: ArrayLike<number>): RowOutput | null {
  const spec = metadata.output;
  if (spec?.kind === 'classification') return classifyRow(values, spec.labels, spec.threshold ?? 0.5);
  if (spec?.kind === 'regression' && values.length === 1) return { value: values[0]! };
  return null;
}
