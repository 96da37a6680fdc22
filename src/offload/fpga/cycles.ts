import {
  computeEnergy,
  type EnergyReport,
  getHardwareProfile,
  hardwareProfileFrom,
} from '../../energy/index.ts';
import type { ActivityRecord, LayerActivity } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import { type FixedModel, fixedWeightBits } from './model.ts';
import type { FixedRunResult } from './runner.ts';

/**
 * A cycle and energy model of a fixed-point SNN accelerator on an FPGA. Processing elements (PEs) accumulate one
 * synaptic event per cycle each (event-driven: only input spikes cost work); MAC units (DSP slices) do one
 * multiply-accumulate per cycle for real-valued inputs; each neuron update takes one PE cycle. Weights and
 * membranes live in on-chip RAM when they fit, otherwise they stream from DDR every step, and a layer then takes
 * max(compute cycles, memory cycles). Layers of one step run one after another; steps one after another.
 * Energy is `src/energy`'s memory-aware method with the `fpga-generic` constants (parameters in block RAM, or in
 * DRAM when they do not fit on chip).
 */

export interface FpgaArchitecture {
  name: string;
  processingElements: number;
  macUnits: number;
  clockHz: number;
  memoryBytesPerS: number;
  onChipBytes: number;
}

/** A Kria K26-class part (AMD DS987): 1,248 DSPs, 5.1 Mb BRAM + 18 Mb URAM, DDR4 at 19.2 GB/s; 200 MHz design clock. */
export const DEFAULT_FPGA: FpgaArchitecture = {
  name: 'Kria K26-class FPGA, 256 PEs, 512 DSP MACs, 200 MHz',
  processingElements: 256,
  macUnits: 512,
  clockHz: 200e6,
  memoryBytesPerS: 19.2e9,
  onChipBytes: ((5.1 + 18) * 1e6) / 8,
};

export interface FpgaLayerCost {
  name: string;
  synapticOps: number;
  denseMacs: number;
  neuronUpdates: number;
  weightBytes: number;
  stateBytes: number;
  computeCycles: number;
  memoryCycles: number;
  cycles: number;
}

export interface FpgaCostReport {
  module: string;
  architecture: FpgaArchitecture;
  steps: number;
  samples: number;
  weightBytes: number;
  stateBytes: number;
  fitsOnChip: boolean;
  layers: FpgaLayerCost[];
  /** Per sample. */
  cycles: number;
  latencyS: number;
  energyJ: number;
  energy: EnergyReport;
  bound: 'compute' | 'memory';
}

