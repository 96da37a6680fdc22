import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import { LifNode, type LifNodeOptions } from '../neurons/node.ts';
import { SAD_NEURONS } from '../neurons/presets.ts';
import { BatchNorm2d, ConvBn } from './batchnorm.ts';
import { Conv2d } from './conv.ts';
import { layerRng } from './init.ts';
import { type ForwardContext, SnnModule } from './module.ts';

interface BlockParts {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  sn1: LifNode;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  sn2: LifNode;
  downsample: ConvBn | null;
  downsampleSn: LifNode | null;
}

export interface ResNetBlockOptions {
  inChannels: number;
  /** Width of the first conv's output; defaults to `outChannels` (torchvision `planes`). */
  midChannels?: number;
  outChannels: number;
  stride?: number;
  /** Adds the conv1×1+BN (+LIF) shortcut; default when the stride or channel count changes. */
  downsample?: boolean;
  neuron?: LifNodeOptions;
  bnMomentum?: number;
  rng?: Rng;
}

function resolve(o: ResNetBlockOptions) {
  const stride = o.stride ?? 1;
  return {
    inChannels: o.inChannels,
    midChannels: o.midChannels ?? o.outChannels,
    outChannels: o.outChannels,
    stride,
    downsample: o.downsample ?? (stride !== 1 || o.inChannels !== o.outChannels),
  };
}

/**
 * What both ResNet block flavours share: `conv1`, `bn1`, `sn1`, `conv2`, `bn2`, `sn2`, `downsample.{0,1}`,
 * `downsample_sn`, registered in the reference's attribute order so checkpoint names line up.
 */
abstract class ResidualBlockBase extends SnnModule {
  protected readonly parts: BlockParts;
  protected readonly unit1: ConvBn;
  protected readonly unit2: ConvBn;

  protected constructor(options: ResNetBlockOptions, neuronDefaults: LifNodeOptions, label: string) {
    super();
    const o = resolve(options);
    const rng = layerRng(options.rng, label);
    const neuron = { ...neuronDefaults, ...options.neuron };
    const bnMomentum = options.bnMomentum;
    const conv1 = this.register(
      'conv1',
      new Conv2d({
        inChannels: o.inChannels,
        outChannels: o.midChannels,
        kernelSize: 3,
        stride: o.stride,
        padding: 1,
        bias: false,
        rng: rng.fork('conv1'),
      }),
    );
    const bn1 = this.register('bn1', new BatchNorm2d({ numFeatures: o.midChannels, momentum: bnMomentum }));
    const sn1 = this.register('sn1', new LifNode(neuron));
    const conv2 = this.register(
      'conv2',
      new Conv2d({
        inChannels: o.midChannels,
        outChannels: o.outChannels,
        kernelSize: 3,
        padding: 1,
        bias: false,
        rng: rng.fork('conv2'),
      }),
    );
    const bn2 = this.register('bn2', new BatchNorm2d({ numFeatures: o.outChannels, momentum: bnMomentum }));
    const sn2 = this.register('sn2', new LifNode(neuron));
    let downsample: ConvBn | null = null;
    let downsampleSn: LifNode | null = null;
    if (o.downsample) {
      const dconv = this.register(
        'downsample.0',
        new Conv2d({
          inChannels: o.inChannels,
          outChannels: o.outChannels,
          kernelSize: 1,
          stride: o.stride,
          bias: false,
          rng: rng.fork('downsample'),
        }),
      );
      const dbn = this.register(
        'downsample.1',
        new BatchNorm2d({ numFeatures: o.outChannels, momentum: bnMomentum }),
      );
      downsample = new ConvBn(dconv, dbn);
      downsampleSn = this.register('downsample_sn', new LifNode(neuron));
    } else if (o.inChannels !== o.outChannels || o.stride !== 1) {
      throw new SpikedriveError(
        `A residual block from ${o.inChannels} to ${o.outChannels} channels with stride ${o.stride} needs a downsample branch`,
        {
          subject: 'residual block',
          fix: 'Leave `downsample` unset (it is added automatically) or make the shapes match.',
        },
      );
    }
    this.parts = { conv1, bn1, sn1, conv2, bn2, sn2, downsample, downsampleSn };
    this.unit1 = new ConvBn(conv1, bn1);
    this.unit2 = new ConvBn(conv2, bn2);
  }

  protected override disposeCaches(): void {
    this.unit1.dispose();
    this.unit2.dispose();
    this.parts.downsample?.dispose();
  }
}

/**
 * MS-ResNet basic block (SAD `Real_MS_ResNet.py` `MultiStepBasicBlock`, the BEV decoder): membrane shortcut,
 * LIF before each conv: out = BN(conv(LIF(BN(conv(LIF x))))) + [x | BN(conv1×1 s(LIF x))].
 */
export class MsResNetBlock extends ResidualBlockBase {
  readonly kind = 'ms_resnet_block';

