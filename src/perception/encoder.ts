import * as tf from '@tensorflow/tfjs';
import {
  Conv2d,
  type ForwardContext,
  LifNode,
  MergeUpsamplingConcat,
  MsConvBlock,
  MsDownSampling,
  SAD_NEURONS,
  SnnModule,
  SpikingDeepLabHead,
} from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { createRng, type Rng } from '../util/rng.ts';

export interface SadEncoderOptions {
  /** Width d (`embed_dims`): stem d/8, stages d/4, d/2, d (48, 96, 192, 384 at the paper size). */
  embedDims: number;
  /** SNN time steps T of the sequence repetition (4). */
  timeSteps: number;
  /** Feature channels C (64). */
  outChannels: number;
  /** Depth bins D (48). */
  depthBins: number;
  /** Hidden channels of the spiking DeepLab heads (64). */
  headHiddenChannels: number;
  bnMomentum?: number;
  /**
   * Images per encoder pass in eval mode (exact; bounds memory). Default: as many as keep the largest activation
   * (ConvBlock1_1's hidden layer) within {@link ENCODER_CHUNK_BYTES}.
   */
  imagesPerChunk?: number;
  /**
   * Re-initialise every conv as the reference (`trunc_normal_(std 0.02)`, zero bias; default true). false keeps
   * the layers' PyTorch-default init, which is cheaper when a checkpoint is loaded right after.
   */
  referenceInit?: boolean;
  rng?: Rng;
}

/**
 * mean_T [T, B, …] → [B, …] as (x_0 + x_1 + … + x_{T−1}) / T by slices: the order `torch.mean(dim=0)` sums in
 * (for spikes any order is exact), without the transpose tf.mean does over a leading axis on cpu (~10× slower).
 */
function meanOverSteps(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.addN(tf.unstack(x, 0)), x.shape[0]));
}

/**
 * Memory budget of the largest encoder activation in one eval pass. At the paper size one image's ConvBlock1_1
 * hidden layer is T·112·240·192 floats = 83 MB, so the default runs one image at a time. Measured on wasm (18
 * images): 1 per pass peaked at 0.87 GB RSS and 80 s CPU, 3 at 2.1 GB and 98 s, 6 at 4.05 GB and 101 s; 18 at once
 * overflow the 4 GB wasm heap.
 */
export const ENCODER_CHUNK_BYTES = 128 * 2 ** 20;

export interface EncoderOutput {
  /** Real-valued image features [M, h, w, C] (h, w = H/8, W/8). */
  feature: tf.Tensor;
  /** Real-valued depth logits [M, h, w, D]. */
  depth: tf.Tensor;
}

/**
 * The spiking "STM" image encoder of SAD (`encoder_snn_merge.py` CoinMLP, registered as timm `sdt`, with
 * `module/downsample.py` Sps_downsampling as `patch_embed`), over sequence repetition: each image is the same
 * input at all T steps, spikes are averaged over T before the heads' merge.
 *
 *   downsample1_1 (conv7×7 s2, 3 → d/8, no LIF) → ConvBlock1_1 → downsample1_2 (→ d/4) → ConvBlock1_2
 *   → downsample2 (→ d/2, stride 8) → ConvBlock2_1 → ConvBlock2_2 = out1
 *   out2 = downsample3 (→ d, stride 16) applied to the **ConvBlock2_1 output**, not out1 (reference quirk,
 *   downsample.py:160-163: ConvBlock2_2 feeds only the stride-8 branch).
 *   rate1 = mean_T(head_lif(out1)); s2 = head_lif_2(out2)
 *   feature = feature_layer_2(mean_T(feature_layer_1(s2)), rate1); depth likewise with depth_layer_1/2.
 *
 * The first conv sees the same image at every step, so it runs once and its output is repeated (exact).
 * Parameter names are the reference's `encoder.*` state_dict names.
 */
