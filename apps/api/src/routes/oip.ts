import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { OIP_DATATYPES, resolveVersion, ScoreqError, type ModelRecord, type TensorSpec } from '@scoreq/contracts';
import { principalOf } from '../auth/auth-hook.js';
import type { ApiContext } from '../context.js';
import { checkFloat32Range } from '../input-checks.js';
import { binaryTail, registerOipBodyParser } from '../oip/body.js';
import { inferReply } from '../oip/infer-response.js';
import { binaryOutputs, inputTensors } from '../oip/input-tensors.js';
import { AUTH_ERRORS, v2Errors } from '../schemas/common.js';
import {
  inferRequest,
  inferResponse,
  modelMetadata,
  modelReady,
  oipModelParams,
  oipVersionParams,
  serverLive,
  serverMetadata,
  serverReady,
  type InferRequest,
} from '../schemas/oip.js';

/** What the Open Inference Protocol calls our runtime (Triton's name for onnxruntime models). */
const PLATFORM = 'onnxruntime_onnx';
/** Protocol extensions served, as Triton names them in server metadata. */
const EXTENSIONS = ['binary_tensor_data'];

/**
 * The Open Inference Protocol v2 as KServe and Triton define it: server and model metadata,
 * liveness and readiness, and infer. An infer call is an ordinary scoring job with tensors: it
 * goes through the queue and the micro-batcher like any other, and the call waits for it.
 * Bodies are JSON (no Content-Type, application/json or octet-stream), with Triton's binary
 * tensors after it when `Inference-Header-Content-Length` says so. Errors answer
 * `{ "error": "<message>" }`.
 */
export function oipRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance): Promise<void> => {
    registerOipBodyParser(app);
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['open inference protocol'];
    const v2 = 'v2' as const;

    r.get('/v2', {
      config: { scope: 'public', protocol: v2, rateLimit: false },
      schema: { summary: 'Server metadata', tags, security: [], response: { 200: serverMetadata } },
      handler: async () => ({ name: 'scoreq', version: ctx.version, extensions: EXTENSIONS }),
    });

    r.get('/v2/health/live', {
      config: { scope: 'public', protocol: v2, rateLimit: false },
      schema: { summary: 'Liveness: the server answers', tags, security: [], response: { 200: serverLive } },
      handler: async () => ({ live: true }),
    });

    r.get('/v2/health/ready', {
      config: { scope: 'public', protocol: v2, rateLimit: false },
      schema: { summary: 'Readiness: Redis answers', tags, security: [], response: { 200: serverReady, 503: serverReady } },
      handler: async (_request, reply) => {
        const ready = await ctx.redis.ping().then(
          (reply) => reply === 'PONG',
          () => false,
        );
        return reply.code(ready ? 200 : 503).send({ ready });
      },
    });

    const metadataSchema = { tags, response: { 200: modelMetadata, ...v2Errors(400, 404, ...AUTH_ERRORS) } };
    r.get('/v2/models/:name', {
      config: { scope: 'read', protocol: v2 },
      schema: { summary: 'Model metadata (default version)', params: oipModelParams, ...metadataSchema },
      handler: async (request) => metadataOf(await ctx.registry.get(request.params.name)),
    });
    r.get('/v2/models/:name/versions/:version', {
      config: { scope: 'read', protocol: v2 },
      schema: { summary: 'Model metadata of one version', params: oipVersionParams, ...metadataSchema },
      handler: async (request) => metadataOf(await ctx.registry.get(request.params.name), request.params.version),
    });

    const readySchema = {
      tags,
      description: '200 when a worker serves the model, 400 when none does (the protocol answers readiness with the status)',
      response: { 200: modelReady, 400: modelReady, ...v2Errors(404, ...AUTH_ERRORS) },
    };
    r.get('/v2/models/:name/ready', {
      config: { scope: 'read', protocol: v2 },
      schema: { summary: 'Model readiness', params: oipModelParams, ...readySchema },
      handler: async (request, reply) => ready(ctx, reply, request.params.name),
    });
    r.get('/v2/models/:name/versions/:version/ready', {
      config: { scope: 'read', protocol: v2 },
      schema: { summary: 'Model version readiness', params: oipVersionParams, ...readySchema },
      handler: async (request, reply) => ready(ctx, reply, request.params.name, request.params.version),
    });

    const inferSchema = {
      tags,
      description:
        'Scores the tensors through the queue and the micro-batcher like any job, and waits for the result ' +
        `(at most ${ctx.options.maxWaitMs} ms; then 408 WAIT_TIMEOUT naming the job id, which GET /v1/jobs/:id still answers). ` +
        'The body is JSON, sent without a Content-Type, as application/json or as application/octet-stream (others 415); ' +
        'with binary tensors (Triton binary tensor data extension) the JSON is the first ' +
        'Inference-Header-Content-Length bytes and the tensor bytes follow. Input data may be flat or nested per the shape.',
      body: inferRequest,
      response: { 200: inferResponse, ...v2Errors(400, 404, 408, 413, 415, 500, ...AUTH_ERRORS) },
    };
    r.post('/v2/models/:name/infer', {
      config: { scope: 'submit', protocol: v2 },
      schema: { summary: 'Infer (default version)', params: oipModelParams, ...inferSchema },
      handler: async (request, reply) => infer(ctx, { model: request.params.name, body: request.body }, request, reply),
    });
    r.post('/v2/models/:name/versions/:version/infer', {
      config: { scope: 'submit', protocol: v2 },
      schema: { summary: 'Infer with one version', params: oipVersionParams, ...inferSchema },
      handler: async (request, reply) => infer(ctx, { model: request.params.name, version: request.params.version, body: request.body }, request, reply),
    });
  };
}

