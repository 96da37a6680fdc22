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
import { DEFAULT_CHUNK_BYTES, type FrameSchedule, frameChunks, frameSlice } from './frames.ts';

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
  /** How temporal mixing walks the frames (see `FrameSchedule`). */
  schedule: FrameSchedule = 'auto';
  /** `auto`'s budget for one chunk's widest activation (the 384-channel maps). */
  chunkBytes = DEFAULT_CHUNK_BYTES;
  private readonly hiddenChannels: number;

  constructor(options: FuturePredictionOptions) {
    super();
    const c = options.inChannels;
    const hidden = options.hiddenChannels ?? 384;
    const rng = layerRng(options.rng, 'future_prediction');
    const m = options.bnMomentum;
    this.inChannels = c;
    this.hiddenChannels = hidden;
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

  /** The chunk sizes the next forward runs temporal mixing in, for S + F frames of [B, X, Y, ·]. */
  chunks(frames: number, batch: number, x: number, y: number): number[] {
    const bytesPerFrame = batch * x * y * Math.max(this.hiddenChannels, this.inChannels) * 4;
    const training = this.training || isRecordingGradients();
    return frameChunks(frames, bytesPerFrame, this.schedule, training, this.chunkBytes);
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
    const [s, batch, x, y] = states.shape as number[];
    const predicted = this.dualLif.forwardFrames(sample, states, ctx);
    // Frames t0 … t0 + k − 1 of [past S, x̂ F], frame-major.
    const chunkInput = (t0: number, k: number): tf.Tensor => {
      const parts: tf.Tensor[] = [];
      if (t0 < s) parts.push(frameSlice(states, t0, Math.min(k, s - t0)));
      const future = predicted.slice(Math.max(t0, s) - s, Math.max(0, t0 + k - s));
      if (future.length > 0) parts.push(tf.stack(future, 0));
      if (parts.length === 1) return parts[0];
      const joined = tf.concat(parts, 0);
      tf.dispose(parts);
      return joined;
    };
    const outs: tf.Tensor[] = [];
    let t0 = 0;
    for (const k of this.chunks(s + this.nFuture, batch, x, y)) {
      const input = chunkInput(t0, k);
      const y1 = this.layer1.forward(input, ctx);
      input.dispose();
      const y2 = this.layer2.forward(y1, ctx);
      y1.dispose();
      outs.push(this.layer3.forward(y2, ctx));
      y2.dispose();
      t0 += k;
    }
    const out = outs.length === 1 ? outs[0] : tf.concat(outs, 0);
    if (outs.length > 1) tf.dispose(outs);
    if (futureSpikes) futureSpikes(tf.stack(predicted, 0));
    tf.dispose(predicted);
    return out;
  }
}
