import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { SpikedriveError } from '../util/index.ts';

/**
 * The SAD configuration, with the reference implementation's keys (`sad/config.py`, yacs CfgNode) so that a
 * reference user's YAML file works unchanged, plus a few spikedrive keys (marked "spikedrive") for the
 * sizes the reference hard-codes. Defaults are the reference's `config.py` defaults; the `paper` preset sets
 * what the reference's Planning.yml and model code actually use.
 */
export interface SadConfig {
  LOG_DIR: string;
  TAG: string;
  GPUS: number[];
  PRECISION: number;
  BATCHSIZE: number;
  EPOCHS: number;
  N_WORKERS: number;
  VIS_INTERVAL: number;
  LOGGING_INTERVAL: number;
  /** spikedrive: seed for everything random (weight init, sampler, data order). */
  SEED: number;
  PRETRAINED: { LOAD_WEIGHTS: boolean; PATH: string };
  DATASET: {
    DATAROOT: string;
    VERSION: string;
    NAME: string;
    MAP_FOLDER: string;
    IGNORE_INDEX: number;
    FILTER_INVISIBLE_VEHICLES: boolean;
    SAVE_DIR: string;
  };
  TIME_RECEPTIVE_FIELD: number;
  N_FUTURE_FRAMES: number;
  IMAGE: {
    FINAL_DIM: [number, number];
    RESIZE_SCALE: number;
    TOP_CROP: number;
    ORIGINAL_HEIGHT: number;
    ORIGINAL_WIDTH: number;
    NAMES: string[];
  };
  LIFT: {
    X_BOUND: [number, number, number];
    Y_BOUND: [number, number, number];
    Z_BOUND: [number, number, number];
    D_BOUND: [number, number, number];
    GT_DEPTH: boolean;
    DISCOUNT: number;
  };
  EGO: { WIDTH: number; HEIGHT: number };
  MODEL: {
    ENCODER: {
      DOWNSAMPLE: number;
      NAME: string;
      OUT_CHANNELS: number;
      USE_DEPTH_DISTRIBUTION: boolean;
      /** spikedrive: the spiking encoder's width (the reference's `embed_dims`; stages are [d/4, d/2, d]). */
      EMBED_DIMS: number;
      /** spikedrive: SNN time steps T of the encoder's sequence repetition (the reference hard-codes 4). */
      TIME_STEPS: number;
      /** spikedrive: hidden channels of the spiking DeepLab heads (the reference hard-codes 64). */
      HEAD_HIDDEN_CHANNELS: number;
    };
    TEMPORAL_MODEL: {
      NAME: string;
      START_OUT_CHANNELS: number;
      EXTRA_IN_CHANNELS: number;
      INBETWEEN_LAYERS: number;
      PYRAMID_POOLING: boolean;
      INPUT_EGOPOSE: boolean;
    };
    DISTRIBUTION: { LATENT_DIM: number; MIN_LOG_SIGMA: number; MAX_LOG_SIGMA: number };
    FUTURE_PRED: {
      N_GRU_BLOCKS: number;
      N_RES_LAYERS: number;
      MIXTURE: boolean;
      /** spikedrive: the wide channels of temporal mixing stages 2–3 (the reference hard-codes 384). */
      HIDDEN_CHANNELS: number;
    };
    DECODER: {
      /** spikedrive: MS-ResNet-18 stage widths of the BEV decoder (the reference: 64, 128, 256). */
      CHANNELS: [number, number, number];
    };
    BN_MOMENTUM: number;
  };
  SEMANTIC_SEG: {
    VEHICLE: { WEIGHTS: number[]; USE_TOP_K: boolean; TOP_K_RATIO: number };
    PEDESTRIAN: { ENABLED: boolean; WEIGHTS: number[]; USE_TOP_K: boolean; TOP_K_RATIO: number };
    HDMAP: {
      ENABLED: boolean;
      ELEMENTS: string[];
      WEIGHTS: number[][];
      TRAIN_WEIGHT: number[];
      USE_TOP_K: boolean[];
      TOP_K_RATIO: number[];
    };
  };
  INSTANCE_SEG: { ENABLED: boolean };
  INSTANCE_FLOW: { ENABLED: boolean };
  PROBABILISTIC: { ENABLED: boolean; METHOD: string };
  PLANNING: {
    ENABLED: boolean;
    GRU_STATE_SIZE: number;
    /** spikedrive: which of the SGRU's four reducer blocks halve the CAM_FRONT feature (reference: the first three). */
    REDUCER_DOWNSAMPLE: boolean[];
    SAMPLE_NUM: number;
    COMMAND: string[];
  };
  FUTURE_DISCOUNT: number;
  OPTIMIZER: {
    LR: number;
    WEIGHT_DECAY: number;
    /** spikedrive: the learning rate `--stage perception|prediction|planning` sets (the reference stage files: 1e-3, 2e-4, 1e-4). */
    STAGE_LR: [number, number, number];
  };
  GRAD_NORM_CLIP: number;
  /** spikedrive: training-loop settings the reference leaves to PyTorch Lightning. */
  TRAIN: {
    /** Write an atomic checkpoint every this many optimiser steps (and at each epoch end). */
    CHECKPOINT_EVERY_STEPS: number;
    /** Validate on at most this many val samples per epoch (0: all). */
    VAL_MAX_SAMPLES: number;
    /** Stop after this many optimiser steps in total (0: run all EPOCHS). */
    MAX_STEPS: number;
    /**
     * Parameter-name prefixes kept fixed in this stage (e.g. `encoder.`): no gradients, no updates. Lets a short
     * schedule train a later stage on top of a trained perception without the backward pass through the encoder.
     */
    FREEZE: string[];
  };
  COST_FUNCTION: {
    SAFETY: number;
    LAMBDA: number;
    HEADWAY: number;
    LRDIVIDER: number;
    COMFORT: number;
    PROGRESS: number;
    VOLUME: number;
  };
}

