import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import { isRecordingGradients } from '../surrogate.ts';
import { repeatOverTime } from '../time.ts';
import { type Conv2d, stepsAndBatch } from './conv.ts';
import { hwioToOihw } from './layout.ts';
import { type ForwardContext, SnnModule } from './module.ts';

/** SAD's `MODEL.BN_MOMENTUM` (all three stage configs); PyTorch's own default is 0.1. */
export const SAD_BN_MOMENTUM = 0.05;

export interface BatchNormOptions {
  numFeatures: number;
  eps?: number;
  /** Weight of the new batch in the running averages (PyTorch convention). Default 0.05 (SAD). */
  momentum?: number;
}

/**
 * BatchNorm2d over the channel (last) axis with PyTorch semantics: batch statistics (biased variance to normalise,
 * unbiased to update the running variance) in training, running statistics in eval. Checkpoint names
 * `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
 */
export class BatchNorm2d extends SnnModule {
  readonly kind = 'batchnorm';
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(options: BatchNormOptions) {
    super();
    if (!Number.isInteger(options.numFeatures) || options.numFeatures < 1) {
      throw new SpikedriveError(
        `BatchNorm2d numFeatures must be a positive integer, got ${options.numFeatures}`,
        {
          subject: 'BatchNorm2d',
          fix: 'Check the channel counts in the model configuration.',
        },
      );
    }
    this.numFeatures = options.numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? SAD_BN_MOMENTUM;
    const c = options.numFeatures;
    this.weight = this.addParam('weight', tf.ones([c]), 'plain', true);
    this.bias = this.addParam('bias', tf.zeros([c]), 'plain', true);
    this.runningMean = this.addParam('running_mean', tf.zeros([c]), 'plain', false);
    this.runningVar = this.addParam('running_var', tf.ones([c]), 'plain', false);
    this.addCounter('num_batches_tracked', 0);
  }

  get numBatchesTracked(): number {
    return this.getCounter('num_batches_tracked');
  }

  /** Eval-mode affine form: y = x·scale + shift, scale = γ/√(var + ε), shift = β − mean·scale. */
  affine(): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
    return tf.tidy(() => {
      const scale = tf.div(this.weight, tf.sqrt(tf.add(this.runningVar, this.eps))) as tf.Tensor1D;
      const shift = tf.sub(this.bias, tf.mul(this.runningMean, scale)) as tf.Tensor1D;
      return { scale, shift };
    });
  }

  /**
   * [N, H, W, C] or [T, B, H, W, C]. `sampleMultiplier` says each sample stands for that many identical ones
   * (sequence repetition computed once), which only changes the unbiased running-variance correction.
   */
  forward(
    x: tf.Tensor,
    ctx: ForwardContext = {},
    options: { sampleMultiplier?: number; repeat?: number } = {},
  ): tf.Tensor {
    const c = x.shape[x.rank - 1];
    if (c !== this.numFeatures) {
      throw new SpikedriveError(
        `${this.name || 'BatchNorm2d'} expects ${this.numFeatures} channels, got ${c}`,
        {
          subject: this.name || 'BatchNorm2d',
          fix: 'Activations are NHWC (channels last); check the previous layer and the configuration.',
        },
      );
    }
    const training = this.training;
    const y = tf.tidy(() => {
      if (!training) {
        const { scale, shift } = this.affine();
        return tf.add(tf.mul(x, scale), shift);
      }
      const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
      const { mean, variance } = tf.moments(x, axes);
      const out = tf.add(
        tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps))), this.weight),
        this.bias,
      );
      const n = (x.size / c) * (options.sampleMultiplier ?? 1);
      const m = this.momentum;
      // Running statistics are bookkeeping, not part of the graph.
      tf.tidy(() => {
        const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
        this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
        this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      });
      return out;
    });
    if (training) this.setCounter('num_batches_tracked', this.numBatchesTracked + 1);
    ctx.instrument?.record({
      layer: this,
      input: x,
      output: y,
      timeSteps: stepsAndBatch(x).steps * (options.repeat ?? 1),
      batch: stepsAndBatch(x).batch,
      equivalentMacs: x.size,
      synaptic: true,
      outputSpiking: false,
      paramBytesRead: this.numFeatures * 4 * 4,
      repeat: options.repeat,
    });
    return y;
  }
}

