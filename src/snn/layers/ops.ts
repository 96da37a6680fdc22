import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
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
      const out = tf.image.resizeBilinear(
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

/** Bilinear resize to an explicit size with PyTorch's `align_corners=False`. */
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
  constructor(readonly rate: number) {
    super();
    if (!(rate >= 0 && rate < 1)) {
      throw new SpikedriveError(`Dropout rate must be in [0, 1), got ${rate}`, {
        subject: 'Dropout',
        fix: 'SAD uses 0.5 in the ASPP projection.',
      });
    }
  }

  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.rate === 0) return tf.clone(x);
    return tf.dropout(x, this.rate);
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
