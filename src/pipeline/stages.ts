// Maps SadConfig onto each stage's plain options (stages never import the pipeline) and applies the reference's
// three training stages (sad/configs/nuscenes/{Perception,Prediction,Planning}.yml).
import { type SadDataOptions, sadDataOptionsFromConfig } from '../../data-loaders/sad/index.ts';
import type { PerceptionOptions } from '../perception/index.ts';
import type { PlanningOptions } from '../planning/index.ts';
import type { DecoderOptions, PredictionOptions } from '../prediction/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import { type SadConfig, sadGeometry, validateSadConfig } from './config.ts';

export const TRAINING_STAGES = ['perception', 'prediction', 'planning'] as const;
export type TrainingStage = (typeof TRAINING_STAGES)[number];

export function parseStage(raw: string, subject = '--stage'): TrainingStage {
  const v = raw.trim().toLowerCase();
  if ((TRAINING_STAGES as readonly string[]).includes(v)) return v as TrainingStage;
  throw new SpikedriveError(`unknown training stage '${raw}'`, {
    subject,
    fix: `use one of ${TRAINING_STAGES.join(', ')} (trained in that order, each from the previous checkpoint)`,
  });
}

/**
 * The switches of the reference stage files, on top of any preset: future frames (0 / 4 / 6), the heads
 * (Perception: vehicle + pedestrian + HD map; Prediction: vehicle + instance + flow with the distribution;
 * Planning: vehicle + pedestrian + HD map + cost volume + planner), the stage's learning rate
 * (`OPTIMIZER.STAGE_LR`) and `PRETRAINED.LOAD_WEIGHTS` for the later stages. Sizes, batch and epochs stay the preset's.
 */
export function applyStage(config: SadConfig, stage: TrainingStage): SadConfig {
  const c = structuredClone(config);
  const index = TRAINING_STAGES.indexOf(stage);
  c.TAG = stage[0].toUpperCase() + stage.slice(1);
  c.OPTIMIZER.LR = c.OPTIMIZER.STAGE_LR[index];
  c.PRETRAINED.LOAD_WEIGHTS = stage !== 'perception';
  if (stage === 'perception') {
    c.N_FUTURE_FRAMES = 0;
    c.SEMANTIC_SEG.PEDESTRIAN.ENABLED = true;
    c.SEMANTIC_SEG.HDMAP.ENABLED = true;
    c.INSTANCE_SEG.ENABLED = false;
    c.INSTANCE_FLOW.ENABLED = false;
    c.PROBABILISTIC.ENABLED = false;
    c.PLANNING.ENABLED = false;
  } else if (stage === 'prediction') {
    c.N_FUTURE_FRAMES = 4;
    c.SEMANTIC_SEG.PEDESTRIAN.ENABLED = false;
    c.SEMANTIC_SEG.HDMAP.ENABLED = false;
    c.INSTANCE_SEG.ENABLED = true;
    c.INSTANCE_FLOW.ENABLED = true;
    c.PROBABILISTIC.ENABLED = true;
    c.PLANNING.ENABLED = false;
  } else {
    c.N_FUTURE_FRAMES = 6;
    c.SEMANTIC_SEG.PEDESTRIAN.ENABLED = true;
    c.SEMANTIC_SEG.HDMAP.ENABLED = true;
    c.INSTANCE_SEG.ENABLED = false;
    c.INSTANCE_FLOW.ENABLED = false;
    c.PROBABILISTIC.ENABLED = true;
    c.PLANNING.ENABLED = true;
  }
  return validateSadConfig(c, `--stage ${stage}`);
}

/** The stage a config describes (from its switches). */
export function stageOf(config: SadConfig): TrainingStage {
  if (config.PLANNING.ENABLED) return 'planning';
  return config.N_FUTURE_FRAMES > 0 ? 'prediction' : 'perception';
}

const bound = (b: readonly number[]): [number, number, number] => [b[0], b[1], b[2]];

