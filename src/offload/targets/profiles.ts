import {
  type CitedEnergy,
  getHardwareProfile,
  type HardwareProfile,
  hardwareProfileFrom,
  SOURCES,
} from '../../energy/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import type { NirNodeType } from '../nir/types.ts';

/**
 * What a neuromorphic chip (or FPGA) can hold and how fast it runs, for `spikedrive offload check`. Limits come
 * from vendor documentation (sources listed per profile); figures marked `estimate` are derived or carried over
 * from another chip, and say so in their note. Energy constants are `src/energy` hardware profiles (Loihi 2,
 * SpiNNaker2 and the generic FPGA are the built-in ones; Speck and Xylo are defined here the same way).
 */

/** A number with where it comes from (as `CitedEnergy`, for quantities that are not energies). */
export interface CitedValue {
  value: number;
  source: string;
  estimate: boolean;
  note?: string;
}

/** How convolutions are stored: weight sharing in hardware, unrolled into individual synapses, or not at all. */
export type ConvSupport = 'native' | 'unrolled';

export interface TargetLimits {
  /** Neuro-cores (or processing elements, or Speck layers) per chip. */
  coresPerChip: number;
  neuronsPerCore: CitedValue;
  /** Synaptic weight memory per core, bits. */
  weightBitsPerCore: CitedValue;
  /** Whole-chip caps (some chips cap below cores × per-core). */
  neuronsPerChip: CitedValue;
  synapsesPerChip?: CitedValue;
  weightBits: number;
  stateBits: number;
  /** Width of a graded (real-valued) spike payload, 0 when only binary spikes exist. */
  gradedSpikeBits: number;
  conv: ConvSupport;
  /** NIR primitives the vendor toolchain reads (NIR `supported_primitives.md`). */
  primitives: readonly NirNodeType[];
  /** Whether LIF leak maps exactly (false: the chip has IAF neurons, leak only approximated). */
  exactLif: boolean;
  /** At most this many synaptic projections into one core (Speck: one kernel per layer). */
  projectionsPerCore?: number;
  /** Speck: per-core kernel and neuron memory entries (sinabs mapping.py constraints). */
  perCore?: { kernelEntries: number[]; neuronEntries: number[] };
  maxKernel?: number;
  maxChannels?: number;
  maxInputSize?: number;
  maxOutputSize?: number;
  strides?: readonly number[];
  maxPadding?: number;
  /** Xylo: input channels and output neurons of the chip. */
  maxInputChannels?: number;
  maxOutputNeurons?: number;
  /** Xylo: synapses one neuron may drive. */
  maxFanOut?: number;
}

export interface TargetTiming {
  /** Seconds per synaptic operation on one core. */
  synOpS: CitedValue;
  /** Seconds per neuron update on one core. */
  neuronUpdateS: CitedValue;
  /** Chip-to-chip link bandwidth, bits per second. */
  linkBitsPerS: CitedValue;
  /** Latency of one chip-to-chip hop, seconds. */
  linkLatencyS: CitedValue;
}

export interface TargetProfile {
  id: string;
  name: string;
  description: string;
  /** The software that loads NIR for this target. */
  toolchain: string;
  limits: TargetLimits;
  timing: TargetTiming;
  /** Energy constants (`src/energy`). */
  energy: HardwareProfile;
  sources: string[];
}

function cite(value: number, source: string, estimate: boolean, note?: string): CitedValue {
  return note === undefined ? { value, source, estimate } : { value, source, estimate, note };
}

