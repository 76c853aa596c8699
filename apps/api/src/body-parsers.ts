import type { FastifyInstance } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { apiError } from './errors.js';

/**
 * JSON bodies parsed so that a malformed one is refused with the parser's reason (where it
 * broke), not just "not valid JSON"; `__proto__` and `constructor.prototype` keys are refused,
 * as Fastify's own parser does.
 */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') {
      done(apiError('INVALID_INPUT', 'the body is empty although Content-Type is application/json; send a JSON object', { field: 'body' }), undefined);
      return;
    }
    try {
      done(null, secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (err) {
      done(apiError('INVALID_INPUT', `the body is not valid JSON: ${(err as Error).message}`, { field: 'body' }), undefined);
    }
  });
}

/**
 * Raw bytes for `application/octet-stream` (model uploads); register it only in the scope of
 * the routes that take it, so every other route refuses such bodies with 415.
 */
export function registerOctetStreamParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}
