import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import { customGrad2 } from '../grad.ts';
import type { StateQuantizer } from '../quant/state.ts';
import {
  detach,
  type Firing,
  isRecordingGradients,
  SIGMOID_SURROGATE,
  type SurrogateSpec,
  spikeFunction,
  validateSurrogate,
} from '../surrogate.ts';
import { broadcastTo as broadcastTensor } from '../time.ts';

/**
 * Leaky integrate-and-fire (and IF) neurons with SpikingJelly 0.0.0.0.12 semantics, as SAD uses them:
 *
 *   charge  LIF, decay_input:  H = V + (X − (V − V_reset)) / τ
 *           LIF, no decay:     H = V − (V − V_reset) / τ + X
 *           IF:                H = V + X
 *   fire    S = Θ(H − V_th)    (Θ(x) = [x ≥ 0] for `geq`, [x > 0] for `gt`)
 *   reset   hard: V = (1 − S)·H + S·V_reset      soft (vReset = null): V = H − S·V_th
 *
 * V_reset is taken as 0 in the charge of a soft-reset neuron. `detachReset` uses S without gradient in the reset.
 * With a state quantiser (SQUAT), H is snapped to its levels after charging and before the threshold test, as
 * snnTorch applies `state_quant` to the membrane.
 */
export interface NeuronParams {
  kind: 'lif' | 'if';
  /** Membrane time constant τ (steps); LIF only. SpikingJelly default 2. */
  tau: number;
  /** Whether the input is divided by τ too (SpikingJelly default true). */
  decayInput: boolean;
  vThreshold: number;
  /** Hard reset to this value, or `null` for a soft reset (subtract V_th). */
  vReset: number | null;
  detachReset: boolean;
  firing: Firing;
  surrogate: SurrogateSpec;
  /** SQUAT membrane quantiser, or null for float32 state. */
  stateQuant: StateQuantizer | null;
}

/** Membrane potential after the reset of the last step. */
export interface NeuronState {
  v: tf.Tensor;
}

/** SpikingJelly `LIFNode()` defaults: τ = 2, decay_input, V_th = 1, hard reset to 0, Sigmoid(α=4), no detach, ≥. */
export function lifParams(overrides: Partial<NeuronParams> = {}): NeuronParams {
  return validateNeuronParams({
    kind: 'lif',
    tau: 2,
    decayInput: true,
    vThreshold: 1,
    vReset: 0,
    detachReset: false,
    firing: 'geq',
    surrogate: SIGMOID_SURROGATE,
    stateQuant: null,
    ...overrides,
  });
}

/** SpikingJelly `IFNode()` defaults. */
export function ifParams(overrides: Partial<NeuronParams> = {}): NeuronParams {
  return lifParams({ kind: 'if', ...overrides });
}

export function validateNeuronParams(p: NeuronParams, subject = 'neuron'): NeuronParams {
  if (p.kind !== 'lif' && p.kind !== 'if') {
    throw new SpikedriveError(`Unknown neuron kind "${p.kind}"`, { subject, fix: 'Use "lif" or "if".' });
  }
  if (p.kind === 'lif' && !(Number.isFinite(p.tau) && p.tau > 1)) {
    // τ ≤ 1 makes the leak factor 1 − 1/τ non-positive: the membrane would flip sign every step.
    throw new SpikedriveError(`LIF time constant tau must be > 1 step, got ${p.tau}`, {
      subject,
      fix: 'Use tau = 2 (SpikingJelly/SAD default) or larger.',
    });
  }
  if (!Number.isFinite(p.vThreshold)) {
    throw new SpikedriveError(`vThreshold must be finite, got ${p.vThreshold}`, {
      subject,
      fix: 'Use e.g. 1.',
    });
  }
  if (p.vReset !== null && !Number.isFinite(p.vReset)) {
    throw new SpikedriveError(`vReset must be a number or null (soft reset), got ${p.vReset}`, {
      subject,
      fix: 'Use 0 for a hard reset (SAD) or null for a soft reset.',
    });
  }
  if (p.firing !== 'geq' && p.firing !== 'gt') {
    throw new SpikedriveError(`firing must be "geq" or "gt", got "${p.firing}"`, {
      subject,
      fix: 'Use "geq" (SpikingJelly, fires at v ≥ θ) or "gt" (snnTorch/NIR, v > θ).',
    });
  }
  validateSurrogate(p.surrogate, subject);
  return p;
}

