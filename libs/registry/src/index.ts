/**
 * The model repository. For now: the `ModelSource` seam, a directory-backed source, and the
 * catalogue record producers read to validate input.
 *
 * @example
 * ```ts
 * import { DirectoryModelSource } from '@scoreq/registry';
 * const source = new DirectoryModelSource('models');
 * for (const name of await source.listModels()) console.log(await source.getModel(name));
 * ```
 */
export * from './model-source.js';
export * from './directory-source.js';
export * from './catalog.js';