  constructor(options: ResNetBlockOptions) {
    super(options, SAD_NEURONS.resnet, 'ms_resnet_block');
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const p = this.parts;
    const s1 = p.sn1.forward(x, ctx);
    const c1 = this.unit1.forward(s1, ctx);
    const s2 = p.sn2.forward(c1, ctx);
    const c2 = this.unit2.forward(s2, ctx);
    let identity = x;
    let ds: tf.Tensor | null = null;
    if (p.downsample !== null && p.downsampleSn !== null) {
      ds = p.downsampleSn.forward(x, ctx);
      identity = p.downsample.forward(ds, ctx);
    }
    const out = tf.add(identity, c2);
    tf.dispose([s1, c1, s2, c2]);
    if (ds !== null) tf.dispose([ds, identity]);
    return out;
  }
}

/** How SEW blocks merge the shortcut with the residual spikes (`sew_function`). */
export type SewConnect = 'ADD' | 'AND' | 'IAND';

/**
 * SEW-ResNet basic block (SAD `MS_ResNet.py` `MultiStepBasicBlock`, the future-prediction mixer): LIF after each
 * BN: out = sew(identity, LIF(BN(conv(LIF(BN(conv x)))))), identity = x or LIF(BN(conv1×1 s(x))).
 */
export class SewBasicBlock extends ResidualBlockBase {
  readonly kind = 'sew_basic_block';
  readonly connect: SewConnect;

  constructor(options: ResNetBlockOptions & { connect?: SewConnect }) {
    super(options, SAD_NEURONS.resnet, 'sew_basic_block');
    this.connect = options.connect ?? 'ADD';
    if (!['ADD', 'AND', 'IAND'].includes(this.connect)) {
      throw new SpikedriveError(`Unknown SEW connect function "${this.connect}"`, {
        subject: 'SewBasicBlock',
        fix: 'Use ADD (SAD), AND or IAND.',
      });
    }
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const p = this.parts;
    const c1 = this.unit1.forward(x, ctx);
    const s1 = p.sn1.forward(c1, ctx);
    const c2 = this.unit2.forward(s1, ctx);
    const s2 = p.sn2.forward(c2, ctx);
    let identity = x;
    let dc: tf.Tensor | null = null;
    if (p.downsample !== null && p.downsampleSn !== null) {
      dc = p.downsample.forward(x, ctx);
      identity = p.downsampleSn.forward(dc, ctx);
    }
    const out = tf.tidy(() => {
      if (this.connect === 'ADD') return tf.add(identity, s2);
      if (this.connect === 'AND') return tf.mul(identity, s2);
      return tf.mul(identity, tf.sub(1, s2));
    });
    tf.dispose([c1, s1, c2, s2]);
    if (dc !== null) tf.dispose([dc, identity]);
    return out;
  }
}

/**
 * A run of layers registered `0`, `1`, … and applied in order: an `nn.Sequential` (e.g. `decoder.layer2`, or a
 * head conv → BN → activation). Exported as `Sequential` too.
 */
export class BlockSequence<
  B extends SnnModule & { forward(x: tf.Tensor, ctx?: ForwardContext): tf.Tensor },
> extends SnnModule {
  readonly kind = 'sequential';
  readonly blocks: B[];

  constructor(blocks: B[]) {
    super();
    this.blocks = blocks.map((b, i) => this.register(String(i), b));
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    let current = x;
    for (const block of this.blocks) {
      const next = block.forward(current, ctx);
      if (current !== x) current.dispose();
      current = next;
    }
    return current === x ? tf.clone(x) : current;
  }
}

/** torchvision-style `make_layer` for MS-ResNet blocks: `blocks` blocks, the first with `stride`. */
export function msResNetLayer(options: {
  inChannels: number;
  outChannels: number;
  blocks: number;
  stride?: number;
  neuron?: LifNodeOptions;
  bnMomentum?: number;
  rng?: Rng;
}): BlockSequence<MsResNetBlock> {
  const rng = layerRng(options.rng, 'ms_resnet_layer');
  const blocks: MsResNetBlock[] = [];
  for (let i = 0; i < options.blocks; i++) {
    blocks.push(
      new MsResNetBlock({
        inChannels: i === 0 ? options.inChannels : options.outChannels,
        outChannels: options.outChannels,
        stride: i === 0 ? (options.stride ?? 1) : 1,
        neuron: options.neuron,
        bnMomentum: options.bnMomentum,
        rng: rng.fork(String(i)),
      }),
    );
  }
  return new BlockSequence(blocks);
}

/** A stage of SEW blocks channels → mid → channels (SAD future prediction: 70→70→70, then 70→384→70 ×2). */
export function sewResNetLayer(options: {
  channels: number;
  midChannels: number;
  blocks: number;
  connect?: SewConnect;
  neuron?: LifNodeOptions;
  bnMomentum?: number;
  rng?: Rng;
}): BlockSequence<SewBasicBlock> {
  const rng = layerRng(options.rng, 'sew_resnet_layer');
  const blocks: SewBasicBlock[] = [];
  for (let i = 0; i < options.blocks; i++) {
    blocks.push(
      new SewBasicBlock({
        inChannels: options.channels,
        midChannels: options.midChannels,
        outChannels: options.channels,
        connect: options.connect,
        neuron: options.neuron,
        bnMomentum: options.bnMomentum,
        rng: rng.fork(String(i)),
      }),
    );
  }
  return new BlockSequence(blocks);
}
