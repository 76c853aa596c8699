import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { latestVersion, ScoreqError, type ModelRecord } from '@scoreq/contracts';
import { principalOf } from '../auth/auth-hook.js';
import { registerOctetStreamParser } from '../body-parsers.js';
import { apiError } from '../errors.js';
import type { ApiContext } from '../context.js';
import { AUTH_ERRORS, v1Errors } from '../schemas/common.js';
import {
  aliasChange,
  aliasParams,
  modelBytes,
  modelDetail,
  modelList,
  modelParams,
  promoteBody,
  pushResult,
  rollbackBody,
  uploadHeaders,
  validateBody,
  validationReport,
  versionParams,
} from '../schemas/models.js';

/** Alias names in a path, matched before a literal `:rollback` (find-my-way needs the regex to end the parameter). */
const ALIAS_IN_PATH = '(^[A-Za-z][A-Za-z0-9_-]{0,63})';

/**
 * Model management (scope admin): list, inspect with history, upload a version (raw
 * `application/octet-stream` body, metadata as JSON in the `scoreq-metadata` header),
 * validate, promote an alias, roll it back. Everything goes through the ModelRegistry, so the
 * API, the CLI and workers see one state.
 */
export function modelRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance): Promise<void> => {
    registerOctetStreamParser(app);
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['models'];

    r.get('/v1/models', {
      config: { scope: 'admin' },
      schema: { summary: 'Every model: versions and aliases', tags, response: { 200: modelList, ...v1Errors(...AUTH_ERRORS) } },
      handler: async () => {
        const records = await ctx.registry.list();
        return {
          models: records.map((rec) => {
            const versions = sortedVersions(rec);
            return { name: rec.name, versions, latest: latestVersion(versions) ?? null, aliases: rec.aliases };
          }),
        };
      },
    });

    r.get('/v1/models/:name', {
      config: { scope: 'admin' },
      schema: {
        summary: 'A model: versions with signature and metadata, aliases, alias history',
        tags,
        params: modelParams,
        response: { 200: modelDetail, ...v1Errors(400, 404, ...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const { name } = request.params;
        const record = await ctx.registry.get(name);
        const history = await ctx.registry.history(name);
        return { name, aliases: record.aliases, versions: sortedVersions(record).map((v) => record.versions[v]!), history };
      },
    });

    r.post('/v1/models/:name/versions', {
      config: { scope: 'admin' },
      bodyLimit: ctx.options.config.SCOREQ_MAX_MODEL_BYTES,
      schema: {
        summary: 'Upload a model version',
        description:
          'The body is the .onnx file (Content-Type: application/octet-stream); the metadata is JSON in the scoreq-metadata header. ' +
          'The registry refuses files onnxruntime cannot load, non-tensor outputs and metadata that does not fit the model. 201 with the new version.',
        tags,
        params: modelParams,
        headers: uploadHeaders,
        body: modelBytes,
        consumes: ['application/octet-stream'],
        response: { 201: pushResult, ...v1Errors(400, 413, 415, ...AUTH_ERRORS) },
      },
      // Before the body is read: a JSON or form body is the wrong kind of request, not a bad model.
      onRequest: async (request) => {
        const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/octet-stream') {
          throw apiError(
            'UNSUPPORTED_MEDIA_TYPE',
            `upload the .onnx file as the body with Content-Type: application/octet-stream, not ${JSON.stringify(type || 'none')}`,
            {
              field: 'content-type',
            },
          );
        }
      },
      handler: async (request, reply) => {
        const metadata = parseMetadataHeader(request.headers['scoreq-metadata']);
        const comment = request.headers['scoreq-comment'];
        const bytes = request.body;
        const result = await ctx.registry.push(request.params.name, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
          metadata,
          author: actor(request),
          ...(comment === undefined ? {} : { comment }),
        });
        return reply.code(201).send(result);
      },
    });

    r.post('/v1/models/:name/versions/:version/validate', {
      config: { scope: 'admin' },
      schema: {
        summary: 'Validate a version',
        description:
          'Scores sample rows and compares the outputs with what an alias (default production) points at. Problems are in the report (ok: false), not an error.',
        tags,
        params: versionParams,
        body: validateBody,
        response: { 200: validationReport, ...v1Errors(400, 404, ...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const { name, version } = request.params;
        const against = request.body?.against;
        return ctx.registry.validate(name, version, against === undefined ? {} : { against });
      },
    });

    r.post(`/v1/models/:name/aliases/:alias${ALIAS_IN_PATH}::rollback`, {
      config: { scope: 'admin' },
      schema: {
        summary: 'Roll an alias back to its previous target',
        description: 'Moves the alias back to the version it pointed at before, as the history says. 404 ALIAS_NOT_FOUND when it has nowhere to go.',
        tags,
        params: aliasParams,
        body: rollbackBody,
        response: { 200: aliasChange, ...v1Errors(400, 404, ...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const { name, alias } = request.params;
        return ctx.registry.rollback(name, { alias, by: actor(request), reason: request.body?.reason ?? '' });
      },
    });

    r.post('/v1/models/:name/aliases/:alias', {
      config: { scope: 'admin' },
      schema: {
        summary: 'Point an alias at a version (promote)',
        description:
          'Validates the version first (unless force) and refuses with 422 VALIDATION_FAILED, listing the problems; the move is kept in the history.',
        tags,
        params: aliasParams,
        body: promoteBody,
        response: { 200: aliasChange, ...v1Errors(400, 404, 422, ...AUTH_ERRORS) },
      },
      handler: async (request) => {
        const { name, alias } = request.params;
        const { version, reason, force } = request.body;
        return ctx.registry.promote(name, version, { alias, by: actor(request), reason: reason ?? '', force: force === true });
      },
    });
  };
}

function sortedVersions(record: ModelRecord): string[] {
  return Object.keys(record.versions).sort((a, b) => Number(a) - Number(b));
}

/** Who changed the registry, as its history records it: the API key and its tenant. */
function actor(request: FastifyRequest): string {
  const { keyId, tenant } = principalOf(request);
  return keyId === null ? `api (auth off)` : `api-key ${keyId} (${tenant})`;
}

function parseMetadataHeader(text: string | undefined): unknown {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ScoreqError('INVALID_METADATA', `the scoreq-metadata header is not valid JSON: ${(err as Error).message}`, { field: 'scoreq-metadata' });
  }
}
