import * as tf from '@tensorflow/tfjs';
import {
  Activation,
  BatchNorm2d,
  type BlockSequence,
  Conv2d,
  ConvBn,
  type ForwardContext,
  foldBatchNorm,
  isRecordingGradients,
  LifNode,
  layerRng,
  type MsResNetBlock,
  msResNetLayer,
  SAD_NEURONS,
  SnnModule,
  SpikingUpsamplingAddMs,
} from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import {
  batchFirst,
  checkBevSequence,
  DEFAULT_CHUNK_BYTES,
  type FrameSchedule,
  frameChunks,
  frameSlice,
  framesFirst,
} from './frames.ts';

/** The reference's `predict_gate` (`sad.py:125-131`): which optional heads exist. Segmentation always does. */
export interface DecoderHeadGates {
  /** `SEMANTIC_SEG.HDMAP.ENABLED`: the HD-map head (present frame only). */
  perceiveHdmap: boolean;
  /** `SEMANTIC_SEG.PEDESTRIAN.ENABLED`. */
  predictPedestrian: boolean;
  /** `INSTANCE_SEG.ENABLED`: instance centre and offset heads. */
  predictInstance: boolean;
  /** `INSTANCE_FLOW.ENABLED`: the future-flow head (needs instances). */
  predictFutureFlow: boolean;
  /** `PLANNING.ENABLED`: the cost-volume head. */
  planning: boolean;
}

/** Every head on, as the paper's state dict lists them. */
export const ALL_DECODER_HEADS: Readonly<DecoderHeadGates> = Object.freeze({
  perceiveHdmap: true,
  predictPedestrian: true,
  predictInstance: true,
  predictFutureFlow: true,
  planning: true,
});

export interface DecoderOptions {
  /** BEV channels C′ (70); also the width of the shared output and of every head's first conv. */
  inChannels: number;
  /** Number of present/past frames S (`TIME_RECEPTIVE_FIELD`): the HD-map head reads frame S − 1. */
  nPresent: number;
  /** Segmentation classes, `len(SEMANTIC_SEG.VEHICLE.WEIGHTS)` (2); the pedestrian head has as many. */
  nClasses?: number;
  /** HD-map elements, `len(SEMANTIC_SEG.HDMAP.ELEMENTS)` (2 → 4 logits). */
  nHdmap?: number;
  /** MS-ResNet-18 stage widths (`MODEL.DECODER.CHANNELS`, [64, 128, 256]). */
  channels?: [number, number, number];
  heads: DecoderHeadGates;
  bnMomentum?: number;
  rng?: Rng;
}

export interface DecoderOutput {
  /** [B, S′, X, Y, nClasses] vehicle logits. */
  segmentation: tf.Tensor;
  /** [B, S′, X, Y, nClasses] pedestrian logits. */
  pedestrian?: tf.Tensor;
  /** [B, X, Y, 2·nHdmap] HD-map logits of the present frame: [lane bg, lane fg, drivable bg, drivable fg]. */
  hdmap?: tf.Tensor;
  /** [B, S′, X, Y, 1] instance centreness (after the sigmoid). */
  instanceCenter?: tf.Tensor;
  /** [B, S′, X, Y, 2] instance offsets (BEV pixels). */
  instanceOffset?: tf.Tensor;
  /** [B, S′, X, Y, 2] instance future flow. */
  instanceFlow?: tf.Tensor;
  /** [B, S′, X, Y, 1] the planner's cost volume (the reference squeezes the channel). */
  costvolume?: tf.Tensor;
}

type HeadName =
  | 'segmentation'
  | 'pedestrian'
  | 'instanceCenter'
  | 'instanceOffset'
  | 'instanceFlow'
  | 'costvolume';

interface HeadSpec {
  outChannels: number;
  bn: boolean;
  relu: boolean;
  sigmoid: boolean;
}

