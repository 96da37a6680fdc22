import * as tf from '@tensorflow/tfjs';
import {
  Conv2d,
  type ForwardContext,
  GlobalAvgPool,
  layerRng,
  SnnModule,
  SpikingBottleneck,
} from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';

/**
 * How the present distribution is parametrised (`PROBABILISTIC.METHOD`). `GAUSSIAN` is what every SAD config
 * uses; `MIXGAUSSIAN` (three Gaussians mixed by softmax weights, `sad.py:411-423`) works in the reference too.
 * The reference's `BERNOULLI` branch cannot be built (it names an un-imported `Bottleneck`), so it is refused.
 */
export type DistributionMethod = 'GAUSSIAN' | 'MIXGAUSSIAN';

export interface DistributionOptions {
  /** BEV channels of the present state (C′ = 70). */
  inChannels: number;
  /** `MODEL.DISTRIBUTION.LATENT_DIM` (32). */
  latentDim: number;
  method?: DistributionMethod;
  bnMomentum?: number;
  rng?: Rng;
}

export function checkDistributionMethod(method: string): DistributionMethod {
  if (method === 'GAUSSIAN' || method === 'MIXGAUSSIAN') return method;
  if (method === 'BERNOULLI') {
    throw new SpikedriveError('PROBABILISTIC.METHOD BERNOULLI is not supported', {
      subject: 'PROBABILISTIC.METHOD',
      fix: 'Use GAUSSIAN (as all SAD configs do) or MIXGAUSSIAN; the reference BERNOULLI branch fails too (distributions_snn.py names an un-imported Bottleneck).',
    });
  }
  throw new SpikedriveError(`Unknown PROBABILISTIC.METHOD "${method}"`, {
    subject: 'PROBABILISTIC.METHOD',
    fix: 'Use GAUSSIAN or MIXGAUSSIAN.',
  });
}

/** Output channels of the distribution head: [μ, log σ] per component, plus the mixture logits. */
export function distributionWidth(method: DistributionMethod, latentDim: number): number {
  return method === 'GAUSSIAN' ? 2 * latentDim : 6 * latentDim + 3;
}

/**
 * `DistributionModule` (`distributions_snn.py`): the present state [B, X, Y, C′] → 4 `SpikingBottleneck`s with
 * down-sampling (C′ → C′/2, then C′/2 → C′/2 ×3; 200 → 100 → 50 → 25 → 13) → adaptive average pool → conv1×1 →
 * [B, 2L] = [μ, log σ] (or [B, 6L + 3] for MIXGAUSSIAN). Names `encoder.model.{0..3}.*`, `decoder.1.*` (the pool
 * is `decoder.0`).
 */
export class DistributionModule extends SnnModule {
  readonly kind = 'distribution_module';
  readonly latentDim: number;
  readonly compressDim: number;
  readonly method: DistributionMethod;
  private readonly encoder: SpikingBottleneck[];
  private readonly pool: GlobalAvgPool;
  private readonly conv: Conv2d;

  constructor(options: DistributionOptions) {
    super();
    const { inChannels, latentDim } = options;
    this.method = checkDistributionMethod(options.method ?? 'GAUSSIAN');
    this.latentDim = latentDim;
    this.compressDim = Math.floor(inChannels / 2);
    if (this.compressDim < 2) {
      throw new SpikedriveError(`The distribution encoder needs at least 4 BEV channels, got ${inChannels}`, {
        subject: 'present_distribution',
        fix: 'It halves the channels and its bottlenecks halve them again; SAD uses 70.',
      });
    }
    const rng = layerRng(options.rng, 'present_distribution');
    this.encoder = [0, 1, 2, 3].map((i) =>
      this.register(
        `encoder.model.${i}`,
        new SpikingBottleneck({
          inChannels: i === 0 ? inChannels : this.compressDim,
          outChannels: this.compressDim,
          downsample: true,
          bnMomentum: options.bnMomentum,
          rng: rng.fork(`encoder.${i}`),
        }),
      ),
    );
    this.pool = this.register('decoder.0', new GlobalAvgPool());
    this.conv = this.register(
      'decoder.1',
      new Conv2d({
        inChannels: this.compressDim,
        outChannels: distributionWidth(this.method, latentDim),
        kernelSize: 1,
        rng: rng.fork('decoder'),
      }),
    );
  }

  /** present [B, X, Y, C′] → [B, 2L] (GAUSSIAN) or [B, 6L + 3] (MIXGAUSSIAN), real-valued. */
  forward(present: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    let x = present;
    for (const block of this.encoder) {
      const next = block.forward(x, ctx);
      if (x !== present) x.dispose();
      x = next;
    }
    const pooled = this.pool.forward(x, ctx);
    x.dispose();
    const y = this.conv.forward(pooled, ctx);
    pooled.dispose();
    const out = tf.reshape(y, [y.shape[0], y.shape[3] as number]);
    y.dispose();
    return out;
  }
}
