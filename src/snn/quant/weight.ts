import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import { straightThrough } from './ste.ts';

/**
 * Weight and activation fake-quantisers (quantise → dequantise in float32, straight-through gradient).
 * Weight tensors here are in the tfjs layouts the layers keep: conv HWIO, linear [in, out]; the output channel is
 * always the last axis, so "per channel" reduces over every other axis.
 */
export type WeightQuantSpec =
  /** Symmetric signed n-bit, levels −(2^(n−1)−1)…(2^(n−1)−1) times a scale = absmax / (2^(n−1)−1). */
  | { scheme: 'symmetric'; bits: number; perChannel: boolean }
  /** Ternary absmean (BitNet b1.58 / MatMul-free LM): γ = mean|W|, W_q = clamp(round(W/γ), −1, 1)·γ. */
  | { scheme: 'ternary' };

/** Activation fake-quant: per-token absmax, s = (2^(n−1)−1)/max|x| over the last axis (channels), clamp to the signed range. */
export interface ActivationQuantSpec {
  bits: number;
}

/** Smallest scale denominators, as the references use to avoid division by zero. */
const SCALE_FLOOR = 1e-8;
/** MatMul-free LM clamps mean|W| and max|x| at 1e-5 (`bitnet.py`). */
const BITNET_FLOOR = 1e-5;

export function checkBits(bits: number, subject: string, min = 2, max = 16): void {
  if (!Number.isInteger(bits) || bits < min || bits > max) {
    throw new SpikedriveError(`Quantisation needs an integer bit width in ${min}–${max}, got ${bits}`, {
      subject,
      fix: `Use e.g. 8 (int8) or 4 (int4); ternary weights are written as "ternary".`,
    });
  }
}

/** Largest integer level of a symmetric signed n-bit code (127 for 8 bits). */
export function symmetricMax(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** Axes to reduce for a per-output-channel statistic (every axis but the last). */
function channelAxes(rank: number): number[] {
  return Array.from({ length: Math.max(rank - 1, 0) }, (_, i) => i);
}

/** Per-channel (or per-tensor) symmetric scale = absmax / qmax, floored so an all-zero channel stays zero. */
export function symmetricScale(w: tf.Tensor, bits: number, perChannel: boolean): tf.Tensor {
  return tf.tidy(() => {
    const absmax = perChannel && w.rank > 1 ? tf.max(tf.abs(w), channelAxes(w.rank)) : tf.max(tf.abs(w));
    return tf.maximum(tf.div(absmax, symmetricMax(bits)), SCALE_FLOOR);
  });
}

function symmetricFakeQuant(w: tf.Tensor, bits: number, perChannel: boolean): tf.Tensor {
  return tf.tidy(() => {
    const scale = symmetricScale(w, bits, perChannel);
    const q = symmetricMax(bits);
    return tf.mul(tf.clipByValue(tf.round(tf.div(w, scale)), -q, q), scale);
  });
}

/** γ = max(mean|W|, 1e-5) over the whole tensor. */
export function ternaryScale(w: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.maximum(tf.mean(tf.abs(w)), BITNET_FLOOR));
}

function ternaryFakeQuant(w: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const gamma = ternaryScale(w);
    return tf.mul(tf.clipByValue(tf.round(tf.div(w, gamma)), -1, 1), gamma);
  });
}

/** Fake-quantised weights (forward: the dequantised grid values; backward: identity). */
export function fakeQuantWeight(w: tf.Tensor, spec: WeightQuantSpec): tf.Tensor {
  if (spec.scheme === 'ternary') return straightThrough(w, ternaryFakeQuant);
  return straightThrough(w, (x) => symmetricFakeQuant(x, spec.bits, spec.perChannel));
}

/**
 * Per-token absmax activation fake-quant (`activation_quant` of the MatMul-free LM, generalised to n bits):
 * s = qmax / max(max|x| over the last axis, 1e-5); x_q = clamp(round(x·s), −qmax−1, qmax) / s. In NHWC the last
 * axis is channels, so a "token" is one pixel of one image at one time step. Binary spikes pass unchanged.
 */
