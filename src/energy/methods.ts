import type { ActivityRecord, LayerActivity } from '../snn/activity.ts';
import { SpikedriveError } from '../util/errors.ts';
import { type HardwareProfile, type MemoryPlacement, type MemoryPlacements, memoryFor } from './profile.ts';
import { parseBoundaryKey, recorded, validateActivityRecord } from './records.ts';
import { formatCount as fmtCount, formatJoules } from './units.ts';

/**
 * `sad-paper`: the SAD paper's App. F convention (after Yao et al.): E_MAC × MACs of the first layer
 * (real-valued input) + E_AC × SOPs of every other conv/linear layer; nothing else.
 * `memory-aware`: every recorded count × its cost: ACs, MACs, neuron updates, parameter, state and
 * activation memory traffic, and bits crossing module boundaries.
 * `ann-equivalent`: E_MAC × the dense MACs the same network would do as an ANN.
 */
export type EnergyMethod = 'sad-paper' | 'memory-aware' | 'ann-equivalent';
export const ENERGY_METHODS: readonly EnergyMethod[] = ['sad-paper', 'memory-aware', 'ann-equivalent'];

/** What the energy went into. */
export type EnergyComponent =
  | 'mac'
  | 'ac'
  | 'neuron'
  | 'paramMemory'
  | 'stateMemory'
  | 'activationMemory'
  | 'transfer';
export const ENERGY_COMPONENTS: readonly EnergyComponent[] = [
  'mac',
  'ac',
  'neuron',
  'paramMemory',
  'stateMemory',
  'activationMemory',
  'transfer',
];

/** The coarse breakdown: compute (MAC + AC), neuron updates, memory traffic, boundary transfer. */
export type EnergyGroup = 'compute' | 'neuron' | 'memory' | 'transfer';
export const ENERGY_GROUPS: readonly EnergyGroup[] = ['compute', 'neuron', 'memory', 'transfer'];
export const COMPONENT_GROUP: Readonly<Record<EnergyComponent, EnergyGroup>> = {
  mac: 'compute',
  ac: 'compute',
  neuron: 'neuron',
  paramMemory: 'memory',
  stateMemory: 'memory',
  activationMemory: 'memory',
  transfer: 'transfer',
};

/** Joules per component. */
export type ComponentEnergies = Record<EnergyComponent, number>;
/** Joules per group. */
export type GroupEnergies = Record<EnergyGroup, number>;

/** Layer kinds the paper counts as synapses (its "conv" and "fc"). */
export const DEFAULT_SYNAPTIC_KINDS: readonly string[] = [
  'conv1d',
  'conv2d',
  'conv3d',
  'convtranspose2d',
  'linear',
  'gru',
  'gru-cell',
];

export interface EnergyOptions {
  method: EnergyMethod;
  profile: HardwareProfile;
  /** Frames (samples) the record covers; every output is per frame. Default 1. */
  frames?: number;
  /**
   * sad-paper: whether the first layer's MACs count every recorded time step (×T) or once (÷T, as the
   * input repeats). Papers differ; the report prints the choice. Default false (counted once).
   */
  firstLayerTimesT?: boolean;
  /** sad-paper: the name of the first (encoding) layer; default the first synaptic layer with real input. */
  firstLayer?: string;
  /**
   * sad-paper: how later layers that see real-valued input are charged. `as-sops` (default, the
   * paper's arithmetic: every layer after the first is SOPs at E_AC, firing rate 1 for real input) or
   * `as-macs` (E_MAC, as syops-counter does).
   */
  realInputLayers?: 'as-sops' | 'as-macs';
  /** sad-paper: kinds counted as conv/fc synapses. Default DEFAULT_SYNAPTIC_KINDS. */
  synapticKinds?: readonly string[];
  /**
   * Name prefixes of layers whose time steps repeat one input (SAD's encoder: `encoder.`). Their ANN
   * equivalent runs once, so it is their equivalent MACs ÷ T. Layers recorded with
   * `inputRepeatedOverTime: true` are treated so whatever their name. Default none.
   */
  repeatedInputPrefixes?: readonly string[];
  /** memory-aware: where parameters, state and activations live; default the profile's placement. */
  placement?: Partial<MemoryPlacements>;
  /** memory-aware: picojoules per bit for named links (`perception->prediction`), overriding the profile. */
  boundaryPjPerBit?: Readonly<Record<string, number>>;
  /** The profile the ANN-equivalent comparison runs on; default `profile`. */
  annProfile?: HardwareProfile;
}

