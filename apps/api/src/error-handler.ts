import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { apiError, isApiErrorCode, statusOf, type ApiErrorCode } from './errors.js';

/** An error as the HTTP edge answers it. */
export interface HttpErrorBody {
  code: ApiErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** Most validation problems listed in one answer. */
const MAX_ISSUES = 10;

/** Errors ioredis gives while Redis is down or the connection is not ready. */
const REDIS_DOWN =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|max retries per request|Reached the max retries/i;

/**
 * The one place errors become HTTP answers (like Fastify's lib/error-status.js): every code maps
 * to its status through the catalogue, v1 routes answer `{ error: { code, message, details } }`,
 * Open Inference Protocol routes `{ error: "<message>" }` as KServe and Triton do. Unknown
 * routes answer ROUTE_NOT_FOUND in the format of their path.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(apiError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''} (the routes are listed at /docs)`), request, reply),
  );
}

function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = toHttpError(err, request);
  const status = statusOf(body.code);
  if (status >= 500) request.log.error({ err, code: body.code }, 'request failed');
  else request.log.debug({ code: body.code, message: body.message }, 'request refused');
  if (body.code === 'UNAUTHENTICATED') reply.header('www-authenticate', 'Bearer realm="scoreq"');
  reply.code(status);
  return isV2(request) ? reply.send({ error: body.message }) : reply.send({ error: body });
}

function isV2(request: FastifyRequest): boolean {
  const protocol = request.is404 ? undefined : request.routeOptions.config.protocol;
  return protocol === 'v2' || (protocol === undefined && /^\/v2(\/|$|\?)/.test(request.url));
}

/** Whatever was thrown, as a code of the catalogue, a message that names what is wrong, and details. */
export function toHttpError(err: unknown, request: FastifyRequest): HttpErrorBody {
  if (hasZodFastifySchemaValidationErrors(err)) return validationError(err, (err as { validationContext?: string }).validationContext ?? 'body');
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as {
    code?: unknown;
    message?: unknown;
    details?: unknown;
    statusCode?: unknown;
  };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (isApiErrorCode(e.code)) {
    const details = typeof e.details === 'object' && e.details !== null ? (e.details as Record<string, unknown>) : undefined;
    return details ? { code: e.code, message, details } : { code: e.code, message };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limit = request.routeOptions.bodyLimit;
      return { code: 'BODY_TOO_LARGE', message: `the request body is larger than this route's limit of ${limit} bytes`, details: { limit } };
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: `this route does not take Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')}; send application/json`,
        details: { field: 'content-type' },
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'INVALID_INPUT', message: 'the body is empty although Content-Type is application/json', details: { field: 'body' } };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { code: 'INVALID_INPUT', message: 'the body is not valid JSON', details: { field: 'body' } };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'INVALID_INPUT', message: 'the body size does not match Content-Length', details: { field: 'content-length' } };
  }
  if (REDIS_DOWN.test(message)) return { code: 'REDIS_UNAVAILABLE', message: `Redis is unavailable: ${message}` };
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 404) return { code: 'ROUTE_NOT_FOUND', message };
  if (status === 413) return { code: 'BODY_TOO_LARGE', message };
  if (status === 415) return { code: 'UNSUPPORTED_MEDIA_TYPE', message };
  if (status === 429) return { code: 'RATE_LIMITED', message };
  if (status >= 400 && status < 500) return { code: 'INVALID_INPUT', message };
  return { code: 'INTERNAL', message: `unexpected error (request ${request.id}); the API log has the details` };
}

interface Issue {
  instancePath: string;
  message?: string;
}

/** A schema validation failure, naming each wrong field: `rows[0].age`, `query.wait`. */
function validationError(err: { validation: Issue[] }, context: string): HttpErrorBody {
  const issues = err.validation
    .slice(0, MAX_ISSUES)
    .map((issue) => ({ field: fieldName(context, issue.instancePath), message: issue.message ?? 'is invalid' }));
  const more = err.validation.length - issues.length;
  const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ') + (more > 0 ? `; and ${more} more` : '');
  return { code: 'INVALID_INPUT', message, details: { field: issues[0]?.field ?? context, issues } };
}

/** `/rows/0/age` in the body → `rows[0].age`; in the query string → `query.wait`. */
function fieldName(context: string, path: string): string {
  let out = '';
  for (const part of path.split('/').filter((p) => p !== '')) out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  const where = context === 'querystring' ? 'query' : context;
  if (where === 'body') return out === '' ? 'body' : out;
  return out === '' ? where : `${where}.${out}`;
}
