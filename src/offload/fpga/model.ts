import { roundHalfEven } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import { neuronParamsFromMetadata, thresholdFiringFromMetadata } from '../nir/neurons.ts';
import type { NirGraph, NirNode, NirTensor } from '../nir/types.ts';
import { NirSimulator } from '../sim/simulator.ts';
import { type ConvGeometry, graphPopulations, type Population } from '../targets/populations.ts';

/**
 * The fixed-point form of a NIR graph for an FPGA: integer weights (symmetric n-bit per output channel, or ternary
 * {−1, 0, +1} with one absmean scale, as MatMul-free LM), integer membranes, and the requantisation that keeps every
 * input of a population in that population's units.
 *
 * Units. Population P (a neuron layer) keeps its membrane in units of s_P[c] per output channel c: V_real ≈ V·s_P[c].
 * Its incoming weights are quantised at s_P (so binary spikes accumulate straight into membrane units); a real-valued
 * input (host data, int8 with scale s_x) is rescaled by a fixed-point multiplier (acc·m) >> k ≈ acc·s_x (weighted) or
 * acc·s_x/s_P[c] (one-to-one). Bias and threshold become integers in those units.
 *
 * Neuron update (SpikingJelly LIF with τ, V_reset): H = V + ((X − V + V_reset) ≫ log2 τ) for τ a power of two (an
 * arithmetic shift, i.e. floor), else ((X − V + V_reset)·round(2^16/τ)) ≫ 16; IF: H = V + X; fire when H ≥ θ (or
 * > θ for a NIR-native `gt` neuron); hard reset to V_reset or soft (H − θ); the membrane saturates at the state width.
 */

export type FpgaWeightScheme = { kind: 'symmetric'; bits: number } | { kind: 'ternary' };

export interface FpgaQuantOptions {
  weights: FpgaWeightScheme;
  /** Membrane/accumulator state width in bits. Default 16. */
  stateBits?: number;
  /** Scale of each real-valued graph input (x ≈ x_int·s, int8); default from `calibration`, else 1/127 (|x| ≤ 1). */
  inputScales?: Record<string, number>;
  /** Sample inputs ([T, B, …internal]) to calibrate input scales from their max |x|. */
  calibration?: Map<string, Float32Array>;
  /** Graph inputs that carry binary spikes (fed as 0/1, accumulated like any spiking source). */
  spikingInputs?: readonly string[];
}

export interface FixedProjection {
  source: string;
  sourceSpiking: boolean;
  /** Conv/affine node, or null for a one-to-one connection. */
  via: string | null;
  /** Pool/flatten nodes between source and the synaptic node (in source → target order). */
  path: string[];
  conv: ConvGeometry | null;
  /** Affine/Linear: [out, in]. */
  dense: { inFeatures: number; outFeatures: number } | null;
  /** Integer weights in NIR layout (OIHW or [out, in]); null for one-to-one. */
  weights: Int8Array | null;
  /** Graded inputs: fixed-point multiplier per output channel and its shift (contribution = (acc·m) ≫ k). */
  requant: { multipliers: Int32Array; shift: number } | null;
}

export interface FixedPopulation {
  name: string;
  type: 'LIF' | 'IF' | 'Threshold' | 'Readout';
  /** NIR shape [C, …]. */
  shape: number[];
  neurons: number;
  channels: number;
  /** Real value of one membrane unit per channel. */
  scale: Float32Array;
  bias: Int32Array;
  threshold: Int32Array;
  firing: 'geq' | 'gt';
  leak: { kind: 'none' } | { kind: 'shift'; shift: number } | { kind: 'multiply'; multiplier: number };
  vReset: Int32Array;
  reset: 'hard' | 'subtract';
  stateBits: number;
  projections: FixedProjection[];
}

export interface FixedModel {
  scheme: FpgaWeightScheme;
  stateBits: number;
  populations: FixedPopulation[];
  /** Graph inputs: real ones quantised to int8 with `scale` (x ≈ x_int·scale), spiking ones fed as 0/1. */
  inputs: { name: string; shape: number[]; scale: number; spiking: boolean }[];
  outputs: { name: string; source: string }[];
  /** Node shapes of the graph (NIR order), for running pooling/flatten on the way. */
  shapes: Map<string, { input: number[] | null; output: number[] | null }>;
  graph: NirGraph;
}