export class SadEncoder extends SnnModule {
  readonly kind = 'sad_encoder';
  readonly timeSteps: number;
  readonly depthLayer1: SpikingDeepLabHead;
  readonly depthLayer2: MergeUpsamplingConcat;
  readonly featureLayer1: SpikingDeepLabHead;
  readonly featureLayer2: MergeUpsamplingConcat;
  readonly downsample11: MsDownSampling;
  readonly convBlock11: MsConvBlock;
  readonly downsample12: MsDownSampling;
  readonly convBlock12: MsConvBlock;
  readonly downsample2: MsDownSampling;
  readonly convBlock21: MsConvBlock;
  readonly convBlock22: MsConvBlock;
  readonly downsample3: MsDownSampling;
  readonly headLif: LifNode;
  readonly headLif2: LifNode;
  imagesPerChunk: number | null;
  private readonly stemChannels: number;

  constructor(options: SadEncoderOptions) {
    super();
    const d = options.embedDims;
    if (!Number.isInteger(d) || d < 8 || d % 8 !== 0) {
      throw new SpikedriveError(`SadEncoder embedDims must be a positive multiple of 8, got ${d}`, {
        subject: 'embedDims',
        fix: 'use e.g. 384 (the paper) or 64',
      });
    }
    this.timeSteps = options.timeSteps;
    this.imagesPerChunk = options.imagesPerChunk ?? null;
    this.stemChannels = d / 8;
    const rng = options.rng ?? createRng('spikedrive-perception');
    const bnMomentum = options.bnMomentum;
    const [stem, d1, d2] = [d / 8, d / 4, d / 2];
    const head = (key: string) =>
      new SpikingDeepLabHead({
        inChannels: d,
        numClasses: d,
        hiddenChannels: options.headHiddenChannels,
        bnMomentum,
        rng: rng.fork(key),
      });
    const merge = (key: string, out: number) =>
      new MergeUpsamplingConcat({ inChannels: d2 + d, outChannels: out, bnMomentum, rng: rng.fork(key) });
    // Registration order = the reference state_dict order (heads first, then patch_embed).
    this.depthLayer1 = this.register('depth_layer_1', head('depth_layer_1'));
    this.depthLayer2 = this.register('depth_layer_2', merge('depth_layer_2', options.depthBins));
    this.featureLayer1 = this.register('feature_layer_1', head('feature_layer_1'));
    this.featureLayer2 = this.register('feature_layer_2', merge('feature_layer_2', options.outChannels));
    const down = (key: string, inChannels: number, embedDims: number, first: boolean) =>
      this.register(
        `patch_embed.${key}`,
        new MsDownSampling({
          inChannels,
          embedDims,
          kernelSize: first ? 7 : 3,
          stride: 2,
          padding: first ? 3 : 1,
          firstLayer: first,
          bnMomentum,
          rng: rng.fork(key),
        }),
      );
    const block = (key: string, dim: number) =>
      this.register(
        `patch_embed.${key}.0`,
        new MsConvBlock({ dim, mlpRatio: 4, bnMomentum, rng: rng.fork(key) }),
      );
    this.downsample11 = down('downsample1_1', 3, stem, true);
    this.convBlock11 = block('ConvBlock1_1', stem);
    this.downsample12 = down('downsample1_2', stem, d1, false);
    this.convBlock12 = block('ConvBlock1_2', d1);
    this.downsample2 = down('downsample2', d1, d2, false);
    this.convBlock21 = block('ConvBlock2_1', d2);
    this.convBlock22 = block('ConvBlock2_2', d2);
    this.downsample3 = down('downsample3', d2, d, false);
    this.headLif = this.register('head_lif', new LifNode(SAD_NEURONS.encoder));
    this.headLif2 = this.register('head_lif_2', new LifNode(SAD_NEURONS.encoder));
    // CoinMLP._init_weights: trunc_normal_(std 0.02) on every conv weight, zero conv bias (BN is already 1/0).
    const initRng = rng.fork('init');
    for (const m of this.modules())
      if (m instanceof Conv2d) m.initTruncatedNormal(0.02, initRng.fork(m.name));
  }