/**
 * One ANN head on the decoder's spikes (`decoder_snn_ms.py:53-100`): conv3×3 (no bias) [→ BN] [→ ReLU] → conv1×1
 * [→ sigmoid], registered at the reference's `nn.Sequential` indices.
 */
export class DecoderHead extends SnnModule {
  readonly kind = 'decoder_head';
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d | null;
  readonly outConv: Conv2d;
  readonly spec: HeadSpec;
  private readonly first: ConvBn | null;
  private readonly relu: Activation | null;
  private readonly sigmoid: Activation | null;

  constructor(channels: number, spec: HeadSpec, rng: Rng, bnMomentum?: number) {
    super();
    this.spec = spec;
    let i = 0;
    this.conv = this.register(
      String(i++),
      new Conv2d({
        inChannels: channels,
        outChannels: channels,
        kernelSize: 3,
        padding: 1,
        bias: false,
        rng: rng.fork('conv'),
      }),
    );
    this.bn = spec.bn
      ? this.register(String(i++), new BatchNorm2d({ numFeatures: channels, momentum: bnMomentum }))
      : null;
    this.relu = spec.relu ? this.register(String(i++), new Activation('relu')) : null;
    this.outConv = this.register(
      String(i++),
      new Conv2d({
        inChannels: channels,
        outChannels: spec.outChannels,
        kernelSize: 1,
        rng: rng.fork('out'),
      }),
    );
    this.sigmoid = spec.sigmoid ? this.register(String(i++), new Activation('sigmoid')) : null;
    this.first = this.bn === null ? null : new ConvBn(this.conv, this.bn);
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const y = this.first === null ? this.conv.forward(x, ctx) : this.first.forward(x, ctx);
    const out = this.tail(y, ctx);
    y.dispose();
    return out;
  }

  /** Everything after the first conv (+ BN): [ReLU] → conv1×1 → [sigmoid]. */
  tail(y: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const r = this.relu === null ? y : this.relu.forward(y);
    const z = this.outConv.forward(r, ctx);
    if (r !== y) r.dispose();
    if (this.sigmoid === null) return z;
    const s = this.sigmoid.forward(z);
    z.dispose();
    return s;
  }

  /** The first conv with its BN folded in, HWIO weight and bias (for running several heads as one conv). */
  foldedFirst(): { weight: tf.Tensor4D; bias: tf.Tensor1D } {
    if (this.bn === null) {
      return { weight: tf.clone(this.conv.weight) as tf.Tensor4D, bias: tf.zeros([this.conv.outChannels]) };
    }
    return foldBatchNorm(this.conv, this.bn);
  }

  /** Whether the head may run from a folded first conv (eval, no quantisation). */
  foldable(): boolean {
    return (
      !(this.bn?.training ?? false) && this.conv.weightQuant === null && this.conv.activationQuant === null
    );
  }

  protected override disposeCaches(): void {
    this.first?.dispose();
  }
}

/** He-normal (fan-out, ReLU gain) as `MultiStepMSResNet.__init__` initialises the backbone convs it builds. */
function kaimingNormalFanOut(conv: Conv2d, rng: Rng): void {
  const [kh, kw, , out] = conv.weight.shape;
  const std = Math.sqrt(2 / (out * kh * kw));
  const data = new Float32Array(conv.weight.size);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  tf.tidy(() => conv.weight.assign(tf.tensor(data, conv.weight.shape)));
  conv.version++;
}

/**
 * The BEV decoder (`models/decoder_snn_ms.py`, sad.md §4), names `decoder.*`:
 *
 *   x [S′, B, X, Y, C′] (frames as SNN time) → skip₁ = x → up1_lif → conv7×7 s2 (no bias) → BN
 *   → MS-ResNet-18 layer1 (64) → layer2 (128, /4) → layer3 (256, /8)
 *   → up3_skip (+ layer2 out) → up2_skip (+ layer1 out) → up1_skip (+ skip₁) → **up1_lif again**
 *   → the heads, per frame, on the C′-channel spikes.
 *
 * `up1_lif` is one neuron object called twice per forward: its second call continues from the membrane the first
 * left after the last frame, because the reference resets only after the whole forward (`:109,143`). `lif1` of the
 * reference is never called and holds no parameters, so it is not built.
 */