export function fakeQuantActivation(x: tf.Tensor, spec: ActivationQuantSpec): tf.Tensor {
  const q = symmetricMax(spec.bits);
  return straightThrough(x, (input) =>
    tf.tidy(() => {
      const absmax = tf.maximum(tf.max(tf.abs(input), -1, true), BITNET_FLOOR);
      const scale = tf.div(q, absmax);
      return tf.div(tf.clipByValue(tf.round(tf.mul(input, scale)), -q - 1, q), scale);
    }),
  );
}

/** Round half to even, as `torch.round` and `tf.round` do (JS `Math.round` rounds half up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Integer weights and the scales that turn them back into floats: w ≈ values · scales[channel]. */
export interface IntegerWeights {
  scheme: WeightQuantSpec['scheme'];
  bits: number;
  /** Signed integers, same element order as the float tensor they came from. */
  values: Int8Array | Int16Array;
  /** One scale per output channel (last axis of the given layout), or a single one per tensor. */
  scales: Float32Array;
  /** Which axis the scales run along (-1 for per tensor). */
  scaleAxis: number;
}

/**
 * Post-training quantisation of one weight array (no retraining): the same grid as `fakeQuantWeight`, returned as
 * integers plus scales. `shape` is the array's layout and `channelAxis` its output-channel axis (0 for PyTorch
 * OIHW / [out, in], the last axis for tfjs HWIO / [in, out]).
 */
export function quantizeWeightArray(
  data: Float32Array,
  shape: readonly number[],
  spec: WeightQuantSpec,
  channelAxis: number,
): IntegerWeights {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== data.length) {
    throw new SpikedriveError(
      `Weight data has ${data.length} values but shape [${shape.join(', ')}] needs ${size}`,
      {
        subject: 'quantizeWeightArray',
        fix: 'Pass the flat data and the shape of the same tensor.',
      },
    );
  }
  if (spec.scheme === 'ternary') {
    let sum = 0;
    for (let i = 0; i < size; i++) sum += Math.abs(data[i]);
    const gamma = Math.fround(Math.max(Math.fround(sum / Math.max(size, 1)), BITNET_FLOOR));
    const values = new Int8Array(size);
    for (let i = 0; i < size; i++) {
      values[i] = Math.max(-1, Math.min(1, roundHalfEven(Math.fround(data[i] / gamma))));
    }
    return { scheme: 'ternary', bits: 2, values, scales: Float32Array.of(gamma), scaleAxis: -1 };
  }
  checkBits(spec.bits, 'quantizeWeightArray');
  const q = symmetricMax(spec.bits);
  const axis = channelAxis < 0 ? shape.length + channelAxis : channelAxis;
  const channels = spec.perChannel && shape.length > 1 ? shape[axis] : 1;
  const inner = spec.perChannel && shape.length > 1 ? shape.slice(axis + 1).reduce((a, b) => a * b, 1) : 1;
  const channelOf = (i: number) => (channels === 1 ? 0 : Math.floor(i / inner) % channels);
  const absmax = new Float64Array(channels);
  for (let i = 0; i < size; i++) {
    const c = channelOf(i);
    const a = Math.abs(data[i]);
    if (a > absmax[c]) absmax[c] = a;
  }
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = Math.max(Math.fround(absmax[c] / q), SCALE_FLOOR);
  const values = spec.bits <= 8 ? new Int8Array(size) : new Int16Array(size);
  for (let i = 0; i < size; i++) {
    const v = roundHalfEven(Math.fround(data[i] / scales[channelOf(i)]));
    values[i] = Math.max(-q, Math.min(q, v));
  }
  return { scheme: 'symmetric', bits: spec.bits, values, scales, scaleAxis: channels === 1 ? -1 : axis };
}

/** Floats back from integer weights (for checks and for loading a quantised export). */
export function dequantizeWeightArray(weights: IntegerWeights, shape: readonly number[]): Float32Array {
  const out = new Float32Array(weights.values.length);
  const axis = weights.scaleAxis;
  const inner = axis < 0 ? 1 : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channels = weights.scales.length;
  for (let i = 0; i < out.length; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    out[i] = weights.values[i] * weights.scales[c];
  }
  return out;
}
