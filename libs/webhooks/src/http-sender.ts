import http from 'node:http';
import https from 'node:https';
import type { Allowlist } from './allowlist.js';
import { guardedLookup, screenCallbackUrl, urlOrigin } from './ssrf.js';

/** What one POST came to. */
export type SendResult =
  /** The receiver answered (any status; redirects are never followed). */
  | { kind: 'response'; status: number; location: string | undefined }
  /** The SSRF guard refused the URL or an address it resolved to; nothing was sent. */
  | { kind: 'refused'; message: string }
  /** No answer: DNS, connect, reset, or no response within the timeout. */
  | { kind: 'error'; message: string; timedOut: boolean };

const USER_AGENT = 'scoreq-webhooks/0.1';

/**
 * POSTs webhook bodies with `node:http`/`node:https` (Node's global fetch ignores agents and
 * lookups, STACK-NOTES trap 12) through keep-alive agents of its own. Each request checks
 * its URL, and resolves its host through {@link guardedLookup}, so the address connected to
 * is the address checked. Redirects are returned, never followed.
 */
export class HttpSender {
  private readonly allow: Allowlist;
  private readonly timeoutMs: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(options: { allow: Allowlist; timeoutMs: number; maxSockets: number }) {
    this.allow = options.allow;
    this.timeoutMs = options.timeoutMs;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  }

  /** One attempt: resolves (never rejects) once the response headers arrive, or it fails or times out. */
  post(rawUrl: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    let screened;
    try {
      screened = screenCallbackUrl(rawUrl, this.allow);
    } catch (err) {
      return Promise.resolve({ kind: 'refused', message: (err as Error).message });
    }
    const secure = screened.url.protocol === 'https:';
    const options: http.RequestOptions = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': USER_AGENT, ...headers },
      agent: secure ? this.httpsAgent : this.httpAgent,
      // An IP literal is connected to without a lookup (checked above); a trusted host skips the checks.
      ...(screened.trusted || screened.literal ? {} : { lookup: guardedLookup(this.allow, urlOrigin(screened.url)) }),
    };
    return new Promise((resolve) => {
      let settled = false;
      let timedOut = false;
      const settle = (result: SendResult): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const request = (secure ? https : http).request(screened.url, options, (response) => {
        settle({ kind: 'response', status: response.statusCode ?? 0, location: response.headers.location });
        // Drain the body so the socket can be reused; the timer still bounds a body that never ends.
        response.resume();
        response.once('close', () => clearTimeout(timer));
      });
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy(new Error(`no response within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      request.on('error', (err: Error & { code?: string }) => {
        clearTimeout(timer);
        if (err.code === 'CALLBACK_URL_REFUSED') settle({ kind: 'refused', message: err.message });
        else settle({ kind: 'error', message: err.code && !err.message.includes(err.code) ? `${err.code} ${err.message}` : err.message, timedOut });
      });
      request.end(body);
    });
  }

  /** Closes the pooled sockets. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
