// The embedded demo world: generated into a cache folder on first use (about a minute on two cores) and reused
// afterwards. It is generated in place, val scenes first: once they are on disk the folder holds tables of their
// own (a preview the viewer opens at once), and it counts as complete only when its manifest is written, last, so
// an interrupted first run never leaves a folder that looks complete (the next start cleans and regenerates it).
// One process generates at a time: it holds `<folder>.lock` (created exclusively, holding its pid, touched while it
// works); another process waits for the manifest, or takes over when the holder is gone.

import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SpikedriveError } from '../../src/util/index.ts';
import { generateSyntheticDataset, type SynthPreview, type SynthProgress } from './generate.ts';
import {
  GENERATOR_VERSION,
  PARTIAL_MARKER_NAME,
  readManifest,
  type SynthArguments,
  sameArguments,
} from './output.ts';
import { type SynthVersion, sceneNames } from './scene-names.ts';

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

/** A lock not touched for this long belongs to a hung process (or a reused pid): it is taken over. */
const LOCK_STALE_MS = 120_000;
/** How often the holder touches its lock. */
const LOCK_HEARTBEAT_MS = 10_000;

export interface DemoOptions {
  /** Folder to hold the demo (default: demoCacheFolder()). */
  folder?: string;
  onProgress?: (progress: SynthProgress) => void;
  /**
   * Called when the val scenes are on disk with tables of their own, while the other scenes are still generated
   * (only in the process that generates; not when the cached copy is used). The other scenes wait for a promise it
   * returns (see `SynthOptions.onPreview`).
   */
  onPreview?: (preview: SynthPreview) => undefined | Promise<unknown>;
  /** Render worker threads (default: all cores). */
  workers?: number;
  /** Render workers after the preview (default: all of `workers`). */
  workersAfterPreview?: number;
  /** Another world than DEMO_ARGUMENTS (tests use a tiny one). */
  arguments?: SynthArguments;
  /** Renderer module (tests may pass a stand-in). */
  rendererModule?: string;
  /** How often a process waiting for another one's generation looks again (ms, default 500). */
  pollMs?: number;
}

export interface DemoDataset {
  dataroot: string;
  version: 'v1.0-mini';
  /** True when it was generated now, false when the cached copy (or another process's) was used. */
  generated: boolean;
}

/** `$SPIKEDRIVE_CACHE/demo-v<generator>` or `~/.cache/spikedrive/demo-v<generator>`. */
export function demoCacheFolder(): string {
  const cache =
    process.env.SPIKEDRIVE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spikedrive');
  return join(cache, `demo-v${GENERATOR_VERSION}`);
}

/** The lock file of a demo folder (a sibling: the folder itself holds only what the generator writes). */
export function demoLockPath(folder: string): string {
  return `${resolve(folder)}.lock`;
}

function isCompleteDemo(folder: string, args: SynthArguments): boolean {
  const manifest = readManifest(folder);
  return (
    manifest !== null &&
    manifest.generatorVersion === GENERATOR_VERSION &&
    sameArguments(manifest.arguments, args) &&
    !existsSync(join(folder, PARTIAL_MARKER_NAME))
  );
}

