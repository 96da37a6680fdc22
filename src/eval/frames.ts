// Typed-array helpers that turn predictions and labels into the `.sdf` frame arrays of run-format.md.
import type { FrameArrayInput } from './run-format.ts';

/** Probabilities in [0, 1] → bytes ×255 (rounded, clamped). */
export function probabilityBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
  return out;
}

/**
 * A cost volume as bytes with a scale (value = byte × scale). Values are clamped to [0, 1000] first, as the cost
 * function clamps the head; the scale spreads the largest value over 255 steps.
 */
export function costVolumeArray(values: Float32Array, shape: number[]): FrameArrayInput {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.min(1000, values[i]));
  const scale = max > 0 ? max / 255 : 1;
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    data[i] = Math.round(Math.min(1000, Math.max(0, values[i])) / scale);
  }
  return { dtype: 'uint8', shape, data, scale };
}

/** Instance ids as int16 (ids above 32767 are clipped; the reference keeps at most 100 centres per frame). */
export function instanceArray(ids: Int32Array, shape: number[]): FrameArrayInput {
  const data = new Int16Array(ids.length);
  for (let i = 0; i < ids.length; i++) data[i] = Math.min(32767, ids[i]);
  return { dtype: 'int16', shape, data };
}

/** Means of per-step values over the horizons 1, 2, 3 s (steps 2, 4, 6); null past the run's horizon. */
export function horizonMeans(
  values: readonly (number | boolean)[],
  stepsPerSecond = 2,
): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (let h = 1; h <= 3; h++) {
    const steps = h * stepsPerSecond;
    if (steps > values.length) {
      out[String(h)] = null;
      continue;
    }
    let sum = 0;
    for (let k = 0; k < steps; k++) sum += Number(values[k]);
    out[String(h)] = sum / steps;
  }
  return out;
}
