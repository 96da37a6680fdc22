import { computeEnergy, type EnergyReport } from '../../energy/index.ts';
import type { ActivityRecord, LayerActivity } from '../../snn/index.ts';
import type { NirGraph } from '../nir/types.ts';
import type { NodeActivity } from '../sim/simulator.ts';
import {
  firingRatesFrom,
  type GraphPopulations,
  graphPopulations,
  type Population,
  type Projection,
} from './populations.ts';
import type { TargetProfile } from './profiles.ts';

/**
 * Does a NIR graph fit a target, how is it split across chips, what crosses between them, and how long and how
 * much energy would one sample take? The model: every neuron population (plus graded readouts) needs
 * max(⌈neurons / neurons-per-core⌉, ⌈weight bits / weight-memory-per-core⌉) cores (Speck: one layer per core,
 * checked against each core's kernel and neuron memory as Sinabs does); populations fill chips in dependency order;
 * a projection whose source sits on another chip costs min(bitmap, address-event) bits per step for spikes and
 * elements × graded-spike bits for real values, once per (source, destination chip). Activity (firing rates) comes
 * from nir-sim on sample input; energy is `src/energy`'s memory-aware method with the target's constants; latency
 * runs a step's populations one after another, each spread over its cores, plus link time.
 */

export interface PopulationPlacement {
  name: string;
  type: Population['type'];
  neurons: number;
  /** Stored weight bits of its incoming projections at the target's weight width. */
  weightBits: number;
  synapses: number;
  cores: number;
  /** Chip index (first chip of a population spanning several). */
  chip: number;
  /** Speck: the layer (core) index it occupies. */
  core?: number;
  /** Why it cannot run on the target (null when it can). */
  blocker: string | null;
  caveats: string[];
  /** Synaptic ops (spiking input) and dense MACs (graded input) per sample, over all steps. */
  synapticOps: number;
  denseMacs: number;
}

export interface ChipUse {
  chip: number;
  cores: number;
  neurons: number;
  weightBits: number;
  populations: number;
}

export interface Traffic {
  from: string;
  to: string;
  /** Bits per sample and step (spikes: min(bitmap, AER); graded: elements × graded bits). */
  bitsPerStep: number;
  bitsPerSample: number;
}

export interface TargetCheckReport {
  target: { id: string; name: string; toolchain: string };
  /** Every population can run on the target (possibly over several chips). */
  fits: boolean;
  fitsOneChip: boolean;
  chips: number;
  steps: number;
  populations: PopulationPlacement[];
  chipUse: ChipUse[];
  traffic: Traffic[];
  /** Problems that keep the graph (or parts) off the target, with numbers. */
  blockers: string[];
  caveats: string[];
  totals: {
    neurons: number;
    weightBits: number;
    synapses: number;
    cores: number;
    interChipBitsPerSample: number;
    hostBitsPerSample: number;
  };
  latency: { perStepS: number; perSampleS: number; computeS: number; linkS: number };
  energy: { perSampleJ: number; components: EnergyReport['components']; notes: string[] };
  /** Where the firing rates came from. */
  activitySource: string;
}

export interface TargetCheckOptions {
  /** SNN steps per sample (T). */
  steps: number;
  /** Per-node activity from nir-sim (countActivity); absent → `defaultRate` for every population. */
  activity?: Map<string, NodeActivity> | null;
  /** Firing rate assumed where no activity was measured. Default 0.1. */
  defaultRate?: number;
  /** Node shapes (nir-sim `nodeShapes()`), NIR order. */
  shapes: Map<string, { input: number[] | null; output: number[] | null }>;
  activitySource?: string;
}

