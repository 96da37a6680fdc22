// Opening a model: a checkpoint written by `spikedrive train` (its JSON carries the config), a bare safetensors
// file exported from the reference PyTorch model (with --config, default `paper`), or — with nothing given — the
// shipped `models/sad-cpu-small.safetensors` trained on the synthetic world.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpikedriveError } from '../util/errors.ts';
import { type CheckpointMeta, loadCheckpoint } from './checkpoint.ts';
import { applyOverride, loadSadConfig, type SadConfig } from './config.ts';
import { SadModel } from './model.ts';
import { LOSS_WEIGHT_NAMES } from './objective.ts';

/** The committed default model (cpu-small, trained on the seeded synthetic world; see docs/training.md). */
export const SHIPPED_MODEL_PATH = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../models/sad-cpu-small.safetensors',
);

export interface OpenModelOptions {
  /** Checkpoint (`.safetensors`); default the shipped model. */
  checkpoint?: string | null;
  /** Config for a checkpoint without its JSON (a reference export): preset or YAML path; default `paper`. Given
   *  together with a spikedrive checkpoint, it replaces the checkpoint's own config (sizes must match). */
  config?: string | SadConfig | null;
  /** `KEY=VALUE` overrides applied to the config. */
  overrides?: readonly string[];
  /** Reject missing tensors (default true). */
  strict?: boolean;
}

export interface OpenedModel {
  model: SadModel;
  config: SadConfig;
  meta: CheckpointMeta | null;
  /** The checkpoint path read. */
  source: string;
  /** Tensors in the file no parameter claimed (besides the trainer's loss weights). */
  unexpected: string[];
}

/** The shipped model's path, or a clear error when the checkout lacks it. */
export function shippedModelPath(): string {
  if (!existsSync(SHIPPED_MODEL_PATH)) {
    throw new SpikedriveError(`the shipped model ${SHIPPED_MODEL_PATH} is missing`, {
      subject: SHIPPED_MODEL_PATH,
      fix: 'Restore models/ from the repository (git checkout -- models), or pass --checkpoint FILE.',
    });
  }
  return SHIPPED_MODEL_PATH;
}

/** Builds the model a checkpoint describes and loads its tensors (eval mode). */
export function openModel(options: OpenModelOptions = {}): OpenedModel {
  const source = options.checkpoint ? resolve(options.checkpoint) : shippedModelPath();
  const ckpt = loadCheckpoint(source);
  let config: SadConfig;
  if (options.config && typeof options.config !== 'string') config = options.config;
  else if (options.config) config = loadSadConfig(options.config);
  else if (ckpt.meta) config = ckpt.meta.config;
  else config = loadSadConfig('paper');
  for (const item of options.overrides ?? []) config = applyOverride(config, item);
  const model = new SadModel(config, { referenceInit: false });
  try {
    const report = model.loadStateDict(ckpt.tensors, { strict: options.strict ?? true, source });
    const lossWeights = new Set<string>(LOSS_WEIGHT_NAMES);
    model.eval();
    return {
      model,
      config,
      meta: ckpt.meta,
      source,
      unexpected: report.unexpected.filter((n) => !lossWeights.has(n)),
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}
