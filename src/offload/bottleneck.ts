import * as tf from '@tensorflow/tfjs';
import {
  BatchNorm2d,
  Conv2d,
  type ForwardContext,
  HeavisideActivation,
  LifNode,
  SAD_NEURONS,
  SnnModule,
} from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import { createRng } from '../util/rng.ts';

/**
 * A narrow, learnable, spiking bottleneck at a module boundary (where a chip boundary would be): on the sending
 * side a 1×1 conv narrows C channels to k = max(1, round(ratio·C)) and a LIF (over the tensor's time axis: SNN
 * steps or frames) turns them into spikes, which is all that crosses; on the receiving side a 1×1 conv + BN widens
 * the spikes back to C real channels. What crosses is counted as the smaller of a bitmap (1 bit per neuron per step)
 * and address events (⌈log2 neurons⌉ bits per spike), against the dense float32 tensor it replaces. After SNAP
 * (arXiv 2501.08645: spiking layers at chip boundaries); the ratio here is the width ratio k/C.
 */

export interface BoundaryBottleneckOptions {
  channels: number;
  /** Width ratio k/C in (0, 1]. */
  ratio: number;
  /** Name of the boundary, e.g. `perception->prediction`. */
  boundary: string;
  rng?: Rng;
}

export interface BoundaryTraffic {
  boundary: string;
  /** Elements of the dense tensor the boundary would carry, and its bits at float32. */
  denseElements: number;
  denseBits: number;
  /** Spike neurons per step × steps, the spikes sent, and the bits of the cheaper encoding. */
  spikeSlots: number;
  spikes: number;
  bits: number;
  encoding: 'bitmap' | 'address-events';
  /** bits / denseBits. */
  trafficRatio: number;
}

/** Bits of a spike tensor sent the cheaper way: bitmap (slots) or address events (spikes · ⌈log2 neurons/step⌉). */
export function spikeBits(
  slots: number,
  spikes: number,
  neuronsPerStep: number,
): { bits: number; encoding: 'bitmap' | 'address-events' } {
  const aer = spikes * Math.max(1, Math.ceil(Math.log2(Math.max(neuronsPerStep, 2))));
  return aer < slots ? { bits: aer, encoding: 'address-events' } : { bits: slots, encoding: 'bitmap' };
}

export class BoundaryBottleneck extends SnnModule {
  readonly kind = 'boundary_bottleneck';
  readonly channels: number;
  readonly width: number;
  readonly ratio: number;
  readonly boundary: string;
  readonly encodeConv: Conv2d;
  readonly encodeBn: BatchNorm2d;
  readonly encodeLif: LifNode;
  readonly encodeSpike: HeavisideActivation;
  readonly decodeConv: Conv2d;
  readonly decodeBn: BatchNorm2d;
  /** Traffic of the last forward. */
  lastTraffic: BoundaryTraffic | null = null;

  constructor(options: BoundaryBottleneckOptions) {
    super();
    const { channels, ratio } = options;
    if (!(Number.isInteger(channels) && channels >= 1)) {
      throw new SpikedriveError(`bottleneck channels must be a positive integer, got ${channels}`, {
        subject: 'bottleneck',
        fix: 'Pass the boundary tensor’s channel count.',
      });
    }
    if (!(ratio > 0 && ratio <= 1)) {
      throw new SpikedriveError(`bottleneck ratio must be in (0, 1], got ${ratio}`, {
        subject: 'ratio',
        fix: 'Use e.g. 0.5 (half the channels cross, as spikes) or 1 (as wide as the tensor, still spiking).',
      });
    }
    this.channels = channels;
    this.ratio = ratio;
    this.width = Math.max(1, Math.round(ratio * channels));
    this.boundary = options.boundary;
    const rng = options.rng ?? createRng(`bottleneck/${options.boundary}/${ratio}`);
    this.encodeConv = this.register(
      'encode.0',
      new Conv2d({
        inChannels: channels,
        outChannels: this.width,
        kernelSize: 1,
        bias: false,
        rng: rng.fork('encode'),
      }),
    );
    this.encodeBn = this.register('encode.1', new BatchNorm2d({ numFeatures: this.width }));
    this.encodeLif = this.register('encode.2', new LifNode({ ...SAD_NEURONS.head }));
    this.encodeSpike = this.register('encode.3', new HeavisideActivation());
    this.decodeConv = this.register(
      'decode.0',
      new Conv2d({
        inChannels: this.width,
        outChannels: channels,
        kernelSize: 1,
        bias: false,
        rng: rng.fork('decode'),
      }),
    );
    this.decodeBn = this.register('decode.1', new BatchNorm2d({ numFeatures: channels }));
    this.setPipelineModule('bottleneck');
  }

