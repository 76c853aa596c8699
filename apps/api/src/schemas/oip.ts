import { z } from 'zod';
import { modelName, versionRef } from './common.js';

/** Most dimensions an input tensor may have (ONNX models seldom take more than 5). */
export const MAX_RANK = 16;

/** Parameters of Triton's binary tensor data extension; others are taken and ignored. */
const binarySize = z.number().int().nonnegative().optional().describe('Bytes of this tensor after the JSON header (binary tensor data extension)');

export const oipModelParams = z.object({ name: modelName });
export const oipVersionParams = z.object({ name: modelName, version: versionRef });

/** Open Inference Protocol (KServe v2 / Triton) shapes, field names as the protocol spells them. */
export const inferRequest = z
  .object({
    id: z.string().max(256).optional().describe('Echoed in the response; the job id when absent'),
    parameters: z.looseObject({ binary_data_output: z.boolean().optional().describe('Every output in binary form unless it says otherwise') }).optional(),
    inputs: z
      .array(
        z.object({
          name: z.string().min(1),
          shape: z.array(z.number().int().nonnegative()).max(MAX_RANK, `a tensor has at most ${MAX_RANK} dimensions; reshape the input to the model's shape`),
          datatype: z.string().min(1).describe('FP32, FP64, INT8, UINT8, INT16, UINT16, INT32, UINT32, INT64, UINT64 or BOOL (not FP16, BF16 or BYTES)'),
          data: z
            .array(z.unknown())
            .optional()
            .describe('Flat or nested per the shape, row-major; absent when parameters.binary_data_size says its bytes follow the JSON'),
          parameters: z.looseObject({ binary_data_size: binarySize }).optional(),
        }),
      )
      .min(1),
    outputs: z
      .array(
        z.object({
          name: z.string().min(1),
          parameters: z.looseObject({ binary_data: z.boolean().optional().describe('This output in binary form (after the JSON header)') }).optional(),
        }),
      )
      .min(1)
      .optional()
      .describe('Outputs to return; all when absent'),
  })
  .describe(
    'Open Inference Protocol inference request: JSON, or with binary tensors a JSON header of Inference-Header-Content-Length bytes then the tensor bytes',
  );

export const inferResponse = z
  .object({
    model_name: z.string(),
    model_version: z.string(),
    id: z.string(),
    outputs: z.array(
      z.object({
        name: z.string(),
        shape: z.array(z.number()),
        datatype: z.string(),
        data: z
          .array(z.union([z.number(), z.boolean(), z.null()]))
          .optional()
          .describe('Absent for an output answered in binary form'),
        parameters: z.object({ binary_data_size: z.number() }).optional(),
      }),
    ),
  })
  .describe(
    'JSON; when an output is asked for in binary form, Content-Type application/octet-stream: this JSON, of Inference-Header-Content-Length bytes, then the bytes of each binary output in order',
  );

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
