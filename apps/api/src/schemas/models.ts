import { z } from 'zod';
import { modelName, tensorSpec, versionRef } from './common.js';

export const modelParams = z.object({ name: modelName });
export const versionParams = z.object({ name: modelName, version: versionRef });
export const aliasParams = z.object({ name: modelName, alias: z.string().describe("Alias: letters, digits, '_' or '-', starting with a letter") });

export const versionRecord = z.object({
  version: z.string(),
  sha256: z.string(),
  size: z.number(),
  createdAt: z.string(),
  author: z.string().optional(),
  comment: z.string().optional(),
  signature: z.object({
    inputs: z.array(tensorSpec),
    outputs: z.array(tensorSpec),
    batch: z.object({ dynamic: z.boolean(), size: z.number().nullable() }),
  }),
  metadata: z.record(z.string(), z.unknown()).describe('The metadata.json of the version: features, output, batching, samples, …'),
});

export const aliasMove = z.object({
  alias: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  by: z.string(),
  at: z.string(),
  reason: z.string(),
  kind: z.enum(['promote', 'rollback', 'remove']),
});

export const modelSummary = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  latest: z.string().nullable(),
  aliases: z.record(z.string(), z.string()),
});

export const modelList = z.object({ models: z.array(modelSummary) });

export const modelDetail = z.object({
  name: z.string(),
  aliases: z.record(z.string(), z.string()).describe('Alias → version, e.g. { "production": "2" }'),
  versions: z.array(versionRecord).describe('Oldest first'),
  history: z.array(aliasMove).describe('Alias moves, newest first'),
});

export const uploadHeaders = z.looseObject({
  'scoreq-metadata': z
    .string()
    .max(16_384)
    .optional()
    .describe('The version metadata as JSON (features, output, samples, …); non-ASCII characters \\u-escaped'),
  'scoreq-comment': z.string().max(1000).optional().describe('Why this version, kept with it'),
});

/** Model bytes as sent with Content-Type: application/octet-stream. */
export const modelBytes = z
  .custom<Buffer>((v) => Buffer.isBuffer(v), 'the body must be the .onnx file, sent with Content-Type: application/octet-stream')
  .meta({ type: 'string', format: 'binary', description: 'The .onnx file' });

export const pushResult = z.object({ model: z.string(), version: versionRecord, removed: z.array(z.string()).describe('Versions retention deleted') });

export const validateBody = z
  .object({ against: z.string().optional().describe('Alias whose current version the candidate is compared with; default production') })
  .strict()
  .nullish();

const outputDiff = z.object({ name: z.string(), maxAbsDiff: z.number(), meanAbsDiff: z.number(), changedRows: z.number(), rows: z.number() });

export const validationReport = z
  .object({
    ok: z.boolean(),
    model: z.string(),
    version: z.string(),
    problems: z.array(z.string()).describe('Each reason validation fails'),
    notes: z.array(z.string()).describe('Facts that do not fail validation'),
    samples: z.object({ source: z.enum(['metadata', 'generated']), rows: z.number() }),
    outputs: z.array(z.object({ name: z.string(), type: z.string(), dims: z.array(z.number()), nonFinite: z.number() })),
    expected: z.object({ output: z.string(), maxAbsDiff: z.number(), tolerance: z.number(), ok: z.boolean() }).optional(),
    comparison: z
      .object({
        alias: z.string(),
        version: z.string(),
        comparable: z.boolean(),
        reason: z.string().optional(),
        outputs: z.array(outputDiff),
        labels: z.object({ changed: z.number(), rows: z.number(), share: z.number() }).optional(),
        mismatched: z.array(z.string()),
      })
      .optional(),
  })
  .describe('What validation found: problems fail it, notes do not; the outputs on the samples, and how they differ from what the alias points at');

export const promoteBody = z
  .object({
    version: versionRef.describe('Version to point the alias at (number, another alias, or latest)'),
    reason: z.string().max(1000).optional().describe('Why, kept in the history'),
    force: z.boolean().optional().describe('Skip validation'),
  })
  .strict();

export const rollbackBody = z
  .object({ reason: z.string().max(1000).optional().describe('Why, kept in the history') })
  .strict()
  .nullish();

export const aliasChange = z.object({ model: z.string(), move: aliasMove, report: validationReport.optional() });
