/**
 * `@scoreq/api` — the HTTP gateway of scoreq (Fastify): jobs (`/v1/jobs`), overnight runs
 * (`/v1/runs`, produced in this process on files in SCOREQ_RUNS_DIR), model management
 * (`/v1/models`), the Open Inference Protocol v2 (`/v2/...`, KServe/Triton compatible), API keys
 * with tenants and scopes, per-key rate limits, OpenAPI docs at `/docs` and `/metrics`.
 *
 * @example
 * ```ts
 * import { loadConfig } from '@scoreq/contracts';
 * import { ApiKeyStore, buildApi, startApi } from '@scoreq/api';
 *
 * // Tests: no port, app.inject().
 * const app = await buildApi({ config: loadConfig() });
 * const res = await app.inject({ method: 'POST', url: '/v1/jobs?wait=5s', headers: { authorization: `Bearer ${key}` },
 *   payload: { model: 'churn', rows: [{ age: 41, income: 52000 }] } });
 * await app.close();
 *
 * // A server: PORT (default 3000).
 * const api = await startApi({ config: loadConfig() });
 * process.once('SIGTERM', () => void api.close());
 * ```
 *
 * @packageDocumentation
 */
export { buildApi } from './app.js';
export { startApi, type RunningApi } from './server.js';
export { API_DEFAULTS, resolveApiOptions, type ApiOptions, type ResolvedApiOptions } from './options.js';
export { ApiKeyStore, SCOPES, assertTenant, parseScopes, type ApiKeyInfo, type CreatedApiKey, type Principal, type Scope } from './auth/api-keys.js';
export { DEFAULT_TENANT } from '@scoreq/contracts';
export { apiError, statusOf, type ApiErrorCode } from './errors.js';