  /**
   * images [M, H, W, 3] (normalised) → feature [M, H/8, W/8, C], depth logits [M, H/8, W/8, D]. Every membrane
   * starts at rest and is cleared again afterwards (each call is one reference forward followed by `reset_net`;
   * nothing reads the encoder's membranes after its forward, and they are large). In eval mode the images run in
   * chunks of `imagesPerChunk`, which is exact because images do not interact there.
   */
  forward(images: tf.Tensor, ctx: ForwardContext = {}): EncoderOutput {
    if (images.rank !== 4 || images.shape[3] !== 3) {
      throw new SpikedriveError(`SadEncoder takes images [M, H, W, 3], got [${images.shape.join(', ')}]`, {
        subject: 'images',
        fix: 'Pass normalised RGB images channels-last, cameras and frames folded into the batch.',
      });
    }
    const [m, h, w] = images.shape as number[];
    if (h % 16 !== 0 || w % 16 !== 0) {
      throw new SpikedriveError(`SadEncoder image size ${h}×${w} is not a multiple of 16`, {
        subject: 'images',
        fix: 'Resize/crop to IMAGE.FINAL_DIM, e.g. 224×480.',
      });
    }
    const perImage = this.timeSteps * (h / 2) * (w / 2) * (this.stemChannels * 4) * 4;
    const auto = Math.max(1, Math.floor(ENCODER_CHUNK_BYTES / perImage));
    const chunk = this.training ? m : Math.min(m, this.imagesPerChunk ?? auto);
    if (chunk >= m) {
      this.reset();
      const out = this.forwardImages(images, ctx);
      this.reset();
      return out;
    }
    const features: tf.Tensor[] = [];
    const depths: tf.Tensor[] = [];
    for (let start = 0; start < m; start += chunk) {
      const size = Math.min(chunk, m - start);
      const part = tf.slice(images, [start, 0, 0, 0], [size, h, w, 3]);
      this.reset();
      const out = this.forwardImages(part, ctx);
      part.dispose();
      features.push(out.feature);
      depths.push(out.depth);
    }
    this.reset();
    const feature = tf.concat(features, 0);
    const depth = tf.concat(depths, 0);
    tf.dispose([...features, ...depths]);
    return { feature, depth };
  }

  private forwardImages(images: tf.Tensor, ctx: ForwardContext): EncoderOutput {
    const step = (x: tf.Tensor, f: (x: tf.Tensor) => tf.Tensor): tf.Tensor => {
      const y = f(x);
      x.dispose();
      return y;
    };
    let x = this.downsample11.forwardRepeated(images, this.timeSteps, ctx);
    x = step(x, (v) => this.convBlock11.forward(v, ctx));
    x = step(x, (v) => this.downsample12.forward(v, ctx));
    x = step(x, (v) => this.convBlock12.forward(v, ctx));
    x = step(x, (v) => this.downsample2.forward(v, ctx));
    const block21 = step(x, (v) => this.convBlock21.forward(v, ctx));
    const out1 = this.convBlock22.forward(block21, ctx);
    const out2 = step(block21, (v) => this.downsample3.forward(v, ctx));

    const rate1 = step(
      step(out1, (v) => this.headLif.forward(v, ctx)),
      meanOverSteps,
    );
    const spikes2 = step(out2, (v) => this.headLif2.forward(v, ctx));
    const branch = (layer1: SpikingDeepLabHead, layer2: MergeUpsamplingConcat) => {
      const coarse = step(layer1.forward(spikes2, ctx), meanOverSteps);
      return step(coarse, (v) => layer2.forward(v, rate1, ctx));
    };
    const feature = branch(this.featureLayer1, this.featureLayer2);
    const depth = branch(this.depthLayer1, this.depthLayer2);
    tf.dispose([rate1, spikes2]);
    return { feature, depth };
  }
}
