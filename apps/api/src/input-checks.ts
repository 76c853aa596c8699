import { ScoreqError, type InputTensor } from '@scoreq/contracts';

/** Largest finite float32; JSON numbers beyond it become Infinity in an FP32 tensor. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Refuses FP32 tensor values a float32 cannot hold (e.g. 1e39): JSON carries them as finite
 * numbers, so the shared input validation lets them through, and they would reach the model as
 * Infinity. `name` is how the request calls its tensors: `tensors` (v1) or `inputs` (v2).
 *
 * @throws ScoreqError INVALID_INPUT naming `<name>[i].data[j]`.
 */
export function checkFloat32Range(tensors: readonly InputTensor[], name: string): void {
  tensors.forEach((t, i) => {
    if (t.datatype.toUpperCase() !== 'FP32') return;
    const { data } = t;
    for (let j = 0; j < data.length; j++) {
      const v = data[j];
      if (typeof v === 'number' && (v > FLOAT32_MAX || v < -FLOAT32_MAX)) {
        const field = `${name}[${i}].data[${j}]`;
        throw new ScoreqError('INVALID_INPUT', `${field} is ${v}, outside the float32 range (±${FLOAT32_MAX}) of an FP32 tensor`, { field });
      }
    }
  });
}
