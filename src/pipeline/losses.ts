// The SAD training losses (reference sad/losses.py, trainer.py:126-195) as tfjs functions over channels-last
// tensors. Every function returns a scalar the caller owns and frees its intermediates.
import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../util/errors.ts';

/** Per-frame weights: 1 for the `nPresent` past/present frames, then discount^1, discount^2, … for the future. */
export function futureDiscounts(frames: number, nPresent: number, discount: number): Float32Array {
  if (frames < nPresent) {
    throw new SpikedriveError(`a loss got ${frames} frames but needs at least the ${nPresent} present ones`, {
      subject: 'TIME_RECEPTIVE_FIELD',
      fix: 'Pass predictions for all S + F frames.',
    });
  }
  const out = new Float32Array(frames);
  for (let t = 0; t < frames; t++) out[t] = t < nPresent ? 1 : Math.fround(discount ** (t - nPresent + 1));
  return out;
}

/**
 * Per-pixel weighted cross entropy, PyTorch's `F.cross_entropy(weight=w, ignore_index, reduction='none')`:
 * −w[y]·log softmax(x)[y], and 0 where y = ignoreIndex (or any value outside the classes).
 * logits [..., C], target [...] int32 → [...].
 */
export function weightedCrossEntropy(
  logits: tf.Tensor,
  target: tf.Tensor,
  classWeights: readonly number[],
): tf.Tensor {
  const c = logits.shape[logits.rank - 1] as number;
  if (classWeights.length !== c) {
    throw new SpikedriveError(`${classWeights.length} class weights for ${c} classes`, {
      subject: 'SEMANTIC_SEG weights',
      fix: 'Give one weight per class (e.g. VEHICLE.WEIGHTS [1, 2]).',
    });
  }
  return tf.tidy(() => {
    // oneHot of an out-of-range index (255) is all zeros, so ignored pixels contribute 0 as in PyTorch.
    const oneHot = tf.oneHot(tf.cast(tf.reshape(target, [-1]), 'int32'), c).reshape(logits.shape);
    const weighted = tf.mul(oneHot, tf.tensor1d([...classWeights]));
    return tf.neg(tf.sum(tf.mul(weighted, tf.logSoftmax(logits)), -1));
  });
}

/**
 * Mean of the `k` largest values of each row of a [rows, n] tensor (torch.sort descending, [:k], mean), with the
 * gradient on exactly those k elements. The selection is made on the host from the values (tfjs's topk has no
 * gradient and a differentiable gather needs kernels wasm lacks), then applied as a 0/1 mask.
 */
export function topKMean(values: tf.Tensor2D, k: number): tf.Scalar {
  const [rows, n] = values.shape;
  const data = values.dataSync() as Float32Array;
  const mask = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * n, (r + 1) * n);
    const sorted = Float32Array.from(row).sort();
    const kth = sorted[n - k];
    let above = 0;
    for (let i = 0; i < n; i++) if (row[i] > kth) above++;
    let ties = k - above;
    for (let i = 0; i < n; i++) {
      if (row[i] > kth) mask[r * n + i] = 1;
      else if (row[i] === kth && ties > 0) {
        mask[r * n + i] = 1;
        ties--;
      }
    }
  }
  return tf.tidy(() => tf.div(tf.sum(tf.mul(values, tf.tensor2d(mask, [rows, n]))), rows * k) as tf.Scalar);
}

export interface SegmentationLossOptions {
  classWeights: readonly number[];
  useTopK: boolean;
  topKRatio: number;
  futureDiscount: number;
  /** Past + present frames (weight 1). */
  nPresent: number;
}

/**
 * `SegmentationLoss`: weighted CE per pixel, frames weighted 1 (past/present) and discount^t (future), then the
 * hardest ⌊ratio·X·Y⌋ pixels of each (b, s) frame (top-k) or all pixels, averaged.
 * logits [B, S, X, Y, C], target [B, S, X, Y] class indices.
 */
