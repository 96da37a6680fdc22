// Checkpoints: `NAME.safetensors` (tensors under the reference state_dict names, PyTorch layouts) + `NAME.json`
// (config, stage, step, epoch, seed, back end, metrics, git commit) + for resumable training `NAME.optim.safetensors`
// (Adam moments). The JSON is written last and names the step the tensors hold, so a save interrupted between the
// files is detected instead of mixing steps.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendInfo, StateTensor } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/fs.ts';
import { configHash, type SadConfig, sadConfigFromStored } from './config.ts';
import type { AdamState } from './optimizer.ts';
import { readSafetensors, type SafeTensor, type TensorToWrite, writeSafetensors } from './safetensors.ts';
import type { TrainingStage } from './stages.ts';

export const CHECKPOINT_FORMAT = 'spikedrive-sad-checkpoint';

/** The JSON beside a checkpoint's tensors. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: 1;
  config: SadConfig;
  configHash: string;
  stage: TrainingStage | null;
  /** Optimiser steps taken (in this stage). */
  step: number;
  /** Completed epochs (in this stage). */
  epoch: number;
  seed: number;
  backend: BackendInfo | null;
  /** Latest validation metrics (IoU, planning L2…), by name. */
  metrics: Record<string, number>;
  gitCommit: string | null;
  createdAt: string;
  /** File name (beside this JSON) of the optimiser state, when saved for resuming. */
  optimizerFile: string | null;
  /** Free-form provenance (the dataset, the command). */
  notes?: Record<string, string>;
}

export interface CheckpointPaths {
  tensors: string;
  json: string;
  optimizer: string;
}

/** `X.safetensors` → its `X.json` and `X.optim.safetensors`; a path without the extension gets it. */
export function checkpointPaths(path: string): CheckpointPaths {
  const base = path.endsWith('.safetensors') ? path.slice(0, -'.safetensors'.length) : path;
  return { tensors: `${base}.safetensors`, json: `${base}.json`, optimizer: `${base}.optim.safetensors` };
}

/** The project's git commit (null outside a checkout). */
export function gitCommit(): string | null {
  try {
    const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

function toWrite(state: Map<string, StateTensor>): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const [name, t] of state) out.set(name, { shape: t.shape, data: t.data });
  return out;
}

export interface SaveCheckpointInput {
  /** Model (and loss-weight) tensors under their reference names. */
  tensors: Map<string, StateTensor>;
  config: SadConfig;
  stage: TrainingStage | null;
  step: number;
  epoch: number;
  backend?: BackendInfo | null;
  metrics?: Record<string, number>;
  optimizer?: AdamState | null;
  notes?: Record<string, string>;
}

/** Writes the checkpoint files atomically (optimiser, tensors, then the JSON). Returns the JSON written. */
export async function saveCheckpoint(path: string, input: SaveCheckpointInput): Promise<CheckpointMeta> {
  const paths = checkpointPaths(path);
  const stepTag = { 'spikedrive.step': String(input.step), 'spikedrive.stage': input.stage ?? '' };
  if (input.optimizer) {
    const moments = new Map<string, TensorToWrite>();
    for (const [name, m] of input.optimizer.moments) {
      moments.set(`exp_avg.${name}`, { shape: m.shape, data: m.expAvg });
      moments.set(`exp_avg_sq.${name}`, { shape: m.shape, data: m.expAvgSq });
    }
    await writeSafetensors(paths.optimizer, moments, {
      ...stepTag,
      'adam.step': String(input.optimizer.step),
    });
  }
  await writeSafetensors(paths.tensors, toWrite(input.tensors), { format: 'pt', ...stepTag });
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: 1,
    config: input.config,
    configHash: await configHash(input.config),
    stage: input.stage,
    step: input.step,
    epoch: input.epoch,
    seed: input.config.SEED,
    backend: input.backend ?? null,
    metrics: input.metrics ?? {},
    gitCommit: gitCommit(),
    createdAt: new Date().toISOString(),
    optimizerFile: input.optimizer ? (paths.optimizer.split('/').pop() ?? null) : null,
    notes: input.notes,
  };
  await writeJsonAtomic(paths.json, meta);
  return meta;
}

