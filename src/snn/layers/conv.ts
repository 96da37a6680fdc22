import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import { customGrad2 } from '../grad.ts';
import type { LayerQuantSpec } from '../quant/config.ts';
import {
  type ActivationQuantSpec,
  checkBits,
  fakeQuantActivation,
  fakeQuantWeight,
  type WeightQuantSpec,
} from '../quant/weight.ts';
import { isRecordingGradients } from '../surrogate.ts';
import { layerRng, truncatedNormalTensor, uniformTensor } from './init.ts';
import { type ForwardContext, SnnModule } from './module.ts';

export type Pair = number | [number, number];

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  stride?: Pair;
  /** Zero padding on each side, PyTorch style (not tfjs 'same'). */
  padding?: Pair;
  dilation?: Pair;
  /** PyTorch default true. */
  bias?: boolean;
  rng?: Rng;
}

/**
 * Stride-1 dilated convolution with PyTorch padding whose gradient tfjs lacks ("dilation rates greater than 1
 * are not yet supported in gradients"); SAD's ASPP uses rates 12/24/36. Hand-written backward from forward convs
 * only (so it runs on every back end): dX = dY ⋆_r flip(W)ᵀ padded (k − 1)·r − p, and dW[kh, kw] =
 * Σ x_pad[h + kh·r, w + kw·r]·dY[h, w], a stride-r conv of the padded input with dY as the filter.
 */
export function dilatedConv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  padding: [number, number],
  dilation: [number, number],
): tf.Tensor4D {
  const [kh, kw] = [w.shape[0], w.shape[1]];
  const explicit = (
    ph: number,
    pw: number,
  ): [[number, number], [number, number], [number, number], [number, number]] => [
    [0, 0],
    [ph, ph],
    [pw, pw],
    [0, 0],
  ];
  const op = customGrad2((input, filter, save) => {
    save([input, filter]);
    return {
      value: tf.conv2d(
        input as tf.Tensor4D,
        filter as tf.Tensor4D,
        1,
        explicit(padding[0], padding[1]),
        'NHWC',
        dilation,
      ),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const flipped = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
        const backPad = explicit((kh - 1) * dilation[0] - padding[0], (kw - 1) * dilation[1] - padding[1]);
        const dx = tf.conv2d(dy as tf.Tensor4D, flipped, 1, backPad, 'NHWC', dilation);
        const xPad = tf.pad(xs, explicit(padding[0], padding[1]));
        // [Cin, Hp, Wp, N] ⋆ [Hout, Wout, N, Cout] with stride r → [Cin, kh, kw, Cout].
        const dw = tf.conv2d(
          tf.transpose(xPad, [3, 1, 2, 0]) as tf.Tensor4D,
          tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D,
          dilation,
          'valid',
        );
        return [dx, tf.transpose(tf.slice(dw, [0, 0, 0, 0], [-1, kh, kw, -1]), [1, 2, 0, 3])];
      },
    };
  });
  return op(x, w) as tf.Tensor4D;
}

/** Bits per stored weight for a quantisation spec (ternary packs into 2 bits). */
export function weightBits(spec: WeightQuantSpec | null): number {
  if (spec === null) return 32;
  return spec.scheme === 'ternary' ? 2 : spec.bits;
}

/** Splits a [T, B, …] tensor into [T·B, …] for a time-independent op, or passes [N, …] through. */
export function foldTime(
  x: tf.Tensor,
  rankPerStep: number,
): { flat: tf.Tensor; steps: number; batch: number } {
  const shape = x.shape as number[];
  if (x.rank === rankPerStep + 1) {
    return {
      flat: tf.reshape(x, [shape[0] * shape[1], ...shape.slice(2)]),
      steps: shape[0],
      batch: shape[1],
    };
  }
  if (x.rank === rankPerStep) return { flat: x, steps: 1, batch: shape[0] };
  throw new SpikedriveError(
    `Expected a ${rankPerStep}-D or ${rankPerStep + 1}-D tensor, got shape [${x.shape.join(', ')}]`,
    {
      subject: 'tensor layout',
      fix: 'Images are [N, H, W, C] or, over SNN time, [T, B, H, W, C].',
    },
  );
}

/** SNN steps and batch items of an image tensor: [T, B, H, W, C] or [N, H, W, C] (one step). */
export function stepsAndBatch(x: tf.Tensor): { steps: number; batch: number } {
  const shape = x.shape as number[];
  return x.rank === 5 ? { steps: shape[0], batch: shape[1] } : { steps: 1, batch: shape[0] ?? 1 };
}

/** The inverse of `foldTime`. */
export function unfoldTime(y: tf.Tensor, steps: number, batch: number, wasSequence: boolean): tf.Tensor {
  return wasSequence ? tf.reshape(y, [steps, batch, ...y.shape.slice(1)]) : y;
}

/**
 * 2-D convolution (NHWC activations, HWIO filter; OIHW in checkpoints). Takes [N, H, W, C] or multi-step
 * [T, B, H, W, C] (folded to [T·B, …] like SpikingJelly's `SeqToANNContainer`). Optional weight and activation
 * fake-quantisation per the layer's quantisation spec.
 */
export class Conv2d extends SnnModule {
  readonly kind = 'conv2d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  weightQuant: WeightQuantSpec | null = null;
  activationQuant: ActivationQuantSpec | null = null;