/** The reference `config.py` defaults, verbatim, plus spikedrive's keys at the reference's hard-coded values. */
export function defaultSadConfig(): SadConfig {
  return {
    LOG_DIR: 'tensorboard_logs',
    TAG: 'default',
    GPUS: [0],
    PRECISION: 32,
    BATCHSIZE: 3,
    EPOCHS: 20,
    N_WORKERS: 5,
    VIS_INTERVAL: 5000,
    LOGGING_INTERVAL: 500,
    SEED: 0,
    PRETRAINED: { LOAD_WEIGHTS: false, PATH: '' },
    DATASET: {
      DATAROOT: '/data/Nuscenes',
      VERSION: 'trainval',
      NAME: 'nuscenes',
      MAP_FOLDER: '/data/Nuscenes',
      IGNORE_INDEX: 255,
      FILTER_INVISIBLE_VEHICLES: true,
      SAVE_DIR: 'datas',
    },
    TIME_RECEPTIVE_FIELD: 3,
    N_FUTURE_FRAMES: 4,
    IMAGE: {
      FINAL_DIM: [224, 480],
      RESIZE_SCALE: 0.3,
      TOP_CROP: 46,
      ORIGINAL_HEIGHT: 900,
      ORIGINAL_WIDTH: 1600,
      NAMES: [
        'CAM_FRONT_LEFT',
        'CAM_FRONT',
        'CAM_FRONT_RIGHT',
        'CAM_BACK_LEFT',
        'CAM_BACK',
        'CAM_BACK_RIGHT',
      ],
    },
    LIFT: {
      X_BOUND: [-50.0, 50.0, 0.5],
      Y_BOUND: [-50.0, 50.0, 0.5],
      Z_BOUND: [-10.0, 10.0, 20.0],
      D_BOUND: [2.0, 50.0, 1.0],
      GT_DEPTH: false,
      DISCOUNT: 0.5,
    },
    EGO: { WIDTH: 1.85, HEIGHT: 4.084 },
    MODEL: {
      ENCODER: {
        DOWNSAMPLE: 8,
        NAME: 'efficientnet-b4',
        OUT_CHANNELS: 64,
        USE_DEPTH_DISTRIBUTION: true,
        EMBED_DIMS: 384,
        TIME_STEPS: 4,
        HEAD_HIDDEN_CHANNELS: 64,
      },
      TEMPORAL_MODEL: {
        NAME: 'temporal_block',
        START_OUT_CHANNELS: 64,
        EXTRA_IN_CHANNELS: 0,
        INBETWEEN_LAYERS: 0,
        PYRAMID_POOLING: true,
        INPUT_EGOPOSE: true,
      },
      DISTRIBUTION: { LATENT_DIM: 32, MIN_LOG_SIGMA: -5.0, MAX_LOG_SIGMA: 5.0 },
      FUTURE_PRED: { N_GRU_BLOCKS: 2, N_RES_LAYERS: 1, MIXTURE: true, HIDDEN_CHANNELS: 384 },
      DECODER: { CHANNELS: [64, 128, 256] },
      BN_MOMENTUM: 0.1,
    },
    SEMANTIC_SEG: {
      VEHICLE: { WEIGHTS: [1.0, 2.0], USE_TOP_K: true, TOP_K_RATIO: 0.25 },
      PEDESTRIAN: { ENABLED: true, WEIGHTS: [1.0, 10.0], USE_TOP_K: true, TOP_K_RATIO: 0.25 },
      HDMAP: {
        ENABLED: true,
        ELEMENTS: ['lane_divider', 'drivable_area'],
        WEIGHTS: [
          [1.0, 5.0],
          [1.0, 1.0],
        ],
        TRAIN_WEIGHT: [1, 1],
        USE_TOP_K: [true, false],
        TOP_K_RATIO: [0.25, 0.25],
      },
    },
    INSTANCE_SEG: { ENABLED: true },
    INSTANCE_FLOW: { ENABLED: true },
    PROBABILISTIC: { ENABLED: true, METHOD: 'GAUSSIAN' },
    PLANNING: {
      ENABLED: true,
      GRU_STATE_SIZE: 256,
      REDUCER_DOWNSAMPLE: [true, true, true, false],
      SAMPLE_NUM: 600,
      COMMAND: ['LEFT', 'FORWARD', 'RIGHT'],
    },
    FUTURE_DISCOUNT: 0.95,
    OPTIMIZER: { LR: 3e-4, WEIGHT_DECAY: 1e-7, STAGE_LR: [1e-3, 2e-4, 1e-4] },
    GRAD_NORM_CLIP: 5,
    TRAIN: { CHECKPOINT_EVERY_STEPS: 100, VAL_MAX_SAMPLES: 0, MAX_STEPS: 0, FREEZE: [] },
    COST_FUNCTION: {
      SAFETY: 0.1,
      LAMBDA: 1.0,
      HEADWAY: 1.0,
      LRDIVIDER: 10.0,
      COMFORT: 0.1,
      PROGRESS: 0.5,
      VOLUME: 100.0,
    },
  };
}

