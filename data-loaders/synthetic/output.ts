// The output folder of a synthetic dataset: a dataset is complete only when its manifest
// (.spikedrive-synth.json) exists, written last; a run in progress leaves .spikedrive-synth.partial. A rerun
// reuses a complete dataset with the same arguments, cleans an interrupted one, and refuses to touch a folder
// that holds anything else.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SpikedriveError, writeJsonAtomic } from '../../src/util/index.ts';

export const MANIFEST_NAME = '.spikedrive-synth.json';
export const PARTIAL_MARKER_NAME = '.spikedrive-synth.partial';
/** Bumped whenever the generator's output changes, so cached worlds are regenerated. */
export const GENERATOR_VERSION = 1;

/** What a dataset was generated from; equal arguments mean an identical dataset. */
export interface SynthArguments {
  version: string;
  scenes: number;
  seed: number;
  samplesPerScene: number;
  imageScale: number;
}

export interface SynthManifest {
  format: 'spikedrive-synth';
  generatorVersion: number;
  arguments: SynthArguments;
  sceneNames: string[];
  counts: Record<string, number>;
}

/** Everything a synthetic run writes at the top of its folder (removed when cleaning). */
const OWNED = [
  'v1.0-mini',
  'v1.0-trainval',
  'samples',
  'sweeps',
  'maps',
  'can_bus',
  MANIFEST_NAME,
  PARTIAL_MARKER_NAME,
];

export function readManifest(dataroot: string): SynthManifest | null {
  const path = join(dataroot, MANIFEST_NAME);
  if (!existsSync(path)) return null;
  try {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as SynthManifest;
    return manifest.format === 'spikedrive-synth' ? manifest : null;
  } catch {
    return null;
  }
}

export function sameArguments(a: SynthArguments, b: SynthArguments): boolean {
  return (
    a.version === b.version &&
    a.scenes === b.scenes &&
    a.seed === b.seed &&
    a.samplesPerScene === b.samplesPerScene &&
    a.imageScale === b.imageScale
  );
}

export type OutputState = { kind: 'reuse'; manifest: SynthManifest } | { kind: 'fresh'; cleaned: boolean };

/**
 * Decides what to do with the output folder, cleaning it when that is safe: an interrupted synthetic run, or a
 * complete one with other arguments when `force` is set.
 */
export function prepareOutput(out: string, args: SynthArguments, force: boolean): OutputState {
  if (existsSync(out) && !statSync(out).isDirectory()) {
    throw new SpikedriveError(`${out} exists and is not a folder`, {
      subject: out,
      fix: 'choose another --out path, or remove that file',
    });
  }
  const entries = existsSync(out) ? readdirSync(out) : [];
  if (entries.length === 0) return { kind: 'fresh', cleaned: false };
  const manifest = readManifest(out);
  const partial = existsSync(join(out, PARTIAL_MARKER_NAME));
  if (manifest && !partial) {
    if (
      manifest.generatorVersion === GENERATOR_VERSION &&
      sameArguments(manifest.arguments, args) &&
      !force
    ) {
      return { kind: 'reuse', manifest };
    }
    if (!force) {
      const was = manifest.arguments;
      throw new SpikedriveError(
        `${out} already holds a synthetic dataset made with other arguments (${was.version}, ${was.scenes} scenes, seed ${was.seed}, ${was.samplesPerScene} samples per scene)`,
        { subject: out, fix: 'pass --force to replace it, or choose another --out folder' },
      );
    }
  } else if (!partial) {
    throw new SpikedriveError(`${out} is not empty and is not a synthetic dataset folder`, {
      subject: out,
      fix: 'choose an empty or new --out folder (spikedrive never overwrites data it did not generate)',
    });
  }
  for (const name of OWNED) rmSync(join(out, name), { recursive: true, force: true });
  return { kind: 'fresh', cleaned: true };
}

export async function writePartialMarker(out: string, args: SynthArguments): Promise<void> {
  await writeJsonAtomic(join(out, PARTIAL_MARKER_NAME), { format: 'spikedrive-synth', arguments: args });
}

/** Writes the manifest (the dataset is complete from here on) and removes the in-progress marker. */
export async function completeOutput(out: string, manifest: SynthManifest): Promise<void> {
  await writeJsonAtomic(join(out, MANIFEST_NAME), manifest);
  rmSync(join(out, PARTIAL_MARKER_NAME), { force: true });
}