  /** Sending side: x [T, B, H, W, C] (LIF over T) or [N, H, W, C] (a stateless threshold) → spikes with k channels. */
  encode(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const c = this.encodeConv.forward(x, ctx);
    const b = this.encodeBn.forward(c, ctx);
    c.dispose();
    const s = x.rank === 5 ? this.encodeLif.forward(b, ctx) : this.encodeSpike.forward(tf.sub(b, 1), ctx);
    b.dispose();
    return s;
  }

  /** Receiving side: spikes → real values with C channels. */
  decode(spikes: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const c = this.decodeConv.forward(spikes, ctx);
    const y = this.decodeBn.forward(c, ctx);
    c.dispose();
    return y;
  }

  /**
   * Both sides, counting what crosses. `steps` is the time axis length for traffic (default: the leading axis of a
   * 5-D input). Records the crossing on the context's instrument as a boundary too.
   */
  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    if (x.shape[x.rank - 1] !== this.channels) {
      throw new SpikedriveError(
        `bottleneck ${this.boundary} expects ${this.channels} channels, got [${x.shape.join(', ')}]`,
        {
          subject: this.boundary,
          fix: 'Build the bottleneck for the boundary tensor’s channel count (channels last).',
        },
      );
    }
    const s = this.encode(x, ctx);
    this.lastTraffic = this.trafficOf(x, s);
    ctx.instrument?.boundary(...(this.boundary.split('->') as [string, string]), s, {
      spiking: true,
      timeSteps: x.rank === 5 ? x.shape[0] : 1,
    });
    const y = this.decode(s, ctx);
    s.dispose();
    this.reset();
    return y;
  }

  private trafficOf(x: tf.Tensor, s: tf.Tensor): BoundaryTraffic {
    const steps = x.rank === 5 ? (x.shape[0] as number) : 1;
    const data = s.dataSync();
    let spikes = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== 0) spikes++;
    const perStep = s.size / steps;
    const { bits, encoding } = spikeBits(s.size, spikes, perStep);
    return {
      boundary: this.boundary,
      denseElements: x.size,
      denseBits: x.size * 32,
      spikeSlots: s.size,
      spikes,
      bits,
      encoding,
      trafficRatio: bits / (x.size * 32),
    };
  }
}

export interface BottleneckFitResult {
  losses: number[];
  /** Mean squared reconstruction error on the samples after training (eval mode). */
  finalMse: number;
}

/**
 * Trains a bottleneck to reproduce its boundary tensors (mean squared error of decode(encode(x)) against x, Adam),
 * the cheap way to fit it to a trained model without retraining the stages; surrogate gradients through the LIF.
 */
