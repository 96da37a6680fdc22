import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import type { LayerQuantSpec } from '../quant/config.ts';
import {
  type ActivationQuantSpec,
  checkBits,
  fakeQuantActivation,
  fakeQuantWeight,
  type WeightQuantSpec,
} from '../quant/weight.ts';
import { weightBits } from './conv.ts';
import { layerRng, uniformTensor } from './init.ts';
import { type ForwardContext, SnnModule } from './module.ts';

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  bias?: boolean;
  /** Initial weights/biases U(±initBound); PyTorch's default is 1/√inFeatures. */
  initBound?: number;
  rng?: Rng;
}

/**
 * Fully connected layer y = x·Wᵀ + b over the last axis (any leading shape). Kept as [in, out]; the checkpoint
 * holds PyTorch's [out, in].
 */
export class Linear extends SnnModule {
  readonly kind = 'linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  weightQuant: WeightQuantSpec | null = null;
  activationQuant: ActivationQuantSpec | null = null;

  constructor(options: LinearOptions) {
    super();
    const { inFeatures, outFeatures } = options;
    if (
      !Number.isInteger(inFeatures) ||
      inFeatures < 1 ||
      !Number.isInteger(outFeatures) ||
      outFeatures < 1
    ) {
      throw new SpikedriveError(`Linear needs positive integer sizes, got ${inFeatures} → ${outFeatures}`, {
        subject: 'Linear',
        fix: 'Check the feature sizes in the model configuration.',
      });
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = layerRng(options.rng, 'linear');
    const bound = options.initBound ?? 1 / Math.sqrt(inFeatures);
    this.weight = this.addParam(
      'weight',
      uniformTensor([inFeatures, outFeatures], bound, rng.fork('weight')),
      'linear-io',
      true,
    );
    this.bias =
      options.bias === false
        ? null
        : this.addParam('bias', uniformTensor([outFeatures], bound, rng.fork('bias')), 'plain', true);
  }

  override applyQuant(spec: LayerQuantSpec): void {
    if (spec.weights !== undefined) {
      if (spec.weights?.scheme === 'symmetric') checkBits(spec.weights.bits, this.name);
      this.weightQuant = spec.weights;
    }
    if (spec.activations !== undefined) {
      if (spec.activations) checkBits(spec.activations.bits, this.name);
      this.activationQuant = spec.activations;
    }
    this.version++;
  }

  effectiveWeight(): tf.Tensor2D {
    return (
      this.weightQuant === null ? this.weight : fakeQuantWeight(this.weight, this.weightQuant)
    ) as tf.Tensor2D;
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const features = x.shape[x.rank - 1];
    if (features !== this.inFeatures) {
      throw new SpikedriveError(
        `${this.name || 'Linear'} expects ${this.inFeatures} input features, got ${features}`,
        {
          subject: this.name || 'Linear',
          fix: 'Check the previous layer and the configuration.',
        },
      );
    }
    const y = tf.tidy(() => {
      const rows = x.size / features;
      const flat = tf.reshape(x, [rows, features]);
      const input = this.activationQuant === null ? flat : fakeQuantActivation(flat, this.activationQuant);
      let out: tf.Tensor = tf.matMul(input as tf.Tensor2D, this.effectiveWeight());
      if (this.bias !== null) out = tf.add(out, this.bias);
      return tf.reshape(out, [...x.shape.slice(0, -1), this.outFeatures]);
    });
    ctx.instrument?.record({
      layer: this,
      input: x,
      output: y,
      timeSteps: 1,
      batch: (x.shape as number[])[0] ?? 1,
      equivalentMacs: (x.size / features) * this.inFeatures * this.outFeatures,
      synaptic: true,
      outputSpiking: false,
      paramBytesRead:
        (this.weight.size * weightBits(this.weightQuant)) / 8 +
        (this.bias === null ? 0 : this.outFeatures * 4),
    });
    return y;
  }
}
