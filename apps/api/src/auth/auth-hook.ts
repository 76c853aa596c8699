import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_TENANT } from '@scoreq/contracts';
import { apiError } from '../errors.js';
import { UnauthenticatedLimiter } from '../rate-limit.js';
import { SCOPES, type ApiKeyStore, type Principal, type Scope } from './api-keys.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scope a route needs; `public` routes (health, metrics, docs) need no key. Every route names one. */
    scope?: Scope | 'public';
    /** Error body format of the route: scoreq's v1 (the default) or the Open Inference Protocol's. */
    protocol?: 'v1' | 'v2';
  }
  interface FastifyRequest {
    /** Who the request acts for, set by the auth hook; null on public routes. */
    principal: Principal | null;
  }
}

const OPEN_PRINCIPAL: Principal = Object.freeze({ keyId: null, tenant: DEFAULT_TENANT, scopes: new Set<Scope>(SCOPES) });

/** Options of {@link registerAuth}. */
export interface AuthOptions {
  /**
   * Requests with a refused key one client (an IPv4 address, an IPv6 /64) may make per minute
   * (0: no limit); over it, its requests with a refused key answer 429 RATE_LIMITED instead of
   * 401 until the minute ends, while valid keys are served (SCOREQ_RATE_LIMIT_UNAUTHENTICATED_PER_MIN).
   */
  unauthenticatedPerMinute: number;
}

/**
 * Authentication and scopes, one hook for every route. With `store` null (SCOREQ_AUTH=off) every
 * request is tenant 'default' with every scope. Unknown routes are left to the 404 handler, so
 * a wrong path says so whether or not a key came with it. Requests whose key is refused are
 * rate limited per client address (the per-key limit never sees them); a valid key is never
 * limited per address, so one guesser cannot lock out the others behind its proxy or NAT.
 */
export function registerAuth(app: FastifyInstance, store: ApiKeyStore | null, options: AuthOptions): void {
  const perMinute = options.unauthenticatedPerMinute;
  const limiter = store !== null && perMinute > 0 ? new UnauthenticatedLimiter({ perMinute, redis: store.redis, prefix: store.prefix }) : null;
  app.decorateRequest('principal', null);
  // A route without a scope would be open by accident: refuse it when it is added. Plugin
  // routes under /docs (swagger-ui's) are public.
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    if (route.url === '/docs' || route.url.startsWith('/docs/')) route.config.scope ??= 'public';
    if (route.config.scope === undefined) throw new Error(`route ${route.method.toString()} ${route.url} names no scope (config.scope)`);
  });
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    const scope = request.routeOptions.config.scope;
    if (scope === 'public' || scope === undefined) return;
    const principal = store === null ? OPEN_PRINCIPAL : await authenticate(request, reply, store, limiter);
    if (!principal.scopes.has(scope)) {
      throw apiError('FORBIDDEN', `API key ${principal.keyId ?? ''} lacks scope '${scope}' (it has: ${[...principal.scopes].join(', ')})`, {
        scope,
        keyId: principal.keyId,
      });
    }
    request.principal = principal;
  });
}

/** The principal of an authenticated route's request (set by the auth hook). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error(`route ${request.routeOptions.url ?? request.url} read a principal but is public`);
  return request.principal;
}

/**
 * The principal of the request's key. The key is checked first: a refused one counts against
 * the client's address (429 once it is over), a valid one is served whatever its address did.
 */
async function authenticate(request: FastifyRequest, reply: FastifyReply, store: ApiKeyStore, limiter: UnauthenticatedLimiter | null): Promise<Principal> {
  try {
    return await store.verify(presentedKey(request));
  } catch (err) {
    if (limiter !== null && (err as { code?: unknown }).code === 'UNAUTHENTICATED') await limiter.countRefusal(request.ip, reply);
    throw err;
  }
}

/** The key from `Authorization: Bearer <key>`, else from `x-api-key`. */
function presentedKey(request: FastifyRequest): string {
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (!match) throw apiError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <key>"');
    return match[1]!;
  }
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.trim() !== '') return header.trim();
  throw apiError('UNAUTHENTICATED', 'no API key: send "Authorization: Bearer <key>" or "x-api-key: <key>" (scoreq keys create makes one)');
}
