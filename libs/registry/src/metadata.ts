import { modelMetadataSchema, ScoreqError, type ModelMetadata } from '@scoreq/contracts';

/** Unknown top-level keys are refused: a typo ("feature" for "features") must not vanish. */
const strictMetadata = modelMetadataSchema.strict();

/**
 * Parses user metadata (a metadata.json's content) at the edge; INVALID_METADATA names each
 * wrong field, e.g. `metadata.features.2.scale.std: Too small`.
 */
export function parseMetadata(raw: unknown): ModelMetadata {
  const parsed = strictMetadata.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `metadata${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`);
  const first = parsed.error.issues[0]?.path.map(String).join('.') ?? '';
  throw new ScoreqError('INVALID_METADATA', `invalid model metadata: ${problems.join('; ')}`, { field: first === '' ? 'metadata' : first });
}