/** The options a report was computed with, after defaults (printed with every report). */
export interface EnergySettings {
  firstLayer: string | null;
  firstLayerTimesT: boolean;
  realInputLayers: 'as-sops' | 'as-macs';
  synapticKinds: string[];
  repeatedInputPrefixes: string[];
  placement: MemoryPlacements;
  boundaryPjPerBit: Record<string, number>;
}

/** The operation counts (per frame) a layer's energy was computed from. */
export interface CountedOps {
  macs: number;
  acs: number;
  neuronUpdates: number;
  paramBits: number;
  stateReadBits: number;
  stateWriteBits: number;
  activationBits: number;
  /** MACs of the ANN equivalent. */
  annMacs: number;
}

export interface LayerEnergy {
  /** Position in the record (execution order). */
  index: number;
  name: string;
  module: string;
  kind: string;
  /** Joules per frame. */
  energyJ: number;
  components: ComponentEnergies;
  counted: CountedOps;
  /** How the method treated the layer, e.g. `first layer: MACs ÷T (T=4)`. */
  treatment: string;
  /** Joules per frame of the ANN equivalent of this layer. */
  annEquivalentJ: number;
}

export interface BoundaryEnergy {
  link: string;
  from: string;
  to: string;
  /** Bits per frame. */
  bits: number;
  pjPerBit: number;
  /** Joules per frame (0 under methods that ignore transfer). */
  energyJ: number;
}

export interface ModuleEnergy {
  module: string;
  energyJ: number;
  components: ComponentEnergies;
  groups: GroupEnergies;
  layerCount: number;
  annEquivalentJ: number;
}

export interface EnergyReport {
  method: EnergyMethod;
  profile: { id: string; name: string; technology: string; estimate: boolean; eventDriven: boolean };
  annProfileId: string;
  settings: EnergySettings;
  frames: number;
  layers: LayerEnergy[];
  /** In order of first appearance; boundary transfer is charged to the sending module. */
  modules: ModuleEnergy[];
  boundaries: BoundaryEnergy[];
  /** Joules per frame. */
  totalJ: number;
  components: ComponentEnergies;
  groups: GroupEnergies;
  /** E_MAC × equivalent MACs of all layers on the ANN profile, joules per frame. */
  annEquivalentJ: number;
  /** annEquivalentJ / totalJ: how many times less energy the SNN needs (the paper's "75.03×"); null at 0 J. */
  annToSnnRatio: number | null;
  /** annEquivalentJ / compute energy: the same ratio with both sides compute-only; null at 0 J. */
  annToSnnComputeRatio: number | null;
  /** Caveats: conventions chosen, layers not counted, estimate flags. */
  notes: string[];
}

export function zeroComponents(): ComponentEnergies {
  return { mac: 0, ac: 0, neuron: 0, paramMemory: 0, stateMemory: 0, activationMemory: 0, transfer: 0 };
}

export function groupComponents(components: ComponentEnergies): GroupEnergies {
  const groups: GroupEnergies = { compute: 0, neuron: 0, memory: 0, transfer: 0 };
  for (const c of ENERGY_COMPONENTS) groups[COMPONENT_GROUP[c]] += components[c];
  return groups;
}

function sumComponents(components: ComponentEnergies): number {
  let total = 0;
  for (const c of ENERGY_COMPONENTS) total += components[c];
  return total;
}

function addInto(target: ComponentEnergies, source: ComponentEnergies): void {
  for (const c of ENERGY_COMPONENTS) target[c] += source[c];
}

const PJ = 1e-12;

function optionError(message: string, option: string, fix: string): SpikedriveError {
  return new SpikedriveError(message, { fix, subject: option });
}

/** The dense MACs a layer would do as an ANN layer (a recorder may leave equivalentMacs at 0 on real input). */
function denseEquivalent(layer: LayerActivity): number {
  return Math.max(layer.equivalentMacs, layer.denseMacs);
}

