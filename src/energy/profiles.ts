import { SpikedriveError } from '../util/errors.ts';
import {
  type CitedEnergy,
  type HardwareProfile,
  parseHardwareProfile,
  readHardwareProfileFile,
  validateHardwareProfile,
} from './profile.ts';

// Citation texts, shared by the profiles below and printed in reports and docs.
export const SOURCES = {
  horowitz2014:
    'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", IEEE ISSCC 2014, pp. 10–14 (45 nm, 0.9 V energy table)',
  han2015:
    'S. Han, J. Pool, J. Tran, W. J. Dally, "Learning both weights and connections for efficient neural networks", NeurIPS 2015 (45 nm energy table after Horowitz: 32-bit DRAM access 640 pJ)',
  davies2018:
    'M. Davies et al., "Loihi: A neuromorphic manycore processor with on-chip learning", IEEE Micro 38(1):82–99, 2018, Table 2 (Loihi 1, 14 nm)',
  intelLoihi2:
    'Intel Labs, "Taking Neuromorphic Computing to the Next Level with Loihi 2", technology brief, 2021 (Intel 4 process; no per-operation energies published)',
  hoppner2019:
    'S. Höppner et al., "Dynamic power management for neuromorphic many-core systems", IEEE TCAS-I 66(8):2973–2986, 2019 (28 nm SpiNNaker2 prototype); the same figures are the "spinnaker2" device of KerasSpiking ModelEnergy',
  kuonRose2007:
    'I. Kuon, J. Rose, "Measuring the gap between FPGAs and ASICs", IEEE TCAD 26(2):203–215, 2007 (90 nm: FPGA/ASIC dynamic power ≈14×, smaller where hard blocks are used)',
  nvidiaA100:
    'NVIDIA A100 Tensor Core GPU datasheet (SXM4): 312 TFLOPS dense FP16 Tensor Core, 19.5 TFLOPS FP32, 400 W maximum TDP',
  oconnor2017:
    'M. O\'Connor et al., "Fine-Grained DRAM: Energy-efficient DRAM for extreme bandwidth systems", MICRO-50, 2017 (HBM2 access energy)',
  degnan2015:
    'B. Degnan, B. Marr, J. Hasler, "Assessing trends in performance per watt for signal processing applications", IEEE TVLSI 24(1):58–66, 2016',
} as const;

function cited(pj: number, source: string, estimate: boolean, note?: string): CitedEnergy {
  return note === undefined ? { pj, source, estimate } : { pj, source, estimate, note };
}

// Horowitz's 64-bit cache reads, per bit. The 8 KB figure is confirmed by tables that cite the paper;
// the 32 KB and 1 MB ones are from the widely reproduced slide and were not re-checked here.
const sram8KiB = cited(
  10 / 64,
  SOURCES.horowitz2014,
  false,
  '64-bit read from an 8 KB SRAM: 10 pJ (≈5 pJ per 32 bits)',
);
const sram32KiB = cited(
  20 / 64,
  SOURCES.horowitz2014,
  true,
  '64-bit read from a 32 KB SRAM: 20 pJ; not re-checked against the paper',
);
const sram1MiB = cited(
  100 / 64,
  SOURCES.horowitz2014,
  true,
  '64-bit read from a 1 MB SRAM: 100 pJ; not re-checked against the paper',
);
const writeAsRead = (read: CitedEnergy): CitedEnergy =>
  cited(read.pj, read.source, true, 'write assumed to cost the same as a read (the source gives reads only)');
const dram45nm = cited(
  640 / 32,
  `${SOURCES.han2015}; ${SOURCES.horowitz2014} gives 1.3–2.6 nJ per 64 bits (20–41 pJ/bit)`,
  true,
  "640 pJ per 32-bit DRAM access = 20 pJ/bit, the low end of Horowitz's range",
);