function log2ceil(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

/** Speck kernel memory entries for a conv (Sinabs overview: c · 2^(⌈log2(kx·ky)⌉ + ⌈log2 f⌉)). */
export function speckKernelEntries(
  inChannels: number,
  outChannels: number,
  kernel: [number, number],
): number {
  return inChannels * 2 ** (log2ceil(kernel[0] * kernel[1]) + log2ceil(outChannels));
}

function projectionWeightBits(
  p: Projection,
  target: TargetProfile,
  neurons: number,
): { bits: number; synapses: number } {
  const bitsPer = target.limits.weightBits;
  if (p.via === null) {
    // One-to-one (identity or pooled) connection: native targets need no weights for it; unrolled ones a synapse each.
    return target.limits.conv === 'unrolled'
      ? { bits: p.connections * bitsPer, synapses: p.connections }
      : { bits: 0, synapses: neurons };
  }
  if (p.conv !== null && target.limits.conv === 'unrolled')
    return { bits: p.connections * bitsPer, synapses: p.connections };
  return { bits: p.weights * bitsPer, synapses: p.conv === null ? p.weights : p.connections };
}

function speckBlocker(
  pop: Population,
  target: TargetProfile,
): { blocker: string | null; kernelEntries: number } {
  const l = target.limits;
  const convs = pop.projections.filter((p) => p.via !== null);
  if (pop.projections.length > (l.projectionsPerCore ?? Number.POSITIVE_INFINITY)) {
    const kinds = new Set(pop.projections.map((p) => p.via ?? 'identity'));
    if (kinds.size > 1) {
      return {
        blocker: `${pop.projections.length} projections add up into it (a residual/membrane-shortcut sum); a Speck layer has one convolution kernel`,
        kernelEntries: 0,
      };
    }
  }
  let kernelEntries = 0;
  for (const p of convs) {
    const c = p.conv;
    if (c === null) {
      // Linear becomes a 1×1 conv on Speck.
      kernelEntries += speckKernelEntries(p.sourceElements, pop.neurons, [1, 1]);
      continue;
    }
    if (c.kernel[0] > (l.maxKernel ?? 99) || c.kernel[1] > (l.maxKernel ?? 99))
      return { blocker: `kernel ${c.kernel.join('×')} exceeds ${l.maxKernel}×${l.maxKernel}`, kernelEntries };
    if (l.strides && !(l.strides.includes(c.stride[0]) && l.strides.includes(c.stride[1])))
      return { blocker: `stride ${c.stride.join('×')} not in {${l.strides.join(', ')}}`, kernelEntries };
    if (c.padding[0] > (l.maxPadding ?? 99) || c.padding[1] > (l.maxPadding ?? 99))
      return { blocker: `padding ${c.padding.join('×')} exceeds ${l.maxPadding}`, kernelEntries };
    if (c.dilation[0] > 1 || c.dilation[1] > 1)
      return { blocker: `dilation ${c.dilation.join('×')} (DYNAP-CNN has none)`, kernelEntries };
    if (c.inChannels > (l.maxChannels ?? 1e9) || c.outChannels > (l.maxChannels ?? 1e9))
      return {
        blocker: `${Math.max(c.inChannels, c.outChannels)} channels exceed ${l.maxChannels}`,
        kernelEntries,
      };
    if (c.inputSize[0] > (l.maxInputSize ?? 1e9) || c.inputSize[1] > (l.maxInputSize ?? 1e9))
      return {
        blocker: `input ${c.inputSize.join('×')} exceeds ${l.maxInputSize}×${l.maxInputSize}`,
        kernelEntries,
      };
    if (c.outputSize[0] > (l.maxOutputSize ?? 1e9) || c.outputSize[1] > (l.maxOutputSize ?? 1e9))
      return {
        blocker: `output map ${c.outputSize.join('×')} exceeds ${l.maxOutputSize}×${l.maxOutputSize}`,
        kernelEntries,
      };
    kernelEntries += speckKernelEntries(c.inChannels, c.outChannels, c.kernel);
  }
  return { blocker: null, kernelEntries };
}

/** Checks a graph against a target and plans its placement (see the module comment for the model). */
export function checkTarget(
  graph: NirGraph,
  target: TargetProfile,
  options: TargetCheckOptions,
): TargetCheckReport {
  const l = target.limits;
  const steps = options.steps;
  const rates = firingRatesFrom(options.activity ?? null);
  const defaultRate = options.defaultRate ?? 0.1;
  const rateOf = (name: string) => rates.get(name) ?? defaultRate;
  const gp: GraphPopulations = graphPopulations(graph, options.shapes);
  const blockers: string[] = [];
  const caveats: string[] = [];
  const nodeTypes = new Set([...graph.nodes.values()].map((n) => n.type));
  // Rewrites that keep the numbers: a stateless Threshold is a LIF with τ = dt (v = R·I every step, then fire),
  // and an AvgPool2d is a SumPool2d whose 1/(kh·kw) folds into the weights of the projection it feeds.
  const thresholdAsLif = !l.primitives.includes('Threshold') && l.primitives.includes('LIF') && l.exactLif;
  const avgAsSum = !l.primitives.includes('AvgPool2d') && l.primitives.includes('SumPool2d');
  if (thresholdAsLif && nodeTypes.has('Threshold')) {
    caveats.push(
      `${target.toolchain} reads no Threshold: each becomes a LIF with τ = dt, R = 1, v_leak = 0 (v = I every step, then fire: the same spikes)`,
    );
  }
  if (avgAsSum && nodeTypes.has('AvgPool2d')) {
    caveats.push(
      `${target.toolchain} reads no AvgPool2d: each becomes a SumPool2d with 1/(kh·kw) folded into the next projection's weights`,
    );
  }
  const unsupported = [...nodeTypes].filter(
    (t) =>
      t !== 'NIRGraph' &&
      t !== 'Scale' &&
      !l.primitives.includes(t) &&
      !(t === 'Threshold' && thresholdAsLif) &&
      !(t === 'AvgPool2d' && avgAsSum),
  );
  if (unsupported.length > 0) {
    blockers.push(`${target.toolchain} reads no ${unsupported.join(', ')} (NIR supported primitives)`);
  }
  const nonIdentityScale = [...graph.nodes.values()].some(
    (n) => n.type === 'Scale' && Array.from(n.scale.data).some((v) => v !== 1),
  );
  if (nonIdentityScale && !l.primitives.includes('Scale'))
    blockers.push(`${target.toolchain} reads no Scale`);

  // Xylo-style chip-wide caps on inputs and outputs.
  if (l.maxInputChannels !== undefined) {
    const inputs = gp.inputs.reduce((s, i) => s + i.elements, 0);
    if (inputs > l.maxInputChannels)
      blockers.push(`${inputs} input channels per step exceed the chip's ${l.maxInputChannels}`);
  }
  if (l.maxOutputNeurons !== undefined) {
    const outs = gp.outputs.reduce((s, o) => s + o.elements, 0);
    if (outs > l.maxOutputNeurons)
      blockers.push(`${outs} outputs exceed the chip's ${l.maxOutputNeurons} readout neurons`);
  }

  const placements: PopulationPlacement[] = [];
  const speckFree: boolean[][] = [];
  let chip = 0;
  let coresUsed = 0;
  let neuronsOnChip = 0;
  let synapsesOnChip = 0;
  const nextChip = () => {
    chip++;
    coresUsed = 0;
    neuronsOnChip = 0;
    synapsesOnChip = 0;
  };
  for (const pop of gp.populations) {
    const caveatsHere: string[] = [];
    let blocker: string | null = null;
    let weightBits = 0;
    let synapses = 0;
    let synapticOps = 0;
    let denseMacs = 0;
    for (const p of pop.projections) {
      const w = projectionWeightBits(p, target, pop.neurons);
      weightBits += w.bits;
      synapses += w.synapses;
      if (p.sourceSpiking) synapticOps += p.connections * rateOf(p.source) * steps;
      else {
        denseMacs += p.connections * steps;
        if (l.gradedSpikeBits === 0)
          blocker ??= `its input from ${p.source} is real-valued; ${target.name} takes binary events only`;
      }
    }
    if (pop.type === 'Readout' && l.gradedSpikeBits === 0) {
      blocker ??= 'a real-valued sum (membrane shortcut) leaves here; the chip emits binary events only';
    }
    if ((pop.type === 'LIF' || pop.type === 'CubaLIF') && !l.exactLif)
      caveatsHere.push('LIF leak has no exact form (IAF/bit-shift neurons)');
    if (pop.type === 'Threshold' && !l.primitives.includes('Threshold') && !thresholdAsLif)
      blocker ??= 'a stateless Threshold (SAD’s Heaviside) is not read by the toolchain';
    let cores: number;
    let core: number | undefined;
    if (l.perCore !== undefined) {
      const s = speckBlocker(pop, target);
      blocker ??= s.blocker;
      cores = 1;
      // One population per layer: the smallest free layer whose kernel and neuron memories both fit.
      const fitsCore = (k: number) =>
        s.kernelEntries <= (l.perCore as { kernelEntries: number[] }).kernelEntries[k] &&
        pop.neurons <= (l.perCore as { neuronEntries: number[] }).neuronEntries[k];
      const candidates = [...Array(l.coresPerChip).keys()].filter(fitsCore);
      if (candidates.length === 0) {
        blocker ??= `needs ${s.kernelEntries} kernel and ${pop.neurons} neuron memory entries; the largest layers hold 64 Ki kernel / 64 Ki neuron entries`;
      } else {
        let placed = false;
        for (let c = 0; c <= speckFree.length && !placed; c++) {
          speckFree[c] ??= new Array(l.coresPerChip).fill(true);
          const free = candidates
            .filter((k) => speckFree[c][k])
            .sort(
              (a, b) =>
                (l.perCore as { kernelEntries: number[] }).kernelEntries[a] -
                (l.perCore as { kernelEntries: number[] }).kernelEntries[b],
            );
          if (free.length > 0) {
            speckFree[c][free[0]] = false;
            chip = c;
            core = free[0];
            placed = true;
          }
        }
      }
    } else {
      const byNeurons = Number.isFinite(l.neuronsPerCore.value)
        ? Math.ceil(pop.neurons / l.neuronsPerCore.value)
        : 0;
      const byWeights = Math.ceil(weightBits / l.weightBitsPerCore.value);
      cores = Math.max(1, byNeurons, byWeights);
      const stateCores = Number.isFinite(l.neuronsPerCore.value)
        ? 0
        : Math.ceil((pop.neurons * l.stateBits) / l.weightBitsPerCore.value);
      cores = Math.max(cores, stateCores);
      if (l.coresPerChip === 1) {
        // A single-core chip (Xylo): chip-wide caps are the limits.
        if (pop.neurons > l.neuronsPerChip.value)
          blocker ??= `${pop.neurons} neurons exceed the chip's ${l.neuronsPerChip.value}`;
        if (l.synapsesPerChip && synapses > l.synapsesPerChip.value)
          blocker ??= `${synapses} synapses (convolution unrolled) exceed the chip's ${l.synapsesPerChip.value}`;
      }
      if (
        coresUsed + cores > l.coresPerChip ||
        neuronsOnChip + pop.neurons > l.neuronsPerChip.value ||
        (l.synapsesPerChip !== undefined && synapsesOnChip + synapses > l.synapsesPerChip.value)
      ) {
        if (coresUsed > 0) nextChip();
      }
      coresUsed += cores;
      neuronsOnChip += pop.neurons;
      synapsesOnChip += synapses;
      if (coresUsed > l.coresPerChip) {
        // A population larger than a chip spans several.
        const span = Math.ceil(coresUsed / l.coresPerChip);
        caveatsHere.push(`spans ${span} chips`);
        chip += span - 1;
        coresUsed = coresUsed - (span - 1) * l.coresPerChip;
      }
    }
    const placement: PopulationPlacement = {
      name: pop.name,
      type: pop.type,
      neurons: pop.neurons,
      weightBits,
      synapses,
      cores,
      chip,
      blocker,
      caveats: caveatsHere,
      synapticOps,
      denseMacs,
    };
    if (core !== undefined) placement.core = core;
    placements.push(placement);
  }
  for (const p of placements) if (p.blocker !== null) blockers.push(`${p.name}: ${p.blocker}`);
  const chips = Math.max(1, ...placements.map((p) => p.chip + 1));

  // Traffic between chips and to/from the host, per sample and step.
  const chipOf = new Map(placements.map((p) => [p.name, p.chip]));
  const popByName = new Map(gp.populations.map((p) => [p.name, p]));
  const spikeBits = (source: string, elements: number) =>
    Math.min(elements, Math.ceil(elements * rateOf(source)) * Math.max(1, log2ceil(elements)));
  const gradedBits = Math.max(l.gradedSpikeBits, 8);
  const flows = new Map<string, number>();
  const addFlow = (from: string, to: string, bits: number) =>
    flows.set(`${from}\u0000${to}`, (flows.get(`${from}\u0000${to}`) ?? 0) + bits);
  const sent = new Set<string>();
  for (const target_ of gp.populations) {
    const dst = chipOf.get(target_.name) ?? 0;
    for (const p of target_.projections) {
      const src = chipOf.get(p.source);
      const from = src === undefined ? 'host' : `chip${src}`;
      if (src === dst) continue;
      const key = `${p.source}\u0000${dst}`;
      if (sent.has(key)) continue;
      sent.add(key);
      const spiking = p.sourceSpiking && popByName.has(p.source);
      addFlow(
        from,
        `chip${dst}`,
        spiking
          ? spikeBits(p.source, p.sourceElements)
          : p.sourceElements * (src === undefined ? 32 : gradedBits),
      );
    }
  }
  for (const o of gp.outputs) {
    const src = chipOf.get(o.source) ?? 0;
    addFlow(`chip${src}`, 'host', o.spiking ? spikeBits(o.source, o.elements) : o.elements * 32);
  }
  const traffic: Traffic[] = [...flows].map(([k, bits]) => {
    const [from, to] = k.split('\u0000');
    return { from, to, bitsPerStep: bits, bitsPerSample: bits * steps };
  });
  const interChip = traffic
    .filter((t) => t.from !== 'host' && t.to !== 'host')
    .reduce((s, t) => s + t.bitsPerSample, 0);
  const host = traffic
    .filter((t) => t.from === 'host' || t.to === 'host')
    .reduce((s, t) => s + t.bitsPerSample, 0);

  // Latency: a step's populations in order, each over its cores; links at their bandwidth plus one hop each. On a
  // target whose neurons are time-multiplexed (the FPGA) every population uses all processing elements in turn, as
  // the FPGA cycle model does.
  const timeMultiplexed = !Number.isFinite(l.neuronsPerCore.value);
  let computeS = 0;
  for (const p of placements) {
    const perStep = (p.synapticOps + p.denseMacs) / steps;
    const parallel = timeMultiplexed ? l.coresPerChip : p.cores;
    computeS +=
      (perStep / parallel) * target.timing.synOpS.value +
      (p.neurons / parallel) * target.timing.neuronUpdateS.value;
  }
  computeS *= steps;
  const linkS = traffic.reduce(
    (s, t) =>
      s + (t.bitsPerSample / target.timing.linkBitsPerS.value + steps * target.timing.linkLatencyS.value),
    0,
  );

  // Energy through src/energy (memory-aware), one layer per population, modules = chips.
  const layers: LayerActivity[] = placements.map((p) => {
    const pop = popByName.get(p.name) as Population;
    const inputElements = pop.projections.reduce((s, q) => s + q.sourceElements, 0) * steps;
    const outputSpikes = pop.type === 'Readout' ? 0 : Math.round(p.neurons * steps * rateOf(p.name));
    const stateBytes = (p.neurons * steps * l.stateBits) / 8;
    return {
      name: p.name,
      module: `chip${p.chip}`,
      kind: pop.type === 'Readout' ? 'readout' : pop.type.toLowerCase(),
      timeSteps: steps,
      batch: 1,
      inputElements,
      inputSpikes: Math.round(
        pop.projections.reduce((s, q) => s + q.sourceElements * (q.sourceSpiking ? rateOf(q.source) : 1), 0) *
          steps,
      ),
      inputIsSpiking: pop.projections.every((q) => q.sourceSpiking),
      outputElements: p.neurons * steps,
      outputSpikes,
      synapticOps: p.synapticOps,
      denseMacs: p.denseMacs,
      equivalentMacs: pop.projections.reduce((s, q) => s + q.connections, 0) * steps,
      neuronUpdates: p.neurons * steps,
      paramBytesRead: ((p.synapticOps + p.denseMacs) * l.weightBits) / 8,
      stateBytesRead: stateBytes,
      stateBytesWritten: stateBytes,
      outputBits: pop.type === 'Readout' ? p.neurons * steps * gradedBits : p.neurons * steps,
    };
  });
  const boundaryBits: Record<string, number> = {};
  for (const t of traffic)
    boundaryBits[`${t.from}->${t.to}`] = (boundaryBits[`${t.from}->${t.to}`] ?? 0) + t.bitsPerSample;
  const record: ActivityRecord = { layers, boundaryBits };
  const energy = computeEnergy(record, { method: 'memory-aware', profile: target.energy });

  if (chips > 1 && (target.id === 'speck' || target.id === 'xylo'))
    caveats.push(
      `${target.name} has no chip-to-chip interconnect: chips would exchange events through the host`,
    );
  if (!options.activity)
    caveats.push(`no measured activity: every population assumed to fire at ${defaultRate}`);
  if (target.energy.estimate)
    caveats.push(`energy constants of ${target.energy.name} are estimates (see the profile notes)`);
  const anyEstimate = [
    l.neuronsPerCore,
    l.weightBitsPerCore,
    target.timing.synOpS,
    target.timing.linkBitsPerS,
  ].some((c) => c.estimate);
  if (anyEstimate)
    caveats.push('some limits and timings are estimates (listed with their basis in docs/offload.md)');

  // Chips that only continue a population spanning several (no population starts there) are not listed.
  const chipUse: ChipUse[] = [];
  for (let c = 0; c < chips; c++) {
    const here = placements.filter((p) => p.chip === c);
    if (here.length === 0) continue;
    chipUse.push({
      chip: c,
      cores: here.reduce((s, p) => s + p.cores, 0),
      neurons: here.reduce((s, p) => s + p.neurons, 0),
      weightBits: here.reduce((s, p) => s + p.weightBits, 0),
      populations: here.length,
    });
  }
  return {
    target: { id: target.id, name: target.name, toolchain: target.toolchain },
    fits: blockers.length === 0,
    fitsOneChip: blockers.length === 0 && chips === 1,
    chips,
    steps,
    populations: placements,
    chipUse,
    traffic,
    blockers,
    caveats,
    totals: {
      neurons: placements.reduce((s, p) => s + p.neurons, 0),
      weightBits: placements.reduce((s, p) => s + p.weightBits, 0),
      synapses: placements.reduce((s, p) => s + p.synapses, 0),
      cores: placements.reduce((s, p) => s + p.cores, 0),
      interChipBitsPerSample: interChip,
      hostBitsPerSample: host,
    },
    latency: { perStepS: (computeS + linkS) / steps, perSampleS: computeS + linkS, computeS, linkS },
    energy: { perSampleJ: energy.totalJ, components: energy.components, notes: energy.notes },
    activitySource: options.activitySource ?? (options.activity ? 'nir-sim' : `assumed rate ${defaultRate}`),
  };
}

function si(n: number, unit: string): string {
  const a = Math.abs(n);
  if (a === 0) return `0 ${unit}`;
  const prefixes: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
    [1, ''],
    [1e-3, 'm'],
    [1e-6, 'µ'],
    [1e-9, 'n'],
    [1e-12, 'p'],
  ];
  for (const [f, p] of prefixes) if (a >= f) return `${(n / f).toPrecision(3)} ${p}${unit}`;
  return `${n.toExponential(2)} ${unit}`;
}

