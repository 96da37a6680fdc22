import * as tf from '@tensorflow/tfjs';
import {
  BatchNorm2d,
  Conv2d,
  ConvBn,
  type ForwardContext,
  LifNode,
  layerRng,
  SAD_NEURONS,
  SnnModule,
} from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import { frameAt } from './frames.ts';

/**
 * Softmax over the H axis of a [B, H, W, C] map: the reference's `torch.softmax(state, dim=2)` on a (B, C, H, W)
 * tensor (`temporal_snn.py:106-107`), i.e. over BEV rows (forward), separately for every column and channel.
 * tfjs's softmax only runs over the last axis, hence the explicit max-shifted form.
 */
export function softmaxOverRows(x: tf.Tensor): tf.Tensor {
  if (x.rank !== 4) {
    throw new SpikedriveError(`softmaxOverRows expects [B, H, W, C], got [${x.shape.join(', ')}]`, {
      subject: 'softmaxOverRows',
      fix: 'Pass one BEV frame, channels last.',
    });
  }
  return tf.tidy(() => {
    const shifted = tf.sub(x, tf.max(x, 1, true));
    const e = tf.exp(shifted);
    return tf.div(e, tf.sum(e, 1, true));
  });
}

/**
 * The dual pathway's fusion x̂ = r₂ ⊙ r₁ (`temporal_snn.py:117`): on spikes, an AND. Paper Eq. 4 writes ⊕; the
 * code multiplies, and we follow the code.
 */
export function fuseSpikes(uncertainty: tf.Tensor, past: tf.Tensor): tf.Tensor {
  return tf.mul(past, uncertainty);
}

export interface DualLifOptions {
  /** Channels of the latent sample fed to pathway a (`MODEL.DISTRIBUTION.LATENT_DIM`, 32). */
  inputChannels: number;
  /** BEV channels C′ (70): the hidden state of both pathways and the output. */
  hiddenChannels: number;
  /** F, the number of future frames to predict. */
  nFuture: number;
  /** `MODEL.FUTURE_PRED.MIXTURE`: feed the fused spikes back into both pathways (default true). */
  mixture?: boolean;
  bnMomentum?: number;
  rng?: Rng;
}

/**
 * `Dual_LIF_temporal_mixer` (`layers/temporal_snn.py:62-141`), the dual-pathway predictor (sad.md §3):
 *
 *   warm-up   h = state₀; for t = 0 … S−2: h = LIF₂(BN(conv3×3([state_t, h])))
 *   init      r₁ = r₂ = state_{S−1}; LIF₁.v = LIF₂.v = softmax over H of state_{S−1}
 *   each of F steps:
 *     pathway a (uncertainty)  r₁ = LIF₁(BN(conv3×3([sample, r₁])))
 *     pathway b (past)         h = LIF₂(BN(conv3×3([r₂, h]))),  r₂ = LIF_d(BN(conv3×3(h)))
 *     fusion                   x̂ = r₂ ⊙ r₁ (spike AND);  with mixture r₁ = r₂ = x̂
 *
 * All three neurons are single-step SpikingJelly `LIFNode(surrogate_function=ATan())` (no detach); LIF₂ carries
 * its warm-up membrane only until the softmax initialisation overwrites it, LIF_d starts at rest. Names `lif1`,
 * `lif2`, `conv_update_1.{0,1}`, `conv_update_2.{0,1}`, `conv_decoder_lif.{0,1,2}`.
 */
export class DualLifTemporalMixer extends SnnModule {
  readonly kind = 'dual_lif_temporal_mixer';
  readonly inputChannels: number;
  readonly hiddenChannels: number;
  readonly nFuture: number;
  mixture: boolean;
  readonly lif1: LifNode;
  readonly lif2: LifNode;
  readonly decoderLif: LifNode;
  private readonly update1: ConvBn;
  private readonly update2: ConvBn;
  private readonly decoder: ConvBn;

