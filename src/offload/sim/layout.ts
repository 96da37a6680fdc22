import * as tf from '@tensorflow/tfjs';

/**
 * NIR shapes are channels first ([C, H, W], [C, L], [N]); tfjs and `src/snn` keep channels last ([H, W, C]).
 * The simulator works channels last internally; these convert shapes, parameter arrays and tensors.
 */

/** Internal (channels-last) per-sample shape of a NIR shape: the first axis moves last when rank ≥ 2. */
export function internalShape(nirShape: readonly number[]): number[] {
  if (nirShape.length < 2) return [...nirShape];
  return [...nirShape.slice(1), nirShape[0]];
}

/** The NIR shape of an internal shape (inverse of `internalShape`). */
export function nirShapeOf(internal: readonly number[]): number[] {
  if (internal.length < 2) return [...internal];
  return [internal[internal.length - 1], ...internal.slice(0, -1)];
}

/** A parameter array in NIR order ([C, …]) rearranged to internal order ([…, C]). */
export function toInternalOrder(data: ArrayLike<number>, nirShape: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  if (nirShape.length < 2) {
    out.set(data);
    return out;
  }
  const c = nirShape[0];
  const inner = data.length / Math.max(c, 1);
  for (let ch = 0; ch < c; ch++) {
    for (let j = 0; j < inner; j++) out[j * c + ch] = data[ch * inner + j];
  }
  return out;
}

/** [..lead, ...internal] → [..lead, ...nir] for a tensor with `lead` leading axes (time, batch). */
export function tensorToChannelsFirst(x: tf.Tensor, lead: number): tf.Tensor {
  const rank = x.rank - lead;
  if (rank < 2) return x.clone();
  const perm = [...Array(lead).keys(), x.rank - 1, ...Array.from({ length: rank - 1 }, (_, i) => lead + i)];
  return tf.transpose(x, perm);
}

/** [..lead, ...nir] → [..lead, ...internal]. */
export function tensorToChannelsLast(x: tf.Tensor, lead: number): tf.Tensor {
  const rank = x.rank - lead;
  if (rank < 2) return x.clone();
  const perm = [...Array(lead).keys(), ...Array.from({ length: rank - 1 }, (_, i) => lead + 1 + i), lead];
  return tf.transpose(x, perm);
}
