import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';

/**
 * Layout conversions between PyTorch checkpoints and tfjs. PyTorch conv weights are OIHW
 * [out, in/groups, kh, kw] and activations NCHW; tfjs convs take HWIO filters and NHWC activations. PyTorch
 * linear weights are [out, in]; here they are kept [in, out] so `x·W` needs no transpose per call.
 */

function requireRank(t: tf.Tensor, rank: number, what: string): void {
  if (t.rank !== rank) {
    throw new SpikedriveError(`${what} needs a rank-${rank} tensor, got shape [${t.shape.join(', ')}]`, {
      subject: what,
      fix: `Pass a ${rank}-D tensor in the layout the function name gives.`,
    });
  }
}

/** PyTorch conv weight OIHW → tfjs filter HWIO. */
export function oihwToHwio(w: tf.Tensor): tf.Tensor4D {
  requireRank(w, 4, 'oihwToHwio');
  return tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D;
}

/** tfjs filter HWIO → PyTorch conv weight OIHW. */
export function hwioToOihw(w: tf.Tensor): tf.Tensor4D {
  requireRank(w, 4, 'hwioToOihw');
  return tf.transpose(w, [3, 2, 0, 1]) as tf.Tensor4D;
}

/** PyTorch linear weight [out, in] → [in, out]. */
export function linearToIo(w: tf.Tensor): tf.Tensor2D {
  requireRank(w, 2, 'linearToIo');
  return tf.transpose(w) as tf.Tensor2D;
}

/** [in, out] → PyTorch linear weight [out, in]. */
export function ioToLinear(w: tf.Tensor): tf.Tensor2D {
  requireRank(w, 2, 'ioToLinear');
  return tf.transpose(w) as tf.Tensor2D;
}

/** NCHW activations (PyTorch) → NHWC (tfjs). Also [T, B, C, H, W] → [T, B, H, W, C]. */
export function nchwToNhwc(x: tf.Tensor): tf.Tensor {
  if (x.rank === 4) return tf.transpose(x, [0, 2, 3, 1]);
  if (x.rank === 5) return tf.transpose(x, [0, 1, 3, 4, 2]);
  throw new SpikedriveError(`nchwToNhwc needs a 4-D or 5-D tensor, got shape [${x.shape.join(', ')}]`, {
    subject: 'nchwToNhwc',
    fix: 'Pass [N, C, H, W] or [T, B, C, H, W].',
  });
}

/** NHWC → NCHW; [T, B, H, W, C] → [T, B, C, H, W]. */
export function nhwcToNchw(x: tf.Tensor): tf.Tensor {
  if (x.rank === 4) return tf.transpose(x, [0, 3, 1, 2]);
  if (x.rank === 5) return tf.transpose(x, [0, 1, 4, 2, 3]);
  throw new SpikedriveError(`nhwcToNchw needs a 4-D or 5-D tensor, got shape [${x.shape.join(', ')}]`, {
    subject: 'nhwcToNchw',
    fix: 'Pass [N, H, W, C] or [T, B, H, W, C].',
  });
}

/** Plain-array OIHW → HWIO for checkpoint tooling that works without tensors. */
export function oihwArrayToHwio(
  data: Float32Array,
  shape: readonly number[],
): { data: Float32Array; shape: number[] } {
  const [o, i, h, w] = shape;
  const out = new Float32Array(data.length);
  for (let oo = 0; oo < o; oo++)
    for (let ii = 0; ii < i; ii++)
      for (let hh = 0; hh < h; hh++)
        for (let ww = 0; ww < w; ww++)
          out[((hh * w + ww) * i + ii) * o + oo] = data[((oo * i + ii) * h + hh) * w + ww];
  return { data: out, shape: [h, w, i, o] };
}

/** Plain-array HWIO → OIHW. */
export function hwioArrayToOihw(
  data: Float32Array,
  shape: readonly number[],
): { data: Float32Array; shape: number[] } {
  const [h, w, i, o] = shape;
  const out = new Float32Array(data.length);
  for (let hh = 0; hh < h; hh++)
    for (let ww = 0; ww < w; ww++)
      for (let ii = 0; ii < i; ii++)
        for (let oo = 0; oo < o; oo++)
          out[((oo * i + ii) * h + hh) * w + ww] = data[((hh * w + ww) * i + ii) * o + oo];
  return { data: out, shape: [o, i, h, w] };
}
