// Reading and writing run folders (layout in `src/eval/run-format.ts`). Every file is written atomically (temp +
// rename); the frame index is rewritten after each frame, and `status: complete` comes last, so a reader never sees
// half a file and a "running" run shows what exists. The evaluator can adopt these helpers as they are.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type EncodeFrameInput,
  type EnergyFile,
  encodeFrame,
  energyFileSchema,
  type FrameIndexEntry,
  type FrameScalars,
  frameIndexSchema,
  type MetricsFile,
  metricsFileSchema,
  parseRunJson,
  parseRunManifest,
  RUN_FORMAT_VERSION,
  RUN_SCHEMA,
  type RunManifest,
} from '../../eval/run-format.ts';
import { SpikedriveError, writeFileAtomic, writeJsonAtomic } from '../../util/index.ts';

export type NewRunManifest = Omit<RunManifest, 'schema' | 'version' | 'status' | 'createdAt' | 'finishedAt'>;

export interface FrameMeta {
  token: string;
  sceneToken: string;
  sceneName: string;
  timestampUs: number;
  scalars: FrameScalars;
}

/** Writes a run folder frame by frame. */
export class RunWriter {
  readonly dir: string;
  #manifest: RunManifest;
  readonly #index: FrameIndexEntry[];

  private constructor(dir: string, manifest: RunManifest, index: FrameIndexEntry[]) {
    this.dir = dir;
    this.#manifest = manifest;
    this.#index = index;
  }

  /** Starts a new run in `dir` (created; an existing manifest there is refused unless `overwrite`). */
  static async create(dir: string, manifest: NewRunManifest, options: { overwrite?: boolean } = {}) {
    if (!options.overwrite && existsSync(join(dir, 'manifest.json'))) {
      throw new SpikedriveError(`${dir} already holds a run`, {
        subject: dir,
        fix: 'Choose an empty folder, or resume the run with RunWriter.resume.',
      });
    }
    const full: RunManifest = {
      schema: RUN_SCHEMA,
      version: RUN_FORMAT_VERSION,
      status: 'running',
      createdAt: new Date().toISOString(),
      ...manifest,
    };
    const writer = new RunWriter(dir, full, []);
    await writeJsonAtomic(join(dir, 'frames', 'index.json'), []);
    await writeJsonAtomic(join(dir, 'manifest.json'), full);
    return writer;
  }

  /** Continues a run: keeps its manifest and the frames already in its index. */
  static async resume(dir: string): Promise<RunWriter> {
    const run = await readRunFolder(dir);
    const manifest: RunManifest = { ...run.manifest, status: 'running' };
    delete manifest.finishedAt;
    await writeJsonAtomic(join(dir, 'manifest.json'), manifest);
    return new RunWriter(dir, manifest, [...run.index]);
  }

  get manifest(): RunManifest {
    return this.#manifest;
  }

  get frames(): readonly FrameIndexEntry[] {
    return this.#index;
  }

  has(token: string): boolean {
    return this.#index.some((e) => e.token === token);
  }

