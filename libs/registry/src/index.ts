/**
 * The model repository: immutable numbered versions of ONNX models with the signature
 * onnxruntime reads and user metadata, aliases (production, staging, …) with validation before
 * they move, rollback and a full history, retention, model bytes in a directory or in Redis,
 * a verified local cache, change events, and the `ModelSource` seam workers load models from.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { formatValidationReport, ModelRegistry, RegistryModelSource } from '@scoreq/registry';
 *
 * const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const registry = new ModelRegistry({ redis, prefix: 'scoreq', store: 'file', storeDir: '.scoreq/models' });
 * const { version } = await registry.push('churn', 'churn.onnx', { metadata: { features: ['age', 'income'] } });
 * const report = await registry.validate('churn', version.version); // compared with production
 * console.log(formatValidationReport(report));
 * await registry.promote('churn', version.version, { alias: 'production', reason: 'better AUC' });
 * // … and, if it goes wrong:
 * await registry.rollback('churn', { alias: 'production', reason: 'latency regression' });
 *
 * // In a worker: models from the registry, reloaded on every change.
 * const source = new RegistryModelSource({ redis, prefix: 'scoreq' });
 * const stop = await source.watch((model) => console.log(`${model} changed`));
 * await stop();
 * await registry.close();
 * redis.disconnect();
 * ```
 */
export * from './model-source.js';
export * from './directory-source.js';
export * from './catalog.js';
export * from './model-store.js';
export { FileModelStore } from './file-model-store.js';
export * from './redis-model-store.js';
export * from './model-cache.js';
export * from './model-events.js';
export * from './registry-options.js';
export * from './validation-report.js';
export * from './validator.js';
export * from './registry-types.js';
export * from './model-registry.js';
export { defaultActor } from './actor.js';
export * from './registry-source.js';
export { aliasTrail, rollbackTarget } from './alias-history.js';
export { formatBytes } from './model-file.js';
