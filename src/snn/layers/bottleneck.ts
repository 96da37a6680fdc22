import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import { HeavisideActivation } from '../neurons/node.ts';
import type { SurrogateSpec } from '../surrogate.ts';
import { BatchNorm2d, ConvBn } from './batchnorm.ts';
import { Conv2d } from './conv.ts';
import { layerRng } from './init.ts';
import { type ForwardContext, SnnModule } from './module.ts';
import { Dropout, MaxPool2d, padToEven } from './ops.ts';

export interface SpikingBottleneckOptions {
  inChannels: number;
  /** Defaults to `inChannels`. */
  outChannels?: number;
  kernelSize?: number;
  /** Stride-2 middle conv and a max-pooled 1×1 shortcut. */
  downsample?: boolean;
  dropout?: number;
  /** Surrogate of the stateless spike activations; SAD uses `surrogate.ATan()` (α = 2). */
  surrogate?: SurrogateSpec;
  bnMomentum?: number;
  rng?: Rng;
}

/**
 * `SpikingBottleneck` (SAD `layers/convolutions.py`): 1×1 down-projection → BN → Θ, k×k conv (stride 2 when
 * downsampling) → BN → Θ, 1×1 up-projection → BN → Θ, plus a shortcut (identity, or [max-pool 2] → conv1×1 → BN
 * when the shape changes). Θ is the stateless Heaviside with the ATan gradient, not a LIF; the output
 * (spikes + shortcut) is real-valued. Works on one step [N, H, W, C] or on [T, B, H, W, C].
 */
export class SpikingBottleneck extends SnnModule {
  readonly kind = 'spiking_bottleneck';
  readonly downsample: boolean;
  private readonly down: ConvBn;
  private readonly mid: ConvBn;
  private readonly up: ConvBn;
  private readonly acts: [HeavisideActivation, HeavisideActivation, HeavisideActivation];
  private readonly dropout: Dropout;
  private readonly projection: { pool: MaxPool2d | null; unit: ConvBn } | null;

  constructor(options: SpikingBottleneckOptions) {
    super();
    const inC = options.inChannels;
    const outC = options.outChannels ?? inC;
    const k = options.kernelSize ?? 3;
    if (!Number.isInteger(k) || k < 1 || k % 2 === 0) {
      throw new SpikedriveError(`SpikingBottleneck kernel size must be an odd positive integer, got ${k}`, {
        subject: 'SpikingBottleneck',
        fix: 'SAD uses 3.',
      });
    }
    const mid = Math.floor(inC / 2);
    if (mid < 1) {
      throw new SpikedriveError(`SpikingBottleneck needs at least 2 input channels, got ${inC}`, {
        subject: 'SpikingBottleneck',
        fix: 'The bottleneck halves the channels; use inChannels ≥ 2.',
      });
    }
    this.downsample = options.downsample ?? false;
    const rng = layerRng(options.rng, 'spiking_bottleneck');
    const act = () => new HeavisideActivation({ surrogate: options.surrogate });
    const m = options.bnMomentum;
    const conv = (key: string, i: number, o: number, kernel: number, stride = 1) =>
      this.register(
        key,
        new Conv2d({
          inChannels: i,
          outChannels: o,
          kernelSize: kernel,
          stride,
          padding: Math.floor(kernel / 2),
          bias: false,
          rng: rng.fork(key),
        }),
      );
    const downConv = conv('layers.conv_down_project', inC, mid, 1);
    const downBn = this.register(
      'layers.abn_down_project.0',
      new BatchNorm2d({ numFeatures: mid, momentum: m }),
    );
    const a1 = this.register('layers.abn_down_project.1', act());
    const midConv = conv('layers.conv', mid, mid, k, this.downsample ? 2 : 1);
    const midBn = this.register('layers.abn.0', new BatchNorm2d({ numFeatures: mid, momentum: m }));
    const a2 = this.register('layers.abn.1', act());
    const upConv = conv('layers.conv_up_project', mid, outC, 1);
    const upBn = this.register(
      'layers.abn_up_project.0',
      new BatchNorm2d({ numFeatures: outC, momentum: m }),
    );
    const a3 = this.register('layers.abn_up_project.1', act());
    this.dropout = this.register('layers.dropout', new Dropout(options.dropout ?? 0));
    this.down = new ConvBn(downConv, downBn);
    this.mid = new ConvBn(midConv, midBn);
    this.up = new ConvBn(upConv, upBn);
    this.acts = [a1, a2, a3];
    if (outC === inC && !this.downsample) {
      this.projection = null;
    } else {
      const pool = this.downsample
        ? this.register('projection.upsample_skip_proj', new MaxPool2d(2, 2))
        : null;
      const skipConv = conv('projection.conv_skip_proj', inC, outC, 1);
      const skipBn = this.register(
        'projection.bn_skip_proj',
        new BatchNorm2d({ numFeatures: outC, momentum: m }),
      );
      this.projection = { pool, unit: new ConvBn(skipConv, skipBn) };
    }
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const [a1, a2, a3] = this.acts;
    const t: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(v: T): T => {
      t.push(v);
      return v;
    };
    const s1 = keep(a1.forward(keep(this.down.forward(x, ctx)), ctx));
    const s2 = keep(a2.forward(keep(this.mid.forward(s1, ctx)), ctx));
    const s3 = keep(a3.forward(keep(this.up.forward(s2, ctx)), ctx));
    const residual = keep(this.dropout.forward(s3, ctx));
    let shortcut = x;
    if (this.projection !== null) {
      let skipIn = x;
      if (this.projection.pool !== null) {
        const padded = keep(padToEven(x));
        skipIn = keep(this.projection.pool.forward(padded, ctx));
      }
      shortcut = keep(this.projection.unit.forward(skipIn, ctx));
    }
    const out = tf.add(residual, shortcut);
    tf.dispose(t);
    return out;
  }

  protected override disposeCaches(): void {
    this.down.dispose();
    this.mid.dispose();
    this.up.dispose();
    this.projection?.unit.dispose();
  }
}
