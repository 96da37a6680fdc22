// The embedded demo world: generated into a cache folder on first use (a minute or two on two cores) and
// reused afterwards. It is written into a temporary sibling folder and renamed into place when complete, so an
// interrupted first run never leaves a folder that looks usable, and two processes cannot half-write it.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SpikedriveError } from '../../src/util/index.ts';
import { generateSyntheticDataset, type SynthProgress } from './generate.ts';
import { GENERATOR_VERSION, readManifest, type SynthArguments, sameArguments } from './output.ts';

/**
 * The demo: v1.0-mini names (mini_train + mini_val), 4 scenes of 40 keyframes, one per location. The seed is
 * one whose ego turns left, goes straight and turns right (all three planning commands) without long waits.
 */
export const DEMO_ARGUMENTS: SynthArguments = {
  version: 'v1.0-mini',
  scenes: 4,
  seed: 2030,
  samplesPerScene: 40,
  imageScale: 1,
};

export interface DemoOptions {
  /** Folder to hold the demo (default: demoCacheFolder()). */
  folder?: string;
  onProgress?: (progress: SynthProgress) => void;
  /** Render worker threads (default: all cores). */
  workers?: number;
  /** Another world than DEMO_ARGUMENTS (tests use a tiny one). */
  arguments?: SynthArguments;
  /** Renderer module (tests may pass a stand-in). */
  rendererModule?: string;
}

export interface DemoDataset {
  dataroot: string;
  version: 'v1.0-mini';
  /** True when it was generated now, false when the cached copy was used. */
  generated: boolean;
}

/** `$SPIKEDRIVE_CACHE/demo-v<generator>` or `~/.cache/spikedrive/demo-v<generator>`. */
export function demoCacheFolder(): string {
  const cache =
    process.env.SPIKEDRIVE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spikedrive');
  return join(cache, `demo-v${GENERATOR_VERSION}`);
}

function isCompleteDemo(folder: string, args: SynthArguments): boolean {
  const manifest = readManifest(folder);
  return (
    manifest !== null &&
    manifest.generatorVersion === GENERATOR_VERSION &&
    sameArguments(manifest.arguments, args)
  );
}

/** Returns the demo dataset, generating it first if the cache has no complete copy. */
export async function ensureDemoDataset(options: DemoOptions = {}): Promise<DemoDataset> {
  const folder = resolve(options.folder ?? demoCacheFolder());
  const args = options.arguments ?? DEMO_ARGUMENTS;
  if (isCompleteDemo(folder, args)) return { dataroot: folder, version: 'v1.0-mini', generated: false };
  if (existsSync(folder) && readdirSync(folder).length > 0 && readManifest(folder) === null) {
    throw new SpikedriveError(`the demo folder ${folder} holds something that is not a spikedrive demo`, {
      subject: folder,
      fix: 'remove that folder, or set SPIKEDRIVE_CACHE to another cache location',
    });
  }
  // Leftovers of interrupted runs of any process (temporary siblings) are removed first.
  const parent = dirname(folder);
  const prefix = `${basename(folder)}.tmp-`;
  if (existsSync(parent)) {
    for (const entry of readdirSync(parent)) {
      if (entry.startsWith(prefix) && !entry.endsWith(`-${process.pid}`)) {
        const pid = Number(entry.slice(prefix.length));
        if (!processAlive(pid)) rmSync(join(parent, entry), { recursive: true, force: true });
      }
    }
  }
  const temp = `${folder}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  await generateSyntheticDataset({
    out: temp,
    scenes: args.scenes,
    seed: args.seed,
    samplesPerScene: args.samplesPerScene,
    version: 'v1.0-mini',
    imageScale: args.imageScale,
    workers: options.workers,
    onProgress: options.onProgress,
    rendererModule: options.rendererModule,
  });
  if (isCompleteDemo(folder, args)) {
    // Another process finished first: keep its copy.
    rmSync(temp, { recursive: true, force: true });
    return { dataroot: folder, version: 'v1.0-mini', generated: false };
  }
  rmSync(folder, { recursive: true, force: true });
  renameSync(temp, folder);
  return { dataroot: folder, version: 'v1.0-mini', generated: true };
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
