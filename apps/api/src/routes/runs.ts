import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../auth/auth-hook.js';
import type { ApiContext } from '../context.js';
import { apiError } from '../errors.js';
import type { FileRunRequest, UploadRunRequest } from '../runs/run-manager.js';
import { runView } from '../runs/run-view.js';
import { isUploadType, mediaType, UPLOAD_TYPES, type UploadType } from '../runs/upload.js';
import { AUTH_ERRORS, v1Errors } from '../schemas/common.js';
import {
  listRunsQuery,
  runFileBody,
  runIdParams,
  runList,
  runView as runViewSchema,
  startRunBody,
  uploadQuery,
  type StartRunBody,
  type UploadQuery,
} from '../schemas/runs.js';

const FILE_TYPES = { csv: 'text/csv; charset=utf-8', jsonl: 'application/x-ndjson; charset=utf-8' } as const;

/**
 * Overnight runs over HTTP: POST /v1/runs starts (or resumes) a run produced by this API
 * process — on files in SCOREQ_RUNS_DIR named by a JSON body, or on an uploaded CSV / JSON lines
 * body streamed to disk — and GET, DELETE, /output and /rejects follow it. A tenant sees only
 * its own runs.
 */
export function runRoutes(ctx: ApiContext) {
  return async (app: FastifyInstance): Promise<void> => {
    // Upload bodies are left unread here: the handler streams them to disk (bodies can be
    // gigabytes, limited by SCOREQ_RUN_UPLOAD_LIMIT_BYTES rather than the JSON body limit).
    for (const type of Object.keys(UPLOAD_TYPES)) app.addContentTypeParser(type, (_request, _payload, done) => done(null, undefined));
    const r = app.withTypeProvider<ZodTypeProvider>();
    const tags = ['runs'];

    r.post('/v1/runs', {
      config: { scope: 'submit' },
      schema: {
        summary: 'Start (or resume) an overnight run',
        description:
          'Either a JSON body naming an input and an output file relative to SCOREQ_RUNS_DIR, or the input itself as the body ' +
          '(Content-Type text/csv or application/x-ndjson, options in the query string: ?model=churn&passThrough=id), streamed to ' +
          '<SCOREQ_RUNS_DIR>/<id>/input.<ext> and scored into output.<ext> beside it. 202 with the run (Location: /v1/runs/<id>); ' +
          "200 when the id names the tenant's run that has already completed. A JSON body with the id of the tenant's unfinished run resumes it.",
        tags,
        querystring: uploadQuery,
        // Absent (null) when the body is an upload: the handler streams it.
        body: startRunBody.nullish(),
        consumes: ['application/json', ...Object.keys(UPLOAD_TYPES)],
        response: { 200: runViewSchema, 202: runViewSchema, ...v1Errors(400, 404, 409, 413, 415, 503, ...AUTH_ERRORS) },
      },
      // A refused upload is not read: close the connection rather than receive the rest of it.
      onError: async (request, reply) => {
        if (isUploadType(mediaType(request.headers['content-type'])) && !request.raw.readableEnded) reply.header('connection', 'close');
      },
      handler: async (request, reply) => {
        const { tenant } = principalOf(request);
        const type = mediaType(request.headers['content-type']);
        const info = isUploadType(type)
          ? await ctx.runs.startFromUpload(uploadRequest(request, request.query, type), tenant)
          : await ctx.runs.startFromFiles(fileRequest(request.body, request.query), tenant);
        reply.header('location', `/v1/runs/${info.id}`);
        return reply.code(info.status === 'running' ? 202 : 200).send(runView(info, ctx.runsDir));
      },
    });

    r.get('/v1/runs', {
      config: { scope: 'read' },
      schema: {
        summary: "The tenant's runs: running ones, and finished ones until their state expires",
        tags,
        querystring: listRunsQuery,
        response: { 200: runList, ...v1Errors(400, ...AUTH_ERRORS) },
      },
      handler: async (request) => ({
        runs: (await ctx.runs.list(principalOf(request).tenant, request.query.status)).map((info) => runView(info, ctx.runsDir)),
      }),
    });

    r.get('/v1/runs/:id', {
      config: { scope: 'read' },
      schema: {
        summary: 'A run: status, progress (rows/s, ETA) and error',
        tags,
        params: runIdParams,
        response: { 200: runViewSchema, ...v1Errors(400, 404, ...AUTH_ERRORS) },
      },
      handler: async (request) => runView(await ctx.runs.find(request.params.id, principalOf(request).tenant), ctx.runsDir),
    });

    r.delete('/v1/runs/:id', {
      config: { scope: 'submit' },
      schema: {
        summary: 'Cancel a run',
        description: "Stops the run's producer and removes its waiting chunk jobs; answers the cancelled run. 409 CANCEL_TOO_LATE once it completed or failed.",
        tags,
        params: runIdParams,
        response: { 200: runViewSchema, ...v1Errors(400, 404, 409, ...AUTH_ERRORS) },
      },
      handler: async (request) => runView(await ctx.runs.cancel(request.params.id, principalOf(request).tenant), ctx.runsDir),
    });

    for (const which of ['output', 'rejects'] as const) {
      r.get(`/v1/runs/:id/${which}`, {
        config: { scope: 'read' },
        schema: {
          summary: which === 'output' ? "Download a completed run's output" : "Download a run's rejected rows (line,field,reason)",
          description:
            which === 'output'
              ? 'The output file, in input order. 409 RUN_NOT_FINISHED until the run has completed.'
              : 'The rejects file as CSV: line number, field and reason of every bad row. 409 RUN_NOT_FINISHED while the run is running.',
          tags,
          params: runIdParams,
          produces: which === 'output' ? Object.values(FILE_TYPES) : [FILE_TYPES.csv],
          response: { 200: runFileBody, ...v1Errors(400, 404, 409, ...AUTH_ERRORS) },
        },
        handler: async (request, reply) => {
          const { id } = request.params;
          const file = await ctx.runs.file(id, principalOf(request).tenant, which);
          const { size } = await stat(file.path);
          const extension = file.format === 'csv' ? 'csv' : 'jsonl';
          return reply
            .header('content-type', FILE_TYPES[file.format])
            .header('content-length', size)
            .header('content-disposition', `attachment; filename="${id}.${which}.${extension}"`)
            .send(createReadStream(file.path));
        },
      });
    }
  };
}