export function segmentationLoss(
  logits: tf.Tensor,
  target: tf.Tensor,
  options: SegmentationLossOptions,
): tf.Scalar {
  const [b, s, x, y] = logits.shape as number[];
  const perPixel = tf.tidy(() => {
    const ce = weightedCrossEntropy(logits, target, options.classWeights);
    const discounts = futureDiscounts(s, options.nPresent, options.futureDiscount);
    return tf.reshape(tf.mul(ce, tf.tensor(discounts, [1, s, 1, 1])), [b * s, x * y]) as tf.Tensor2D;
  });
  let loss: tf.Scalar;
  if (options.useTopK) {
    const k = Math.trunc(options.topKRatio * x * y);
    loss = topKMean(perPixel, Math.max(1, k));
  } else loss = tf.mean(perPixel);
  perPixel.dispose();
  return loss;
}

export interface HdmapLossOptions {
  /** Per element [bg, fg] class weights (`SEMANTIC_SEG.HDMAP.WEIGHTS`). */
  classWeights: readonly (readonly number[])[];
  /** `HDMAP.TRAIN_WEIGHT`. */
  trainWeights: readonly number[];
  useTopK: readonly boolean[];
  topKRatio: readonly number[];
}

/**
 * `HDmapLoss` (present frame only): per element i, CE of logits [..., 2i:2i+2] against mask i, top-k per batch item
 * when enabled, mean × TRAIN_WEIGHT[i], summed over elements. logits [B, X, Y, 2n], target [B, X, Y, n].
 */
export function hdmapLoss(logits: tf.Tensor, target: tf.Tensor, options: HdmapLossOptions): tf.Scalar {
  const [b, x, y] = logits.shape as number[];
  const n = target.shape[3] as number;
  const parts: tf.Scalar[] = [];
  for (let i = 0; i < n; i++) {
    const perPixel = tf.tidy(() => {
      const l = tf.slice(logits, [0, 0, 0, 2 * i], [b, x, y, 2]);
      const t = tf.reshape(tf.slice(target, [0, 0, 0, i], [b, x, y, 1]), [b, x, y]);
      return tf.reshape(weightedCrossEntropy(l, t, options.classWeights[i]), [b, x * y]) as tf.Tensor2D;
    });
    const mean = options.useTopK[i]
      ? topKMean(perPixel, Math.max(1, Math.trunc(options.topKRatio[i] * x * y)))
      : tf.mean(perPixel);
    perPixel.dispose();
    parts.push(tf.tidy(() => tf.mul(mean, options.trainWeights[i] ?? 1) as tf.Scalar));
    mean.dispose();
  }
  const total = tf.tidy(() => tf.addN(parts) as tf.Scalar);
  tf.dispose(parts);
  return total;
}

export interface RegressionLossOptions {
  /** 1: L1 (offset, flow); 2: MSE (centerness). */
  norm: 1 | 2;
  ignoreIndex: number;
  futureDiscount: number;
  nPresent: number;
}

/**
 * `SpatialRegressionLoss`: |p − t| or (p − t)² summed over channels, frames discounted, averaged over the pixels
 * whose first target channel is not the ignore index; 0 when there are none. pred/target [B, S, X, Y, C].
 */
export function spatialRegressionLoss(
  prediction: tf.Tensor,
  target: tf.Tensor,
  options: RegressionLossOptions,
): tf.Scalar {
  const [b, s, x, y] = prediction.shape as number[];
  return tf.tidy(() => {
    const valid = tf.cast(
      tf.notEqual(tf.slice(target, [0, 0, 0, 0, 0], [b, s, x, y, 1]), options.ignoreIndex),
      'float32',
    );
    const count = tf.sum(valid).dataSync()[0];
    if (count === 0) return tf.mul(tf.sum(prediction), 0) as tf.Scalar;
    const diff = tf.sub(prediction, target);
    const perPixel = tf.sum(options.norm === 1 ? tf.abs(diff) : tf.square(diff), -1, true);
    const discounts = tf.tensor(futureDiscounts(s, options.nPresent, options.futureDiscount), [
      1,
      s,
      1,
      1,
      1,
    ]);
    return tf.div(tf.sum(tf.mul(tf.mul(perPixel, discounts), valid)), count) as tf.Scalar;
  });
}

/** The learned uncertainty weighting of every task loss: L / (2·e^w) + 0.5·w (trainer.py). */
export function uncertaintyWeighted(loss: tf.Scalar, weight: tf.Variable | tf.Scalar): tf.Scalar {
  return tf.tidy(() => tf.add(tf.div(loss, tf.mul(2, tf.exp(weight))), tf.mul(0.5, weight)) as tf.Scalar);
}
