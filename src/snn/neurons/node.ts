import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { ForwardContext } from '../layers/module.ts';
import { SnnModule } from '../layers/module.ts';
import type { LayerQuantSpec } from '../quant/config.ts';
import { createStateQuantizer, type StateQuantSpec } from '../quant/state.ts';
import { ATAN_SURROGATE, type Firing, type SurrogateSpec, spikeFunction } from '../surrogate.ts';
import {
  autoPrefersFused,
  lifMultiStep,
  lifMultiStepFused,
  lifParams,
  type NeuronParams,
  type NeuronState,
} from './lif.ts';

/** `multi-step`: input [T, …] (SpikingJelly `MultiStepLIFNode`); `single-step`: one step [B, …] per call (`LIFNode`). */
export type StepMode = 'multi-step' | 'single-step';

/** `fused` runs the host-memory loop (cpu/wasm back ends), `composed` the op-by-op loop; `auto` picks. */
export type NeuronImpl = 'auto' | 'fused' | 'composed';

export interface LifNodeOptions {
  kind?: 'lif' | 'if';
  tau?: number;
  decayInput?: boolean;
  vThreshold?: number;
  vReset?: number | null;
  detachReset?: boolean;
  firing?: Firing;
  surrogate?: SurrogateSpec;
  stepMode?: StepMode;
  impl?: NeuronImpl;
  /** SQUAT membrane quantisation; the threshold defaults to this neuron's V_th. */
  stateQuant?: StateQuantSpec | null;
}

/**
 * A spiking neuron layer: holds the parameters and the membrane between calls; the maths is the pure `lifStep`.
 * State persists across calls until `reset()` (SpikingJelly `reset_net`), which SAD calls after every forward.
 */
export class LifNode extends SnnModule {
  readonly kind: 'lif' | 'if';
  params: NeuronParams;
  readonly stepMode: StepMode;
  impl: NeuronImpl;
  private v: tf.Tensor | null = null;

  constructor(options: LifNodeOptions = {}) {
    super();
    const { stepMode, impl, stateQuant, ...rest } = options;
    this.kind = options.kind ?? 'lif';
    this.params = lifParams({ ...rest, kind: this.kind, stateQuant: null });
    this.stepMode = stepMode ?? 'multi-step';
    this.impl = impl ?? 'auto';
    if (stateQuant) this.setStateQuant(stateQuant);
  }

  /** The membrane after the last call, or null before the first call / after reset. */
  get membrane(): tf.Tensor | null {
    return this.v;
  }

  /**
   * Sets the membrane (e.g. the dual pathway's softmax initialisation). The tensor is cloned, so the caller
   * keeps ownership of its own; gradients flow through the clone into whatever produced it.
   */
  setMembrane(v: tf.Tensor | null): void {
    const next = v === null ? null : tf.keep(tf.clone(v));
    this.v?.dispose();
    this.v = next;
  }

  /** Enables (or, with null, disables) SQUAT membrane quantisation. */
  setStateQuant(spec: StateQuantSpec | null): void {
    this.params = {
      ...this.params,
      stateQuant:
        spec === null ? null : createStateQuantizer(spec, this.params.vThreshold, this.name || 'neuron'),
    };
  }

  override applyQuant(spec: LayerQuantSpec): void {
    if (spec.state !== undefined) this.setStateQuant(spec.state);
  }

  protected override resetState(): void {
    this.v?.dispose();
    this.v = null;
  }

  protected override disposeCaches(): void {
    this.resetState();
  }

