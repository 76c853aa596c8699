import { z } from 'zod';
import { modelName, tensorValue, versionRef } from './common.js';

/** Open Inference Protocol (KServe v2 / Triton) shapes, field names as the protocol spells them. */
const parameters = z.record(z.string(), z.unknown()).optional();

export const oipModelParams = z.object({ name: modelName });
export const oipVersionParams = z.object({ name: modelName, version: versionRef });

export const inferRequest = z
  .object({
    id: z.string().max(256).optional().describe('Echoed in the response; the job id when absent'),
    parameters,
    inputs: z
      .array(
        z.object({
          name: z.string().min(1),
          shape: z.array(z.number().int().nonnegative()),
          datatype: z.string().min(1).describe('FP32, FP64, INT64, INT32, INT8, UINT8, BOOL, …'),
          data: z.array(tensorValue).describe('Flat, row-major; as many values as the product of the shape'),
          parameters,
        }),
      )
      .min(1),
    outputs: z
      .array(z.object({ name: z.string().min(1), parameters }))
      .min(1)
      .optional()
      .describe('Outputs to return; all when absent'),
  })
  .describe('Open Inference Protocol inference request');

export const inferResponse = z.object({
  model_name: z.string(),
  model_version: z.string(),
  id: z.string(),
  outputs: z.array(
    z.object({
      name: z.string(),
      shape: z.array(z.number()),
      datatype: z.string(),
      data: z.array(z.union([z.number(), z.boolean(), z.null()])),
    }),
  ),
});

const tensorMetadata = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()).describe('-1 for dynamic dimensions') });

export const modelMetadata = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(tensorMetadata),
  outputs: z.array(tensorMetadata),
});

export const modelReady = z.object({ name: z.string(), ready: z.boolean() });
export const serverMetadata = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });
export const serverLive = z.object({ live: z.boolean() });
export const serverReady = z.object({ ready: z.boolean() });

export type InferRequest = z.infer<typeof inferRequest>;
