import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseJsonText } from '../body-parsers.js';
import { apiError } from '../errors.js';
import { HEADER_LENGTH, splitInferBody } from './binary-tensors.js';

/** Bytes after the JSON inference header, by request, for the handler to read binary inputs from. */
const tails = new WeakMap<FastifyRequest, Buffer>();
const EMPTY = Buffer.alloc(0);

/**
 * Open Inference Protocol bodies, in this plugin's scope only: JSON whatever the Content-Type
 * (tritonclient and KServe's REST client send none, or application/octet-stream with binary
 * tensors), cut at `Inference-Header-Content-Length` when there is one. v1 routes keep their
 * own parsers and refuse other media types.
 */
export function registerOipBodyParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    try {
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

/** The binary tensor bytes of a request parsed here; empty when it has none. */
export function binaryTail(request: FastifyRequest): Buffer {
  return tails.get(request) ?? EMPTY;
}
