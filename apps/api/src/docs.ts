import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/** OpenAPI 3.1 from the route schemas, at /docs (UI) and /docs/json. */
export async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'scoreq API',
        version,
        description:
          'Queue-driven, micro-batched ONNX inference. v1: jobs and models; errors are { error: { code, message, details } }. ' +
          'v2: the Open Inference Protocol (KServe / Triton); errors are { error: "<message>" }. ' +
          "Send an API key as 'Authorization: Bearer <key>' or 'x-api-key: <key>' (scoreq keys create).",
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'sq_<id>_<secret>' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
