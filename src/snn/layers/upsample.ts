import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import { LifNode, type LifNodeOptions } from '../neurons/node.ts';
import { SAD_NEURONS } from '../neurons/presets.ts';
import { BatchNorm2d, ConvBn } from './batchnorm.ts';
import { Conv2d } from './conv.ts';
import { layerRng } from './init.ts';
import { type ForwardContext, SnnModule } from './module.ts';
import { Upsample } from './ops.ts';

interface UpOptions {
  inChannels: number;
  outChannels: number;
  scaleFactor?: number;
  neuron?: LifNodeOptions;
  bnMomentum?: number;
  rng?: Rng;
}

function checkSkip(y: tf.Tensor, skip: tf.Tensor, who: string): void {
  const same = y.rank === skip.rank && y.shape.every((d, i) => d === skip.shape[i]);
  if (!same) {
    throw new SpikedriveError(
      `${who}: upsampled [${y.shape.join(', ')}] does not match the skip connection [${skip.shape.join(', ')}]`,
      { subject: who, fix: 'The skip must have the upsampled size and the output channel count.' },
    );
  }
}

/**
 * `SpikingUpsamplingAdd_MS` (BEV decoder): bilinear ×2 → LIF → conv1×1 → BN, plus the skip. Multi-step.
 * Children `upsample_layer.0` (upsample), `.1` (LIF, ATan, detach), `.2.0` (conv), `.3.0` (BN).
 */
export class SpikingUpsamplingAddMs extends SnnModule {
  readonly kind = 'spiking_upsampling_add';
  private readonly upsample: Upsample;
  private readonly lif: LifNode;
  private readonly unit: ConvBn;

  constructor(options: UpOptions) {
    super();
    const rng = layerRng(options.rng, 'spiking_upsampling_add');
    this.upsample = this.register('upsample_layer.0', new Upsample(options.scaleFactor ?? 2));
    this.lif = this.register('upsample_layer.1', new LifNode({ ...SAD_NEURONS.head, ...options.neuron }));
    const conv = this.register(
      'upsample_layer.2.0',
      new Conv2d({
        inChannels: options.inChannels,
        outChannels: options.outChannels,
        kernelSize: 1,
        bias: false,
        rng: rng.fork('conv'),
      }),
    );
    const bn = this.register(
      'upsample_layer.3.0',
      new BatchNorm2d({ numFeatures: options.outChannels, momentum: options.bnMomentum }),
    );
    this.unit = new ConvBn(conv, bn);
  }

  /** x [T, B, H, W, Cin], skip [T, B, 2H, 2W, Cout] → [T, B, 2H, 2W, Cout]. */
  forward(x: tf.Tensor, skip: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const u = this.upsample.forward(x, ctx);
    const s = this.lif.forward(u, ctx);
    const c = this.unit.forward(s, ctx);
    checkSkip(c, skip, this.name || 'SpikingUpsamplingAddMs');
    const out = tf.add(c, skip);
    tf.dispose([u, s, c]);
    return out;
  }

  protected override disposeCaches(): void {
    this.unit.dispose();
  }
}

/**
 * `MergeUpsamplingConcat` (encoder heads, one step after the mean over T): bilinear ×2 of the coarse input,
 * concatenated after the fine one ([x, up(xToUpsample)] on channels), then conv3×3 → BN → conv3×3 → BN, no
 * activation (real-valued output). Children `upsample`, `conv.0`, `conv.1`, `conv.2`, `conv.3`.
 */
export class MergeUpsamplingConcat extends SnnModule {
  readonly kind = 'merge_upsampling_concat';
  private readonly upsample: Upsample;
  private readonly unit1: ConvBn;
  private readonly unit2: ConvBn;

  constructor(options: Omit<UpOptions, 'neuron'>) {
    super();
    const rng = layerRng(options.rng, 'merge_upsampling_concat');
    this.upsample = this.register('upsample', new Upsample(options.scaleFactor ?? 2));
    const conv1 = this.register(
      'conv.0',
      new Conv2d({
        inChannels: options.inChannels,
        outChannels: options.outChannels,
        kernelSize: 3,
        padding: 1,
        bias: false,
        rng: rng.fork('conv1'),
      }),
    );
    const bn1 = this.register(
      'conv.1',
      new BatchNorm2d({ numFeatures: options.outChannels, momentum: options.bnMomentum }),
    );
    const conv2 = this.register(
      'conv.2',
      new Conv2d({
        inChannels: options.outChannels,
        outChannels: options.outChannels,
        kernelSize: 3,
        padding: 1,
        bias: false,
        rng: rng.fork('conv2'),
      }),
    );
    const bn2 = this.register(
      'conv.3',
      new BatchNorm2d({ numFeatures: options.outChannels, momentum: options.bnMomentum }),
    );
    this.unit1 = new ConvBn(conv1, bn1);
    this.unit2 = new ConvBn(conv2, bn2);
  }

