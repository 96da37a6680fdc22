import * as tf from '@tensorflow/tfjs';
import {
  type BlockSequence,
  type ForwardContext,
  isRecordingGradients,
  layerRng,
  type SewBasicBlock,
  SnnModule,
  sewResNetLayer,
} from '../snn/index.ts';
import type { Rng } from '../util/rng.ts';
import { DualLifTemporalMixer } from './dual-lif.ts';
import { frameSlice } from './frames.ts';

export interface FuturePredictionOptions {
  /** BEV channels C′ (70). */
  inChannels: number;
  /** Latent channels L of the sample (32). */
  latentDim: number;
  nFuture: number;
  mixture?: boolean;
  /** Wide channels of temporal-mixing stages 2–3 (`MODEL.FUTURE_PRED.HIDDEN_CHANNELS`, 384). */
  hiddenChannels?: number;
  bnMomentum?: number;
  rng?: Rng;
}

/**
 * How the temporal-mixing stages walk the frames. `layers`: each stage over all S + F frames at once (conv over the
 * folded [T·B] batch, then the multi-step LIF), as the reference. `frames`: every frame through all six blocks before
 * the next (the LIF membranes carry over), which holds one frame of 384-channel activations instead of all of them
 * (≈ 0.5 GB at 200² × 9 frames); identical results in eval, since convs and eval-mode BN are per frame and the LIF is
 * causal. Training (batch statistics over all frames) always runs `layers`. `auto` streams in eval without a tape.
 */
export type FrameSchedule = 'auto' | 'layers' | 'frames';

/**
 * `FuturePrediction` (`future_prediction_snn.py`): the dual pathway predicts F spike maps, which are appended to the
 * S past/present states; three stages of two SEW-ResNet blocks (stage 1 C′→C′→C′, stages 2–3 C′→384→C′, cnf ADD)
 * then mix the S + F frames as SNN time (real-valued output). Names `layer1..3.{0,1}.*`, `dual_lif.*`.
 */
export class FuturePrediction extends SnnModule {
  readonly kind = 'future_prediction';
  readonly inChannels: number;
  readonly nFuture: number;
  readonly layer1: BlockSequence<SewBasicBlock>;
  readonly layer2: BlockSequence<SewBasicBlock>;
  readonly layer3: BlockSequence<SewBasicBlock>;
  readonly dualLif: DualLifTemporalMixer;
  schedule: FrameSchedule = 'auto';

  constructor(options: FuturePredictionOptions) {
    super();
    const c = options.inChannels;
    const hidden = options.hiddenChannels ?? 384;
    const rng = layerRng(options.rng, 'future_prediction');
    const m = options.bnMomentum;
    this.inChannels = c;
    this.nFuture = options.nFuture;
    this.layer1 = this.register(
      'layer1',
      sewResNetLayer({ channels: c, midChannels: c, blocks: 2, bnMomentum: m, rng: rng.fork('layer1') }),
    );
    this.layer2 = this.register(
      'layer2',
      sewResNetLayer({ channels: c, midChannels: hidden, blocks: 2, bnMomentum: m, rng: rng.fork('layer2') }),
    );
    this.layer3 = this.register(
      'layer3',
      sewResNetLayer({ channels: c, midChannels: hidden, blocks: 2, bnMomentum: m, rng: rng.fork('layer3') }),
    );
    // Reference quirk: `self.layer3 = copy.deepcopy(self.layer2)` (future_prediction_snn.py:55), so stage 3 starts
    // from stage 2's initial weights. Only matters when training from scratch.
    const prefix = `${this.layer2.name}.`;
    const copied = new Map(
      [...this.layer2.stateDict()].map(([k, v]) => [`${this.layer3.name}.${k.slice(prefix.length)}`, v]),
    );
    this.layer3.loadStateDict(copied, { source: 'the layer2 initial weights' });
    this.dualLif = this.register(
      'dual_lif',
      new DualLifTemporalMixer({
        inputChannels: options.latentDim,
        hiddenChannels: c,
        nFuture: options.nFuture,
        mixture: options.mixture,
        bnMomentum: m,
        rng: rng.fork('dual_lif'),
      }),
    );
  }

  /** Whether the next forward streams frame by frame (see `FrameSchedule`). */
  streams(): boolean {
    if (this.schedule === 'layers') return false;
    if (this.schedule === 'frames') return true;
    return !this.training && !isRecordingGradients();
  }

  /**
   * sample [B, X, Y, L], states frame-major [S, B, X, Y, C′] → frame-major [S + F, B, X, Y, C′] (real-valued).
   * `futureSpikes` receives the dual pathway's F fused spike maps when given (the caller then owns them).
   */
  forward(
    sample: tf.Tensor,
    states: tf.Tensor,
    ctx: ForwardContext = {},
    futureSpikes?: (spikes: tf.Tensor) => void,
  ): tf.Tensor {
    const s = states.shape[0];
    let out: tf.Tensor;
    let future: tf.Tensor | null = null;
    if (this.streams()) {
      const predicted = this.dualLif.forwardFrames(sample, states, ctx);
      const outs: tf.Tensor[] = [];
      for (let t = 0; t < s + this.nFuture; t++) {
        const x = t < s ? frameSlice(states, t) : tf.expandDims(predicted[t - s], 0);
        const y1 = this.layer1.forward(x, ctx);
        x.dispose();
        const y2 = this.layer2.forward(y1, ctx);
        y1.dispose();
        outs.push(this.layer3.forward(y2, ctx));
        y2.dispose();
      }
      out = tf.concat(outs, 0);
      tf.dispose(outs);
      if (futureSpikes) future = tf.stack(predicted, 0);
      tf.dispose(predicted);
    } else {
      future = this.dualLif.forward(sample, states, ctx);
      const x = tf.concat([states, future], 0);
      const y1 = this.layer1.forward(x, ctx);
      x.dispose();
      const y2 = this.layer2.forward(y1, ctx);
      y1.dispose();
      out = this.layer3.forward(y2, ctx);
      y2.dispose();
    }
    if (future !== null) {
      if (futureSpikes) futureSpikes(future);
      else future.dispose();
    }
    return out;
  }
}