const TARGET_SOURCES = {
  nirPrimitives:
    'neuromorphs/NIR docs/source/supported_primitives.md (7232ada): NIR primitives each framework reads',
  intelLoihi2: SOURCES.intelLoihi2,
  davies2018: SOURCES.davies2018,
  sinabsSpeck:
    'Sinabs documentation, docs/speck/overview.md (DYNAP-CNN layer features) and sinabs/backend/dynapcnn/mapping.py (per-layer kernel/neuron memory)',
  rockpoolXylo:
    'Rockpool documentation, devices/xylo-overview (Xylo Audio 2: 16 inputs, 1000 hidden neurons, 8 outputs, 8-bit weights, 16-bit state, fan-out 64)',
  hoppner2021:
    'S. Höppner et al., "The SpiNNaker 2 processing element architecture for hybrid digital neuromorphic computing", arXiv 2103.08392, 2021 (ARM Cortex-M4F PE with local SRAM and MAC accelerator)',
  mayr2019:
    'C. Mayr, S. Höppner, S. Furber, "SpiNNaker 2: A 10 million core processor system for brain simulation and machine learning", arXiv 1911.02385, 2019',
  horowitz2014: SOURCES.horowitz2014,
  kv260:
    'AMD Kria K26 SOM data sheet DS987 (XCK26: 1,248 DSP slices, 144 block RAMs (5.1 Mb), 64 UltraRAMs (18 Mb), 64-bit DDR4 at 2400 MT/s = 19.2 GB/s)',
} as const;

// Per-operation energies for chips that publish none: Horowitz 45 nm integer operations plus the weight read from a
// small SRAM, the same derivation the generic FPGA profile uses without its FPGA gap. Marked as estimates.
const sramBit = 10 / 64; // 8 KB SRAM, pJ per bit read (Horowitz)
function derived(pj: number, note: string): CitedEnergy {
  return { pj, source: `${SOURCES.horowitz2014} (derived)`, estimate: true, note };
}

const speckEnergy: HardwareProfile = hardwareProfileFrom(
  {
    id: 'speck',
    name: 'SynSense Speck / DYNAP-CNN (derived per-op figures)',
    description:
      'Asynchronous event-driven convolutional SNN processor: 9 layers with local kernel and neuron memories, 8-bit weights, 16-bit integrate-and-fire state.',
    technology: 'digital asynchronous CMOS (per-op energies derived from 45 nm integer figures)',
    estimate: true,
    note: 'SynSense publishes chip power, not per-operation energies; these are derived estimates',
    eventDriven: true,
    compute: {
      mac: derived(
        0.2 + 0.03 + 8 * sramBit,
        'no dense path on Speck (input must be events); int8 multiply + 16-bit add + 8-bit weight read, for comparison only',
      ),
      ac: derived(
        0.03 + 8 * sramBit + 2 * 16 * sramBit,
        'one synaptic event: 8-bit weight read, 16-bit add, 16-bit state read and write',
      ),
      neuronUpdate: derived(
        2 * 0.03,
        'IAF threshold compare and reset on an event-driven update (leak only on the slow clock)',
      ),
    },
    memory: { sram: [] },
    placement: { params: 'in-op', state: 'in-op', activations: 'in-op' },
    transfer: {
      boundaryPerBit: derived(
        640 / 32,
        'off-chip transfer costed as one 45 nm DRAM access per bit (no published link energy)',
      ),
    },
  },
  'target profile speck',
);

const xyloEnergy: HardwareProfile = hardwareProfileFrom(
  {
    id: 'xylo',
    name: 'SynSense Xylo Audio 2 (derived per-op figures)',
    description:
      'Synchronous digital SNN core: up to 1000 CuBa-LIF neurons with bit-shift decay, 8-bit weights, 16-bit synaptic and membrane state, all on chip.',
    technology: '28 nm digital CMOS (per-op energies derived from 45 nm integer figures)',
    estimate: true,
    note: 'Rockpool reports chip power (e.g. 93 µW dynamic on an audio task), not per-operation energies; these are derived estimates',
    eventDriven: true,
    compute: {
      mac: derived(
        0.2 + 0.03 + 8 * sramBit,
        'Xylo has no dense path; int8 multiply + add + weight read, for comparison only',
      ),
      ac: derived(
        0.03 + 8 * sramBit + 2 * 16 * sramBit,
        '8-bit weight read, 16-bit add into the synaptic state (read and write)',
      ),
      neuronUpdate: derived(
        3 * 0.03 + 4 * 16 * sramBit,
        'two shift-decays, an add and a compare, with synaptic and membrane state read and written',
      ),
    },
    memory: { sram: [] },
    placement: { params: 'in-op', state: 'in-op', activations: 'in-op' },
    transfer: {
      boundaryPerBit: derived(
        640 / 32,
        'off-chip transfer costed as one 45 nm DRAM access per bit (no published link energy)',
      ),
    },
  },
  'target profile xylo',
);

