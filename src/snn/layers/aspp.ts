import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import { LifNode, type LifNodeOptions } from '../neurons/node.ts';
import { SAD_NEURONS } from '../neurons/presets.ts';
import { broadcastTo } from '../time.ts';
import { BatchNorm2d, ConvBn } from './batchnorm.ts';
import { Conv2d } from './conv.ts';
import { layerRng } from './init.ts';
import { type ForwardContext, SnnModule } from './module.ts';
import { Dropout, GlobalAvgPool } from './ops.ts';

interface CommonOptions {
  neuron?: LifNodeOptions;
  bnMomentum?: number;
  rng?: Rng;
}

function requireSequence(x: tf.Tensor, who: string): void {
  if (x.rank !== 5) {
    throw new SpikedriveError(`${who} takes multi-step input [T, B, H, W, C], got [${x.shape.join(', ')}]`, {
      subject: who,
      fix: 'Keep SNN time as the leading axis through the spiking head.',
    });
  }
}

/**
 * One ASPP branch: conv (1×1, or 3×3 dilated by `rate` with padding `rate`) → BN → LIF, all multi-step.
 * Children `0.0` (conv), `1.0` (BN), `2` (LIF), as `nn.Sequential(SeqToANNContainer(conv), …)` names them.
 */
export class SpikingAsppConv extends SnnModule {
  readonly kind = 'spiking_aspp_conv';
  private readonly unit: ConvBn;
  private readonly lif: LifNode;

  constructor(options: CommonOptions & { inChannels: number; outChannels: number; rate: number | null }) {
    super();
    const rng = layerRng(options.rng, 'spiking_aspp_conv');
    const rate = options.rate;
    const conv = this.register(
      '0.0',
      new Conv2d({
        inChannels: options.inChannels,
        outChannels: options.outChannels,
        kernelSize: rate === null ? 1 : 3,
        padding: rate ?? 0,
        dilation: rate ?? 1,
        bias: false,
        rng: rng.fork('conv'),
      }),
    );
    const bn = this.register(
      '1.0',
      new BatchNorm2d({ numFeatures: options.outChannels, momentum: options.bnMomentum }),
    );
    this.lif = this.register('2', new LifNode({ ...SAD_NEURONS.head, ...options.neuron }));
    this.unit = new ConvBn(conv, bn);
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const c = this.unit.forward(x, ctx);
    const s = this.lif.forward(c, ctx);
    c.dispose();
    return s;
  }

  protected override disposeCaches(): void {
    this.unit.dispose();
  }
}

/**
 * The image-pooling ASPP branch: global average pool → conv1×1 → BN → LIF, then bilinear back to H×W (from 1×1
 * that is a broadcast). Children `0.0` (pool), `1.0` (conv), `2.0` (BN), `3` (LIF).
 */
export class SpikingAsppPooling extends SnnModule {
  readonly kind = 'spiking_aspp_pooling';
  private readonly pool: GlobalAvgPool;
  private readonly unit: ConvBn;
  private readonly lif: LifNode;

  constructor(options: CommonOptions & { inChannels: number; outChannels: number }) {
    super();
    const rng = layerRng(options.rng, 'spiking_aspp_pooling');
    this.pool = this.register('0.0', new GlobalAvgPool());
    const conv = this.register(
      '1.0',
      new Conv2d({
        inChannels: options.inChannels,
        outChannels: options.outChannels,
        kernelSize: 1,
        bias: false,
        rng: rng.fork('conv'),
      }),
    );
    const bn = this.register(
      '2.0',
      new BatchNorm2d({ numFeatures: options.outChannels, momentum: options.bnMomentum }),
    );
    this.lif = this.register('3', new LifNode({ ...SAD_NEURONS.head, ...options.neuron }));
    this.unit = new ConvBn(conv, bn);
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const [h, w] = [x.shape[x.rank - 3], x.shape[x.rank - 2]];
    const p = this.pool.forward(x, ctx);
    const c = this.unit.forward(p, ctx);
    const s = this.lif.forward(c, ctx);
    const out = tf.tidy(() => {
      const shape = [...s.shape];
      shape[s.rank - 3] = h;
      shape[s.rank - 2] = w;
      return broadcastTo(s, shape);
    });
    ctx.instrument?.broadcast(s, out);
    tf.dispose([p, c, s]);
    return out;
  }

  protected override disposeCaches(): void {
    this.unit.dispose();
  }
}

/**
 * `SpikingASPP`: branches `convs.0` (1×1), `convs.1..n` (3×3 at the atrous rates), `convs.n+1` (pooling), each
 * → LIF spikes; concatenated on channels; `project` = conv1×1 → BN → LIF → Dropout(0.5) (`project.{0.0,1.0,2,3}`).
 */
export class SpikingAspp extends SnnModule {
  readonly kind = 'spiking_aspp';
  private readonly branches: (SpikingAsppConv | SpikingAsppPooling)[];
  private readonly project: ConvBn;
  private readonly projectLif: LifNode;
  private readonly dropout: Dropout;