export class SadDecoder extends SnnModule {
  readonly kind = 'sad_decoder';
  readonly inChannels: number;
  readonly nPresent: number;
  readonly gates: DecoderHeadGates;
  readonly up1Lif: LifNode;
  readonly layer1: BlockSequence<MsResNetBlock>;
  readonly layer2: BlockSequence<MsResNetBlock>;
  readonly layer3: BlockSequence<MsResNetBlock>;
  readonly heads: Partial<Record<HeadName, DecoderHead>>;
  readonly hdmapHead: DecoderHead | null;
  /** How frames are walked (see `FrameSchedule`). */
  schedule: FrameSchedule = 'auto';
  /** `auto`'s budget for one chunk's widest activation (the heads' wide map). */
  chunkBytes = DEFAULT_CHUNK_BYTES;
  /** Run all per-frame heads' first convs as one wide conv (eval, no tape, no instrument). */
  fuseHeads = true;
  private readonly first: ConvBn;
  private readonly up3: SpikingUpsamplingAddMs;
  private readonly up2: SpikingUpsamplingAddMs;
  private readonly up1: SpikingUpsamplingAddMs;
  private fused: {
    key: string;
    weight: tf.Tensor4D;
    bias: tf.Tensor1D;
    tails: { weight: tf.Tensor4D; bias: tf.Tensor }[];
  } | null = null;

  constructor(options: DecoderOptions) {
    super();
    const c = options.inChannels;
    const [c1, c2, c3] = options.channels ?? [64, 128, 256];
    const nClasses = options.nClasses ?? 2;
    const nHdmap = options.nHdmap ?? 2;
    for (const [key, v] of [
      ['inChannels', c],
      ['MODEL.DECODER.CHANNELS', c1],
      ['MODEL.DECODER.CHANNELS', c2],
      ['MODEL.DECODER.CHANNELS', c3],
      ['TIME_RECEPTIVE_FIELD', options.nPresent],
      ['nClasses', nClasses],
      ['nHdmap', nHdmap],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new SpikedriveError(`decoder option ${key} must be a positive integer, got ${v}`, {
          subject: key,
          fix: 'Check the config (SAD: 70 BEV channels, decoder [64, 128, 256], 3 present frames).',
        });
      }
    }
    const gates = { ...options.heads };
    if (gates.predictFutureFlow && !gates.predictInstance) {
      throw new SpikedriveError('the flow head needs the instance heads (the reference raises too)', {
        subject: 'INSTANCE_FLOW.ENABLED',
        fix: 'Enable INSTANCE_SEG or disable INSTANCE_FLOW.',
      });
    }
    this.inChannels = c;
    this.nPresent = options.nPresent;
    this.gates = gates;
    const rng = layerRng(options.rng, 'decoder');
    const m = options.bnMomentum;
    // Registration follows the reference's attribute order so names (and state-dict order) line up.
    const firstConv = this.register(
      'first_conv.0',
      new Conv2d({
        inChannels: c,
        outChannels: c1,
        kernelSize: 7,
        stride: 2,
        padding: 3,
        bias: false,
        rng: rng.fork('first_conv'),
      }),
    );
    const bn1 = this.register('bn1.0', new BatchNorm2d({ numFeatures: c1, momentum: m }));
    this.first = new ConvBn(firstConv, bn1);
    const layer = (key: string, inC: number, outC: number, stride: number) => {
      const l = this.register(
        key,
        msResNetLayer({ inChannels: inC, outChannels: outC, blocks: 2, stride, bnMomentum: m }),
      );
      const init = rng.fork(`${key}.init`);
      for (const mod of l.modules()) if (mod instanceof Conv2d) kaimingNormalFanOut(mod, init.fork(mod.name));
      return l;
    };
    this.layer1 = layer('layer1', c1, c1, 1);
    this.layer2 = layer('layer2', c1, c2, 2);
    this.layer3 = layer('layer3', c2, c3, 2);
    const up = (key: string, inC: number, outC: number) =>
      this.register(
        key,
        new SpikingUpsamplingAddMs({ inChannels: inC, outChannels: outC, bnMomentum: m, rng: rng.fork(key) }),
      );
    this.up3 = up('up3_skip', c3, c2);
    this.up2 = up('up2_skip', c2, c1);
    this.up1 = up('up1_skip', c1, c);
    this.up1Lif = this.register('up1_lif', new LifNode(SAD_NEURONS.head));
    const head = (key: string, spec: HeadSpec) =>
      this.register(key, new DecoderHead(c, spec, rng.fork(key), m));
    const plain = (outChannels: number): HeadSpec => ({ outChannels, bn: true, relu: false, sigmoid: false });
    const heads: Partial<Record<HeadName, DecoderHead>> = {};
    heads.segmentation = head('segmentation_head', plain(nClasses));
    if (gates.predictPedestrian) heads.pedestrian = head('pedestrian_head', plain(nClasses));
    this.hdmapHead = gates.perceiveHdmap
      ? head('hdmap_head', { outChannels: 2 * nHdmap, bn: false, relu: false, sigmoid: false })
      : null;
    if (gates.predictInstance) {
      heads.instanceOffset = head('instance_offset_head', {
        outChannels: 2,
        bn: true,
        relu: true,
        sigmoid: false,
      });
      heads.instanceCenter = head('instance_center_head', {
        outChannels: 1,
        bn: true,
        relu: true,
        sigmoid: true,
      });
    }
    if (gates.predictFutureFlow) {
      heads.instanceFlow = head('instance_future_head', {
        outChannels: 2,
        bn: true,
        relu: true,
        sigmoid: false,
      });
    }
    if (gates.planning) heads.costvolume = head('costvolume_head', plain(1));
    this.heads = heads;
    this.setPath('decoder');
    this.setPipelineModule('decoder');
  }

