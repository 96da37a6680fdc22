import {
  createStateQuantizer,
  lifParams,
  type NeuronParams,
  SIGMOID_SURROGATE,
  type StateQuantSpec,
} from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import { filled, type NirIF, type NirLIF, type NirMetadata, type NirThreshold } from './types.ts';

/**
 * SpikingJelly (SAD) neurons ↔ NIR neurons at a fixed dt.
 *
 * NIR's LIF is τ v̇ = (v_leak − v) + R I; forward Euler at step dt gives v ← v + (dt/τ)(v_leak − v + R I). SAD's
 * SpikingJelly LIF charges H = V + (X − (V − V_reset))/τs (decay_input) or H = V − (V − V_reset)/τs + X, with τs in
 * steps. They coincide when
 *   decay_input:    τ = τs·dt, R = 1,  v_leak = V_reset
 *   no decay_input: τ = τs·dt, R = τs, v_leak = V_reset
 *   IF (H = V + X): NIR IF with R = 1/dt
 * (SpikingJelly's own NIR converter makes the same choice). Reset: NIR resets to v_reset when it fires (hard reset);
 * SpikingJelly's soft reset (V ← H − θ) has no NIR form, so it is written as a hard reset to 0 and flagged.
 *
 * Firing: SAD fires at H ≥ θ, NIR at v > θ. The export writes v_threshold = the largest float32 below θ, so that for
 * every float32 membrane v > θ⁻ ⟺ v ≥ θ: spikes are identical in any reader that keeps the membrane in float32
 * (tolerance 2^-24·θ ≈ 6e-8 relative for float64 readers, where a membrane strictly between θ⁻ and θ would fire).
 * The original θ, τs and reset mode are kept under the node's `metadata/spikedrive`, and our simulator
 * (`NirSimulator`, `honourMetadata`) runs SpikingJelly's update from them exactly.
 */

export const SPIKEDRIVE_META = 'spikedrive';

/** The largest float32 strictly below x (x itself must be a finite float32). */
export function float32Below(x: number): number {
  const f = new Float32Array(1);
  const i = new Int32Array(f.buffer);
  f[0] = x;
  if (f[0] === 0) {
    i[0] = 0x80000001; // −min subnormal
  } else if (f[0] > 0) {
    i[0] -= 1;
  } else {
    i[0] += 1;
  }
  return f[0];
}

/** NIR threshold that reproduces a firing rule in float32: θ⁻ for `geq`, θ for `gt`. */
export function nirThreshold(threshold: number, firing: 'geq' | 'gt'): number {
  return firing === 'geq' ? float32Below(Math.fround(threshold)) : Math.fround(threshold);
}

function stateQuantMeta(spec: StateQuantSpec): NirMetadata {
  const out: NirMetadata = { bits: spec.bits };
  if (spec.uniform !== undefined) out.uniform = spec.uniform ? 1 : 0;
  if (spec.thresholdCentered !== undefined) out.threshold_centered = spec.thresholdCentered ? 1 : 0;
  if (spec.threshold !== undefined) out.threshold = spec.threshold;
  if (spec.lowerLimit !== undefined) out.lower_limit = spec.lowerLimit;
  if (spec.upperLimit !== undefined) out.upper_limit = spec.upperLimit;
  if (spec.multiplier !== undefined) out.multiplier = spec.multiplier;
  return out;
}

/** The `metadata/spikedrive` group of an exported neuron: what NIR cannot say. */
export function neuronMetadata(params: NeuronParams, dt: number, layer: string): NirMetadata {
  const meta: NirMetadata = {
    layer,
    neuron: params.kind === 'if' ? 'spikingjelly-if' : 'spikingjelly-lif',
    dt,
    tau_steps: params.tau,
    decay_input: params.decayInput ? 1 : 0,
    v_threshold: params.vThreshold,
    v_reset: params.vReset ?? 0,
    reset: params.vReset === null ? 'subtract' : 'hard',
    firing: params.firing,
  };
  if (params.stateQuant !== null) meta.state_quant = stateQuantMeta(params.stateQuant.spec);
  return meta;
}

