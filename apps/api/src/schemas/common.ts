import { z } from 'zod';
import { MODEL_NAME } from '@scoreq/contracts';

/** Error body of every v1 route. */
export const v1Error = z
  .object({
    error: z.object({
      code: z.string().describe('Stable error code, e.g. INVALID_INPUT, JOB_NOT_FOUND, UNAUTHENTICATED'),
      message: z.string().describe('What is wrong, naming the field'),
      details: z.record(z.string(), z.unknown()).optional().describe('Structured context, e.g. { field: "rows[3].age" }'),
    }),
  })
  .describe('An error');

/** Error body of Open Inference Protocol routes, as KServe and Triton answer. */
export const v2Error = z.object({ error: z.string() }).describe('An error (Open Inference Protocol form)');

/** Response schemas of the errors a v1 route may answer, added to its own. */
export function v1Errors(...statuses: number[]): Record<number, typeof v1Error> {
  return Object.fromEntries(statuses.map((s) => [s, v1Error]));
}

/** Response schemas of the errors an Open Inference Protocol route may answer. */
export function v2Errors(...statuses: number[]): Record<number, typeof v2Error> {
  return Object.fromEntries(statuses.map((s) => [s, v2Error]));
}

/**
 * Query string of a route that takes no parameters: an unknown one (a `?wait` where none is
 * supported) is refused with 400 naming it, not silently ignored.
 */
export const noQuery = z.object({}).strict().describe('No query parameters');

/** Statuses every authenticated route may answer. */
export const AUTH_ERRORS = [401, 403, 429] as const;

/**
 * A model name. Its pattern is documented here but checked where the name is used (the client
 * and the registry call assertModelName), so a bad name answers INVALID_MODEL_NAME naming it
 * rather than a generic INVALID_INPUT.
 */
export const modelName = z.string().meta({
  description: "Model name: 1-64 letters, digits, '_' or '-', starting with a letter or digit",
  pattern: MODEL_NAME.source,
});
export const versionRef = z.string().min(1).max(64).describe('Version number ("3") or alias ("production", "staging", "latest")');

/** One row of named features: numbers, booleans (1/0), category strings, or null for the default. */
export const featureRow = z
  .record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()], { error: 'expected a finite number, a boolean, a category string or null' }))
  .describe('Named features of one row, e.g. { "age": 41, "plan": "pro" }');

/** One value of an input tensor: JSON has no NaN or Infinity, and strings are not numbers. */
export const tensorValue = z.union([z.number(), z.boolean()], { error: 'expected a finite number or a boolean' });

/** An input tensor in Open Inference Protocol form; `data` flat, row-major. */
export const inputTensor = z
  .object({
    name: z.string().min(1).describe('Model input name'),
    datatype: z.string().min(1).describe('FP32, FP64, INT64, INT32, BOOL, …'),
    shape: z.array(z.number().int().nonnegative()).describe('Dimensions, batch first'),
    data: z.array(tensorValue).describe('Values, flat and row-major; as many as the product of the shape'),
  })
  .strict();

export const outputTensor = z.object({
  name: z.string(),
  datatype: z.string(),
  shape: z.array(z.number()),
  data: z.array(z.union([z.number(), z.boolean(), z.null()])),
});

export const tensorSpec = z.object({
  name: z.string(),
  type: z.string().describe('onnxruntime element type: float32, int64, bool, …'),
  shape: z.array(z.union([z.number(), z.string()])).describe('Dimensions; symbolic ones are names such as "N"'),
});