export function perceptionOptions(config: SadConfig, rng?: Rng): PerceptionOptions {
  return {
    imageSize: [config.IMAGE.FINAL_DIM[0], config.IMAGE.FINAL_DIM[1]],
    receptiveField: config.TIME_RECEPTIVE_FIELD,
    xBound: bound(config.LIFT.X_BOUND),
    yBound: bound(config.LIFT.Y_BOUND),
    zBound: bound(config.LIFT.Z_BOUND),
    dBound: bound(config.LIFT.D_BOUND),
    discount: config.LIFT.DISCOUNT,
    embedDims: config.MODEL.ENCODER.EMBED_DIMS,
    timeSteps: config.MODEL.ENCODER.TIME_STEPS,
    outChannels: config.MODEL.ENCODER.OUT_CHANNELS,
    headHiddenChannels: config.MODEL.ENCODER.HEAD_HIDDEN_CHANNELS,
    inputEgopose: config.MODEL.TEMPORAL_MODEL.INPUT_EGOPOSE,
    useDepthDistribution: config.MODEL.ENCODER.USE_DEPTH_DISTRIBUTION,
    downsample: config.MODEL.ENCODER.DOWNSAMPLE,
    frontCameraIndex: Math.max(0, config.IMAGE.NAMES.indexOf('CAM_FRONT')),
    bnMomentum: config.MODEL.BN_MOMENTUM,
    rng,
  };
}

export function predictionOptions(config: SadConfig, rng?: Rng): PredictionOptions {
  return {
    inChannels: sadGeometry(config).bevChannels,
    latentDim: config.MODEL.DISTRIBUTION.LATENT_DIM,
    nFuture: config.N_FUTURE_FRAMES,
    mixture: config.MODEL.FUTURE_PRED.MIXTURE,
    hiddenChannels: config.MODEL.FUTURE_PRED.HIDDEN_CHANNELS,
    minLogSigma: config.MODEL.DISTRIBUTION.MIN_LOG_SIGMA,
    maxLogSigma: config.MODEL.DISTRIBUTION.MAX_LOG_SIGMA,
    probabilistic: config.PROBABILISTIC.ENABLED,
    method: config.PROBABILISTIC.METHOD as PredictionOptions['method'],
    bnMomentum: config.MODEL.BN_MOMENTUM,
    rng,
  };
}

export function decoderOptions(config: SadConfig, rng?: Rng): DecoderOptions {
  return {
    inChannels: sadGeometry(config).bevChannels,
    nPresent: config.TIME_RECEPTIVE_FIELD,
    nClasses: config.SEMANTIC_SEG.VEHICLE.WEIGHTS.length,
    nHdmap: config.SEMANTIC_SEG.HDMAP.ELEMENTS.length,
    channels: [...config.MODEL.DECODER.CHANNELS],
    heads: {
      perceiveHdmap: config.SEMANTIC_SEG.HDMAP.ENABLED,
      predictPedestrian: config.SEMANTIC_SEG.PEDESTRIAN.ENABLED,
      predictInstance: config.INSTANCE_SEG.ENABLED,
      predictFutureFlow: config.INSTANCE_FLOW.ENABLED,
      planning: config.PLANNING.ENABLED,
    },
    bnMomentum: config.MODEL.BN_MOMENTUM,
    rng,
  };
}

export function planningOptions(config: SadConfig, rng?: Rng): PlanningOptions {
  const g = sadGeometry(config);
  return {
    featureChannels: config.MODEL.ENCODER.OUT_CHANNELS,
    featureHeight: g.featureHeight,
    featureWidth: g.featureWidth,
    gruStateSize: config.PLANNING.GRU_STATE_SIZE,
    reducerDownsample: config.PLANNING.REDUCER_DOWNSAMPLE as [boolean, boolean, boolean, boolean],
    sampleNum: config.PLANNING.SAMPLE_NUM,
    nFutureFrames: config.N_FUTURE_FRAMES,
    xBound: bound(config.LIFT.X_BOUND),
    yBound: bound(config.LIFT.Y_BOUND),
    ego: { lengthM: config.EGO.HEIGHT, widthM: config.EGO.WIDTH },
    costWeights: { ...config.COST_FUNCTION },
    bnMomentum: config.MODEL.BN_MOMENTUM,
    rng,
  };
}

/** The data loader's options for a config (the reference keys it reads). */
export function dataOptions(config: SadConfig): SadDataOptions {
  return sadDataOptionsFromConfig(config);
}