  /** The chunk sizes the next forward runs in, for S′ frames of [B, X, Y, C′]. */
  chunks(frames: number, batch: number, x: number, y: number): number[] {
    // The widest per-frame activation is the heads' fused first conv (C′ per head) at full resolution.
    const width = this.inChannels * Math.max(1, Object.keys(this.heads).length);
    const training = this.training || isRecordingGradients();
    return frameChunks(frames, batch * x * y * width * 4, this.schedule, training, this.chunkBytes);
  }

  /**
   * states [B, S′, X, Y, C′] (X, Y multiples of 8) → the heads (see `DecoderOutput`). Does not reset membranes:
   * call `reset()` after each sample (the reference's `reset_net`).
   */
  forward(states: tf.Tensor, ctx: ForwardContext = {}): DecoderOutput {
    checkBevSequence(states, this.inChannels, 'decoder');
    const [batch, frames, x, y] = states.shape as number[];
    if (x % 8 !== 0 || y % 8 !== 0) {
      throw new SpikedriveError(`decoder: the BEV grid ${x}×${y} must be a multiple of 8 on both sides`, {
        subject: 'LIFT.X_BOUND / LIFT.Y_BOUND',
        fix: 'The decoder halves the grid three times and adds skips back; use bounds giving e.g. 200×200 or 32×32 cells.',
      });
    }
    if (this.hdmapHead !== null && frames < this.nPresent) {
      throw new SpikedriveError(
        `decoder: the HD-map head reads present frame ${this.nPresent - 1} but only ${frames} frames came in`,
        { subject: 'TIME_RECEPTIVE_FIELD', fix: 'Pass all past/present frames (and any future ones).' },
      );
    }
    const xs = framesFirst(states);
    const perFrame: Partial<Record<HeadName, tf.Tensor[]>> = {};
    let hdmap: tf.Tensor | undefined;
    const collect = (out: Partial<Record<HeadName, tf.Tensor>>) => {
      for (const [k, v] of Object.entries(out) as [HeadName, tf.Tensor][]) {
        const list = perFrame[k] ?? [];
        list.push(v);
        perFrame[k] = list;
      }
    };
    const chunks = this.chunks(frames, batch, x, y);
    // First call of up1_lif over every frame (chunk by chunk: the membrane carries over); its membrane after the last
    // frame then seeds the second call, which runs chunk by chunk with the rest of the decoder in `trunk`.
    const inputs: tf.Tensor[] = [];
    const firstSpikes: tf.Tensor[] = [];
    let t0 = 0;
    for (const k of chunks) {
      const input = chunks.length === 1 ? xs : frameSlice(xs, t0, k);
      inputs.push(input);
      firstSpikes.push(this.up1Lif.forward(input, ctx));
      t0 += k;
    }
    t0 = 0;
    chunks.forEach((k, c) => {
      const spikes = this.trunk(firstSpikes[c], inputs[c], ctx);
      firstSpikes[c].dispose();
      if (inputs[c] !== xs) inputs[c].dispose();
      const flat = tf.reshape(spikes, [k * batch, x, y, this.inChannels]);
      collect(this.runHeads(flat, ctx));
      flat.dispose();
      const present = this.nPresent - 1 - t0;
      if (this.hdmapHead !== null && present >= 0 && present < k) {
        const frame = frameSlice(spikes, present);
        const presentFlat = tf.reshape(frame, [batch, x, y, this.inChannels]);
        hdmap = this.hdmapHead.forward(presentFlat, ctx);
        tf.dispose([frame, presentFlat]);
      }
      spikes.dispose();
      t0 += k;
    });
    if (xs !== states) xs.dispose();
    const out: Partial<Record<HeadName, tf.Tensor>> = {};
    for (const [k, list] of Object.entries(perFrame) as [HeadName, tf.Tensor[]][]) {
      // Chunks of frame-major [k·B, X, Y, c] → [S′, B, X, Y, c] → [B, S′, X, Y, c].
      const all = list.length === 1 ? list[0] : tf.concat(list, 0);
      const seq = tf.reshape(all, [frames, batch, x, y, all.shape[3] as number]);
      out[k] = batchFirst(seq);
      tf.dispose([seq, all]);
      tf.dispose(list);
    }
    const result: DecoderOutput = { segmentation: out.segmentation as tf.Tensor };
    if (out.pedestrian) result.pedestrian = out.pedestrian;
    if (hdmap) result.hdmap = hdmap;
    if (out.instanceCenter) result.instanceCenter = out.instanceCenter;
    if (out.instanceOffset) result.instanceOffset = out.instanceOffset;
    if (out.instanceFlow) result.instanceFlow = out.instanceFlow;
    if (out.costvolume) result.costvolume = out.costvolume;
    return result;
  }