/** A SAD neuron layer over a [C, H, W] (or any) shape as a NIR LIF or IF node, at step dt. */
export function neuronToNir(
  params: NeuronParams,
  shape: readonly number[],
  dt: number,
  layer: string,
): NirLIF | NirIF {
  if (!(dt > 0 && Number.isFinite(dt))) {
    throw new SpikedriveError(`dt must be a positive number of seconds, got ${dt}`, {
      subject: 'dt',
      fix: 'Use e.g. 1e-4 (snnTorch, SpikingJelly, Lava) or 1e-3 (Norse).',
    });
  }
  const vReset = params.vReset ?? 0;
  const vThreshold = filled(shape, nirThreshold(params.vThreshold, params.firing));
  const metadata = { [SPIKEDRIVE_META]: neuronMetadata(params, dt, layer) };
  if (params.kind === 'if') {
    return { type: 'IF', r: filled(shape, 1 / dt), vThreshold, vReset: filled(shape, vReset), metadata };
  }
  return {
    type: 'LIF',
    tau: filled(shape, params.tau * dt),
    r: filled(shape, params.decayInput ? 1 : params.tau),
    vLeak: filled(shape, vReset),
    vThreshold,
    vReset: filled(shape, vReset),
    metadata,
  };
}

/** SAD's stateless spike Θ(x) = [x ≥ 0] (`HeavisideActivation`) as a NIR Threshold. */
export function heavisideToNir(firing: 'geq' | 'gt', shape: readonly number[], layer: string): NirThreshold {
  return {
    type: 'Threshold',
    threshold: filled(shape, nirThreshold(0, firing)),
    metadata: { [SPIKEDRIVE_META]: { layer, neuron: 'heaviside', v_threshold: 0, firing } },
  };
}

function num(meta: NirMetadata, key: string): number | undefined {
  const v = meta[key];
  return typeof v === 'number' ? v : undefined;
}

/**
 * The SpikingJelly parameters recorded in a node's `metadata/spikedrive`, or null when the node carries none (a
 * graph from another framework) or they do not describe a SpikingJelly neuron.
 */
export function neuronParamsFromMetadata(metadata: NirMetadata | undefined): NeuronParams | null {
  const meta = metadata?.[SPIKEDRIVE_META];
  if (meta === undefined || typeof meta !== 'object' || Array.isArray(meta) || 'data' in meta) return null;
  const m = meta as NirMetadata;
  const neuron = m.neuron;
  if (neuron !== 'spikingjelly-lif' && neuron !== 'spikingjelly-if') return null;
  const tau = num(m, 'tau_steps') ?? 2;
  const vThreshold = num(m, 'v_threshold') ?? 1;
  const firing = m.firing === 'gt' ? 'gt' : 'geq';
  const params = lifParams({
    kind: neuron === 'spikingjelly-if' ? 'if' : 'lif',
    tau: neuron === 'spikingjelly-if' ? 2 : tau,
    decayInput: num(m, 'decay_input') !== 0,
    vThreshold,
    vReset: m.reset === 'subtract' ? null : (num(m, 'v_reset') ?? 0),
    firing,
    surrogate: SIGMOID_SURROGATE,
  });
  const sq = m.state_quant;
  if (sq !== undefined && typeof sq === 'object' && !Array.isArray(sq) && !('data' in sq)) {
    const q = sq as NirMetadata;
    const spec: StateQuantSpec = { bits: num(q, 'bits') ?? 8 };
    if (num(q, 'uniform') !== undefined) spec.uniform = num(q, 'uniform') !== 0;
    if (num(q, 'threshold_centered') !== undefined)
      spec.thresholdCentered = num(q, 'threshold_centered') !== 0;
    if (num(q, 'threshold') !== undefined) spec.threshold = num(q, 'threshold');
    if (num(q, 'lower_limit') !== undefined) spec.lowerLimit = num(q, 'lower_limit');
    if (num(q, 'upper_limit') !== undefined) spec.upperLimit = num(q, 'upper_limit');
    if (num(q, 'multiplier') !== undefined) spec.multiplier = num(q, 'multiplier');
    params.stateQuant = createStateQuantizer(spec, vThreshold, 'NIR metadata state_quant');
  }
  return params;
}

/** The firing rule recorded for a Threshold node (`geq` from SAD's Heaviside), or null. */
export function thresholdFiringFromMetadata(
  metadata: NirMetadata | undefined,
): { firing: 'geq' | 'gt'; threshold: number } | null {
  const meta = metadata?.[SPIKEDRIVE_META];
  if (meta === undefined || typeof meta !== 'object' || Array.isArray(meta) || 'data' in meta) return null;
  const m = meta as NirMetadata;
  if (m.neuron !== 'heaviside') return null;
  return { firing: m.firing === 'gt' ? 'gt' : 'geq', threshold: num(m, 'v_threshold') ?? 0 };
}