export function fitBottleneck(
  bottleneck: BoundaryBottleneck,
  samples: tf.Tensor[],
  options: { steps?: number; learningRate?: number } = {},
): BottleneckFitResult {
  if (samples.length === 0) {
    throw new SpikedriveError('fitting a bottleneck needs at least one boundary tensor', {
      subject: bottleneck.boundary,
      fix: 'Pass boundary tensors from a few samples.',
    });
  }
  const steps = options.steps ?? 50;
  const optimizer = tf.train.adam(options.learningRate ?? 0.01);
  const vars = bottleneck.trainableVariables();
  const losses: number[] = [];
  bottleneck.train(true);
  try {
    for (let i = 0; i < steps; i++) {
      const x = samples[i % samples.length];
      const cost = optimizer.minimize(
        () => {
          const s = bottleneck.encode(x);
          const y = bottleneck.decode(s);
          bottleneck.reset();
          return tf.mean(tf.square(tf.sub(y, x))) as tf.Scalar;
        },
        true,
        vars,
      );
      losses.push((cost as tf.Scalar).dataSync()[0]);
      cost?.dispose();
    }
  } finally {
    bottleneck.eval();
    optimizer.dispose();
  }
  let total = 0;
  for (const x of samples) {
    const y = bottleneck.forward(x);
    total += tf.tidy(() => tf.mean(tf.square(tf.sub(y, x))).dataSync()[0]);
    y.dispose();
  }
  return { losses, finalMse: total / samples.length };
}

export interface SweepPoint {
  ratio: number;
  width: number;
  traffic: BoundaryTraffic;
  /** Metrics the caller measured with the bottleneck in place (e.g. vehicle IoU). */
  metrics: Record<string, number>;
  fit: BottleneckFitResult;
}

/**
 * Sweeps bottleneck ratios: for each, builds the bottleneck, fits it on `trainSamples` (boundary tensors), then
 * lets `evaluate` run the downstream task with it in place; reports metrics against boundary traffic.
 */
export async function sweepBottleneck(options: {
  boundary: string;
  channels: number;
  ratios: readonly number[];
  trainSamples: tf.Tensor[];
  evaluate: (
    bottleneck: BoundaryBottleneck,
  ) => Promise<{ metrics: Record<string, number>; traffic: BoundaryTraffic }>;
  fitSteps?: number;
  learningRate?: number;
  seed?: number | string;
}): Promise<SweepPoint[]> {
  const points: SweepPoint[] = [];
  for (const ratio of options.ratios) {
    const bottleneck = new BoundaryBottleneck({
      channels: options.channels,
      ratio,
      boundary: options.boundary,
      rng: createRng(`${options.seed ?? 0}/${ratio}`),
    });
    try {
      const fit = fitBottleneck(bottleneck, options.trainSamples, {
        steps: options.fitSteps,
        learningRate: options.learningRate,
      });
      const { metrics, traffic } = await options.evaluate(bottleneck);
      points.push({ ratio, width: bottleneck.width, traffic, metrics, fit });
    } finally {
      bottleneck.dispose();
    }
  }
  return points;
}

/** The sweep as a Markdown table: accuracy against traffic. */
export function formatSweep(
  points: SweepPoint[],
  baseline?: { metrics: Record<string, number>; denseBits: number },
): string {
  const metricNames = [...new Set(points.flatMap((p) => Object.keys(p.metrics)))];
  const lines = [
    `| ratio | width | bits/sample | vs float32 | ${metricNames.join(' | ')} | fit MSE |`,
    `|---|---|---|---|${metricNames.map(() => '---').join('|')}|---|`,
  ];
  if (baseline !== undefined) {
    lines.push(
      `| none (dense) | — | ${baseline.denseBits.toLocaleString('en')} | 1 | ${metricNames.map((m) => (baseline.metrics[m] ?? Number.NaN).toFixed(4)).join(' | ')} | — |`,
    );
  }
  for (const p of points) {
    lines.push(
      `| ${p.ratio} | ${p.width} | ${Math.round(p.traffic.bits).toLocaleString('en')} (${p.traffic.encoding}) | ${p.traffic.trafficRatio.toFixed(4)} | ${metricNames.map((m) => (p.metrics[m] ?? Number.NaN).toFixed(4)).join(' | ')} | ${p.fit.finalMse.toExponential(2)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