/** Converts read safetensors entries to the modules' state tensors (float32 / int64). */
export function toStateTensors(tensors: Map<string, SafeTensor>, source: string): Map<string, StateTensor> {
  const out = new Map<string, StateTensor>();
  // A PyTorch Lightning checkpoint's state_dict prefixes every name with `model.` (TrainingModule.model).
  const names = [...tensors.keys()];
  const strip = names.length > 0 && names.every((n) => n.startsWith('model.'));
  for (const [raw, t] of tensors) {
    const name = strip ? raw.slice('model.'.length) : raw;
    if (t.data instanceof Float32Array) out.set(name, { shape: t.shape, dtype: 'float32', data: t.data });
    else if (t.data instanceof BigInt64Array) out.set(name, { shape: t.shape, dtype: 'int64', data: t.data });
    else if (t.data instanceof Int32Array) {
      out.set(name, { shape: t.shape, dtype: 'int64', data: BigInt64Array.from(t.data, (v) => BigInt(v)) });
    } else {
      throw new SpikedriveError(`tensor ${raw} in ${source} is ${t.dtype}, which no SAD parameter uses`, {
        subject: raw,
        fix: 'Export float parameters as F32/F16/BF16 and buffers as I64.',
      });
    }
  }
  return out;
}

export interface LoadedCheckpoint {
  paths: CheckpointPaths;
  tensors: Map<string, StateTensor>;
  /** The JSON beside the tensors; null for a bare safetensors file (e.g. exported from the reference). */
  meta: CheckpointMeta | null;
  optimizer: AdamState | null;
}

function readMeta(path: string): CheckpointMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new SpikedriveError(`checkpoint metadata ${path} is not valid JSON`, {
      subject: path,
      cause,
      fix: 'Restore the .json written beside the .safetensors, or delete it to load the tensors with --config.',
    });
  }
  const meta = raw as Partial<CheckpointMeta>;
  if (meta.format !== CHECKPOINT_FORMAT || typeof meta.config !== 'object' || meta.config === null) {
    throw new SpikedriveError(`${path} is not a spikedrive checkpoint description`, {
      subject: path,
      fix: 'Point at a checkpoint written by `spikedrive train` (NAME.safetensors with NAME.json beside it).',
    });
  }
  return { ...meta, config: sadConfigFromStored(meta.config, path) } as CheckpointMeta;
}

/** Reads a checkpoint (tensors, its JSON when present, and the optimiser state when `withOptimizer`). */
export function loadCheckpoint(path: string, options: { withOptimizer?: boolean } = {}): LoadedCheckpoint {
  const paths = checkpointPaths(path);
  if (!existsSync(paths.tensors)) {
    throw new SpikedriveError(`checkpoint ${paths.tensors} does not exist`, {
      subject: paths.tensors,
      fix: 'Check the path; `spikedrive train` writes NAME.safetensors and NAME.json into its --out folder.',
    });
  }
  const file = readSafetensors(paths.tensors);
  const meta = existsSync(paths.json) ? readMeta(paths.json) : null;
  const tensorStep = file.metadata['spikedrive.step'];
  if (meta !== null && tensorStep !== undefined && Number(tensorStep) !== meta.step) {
    throw new SpikedriveError(
      `checkpoint ${paths.tensors} holds step ${tensorStep} but ${paths.json} describes step ${meta.step} (a save was interrupted)`,
      {
        subject: paths.tensors,
        fix: 'Resume again (the next save rewrites both), or restore both files from the same save.',
      },
    );
  }
  let optimizer: AdamState | null = null;
  if (options.withOptimizer && meta?.optimizerFile) {
    const optimPath = `${dirname(paths.tensors)}/${meta.optimizerFile}`;
    if (!existsSync(optimPath)) {
      throw new SpikedriveError(`the optimiser state ${optimPath} named by ${paths.json} is missing`, {
        subject: optimPath,
        fix: 'Restore it, or start the stage again from this checkpoint without --resume.',
      });
    }
    const optim = readSafetensors(optimPath);
    if (Number(optim.metadata['spikedrive.step']) !== meta.step) {
      throw new SpikedriveError(
        `optimiser state ${optimPath} is from step ${optim.metadata['spikedrive.step']}, the checkpoint from step ${meta.step}`,
        { subject: optimPath, fix: 'Resume again after the next save, or start without --resume.' },
      );
    }
    const moments: AdamState['moments'] = new Map();
    for (const [name, t] of optim.tensors) {
      const avg = name.startsWith('exp_avg.');
      const key = name.replace(/^exp_avg(_sq)?\./, '');
      const entry = moments.get(key) ?? {
        expAvg: new Float32Array(0),
        expAvgSq: new Float32Array(0),
        shape: t.shape,
      };
      if (avg) entry.expAvg = t.data as Float32Array;
      else entry.expAvgSq = t.data as Float32Array;
      moments.set(key, entry);
    }
    optimizer = { step: Number(optim.metadata['adam.step'] ?? meta.step), moments };
  }
  return { paths, tensors: toStateTensors(file.tensors, paths.tensors), meta, optimizer };
}