/** H from V and X (tensor ops, float32 like the reference). */
export function neuronCharge(x: tf.Tensor, v: tf.Tensor, p: NeuronParams): tf.Tensor {
  return tf.tidy(() => {
    if (p.kind === 'if') return tf.add(v, x);
    const vr = p.vReset ?? 0;
    if (p.decayInput) {
      return vr === 0
        ? tf.add(v, tf.div(tf.sub(x, v), p.tau))
        : tf.add(v, tf.div(tf.sub(x, tf.sub(v, vr)), p.tau));
    }
    return vr === 0
      ? tf.add(tf.mul(v, 1 - 1 / p.tau), x)
      : tf.add(tf.sub(v, tf.div(tf.sub(v, vr), p.tau)), x);
  });
}

/** The initial membrane: V_reset (0 for a soft-reset neuron), shaped like one step of input. */
export function initialMembrane(shape: number[], p: NeuronParams): tf.Tensor {
  return tf.fill(shape, p.vReset ?? 0);
}

/**
 * One time step, as a pure function (Norse style): returns the spikes and the new state; disposes nothing it
 * was given. `state` null means a fresh neuron (V = V_reset).
 */
export function lifStep(
  input: tf.Tensor,
  state: NeuronState | null,
  params: NeuronParams,
): { spikes: tf.Tensor; state: NeuronState } {
  const out = tf.tidy(() => {
    const v = state === null ? initialMembrane(input.shape, params) : state.v;
    let h = neuronCharge(input, v, params);
    if (params.stateQuant !== null) h = params.stateQuant.apply(h);
    const distance = tf.sub(h, params.vThreshold);
    if (!isRecordingGradients()) {
      // Inference: one comparison serves both the spike and the reset.
      const fired = params.firing === 'geq' ? tf.greaterEqual(distance, 0) : tf.greater(distance, 0);
      const spikes = tf.cast(fired, 'float32');
      const vNext =
        params.vReset === null
          ? tf.sub(h, tf.mul(spikes, params.vThreshold))
          : tf.where(fired, tf.fill(h.shape, params.vReset), h);
      return { spikes, v: vNext };
    }
    const spikes = spikeFunction(params.surrogate, params.firing)(distance);
    const s = params.detachReset ? detach(spikes) : spikes;
    const vNext =
      params.vReset === null
        ? tf.sub(h, tf.mul(s, params.vThreshold))
        : tf.add(tf.mul(tf.sub(1, s), h), tf.mul(s, params.vReset));
    return { spikes, v: vNext };
  });
  return { spikes: out.spikes, state: { v: out.v } };
}

/** The IF step: `lifStep` with IF parameters. */
export function ifStep(
  input: tf.Tensor,
  state: NeuronState | null,
  params: NeuronParams,
): { spikes: tf.Tensor; state: NeuronState } {
  return lifStep(input, state, { ...params, kind: 'if' });
}

/**
 * T steps over the leading axis of `inputs` ([T, …]), looping `lifStep` (the reference's `backend='torch'` path).
 * Returns spikes [T, …] and the state after the last step.
 */
export function lifMultiStep(
  inputs: tf.Tensor,
  state: NeuronState | null,
  params: NeuronParams,
): { spikes: tf.Tensor; state: NeuronState } {
  const out = tf.tidy(() => {
    const steps = tf.unstack(inputs, 0);
    let current = state;
    const spikes: tf.Tensor[] = [];
    for (const x of steps) {
      const r = lifStep(x, current, params);
      spikes.push(r.spikes);
      current = r.state;
    }
    return { spikes: tf.stack(spikes, 0), v: (current as NeuronState).v };
  });
  return { spikes: out.spikes, state: { v: out.v } };
}

// ---------------------------------------------------------------------------------------------------------------
// Fused multi-step LIF on host memory. Hand-written because tfjs has no fused recurrent element-wise kernel: the
// op-by-op loop launches ~6 kernels and allocates ~6 tensors per step, this is one pass over T·N values. Every
// arithmetic step is rounded to float32 (Math.fround) so results equal the tensor path bit for bit.
// ---------------------------------------------------------------------------------------------------------------

export interface FusedLifResult {
  spikes: Float32Array;
  /** Membrane after the last step's reset. */
  vFinal: Float32Array;
  /** H per step (after charge and state quantisation), kept only when asked for (backward needs it). */
  charged: Float32Array | null;
  spikeCount: number;
}