const loihi2: TargetProfile = {
  id: 'loihi2',
  name: 'Intel Loihi 2',
  description:
    '128 neuro-cores per chip with core-local synaptic and state memory; graded spikes; convolutional connectivity stored once per layer.',
  toolchain: 'Lava / lava-dl (NIR import); access through Intel’s INRC',
  limits: {
    coresPerChip: 128,
    neuronsPerCore: cite(8192, TARGET_SOURCES.intelLoihi2, true, '1 M neurons per chip over 128 cores'),
    weightBitsPerCore: cite(
      (120e6 / 128) * 8,
      TARGET_SOURCES.intelLoihi2,
      true,
      '120 M synapses per chip over 128 cores at 8 bits each',
    ),
    neuronsPerChip: cite(1_000_000, TARGET_SOURCES.intelLoihi2, false),
    synapsesPerChip: cite(120_000_000, TARGET_SOURCES.intelLoihi2, false),
    weightBits: 8,
    stateBits: 24,
    gradedSpikeBits: 24,
    conv: 'native',
    primitives: [
      'Input',
      'Output',
      'Conv2d',
      'Flatten',
      'Affine',
      'Linear',
      'CubaLIF',
      'IF',
      'LIF',
      'SumPool2d',
    ],
    exactLif: true,
  },
  timing: {
    synOpS: cite(
      3.5e-9,
      TARGET_SOURCES.davies2018,
      true,
      'Loihi 1 minimum time per synaptic op (Loihi 2 is reported faster); a lower bound',
    ),
    neuronUpdateS: cite(
      5.3e-9,
      TARGET_SOURCES.davies2018,
      true,
      'Loihi 1 time per neuron update (active), not re-checked against the paper',
    ),
    linkBitsPerS: cite(
      10e9,
      TARGET_SOURCES.intelLoihi2,
      true,
      'no chip-to-chip bandwidth is published; 10 Gb/s assumed for the 3D mesh links',
    ),
    linkLatencyS: cite(1e-6, TARGET_SOURCES.intelLoihi2, true, 'assumed 1 µs per chip-to-chip hop'),
  },
  energy: getHardwareProfile('loihi2'),
  sources: [TARGET_SOURCES.intelLoihi2, TARGET_SOURCES.davies2018, TARGET_SOURCES.nirPrimitives],
};

const spinnaker2: TargetProfile = {
  id: 'spinnaker2',
  name: 'SpiNNaker2',
  description:
    'ARM Cortex-M4F processing elements (PEs) running neurons and synapses in software from local SRAM, with MAC accelerators.',
  toolchain: 'py-spinnaker2 (branch py-spinnaker2_nir)',
  limits: {
    coresPerChip: 152,
    neuronsPerCore: cite(
      1024,
      TARGET_SOURCES.hoppner2021,
      true,
      'software LIF at real time; the PE count and per-PE neuron capacity are estimates (offload.md §2 "(?)")',
    ),
    weightBitsPerCore: cite(
      96 * 1024 * 8,
      TARGET_SOURCES.hoppner2021,
      true,
      '128 KiB local SRAM per PE, about 96 KiB of it left for weights (estimate)',
    ),
    neuronsPerChip: cite(152 * 1024, TARGET_SOURCES.mayr2019, true),
    weightBits: 8,
    stateBits: 32,
    gradedSpikeBits: 32,
    conv: 'native',
    primitives: [
      'Input',
      'Output',
      'Conv1d',
      'Conv2d',
      'Flatten',
      'Affine',
      'Linear',
      'CubaLIF',
      'IF',
      'LIF',
      'SumPool2d',
    ],
    exactLif: true,
  },
  timing: {
    synOpS: cite(
      10 / 300e6,
      TARGET_SOURCES.hoppner2021,
      true,
      'about 10 cycles per software synaptic event at 300 MHz (estimate)',
    ),
    neuronUpdateS: cite(
      30 / 300e6,
      TARGET_SOURCES.hoppner2021,
      true,
      'about 30 cycles per software LIF update at 300 MHz (estimate)',
    ),
    linkBitsPerS: cite(5e9, TARGET_SOURCES.mayr2019, true, 'assumed 5 Gb/s per chip-to-chip link'),
    linkLatencyS: cite(1e-6, TARGET_SOURCES.mayr2019, true, 'assumed 1 µs per hop'),
  },
  energy: getHardwareProfile('spinnaker2'),
  sources: [
    TARGET_SOURCES.hoppner2021,
    TARGET_SOURCES.mayr2019,
    SOURCES.hoppner2019,
    TARGET_SOURCES.nirPrimitives,
  ],
};