function fail(subject: string, message: string): SpikedriveError {
  return new SpikedriveError(`FPGA export: ${message}`, {
    subject,
    fix: 'Keep that part on the host (it stays out of the exported graph), or export the module with supported layers (docs/offload.md, FPGA path).',
  });
}

/** The largest |value| per output channel (axis 0) of a weight tensor. */
function channelAbsMax(t: NirTensor, into: Float64Array): void {
  const c = t.shape[0];
  const inner = t.data.length / c;
  for (let o = 0; o < c; o++) {
    let m = 0;
    for (let i = 0; i < inner; i++) m = Math.max(m, Math.abs(t.data[o * inner + i]));
    into[o] = Math.max(into[o], m);
  }
}

/** (m, k) with m/2^k ≈ value per channel, |m| < 2^15. */
function fixedMultipliers(values: Float64Array): { multipliers: Int32Array; shift: number } {
  const max = Math.max(...Array.from(values, Math.abs), 1e-30);
  const shift = Math.max(0, Math.min(30, 14 - Math.ceil(Math.log2(max))));
  return { multipliers: Int32Array.from(values, (v) => Math.round(v * 2 ** shift)), shift };
}

function uniformPerChannel(t: NirTensor, channels: number, subject: string, what: string): Float64Array {
  const out = new Float64Array(channels);
  const inner = t.data.length / channels;
  for (let c = 0; c < channels; c++) {
    out[c] = t.data[c * inner];
    for (let i = 1; i < inner; i++) {
      if (t.data[c * inner + i] !== out[c])
        throw fail(subject, `${what} varies within a channel (neuron-wise parameters are not supported)`);
    }
  }
  return out;
}

function neuronOf(
  node: NirNode,
  name: string,
): {
  type: FixedPopulation['type'];
  threshold: Float64Array;
  firing: 'geq' | 'gt';
  leak: FixedPopulation['leak'];
  vReset: Float64Array;
  reset: 'hard' | 'subtract';
  gain: Float64Array;
  channels: number;
} {
  const shape = 'r' in node ? node.r.shape : node.type === 'Threshold' ? node.threshold.shape : [];
  const channels = shape[0] ?? 1;
  const sj = neuronParamsFromMetadata(node.metadata);
  if (sj !== null) {
    const tau = sj.tau;
    const leak: FixedPopulation['leak'] =
      sj.kind === 'if'
        ? { kind: 'none' }
        : Number.isInteger(Math.log2(tau))
          ? { kind: 'shift', shift: Math.log2(tau) }
          : { kind: 'multiply', multiplier: Math.round(2 ** 16 / tau) };
    if (sj.kind === 'lif' && !sj.decayInput)
      throw fail(name, 'LIF without decay_input (input not divided by τ) has no integer form here');
    return {
      type: sj.kind === 'if' ? 'IF' : 'LIF',
      threshold: new Float64Array(channels).fill(sj.vThreshold),
      firing: sj.firing,
      leak,
      vReset: new Float64Array(channels).fill(sj.vReset ?? 0),
      reset: sj.vReset === null ? 'subtract' : 'hard',
      gain: new Float64Array(channels).fill(1),
      channels,
    };
  }
  if (node.type === 'Threshold') {
    const meta = thresholdFiringFromMetadata(node.metadata);
    return {
      type: 'Threshold',
      threshold: meta
        ? new Float64Array(channels).fill(meta.threshold)
        : uniformPerChannel(node.threshold, channels, name, 'threshold'),
      firing: meta?.firing ?? 'gt',
      leak: { kind: 'none' },
      vReset: new Float64Array(channels),
      reset: 'hard',
      gain: new Float64Array(channels).fill(1),
      channels,
    };
  }
  if (node.type === 'LIF') {
    // NIR-native LIF: v ← v + (dt/τ)(v_leak − v + R·I); needs dt (graph metadata) and dt/τ a power of two or a fraction.
    throw fail(
      name,
      'LIF nodes without spikedrive metadata need dt to be converted; re-export from spikedrive or use IF',
    );
  }
  if (node.type === 'IF') {
    return {
      type: 'IF',
      threshold: uniformPerChannel(node.vThreshold, channels, name, 'v_threshold'),
      firing: 'gt',
      leak: { kind: 'none' },
      vReset: uniformPerChannel(node.vReset, channels, name, 'v_reset'),
      reset: 'hard',
      gain: uniformPerChannel(node.r, channels, name, 'r'),
      channels,
    };
  }
  throw fail(name, `${node.type} neurons have no fixed-point form in this export (LIF, IF and Threshold do)`);
}