  constructor(
    options: CommonOptions & {
      inChannels: number;
      atrousRates: readonly number[];
      outChannels?: number;
      /** Dropout after the projection (0.5 in SAD). */
      dropout?: number;
      /** Seed for reproducible dropout masks in training. */
      dropoutSeed?: number | string;
    },
  ) {
    super();
    const out = options.outChannels ?? 256;
    const rng = layerRng(options.rng, 'spiking_aspp');
    const common = { neuron: options.neuron, bnMomentum: options.bnMomentum };
    this.branches = [];
    this.branches.push(
      this.register(
        'convs.0',
        new SpikingAsppConv({
          ...common,
          inChannels: options.inChannels,
          outChannels: out,
          rate: null,
          rng: rng.fork('0'),
        }),
      ),
    );
    options.atrousRates.forEach((rate, i) => {
      this.branches.push(
        this.register(
          `convs.${i + 1}`,
          new SpikingAsppConv({
            ...common,
            inChannels: options.inChannels,
            outChannels: out,
            rate,
            rng: rng.fork(String(i + 1)),
          }),
        ),
      );
    });
    const poolKey = `convs.${options.atrousRates.length + 1}`;
    this.branches.push(
      this.register(
        poolKey,
        new SpikingAsppPooling({
          ...common,
          inChannels: options.inChannels,
          outChannels: out,
          rng: rng.fork('pool'),
        }),
      ),
    );
    const projConv = this.register(
      'project.0.0',
      new Conv2d({
        inChannels: this.branches.length * out,
        outChannels: out,
        kernelSize: 1,
        bias: false,
        rng: rng.fork('project'),
      }),
    );
    const projBn = this.register(
      'project.1.0',
      new BatchNorm2d({ numFeatures: out, momentum: options.bnMomentum }),
    );
    this.projectLif = this.register('project.2', new LifNode({ ...SAD_NEURONS.head, ...options.neuron }));
    this.dropout = this.register('project.3', new Dropout(options.dropout ?? 0.5, options.dropoutSeed));
    this.project = new ConvBn(projConv, projBn);
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    requireSequence(x, this.name || 'SpikingAspp');
    const parts = this.branches.map((b) => b.forward(x, ctx));
    const cat = tf.concat(parts, x.rank - 1);
    ctx.instrument?.concat(parts, cat);
    tf.dispose(parts);
    const c = this.project.forward(cat, ctx);
    const s = this.projectLif.forward(c, ctx);
    const out = this.dropout.forward(s, ctx);
    tf.dispose([cat, c, s]);
    return out;
  }

  protected override disposeCaches(): void {
    this.project.dispose();
  }
}

/**
 * `SpikingDeepLabHead(in, classes, hidden)`: ASPP (rates 12/24/36) → conv3×3 → BN → LIF → conv1×1 (with bias),
 * multi-step [T, B, H, W, C] in, real-valued [T, B, H, W, classes] out. Children `0` (ASPP), `1.0`, `2.0`, `3`, `4.0`.
 */
export class SpikingDeepLabHead extends SnnModule {
  readonly kind = 'spiking_deeplab_head';
  readonly aspp: SpikingAspp;
  private readonly unit: ConvBn;
  private readonly lif: LifNode;
  private readonly classifier: Conv2d;

  constructor(
    options: CommonOptions & {
      inChannels: number;
      numClasses: number;
      hiddenChannels?: number;
      atrousRates?: readonly number[];
      dropout?: number;
      dropoutSeed?: number | string;
    },
  ) {
    super();
    const hidden = options.hiddenChannels ?? 256;
    const rng = layerRng(options.rng, 'spiking_deeplab_head');
    this.aspp = this.register(
      '0',
      new SpikingAspp({
        inChannels: options.inChannels,
        atrousRates: options.atrousRates ?? [12, 24, 36],
        dropout: options.dropout,
        dropoutSeed: options.dropoutSeed,
        outChannels: hidden,
        neuron: options.neuron,
        bnMomentum: options.bnMomentum,
        rng: rng.fork('aspp'),
      }),
    );
    const conv = this.register(
      '1.0',
      new Conv2d({
        inChannels: hidden,
        outChannels: hidden,
        kernelSize: 3,
        padding: 1,
        bias: false,
        rng: rng.fork('conv'),
      }),
    );
    const bn = this.register('2.0', new BatchNorm2d({ numFeatures: hidden, momentum: options.bnMomentum }));
    this.lif = this.register('3', new LifNode({ ...SAD_NEURONS.head, ...options.neuron }));
    this.classifier = this.register(
      '4.0',
      new Conv2d({
        inChannels: hidden,
        outChannels: options.numClasses,
        kernelSize: 1,
        bias: true,
        rng: rng.fork('cls'),
      }),
    );
    this.unit = new ConvBn(conv, bn);
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const a = this.aspp.forward(x, ctx);
    const c = this.unit.forward(a, ctx);
    const s = this.lif.forward(c, ctx);
    const out = this.classifier.forward(s, ctx);
    tf.dispose([a, c, s]);
    return out;
  }

  protected override disposeCaches(): void {
    this.unit.dispose();
  }
}