interface InferCall {
  model: string;
  version?: string;
  body: InferRequest;
}

async function infer(ctx: ApiContext, call: InferCall, request: FastifyRequest, reply: FastifyReply) {
  const { model, version, body } = call;
  const abort = new AbortController();
  // The caller hung up: stop waiting (the job still runs; its result is kept as usual).
  const onClose = (): void => {
    if (!reply.raw.writableEnded) abort.abort(new ScoreqError('WAIT_TIMEOUT', 'the caller closed the connection'));
  };
  let id: string | undefined;
  try {
    const tensors = inputTensors(body.inputs, binaryTail(request));
    const binary = binaryOutputs(body);
    checkFloat32Range(tensors, 'tensors');
    id = await ctx.client.submit(
      model,
      { tensors },
      {
        tenant: principalOf(request).tenant,
        ...(version === undefined ? {} : { version }),
        ...(body.outputs === undefined ? {} : { outputs: body.outputs.map((o) => o.name) }),
      },
    );
    reply.raw.once('close', onClose);
    const result = await ctx.client.waitForResult(id, { timeoutMs: ctx.options.maxWaitMs, signal: abort.signal });
    const answer = inferReply({ model_name: model, model_version: result.version, id: body.id ?? id }, result.tensors ?? [], binary);
    if (answer.kind === 'json') return answer.body;
    return reply.headers(answer.headers).send(answer.body);
  } catch (err) {
    throw inOipTerms(err, id);
  } finally {
    reply.raw.off('close', onClose);
  }
}

/** The shared validation calls a request's tensors `tensors[i]`; the protocol calls them `inputs[i]`. */
function inOipTerms(err: unknown, id: string | undefined): unknown {
  if (!(err instanceof ScoreqError)) return err;
  const rename = (text: string): string => text.replace(/\btensors\[/g, 'inputs[').replace(/^tensors\b/, 'inputs');
  const details: Record<string, unknown> = { ...err.details };
  if (typeof details.field === 'string') details.field = rename(details.field);
  if (err.code === 'WAIT_TIMEOUT' && id !== undefined) {
    return new ScoreqError('WAIT_TIMEOUT', `${err.message}; it is still queued or running: GET /v1/jobs/${id}`, { ...details, id });
  }
  return new ScoreqError(err.code, rename(err.message), details);
}

function metadataOf(record: ModelRecord, ref?: string) {
  const version = resolveVersion(record, ref);
  const tensor = (t: TensorSpec) => ({ name: t.name, datatype: OIP_DATATYPES[t.type], shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) });
  return {
    name: record.name,
    versions: Object.keys(record.versions).sort((a, b) => Number(a) - Number(b)),
    platform: PLATFORM,
    inputs: version.signature.inputs.map(tensor),
    outputs: version.signature.outputs.map(tensor),
  };
}

/** Ready when the version resolves and at least one worker consumes the model's queue. */
async function ready(ctx: ApiContext, reply: FastifyReply, name: string, ref?: string) {
  resolveVersion(await ctx.registry.get(name), ref);
  const workers = await ctx.queues.get(name).getWorkersCount();
  return reply.code(workers > 0 ? 200 : 400).send({ name, ready: workers > 0 });
}
