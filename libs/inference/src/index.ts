/**
 * Inference for scoreq: the tensor codec, the MicroBatcher and the Piscina pool whose
 * threads own the onnxruntime sessions.
 *
 * @example
 * ```ts
 * import { InferencePool, MicroBatcher, ModelCodec, fixedPolicy } from '@scoreq/inference';
 * const pool = new InferencePool({ threads: 2 });
 * const { signature } = await pool.load('churn@1', '/models/churn/1/model.onnx');
 * const codec = new ModelCodec({ ...record, signature });
 * const batcher = new MicroBatcher({
 *   policy: fixedPolicy({ maxBatchRows: 64, maxDelayMs: 2 }),
 *   run: (inputs) => pool.run({ key: 'churn@1', path, inputs, fixedBatch: null }),
 *   maxInFlight: pool.threads,
 *   capacityJobs: 256,
 * });
 * const { outputs } = await batcher.submit({ ...codec.encode({ rows: [{ age: 41 }] }) });
 * console.log(codec.decode(outputs, false).rows);
 * ```
 */
export * from './tensor.js';
export * from './codec.js';
export * from './batcher/flush-policy.js';
export * from './batcher/micro-batcher.js';
export * from './pool/messages.js';
export * from './pool/inference-pool.js';
export * from './pool/session-options.js';
