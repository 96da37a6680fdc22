import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.ts';
import { LifNode, type LifNodeOptions } from '../neurons/node.ts';
import { SAD_NEURONS } from '../neurons/presets.ts';
import { repeatOverTime } from '../time.ts';
import { BatchNorm2d, ConvBn } from './batchnorm.ts';
import { Conv2d } from './conv.ts';
import { layerRng } from './init.ts';
import { type ForwardContext, SnnModule } from './module.ts';

export interface MsDownSamplingOptions {
  inChannels: number;
  embedDims: number;
  kernelSize?: number;
  stride?: number;
  padding?: number;
  /** The first one (on pixels) has no LIF in front. Default true, as the reference. */
  firstLayer?: boolean;
  neuron?: LifNodeOptions;
  bnMomentum?: number;
  rng?: Rng;
}

/**
 * `MS_DownSampling` (SAD `module/downsample.py`): [LIF] → conv (with bias) → BN over [T, B, H, W, C].
 * Children `encode_conv`, `encode_bn`, `encode_lif`.
 */
export class MsDownSampling extends SnnModule {
  readonly kind = 'ms_downsampling';
  readonly encodeConv: Conv2d;
  readonly encodeBn: BatchNorm2d;
  readonly encodeLif: LifNode | null;
  private readonly unit: ConvBn;

  constructor(options: MsDownSamplingOptions) {
    super();
    const rng = layerRng(options.rng, 'ms_downsampling');
    this.encodeConv = this.register(
      'encode_conv',
      new Conv2d({
        inChannels: options.inChannels,
        outChannels: options.embedDims,
        kernelSize: options.kernelSize ?? 3,
        stride: options.stride ?? 2,
        padding: options.padding ?? 1,
        bias: true,
        rng: rng.fork('encode_conv'),
      }),
    );
    this.encodeBn = this.register(
      'encode_bn',
      new BatchNorm2d({ numFeatures: options.embedDims, momentum: options.bnMomentum }),
    );
    this.encodeLif =
      (options.firstLayer ?? true)
        ? null
        : this.register('encode_lif', new LifNode({ ...SAD_NEURONS.encoder, ...options.neuron }));
    this.unit = new ConvBn(this.encodeConv, this.encodeBn);
  }

  /** [T, B, H, W, C] → [T, B, H', W', C']. */
  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    if (this.encodeLif === null) return this.unit.forward(x, ctx);
    const s = this.encodeLif.forward(x, ctx);
    const y = this.unit.forward(s, ctx);
    s.dispose();
    return y;
  }

  /**
   * Sequence repetition for the first layer: `x` is one frame [B, H, W, C]; conv and BN run once and the result
   * is repeated over T steps, equal to `forward(repeatOverTime(x, T))` at a T-th of the cost. Layers with a LIF
   * in front see a changing input, so they take the ordinary path.
   */
  forwardRepeated(x: tf.Tensor, steps: number, ctx: ForwardContext = {}): tf.Tensor {
    if (this.encodeLif !== null) {
      const repeated = repeatOverTime(x, steps);
      const y = this.forward(repeated, ctx);
      repeated.dispose();
      return y;
    }
    return this.unit.forwardRepeated(x, steps, ctx);
  }

  protected override disposeCaches(): void {
    this.unit.dispose();
  }
}

export interface MsConvBlockOptions {
  dim: number;
  mlpRatio?: number;
  neuron?: LifNodeOptions;
  bnMomentum?: number;
  rng?: Rng;
}

/**
 * `MS_ConvBlock` (membrane shortcut): y = x + BN(conv3×3(LIF(x))); out = y + BN(conv3×3(LIF(BN(conv3×3(LIF(y)))))),
 * the inner width `dim·mlpRatio`. Children `neuron1..3`, `conv1.0.{0,1}`, `conv2.0.{0,1}`, `conv3.0.{0,1}`.
 */
export class MsConvBlock extends SnnModule {
  readonly kind = 'ms_conv_block';
  readonly neuron1: LifNode;
  readonly neuron2: LifNode;
  readonly neuron3: LifNode;
  private readonly units: [ConvBn, ConvBn, ConvBn];

  constructor(options: MsConvBlockOptions) {
    super();
    const rng = layerRng(options.rng, 'ms_conv_block');
    const dim = options.dim;
    const hidden = Math.round(dim * (options.mlpRatio ?? 4));
    const neuron = { ...SAD_NEURONS.encoder, ...options.neuron };
    const unit = (key: string, inC: number, outC: number): ConvBn => {
      const conv = this.register(
        `${key}.0.0`,
        new Conv2d({
          inChannels: inC,
          outChannels: outC,
          kernelSize: 3,
          padding: 1,
          bias: true,
          rng: rng.fork(key),
        }),
      );
      const bn = this.register(
        `${key}.0.1`,
        new BatchNorm2d({ numFeatures: outC, momentum: options.bnMomentum }),
      );
      return new ConvBn(conv, bn);
    };
    this.neuron1 = this.register('neuron1', new LifNode(neuron));
    const u1 = unit('conv1', dim, dim);
    this.neuron2 = this.register('neuron2', new LifNode(neuron));
    const u2 = unit('conv2', dim, hidden);
    this.neuron3 = this.register('neuron3', new LifNode(neuron));
    const u3 = unit('conv3', hidden, dim);
    this.units = [u1, u2, u3];
  }

  /** [T, B, H, W, dim] → same shape. */
  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const [u1, u2, u3] = this.units;
    const s1 = this.neuron1.forward(x, ctx);
    const c1 = u1.forward(s1, ctx);
    const y = tf.add(c1, x);
    tf.dispose([s1, c1]);
    const s2 = this.neuron2.forward(y, ctx);
    const c2 = u2.forward(s2, ctx);
    const s3 = this.neuron3.forward(c2, ctx);
    const c3 = u3.forward(s3, ctx);
    const out = tf.add(c3, y);
    tf.dispose([s2, c2, s3, c3, y]);
    return out;
  }

  protected override disposeCaches(): void {
    for (const u of this.units) u.dispose();
  }
}