function resolveSettings(record: ActivityRecord, options: EnergyOptions): EnergySettings {
  const synapticKinds = [...(options.synapticKinds ?? DEFAULT_SYNAPTIC_KINDS)];
  let firstLayer: string | null = null;
  if (options.firstLayer !== undefined) {
    if (!record.layers.some((l) => l.name === options.firstLayer)) {
      const names = record.layers.slice(0, 5).map((l) => l.name);
      throw optionError(
        `firstLayer "${options.firstLayer}" is not a layer of the activity record`,
        'firstLayer',
        `Give the name of a recorded layer (the record starts ${names.join(', ')}${record.layers.length > 5 ? ', …' : ''}).`,
      );
    }
    firstLayer = options.firstLayer;
  } else {
    const kinds = new Set(synapticKinds);
    firstLayer = record.layers.find((l) => kinds.has(l.kind) && !l.inputIsSpiking)?.name ?? null;
  }
  const placement: MemoryPlacements = { ...options.profile.placement, ...options.placement };
  for (const key of ['params', 'state', 'activations'] as const) {
    // Fails with the list of valid placements when one names memory the profile lacks.
    memoryFor(options.profile, placement[key] as MemoryPlacement);
  }
  const boundaryPjPerBit: Record<string, number> = {};
  for (const [link, pj] of Object.entries(options.boundaryPjPerBit ?? {})) {
    if (!(link in record.boundaryBits)) {
      const known = Object.keys(record.boundaryBits).join(', ') || 'none';
      throw optionError(
        `boundaryPjPerBit names link "${link}", which the activity record does not have`,
        'boundaryPjPerBit',
        `Use one of the record's links: ${known}.`,
      );
    }
    if (!Number.isFinite(pj) || pj < 0) {
      throw optionError(
        `boundaryPjPerBit["${link}"] is ${pj}`,
        'boundaryPjPerBit',
        'Give picojoules per bit as a finite number ≥ 0.',
      );
    }
    boundaryPjPerBit[link] = pj;
  }
  return {
    firstLayer,
    firstLayerTimesT: options.firstLayerTimesT ?? false,
    realInputLayers: options.realInputLayers ?? 'as-sops',
    synapticKinds,
    repeatedInputPrefixes: [...(options.repeatedInputPrefixes ?? [])],
    placement,
    boundaryPjPerBit,
  };
}

function pjPerBit(profile: HardwareProfile, placement: MemoryPlacement, op: 'read' | 'write'): number {
  const memory = memoryFor(profile, placement);
  if (memory === undefined) return 0;
  return op === 'read' ? memory.readPerBit.pj : memory.writePerBit.pj;
}

/**
 * Energy of one activity record under one method and hardware profile, per layer, per module and in
 * total, in joules per frame, with the ANN-equivalent energy and the SNN/ANN ratio beside it.
 */