/** Returns the demo dataset, generating it first if the cache has no complete copy. */
export async function ensureDemoDataset(options: DemoOptions = {}): Promise<DemoDataset> {
  const folder = resolve(options.folder ?? demoCacheFolder());
  const args = options.arguments ?? DEMO_ARGUMENTS;
  const cached = { dataroot: folder, version: 'v1.0-mini', generated: false } as const;
  if (isCompleteDemo(folder, args)) return cached;
  removeOldTemporaries(folder);
  mkdirSync(dirname(folder), { recursive: true });
  const lock = demoLockPath(folder);
  const pollMs = options.pollMs ?? 500;
  const owner = randomUUID();
  while (!tryLock(lock, owner)) {
    // Another process (or another call here) generates it: wait for its manifest, or take over if it is gone.
    if (isCompleteDemo(folder, args)) return cached;
    const holder = readLock(lock);
    if (holder && isStale(holder)) {
      // Removed only if it still holds what was judged stale (another waiter may have taken over meanwhile).
      if (readLock(lock)?.raw === holder.raw) rmSync(lock, { force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const heartbeat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(lock, now, now);
    } catch {
      // The lock was taken over (this process looked hung); the manifest check below still holds.
    }
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  try {
    // The previous holder may have finished between our look and our lock.
    if (isCompleteDemo(folder, args)) return cached;
    // Looked at only under the lock: a generation in progress passes through states that look foreign.
    if (
      existsSync(folder) &&
      readdirSync(folder).length > 0 &&
      readManifest(folder) === null &&
      !existsSync(join(folder, PARTIAL_MARKER_NAME))
    ) {
      throw new SpikedriveError(`the demo folder ${folder} holds something that is not a spikedrive demo`, {
        subject: folder,
        fix: 'remove that folder, or set SPIKEDRIVE_CACHE to another cache location',
      });
    }
    const version = args.version as SynthVersion;
    await generateSyntheticDataset({
      out: folder,
      scenes: args.scenes,
      seed: args.seed,
      samplesPerScene: args.samplesPerScene,
      version,
      imageScale: args.imageScale,
      workers: options.workers,
      onProgress: options.onProgress,
      rendererModule: options.rendererModule,
      // An interrupted generation (partial marker) is cleaned; a complete demo of other arguments is replaced.
      force: true,
      firstScenes: sceneNames(version, args.scenes)
        .filter((s) => s.split === 'val')
        .map((s) => s.name),
      onPreview: options.onPreview,
      workersAfterPreview: options.workersAfterPreview,
    });
    return { dataroot: folder, version: 'v1.0-mini', generated: true };
  } finally {
    clearInterval(heartbeat);
    if (readLock(lock)?.owner === owner) rmSync(lock, { force: true });
  }
}

/** When this process started (with its pid, it tells a lock of an earlier process that had the same pid). */
const PROCESS_STARTED_MS = Math.round(Date.now() - process.uptime() * 1000);

interface LockHolder {
  raw: string;
  pid: number;
  startedMs: number;
  /** Which call holds it (a process may have several). */
  owner: string;
  touchedMs: number;
}

function tryLock(lock: string, owner: string): boolean {
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SpikedriveError(`cannot create the demo lock ${lock}: ${(error as Error).message}`, {
      subject: lock,
      fix: 'make the cache folder writable, or set SPIKEDRIVE_CACHE to a writable folder',
    });
  }
  try {
    writeSync(fd, JSON.stringify({ pid: process.pid, startedMs: PROCESS_STARTED_MS, owner }));
  } finally {
    closeSync(fd);
  }
  return true;
}

function readLock(lock: string): LockHolder | null {
  try {
    const raw = readFileSync(lock, 'utf8');
    const touchedMs = statSync(lock).mtimeMs;
    try {
      const parsed = JSON.parse(raw) as { pid?: unknown; startedMs?: unknown; owner?: unknown };
      return {
        raw,
        pid: Number(parsed.pid),
        startedMs: Number(parsed.startedMs),
        owner: String(parsed.owner),
        touchedMs,
      };
    } catch {
      // Created but not yet written (or written by something else): judged by its age alone.
      return { raw, pid: Number.NaN, startedMs: Number.NaN, owner: '', touchedMs };
    }
  } catch {
    return null;
  }
}

function isStale(holder: LockHolder): boolean {
  const ageMs = Date.now() - holder.touchedMs;
  if (!Number.isInteger(holder.pid)) return ageMs > 5_000;
  if (!processAlive(holder.pid)) return true;
  // Our own pid: another call in this process (wait), or an earlier process that had the same pid (stale).
  if (holder.pid === process.pid && Math.abs(holder.startedMs - PROCESS_STARTED_MS) > 2_000) return true;
  return ageMs > LOCK_STALE_MS;
}

/** Leftovers of earlier versions, which generated into `<folder>.tmp-<pid>` and renamed it into place. */
function removeOldTemporaries(folder: string): void {
  const parent = dirname(folder);
  const prefix = `${basename(folder)}.tmp-`;
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (!processAlive(pid)) rmSync(join(parent, entry), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