function quantiseInt(
  values: ArrayLike<number>,
  scale: ArrayLike<number>,
  inner: number,
  bits: number | 'ternary',
): Int8Array {
  const out = new Int8Array(values.length);
  const q = bits === 'ternary' ? 1 : 2 ** (bits - 1) - 1;
  for (let i = 0; i < values.length; i++) {
    const s = scale[Math.floor(i / inner)];
    out[i] = Math.max(-q, Math.min(q, roundHalfEven(values[i] / s)));
  }
  return out;
}

/** Builds the fixed-point model of a (feed-forward) NIR graph. */
export function buildFixedModel(graph: NirGraph, options: FpgaQuantOptions): FixedModel {
  const scheme = options.weights;
  if (
    scheme.kind === 'symmetric' &&
    !(Number.isInteger(scheme.bits) && scheme.bits >= 2 && scheme.bits <= 8)
  ) {
    throw fail('weights', `weights need 2–8 bits, got ${scheme.bits}`);
  }
  const stateBits = options.stateBits ?? 16;
  if (!(Number.isInteger(stateBits) && stateBits >= 8 && stateBits <= 32))
    throw fail('stateBits', `state width must be 8–32 bits, got ${stateBits}`);
  const sim = new NirSimulator(graph);
  if (sim.recurrent) {
    sim.dispose();
    throw fail('graph', 'recurrent graphs are not supported by the fixed-point export (feed-forward only)');
  }
  const flat = sim.flatGraph();
  const shapes = sim.nodeShapes();
  sim.dispose();
  const gp = graphPopulations(flat, shapes);
  const qmax = scheme.kind === 'ternary' ? 1 : 2 ** (scheme.bits - 1) - 1;

  const inputScale = new Map<string, number>();
  for (const { name } of gp.inputs) {
    let s = options.inputScales?.[name];
    const sample = options.calibration?.get(name);
    if (s === undefined && sample !== undefined) {
      let m = 0;
      for (let i = 0; i < sample.length; i++) m = Math.max(m, Math.abs(sample[i]));
      s = Math.max(m, 1e-8) / 127;
    }
    inputScale.set(name, s ?? 1 / 127);
  }
  const spiking = new Set(options.spikingInputs ?? []);
  for (const name of spiking) {
    if (!gp.inputs.some((i) => i.name === name)) {
      throw fail(name, `spikingInputs names "${name}", which is not a graph input`);
    }
  }
  for (const pop of gp.populations) {
    for (const p of pop.projections) if (spiking.has(p.source)) p.sourceSpiking = true;
  }
  const populations: FixedPopulation[] = [];
  for (const pop of gp.populations)
    populations.push(fixedPopulation(pop, flat, scheme, qmax, stateBits, inputScale));
  return {
    scheme,
    stateBits,
    populations,
    inputs: gp.inputs.map((i) => ({
      name: i.name,
      shape: shapes.get(i.name)?.output ?? [],
      scale: inputScale.get(i.name) ?? 1,
      spiking: spiking.has(i.name),
    })),
    outputs: gp.outputs.map((o) => ({ name: o.name, source: o.source })),
    shapes,
    graph: flat,
  };
}