const speck: TargetProfile = {
  id: 'speck',
  name: 'SynSense Speck (DYNAP-CNN)',
  description:
    '9 convolutional layers (conv → IAF → sum pool each) with per-layer kernel and neuron memories; binary events only; IAF neurons (leak only as a slow-clock bias).',
  toolchain: 'Sinabs / sinabs-dynapcnn with samna',
  limits: {
    coresPerChip: 9,
    neuronsPerCore: cite(
      64 * 1024,
      TARGET_SOURCES.sinabsSpeck,
      false,
      'largest layer neuron memory; per-layer values in perCore',
    ),
    weightBitsPerCore: cite(
      64 * 1024 * 8,
      TARGET_SOURCES.sinabsSpeck,
      false,
      'largest layer kernel memory (entries × 8 bits)',
    ),
    neuronsPerChip: cite(320 * 1024, TARGET_SOURCES.sinabsSpeck, false, '≈ 0.32 M neurons'),
    weightBits: 8,
    stateBits: 16,
    gradedSpikeBits: 0,
    conv: 'native',
    primitives: ['Input', 'Output', 'Conv1d', 'Conv2d', 'Flatten', 'Affine', 'IF', 'LI', 'LIF', 'SumPool2d'],
    exactLif: false,
    projectionsPerCore: 1,
    perCore: {
      kernelEntries: [16, 16, 16, 32, 32, 64, 64, 16, 16].map((k) => k * 1024),
      neuronEntries: [64, 64, 64, 32, 32, 16, 16, 16, 16].map((k) => k * 1024),
    },
    maxKernel: 16,
    maxChannels: 1024,
    maxInputSize: 128,
    maxOutputSize: 64,
    strides: [1, 2, 4, 8],
    maxPadding: 7,
  },
  timing: {
    synOpS: cite(
      1e-8,
      TARGET_SOURCES.sinabsSpeck,
      true,
      'no throughput is published; 100 M synaptic events/s per layer assumed',
    ),
    neuronUpdateS: cite(
      1e-8,
      TARGET_SOURCES.sinabsSpeck,
      true,
      'event-driven: a neuron updates only when an event reaches it (assumed 10 ns)',
    ),
    linkBitsPerS: cite(
      1e9,
      TARGET_SOURCES.sinabsSpeck,
      true,
      'Speck has no multi-chip interconnect; chips would exchange events through the host (1 Gb/s assumed)',
    ),
    linkLatencyS: cite(100e-6, TARGET_SOURCES.sinabsSpeck, true, 'host round trip assumed 100 µs'),
  },
  energy: speckEnergy,
  sources: [TARGET_SOURCES.sinabsSpeck, TARGET_SOURCES.nirPrimitives],
};

const xylo: TargetProfile = {
  id: 'xylo',
  name: 'SynSense Xylo Audio 2',
  description:
    '1000 CuBa-LIF hidden neurons, 16 input channels, 8 readout neurons, dense 8-bit input/recurrent/readout weights; no convolution.',
  toolchain: 'Rockpool',
  limits: {
    coresPerChip: 1,
    neuronsPerCore: cite(1000, TARGET_SOURCES.rockpoolXylo, false),
    weightBitsPerCore: cite(
      64_000 * 8,
      TARGET_SOURCES.rockpoolXylo,
      true,
      'about 64 k synaptic weights (fan-out 64 per hidden neuron)',
    ),
    neuronsPerChip: cite(1000, TARGET_SOURCES.rockpoolXylo, false),
    synapsesPerChip: cite(64_000, TARGET_SOURCES.rockpoolXylo, true),
    weightBits: 8,
    stateBits: 16,
    gradedSpikeBits: 0,
    conv: 'unrolled',
    primitives: ['Input', 'Output', 'Affine', 'Linear', 'CubaLIF', 'LI', 'LIF'],
    exactLif: false,
    maxInputChannels: 16,
    maxOutputNeurons: 8,
    maxFanOut: 64,
  },
  timing: {
    synOpS: cite(
      2e-8,
      TARGET_SOURCES.rockpoolXylo,
      true,
      'no throughput is published; 50 M synaptic ops/s assumed for the synchronous core',
    ),
    neuronUpdateS: cite(2e-8, TARGET_SOURCES.rockpoolXylo, true, 'assumed 20 ns per neuron update'),
    linkBitsPerS: cite(
      1e8,
      TARGET_SOURCES.rockpoolXylo,
      true,
      'no chip-to-chip link; events through the host interface (100 Mb/s assumed)',
    ),
    linkLatencyS: cite(100e-6, TARGET_SOURCES.rockpoolXylo, true, 'host round trip assumed 100 µs'),
  },
  energy: xyloEnergy,
  sources: [TARGET_SOURCES.rockpoolXylo, TARGET_SOURCES.nirPrimitives],
};

