import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import { isRecordingGradients } from '../surrogate.ts';
import { foldTime, stepsAndBatch, unfoldTime } from './conv.ts';
import { type ForwardContext, SnnModule } from './module.ts';

/**
 * Parameter-free layers with checkpoint positions of their own (they occupy an index in an `nn.Sequential`) and
 * activity worth counting. All take [N, H, W, C] or [T, B, H, W, C].
 */

/** `nn.Upsample(scale_factor, mode='bilinear', align_corners=False)` = tfjs half-pixel-centre bilinear resize. */
export class Upsample extends SnnModule {
  readonly kind = 'upsample';
  constructor(readonly scaleFactor = 2) {
    super();
    if (!(Number.isInteger(scaleFactor) && scaleFactor >= 1)) {
      throw new SpikedriveError(`Upsample scale factor must be a positive integer, got ${scaleFactor}`, {
        subject: 'Upsample',
        fix: 'SAD uses 2.',
      });
    }
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const y = tf.tidy(() => {
      const { flat, steps, batch } = foldTime(x, 4);
      const [, h, w] = flat.shape as number[];
      // The resize kernel is fast but its tfjs gradient is wrong (cpu: transposed shape, no half-pixel centres),
      // so a tape gets the same interpolation from differentiable slices.
      const out = isRecordingGradients()
        ? upsampleAxis(upsampleAxis(flat, 1, this.scaleFactor), 2, this.scaleFactor)
        : tf.image.resizeBilinear(
            flat as tf.Tensor4D,
            [h * this.scaleFactor, w * this.scaleFactor],
            false,
            true,
          );
      return unfoldTime(out, steps, batch, x.rank === 5);
    });
    ctx.instrument?.record({
      layer: this,
      input: x,
      output: y,
      timeSteps: stepsAndBatch(x).steps,
      batch: stepsAndBatch(x).batch,
      // syops-counter counts one op per output element for upsampling.
      equivalentMacs: y.size,
      synaptic: true,
      outputSpiking: false,
    });
    return y;
  }
}

/**
 * Bilinear ×s along one axis with PyTorch's `align_corners=False`, from slices (differentiable on every back end).
 * Output o = s·i + p samples i + δ_p with δ_p = (p + 0.5)/s − 0.5, clamped at the edges as PyTorch clamps.
 */
export function upsampleAxis(x: tf.Tensor, axis: number, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[axis] as number;
    const take = (start: number, size: number) => {
      const begin = x.shape.map(() => 0);
      const sizes = x.shape.map(() => -1);
      begin[axis] = start;
      sizes[axis] = size;
      return tf.slice(x, begin, sizes);
    };
    const prev = n === 1 ? x : tf.concat([take(0, 1), take(0, n - 1)], axis);
    const next = n === 1 ? x : tf.concat([take(1, n - 1), take(n - 1, 1)], axis);
    const phases: tf.Tensor[] = [];
    for (let p = 0; p < scale; p++) {
      const delta = (p + 0.5) / scale - 0.5;
      if (delta === 0) phases.push(x);
      else if (delta < 0) phases.push(tf.add(tf.mul(prev, -delta), tf.mul(x, 1 + delta)));
      else phases.push(tf.add(tf.mul(x, 1 - delta), tf.mul(next, delta)));
    }
    const stacked = tf.stack(phases, axis + 1);
    const shape = [...x.shape];
    shape[axis] = n * scale;
    return tf.reshape(stacked, shape);
  });
}

/**
 * Bilinear resize to an explicit size with PyTorch's `align_corners=False`. Forward only: tfjs's gradient of the
 * resize kernel is wrong on the cpu back end; `Upsample` is differentiable.
 */
export function resizeBilinearTorch(x: tf.Tensor, size: [number, number]): tf.Tensor {
  return tf.tidy(() => {
    const { flat, steps, batch } = foldTime(x, 4);
    const out = tf.image.resizeBilinear(flat as tf.Tensor4D, size, false, true);
    return unfoldTime(out, steps, batch, x.rank === 5);
  });
}