function fixedPopulation(
  pop: Population,
  graph: NirGraph,
  scheme: FpgaWeightScheme,
  qmax: number,
  stateBits: number,
  inputScale: Map<string, number>,
): FixedPopulation {
  const node = graph.nodes.get(pop.name) as NirNode;
  const channels = pop.shape[0] ?? 1;
  const n = pop.type === 'Readout' ? null : neuronOf(node, pop.name);
  // Population scale per channel from every incoming weight (with the neuron's input gain folded in).
  const gain = n?.gain ?? new Float64Array(channels).fill(1);
  const absmax = new Float64Array(channels);
  let absSum = 0;
  let count = 0;
  const weightOf = (p: (typeof pop.projections)[number]) =>
    p.via === null ? null : (graph.nodes.get(p.via) as Extract<NirNode, { weight: NirTensor }>);
  // AvgPool on the way is a SumPool whose 1/(kh·kw) is folded into the projection (integer sums on chip).
  const pathGain = (p: (typeof pop.projections)[number]) =>
    p.path.reduce((g, q) => {
      const x = graph.nodes.get(q) as NirNode;
      if (x.type === 'Delay') throw fail(q, 'Delay is not supported by the fixed-point export');
      return x.type === 'AvgPool2d' ? g / (x.kernelSize[0] * x.kernelSize[1]) : g;
    }, 1);
  for (const p of pop.projections) {
    const w = weightOf(p);
    if (w === null) continue;
    if (w.type === 'Conv2d' && w.groups !== 1)
      throw fail(p.via as string, 'grouped convolutions are not supported by the fixed-point export');
    if (w.type === 'Conv1d') throw fail(p.via as string, 'Conv1d is not supported by the fixed-point export');
    const g = pathGain(p);
    const scaled = {
      shape: w.weight.shape,
      data: Float64Array.from(
        w.weight.data,
        (v, i) => v * g * gain[Math.floor(i / (w.weight.data.length / w.weight.shape[0]))],
      ),
    };
    channelAbsMax(scaled, absmax);
    for (const v of scaled.data) absSum += Math.abs(v);
    count += scaled.data.length;
  }
  const scale = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    scale[c] =
      scheme.kind === 'ternary'
        ? Math.max(absSum / Math.max(count, 1), 1e-5)
        : Math.max(absmax[c] / qmax, 1e-8);
  }
  if (count === 0) {
    // Only one-to-one inputs: membrane units from the threshold (θ = 2^(stateBits−2) units).
    const th = n?.threshold[0] ?? 1;
    scale.fill(Math.max(Math.abs(th), 1e-6) / 2 ** (stateBits - 2));
  }
  const projections: FixedProjection[] = [];
  const biasReal = new Float64Array(channels);
  for (const p of pop.projections) {
    const w = weightOf(p);
    const graded = !p.sourceSpiking;
    if (graded && !inputScale.has(p.source)) {
      throw fail(
        p.source,
        `real-valued on-chip source ${p.source} feeding ${pop.name} (readouts into later layers are not supported)`,
      );
    }
    const sIn = graded ? (inputScale.get(p.source) as number) : 1;
    if (w === null) {
      // One-to-one: contribution in membrane units = x·(s_in/s[c]) (spikes: 1/s[c]).
      const g = pathGain(p);
      const mult = Float64Array.from(scale, (s, c) => (sIn * g * gain[c]) / s);
      projections.push({
        source: p.source,
        sourceSpiking: p.sourceSpiking,
        via: null,
        path: p.path,
        conv: null,
        dense: null,
        weights: null,
        requant: fixedMultipliers(mult),
      });
      continue;
    }
    const inner = w.weight.data.length / w.weight.shape[0];
    const g = pathGain(p);
    const scaled = Float64Array.from(w.weight.data, (v, i) => v * g * gain[Math.floor(i / inner)]);
    const ints = quantiseInt(scaled, scale, inner, scheme.kind === 'ternary' ? 'ternary' : scheme.bits);
    if ('bias' in w) for (let c = 0; c < channels; c++) biasReal[c] += w.bias.data[c] * gain[c];
    const dense =
      w.type === 'Affine' || w.type === 'Linear'
        ? { inFeatures: w.weight.shape[1], outFeatures: w.weight.shape[0] }
        : null;
    projections.push({
      source: p.source,
      sourceSpiking: p.sourceSpiking,
      via: p.via,
      path: p.path,
      conv: p.conv,
      dense,
      weights: ints,
      requant: graded ? fixedMultipliers(new Float64Array(channels).fill(sIn)) : null,
    });
  }
  const toUnits = (v: Float64Array) => Int32Array.from(v, (x, c) => Math.round(x / scale[c]));
  return {
    name: pop.name,
    type: n?.type ?? 'Readout',
    shape: pop.shape,
    neurons: pop.neurons,
    channels,
    scale,
    bias: toUnits(biasReal),
    threshold: n ? toUnits(n.threshold) : new Int32Array(channels),
    firing: n?.firing ?? 'geq',
    leak: n?.leak ?? { kind: 'none' },
    vReset: n ? toUnits(n.vReset) : new Int32Array(channels),
    reset: n?.reset ?? 'hard',
    stateBits,
    projections,
  };
}

/** Weight bits stored by a model (ternary packs 4 per byte: 2 bits each). */
export function fixedWeightBits(model: FixedModel): number {
  const bits = model.scheme.kind === 'ternary' ? 2 : model.scheme.bits;
  return model.populations.reduce(
    (s, p) => s + p.projections.reduce((t, q) => t + (q.weights?.length ?? 0) * bits, 0),
    0,
  );
}
