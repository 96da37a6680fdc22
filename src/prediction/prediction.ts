import * as tf from '@tensorflow/tfjs';
import { broadcastTo, type ForwardContext, layerRng, SnnModule } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import { checkDistributionMethod, type DistributionMethod, DistributionModule } from './distribution.ts';
import { batchFirst, checkBevSequence, type FrameSchedule, frameAt, framesFirst } from './frames.ts';
import { FuturePrediction } from './future.ts';

/** What `SadPrediction` is built from; the pipeline fills it from `SadConfig` (keys named per field). */
export interface PredictionOptions {
  /** BEV channels C′ entering prediction: `MODEL.ENCODER.OUT_CHANNELS` + 6 with `TEMPORAL_MODEL.INPUT_EGOPOSE` (70). */
  inChannels: number;
  /** `MODEL.DISTRIBUTION.LATENT_DIM` (32). */
  latentDim: number;
  /** `N_FUTURE_FRAMES` F (0: perception only, nothing is built and the input passes through). */
  nFuture: number;
  /** `MODEL.FUTURE_PRED.MIXTURE` (true). */
  mixture?: boolean;
  /** `MODEL.FUTURE_PRED.HIDDEN_CHANNELS` (384). */
  hiddenChannels?: number;
  /** `MODEL.DISTRIBUTION.MIN_LOG_SIGMA` / `MAX_LOG_SIGMA` (−5, 5). */
  minLogSigma?: number;
  maxLogSigma?: number;
  /** `PROBABILISTIC.ENABLED` (true); off, the dual pathway gets a zero latent and no distribution is built. */
  probabilistic?: boolean;
  /** `PROBABILISTIC.METHOD` ('GAUSSIAN'). */
  method?: DistributionMethod;
  /** `MODEL.BN_MOMENTUM` (0.05 in the SAD configs). */
  bnMomentum?: number;
  /** Seeded source of the initial weights. */
  rng?: Rng;
}

export interface PredictionForwardOptions {
  /** Draw ε ~ N(0, 1) for the latent sample (training); ε = 0 otherwise (the distribution mean). Default: the module's training mode. */
  training?: boolean;
  /** Seeded source of ε; required when sampling. */
  rng?: Rng;
}

export interface PredictionOutput {
  /** [B, S + F, X, Y, C′], real-valued, after temporal mixing (the input itself, cloned, when F = 0). */
  states: tf.Tensor;
  /** [B, L] mean of the present distribution (MIXGAUSSIAN: [B, 3L], the three components); null without one. */
  mu: tf.Tensor | null;
  /** [B, L] log σ, clamped to [MIN_LOG_SIGMA, MAX_LOG_SIGMA] (MIXGAUSSIAN: [B, 3L]); null without a distribution. */
  logSigma: tf.Tensor | null;
  /** [B, L] the latent sample fed to the dual pathway (= μ in evaluation); null when F = 0. */
  sample: tf.Tensor | null;
  /** [B, F, X, Y, C′] the dual pathway's fused spikes x̂, only when `keepFutureSpikes` is set. */
  futureSpikes?: tf.Tensor;
}

/**
 * SAD prediction (sad.md §3): the present-distribution module (`present_distribution.*`) and the future predictor
 * (`future_prediction.*`: dual pathway + temporal mixing), as `SAD.distribution_forward` and `FuturePrediction` call
 * them (`sad.py:190-206`). Its own path is '' so parameter names are the reference's top-level names.
 */
export class SadPrediction extends SnnModule {
  readonly kind = 'sad_prediction';
  readonly inChannels: number;
  readonly latentDim: number;
  readonly nFuture: number;
  readonly minLogSigma: number;
  readonly maxLogSigma: number;
  readonly method: DistributionMethod;
  readonly presentDistribution: DistributionModule | null;
  readonly futurePrediction: FuturePrediction | null;
  /** Also return the dual pathway's fused spikes (`futureSpikes`). */
  keepFutureSpikes = false;

