import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../util/errors.ts';

/**
 * SAD's two time schemes (sad.md §2 "Dual time dimension"). Multi-step tensors are time-major: [T, B, …].
 *
 * - Sequence repetition (encoder): each input is repeated T times as SNN time, and spikes are averaged over T.
 * - Sequence alignment (decoder, predictor): video frames are the SNN time axis. Frame-major [S, B, …] must come
 *   from a transpose of batch-major [B, S, …]; the reference reshapes instead, which is right only for B = 1.
 */

function requireRank(x: tf.Tensor, min: number, what: string, hint: string): void {
  if (x.rank < min) {
    throw new SpikedriveError(`${what} needs at least ${min} dimensions, got shape [${x.shape.join(', ')}]`, {
      subject: what,
      fix: hint,
    });
  }
}

/** Sequence repetition: [B, …] → [T, B, …], the same input at every step. */
export function repeatOverTime(x: tf.Tensor, steps: number): tf.Tensor {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new SpikedriveError(`SNN time steps must be a positive integer, got ${steps}`, {
      subject: 'repeatOverTime',
      fix: 'SAD repeats each image T = 4 times.',
    });
  }
  // T copies by concat: a memcpy on every back end (a broadcast add walks indices, ~10× slower on cpu), and
  // differentiable at any rank (the gradient sums the T slices).
  return tf.tidy(() => {
    const one = tf.expandDims(x, 0);
    return steps === 1 ? one : tf.concat(new Array<tf.Tensor>(steps).fill(one), 0);
  });
}

/**
 * Broadcasts `x` to `shape` by adding zeros, which (unlike `tf.tile`/`tf.broadcastTo`, whose gradients tfjs lacks
 * for rank 5) is differentiable at any rank.
 */
export function broadcastTo(x: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.tidy(() => tf.add(x, tf.zeros(shape)));
}

/** Rate decoding: [T, B, …] → [B, …], the mean over SNN time (spikes become firing rates). */
export function meanOverTime(x: tf.Tensor): tf.Tensor {
  requireRank(x, 2, 'meanOverTime', 'Pass a time-major [T, B, …] tensor.');
  return tf.mean(x, 0);
}

/** Sequence alignment: batch-major [B, S, …] → frame-major [S, B, …] by a transpose (never a reshape). */
export function toFrameMajor(x: tf.Tensor): tf.Tensor {
  requireRank(x, 2, 'toFrameMajor', 'Pass a batch-major [B, S, …] tensor.');
  return tf.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]);
}

/** Frame-major [S, B, …] → batch-major [B, S, …]. */
export function toBatchMajor(x: tf.Tensor): tf.Tensor {
  requireRank(x, 2, 'toBatchMajor', 'Pass a frame-major [S, B, …] tensor.');
  return tf.transpose(x, [1, 0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)]);
}

/** [T, B, …] → [T·B, …] for a time-independent op (SpikingJelly `SeqToANNContainer`). */
export function flattenTime(x: tf.Tensor): tf.Tensor {
  requireRank(x, 2, 'flattenTime', 'Pass a time-major [T, B, …] tensor.');
  const shape = x.shape as number[];
  return tf.reshape(x, [shape[0] * shape[1], ...shape.slice(2)]);
}

/** [T·B, …] → [T, B, …]. */
export function unflattenTime(x: tf.Tensor, steps: number): tf.Tensor {
  if (x.shape[0] % steps !== 0) {
    throw new SpikedriveError(`Leading size ${x.shape[0]} is not a multiple of ${steps} time steps`, {
      subject: 'unflattenTime',
      fix: 'Pass the T that flattenTime folded in.',
    });
  }
  return tf.reshape(x, [steps, x.shape[0] / steps, ...x.shape.slice(1)]);
}

/** Runs a per-step op over [T, B, …] by folding time into the batch. */
export function seqToAnn(x: tf.Tensor, op: (flat: tf.Tensor) => tf.Tensor): tf.Tensor {
  return tf.tidy(() => unflattenTime(op(flattenTime(x)), x.shape[0]));
}
