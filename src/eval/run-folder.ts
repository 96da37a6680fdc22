// Reading and writing run folders (layout and codecs in `run-format.ts`, the contract in docs/run-format.md).
// Every file is written atomically (temp + rename); frames first, then the index that lists them, then the
// evaluator's resume state, and `status: complete` last, so a reader never sees half a file, a "running" run
// shows what exists, and a run killed at any instant resumes from its last checkpoint.
import { existsSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { SpikedriveError, writeFileAtomic, writeJsonAtomic } from '../util/index.ts';
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
} from './run-format.ts';

export type NewRunManifest = Omit<RunManifest, 'schema' | 'version' | 'status' | 'createdAt' | 'finishedAt'>;

export interface FrameMeta {
  token: string;
  sceneToken: string;
  sceneName: string;
  timestampUs: number;
  scalars: FrameScalars;
}

/** Files a run folder may hold (removed by `create({ overwrite })`; nothing else in the folder is touched). */
const RUN_FILES = ['manifest.json', 'metrics.json', 'energy.json', 'state.json', 'report.html'];

/** Writes a run folder frame by frame. */
export class RunWriter {
  readonly dir: string;
  #manifest: RunManifest;
  readonly #index: FrameIndexEntry[];
  readonly #position = new Map<string, number>();
  #indexDirty = false;

  private constructor(dir: string, manifest: RunManifest, index: FrameIndexEntry[]) {
    this.dir = dir;
    this.#manifest = manifest;
    this.#index = index;
    index.forEach((entry, i) => {
      this.#position.set(entry.token, i);
    });
  }

  /**
   * Starts a new run in `dir` (created). An existing run there is refused unless `overwrite`, which first
   * removes the run's own files (manifest, metrics, energy, state, report, frames/) and nothing else.
   */
  static async create(
    dir: string,
    manifest: NewRunManifest,
    options: { overwrite?: boolean } = {},
  ): Promise<RunWriter> {
    if (existsSync(join(dir, 'manifest.json'))) {
      if (!options.overwrite) {
        throw new SpikedriveError(`${dir} already holds a run`, {
          subject: dir,
          fix: 'Choose an empty folder, resume the run, or overwrite it.',
        });
      }
      await removeRunFiles(dir);
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

  /**
   * Continues a run: keeps its manifest and the frames already in its index. With `keep`, only index entries whose
   * token it holds survive (the evaluator passes the tokens its resume state says are done, so a frame written after
   * the last checkpoint is recomputed, never half-counted).
   */
  static async resume(
    dir: string,
    options: { keep?: ReadonlySet<string>; manifest?: Partial<NewRunManifest> } = {},
  ): Promise<RunWriter> {
    const run = await readRunFolder(dir);
    const manifest: RunManifest = { ...run.manifest, ...options.manifest, status: 'running' };
    delete manifest.finishedAt;
    const index = options.keep ? run.index.filter((e) => options.keep?.has(e.token)) : [...run.index];
    const writer = new RunWriter(dir, manifest, index);
    if (index.length !== run.index.length) {
      writer.#indexDirty = true;
      await writer.flush();
    }
    await writeJsonAtomic(join(dir, 'manifest.json'), manifest);
    return writer;
  }

  get manifest(): RunManifest {
    return this.#manifest;
  }

  get frames(): readonly FrameIndexEntry[] {
    return this.#index;
  }

  has(token: string): boolean {
    return this.#position.has(token);
  }

  /**
   * Writes `frames/<token>.sdf`, then (unless `deferIndex`) the index with the new entry, replacing an earlier entry
   * of that token. With `deferIndex` the index is written by the next `flush()` (the evaluator checkpoints the index
   * and its resume state together, at most about once a second on long runs).
   */
  async addFrame(
    meta: FrameMeta,
    frame: Omit<EncodeFrameInput, 'token'>,
    options: { deferIndex?: boolean } = {},
  ): Promise<FrameIndexEntry> {
    if (!/^[A-Za-z0-9_-]+$/.test(meta.token)) {
      throw new SpikedriveError(`sample token "${meta.token}" cannot name a frame file`, {
        subject: meta.token,
        fix: 'Tokens are letters, digits, "-" and "_" (nuScenes uses 32 hex digits).',
      });
    }
    const file = `${meta.token}.sdf`;
    await writeFileAtomic(join(this.dir, 'frames', file), encodeFrame({ ...frame, token: meta.token }));
    const existing = this.#position.get(meta.token);
    const entry: FrameIndexEntry = {
      token: meta.token,
      sceneToken: meta.sceneToken,
      sceneName: meta.sceneName,
      timestampUs: meta.timestampUs,
      index: existing ?? this.#index.length,
      file,
      scalars: meta.scalars,
    };
    if (existing !== undefined) this.#index[existing] = entry;
    else {
      this.#position.set(meta.token, this.#index.length);
      this.#index.push(entry);
    }
    this.#indexDirty = true;
    if (!options.deferIndex) await this.flush();
    return entry;
  }

  /** Writes the frame index if frames were added since the last write. */
  async flush(): Promise<void> {
    if (!this.#indexDirty && existsSync(join(this.dir, 'frames', 'index.json'))) return;
    await writeJsonAtomic(join(this.dir, 'frames', 'index.json'), this.#index, 0);
    this.#indexDirty = false;
  }

  async writeMetrics(metrics: MetricsFile): Promise<void> {
    await writeJsonAtomic(join(this.dir, 'metrics.json'), metrics);
  }

  async writeEnergy(energy: EnergyFile | Record<string, unknown>): Promise<void> {
    await writeJsonAtomic(join(this.dir, 'energy.json'), energy);
  }

  /** Evaluator-private resume state (`state.json`). */
  async writeState(state: unknown): Promise<void> {
    await writeJsonAtomic(join(this.dir, 'state.json'), state, 0);
  }

  async writeReport(html: string): Promise<void> {
    await writeFileAtomic(join(this.dir, 'report.html'), html);
  }

  /** Replaces manifest fields (e.g. the planner's version once loaded) while the run is running. */
  async updateManifest(patch: Partial<NewRunManifest>): Promise<void> {
    this.#manifest = { ...this.#manifest, ...patch };
    await writeJsonAtomic(join(this.dir, 'manifest.json'), this.#manifest);
  }

  /** Marks the run complete (last, so a complete manifest means every other file is in place). */
  async complete(): Promise<void> {
    await this.flush();
    this.#manifest = { ...this.#manifest, status: 'complete', finishedAt: new Date().toISOString() };
    await writeJsonAtomic(join(this.dir, 'manifest.json'), this.#manifest);
  }
}

async function removeRunFiles(dir: string): Promise<void> {
  for (const file of RUN_FILES) await rm(join(dir, file), { force: true });
  await rm(join(dir, 'frames'), { recursive: true, force: true });
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

/** Reads and parses a JSON file, or throws a SpikedriveError naming it. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new SpikedriveError(`${path} cannot be read`, {
      subject: path,
      fix: 'Check the path and its permissions.',
    });
  }
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
  const manifest = parseRunManifest(await readJsonFile(manifestPath), manifestPath);
  const warnings: string[] = [];
  const indexPath = join(dir, 'frames', 'index.json');
  let index: FrameIndexEntry[] = [];
  if (existsSync(indexPath)) {
    index = parseRunJson(
      frameIndexSchema,
      await readJsonFile(indexPath),
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
      return parse(await readJsonFile(path), path);
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