  /** xToUpsample [N, H, W, C1], x [N, 2H, 2W, C2] → [N, 2H, 2W, out] (C1 + C2 = inChannels). */
  forward(xToUpsample: tf.Tensor, x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const u = this.upsample.forward(xToUpsample, ctx);
    const spatialOk = u.shape.slice(0, -1).every((d, i) => d === x.shape[i]) && u.rank === x.rank;
    if (!spatialOk) {
      tf.dispose(u);
      throw new SpikedriveError(
        `${this.name || 'MergeUpsamplingConcat'}: upsampled [${u.shape.join(', ')}] and skip [${x.shape.join(', ')}] differ in size`,
        {
          subject: this.name || 'MergeUpsamplingConcat',
          fix: 'The fine input must be exactly twice the coarse one.',
        },
      );
    }
    const cat = tf.concat([x, u], x.rank - 1);
    const c1 = this.unit1.forward(cat, ctx);
    const out = this.unit2.forward(c1, ctx);
    tf.dispose([u, cat, c1]);
    return out;
  }

  protected override disposeCaches(): void {
    this.unit1.dispose();
    this.unit2.dispose();
  }
}

/**
 * `SpikingUpsamplingConcat` (in the reference's `convolutions.py`, not used by the SAD model): bilinear ×2,
 * concatenate [x, up], then LIF → conv3×3 → BN → LIF → conv3×3 → BN → LIF, multi-step. Children `upsample`,
 * `conv.0` (LIF), `conv.1.0`, `conv.2.0`, `conv.3`, `conv.4.0`, `conv.5.0`, `conv.6`.
 */
export class SpikingUpsamplingConcat extends SnnModule {
  readonly kind = 'spiking_upsampling_concat';
  private readonly upsample: Upsample;
  private readonly lifs: [LifNode, LifNode, LifNode];
  private readonly unit1: ConvBn;
  private readonly unit2: ConvBn;

  constructor(options: UpOptions) {
    super();
    const rng = layerRng(options.rng, 'spiking_upsampling_concat');
    const neuron = { ...SAD_NEURONS.head, ...options.neuron };
    this.upsample = this.register('upsample', new Upsample(options.scaleFactor ?? 2));
    const l0 = this.register('conv.0', new LifNode(neuron));
    const conv1 = this.register(
      'conv.1.0',
      new Conv2d({
        inChannels: options.inChannels,
        outChannels: options.outChannels,
        kernelSize: 3,
        padding: 1,
        bias: false,
        rng: rng.fork('conv1'),
      }),
    );
    const bn1 = this.register(
      'conv.2.0',
      new BatchNorm2d({ numFeatures: options.outChannels, momentum: options.bnMomentum }),
    );
    const l1 = this.register('conv.3', new LifNode(neuron));
    const conv2 = this.register(
      'conv.4.0',
      new Conv2d({
        inChannels: options.outChannels,
        outChannels: options.outChannels,
        kernelSize: 3,
        padding: 1,
        bias: false,
        rng: rng.fork('conv2'),
      }),
    );
    const bn2 = this.register(
      'conv.5.0',
      new BatchNorm2d({ numFeatures: options.outChannels, momentum: options.bnMomentum }),
    );
    const l2 = this.register('conv.6', new LifNode(neuron));
    this.lifs = [l0, l1, l2];
    this.unit1 = new ConvBn(conv1, bn1);
    this.unit2 = new ConvBn(conv2, bn2);
  }

  forward(xToUpsample: tf.Tensor, x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const u = this.upsample.forward(xToUpsample, ctx);
    const cat = tf.concat([x, u], x.rank - 1);
    const s0 = this.lifs[0].forward(cat, ctx);
    const c1 = this.unit1.forward(s0, ctx);
    const s1 = this.lifs[1].forward(c1, ctx);
    const c2 = this.unit2.forward(s1, ctx);
    const out = this.lifs[2].forward(c2, ctx);
    tf.dispose([u, cat, s0, c1, s1, c2]);
    return out;
  }

  protected override disposeCaches(): void {
    this.unit1.dispose();
    this.unit2.dispose();
  }
}
