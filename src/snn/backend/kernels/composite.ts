/**
 * Conv gradients built from the back end's own fast kernels (pad, reshape, transpose, reverse, conv2d), the path
 * used where the native kernels cannot be built. wasm has no Conv2DBackpropFilter and its Conv2DBackpropInput
 * (conv2dTranspose) is several times slower than its conv2d; the cpu back end's built-in backprops are naive loops.
 * Expressing both gradients as one forward conv each (ecosystem.md §2) gives them XNNPACK / im2col+matMul speed.
 */
import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from './geometry.ts';

/** Pads `before` rows/cols at the start of axes 1 and 2, then pads or crops each to `length`. */
function fitSpatial(
  x: tf.Tensor4D,
  beforeH: number,
  lengthH: number,
  beforeW: number,
  lengthW: number,
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const top = Math.max(beforeH, 0);
  const left = Math.max(beforeW, 0);
  const bottom = Math.max(lengthH - (h + beforeH), 0);
  const right = Math.max(lengthW - (w + beforeW), 0);
  let y = x;
  if (top || left || bottom || right) {
    y = tf.pad(x, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
  }
  const startH = Math.max(-beforeH, 0);
  const startW = Math.max(-beforeW, 0);
  if (startH || startW || y.shape[1] !== lengthH || y.shape[2] !== lengthW) {
    y = tf.slice(y, [0, startH, startW, 0], [n, lengthH, lengthW, c]);
  }
  return y;
}

/** dL/dfilter of a NHWC conv, [kh, kw, ci, co]. */
export function conv2dFilterGradOps(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const sh = g.strideHeight;
    const sw = g.strideWidth;
    const dh = g.dilationHeight;
    const dw = g.dilationWidth;
    // The exact rows/cols of the padded input the forward conv reads.
    const needH = (g.outHeight - 1) * sh + (g.filterHeight - 1) * dh + 1;
    const needW = (g.outWidth - 1) * sw + (g.filterWidth - 1) * dw + 1;
    const xp = fitSpatial(x, g.padTop, needH, g.padLeft, needW);
    if ((sh === 1 && sw === 1) || (dh === 1 && dw === 1)) {
      // Correlate x^T [ci, H, W, n] with dy^T [oh, ow, n, co]: the forward stride becomes the dilation.
      const xt = tf.transpose(xp, [3, 1, 2, 0]);
      const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
      const r = tf.conv2d(xt as tf.Tensor4D, dyt, [dh, dw], 'valid', 'NHWC', [sh, sw]);
      return tf.transpose(r, [1, 2, 0, 3]);
    }
    // Strided and dilated at once (tfjs conv2d takes only one of them): one matMul per filter tap.
    const m = g.batch * g.outHeight * g.outWidth;
    const dy2 = tf.reshape(dy, [m, g.outChannels]);
    const taps: tf.Tensor2D[] = [];
    for (let kh = 0; kh < g.filterHeight; kh++) {
      for (let kw = 0; kw < g.filterWidth; kw++) {
        const patch = tf.stridedSlice(
          xp,
          [0, kh * dh, kw * dw, 0],
          [g.batch, kh * dh + (g.outHeight - 1) * sh + 1, kw * dw + (g.outWidth - 1) * sw + 1, g.inChannels],
          [1, sh, sw, 1],
        );
        taps.push(tf.matMul(tf.reshape(patch, [m, g.inChannels]), dy2, true, false));
      }
    }
    return tf.reshape(tf.stack(taps), [g.filterHeight, g.filterWidth, g.inChannels, g.outChannels]);
  });
}

/** dL/dx of a NHWC conv: a stride-1 conv of the zero-upsampled dy with the rotated, transposed filter. */
export function conv2dInputGradOps(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const sh = g.strideHeight;
    const sw = g.strideWidth;
    const dh = g.dilationHeight;
    const dw = g.dilationWidth;
    let u: tf.Tensor4D = dy;
    if (sh > 1 || sw > 1) {
      const [n, oh, ow, co] = dy.shape;
      const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, co]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      u = tf.reshape(spread, [n, oh * sh, ow * sw, co]);
    }
    // dx[i] = sum_k u[i + padTop - k*d] w[k] = correlation of u shifted by L with the rotated filter.
    const extentH = (g.filterHeight - 1) * dh;
    const extentW = (g.filterWidth - 1) * dw;
    const up = fitSpatial(
      u,
      extentH - g.padTop,
      g.inHeight + extentH,
      extentW - g.padLeft,
      g.inWidth + extentW,
    );
    const rotated = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(up, rotated, 1, 'valid', 'NHWC', [dh, dw]);
  });
}
