import type { ActivityRecord, LayerActivity } from '../snn/activity.ts';
import { SpikedriveError } from '../util/errors.ts';
import {
  COUNT_FIELDS,
  type CountField,
  parseBoundaryKey,
  recorded,
  validateActivityRecord,
} from './records.ts';

/** Layer kinds that emit spikes; a layer of another kind counts as spiking if it emitted any. */
export const DEFAULT_SPIKING_KINDS: readonly string[] = ['lif', 'if', 'plif', 'heaviside', 'spiking-gru'];

/** The summed counts of a layer or group of layers (per frame). */
export type ActivityCounts = Record<CountField, number>;

export interface LayerRollUp extends ActivityCounts {
  index: number;
  name: string;
  module: string;
  kind: string;
  timeSteps: number;
  batch: number;
  inputIsSpiking: boolean;
  /** Calls merged into this entry (1 unless the recorder merged a reused layer). */
  calls: number;
  /** Whether every time step saw the same input (sequence repetition), as recorded. */
  inputRepeatedOverTime: boolean;
  /** Whether the layer emits spikes (its kind is spiking, or it emitted some). */
  spiking: boolean;
  /** Fraction of input elements that were spikes; null where the input is real-valued. */
  inputFiringRate: number | null;
  /** Fraction of outputs that were spikes; null for a non-spiking layer. */
  outputFiringRate: number | null;
  /** (SOPs + dense MACs) / equivalent MACs: the work done relative to the dense ANN; null without MACs. */
  workRatio: number | null;
}

export interface ModuleRollUp extends ActivityCounts {
  module: string;
  layerCount: number;
  spikingLayerCount: number;
  /** Σ input spikes / Σ input elements over layers with spiking input; null if none. */
  inputFiringRate: number | null;
  /** Σ output spikes / Σ output elements over spiking layers; null if none. */
  outputFiringRate: number | null;
  workRatio: number | null;
  /** Bits this module sends to / receives from other modules, per frame. */
  boundaryBitsOut: number;
  boundaryBitsIn: number;
}

export interface ActivityRollUp {
  frames: number;
  layers: LayerRollUp[];
  /** In order of first appearance. */
  modules: ModuleRollUp[];
  /** The whole network (module name `total`). */
  total: ModuleRollUp;
  boundaries: { link: string; from: string; to: string; bits: number }[];
}

export interface RollUpOptions {
  /** Frames the record covers; counts are divided by it (rates are not). Default 1. */
  frames?: number;
  spikingKinds?: readonly string[];
  /** Only layers whose name starts with this (one block, e.g. `decoder.layer2.`). */
  prefix?: string;
}

function zeroCounts(): ActivityCounts {
  const out = {} as ActivityCounts;
  for (const f of COUNT_FIELDS) out[f] = 0;
  return out;
}

function ratio(numerator: number, denominator: number): number | null {
  return denominator > 0 ? numerator / denominator : null;
}

interface Accumulator {
  counts: ActivityCounts;
  layerCount: number;
  spikingLayerCount: number;
  spikingInputSpikes: number;
  spikingInputElements: number;
  spikingOutputSpikes: number;
  spikingOutputElements: number;
  boundaryBitsOut: number;
  boundaryBitsIn: number;
}

function newAccumulator(): Accumulator {
  return {
    counts: zeroCounts(),
    layerCount: 0,
    spikingLayerCount: 0,
    spikingInputSpikes: 0,
    spikingInputElements: 0,
    spikingOutputSpikes: 0,
    spikingOutputElements: 0,
    boundaryBitsOut: 0,
    boundaryBitsIn: 0,
  };
}

