import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseJsonText } from '../body-parsers.js';
import { apiError } from '../errors.js';
import { HEADER_LENGTH, splitInferBody } from './binary-tensors.js';

/** Bytes after the JSON inference header, by request, for the handler to read binary inputs from. */
const tails = new WeakMap<FastifyRequest, Buffer>();
const EMPTY = Buffer.alloc(0);

/** Media types an inference body may be sent as, besides none at all. */
const ACCEPTED_TYPES = ['application/json', 'application/octet-stream'];

/**
 * Open Inference Protocol bodies, in this plugin's scope only: JSON sent without a
 * Content-Type, as application/json or as application/octet-stream (tritonclient and KServe's
 * REST client send none, or octet-stream with binary tensors), cut at
 * `Inference-Header-Content-Length` when there is one. Other types answer 415: text/plain, form
 * and multipart bodies are ones a web page may POST without a CORS preflight, so taking them
 * would let any page a user opens score on an API it can reach. v1 routes keep their own
 * parsers and refuse other media types.
 */
export function registerOipBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      assertAcceptedType(request.headers['content-type']);
      const encoding = request.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'identity') {
        throw apiError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${encoding} is not supported; send the body uncompressed`, { field: 'content-encoding' });
      }
      const { json, tail } = splitInferBody(body as Buffer, request.headers[HEADER_LENGTH]);
      if (json.length === 0) throw apiError('INVALID_INPUT', 'the body is empty; send a JSON inference request', { field: 'body' });
      tails.set(request, tail);
      done(null, parseJsonText(json.toString('utf8'), tail.length > 0 ? 'the JSON inference header' : 'the body'));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** @throws ScoreqError UNSUPPORTED_MEDIA_TYPE naming the type and the accepted ones. */
function assertAcceptedType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (ACCEPTED_TYPES.includes(mediaType)) return;
  throw apiError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Type ${JSON.stringify(contentType)} is not taken by inference routes; send ${ACCEPTED_TYPES.join(' or ')} (or no Content-Type)`,
    { field: 'content-type' },
  );
}

/** The binary tensor bytes of a request parsed here; empty when it has none. */
export function binaryTail(request: FastifyRequest): Buffer {
  return tails.get(request) ?? EMPTY;
}