export function computeEnergy(record: ActivityRecord, options: EnergyOptions): EnergyReport {
  validateActivityRecord(record);
  const frames = options.frames ?? 1;
  if (!Number.isFinite(frames) || frames <= 0) {
    throw optionError(`frames is ${frames}`, 'frames', 'Give the number of frames the record covers (> 0).');
  }
  if (!ENERGY_METHODS.includes(options.method)) {
    throw optionError(
      `unknown energy method "${String(options.method)}"`,
      'method',
      `Use one of ${ENERGY_METHODS.join(', ')}.`,
    );
  }
  const { method, profile } = options;
  const annProfile = options.annProfile ?? profile;
  const settings = resolveSettings(record, options);
  const synaptic = new Set(settings.synapticKinds);
  const notes: string[] = [];
  const perFrame = 1 / frames;
  const e = {
    mac: profile.compute.mac.pj * PJ,
    ac: profile.compute.ac.pj * PJ,
    neuron: profile.compute.neuronUpdate.pj * PJ,
    annMac: annProfile.compute.mac.pj * PJ,
  };
  const bit = {
    paramRead: pjPerBit(profile, settings.placement.params, 'read') * PJ,
    stateRead: pjPerBit(profile, settings.placement.state, 'read') * PJ,
    stateWrite: pjPerBit(profile, settings.placement.state, 'write') * PJ,
    actRead: pjPerBit(profile, settings.placement.activations, 'read') * PJ,
    actWrite: pjPerBit(profile, settings.placement.activations, 'write') * PJ,
  };

  let firstIndex = -1;
  if (settings.firstLayer !== null)
    firstIndex = record.layers.findIndex((l) => l.name === settings.firstLayer);
  let lateRealMacs = 0;
  let lateRealLayers = 0;
  const uncounted = new Map<string, number>();

  const layers: LayerEnergy[] = record.layers.map((layer, index) => {
    const repeated =
      recorded(layer).inputRepeatedOverTime === true ||
      settings.repeatedInputPrefixes.some((p) => layer.name.startsWith(p));
    const annMacs = denseEquivalent(layer) / (repeated ? layer.timeSteps : 1);
    const counted: CountedOps = {
      macs: 0,
      acs: 0,
      neuronUpdates: 0,
      paramBits: 0,
      stateReadBits: 0,
      stateWriteBits: 0,
      activationBits: 0,
      annMacs,
    };
    let treatment: string;
    if (method === 'sad-paper') {
      if (index === firstIndex) {
        counted.macs = settings.firstLayerTimesT ? layer.denseMacs : layer.denseMacs / layer.timeSteps;
        treatment = `first layer: MACs ${settings.firstLayerTimesT ? '×T' : '÷T'} (T=${layer.timeSteps})`;
      } else if (synaptic.has(layer.kind)) {
        counted.acs = layer.synapticOps;
        if (layer.denseMacs > 0) {
          lateRealMacs += layer.denseMacs;
          lateRealLayers += 1;
          if (settings.realInputLayers === 'as-sops') counted.acs += layer.denseMacs;
          else counted.macs = layer.denseMacs;
          treatment = `real input: ${settings.realInputLayers === 'as-sops' ? 'SOPs at E_AC (fr = 1)' : 'MACs'}`;
        } else {
          treatment = 'SOPs';
        }
      } else {
        treatment = 'not counted (not conv/fc)';
        const ops = layer.synapticOps + layer.denseMacs;
        if (ops > 0) uncounted.set(layer.kind, (uncounted.get(layer.kind) ?? 0) + ops);
      }
    } else if (method === 'memory-aware') {
      if (profile.eventDriven) {
        counted.acs = layer.synapticOps;
        counted.macs = layer.denseMacs;
        treatment =
          layer.denseMacs === 0
            ? 'event-driven'
            : layer.synapticOps > 0
              ? 'event-driven + MACs'
              : 'real input: MACs';
      } else {
        counted.macs = Math.max(denseEquivalent(layer), layer.synapticOps);
        treatment = 'dense (no event-driven path)';
      }
      counted.neuronUpdates = layer.neuronUpdates;
      counted.paramBits = layer.paramBytesRead * 8;
      counted.stateReadBits = layer.stateBytesRead * 8;
      counted.stateWriteBits = layer.stateBytesWritten * 8;
      counted.activationBits = layer.outputBits;
    } else {
      counted.macs = annMacs;
      treatment = repeated ? `dense MACs ÷T (T=${layer.timeSteps}, repeated input)` : 'dense MACs';
    }
    for (const key of Object.keys(counted) as (keyof CountedOps)[]) counted[key] *= perFrame;
    const components = zeroComponents();
    components.mac = counted.macs * e.mac;
    components.ac = counted.acs * e.ac;
    components.neuron = counted.neuronUpdates * e.neuron;
    components.paramMemory = counted.paramBits * bit.paramRead;
    components.stateMemory = counted.stateReadBits * bit.stateRead + counted.stateWriteBits * bit.stateWrite;
    // Each output is written once and read once by the layer that consumes it.
    components.activationMemory = counted.activationBits * (bit.actWrite + bit.actRead);
    return {
      index,
      name: layer.name,
      module: layer.module,
      kind: layer.kind,
      energyJ: sumComponents(components),
      components,
      counted,
      treatment,
      annEquivalentJ: counted.annMacs * e.annMac,
    };
  });

  const boundaries: BoundaryEnergy[] = Object.entries(record.boundaryBits).map(([link, rawBits]) => {
    const { from, to } = parseBoundaryKey(link);
    const bits = rawBits * perFrame;
    const pj = settings.boundaryPjPerBit[link] ?? profile.transfer.boundaryPerBit.pj;
    const energyJ = method === 'memory-aware' ? bits * pj * PJ : 0;
    return { link, from, to, bits, pjPerBit: pj, energyJ };
  });

  // Modules in order of first appearance (layers first, then modules seen only on boundaries).
  const moduleMap = new Map<string, ModuleEnergy>();
  const moduleOf = (name: string): ModuleEnergy => {
    let m = moduleMap.get(name);
    if (m === undefined) {
      m = {
        module: name,
        energyJ: 0,
        components: zeroComponents(),
        groups: groupComponents(zeroComponents()),
        layerCount: 0,
        annEquivalentJ: 0,
      };
      moduleMap.set(name, m);
    }
    return m;
  };
  for (const layer of layers) {
    const m = moduleOf(layer.module);
    addInto(m.components, layer.components);
    m.layerCount += 1;
    m.annEquivalentJ += layer.annEquivalentJ;
  }
  for (const b of boundaries) moduleOf(b.from).components.transfer += b.energyJ;
  const components = zeroComponents();
  for (const m of moduleMap.values()) {
    m.energyJ = sumComponents(m.components);
    m.groups = groupComponents(m.components);
    addInto(components, m.components);
  }
  const totalJ = sumComponents(components);
  const groups = groupComponents(components);
  const annEquivalentJ = layers.reduce((s, l) => s + l.annEquivalentJ, 0);

  // Caveats, printed with the numbers.
  if (profile.estimate) notes.push(`profile ${profile.id} contains estimates (see its constants' notes)`);
  if (annProfile !== profile && annProfile.estimate)
    notes.push(`ANN profile ${annProfile.id} contains estimates`);
  if (method === 'sad-paper') {
    const first = firstIndex >= 0 ? record.layers[firstIndex] : undefined;
    if (first === undefined) {
      notes.push('no first layer with real-valued input was found: no MAC term (set firstLayer to name one)');
    } else {
      notes.push(
        `first layer ${first.name}: ${fmtCount(first.denseMacs * perFrame)} MACs recorded over T=${first.timeSteps}, counted ${settings.firstLayerTimesT ? '×T (every step)' : 'once (÷T, the input repeats)'} at E_MAC = ${profile.compute.mac.pj} pJ`,
      );
    }
    if (lateRealLayers > 0) {
      const delta = lateRealMacs * perFrame * (e.mac - e.ac);
      notes.push(
        settings.realInputLayers === 'as-sops'
          ? `${lateRealLayers} later layer(s) see real-valued input (${fmtCount(lateRealMacs * perFrame)} MACs); the paper's convention charges them E_AC as if they were spikes, which flatters the SNN; charging E_MAC (realInputLayers: 'as-macs') adds ${formatJoules(delta)}`
          : `${lateRealLayers} later layer(s) see real-valued input (${fmtCount(lateRealMacs * perFrame)} MACs), charged E_MAC; the paper's convention would charge E_AC (${formatJoules(delta)} less)`,
      );
    }
    for (const [kind, ops] of uncounted) {
      notes.push(
        `layers of kind ${kind} did ${fmtCount(ops * perFrame)} ops the paper convention does not count`,
      );
    }
    const neuronUpdates = record.layers.reduce((s, l) => s + l.neuronUpdates, 0) * perFrame;
    notes.push(
      `the paper convention ignores ${fmtCount(neuronUpdates)} neuron updates, all memory traffic and boundary bits; see memory-aware`,
    );
    if (!profile.eventDriven) {
      notes.push(`profile ${profile.id} is not event-driven: the paper convention assumes it is`);
    }
  }
  if (method === 'memory-aware') {
    const p = settings.placement;
    notes.push(`memory placement: params ${p.params}, state ${p.state}, activations ${p.activations}`);
    if (!profile.eventDriven) {
      notes.push(`profile ${profile.id} has no event-driven path: spiking layers cost their dense MACs`);
    }
    notes.push(
      'the ANN equivalent counts MACs only, while this total includes neuron updates, memory and transfer; compare compute with compute (annToSnnComputeRatio) as well',
    );
  }
  const multiStep = record.layers.some(
    (l) => l.timeSteps > 1 && denseEquivalent(l) > 0 && recorded(l).inputRepeatedOverTime !== true,
  );
  if (settings.repeatedInputPrefixes.length === 0 && multiStep) {
    notes.push(
      'the ANN equivalent counts every recorded time step; name layers whose steps repeat one input in repeatedInputPrefixes (SAD: "encoder.") so their ANN runs once',
    );
  }

  return {
    method,
    profile: {
      id: profile.id,
      name: profile.name,
      technology: profile.technology,
      estimate: profile.estimate,
      eventDriven: profile.eventDriven,
    },
    annProfileId: annProfile.id,
    settings,
    frames,
    layers,
    modules: [...moduleMap.values()],
    boundaries,
    totalJ,
    components,
    groups,
    annEquivalentJ,
    annToSnnRatio: totalJ > 0 ? annEquivalentJ / totalJ : null,
    annToSnnComputeRatio: groups.compute > 0 ? annEquivalentJ / groups.compute : null,
    notes,
  };
}

/** All three methods on one record, for side-by-side tables. */
export function computeEnergyMethods(
  record: ActivityRecord,
  options: Omit<EnergyOptions, 'method'>,
): Record<EnergyMethod, EnergyReport> {
  return {
    'sad-paper': computeEnergy(record, { ...options, method: 'sad-paper' }),
    'memory-aware': computeEnergy(record, { ...options, method: 'memory-aware' }),
    'ann-equivalent': computeEnergy(record, { ...options, method: 'ann-equivalent' }),
  };
}