type Plain = Record<string, unknown>;

function isPlainObject(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  return typeof value;
}

/**
 * Merges `override` into `base` as yacs' `merge_from_other_cfg` does: every key must already exist (a typo is
 * an error, not a silent no-op), and a value must keep its type (numbers may be given as ints or floats; a
 * reference file's tuples arrive as lists). Returns a new object.
 */
function mergeStrict(base: Plain, override: Plain, source: string, path: string[] = []): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const keyPath = [...path, key].join('.');
    if (!(key in base)) {
      const near = Object.keys(base).filter(
        (k) => k.toLowerCase() === key.toLowerCase() || k.includes(key) || key.includes(k),
      );
      throw new SpikedriveError(`unknown config key ${keyPath} in ${source}`, {
        subject: keyPath,
        fix: near.length
          ? `did you mean ${near.map((k) => [...path, k].join('.')).join(' or ')}?`
          : `remove it; valid keys here are ${Object.keys(base).join(', ')}`,
      });
    }
    const current = base[key];
    if (isPlainObject(current)) {
      if (!isPlainObject(value)) {
        throw new SpikedriveError(
          `config key ${keyPath} in ${source} must be a mapping, got ${typeName(value)}`,
          {
            subject: keyPath,
            fix: `give ${keyPath} as a YAML mapping of its sub-keys (${Object.keys(current).join(', ')})`,
          },
        );
      }
      out[key] = mergeStrict(current, value, source, [...path, key]);
      continue;
    }
    if (typeName(current) !== typeName(value)) {
      throw new SpikedriveError(
        `config key ${keyPath} in ${source} must be a ${typeName(current)}, got ${typeName(value)} (${JSON.stringify(value)})`,
        { subject: keyPath, fix: `set ${keyPath} to a ${typeName(current)} like ${JSON.stringify(current)}` },
      );
    }
    out[key] = value;
  }
  return out;
}

