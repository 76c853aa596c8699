/**
 * The wire contract of scoreq: job and result types, their runtime schemas, the model
 * record, the input codec shared by the SDK and the worker, the error catalogue and
 * configuration from the environment.
 *
 * @example
 * ```ts
 * import { loadConfig, queueName, scoreJobDataSchema } from '@scoreq/contracts';
 * const config = loadConfig();
 * const data = scoreJobDataSchema.parse({ model: 'churn', rows: [{ age: 41 }] });
 * console.log(queueName(data.model)); // score-churn
 * ```
 */
export * from './errors.js';
export * from './clock.js';
export * from './names.js';
export * from './prefix-keys.js';
export * from './model.js';
export * from './job.js';
export * from './input-codec.js';
export * from './output-format.js';
export * from './run.js';
export * from './config.js';