  /** up1_lif spikes [T, B, X, Y, C′] and the skip (the decoder input) → the second up1_lif's spikes. */
  private trunk(spikesIn: tf.Tensor, skip: tf.Tensor, ctx: ForwardContext): tf.Tensor {
    const a = this.first.forward(spikesIn, ctx);
    const l1 = this.layer1.forward(a, ctx);
    a.dispose();
    const l2 = this.layer2.forward(l1, ctx);
    const l3 = this.layer3.forward(l2, ctx);
    const u3 = this.up3.forward(l3, l2, ctx);
    tf.dispose([l3, l2]);
    const u2 = this.up2.forward(u3, l1, ctx);
    tf.dispose([u3, l1]);
    const u1 = this.up1.forward(u2, skip, ctx);
    u2.dispose();
    // Second call of the same neuron: the membrane continues from the first call (reference quirk, kept).
    const out = this.up1Lif.forward(u1, ctx);
    u1.dispose();
    return out;
  }

  /** The per-frame heads on spikes [N, X, Y, C′]. */
  private runHeads(x: tf.Tensor, ctx: ForwardContext): Partial<Record<HeadName, tf.Tensor>> {
    const entries = Object.entries(this.heads) as [HeadName, DecoderHead][];
    const canFuse =
      this.fuseHeads &&
      entries.length > 1 &&
      !ctx.instrument &&
      !isRecordingGradients() &&
      entries.every(([, h]) => h.foldable());
    const out: Partial<Record<HeadName, tf.Tensor>> = {};
    if (!canFuse) {
      for (const [name, h] of entries) out[name] = h.forward(x, ctx);
      return out;
    }
    const fused = this.fusedHeads(entries);
    const wide = entries[0][1].conv.forwardWith(x, {}, fused.weight, fused.bias);
    const rectified = entries.some(([, h]) => h.spec.relu) ? tf.relu(wide) : null;
    // Each head's 1×1 reads its own block of the wide map through a zero-padded weight: no split of the wide map
    // (on wasm a split copies its whole input once per piece), for ~2 % more multiply-adds than the 3×3.
    entries.forEach(([name, h], i) => {
      const input = h.spec.relu ? (rectified as tf.Tensor) : wide;
      const tail = fused.tails[i];
      const z = tf.tidy(() => tf.add(tf.conv2d(input as tf.Tensor4D, tail.weight, 1, 0), tail.bias));
      if (h.spec.sigmoid) {
        out[name] = tf.sigmoid(z);
        z.dispose();
      } else {
        out[name] = z;
      }
    });
    tf.dispose([wide, rectified].filter((t) => t !== null) as tf.Tensor[]);
    return out;
  }