/**
 * A config stored with a checkpoint, layered on today's defaults: a key added after the checkpoint was written
 * (e.g. TRAIN.FREEZE) takes its default, and any stored key is still checked by name and type.
 */
export function sadConfigFromStored(stored: object, source: string): SadConfig {
  return validateSadConfig(
    mergeStrict(defaultSadConfig() as unknown as Plain, stored as Plain, source) as unknown as SadConfig,
    source,
  );
}

/** Checks ranges and relations the type alone cannot express; each failure names the key. */
export function validateSadConfig(config: SadConfig, source = 'config'): SadConfig {
  const fail = (key: string, message: string, fix: string): never => {
    throw new SpikedriveError(`config key ${key} in ${source}: ${message}`, { subject: key, fix });
  };
  const positiveInt = (key: string, value: number) => {
    if (!Number.isInteger(value) || value <= 0)
      fail(key, `must be a positive integer, got ${value}`, `set ${key} ≥ 1`);
  };
  positiveInt('TIME_RECEPTIVE_FIELD', config.TIME_RECEPTIVE_FIELD);
  if (!Number.isInteger(config.N_FUTURE_FRAMES) || config.N_FUTURE_FRAMES < 0) {
    fail('N_FUTURE_FRAMES', `must be an integer ≥ 0, got ${config.N_FUTURE_FRAMES}`, 'use 0, 4 or 6');
  }
  positiveInt('BATCHSIZE', config.BATCHSIZE);
  positiveInt('EPOCHS', config.EPOCHS);
  positiveInt('MODEL.ENCODER.TIME_STEPS', config.MODEL.ENCODER.TIME_STEPS);
  positiveInt('MODEL.ENCODER.EMBED_DIMS', config.MODEL.ENCODER.EMBED_DIMS);
  if (config.MODEL.ENCODER.EMBED_DIMS % 8 !== 0) {
    fail(
      'MODEL.ENCODER.EMBED_DIMS',
      'must be a multiple of 8 (stages use d/8, d/4, d/2, d)',
      'use e.g. 64, 128, 384',
    );
  }
  positiveInt('MODEL.ENCODER.OUT_CHANNELS', config.MODEL.ENCODER.OUT_CHANNELS);
  const [h, w] = config.IMAGE.FINAL_DIM;
  const down = config.MODEL.ENCODER.DOWNSAMPLE;
  if (down !== 8)
    fail('MODEL.ENCODER.DOWNSAMPLE', `the spiking encoder downsamples by 8, got ${down}`, 'set it to 8');
  if (h % 16 !== 0 || w % 16 !== 0) {
    fail(
      'IMAGE.FINAL_DIM',
      `[${h}, ${w}] must be multiples of 16 (encoder stride 8, second head stride 16)`,
      'use e.g. [224, 480] or [64, 128]',
    );
  }
  for (const key of ['X_BOUND', 'Y_BOUND', 'Z_BOUND', 'D_BOUND'] as const) {
    const [lo, hi, step] = config.LIFT[key];
    if (!(hi > lo) || !(step > 0))
      fail(`LIFT.${key}`, `[${lo}, ${hi}, ${step}] needs max > min and step > 0`, 'fix the bounds');
  }
  if (!(config.LIFT.DISCOUNT >= 0 && config.LIFT.DISCOUNT <= 1)) {
    fail('LIFT.DISCOUNT', `must be in [0, 1], got ${config.LIFT.DISCOUNT}`, 'the reference uses 0.5');
  }
  if (config.IMAGE.NAMES.length === 0)
    fail('IMAGE.NAMES', 'needs at least one camera', 'list camera channels');
  if (config.PLANNING.ENABLED) {
    const down = config.PLANNING.REDUCER_DOWNSAMPLE;
    if (down.length !== 4 || !down.every((d) => typeof d === 'boolean')) {
      fail(
        'PLANNING.REDUCER_DOWNSAMPLE',
        `needs one true/false per reducer block (4), got ${JSON.stringify(down)}`,
        'use [true, true, true, false] (the reference)',
      );
    }
    if (config.PLANNING.SAMPLE_NUM % 3 !== 0) {
      fail(
        'PLANNING.SAMPLE_NUM',
        `must be divisible by 3 (one third per command), got ${config.PLANNING.SAMPLE_NUM}`,
        'use 1800',
      );
    }
    if (config.N_FUTURE_FRAMES <= 0) {
      fail(
        'N_FUTURE_FRAMES',
        'planning needs future frames',
        'set N_FUTURE_FRAMES to 6 (3 s) with PLANNING.ENABLED',
      );
    }
  }
  if (config.INSTANCE_FLOW.ENABLED && !config.INSTANCE_SEG.ENABLED) {
    fail(
      'INSTANCE_FLOW.ENABLED',
      'flow cannot be predicted without instances (the reference raises too)',
      'enable INSTANCE_SEG or disable INSTANCE_FLOW',
    );
  }
  positiveInt('TRAIN.CHECKPOINT_EVERY_STEPS', config.TRAIN.CHECKPOINT_EVERY_STEPS);
  for (const key of ['VAL_MAX_SAMPLES', 'MAX_STEPS'] as const) {
    const v = config.TRAIN[key];
    if (!Number.isInteger(v) || v < 0)
      fail(`TRAIN.${key}`, `must be an integer ≥ 0, got ${v}`, 'use 0 for no limit');
  }
  if (
    !Array.isArray(config.TRAIN.FREEZE) ||
    !config.TRAIN.FREEZE.every((p) => typeof p === 'string' && p.length > 0)
  )
    fail('TRAIN.FREEZE', 'must be a list of parameter-name prefixes', 'e.g. ["encoder."]');
  if (!(config.OPTIMIZER.LR > 0))
    fail('OPTIMIZER.LR', `must be > 0, got ${config.OPTIMIZER.LR}`, 'e.g. 1e-4');
  if (config.OPTIMIZER.STAGE_LR.length !== 3 || !config.OPTIMIZER.STAGE_LR.every((v) => v > 0)) {
    fail(
      'OPTIMIZER.STAGE_LR',
      `must be three positive rates (perception, prediction, planning), got ${JSON.stringify(config.OPTIMIZER.STAGE_LR)}`,
      'e.g. [1e-3, 2e-4, 1e-4]',
    );
  }
  if (!(config.OPTIMIZER.WEIGHT_DECAY >= 0)) {
    fail(
      'OPTIMIZER.WEIGHT_DECAY',
      `must be ≥ 0, got ${config.OPTIMIZER.WEIGHT_DECAY}`,
      'the reference uses 1e-7',
    );
  }
  if (!(config.GRAD_NORM_CLIP >= 0)) {
    fail(
      'GRAD_NORM_CLIP',
      `must be ≥ 0 (0: no clipping), got ${config.GRAD_NORM_CLIP}`,
      'the reference uses 5',
    );
  }
  if (config.SEMANTIC_SEG.HDMAP.ELEMENTS.length !== config.SEMANTIC_SEG.HDMAP.WEIGHTS.length) {
    fail(
      'SEMANTIC_SEG.HDMAP.WEIGHTS',
      'needs one [bg, fg] pair per HDMAP.ELEMENTS entry',
      'match the two lists',
    );
  }
  return config;
}