/** A generic FPGA (Kria K26-class); the FPGA cycle model in `fpga/` gives its latency. */
const fpga: TargetProfile = {
  id: 'fpga',
  name: 'Generic FPGA (Kria K26-class, int8 weights, int16 state)',
  description:
    'A fixed-point SNN accelerator: weights and membranes in on-chip block/ultra RAM, MACs in DSP slices, accumulate-and-fire in LUTs; one "core" is one processing element.',
  toolchain: 'spikedrive export fpga (binary + JSON manifest; Verilog for a spiking conv layer)',
  limits: {
    coresPerChip: 256,
    neuronsPerCore: cite(
      Number.POSITIVE_INFINITY,
      TARGET_SOURCES.kv260,
      true,
      'neurons are time-multiplexed; the state memory is the limit (see weight/state memory)',
    ),
    weightBitsPerCore: cite(
      ((5.1e6 + 18e6) / 256) * 0.9,
      TARGET_SOURCES.kv260,
      true,
      '23.1 Mb of BRAM + URAM shared by 256 PEs, 90% usable; state shares it',
    ),
    neuronsPerChip: cite(
      (23.1e6 * 0.5) / 16,
      TARGET_SOURCES.kv260,
      true,
      'half of the on-chip RAM for 16-bit membranes',
    ),
    weightBits: 8,
    stateBits: 16,
    gradedSpikeBits: 16,
    conv: 'native',
    primitives: [
      'Input',
      'Output',
      'Conv2d',
      'Flatten',
      'Affine',
      'Linear',
      'IF',
      'LIF',
      'Threshold',
      'SumPool2d',
      'AvgPool2d',
      'Scale',
    ],
    exactLif: true,
  },
  timing: {
    synOpS: cite(1 / 200e6, TARGET_SOURCES.kv260, true, 'one accumulate per PE per cycle at 200 MHz'),
    neuronUpdateS: cite(1 / 200e6, TARGET_SOURCES.kv260, true, 'one LIF update per PE per cycle at 200 MHz'),
    linkBitsPerS: cite(
      19.2e9 * 8,
      TARGET_SOURCES.kv260,
      true,
      'between FPGAs or to the host through DDR4 at 19.2 GB/s',
    ),
    linkLatencyS: cite(1e-6, TARGET_SOURCES.kv260, true, 'assumed 1 µs per transfer'),
  },
  energy: getHardwareProfile('fpga-generic'),
  sources: [TARGET_SOURCES.kv260, SOURCES.kuonRose2007, SOURCES.horowitz2014],
};

export const TARGET_PROFILES: ReadonlyMap<string, TargetProfile> = new Map(
  [loihi2, spinnaker2, speck, xylo, fpga].map((t) => [t.id, t]),
);

/** A target by id; unknown ids get an error listing the known ones. */
export function getTargetProfile(id: string): TargetProfile {
  const t = TARGET_PROFILES.get(id);
  if (t === undefined) {
    throw new SpikedriveError(`unknown offload target "${id}"`, {
      subject: id,
      fix: `Use one of ${[...TARGET_PROFILES.keys()].join(', ')}.`,
    });
  }
  return t;
}

export function listTargetProfiles(): TargetProfile[] {
  return [...TARGET_PROFILES.values()];
}