function finish(module: string, a: Accumulator): ModuleRollUp {
  return {
    module,
    ...a.counts,
    layerCount: a.layerCount,
    spikingLayerCount: a.spikingLayerCount,
    inputFiringRate: ratio(a.spikingInputSpikes, a.spikingInputElements),
    outputFiringRate: ratio(a.spikingOutputSpikes, a.spikingOutputElements),
    workRatio: ratio(a.counts.synapticOps + a.counts.denseMacs, a.counts.equivalentMacs),
    boundaryBitsOut: a.boundaryBitsOut,
    boundaryBitsIn: a.boundaryBitsIn,
  };
}

/**
 * Rolls an ActivityRecord up per layer, per module and for the whole network: firing rates, SOPs,
 * MACs, neuron updates, memory bytes and bits, per frame. The eval table, run reports and the viewer
 * all read this.
 */
export function rollUpActivity(record: ActivityRecord, options: RollUpOptions = {}): ActivityRollUp {
  validateActivityRecord(record);
  const frames = options.frames ?? 1;
  if (!Number.isFinite(frames) || frames <= 0) {
    throw new SpikedriveError(`frames is ${frames}`, {
      fix: 'Give the number of frames the record covers (> 0).',
      subject: 'frames',
    });
  }
  const spikingKinds = new Set(options.spikingKinds ?? DEFAULT_SPIKING_KINDS);
  const prefix = options.prefix ?? '';
  const modules = new Map<string, Accumulator>();
  const total = newAccumulator();
  const moduleOf = (name: string): Accumulator => {
    let a = modules.get(name);
    if (a === undefined) {
      a = newAccumulator();
      modules.set(name, a);
    }
    return a;
  };
  const add = (a: Accumulator, layer: LayerActivity, spiking: boolean): void => {
    for (const f of COUNT_FIELDS) a.counts[f] += layer[f] / frames;
    a.layerCount += 1;
    if (layer.inputIsSpiking) {
      a.spikingInputSpikes += layer.inputSpikes;
      a.spikingInputElements += layer.inputElements;
    }
    if (spiking) {
      a.spikingLayerCount += 1;
      a.spikingOutputSpikes += layer.outputSpikes;
      a.spikingOutputElements += layer.outputElements;
    }
  };

  const selected = prefix === '' ? record.layers : record.layers.filter((l) => l.name.startsWith(prefix));
  const layers: LayerRollUp[] = selected.map((layer, index) => {
    const spiking = spikingKinds.has(layer.kind) || layer.outputSpikes > 0;
    add(moduleOf(layer.module), layer, spiking);
    add(total, layer, spiking);
    const counts = zeroCounts();
    for (const f of COUNT_FIELDS) counts[f] = layer[f] / frames;
    return {
      index,
      name: layer.name,
      module: layer.module,
      kind: layer.kind,
      timeSteps: layer.timeSteps,
      batch: layer.batch,
      inputIsSpiking: layer.inputIsSpiking,
      calls: recorded(layer).calls ?? 1,
      inputRepeatedOverTime: recorded(layer).inputRepeatedOverTime === true,
      spiking,
      ...counts,
      inputFiringRate: layer.inputIsSpiking ? ratio(layer.inputSpikes, layer.inputElements) : null,
      outputFiringRate: spiking ? ratio(layer.outputSpikes, layer.outputElements) : null,
      workRatio: ratio(layer.synapticOps + layer.denseMacs, layer.equivalentMacs),
    };
  });

  const boundaries = Object.entries(record.boundaryBits).map(([link, bits]) => {
    const { from, to } = parseBoundaryKey(link);
    moduleOf(from).boundaryBitsOut += bits / frames;
    moduleOf(to).boundaryBitsIn += bits / frames;
    return { link, from, to, bits: bits / frames };
  });
  // For the whole network both directions are the bits crossing any module boundary.
  total.boundaryBitsOut = boundaries.reduce((s, b) => s + b.bits, 0);
  total.boundaryBitsIn = total.boundaryBitsOut;

  return {
    frames,
    layers,
    modules: [...modules.entries()].map(([name, a]) => finish(name, a)),
    total: finish('total', total),
    boundaries,
  };
}
