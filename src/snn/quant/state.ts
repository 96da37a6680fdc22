import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import { straightThrough } from './ste.ts';

/**
 * SQUAT: stateful quantisation-aware training of the membrane potential (Venkatesh, Marinescu, Eshraghian,
 * arXiv 2404.19668). The level table is built exactly as snnTorch's `functional/quant.py state_quant`; each
 * membrane value snaps to its nearest level in the forward pass, and the gradient passes straight through.
 */
export interface StateQuantSpec {
  /** Bits of state; 2^bits levels. */
  bits: number;
  /** Evenly spaced levels (`linspace`); when false, geometric spacing (see `thresholdCentered`). Default true. */
  uniform?: boolean;
  /** Non-uniform only: levels crowd towards the threshold (true) or towards zero (false). Default true. */
  thresholdCentered?: boolean;
  /** θ; a neuron layer fills in its own V_th when this is absent. snnTorch default 1. */
  threshold?: number;
  /** Lowest level = −θ·(1 + lowerLimit). Default 0. */
  lowerLimit?: number;
  /** Highest level = θ·(1 + upperLimit). Default 0.2. */
  upperLimit?: number;
  /** Base of the geometric steps; default by bits as snnTorch (1: 0.05, 2: 0.1, 3: 0.3, 4: 0.5, 5: 0.7, 6: 0.9, 7: 0.925, ≥8: 0.95). */
  multiplier?: number;
}

/** snnTorch's default multiplier for non-uniform levels. */
export function defaultSquatMultiplier(bits: number): number {
  if (bits <= 1) return 0.05;
  const table: Record<number, number> = { 2: 0.1, 3: 0.3, 4: 0.5, 5: 0.7, 6: 0.9, 7: 0.925 };
  return table[bits] ?? 0.95;
}

function checkSpec(
  spec: StateQuantSpec,
  subject: string,
): Required<Omit<StateQuantSpec, 'multiplier'>> & {
  multiplier: number;
} {
  const bits = spec.bits;
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) {
    throw new SpikedriveError(`State quantisation needs 1–16 bits, got ${bits}`, {
      subject,
      fix: 'Set state.bits to an integer between 1 and 16 (SQUAT tested 2, 4 and 8).',
    });
  }
  const threshold = spec.threshold ?? 1;
  const lowerLimit = spec.lowerLimit ?? 0;
  const upperLimit = spec.upperLimit ?? 0.2;
  for (const [key, value] of [
    ['threshold', threshold],
    ['lowerLimit', lowerLimit],
    ['upperLimit', upperLimit],
  ] as const) {
    if (!Number.isFinite(value) || (key === 'threshold' ? value <= 0 : value < 0)) {
      throw new SpikedriveError(`State quantisation option ${key} = ${value} is out of range`, {
        subject,
        fix: `Use a finite ${key === 'threshold' ? 'positive threshold' : `non-negative ${key}`}.`,
      });
    }
  }
  const multiplier = spec.multiplier ?? defaultSquatMultiplier(bits);
  if (!(multiplier > 0) || !Number.isFinite(multiplier)) {
    throw new SpikedriveError(`State quantisation multiplier must be positive, got ${multiplier}`, {
      subject,
      fix: 'Leave multiplier unset (snnTorch picks one by bit width) or give a value in (0, 1).',
    });
  }
  return {
    bits,
    uniform: spec.uniform ?? true,
    thresholdCentered: spec.thresholdCentered ?? true,
    threshold,
    lowerLimit,
    upperLimit,
    multiplier,
  };
}

/**
 * The sorted level table of `state_quant`, computed in float64 like the Python source, then stored as float32
 * (as `torch.tensor` does). Uniform levels use the symmetric linspace formula, so they may differ from
 * `torch.linspace` by one float32 ulp.
 */