/** Folder of the named presets (`configs/` at the project root). */
export const PRESETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../configs');

export function listPresets(): string[] {
  return ['paper', 'cpu-small', 'cpu-tiny'].filter((name) => existsSync(join(PRESETS_DIR, `${name}.yml`)));
}

function readYaml(path: string): Plain {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new SpikedriveError(`cannot read config file ${path}`, {
      subject: path,
      cause,
      fix: `check the path, or use a preset: ${listPresets().join(', ')}`,
    });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (cause) {
    const where = cause instanceof YAMLParseError && cause.linePos ? ` at line ${cause.linePos[0].line}` : '';
    throw new SpikedriveError(
      `config file ${path} is not valid YAML${where}: ${(cause as Error).message.split('\n')[0]}`,
      {
        subject: path,
        cause,
        fix: 'fix the YAML syntax (indentation with spaces, `KEY: value`)',
      },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) {
    throw new SpikedriveError(`config file ${path} must hold a mapping of keys, got ${typeName(parsed)}`, {
      subject: path,
      fix: 'write the config as `KEY: value` lines',
    });
  }
  return parsed;
}

/**
 * Parses a config from YAML text layered on the defaults (or on `base`). A top-level `_BASE_: preset-or-path`
 * key lets a file start from a preset, as in many yacs-based projects.
 */
export function sadConfigFromYaml(
  text: string,
  source = 'inline YAML',
  base: SadConfig = defaultSadConfig(),
): SadConfig {
  const parsed = parseYaml(text) as unknown;
  if (parsed !== null && parsed !== undefined && !isPlainObject(parsed)) {
    throw new SpikedriveError(`${source} must hold a mapping of keys`, {
      subject: source,
      fix: 'write `KEY: value` lines',
    });
  }
  return applyOverrides(base, (parsed ?? {}) as Plain, source, process.cwd());
}

function applyOverrides(base: SadConfig, raw: Plain, source: string, relativeTo: string): SadConfig {
  let start = base;
  const { _BASE_: baseRef, ...rest } = raw;
  if (baseRef !== undefined) {
    if (typeof baseRef !== 'string') {
      throw new SpikedriveError(`_BASE_ in ${source} must be a preset name or a path`, {
        subject: '_BASE_',
        fix: 'e.g. `_BASE_: paper`',
      });
    }
    start = loadSadConfig(baseRef, undefined, relativeTo);
  }
  const merged = mergeStrict(start as unknown as Plain, rest, source) as unknown as SadConfig;
  return validateSadConfig(merged, source);
}

/**
 * Loads a config: a preset name (`paper`, `cpu-small`, `cpu-tiny`) or a YAML file path (reference files work:
 * their keys are a subset of ours). `overrides` are `KEY.PATH=value` strings as yacs' `merge_from_list`.
 */
export function loadSadConfig(
  presetOrPath: string,
  overrides: readonly string[] = [],
  relativeTo = process.cwd(),
): SadConfig {
  const presetPath = join(PRESETS_DIR, `${presetOrPath}.yml`);
  let path: string;
  if (!presetOrPath.includes('/') && !presetOrPath.endsWith('.yml') && !presetOrPath.endsWith('.yaml')) {
    if (!existsSync(presetPath)) {
      throw new SpikedriveError(`unknown config preset "${presetOrPath}"`, {
        subject: presetOrPath,
        fix: `use one of ${listPresets().join(', ')}, or a path to a YAML file`,
      });
    }
    path = presetPath;
  } else {
    path = isAbsolute(presetOrPath) ? presetOrPath : resolve(relativeTo, presetOrPath);
  }
  let config = applyOverrides(defaultSadConfig(), readYaml(path), path, dirname(path));
  for (const item of overrides) config = applyOverride(config, item);
  return config;
}

/** Applies one `KEY.PATH=value` override (value parsed as YAML, so `0.5`, `true`, `[1, 2]` work). */
export function applyOverride(config: SadConfig, assignment: string): SadConfig {
  const eq = assignment.indexOf('=');
  if (eq <= 0) {
    throw new SpikedriveError(`config override "${assignment}" is not KEY=VALUE`, {
      subject: assignment,
      fix: 'write e.g. OPTIMIZER.LR=1e-4',
    });
  }
  const keyPath = assignment.slice(0, eq).trim().split('.');
  const value = parseYaml(assignment.slice(eq + 1)) as unknown;
  const nested: Plain = {};
  let cursor = nested;
  keyPath.forEach((k, i) => {
    if (i === keyPath.length - 1) cursor[k] = value;
    else {
      cursor[k] = {};
      cursor = cursor[k] as Plain;
    }
  });
  return validateSadConfig(
    mergeStrict(config as unknown as Plain, nested, 'command line') as unknown as SadConfig,
    'command line',
  );
}

/** A stable hash of a config (for run manifests and checkpoint compatibility checks). */
export async function configHash(config: SadConfig): Promise<string> {
  const { createHash } = await import('node:crypto');
  const canonical = (value: unknown): unknown =>
    isPlainObject(value)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, canonical(value[k])]),
        )
      : Array.isArray(value)
        ? value.map(canonical)
        : value;
  return createHash('sha256')
    .update(JSON.stringify(canonical(config)))
    .digest('hex')
    .slice(0, 16);
}