/** Forward of T steps over N neurons in plain arrays. `x` is [T, N] row-major; `v0` null means V_reset. */
export function lifForwardArrays(
  x: Float32Array,
  v0: Float32Array | null,
  steps: number,
  params: NeuronParams,
  keepCharged: boolean,
): FusedLifResult {
  const n = steps === 0 ? 0 : x.length / steps;
  const spikes = new Float32Array(x.length);
  const charged = keepCharged ? new Float32Array(x.length) : null;
  const fr = Math.fround;
  // Constants as float32, as tfjs uploads scalars; the leak factor is formed in float64 first, as in tfjs.
  const vr = fr(params.vReset ?? 0);
  const v = v0 === null ? new Float32Array(n).fill(vr) : Float32Array.from(v0);
  const tau = fr(params.tau);
  const leak = fr(1 - 1 / params.tau);
  const th = fr(params.vThreshold);
  const hard = params.vReset !== null;
  const geq = params.firing === 'geq';
  const snap = params.stateQuant === null ? null : params.stateQuant.snap;
  // Branch flags hoisted out of the loop (reading them from `params` per element costs ~3×).
  const mode = params.kind === 'if' ? 0 : params.decayInput ? (vr === 0 ? 1 : 2) : vr === 0 ? 3 : 4;
  let count = 0;
  for (let t = 0; t < steps; t++) {
    const base = t * n;
    for (let i = 0; i < n; i++) {
      const vi = v[i];
      const xi = x[base + i];
      let h: number;
      if (mode === 1) h = fr(vi + fr(fr(xi - vi) / tau));
      else if (mode === 0) h = fr(vi + xi);
      else if (mode === 2) h = fr(vi + fr(fr(xi - fr(vi - vr)) / tau));
      else if (mode === 3) h = fr(fr(vi * leak) + xi);
      else h = fr(fr(vi - fr(fr(vi - vr) / tau)) + xi);
      if (snap !== null) h = snap(h);
      if (charged !== null) charged[base + i] = h;
      const d = fr(h - th);
      if (geq ? d >= 0 : d > 0) {
        spikes[base + i] = 1;
        count++;
        v[i] = hard ? vr : d;
      } else {
        v[i] = h;
      }
    }
  }
  return { spikes, vFinal: v, charged, spikeCount: count };
}

/**
 * BPTT through the fused forward. Given dL/dS [T, N] and dL/dV_final [N], returns dL/dX [T, N] and dL/dV0 [N].
 * Same derivatives as autograd through the tensor path (surrogate for Θ, straight-through for SQUAT).
 */
export function lifBackwardArrays(
  dSpikes: Float32Array,
  dVFinal: Float32Array | null,
  charged: Float32Array,
  steps: number,
  params: NeuronParams,
): { dx: Float32Array; dv0: Float32Array } {
  const n = steps === 0 ? 0 : charged.length / steps;
  const dx = new Float32Array(charged.length);
  const dv = dVFinal === null ? new Float32Array(n) : Float32Array.from(dVFinal);
  const th = Math.fround(params.vThreshold);
  const vr = Math.fround(params.vReset ?? 0);
  const hard = params.vReset !== null;
  const geq = params.firing === 'geq';
  const sg = surrogateScalar(params.surrogate);
  const dhdx = params.kind === 'if' || !params.decayInput ? 1 : 1 / params.tau;
  const dhdv = params.kind === 'if' ? 1 : 1 - 1 / params.tau;
  const fr = Math.fround;
  const detachReset = params.detachReset;
  for (let t = steps - 1; t >= 0; t--) {
    const base = t * n;
    for (let i = 0; i < n; i++) {
      const h = charged[base + i];
      const d = fr(h - th);
      const s = (geq ? d >= 0 : d > 0) ? 1 : 0;
      const g = sg(d);
      // dV/dH through the reset; without detach the reset's spike also carries the surrogate gradient.
      let dvdh: number;
      if (hard) dvdh = detachReset ? 1 - s : 1 - s + (vr - h) * g;
      else dvdh = detachReset ? 1 : 1 - th * g;
      const dh = dSpikes[base + i] * g + dv[i] * dvdh;
      dx[base + i] = dh * dhdx;
      dv[i] = dh * dhdv;
    }
  }
  return { dx, dv0: dv };
}