function fileRequest(body: StartRunBody | null | undefined, query: UploadQuery): FileRunRequest {
  if (body === undefined || body === null) {
    throw apiError(
      'INVALID_INPUT',
      'send a JSON body { model, input, output } naming files in SCOREQ_RUNS_DIR, or upload the input as a text/csv or application/x-ndjson body',
      { field: 'body' },
    );
  }
  const stray = Object.keys(query);
  if (stray.length > 0) {
    throw apiError('INVALID_INPUT', `with a JSON body, give every option in the body, not in the query string (${stray.join(', ')})`, {
      field: `query.${stray[0]!}`,
    });
  }
  return body;
}

function uploadRequest(request: FastifyRequest, query: UploadQuery, type: UploadType): UploadRunRequest {
  const inputFormat = UPLOAD_TYPES[type];
  if (query.model === undefined)
    throw apiError('INVALID_INPUT', 'query.model: required with an uploaded body (?model=churn or ?model=churn@3)', { field: 'query.model' });
  if (query.format !== undefined && query.format !== inputFormat) {
    throw apiError('INVALID_INPUT', `query.format: ${query.format} disagrees with Content-Type ${type}, which is ${inputFormat}`, { field: 'query.format' });
  }
  const length = request.headers['content-length'];
  return {
    model: query.model,
    version: query.version,
    id: query.id,
    chunkRows: query.chunkRows,
    passThrough: query.passThrough?.split(',').map((c) => c.trim()),
    callbackUrl: query.callbackUrl,
    maxRejectRate: query.maxRejectRate,
    outputFormat: query.outputFormat,
    inputFormat,
    body: request.raw,
    contentLength: length === undefined ? undefined : Number(length),
  };
}