  constructor(options: DualLifOptions) {
    super();
    const { inputChannels, hiddenChannels, nFuture } = options;
    if (!Number.isInteger(nFuture) || nFuture < 1) {
      throw new SpikedriveError(`The dual pathway needs N_FUTURE_FRAMES ≥ 1, got ${nFuture}`, {
        subject: 'N_FUTURE_FRAMES',
        fix: 'With no future frames the reference builds no predictor; use 4 (prediction) or 6 (planning).',
      });
    }
    this.inputChannels = inputChannels;
    this.hiddenChannels = hiddenChannels;
    this.nFuture = nFuture;
    this.mixture = options.mixture ?? true;
    const rng = layerRng(options.rng, 'dual_lif');
    const m = options.bnMomentum;
    this.lif1 = this.register('lif1', new LifNode(SAD_NEURONS.dualPathway));
    this.lif2 = this.register('lif2', new LifNode(SAD_NEURONS.dualPathway));
    const convBn = (key: string, inC: number): ConvBn =>
      new ConvBn(
        this.register(
          `${key}.0`,
          new Conv2d({
            inChannels: inC,
            outChannels: hiddenChannels,
            kernelSize: 3,
            padding: 1,
            rng: rng.fork(key),
          }),
        ),
        this.register(`${key}.1`, new BatchNorm2d({ numFeatures: hiddenChannels, momentum: m })),
      );
    this.update1 = convBn('conv_update_1', inputChannels + hiddenChannels);
    this.update2 = convBn('conv_update_2', 2 * hiddenChannels);
    this.decoder = convBn('conv_decoder_lif', hiddenChannels);
    this.decoderLif = this.register('conv_decoder_lif.2', new LifNode(SAD_NEURONS.dualPathway));
  }

  /**
   * sample [B, X, Y, L] (the latent broadcast over the grid), states frame-major [S, B, X, Y, C′] → the F fused
   * spike maps, frame-major [F, B, X, Y, C′]. Leaves the neurons' membranes set (the caller resets the model).
   */
  forward(sample: tf.Tensor, states: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const frames = this.forwardFrames(sample, states, ctx);
    const out = tf.stack(frames, 0);
    tf.dispose(frames);
    return out;
  }

  /** As `forward`, but the F spike maps [B, X, Y, C′] one by one (the caller owns them). */
  forwardFrames(sample: tf.Tensor, states: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor[] {
    const s = states.shape[0];
    const c = states.shape[4];
    if (states.rank !== 5 || c !== this.hiddenChannels) {
      throw new SpikedriveError(
        `dual pathway: states must be [S, B, X, Y, ${this.hiddenChannels}], got [${states.shape.join(', ')}]`,
        { subject: this.name || 'dual_lif', fix: 'Pass the frame-major BEV states of the past and present.' },
      );
    }
    if (sample.rank !== 4 || sample.shape[3] !== this.inputChannels) {
      throw new SpikedriveError(
        `dual pathway: the sample must be [B, X, Y, ${this.inputChannels}], got [${sample.shape.join(', ')}]`,
        { subject: this.name || 'dual_lif', fix: 'Broadcast the latent sample over the BEV grid.' },
      );
    }
    // Warm-up of pathway b over the past frames.
    let h = frameAt(states, 0);
    for (let t = 0; t < s - 1; t++) {
      const next = tf.tidy(() => {
        const cur = frameAt(states, t);
        return this.lif2.step(this.update2.forward(tf.concat([cur, h], 3), ctx), ctx);
      });
      h.dispose();
      h = next;
    }
    const present = frameAt(states, s - 1);
    const membrane = softmaxOverRows(present);
    this.lif1.setMembrane(membrane);
    this.lif2.setMembrane(membrane);
    membrane.dispose();
    let r1 = present;
    let r2 = present;
    const predicted: tf.Tensor[] = [];
    for (let t = 0; t < this.nFuture; t++) {
      const a = tf.tidy(() => this.lif1.step(this.update1.forward(tf.concat([sample, r1], 3), ctx), ctx));
      const hNext = tf.tidy(() => this.lif2.step(this.update2.forward(tf.concat([r2, h], 3), ctx), ctx));
      const b = tf.tidy(() => this.decoderLif.step(this.decoder.forward(hNext, ctx), ctx));
      const fused = fuseSpikes(a, b);
      predicted.push(fused);
      h.dispose();
      h = hNext;
      // r₁ and r₂ may be the same tensor (the present state, or the fused spikes under mixture).
      const old = new Set([r1, r2]);
      if (this.mixture) {
        r1 = fused;
        r2 = fused;
        a.dispose();
        b.dispose();
      } else {
        r1 = a;
        r2 = b;
      }
      for (const o of old) if (!predicted.includes(o)) o.dispose();
    }
    for (const o of new Set([r1, r2, h])) if (!predicted.includes(o)) o.dispose();
    return predicted;
  }

  protected override disposeCaches(): void {
    this.update1.dispose();
    this.update2.dispose();
    this.decoder.dispose();
  }
}