const cmos45nm: HardwareProfile = {
  id: 'cmos-45nm',
  name: '45 nm CMOS (Horowitz)',
  description:
    'The convention of the SAD paper and most SNN papers: 32-bit float operations at 45 nm, 0.9 V. Memory is what a chip of that process would use: parameters stream from DRAM (SAD has 16.27 M parameters, far beyond on-chip SRAM), membrane state and activations sit in 32 KB SRAM buffers.',
  technology: '45 nm CMOS, 0.9 V, 32-bit float',
  estimate: true,
  eventDriven: true,
  compute: {
    mac: cited(4.6, SOURCES.horowitz2014, false, '32-bit float multiply 3.7 pJ + add 0.9 pJ'),
    ac: cited(0.9, SOURCES.horowitz2014, false, '32-bit float add'),
    neuronUpdate: cited(
      6.4,
      SOURCES.horowitz2014,
      true,
      'derived: LIF v ← v + (x − v)/τ with a threshold test = 2 float adds (0.9) + 1 float multiply (3.7) + 1 compare counted as an add (0.9); syops-counter charges one AC (0.9 pJ) instead',
    ),
  },
  memory: {
    sram: [
      { name: '8KiB', capacityBytes: 8 * 1024, readPerBit: sram8KiB, writePerBit: writeAsRead(sram8KiB) },
      { name: '32KiB', capacityBytes: 32 * 1024, readPerBit: sram32KiB, writePerBit: writeAsRead(sram32KiB) },
      { name: '1MiB', capacityBytes: 1024 * 1024, readPerBit: sram1MiB, writePerBit: writeAsRead(sram1MiB) },
    ],
    dram: { readPerBit: dram45nm, writePerBit: writeAsRead(dram45nm) },
  },
  placement: { params: 'dram', state: 'sram:32KiB', activations: 'sram:32KiB' },
  transfer: {
    boundaryPerBit: cited(
      640 / 32,
      SOURCES.han2015,
      true,
      'modules on separate chips (or spilled to DRAM) exchange each boundary bit through one DRAM access',
    ),
  },
};

const loihiProxy =
  'Loihi 1 figures used for Loihi 2: Intel has published no per-operation energies for Loihi 2 (Intel 4), whose cores are smaller and faster';
const loihi1 = 'Loihi 1 figure (see the profile note)';

const loihi2: HardwareProfile = {
  id: 'loihi2',
  name: 'Intel Loihi 2 (Loihi 1 per-op figures)',
  description:
    'Event-driven neuromorphic cores with core-local synaptic and state memory, so weight and membrane traffic is inside the per-operation energies. Real-valued input is sent as graded spikes.',
  technology: 'Intel 4 (constants from Loihi 1, 14 nm)',
  estimate: true,
  note: loihiProxy,
  eventDriven: true,
  compute: {
    mac: cited(
      23.6,
      SOURCES.davies2018,
      true,
      `graded-spike synaptic op taken equal to a binary one (no figure published; a lower bound). ${loihi1}`,
    ),
    ac: cited(
      23.6,
      SOURCES.davies2018,
      true,
      `energy per synaptic spike op (minimum); KerasSpiking ModelEnergy adds a 3.5 pJ tile hop per op, here routing is charged on module boundaries only. ${loihi1}`,
    ),
    neuronUpdate: cited(
      81,
      SOURCES.davies2018,
      true,
      `energy per neuron update (active), the value KerasSpiking ModelEnergy takes from the same table; not re-checked against the paper. ${loihi1}`,
    ),
  },
  memory: { sram: [] },
  placement: { params: 'in-op', state: 'in-op', activations: 'in-op' },
  transfer: {
    boundaryPerBit: cited(
      3.5,
      SOURCES.davies2018,
      true,
      'each boundary bit counted as one spike message crossing one mesh tile (mean of the 3.0 pJ E-W and 4.0 pJ N-S tile-hop energies); chip-to-chip links cost more and are not published',
    ),
  },
};