function surrogateScalar(spec: SurrogateSpec): (x: number) => number {
  const fr = Math.fround;
  switch (spec.kind) {
    case 'sigmoid': {
      const a = spec.alpha;
      return (x) => {
        const s = fr(1 / (1 + Math.exp(-fr(a * x))));
        return fr(fr(s * fr(1 - s)) * a);
      };
    }
    case 'atan': {
      const a = spec.alpha;
      const k = fr((Math.PI / 2) * a);
      return (x) => {
        const u = fr(x * k);
        return fr(a / 2 / fr(1 + fr(u * u)));
      };
    }
    case 'fast-sigmoid': {
      const k = spec.slope;
      return (x) => {
        const d = fr(fr(Math.abs(x) * k) + 1);
        return fr(1 / fr(d * d));
      };
    }
  }
}

/** Whether the current back end keeps tensors in host memory, where the fused loop is cheap. */
export function fusedAvailable(): boolean {
  const backend = tf.getBackend();
  return backend === 'cpu' || backend === 'wasm';
}

/**
 * What `impl: 'auto'` picks, from `npm run bench -- snn-layers`: the fused loop on the cpu back end (forward ~4×,
 * forward + backward ~2× faster than op by op) and for wasm inference (~1.8×); op by op for wasm training, where
 * the SIMD kernels beat the JS backward (~1.7×).
 */
export function autoPrefersFused(): boolean {
  const backend = tf.getBackend();
  if (backend === 'cpu') return true;
  return backend === 'wasm' && !isRecordingGradients();
}

type FusedOp = (x: tf.Tensor, v0: tf.Tensor) => tf.Tensor;

/**
 * T steps with the fused loop, differentiable: returns spikes [T, …] and the final membrane. `v0` is the initial
 * membrane (shape of one step) or null.
 */
export function lifMultiStepFused(
  inputs: tf.Tensor,
  state: NeuronState | null,
  params: NeuronParams,
): { spikes: tf.Tensor; state: NeuronState; spikeCount: number | null } {
  const steps = inputs.shape[0];
  const stepShape = inputs.shape.slice(1);
  const n = inputs.size / Math.max(steps, 1);
  if (!isRecordingGradients()) {
    const x = inputs.dataSync() as Float32Array;
    const v0 = state === null ? null : (state.v.dataSync() as Float32Array);
    const r = lifForwardArrays(
      x,
      v0 === null || v0.length === n ? v0 : broadcastTo(v0, n),
      steps,
      params,
      false,
    );
    return {
      spikes: tf.tensor(r.spikes, inputs.shape, 'float32'),
      state: { v: tf.tensor(r.vFinal, stepShape, 'float32') },
      spikeCount: r.spikeCount,
    };
  }
  // With a tape: one custom op whose value is [spikes; V_final] stacked on the time axis ([T + 1, …]).
  const op: FusedOp = customGrad2((x, v0) => {
    const r = lifForwardArrays(
      x.dataSync() as Float32Array,
      v0.dataSync() as Float32Array,
      steps,
      params,
      true,
    );
    const packed = new Float32Array(r.spikes.length + r.vFinal.length);
    packed.set(r.spikes, 0);
    packed.set(r.vFinal, r.spikes.length);
    const charged = r.charged as Float32Array;
    return {
      value: tf.tensor(packed, [steps + 1, ...stepShape], 'float32'),
      gradFunc: (dy) => {
        const g = dy.dataSync() as Float32Array;
        const total = steps * n;
        const back = lifBackwardArrays(g.subarray(0, total), g.subarray(total), charged, steps, params);
        return [tf.tensor(back.dx, x.shape, 'float32'), tf.tensor(back.dv0, v0.shape, 'float32')];
      },
    };
  });
  const out = tf.tidy(() => {
    const v0 = state === null ? initialMembrane(stepShape, params) : broadcastTensor(state.v, stepShape);
    const packed = op(inputs, v0);
    return {
      spikes: tf.slice(packed, 0, steps),
      v: tf.reshape(tf.slice(packed, steps, 1), stepShape),
    };
  });
  return { spikes: out.spikes, state: { v: out.v }, spikeCount: null };
}

function broadcastTo(v: Float32Array, n: number): Float32Array {
  if (v.length === 1) return new Float32Array(n).fill(v[0]);
  throw new SpikedriveError(`Membrane state has ${v.length} values but one step of input has ${n}`, {
    subject: 'neuron state',
    fix: 'Reset the layer (reset()) before feeding inputs of a different shape.',
  });
}