/**
 * BN folded into the preceding conv: W' = W·s, b' = (b − μ)·s + β with s = γ/√(σ² + ε), per output channel.
 * Returns tfjs layouts (HWIO filter); `foldedConvBnTorch` gives PyTorch layouts for export (e.g. NIR).
 */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d): { weight: tf.Tensor4D; bias: tf.Tensor1D } {
  if (conv.outChannels !== bn.numFeatures) {
    throw new SpikedriveError(
      `Cannot fold ${bn.name || 'BatchNorm2d'} (${bn.numFeatures} channels) into ${conv.name || 'Conv2d'} (${conv.outChannels} outputs)`,
      { subject: bn.name || 'BatchNorm2d', fix: 'Fold a BN only into the conv that feeds it.' },
    );
  }
  return tf.tidy(() => {
    const { scale, shift } = bn.affine();
    const weight = tf.mul(conv.weight, scale) as tf.Tensor4D;
    const bias = (conv.bias === null ? shift : tf.add(tf.mul(conv.bias, scale), shift)) as tf.Tensor1D;
    return { weight, bias };
  });
}

/** Folded conv+BN as PyTorch arrays: weight OIHW and bias, ready for an exporter. */
export function foldedConvBnTorch(
  conv: Conv2d,
  bn: BatchNorm2d,
): { weight: { shape: number[]; data: Float32Array }; bias: { shape: number[]; data: Float32Array } } {
  const folded = foldBatchNorm(conv, bn);
  const oihw = hwioToOihw(folded.weight);
  const out = {
    weight: { shape: [...oihw.shape], data: oihw.dataSync() as Float32Array },
    bias: { shape: [...folded.bias.shape], data: folded.bias.dataSync() as Float32Array },
  };
  tf.dispose([folded.weight, folded.bias, oihw]);
  return out;
}

/**
 * A conv followed by its BN, run as one folded conv in eval mode (one pass instead of three) and as conv → BN in
 * training or when the conv's weights are quantised (QAT quantises the conv weight, not the folded one). The
 * folded weights are cached until either layer's `version` changes; instrumentation then sees only the conv.
 */
export class ConvBn {
  /** Set false to always run conv → BN (e.g. to compare against an unfolded reference). */
  fold = true;
  private cache: { key: string; weight: tf.Tensor4D; bias: tf.Tensor1D } | null = null;

  constructor(
    readonly conv: Conv2d,
    readonly bn: BatchNorm2d,
  ) {}

  /** Whether the next eval-mode call runs folded. */
  get folds(): boolean {
    // Under a gradient tape the cached folded weights would cut the gradient to the conv and BN parameters.
    return (
      this.fold &&
      !this.bn.training &&
      this.conv.weightQuant === null &&
      this.conv.activationQuant === null &&
      !isRecordingGradients()
    );
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    if (!this.folds) {
      const y = this.conv.forward(x, ctx);
      const z = this.bn.forward(y, ctx);
      y.dispose();
      return z;
    }
    const key = `${this.conv.version}:${this.bn.version}`;
    if (this.cache === null || this.cache.key !== key) {
      this.dispose();
      const folded = foldBatchNorm(this.conv, this.bn);
      this.cache = { key, weight: tf.keep(folded.weight), bias: tf.keep(folded.bias) };
    }
    return this.conv.forwardWith(x, ctx, this.cache.weight, this.cache.bias);
  }

  /**
   * Sequence repetition with the conv computed once: `x` is one step [B, H, W, C]; the result is [T, B, …] as if
   * the same input had been fed at each of T steps (exact for conv → BN, whose batch statistics are unchanged
   * by duplication; the running variance uses the T-fold sample count).
   */
  forwardRepeated(x: tf.Tensor, steps: number, ctx: ForwardContext = {}): tf.Tensor {
    let y: tf.Tensor;
    if (this.folds) {
      const key = `${this.conv.version}:${this.bn.version}`;
      if (this.cache === null || this.cache.key !== key) {
        this.dispose();
        const folded = foldBatchNorm(this.conv, this.bn);
        this.cache = { key, weight: tf.keep(folded.weight), bias: tf.keep(folded.bias) };
      }
      y = this.conv.forwardWith(x, ctx, this.cache.weight, this.cache.bias, { repeatedSteps: steps });
    } else {
      const c = this.conv.forwardWith(x, ctx, null, null, { repeatedSteps: steps });
      y = this.bn.forward(c, ctx, { sampleMultiplier: steps, repeat: steps });
      c.dispose();
    }
    const out = repeatOverTime(y, steps);
    y.dispose();
    return out;
  }

  /** Frees the cached folded weights. */
  dispose(): void {
    if (this.cache !== null) {
      this.cache.weight.dispose();
      this.cache.bias.dispose();
      this.cache = null;
    }
  }
}