  /**
   * The heads as one wide conv: their first convs (BN folded) side by side, and per head a 1×1 weight over the wide
   * map that is zero outside its block. Cached until any of them changes.
   */
  private fusedHeads(entries: [HeadName, DecoderHead][]): {
    weight: tf.Tensor4D;
    bias: tf.Tensor1D;
    tails: { weight: tf.Tensor4D; bias: tf.Tensor }[];
  } {
    const key = entries
      .map(([, h]) => `${h.conv.version}:${h.bn?.version ?? 0}:${h.outConv.version}`)
      .join('|');
    if (this.fused === null || this.fused.key !== key) {
      this.disposeCaches();
      const c = this.inChannels;
      const k = entries.length;
      const folded = entries.map(([, h]) => h.foldedFirst());
      const weight = tf.keep(
        tf.concat(
          folded.map((f) => f.weight),
          3,
        ),
      ) as tf.Tensor4D;
      const bias = tf.keep(
        tf.concat(
          folded.map((f) => f.bias),
          0,
        ),
      ) as tf.Tensor1D;
      for (const f of folded) tf.dispose([f.weight, f.bias]);
      const tails = entries.map(([, h], i) =>
        tf.tidy(() => {
          const w = h.outConv.effectiveWeight(); // [1, 1, C, out]
          const padded = tf.pad(w, [
            [0, 0],
            [0, 0],
            [i * c, (k - 1 - i) * c],
            [0, 0],
          ]) as tf.Tensor4D;
          const b = h.outConv.bias ?? tf.zeros([h.outConv.outChannels]);
          return { weight: tf.keep(padded), bias: tf.keep(tf.clone(b)) };
        }),
      );
      this.fused = { key, weight, bias, tails };
    }
    return this.fused;
  }

  protected override disposeCaches(): void {
    this.first.dispose();
    if (this.fused !== null) {
      tf.dispose([this.fused.weight, this.fused.bias]);
      for (const t of this.fused.tails) tf.dispose([t.weight, t.bias]);
      this.fused = null;
    }
  }
}