  /** Writes `frames/<token>.sdf`, then the index with the new entry (replacing an earlier one of that token). */
  async addFrame(meta: FrameMeta, frame: Omit<EncodeFrameInput, 'token'>): Promise<FrameIndexEntry> {
    if (!/^[A-Za-z0-9_-]+$/.test(meta.token)) {
      throw new SpikedriveError(`sample token "${meta.token}" cannot name a frame file`, {
        subject: meta.token,
        fix: 'Tokens are letters, digits, "-" and "_" (nuScenes uses 32 hex digits).',
      });
    }
    const file = `${meta.token}.sdf`;
    await writeFileAtomic(join(this.dir, 'frames', file), encodeFrame({ ...frame, token: meta.token }));
    const existing = this.#index.findIndex((e) => e.token === meta.token);
    const entry: FrameIndexEntry = {
      token: meta.token,
      sceneToken: meta.sceneToken,
      sceneName: meta.sceneName,
      timestampUs: meta.timestampUs,
      index: existing >= 0 ? this.#index[existing].index : this.#index.length,
      file,
      scalars: meta.scalars,
    };
    if (existing >= 0) this.#index[existing] = entry;
    else this.#index.push(entry);
    await writeJsonAtomic(join(this.dir, 'frames', 'index.json'), this.#index, 0);
    return entry;
  }

  async writeMetrics(metrics: MetricsFile): Promise<void> {
    await writeJsonAtomic(join(this.dir, 'metrics.json'), metrics);
  }

  async writeEnergy(energy: EnergyFile | Record<string, unknown>): Promise<void> {
    await writeJsonAtomic(join(this.dir, 'energy.json'), energy);
  }

  /** Marks the run complete (last, so a complete manifest means every other file is in place). */
  async complete(): Promise<void> {
    this.#manifest = { ...this.#manifest, status: 'complete', finishedAt: new Date().toISOString() };
    await writeJsonAtomic(join(this.dir, 'manifest.json'), this.#manifest);
  }
}

export interface RunFolder {
  dir: string;
  manifest: RunManifest;
  index: FrameIndexEntry[];
  metrics: MetricsFile | null;
  energy: EnergyFile | null;
  hasReport: boolean;
  /** Problems with optional files (shown, not fatal). */
  warnings: string[];
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SpikedriveError(`${path} is not valid JSON (${(error as Error).message})`, {
      subject: path,
      fix: 'The file is damaged; re-run `spikedrive eval` to rewrite it.',
    });
  }
}

/** Reads a run folder's JSON files. A "running" run may lack metrics, energy and even the index. */
export async function readRunFolder(dir: string): Promise<RunFolder> {
  const manifestPath = join(dir, 'manifest.json');
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) {
    throw new SpikedriveError(`run folder ${dir} does not exist`, {
      subject: dir,
      fix: 'Pick the folder `spikedrive eval --out` wrote.',
    });
  }
  if (!existsSync(manifestPath)) {
    throw new SpikedriveError(`${dir} is not a run folder (no manifest.json)`, {
      subject: dir,
      fix: 'Pick the folder `spikedrive eval --out` wrote (it holds manifest.json and frames/).',
    });
  }
  const manifest = parseRunManifest(await readJson(manifestPath), manifestPath);
  const warnings: string[] = [];
  const indexPath = join(dir, 'frames', 'index.json');
  let index: FrameIndexEntry[] = [];
  if (existsSync(indexPath)) {
    index = parseRunJson(
      frameIndexSchema,
      await readJson(indexPath),
      indexPath,
      'Re-run `spikedrive eval` (or resume it) to rewrite the frame index.',
    );
  } else if (manifest.status === 'complete') {
    throw new SpikedriveError(`${indexPath} is missing from a complete run`, {
      subject: indexPath,
      fix: 'Re-run `spikedrive eval` for this run.',
    });
  }
  const optional = async <T>(file: string, parse: (value: unknown, path: string) => T): Promise<T | null> => {
    const path = join(dir, file);
    if (!existsSync(path)) return null;
    try {
      return parse(await readJson(path), path);
    } catch (error) {
      warnings.push(error instanceof SpikedriveError ? error.message : String(error));
      return null;
    }
  };
  const metrics = await optional('metrics.json', (v, p) =>
    parseRunJson(metricsFileSchema, v, p, 'Re-run `spikedrive eval` to rewrite metrics.json.'),
  );
  const energy = await optional('energy.json', (v, p) =>
    parseRunJson(energyFileSchema, v, p, 'Re-run `spikedrive eval` to rewrite energy.json.'),
  );
  return {
    dir,
    manifest,
    index,
    metrics,
    energy,
    hasReport: existsSync(join(dir, 'report.html')),
    warnings,
  };
}

/** The bytes of one frame file named by the index (the name is checked to stay inside frames/). */
export async function readFrameBytes(dir: string, entry: FrameIndexEntry): Promise<Uint8Array> {
  if (basename(entry.file) !== entry.file) {
    throw new SpikedriveError(`frame file name ${entry.file} leaves the frames folder`, {
      subject: entry.file,
      fix: 'The frame index is damaged; re-run `spikedrive eval`.',
    });
  }
  const path = join(dir, 'frames', entry.file);
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    throw new SpikedriveError(`frame ${entry.token} is listed but ${path} is missing`, {
      subject: path,
      fix: 'Resume or re-run `spikedrive eval` for this run.',
    });
  }
}