  constructor(options: Conv2dOptions) {
    super();
    const { inChannels, outChannels } = options;
    for (const [k, v] of [
      ['inChannels', inChannels],
      ['outChannels', outChannels],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) {
        throw new SpikedriveError(`Conv2d ${k} must be a positive integer, got ${v}`, {
          subject: 'Conv2d',
          fix: 'Check the channel counts in the model configuration.',
        });
      }
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(options.kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    if ((this.dilation[0] > 1 || this.dilation[1] > 1) && (this.stride[0] > 1 || this.stride[1] > 1)) {
      // tfjs convolutions (and the hand-written dilated gradient) take dilation only with stride 1.
      throw new SpikedriveError(
        `Conv2d with dilation ${this.dilation} and stride ${this.stride} is not supported`,
        {
          subject: 'Conv2d',
          fix: 'Use stride 1 with a dilation > 1 (as the ASPP does), or dilation 1 with a stride.',
        },
      );
    }
    const rng = layerRng(options.rng, 'conv');
    const fanIn = inChannels * this.kernelSize[0] * this.kernelSize[1];
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.addParam(
      'weight',
      uniformTensor(
        [this.kernelSize[0], this.kernelSize[1], inChannels, outChannels],
        bound,
        rng.fork('weight'),
      ),
      'conv-hwio',
      true,
    );
    this.bias =
      options.bias === false
        ? null
        : this.addParam('bias', uniformTensor([outChannels], bound, rng.fork('bias')), 'plain', true);
  }

  /** Re-initialises the weight with timm's truncated normal (std 0.02 in the SAD encoder) and zero bias. */
  initTruncatedNormal(std: number, rng: Rng): void {
    tf.tidy(() => {
      this.weight.assign(truncatedNormalTensor(this.weight.shape, std, rng));
      this.bias?.assign(tf.zeros([this.outChannels]));
    });
    this.version++;
  }

  override applyQuant(spec: LayerQuantSpec): void {
    if (spec.weights !== undefined) {
      if (spec.weights?.scheme === 'symmetric') checkBits(spec.weights.bits, this.name);
      this.weightQuant = spec.weights;
    }
    if (spec.activations !== undefined) {
      if (spec.activations) checkBits(spec.activations.bits, this.name);
      this.activationQuant = spec.activations;
    }
    this.version++;
  }

  /** The weight the forward pass uses (fake-quantised when a weight spec is set). */
  effectiveWeight(): tf.Tensor4D {
    return (
      this.weightQuant === null ? this.weight : fakeQuantWeight(this.weight, this.weightQuant)
    ) as tf.Tensor4D;
  }

  /** Multiply-accumulates per output position (K·Cin·Cout). */
  macsPerPosition(): number {
    return this.kernelSize[0] * this.kernelSize[1] * this.inChannels * this.outChannels;
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    return this.forwardWith(x, ctx, null, null);
  }

  /**
   * The convolution with a replacement weight/bias (folded BN). `x` may be 4-D or 5-D; `extra` marks sequence
   * repetition for instrumentation.
   */
  forwardWith(
    x: tf.Tensor,
    ctx: ForwardContext,
    weight: tf.Tensor4D | null,
    bias: tf.Tensor | null,
    extra: { repeatedSteps?: number } = {},
  ): tf.Tensor {
    const channels = x.shape[x.rank - 1];
    if (channels !== this.inChannels) {
      throw new SpikedriveError(
        `${this.name || 'Conv2d'} expects ${this.inChannels} input channels, got ${channels} (shape [${x.shape.join(', ')}])`,
        {
          subject: this.name || 'Conv2d',
          fix: 'Activations are NHWC (channels last); check the previous layer and the configuration.',
        },
      );
    }
    const y = tf.tidy(() => {
      const { flat, steps, batch } = foldTime(x, 4);
      const input = this.activationQuant === null ? flat : fakeQuantActivation(flat, this.activationQuant);
      const w = weight ?? this.effectiveWeight();
      const pad: number | [[number, number], [number, number], [number, number], [number, number]] =
        this.padding[0] === this.padding[1]
          ? this.padding[0]
          : [
              [0, 0],
              [this.padding[0], this.padding[0]],
              [this.padding[1], this.padding[1]],
              [0, 0],
            ];
      const dilated = this.dilation[0] > 1 || this.dilation[1] > 1;
      const b = weight === null ? this.bias : bias;
      let out: tf.Tensor;
      if (dilated && isRecordingGradients()) {
        out = dilatedConv2d(input as tf.Tensor4D, w, this.padding, this.dilation);
        if (b !== null) out = tf.add(out, b);
      } else {
        // The bias rides in the fused kernel: a broadcast tf.add costs as much as the conv on the cpu back end.
        out = tf.fused.conv2d({
          x: input as tf.Tensor4D,
          filter: w,
          strides: this.stride,
          pad,
          dataFormat: 'NHWC',
          dilations: this.dilation,
          bias: b ?? undefined,
        });
      }
      return unfoldTime(out, steps, batch, x.rank === 5);
    });
    const instrument = ctx.instrument;
    if (instrument) {
      const { steps, batch } = stepsAndBatch(x);
      const repeat = extra.repeatedSteps ?? 1;
      const hasBias = weight === null ? this.bias !== null : bias !== null;
      instrument.record({
        layer: this,
        input: x,
        output: y,
        timeSteps: steps * repeat,
        batch,
        equivalentMacs: (this.macsPerPosition() * y.size) / this.outChannels,
        synaptic: true,
        outputSpiking: false,
        paramBytesRead:
          (this.weight.size * weightBits(this.weightQuant)) / 8 + (hasBias ? this.outChannels * 4 : 0),
        repeat,
      });
    }
    return y;
  }
}