  constructor(options: PredictionOptions) {
    super();
    const { inChannels, latentDim, nFuture } = options;
    const positive = (key: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) {
        throw new SpikedriveError(`prediction option ${key} must be a positive integer, got ${v}`, {
          subject: key,
          fix: 'Check the config (SAD: 70 BEV channels, latent 32, hidden 384).',
        });
      }
    };
    positive('inChannels', inChannels);
    positive('MODEL.DISTRIBUTION.LATENT_DIM', latentDim);
    positive('MODEL.FUTURE_PRED.HIDDEN_CHANNELS', options.hiddenChannels ?? 384);
    if (!Number.isInteger(nFuture) || nFuture < 0) {
      throw new SpikedriveError(`N_FUTURE_FRAMES must be an integer ≥ 0, got ${nFuture}`, {
        subject: 'N_FUTURE_FRAMES',
        fix: 'Use 0 (perception), 4 (prediction) or 6 (planning).',
      });
    }
    this.inChannels = inChannels;
    this.latentDim = latentDim;
    this.nFuture = nFuture;
    this.minLogSigma = options.minLogSigma ?? -5;
    this.maxLogSigma = options.maxLogSigma ?? 5;
    if (!(this.minLogSigma <= this.maxLogSigma)) {
      throw new SpikedriveError(
        `MODEL.DISTRIBUTION.MIN_LOG_SIGMA (${this.minLogSigma}) exceeds MAX_LOG_SIGMA (${this.maxLogSigma})`,
        { subject: 'MODEL.DISTRIBUTION.MIN_LOG_SIGMA', fix: 'SAD uses −5 and 5.' },
      );
    }
    this.method = checkDistributionMethod(options.method ?? 'GAUSSIAN');
    const rng = layerRng(options.rng, 'prediction');
    const probabilistic = options.probabilistic ?? true;
    // As the reference: with F = 0 neither module exists (`sad.py:99`).
    this.presentDistribution =
      nFuture > 0 && probabilistic
        ? this.register(
            'present_distribution',
            new DistributionModule({
              inChannels,
              latentDim,
              method: this.method,
              bnMomentum: options.bnMomentum,
              rng: rng.fork('present_distribution'),
            }),
          )
        : null;
    this.futurePrediction =
      nFuture > 0
        ? this.register(
            'future_prediction',
            new FuturePrediction({
              inChannels,
              latentDim,
              nFuture,
              mixture: options.mixture,
              hiddenChannels: options.hiddenChannels,
              bnMomentum: options.bnMomentum,
              rng: rng.fork('future_prediction'),
            }),
          )
        : null;
    this.setPipelineModule('prediction');
  }

  /** How temporal mixing walks the frames (see `FrameSchedule`); `auto` by default. Also `chunkBytes` below. */
  set schedule(value: FrameSchedule) {
    if (this.futurePrediction) this.futurePrediction.schedule = value;
  }

  get schedule(): FrameSchedule {
    return this.futurePrediction?.schedule ?? 'auto';
  }

  /** `auto`'s budget for one chunk of temporal mixing's widest activation (see `FrameSchedule`). */
  set chunkBytes(value: number) {
    if (this.futurePrediction) this.futurePrediction.chunkBytes = value;
  }

  get chunkBytes(): number {
    return this.futurePrediction?.chunkBytes ?? 0;
  }

  /**
   * bev [B, S, X, Y, C′] → states [B, S + F, X, Y, C′] plus the distribution's μ / log σ and the latent sample.
   * With F = 0 the input comes back unchanged (a clone the caller owns). Does not reset membranes: call `reset()`
   * after each sample, as the reference's `reset_net`.
   */
  forward(
    bev: tf.Tensor,
    options: PredictionForwardOptions = {},
    ctx: ForwardContext = {},
  ): PredictionOutput {
    checkBevSequence(bev, this.inChannels, 'prediction');
    if (this.futurePrediction === null)
      return { states: tf.clone(bev), mu: null, logSigma: null, sample: null };
    const sampling = options.training ?? this.training;
    if (sampling && this.presentDistribution !== null && options.rng === undefined) {
      throw new SpikedriveError('prediction in training draws ε from a seeded source, but no rng was given', {
        subject: 'prediction rng',
        fix: 'Pass { training: true, rng: createRng(seed) } (or training: false for the distribution mean).',
      });
    }
    const [batch, , x, y] = bev.shape as number[];
    const states = framesFirst(bev);
    const present = frameAt(states, states.shape[0] - 1);
    let mu: tf.Tensor | null = null;
    let logSigma: tf.Tensor | null = null;
    let latent: tf.Tensor;
    if (this.presentDistribution !== null) {
      const params = this.presentDistribution.forward(present, ctx);
      const drawn = this.drawLatent(params, batch, sampling ? options.rng : undefined);
      params.dispose();
      ({ mu, logSigma } = drawn);
      latent = drawn.sample;
    } else {
      // PROBABILISTIC.ENABLED false: `present_state.new_zeros(b, 1, latent_dim, h, w)` (sad.py:203).
      latent = tf.zeros([batch, this.latentDim]);
    }
    present.dispose();
    const sampleMap = tf.tidy(() =>
      broadcastTo(tf.reshape(latent, [batch, 1, 1, this.latentDim]), [batch, x, y, this.latentDim]),
    );
    let spikes: tf.Tensor | undefined;
    const mixed = this.futurePrediction.forward(
      sampleMap,
      states,
      ctx,
      this.keepFutureSpikes ? (s) => (spikes = s) : undefined,
    );
    sampleMap.dispose();
    if (states !== bev) states.dispose();
    const out: PredictionOutput = { states: batchFirst(mixed), mu, logSigma, sample: latent };
    mixed.dispose();
    if (spikes !== undefined) {
      out.futureSpikes = batchFirst(spikes);
      spikes.dispose();
    }
    return out;
  }

  /**
   * `get_mu_sigma` (`sad.py:379-389`): μ, log σ clamped, sample = μ + e^{log σ}·ε with ε ~ N(0, 1) from `rng`, or
   * ε = 0 (the sample is μ) without one. MIXGAUSSIAN mixes three such samples with softmax weights.
   */
  private drawLatent(
    params: tf.Tensor,
    batch: number,
    rng: Rng | undefined,
  ): { mu: tf.Tensor; logSigma: tf.Tensor; sample: tf.Tensor } {
    const l = this.latentDim;
    const gaussian = (offset: number) => {
      const mu = tf.slice(params, [0, offset], [batch, l]);
      const logSigma = tf.clipByValue(
        tf.slice(params, [0, offset + l], [batch, l]),
        this.minLogSigma,
        this.maxLogSigma,
      );
      if (rng === undefined) return { mu, logSigma, sample: mu };
      const eps = new Float32Array(batch * l);
      for (let i = 0; i < eps.length; i++) eps[i] = rng.normal();
      const sample = tf.add(mu, tf.mul(tf.exp(logSigma), tf.tensor2d(eps, [batch, l])));
      return { mu, logSigma, sample };
    };
    return tf.tidy(() => {
      if (this.method === 'GAUSSIAN') {
        const g = gaussian(0);
        return { mu: g.mu, logSigma: g.logSigma, sample: rng === undefined ? tf.clone(g.mu) : g.sample };
      }
      const parts = [0, 1, 2].map((k) => gaussian(2 * l * k));
      const weights = tf.softmax(tf.slice(params, [0, 6 * l], [batch, 3]));
      const sample = tf.addN(parts.map((p, k) => tf.mul(p.sample, tf.slice(weights, [0, k], [batch, 1]))));
      return {
        mu: tf.concat(
          parts.map((p) => p.mu),
          1,
        ),
        logSigma: tf.concat(
          parts.map((p) => p.logSigma),
          1,
        ),
        sample,
      };
    });
  }
}