export function squatLevels(spec: StateQuantSpec, subject = 'state quantisation'): Float32Array {
  const s = checkSpec(spec, subject);
  const numLevels = 2 ** s.bits;
  const maxVal = s.threshold + s.threshold * s.upperLimit;
  const minVal = -(s.threshold + s.threshold * s.lowerLimit);
  const levels: number[] = [];
  if (s.uniform) {
    const step = (maxVal - minVal) / (numLevels - 1);
    const half = Math.floor(numLevels / 2);
    for (let i = 0; i < numLevels; i++) {
      levels.push(i < half ? minVal + i * step : maxVal - (numLevels - 1 - i) * step);
    }
  } else {
    // Split the levels below/above a centre (θ, or 0) in proportion to the range on each side, then space them
    // geometrically so the steps are finest next to the centre.
    const centre = s.thresholdCentered ? s.threshold : 0;
    const overall = maxVal - minVal;
    const lowerRange = centre - minVal;
    const upperRange = maxVal - centre;
    const lowerCount = Math.floor(numLevels * (lowerRange / overall));
    const upperCount = numLevels - lowerCount;
    const m = s.multiplier;
    if (lowerCount !== 0) {
      let sum = 0;
      for (let j = lowerCount - 1; j >= 0; j--) sum += m ** j;
      const room = sum / lowerRange;
      let value = minVal;
      for (let j = 0; j < lowerCount; j++) {
        levels.push(value);
        value += m ** j / room;
      }
    }
    if (upperCount !== 0) {
      let sum = 0;
      for (let j = upperCount - 1; j >= 0; j--) sum += m ** j;
      const room = sum / upperRange;
      let value = centre;
      for (let j = upperCount - 1; j >= 0; j--) {
        value += m ** j / room;
        levels.push(value);
      }
    }
  }
  return Float32Array.from(levels);
}

/** A membrane quantiser: its level table, a scalar snap (for fused loops) and a tensor snap with STE. */
export interface StateQuantizer {
  readonly spec: StateQuantSpec;
  readonly bits: number;
  readonly levels: Float32Array;
  /** Nearest level to one value; ties go to the lower level (as `torch.min` returns the first index). */
  snap(x: number): number;
  /** Element-wise nearest level; gradient passes straight through. */
  apply(x: tf.Tensor): tf.Tensor;
}

/** Builds a SQUAT quantiser. `threshold` fills in `spec.threshold` when the spec leaves it out. */
export function createStateQuantizer(
  spec: StateQuantSpec,
  threshold?: number,
  subject = 'state quantisation',
): StateQuantizer {
  const full: StateQuantSpec = { ...spec, threshold: spec.threshold ?? threshold ?? 1 };
  const levels = squatLevels(full, subject);
  const last = levels.length - 1;
  const snap = (x: number): number => {
    // Binary search for the last level ≤ x, then compare the two neighbours in float32 like PyTorch.
    if (x <= levels[0]) return levels[0];
    if (x >= levels[last]) return levels[last];
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (levels[mid] <= x) lo = mid;
      else hi = mid;
    }
    const dLo = Math.fround(x - levels[lo]);
    const dHi = Math.fround(levels[hi] - x);
    return dLo <= dHi ? levels[lo] : levels[hi];
  };
  // The level table is re-uploaded per call (≤ 2^16 floats) so no tensor outlives the forward pass.
  const snapTensor = (x: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const table = tf.tensor2d(levels, [1, levels.length]);
      const flat = tf.reshape(x, [1, -1]);
      const upper = tf.searchSorted(table, flat, 'right');
      const idx = tf.cast(tf.clipByValue(tf.sub(upper, 1), 0, last - 1), 'int32');
      const flatLevels = tf.reshape(table, [-1]);
      const lo = tf.gather(flatLevels, idx);
      const hi = tf.gather(flatLevels, tf.add(idx, tf.scalar(1, 'int32')));
      const pick = tf.lessEqual(tf.sub(flat, lo), tf.sub(hi, flat));
      return tf.reshape(tf.where(pick, lo, hi), x.shape);
    });
  return {
    spec: full,
    bits: full.bits,
    levels,
    snap,
    apply: (x) => straightThrough(x, snapTensor),
  };
}