const spinnaker2: HardwareProfile = {
  id: 'spinnaker2',
  name: 'SpiNNaker2 (28 nm prototype figures)',
  description:
    'ARM Cortex-M4F processing elements running neurons and synapses in software with local SRAM; the measured per-event energies are whole-element figures and include the SRAM traffic.',
  technology: '22 nm FDSOI (constants from the 28 nm prototype)',
  estimate: true,
  note: 'Prototype figures with DVFS; the production 22 nm chip is reported to be more efficient but no per-event figure was found to cite',
  eventDriven: true,
  compute: {
    mac: cited(
      450,
      SOURCES.hoppner2019,
      true,
      'no published per-MAC energy for the processing element was found; taken equal to a software synaptic event (likely high if the MAC array is used)',
    ),
    ac: cited(450, SOURCES.hoppner2019, true, 'energy per synaptic event, 28 nm prototype'),
    neuronUpdate: cited(2190, SOURCES.hoppner2019, true, 'energy per neuron update, 28 nm prototype'),
  },
  memory: { sram: [], dram: { readPerBit: dram45nm, writePerBit: writeAsRead(dram45nm) } },
  placement: { params: 'in-op', state: 'in-op', activations: 'in-op' },
  transfer: {
    boundaryPerBit: cited(
      640 / 32,
      SOURCES.han2015,
      true,
      'no published chip-to-chip link energy found; one 45 nm DRAM access per bit used as an off-chip proxy',
    ),
  },
};

// A 45 nm-equivalent FPGA, so it compares like for like with cmos-45nm: Horowitz's integer operations
// times the FPGA/ASIC dynamic-power gap. 8-bit weights, 16-bit membrane and accumulators.
const fpgaLutGap = 14;
const fpgaHardBlockGap = 7;
const bram = cited(
  10 / 64,
  SOURCES.horowitz2014,
  true,
  "block RAM (36 Kib) costed as Horowitz's 8 KB SRAM; block RAMs are hard blocks, so no FPGA gap factor is applied",
);

const fpgaGeneric: HardwareProfile = {
  id: 'fpga-generic',
  name: 'Generic FPGA, 45 nm-equivalent',
  description:
    'A fixed-point SNN accelerator on an FPGA: 8-bit weights, 16-bit membranes, MACs in DSP blocks, accumulators and neurons in LUT fabric, everything on chip in block RAM.',
  technology: '45 nm-equivalent FPGA, int8 weights, int16 state',
  estimate: true,
  note: `Horowitz 45 nm integer operation energies × the FPGA/ASIC dynamic-power gap (${fpgaLutGap}× for LUT logic, ${fpgaHardBlockGap}× for DSP hard blocks) from Kuon & Rose`,
  eventDriven: true,
  compute: {
    mac: cited(
      (0.2 + 0.1) * fpgaHardBlockGap,
      `${SOURCES.horowitz2014}; ${SOURCES.kuonRose2007}`,
      true,
      `int8 multiply 0.2 pJ + 32-bit accumulate 0.1 pJ in a DSP block, × ${fpgaHardBlockGap} (hard-block end of the 7–14× gap)`,
    ),
    ac: cited(
      0.05 * fpgaLutGap,
      `${SOURCES.horowitz2014}; ${SOURCES.kuonRose2007}`,
      true,
      `16-bit add 0.05 pJ in LUT fabric × ${fpgaLutGap}`,
    ),
    neuronUpdate: cited(
      3 * 0.05 * fpgaLutGap,
      `${SOURCES.horowitz2014}; ${SOURCES.kuonRose2007}`,
      true,
      `fixed-point LIF = shift-leak, integrate, threshold compare: 3 × 16-bit add (0.05 pJ) × ${fpgaLutGap}`,
    ),
  },
  memory: {
    sram: [
      { name: 'bram', capacityBytes: (36 * 1024) / 8, readPerBit: bram, writePerBit: writeAsRead(bram) },
    ],
    dram: { readPerBit: dram45nm, writePerBit: writeAsRead(dram45nm) },
  },
  placement: { params: 'sram:bram', state: 'sram:bram', activations: 'sram:bram' },
  transfer: {
    boundaryPerBit: cited(
      640 / 32,
      SOURCES.han2015,
      true,
      'off-chip transfer costed as one DRAM access per bit',
    ),
  },
};

const a100MacPj = (400 / (312e12 / 2)) * 1e12;
const a100Fp32Pj = (400 / 19.5e12) * 1e12;
const hbm = cited(
  3.9,
  SOURCES.oconnor2017,
  true,
  'about 3.9 pJ per bit for HBM2 as recalled from the paper; not re-checked against its full text. A100 uses HBM2e',
);