/** Derived sizes every stage needs, computed once from the config. */
export interface SadGeometry {
  /** BEV cells along x (forward, rows) and y (left, columns). */
  bevRows: number;
  bevCols: number;
  bevResolutionM: [number, number, number];
  /** Centre of cell 0 (reference `bev_start_position`). */
  bevStartM: [number, number, number];
  depthBins: number;
  featureHeight: number;
  featureWidth: number;
  /** BEV channels after the six ego-motion channels are appended. */
  bevChannels: number;
}

export function sadGeometry(config: SadConfig): SadGeometry {
  const cells = (b: [number, number, number]) => Math.round((b[1] - b[0]) / b[2]);
  const { X_BOUND: x, Y_BOUND: y, Z_BOUND: z, D_BOUND: d } = config.LIFT;
  return {
    bevRows: cells(x),
    bevCols: cells(y),
    bevResolutionM: [x[2], y[2], z[2]],
    bevStartM: [x[0] + x[2] / 2, y[0] + y[2] / 2, z[0] + z[2] / 2],
    depthBins: Math.round((d[1] - d[0]) / d[2]),
    featureHeight: config.IMAGE.FINAL_DIM[0] / config.MODEL.ENCODER.DOWNSAMPLE,
    featureWidth: config.IMAGE.FINAL_DIM[1] / config.MODEL.ENCODER.DOWNSAMPLE,
    bevChannels: config.MODEL.ENCODER.OUT_CHANNELS + (config.MODEL.TEMPORAL_MODEL.INPUT_EGOPOSE ? 6 : 0),
  };
}
