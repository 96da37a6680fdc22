import type { ActivityRecord, LayerActivity } from '../activity.ts';

/** Sums of the additive activity fields over a set of layers, plus derived firing rates. */
export interface ActivityTotals {
  layers: number;
  inputElements: number;
  inputSpikes: number;
  outputElements: number;
  outputSpikes: number;
  /** Output slots of spiking layers only, the denominator of `outputFiringRate`. */
  spikingOutputElements: number;
  synapticOps: number;
  denseMacs: number;
  equivalentMacs: number;
  neuronUpdates: number;
  paramBytesRead: number;
  stateBytesRead: number;
  stateBytesWritten: number;
  outputBits: number;
  /** Spikes per output slot over the spiking layers (0 when there are none). */
  outputFiringRate: number;
}

const SPIKING_KINDS = new Set(['lif', 'if', 'heaviside']);

/** Whether a layer emits spikes (its output firing rate is meaningful). */
export function isSpikingLayer(layer: LayerActivity): boolean {
  return SPIKING_KINDS.has(layer.kind);
}

export function emptyTotals(): ActivityTotals {
  return {
    layers: 0,
    inputElements: 0,
    inputSpikes: 0,
    outputElements: 0,
    outputSpikes: 0,
    spikingOutputElements: 0,
    synapticOps: 0,
    denseMacs: 0,
    equivalentMacs: 0,
    neuronUpdates: 0,
    paramBytesRead: 0,
    stateBytesRead: 0,
    stateBytesWritten: 0,
    outputBits: 0,
    outputFiringRate: 0,
  };
}

function add(totals: ActivityTotals, layer: LayerActivity): void {
  totals.layers += 1;
  totals.inputElements += layer.inputElements;
  totals.inputSpikes += layer.inputSpikes;
  totals.outputElements += layer.outputElements;
  totals.outputSpikes += layer.outputSpikes;
  if (isSpikingLayer(layer)) totals.spikingOutputElements += layer.outputElements;
  totals.synapticOps += layer.synapticOps;
  totals.denseMacs += layer.denseMacs;
  totals.equivalentMacs += layer.equivalentMacs;
  totals.neuronUpdates += layer.neuronUpdates;
  totals.paramBytesRead += layer.paramBytesRead;
  totals.stateBytesRead += layer.stateBytesRead;
  totals.stateBytesWritten += layer.stateBytesWritten;
  totals.outputBits += layer.outputBits;
  totals.outputFiringRate =
    totals.spikingOutputElements === 0 ? 0 : totals.outputSpikes / totals.spikingOutputElements;
}

export interface ActivityRollUp {
  /** Per pipeline module (`perception`, `prediction`, `planning`, …), in first-seen order. */
  modules: Record<string, ActivityTotals>;
  total: ActivityTotals;
  boundaryBits: Record<string, number>;
}

/** Rolls a record up per pipeline module and overall. */
export function rollUpActivity(record: ActivityRecord): ActivityRollUp {
  const modules: Record<string, ActivityTotals> = {};
  const total = emptyTotals();
  for (const layer of record.layers) {
    modules[layer.module] ??= emptyTotals();
    add(modules[layer.module], layer);
    add(total, layer);
  }
  return { modules, total, boundaryBits: { ...record.boundaryBits } };
}

/** Rolls up the layers whose name starts with a prefix (e.g. one block: `decoder.layer2.`). */
export function rollUpPrefix(record: ActivityRecord, prefix: string): ActivityTotals {
  const totals = emptyTotals();
  for (const layer of record.layers) if (layer.name.startsWith(prefix)) add(totals, layer);
  return totals;
}

/** Adds the counts of several forwards (e.g. a whole evaluation) layer by layer. */
export function accumulateActivity(records: readonly ActivityRecord[]): ActivityRecord {
  const byName = new Map<string, LayerActivity>();
  const boundaryBits: Record<string, number> = {};
  for (const record of records) {
    for (const layer of record.layers) {
      const previous = byName.get(layer.name);
      if (previous === undefined) {
        byName.set(layer.name, { ...layer });
        continue;
      }
      previous.timeSteps += layer.timeSteps;
      previous.batch += layer.batch;
      previous.inputElements += layer.inputElements;
      previous.inputSpikes += layer.inputSpikes;
      previous.inputIsSpiking = previous.inputIsSpiking && layer.inputIsSpiking;
      previous.outputElements += layer.outputElements;
      previous.outputSpikes += layer.outputSpikes;
      previous.synapticOps += layer.synapticOps;
      previous.denseMacs += layer.denseMacs;
      previous.equivalentMacs += layer.equivalentMacs;
      previous.neuronUpdates += layer.neuronUpdates;
      previous.paramBytesRead += layer.paramBytesRead;
      previous.stateBytesRead += layer.stateBytesRead;
      previous.stateBytesWritten += layer.stateBytesWritten;
      previous.outputBits += layer.outputBits;
      if (previous.calls !== undefined || layer.calls !== undefined) {
        previous.calls = (previous.calls ?? 1) + (layer.calls ?? 1);
      }
    }
    for (const [key, bits] of Object.entries(record.boundaryBits))
      boundaryBits[key] = (boundaryBits[key] ?? 0) + bits;
  }
  return { layers: [...byName.values()], boundaryBits };
}