/** The report as Markdown (what `spikedrive offload check` prints and the docs commit). */
export function formatTargetCheck(r: TargetCheckReport, title?: string): string {
  const lines = [
    `# ${title ?? `Offload check: ${r.target.name}`}`,
    '',
    `Target \`${r.target.id}\` (${r.target.toolchain}). T = ${r.steps} steps per graph sample; activity: ${r.activitySource}.`,
    '',
    `**${r.fits ? (r.fitsOneChip ? 'Fits on one chip.' : `Fits on ${r.chips} chips.`) : 'Does not fit.'}** ${r.totals.neurons.toLocaleString('en')} neurons, ${si(r.totals.weightBits / 8, 'B')} of weights, ${r.totals.synapses.toLocaleString('en')} synapses, ${r.totals.cores} cores over ${r.chips} chip(s).`,
    '',
    `Per graph sample (one batch element of the module's graph; perception: one camera image): latency ≈ ${si(r.latency.perSampleS, 's')} (compute ${si(r.latency.computeS, 's')}, links ${si(r.latency.linkS, 's')}); energy ≈ ${si(r.energy.perSampleJ, 'J')}; inter-chip traffic ${si(r.totals.interChipBitsPerSample, 'bit')}, host traffic ${si(r.totals.hostBitsPerSample, 'bit')}.`,
    '',
  ];
  if (r.blockers.length > 0) {
    lines.push('## What does not fit', '');
    const shown = r.blockers.slice(0, 40);
    for (const b of shown) lines.push(`- ${b}`);
    if (r.blockers.length > shown.length)
      lines.push(`- … and ${r.blockers.length - shown.length} more (see the JSON report)`);
    lines.push('');
  }
  lines.push(
    '## Chips',
    '',
    'Chips where a population starts (a population larger than a chip continues on the next ones, not listed).',
    '',
    '| chip | populations | cores | neurons | weights |',
    '|---|---|---|---|---|',
  );
  for (const c of r.chipUse.slice(0, 50))
    lines.push(
      `| ${c.chip} | ${c.populations} | ${c.cores} | ${c.neurons.toLocaleString('en')} | ${si(c.weightBits / 8, 'B')} |`,
    );
  if (r.chipUse.length > 50) lines.push(`| … | ${r.chipUse.length - 50} more chips | | | |`);
  lines.push('', '## Traffic', '', '| from | to | bits/step | bits/graph sample |', '|---|---|---|---|');
  for (const t of r.traffic.slice(0, 60))
    lines.push(
      `| ${t.from} | ${t.to} | ${Math.round(t.bitsPerStep).toLocaleString('en')} | ${Math.round(t.bitsPerSample).toLocaleString('en')} |`,
    );
  if (r.traffic.length > 60) lines.push(`| … | ${r.traffic.length - 60} more links | | |`);
  lines.push(
    '',
    '## Energy per graph sample (memory-aware method, src/energy)',
    '',
    '| component | J |',
    '|---|---|',
  );
  for (const [k, v] of Object.entries(r.energy.components)) lines.push(`| ${k} | ${v.toExponential(3)} |`);
  lines.push(
    '',
    '## Populations',
    '',
    '| population | type | neurons | cores | chip | weights | synaptic ops/graph sample | status |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const p of r.populations) {
    lines.push(
      `| \`${p.name}\` | ${p.type} | ${p.neurons.toLocaleString('en')} | ${p.cores}${p.core !== undefined ? ` (layer ${p.core})` : ''} | ${p.chip} | ${si(p.weightBits / 8, 'B')} | ${si(p.synapticOps + p.denseMacs, '')} | ${p.blocker === null ? (p.caveats.length > 0 ? p.caveats.join('; ') : 'ok') : `**${p.blocker}**`} |`,
    );
  }
  if (r.caveats.length > 0) {
    lines.push('', '## Caveats', '');
    for (const c of r.caveats) lines.push(`- ${c}`);
  }
  return `${lines.join('\n')}\n`;
}
