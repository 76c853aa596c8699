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
      done(null, parseJsonText(text));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/**
 * Parses JSON text as every JSON body is parsed (prototype keys refused).
 *
 * @param what How the message calls the text, e.g. "the body".
 * @throws ScoreqError INVALID_INPUT naming where the text broke.
 */
export function parseJsonText(text: string, what = 'the body'): unknown {
  try {
    return secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    throw apiError('INVALID_INPUT', `${what} is not valid JSON: ${(err as Error).message}`, { field: 'body' });
  }
}

/**
 * Raw bytes for `application/octet-stream` (model uploads); register it only in the scope of
 * the routes that take it, so every other route refuses such bodies with 415.
 */
export function registerOctetStreamParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}