  /** Runs the layer in its step mode: [T, …] → spikes [T, …] (multi-step) or [B, …] → [B, …] (single-step). */
  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    return this.stepMode === 'multi-step' ? this.forwardSequence(x, ctx) : this.step(x, ctx);
  }

  /** One time step, whatever the step mode. */
  step(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const expanded = tf.expandDims(x, 0);
    const r = this.run(expanded);
    expanded.dispose();
    const out = tf.squeeze(r.spikes, [0]);
    r.spikes.dispose();
    this.report(ctx, x, out, 1, (x.shape as number[])[0] ?? 1, r.spikeCount);
    return out;
  }

  /** T steps over the leading axis. */
  forwardSequence(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    if (x.rank < 2) {
      throw new SpikedriveError(
        `${this.name || 'neuron'} needs a [T, …] input, got shape [${x.shape.join(', ')}]`,
        {
          subject: this.name || 'neuron',
          fix: 'Put SNN time first: [T, B, H, W, C] for images, [T, B, features] for vectors.',
        },
      );
    }
    const r = this.run(x);
    const [steps, batch] = x.shape as number[];
    this.report(ctx, x, r.spikes, steps, batch, r.spikeCount);
    return r.spikes;
  }

  private report(
    ctx: ForwardContext,
    input: tf.Tensor,
    output: tf.Tensor,
    steps: number,
    batch: number,
    spikeCount: number | null,
  ): void {
    const instrument = ctx.instrument;
    if (!instrument) return;
    const stateBytes = this.params.stateQuant === null ? 4 : this.params.stateQuant.bits / 8;
    instrument.record({
      layer: this,
      input,
      output,
      timeSteps: steps,
      batch,
      equivalentMacs: 0,
      synaptic: false,
      neuronUpdates: input.size,
      inspectInput: false,
      outputSpiking: true,
      outputSpikes: spikeCount ?? undefined,
      stateBytesRead: input.size * stateBytes,
      stateBytesWritten: input.size * stateBytes,
    });
  }

  private run(xSeq: tf.Tensor): { spikes: tf.Tensor; spikeCount: number | null } {
    const stepShape = xSeq.shape.slice(1);
    if (this.v !== null && this.v.size !== 1 && !shapesEqual(this.v.shape, stepShape)) {
      throw new SpikedriveError(
        `${this.name || 'neuron'} holds a membrane of shape [${this.v.shape.join(', ')}] but got steps of shape [${stepShape.join(', ')}]`,
        {
          subject: this.name || 'neuron',
          fix: 'Call reset() on the model between samples of different sizes (SAD resets after every forward).',
        },
      );
    }
    const state: NeuronState | null = this.v === null ? null : { v: this.v };
    const useFused = this.impl === 'fused' || (this.impl === 'auto' && autoPrefersFused());
    let spikeCount: number | null = null;
    const result = tf.tidy(() => {
      if (useFused) {
        const r = lifMultiStepFused(xSeq, state, this.params);
        spikeCount = r.spikeCount;
        return { spikes: r.spikes, v: r.state.v };
      }
      const r = lifMultiStep(xSeq, state, this.params);
      return { spikes: r.spikes, v: r.state.v };
    });
    const previous = this.v;
    this.v = tf.keep(result.v);
    previous?.dispose();
    return { spikes: result.spikes, spikeCount };
  }
}

function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The stateless spike activation SAD's `SpikingBottleneck` and `SpikingGRUCell` use: SpikingJelly's
 * `surrogate.ATan()` module called on a tensor, i.e. Θ(x) = [x ≥ 0] with the ATan(α=2) gradient. No membrane,
 * no leak, no reset.
 */
export class HeavisideActivation extends SnnModule {
  readonly kind = 'heaviside';
  readonly surrogate: SurrogateSpec;
  readonly firing: Firing;

  constructor(options: { surrogate?: SurrogateSpec; firing?: Firing } = {}) {
    super();
    this.surrogate = options.surrogate ?? ATAN_SURROGATE;
    this.firing = options.firing ?? 'geq';
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const out = spikeFunction(this.surrogate, this.firing)(x);
    ctx.instrument?.record({
      layer: this,
      input: x,
      output: out,
      timeSteps: 1,
      batch: x.shape[0] ?? 1,
      equivalentMacs: 0,
      synaptic: false,
      neuronUpdates: x.size,
      inspectInput: false,
      outputSpiking: true,
    });
    return out;
  }
}