const gpuAnn: HardwareProfile = {
  id: 'gpu-ann',
  name: 'Dense ANN on a GPU (A100)',
  description:
    'The baseline a driving stack actually runs on: every layer is a dense tensor operation whether its input is spikes or not (no event-driven path), and tensors live in HBM.',
  technology: 'NVIDIA A100 SXM4, 7 nm, FP16 Tensor Cores',
  estimate: true,
  note: `Datasheet peak throughput at maximum board power, so a lower bound: real layers run below peak utilisation. System-level measurements on older GPUs (${SOURCES.degnan2015}: about 0.3 nJ per operation on a GTX Titan Black) are two orders of magnitude higher`,
  eventDriven: false,
  compute: {
    mac: cited(
      a100MacPj,
      SOURCES.nvidiaA100,
      true,
      '400 W / (312 TFLOPS / 2 FLOP per MAC), dense FP16 at peak',
    ),
    ac: cited(a100MacPj, SOURCES.nvidiaA100, true, 'no event-driven path: an accumulate costs a dense MAC'),
    neuronUpdate: cited(
      4 * a100Fp32Pj,
      SOURCES.nvidiaA100,
      true,
      'elementwise LIF ≈ 4 FP32 operations at 400 W / 19.5 TFLOPS each',
    ),
  },
  memory: { sram: [], dram: { readPerBit: hbm, writePerBit: writeAsRead(hbm) } },
  placement: { params: 'dram', state: 'dram', activations: 'dram' },
  transfer: {
    boundaryPerBit: cited(3.9, SOURCES.oconnor2017, true, 'modules on one GPU hand tensors over through HBM'),
  },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The built-in profiles, by id (frozen: extend or copy them rather than editing). */
export const BUILT_IN_PROFILES: ReadonlyMap<string, HardwareProfile> = new Map(
  // Validated the same way as user files, so a slip in the tables above fails the first test.
  [cmos45nm, loihi2, spinnaker2, fpgaGeneric, gpuAnn].map((p) => [
    p.id,
    deepFreeze(validateHardwareProfile(p, `built-in profile ${p.id}`)),
  ]),
);

export const DEFAULT_PROFILE_ID = 'cmos-45nm';

export function listHardwareProfiles(): HardwareProfile[] {
  return [...BUILT_IN_PROFILES.values()];
}

/** A built-in profile by id; unknown ids get an error listing the known ones. */
export function getHardwareProfile(id: string): HardwareProfile {
  const profile = BUILT_IN_PROFILES.get(id);
  if (profile === undefined) {
    throw new SpikedriveError(`unknown hardware profile "${id}"`, {
      fix: `Use one of ${[...BUILT_IN_PROFILES.keys()].join(', ')}, or a path to a .yaml/.json profile.`,
      subject: id,
    });
  }
  return profile;
}

/** A built-in id, or a path to a YAML/JSON profile (which may `extends:` a built-in). */
export async function resolveHardwareProfile(idOrPath: string): Promise<HardwareProfile> {
  if (BUILT_IN_PROFILES.has(idOrPath)) return getHardwareProfile(idOrPath);
  if (/\.(ya?ml|json)$/i.test(idOrPath)) return loadHardwareProfile(idOrPath);
  return getHardwareProfile(idOrPath);
}

/** Reads a YAML/JSON profile file; it may `extends:` a built-in. */
export function loadHardwareProfile(path: string): Promise<HardwareProfile> {
  return readHardwareProfileFile(path, BUILT_IN_PROFILES);
}

/** Parses profile text (YAML or JSON); `subject` names it in errors. It may `extends:` a built-in. */
export function parseHardwareProfileText(text: string, subject: string): HardwareProfile {
  return parseHardwareProfile(text, subject, BUILT_IN_PROFILES);
}

/** Validates a user profile given as a plain object; it may `extends:` a built-in. */
export function hardwareProfileFrom(value: unknown, subject: string): HardwareProfile {
  return validateHardwareProfile(value, subject, BUILT_IN_PROFILES);
}