/** `nn.MaxPool2d(kernel, stride)` without padding. */
export class MaxPool2d extends SnnModule {
  readonly kind = 'pool';
  constructor(
    readonly kernelSize = 2,
    readonly stride = 2,
  ) {
    super();
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const y = tf.tidy(() => {
      const { flat, steps, batch } = foldTime(x, 4);
      const out = tf.maxPool(flat as tf.Tensor4D, this.kernelSize, this.stride, 'valid');
      return unfoldTime(out, steps, batch, x.rank === 5);
    });
    ctx.instrument?.record({
      layer: this,
      input: x,
      output: y,
      timeSteps: stepsAndBatch(x).steps,
      batch: stepsAndBatch(x).batch,
      equivalentMacs: x.size,
      synaptic: true,
      outputSpiking: false,
    });
    return y;
  }
}

/** `nn.AdaptiveAvgPool2d(1)`: mean over H and W, keeping a 1×1 map. */
export class GlobalAvgPool extends SnnModule {
  readonly kind = 'pool';
  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const y = tf.tidy(() => tf.mean(x, [x.rank - 3, x.rank - 2], true));
    ctx.instrument?.record({
      layer: this,
      input: x,
      output: y,
      timeSteps: stepsAndBatch(x).steps,
      batch: stepsAndBatch(x).batch,
      equivalentMacs: x.size,
      synaptic: true,
      outputSpiking: false,
    });
    return y;
  }
}

/** Element-wise activations for the ANN heads around the spiking core (`nn.ReLU`, `nn.Sigmoid`, `nn.Tanh`). */
export class Activation extends SnnModule {
  readonly kind = 'activation';
  constructor(readonly fn: 'relu' | 'sigmoid' | 'tanh') {
    super();
    if (!['relu', 'sigmoid', 'tanh'].includes(fn)) {
      throw new SpikedriveError(`Unknown activation "${fn}"`, {
        subject: 'Activation',
        fix: 'Use relu, sigmoid or tanh.',
      });
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (this.fn === 'relu') return tf.relu(x);
    return this.fn === 'sigmoid' ? tf.sigmoid(x) : tf.tanh(x);
  }
}

/** `nn.Dropout(p)`: zeroes with probability p and scales survivors by 1/(1 − p) in training; identity in eval. */
export class Dropout extends SnnModule {
  readonly kind = 'dropout';
  private calls = 0;

  /** `seed` makes the masks reproducible: call k of this layer draws with seed `${seed}/${k}`. */
  constructor(
    readonly rate: number,
    readonly seed?: number | string,
  ) {
    super();
    if (!(rate >= 0 && rate < 1)) {
      throw new SpikedriveError(`Dropout rate must be in [0, 1), got ${rate}`, {
        subject: 'Dropout',
        fix: 'SAD uses 0.5 in the ASPP projection.',
      });
    }
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    if (!this.training || this.rate === 0) {
      const y = tf.clone(x);
      ctx.instrument?.alias(x, y);
      return y;
    }
    const seed = this.seed === undefined ? undefined : `${this.seed}/${this.calls++}`;
    return tf.dropout(x, this.rate, undefined, seed);
  }
}

/** Zero padding on the bottom/right so H and W become even (`F.pad(x, (0, W % 2, 0, H % 2))`). */
export function padToEven(x: tf.Tensor): tf.Tensor {
  const shape = x.shape as number[];
  const h = shape[x.rank - 3];
  const w = shape[x.rank - 2];
  if (h % 2 === 0 && w % 2 === 0) return tf.clone(x);
  const paddings: [number, number][] = x.shape.map(() => [0, 0] as [number, number]);
  paddings[x.rank - 3] = [0, h % 2];
  paddings[x.rank - 2] = [0, w % 2];
  return tf.pad(x, paddings);
}
