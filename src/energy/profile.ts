import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SpikedriveError } from '../util/errors.ts';

/**
 * One energy constant with where it comes from. `estimate: true` marks a figure that is derived, carried
 * over from another chip or process, or not checked against its primary source; `note` says which.
 */
export interface CitedEnergy {
  /** Picojoules per operation (or per bit, where the field name says so). */
  pj: number;
  /** Citation text: paper, datasheet or derivation. */
  source: string;
  estimate: boolean;
  note?: string;
}

/** Read and write costs of one memory, per bit. */
export interface MemoryCost {
  readPerBit: CitedEnergy;
  writePerBit: CitedEnergy;
}

/** An on-chip SRAM of a given size; access energy grows with the array size. */
export interface SramBank extends MemoryCost {
  /** Referred to by placements as `sram:<name>`. */
  name: string;
  capacityBytes: number;
}

/**
 * Where a class of traffic lives: `in-op` when the target's per-operation energies already include it
 * (e.g. Loihi's synaptic-op energy includes the core-local weight read), `dram`, or `sram:<bank>`.
 */
export type MemoryPlacement = 'in-op' | 'dram' | `sram:${string}`;

export interface MemoryPlacements {
  /** Parameter reads (`paramBytesRead`). */
  params: MemoryPlacement;
  /** Membrane-state reads and writes (`stateBytesRead`, `stateBytesWritten`). */
  state: MemoryPlacement;
  /** Each layer's output, written once and read once by its consumer (`outputBits`). */
  activations: MemoryPlacement;
}

/** A target's costs: compute per op, memory per bit, and bits crossing module boundaries. */
export interface HardwareProfile {
  /** Short kebab-case id (`cmos-45nm`, `loihi2`, …). */
  id: string;
  name: string;
  description: string;
  /** Process and operating point the constants belong to. */
  technology: string;
  /** True when any part of the profile is an estimate rather than a figure read from its source. */
  estimate: boolean;
  note?: string;
  /**
   * Whether spiking input costs one AC per synaptic event (neuromorphic, event-driven targets) or the
   * layer runs densely whatever its input (a GPU: spikes go through the same matrix multiply).
   */
  eventDriven: boolean;
  compute: {
    /** One multiply-accumulate on real-valued input. */
    mac: CitedEnergy;
    /** One accumulate (a synaptic event on binary spike input). */
    ac: CitedEnergy;
    /** One membrane update of one neuron for one time step. */
    neuronUpdate: CitedEnergy;
  };
  memory: {
    /** On-chip SRAM banks, smallest first (may be empty where all memory is inside the ops). */
    sram: SramBank[];
    /** Off-chip DRAM (absent on targets without one). */
    dram?: MemoryCost;
  };
  placement: MemoryPlacements;
  transfer: {
    /** One bit crossing a module boundary (`ActivityRecord.boundaryBits`). */
    boundaryPerBit: CitedEnergy;
  };
}

const FIX =
  'Give every constant as picojoules, either a bare number or { pj, source, estimate, note }, and see the energy section of the docs for a complete example.';

// A bare number is shorthand for an unsourced estimate; it becomes the object form before validation so
// errors point at `….pj` either way.
const UNSOURCED = '\u0000unsourced';
const citedSchema = z.preprocess(
  (value) => (typeof value === 'number' ? { pj: value, source: UNSOURCED, estimate: true } : value),
  z.strictObject(
    {
      pj: z.number().finite().nonnegative(),
      source: z.string().trim().min(1),
      estimate: z.boolean(),
      note: z.string().optional(),
    },
    {
      error: (issue) => {
        if (issue.code !== 'invalid_type') return undefined;
        const expected = 'picojoules: a number or { pj, source, estimate, note }';
        return issue.input === undefined ? `missing (expected ${expected})` : `expected ${expected}`;
      },
    },
  ),
);

const memoryCostSchema = z.strictObject({ readPerBit: citedSchema, writePerBit: citedSchema });

const placementSchema = z
  .string({ error: 'expected "in-op", "dram" or "sram:<bank name>"' })
  .refine((v) => v === 'in-op' || v === 'dram' || /^sram:.+$/.test(v), {
    error: 'expected "in-op", "dram" or "sram:<bank name>"',
  });

const profileSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]*$/, { error: 'expected a lower-case id such as "my-asic-28nm"' }),
  name: z.string().trim().min(1),
  description: z.string().default(''),
  technology: z.string().trim().min(1),
  estimate: z.boolean().optional(),
  note: z.string().optional(),
  eventDriven: z.boolean(),
  compute: z.strictObject({ mac: citedSchema, ac: citedSchema, neuronUpdate: citedSchema }),
  memory: z.strictObject({
    sram: z
      .array(
        z.strictObject({
          name: z.string().trim().min(1),
          capacityBytes: z.number().int().positive(),
          readPerBit: citedSchema,
          writePerBit: citedSchema,
        }),
      )
      .default([]),
    dram: memoryCostSchema.optional(),
  }),
  placement: z.strictObject({
    params: placementSchema,
    state: placementSchema,
    activations: placementSchema,
  }),
  transfer: z.strictObject({ boundaryPerBit: citedSchema }),
});

type RawCited = z.output<typeof citedSchema>;

/** Where a value sits inside a profile, as the user wrote it (`compute.mac.pj`, `memory.sram[1].name`). */
function keyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function profileError(subject: string, problems: string[]): SpikedriveError {
  return new SpikedriveError(
    `hardware profile ${subject} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    { fix: FIX, subject },
  );
}

/** Checks that each placement names memory the profile has. */
export function checkPlacements(profile: HardwareProfile, subject: string): void {
  const problems: string[] = [];
  for (const key of ['params', 'state', 'activations'] as const) {
    const placement = profile.placement[key];
    if (placement === 'dram' && profile.memory.dram === undefined) {
      problems.push(`placement.${key}: "dram" but the profile has no memory.dram`);
    } else if (placement.startsWith('sram:')) {
      const bank = placement.slice(5);
      if (!profile.memory.sram.some((b) => b.name === bank)) {
        const known = profile.memory.sram.map((b) => `"sram:${b.name}"`).join(', ') || 'none';
        problems.push(`placement.${key}: no SRAM bank named "${bank}" (banks: ${known})`);
      }
    }
  }
  const names = profile.memory.sram.map((b) => b.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) problems.push(`memory.sram: bank name "${dup}" appears twice`);
  if (problems.length > 0) throw profileError(subject, problems);
}

/** The memory cost a placement refers to, or undefined for `in-op`. */
export function memoryFor(profile: HardwareProfile, placement: MemoryPlacement): MemoryCost | undefined {
  if (placement === 'in-op') return undefined;
  if (placement === 'dram') {
    if (profile.memory.dram === undefined) {
      throw new SpikedriveError(`placement "dram" is not available: profile ${profile.id} has no DRAM`, {
        fix: 'Choose "in-op" or one of the profile\'s SRAM banks, or add memory.dram to the profile.',
        subject: profile.id,
      });
    }
    return profile.memory.dram;
  }
  const bank = profile.memory.sram.find((b) => `sram:${b.name}` === placement);
  if (bank === undefined) {
    const known = profile.memory.sram.map((b) => `sram:${b.name}`).join(', ') || 'none';
    throw new SpikedriveError(`placement "${placement}" names no SRAM bank of profile ${profile.id}`, {
      fix: `Use one of: in-op, ${profile.memory.dram ? 'dram, ' : ''}${known}.`,
      subject: profile.id,
    });
  }
  return bank;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars in `override` replace what `base` had. */
function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = key in base ? deepMerge(base[key], value) : value;
  }
  return out;
}

/**
 * Validates a profile given as a plain object (parsed YAML or JSON). A bare number for a constant is
 * accepted and recorded as an unsourced estimate. `extends: <built-in id>` starts from that profile and
 * overrides only the keys given. Errors name every offending key.
 */
export function validateHardwareProfile(
  value: unknown,
  subject: string,
  builtIns: ReadonlyMap<string, HardwareProfile> = new Map(),
): HardwareProfile {
  let input = value;
  if (isPlainObject(input) && 'extends' in input) {
    const { extends: parentId, ...rest } = input;
    const parent = typeof parentId === 'string' ? builtIns.get(parentId) : undefined;
    if (parent === undefined) {
      const known = [...builtIns.keys()].join(', ');
      throw profileError(subject, [`extends: "${String(parentId)}" is not a built-in profile (${known})`]);
    }
    // The child must name itself, so its numbers are never reported under the parent's id.
    if (typeof rest.id !== 'string' || rest.id === parent.id) {
      throw profileError(subject, [`id: a profile that extends "${parent.id}" needs an id of its own`]);
    }
    const { estimate: _estimate, ...parentRest } = parent;
    input = deepMerge(structuredClone(parentRest), rest);
  }
  const parsed = profileSchema.safeParse(input);
  if (!parsed.success) {
    throw profileError(
      subject,
      parsed.error.issues.map(
        (issue) =>
          `${keyPath(issue.path)}: ${issue.message.replace(/^Invalid input: expected (.+), received undefined$/, 'missing (expected $1)')}`,
      ),
    );
  }
  const raw = parsed.data;
  const cite = (c: RawCited): CitedEnergy => ({
    pj: c.pj,
    source: c.source === UNSOURCED ? `given in ${subject} without a source` : c.source,
    estimate: c.estimate,
    ...(c.note === undefined ? {} : { note: c.note }),
  });
  const cost = (m: { readPerBit: RawCited; writePerBit: RawCited }): MemoryCost => ({
    readPerBit: cite(m.readPerBit),
    writePerBit: cite(m.writePerBit),
  });
  const profile: HardwareProfile = {
    id: raw.id,
    name: raw.name,
    description: raw.description,
    technology: raw.technology,
    estimate: false,
    ...(raw.note === undefined ? {} : { note: raw.note }),
    eventDriven: raw.eventDriven,
    compute: {
      mac: cite(raw.compute.mac),
      ac: cite(raw.compute.ac),
      neuronUpdate: cite(raw.compute.neuronUpdate),
    },
    memory: {
      sram: raw.memory.sram.map((b) => ({ name: b.name, capacityBytes: b.capacityBytes, ...cost(b) })),
      ...(raw.memory.dram === undefined ? {} : { dram: cost(raw.memory.dram) }),
    },
    placement: raw.placement as MemoryPlacements,
    transfer: { boundaryPerBit: cite(raw.transfer.boundaryPerBit) },
  };
  profile.estimate = (raw.estimate ?? false) || citedConstants(profile).some((c) => c.constant.estimate);
  checkPlacements(profile, subject);
  return profile;
}

/** Every constant of a profile with its key, for tables and docs. */
export function citedConstants(profile: HardwareProfile): { key: string; constant: CitedEnergy }[] {
  const out: { key: string; constant: CitedEnergy }[] = [
    { key: 'compute.mac', constant: profile.compute.mac },
    { key: 'compute.ac', constant: profile.compute.ac },
    { key: 'compute.neuronUpdate', constant: profile.compute.neuronUpdate },
  ];
  for (const bank of profile.memory.sram) {
    out.push({ key: `memory.sram[${bank.name}].readPerBit`, constant: bank.readPerBit });
    out.push({ key: `memory.sram[${bank.name}].writePerBit`, constant: bank.writePerBit });
  }
  if (profile.memory.dram !== undefined) {
    out.push({ key: 'memory.dram.readPerBit', constant: profile.memory.dram.readPerBit });
    out.push({ key: 'memory.dram.writePerBit', constant: profile.memory.dram.writePerBit });
  }
  out.push({ key: 'transfer.boundaryPerBit', constant: profile.transfer.boundaryPerBit });
  return out;
}

/** Parses YAML or JSON text (JSON is YAML) into a validated profile; `subject` names it in errors. */
export function parseHardwareProfile(
  text: string,
  subject: string,
  builtIns?: ReadonlyMap<string, HardwareProfile>,
): HardwareProfile {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new SpikedriveError(
      `hardware profile ${subject} is not valid YAML/JSON: ${(error as Error).message}`,
      { fix: 'Fix the syntax at the line given; JSON files are read as YAML.', subject, cause: error },
    );
  }
  if (!isPlainObject(value)) {
    throw profileError(subject, ['(top level): expected a mapping with id, name, compute, memory, …']);
  }
  return validateHardwareProfile(value, subject, builtIns);
}

/** Reads a profile file (`.yaml`, `.yml` or `.json`). */
export async function readHardwareProfileFile(
  path: string,
  builtIns?: ReadonlyMap<string, HardwareProfile>,
): Promise<HardwareProfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SpikedriveError(`cannot read hardware profile ${path}: ${(error as Error).message}`, {
      fix: 'Check the path, or give the id of a built-in profile (cmos-45nm, loihi2, spinnaker2, fpga-generic, gpu-ann).',
      subject: path,
      cause: error,
    });
  }
  return parseHardwareProfile(text, path, builtIns);
}