/** Cycle and energy estimate for one module, from a fixed-point run's activity (`runFixedModel`). */
export function fpgaCost(
  model: FixedModel,
  run: FixedRunResult,
  options: { module: string; steps: number; samples: number; architecture?: FpgaArchitecture },
): FpgaCostReport {
  const arch = options.architecture ?? DEFAULT_FPGA;
  for (const [k, v] of Object.entries(arch)) {
    if (typeof v === 'number' && !(v > 0)) {
      throw new SpikedriveError(`FPGA ${k} must be positive, got ${v}`, {
        subject: k,
        fix: 'Give the PE count, clock and memory figures of the part.',
      });
    }
  }
  const { steps, samples } = options;
  const weightBitsPer = model.scheme.kind === 'ternary' ? 2 : model.scheme.bits;
  const weightBytes = fixedWeightBits(model) / 8;
  const stateBytes = model.populations.reduce(
    (s, p) => s + (p.type === 'Readout' || p.type === 'Threshold' ? 0 : (p.neurons * p.stateBits) / 8),
    0,
  );
  const fitsOnChip = weightBytes + stateBytes <= arch.onChipBytes;
  const bytesPerCycle = arch.memoryBytesPerS / arch.clockHz;
  const layers: FpgaLayerCost[] = model.populations.map((p) => {
    const a = run.activity.get(p.name) ?? { spikes: 0, synapticOps: 0, denseMacs: 0, neuronUpdates: 0 };
    // Activity covers all samples of the run; costs are per sample.
    const syn = a.synapticOps / samples;
    const dense = a.denseMacs / samples;
    const updates = a.neuronUpdates / samples;
    const w = p.projections.reduce((s, q) => s + ((q.weights?.length ?? 0) * weightBitsPer) / 8, 0);
    const st = p.type === 'Readout' || p.type === 'Threshold' ? 0 : (p.neurons * p.stateBits) / 8;
    const computeCycles =
      Math.ceil(syn / arch.processingElements) +
      Math.ceil(dense / arch.macUnits) +
      Math.ceil(updates / arch.processingElements);
    // Off chip: weights are read once per step, membranes read and written once per step.
    const memoryCycles = fitsOnChip ? 0 : Math.ceil((steps * (w + 2 * st)) / bytesPerCycle);
    return {
      name: p.name,
      synapticOps: syn,
      denseMacs: dense,
      neuronUpdates: updates,
      weightBytes: w,
      stateBytes: st,
      computeCycles,
      memoryCycles,
      cycles: Math.max(computeCycles, memoryCycles),
    };
  });
  const cycles = layers.reduce((s, l) => s + l.cycles, 0);
  const memoryBound =
    layers.reduce((s, l) => s + l.memoryCycles, 0) > layers.reduce((s, l) => s + l.computeCycles, 0);
  const profile = fitsOnChip
    ? getHardwareProfile('fpga-generic')
    : hardwareProfileFrom(
        {
          extends: 'fpga-generic',
          id: 'fpga-generic-ddr',
          name: 'Generic FPGA, weights and state in DDR',
          placement: { params: 'dram', state: 'dram', activations: 'sram:bram' },
        },
        'FPGA DDR profile',
      );
  const layerRecords: LayerActivity[] = layers.map((l, i) => {
    const p = model.populations[i];
    const spikes = (run.activity.get(p.name)?.spikes ?? 0) / samples;
    return {
      name: l.name,
      module: options.module,
      kind: p.type === 'Readout' ? 'readout' : p.type.toLowerCase(),
      timeSteps: steps,
      batch: 1,
      inputElements: l.denseMacs + l.synapticOps,
      inputSpikes: l.synapticOps,
      inputIsSpiking: l.denseMacs === 0,
      outputElements: p.neurons * steps,
      outputSpikes: spikes,
      synapticOps: l.synapticOps,
      denseMacs: l.denseMacs,
      equivalentMacs: l.synapticOps + l.denseMacs,
      neuronUpdates: l.neuronUpdates,
      paramBytesRead: fitsOnChip
        ? ((l.synapticOps + l.denseMacs) * weightBitsPer) / 8
        : steps * l.weightBytes,
      stateBytesRead: steps * l.stateBytes,
      stateBytesWritten: steps * l.stateBytes,
      outputBits: p.type === 'Readout' ? p.neurons * steps * p.stateBits : p.neurons * steps,
    };
  });
  const record: ActivityRecord = { layers: layerRecords, boundaryBits: {} };
  const energy = computeEnergy(record, { method: 'memory-aware', profile });
  return {
    module: options.module,
    architecture: arch,
    steps,
    samples,
    weightBytes,
    stateBytes,
    fitsOnChip,
    layers,
    cycles,
    latencyS: cycles / arch.clockHz,
    energyJ: energy.totalJ,
    energy,
    bound: memoryBound ? 'memory' : 'compute',
  };
}

/** One-line summary and a per-layer table in Markdown. */
export function formatFpgaCost(r: FpgaCostReport): string {
  const lines = [
    `# FPGA cost of \`${r.module}\``,
    '',
    `${r.architecture.name}. Weights ${(r.weightBytes / 1024).toFixed(1)} KiB + membranes ${(r.stateBytes / 1024).toFixed(1)} KiB ${r.fitsOnChip ? 'fit on chip' : 'do not fit on chip (streamed from DDR every step)'}. Per graph sample (one batch element of the graph, T = ${r.steps}; perception: one camera image): ${r.cycles.toLocaleString('en')} cycles = ${(r.latencyS * 1e3).toFixed(3)} ms (${r.bound}-bound), ${(r.energyJ * 1e6).toFixed(2)} µJ.`,
    '',
    '| layer | synaptic ops | dense MACs | neuron updates | compute cycles | memory cycles |',
    '|---|---|---|---|---|---|',
  ];
  for (const l of r.layers) {
    lines.push(
      `| \`${l.name}\` | ${Math.round(l.synapticOps).toLocaleString('en')} | ${Math.round(l.denseMacs).toLocaleString('en')} | ${Math.round(l.neuronUpdates).toLocaleString('en')} | ${l.computeCycles.toLocaleString('en')} | ${l.memoryCycles.toLocaleString('en')} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
