import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';

/** A `[min, max, step]` bound as the reference's `LIFT.*_BOUND` keys give it (metres). */
export type Bound = [number, number, number];

/**
 * Everything the perception stage needs, as plain values (the pipeline fills them from `SadConfig`; the stage
 * does not import the pipeline). Reference keys in brackets.
 */
export interface PerceptionOptions {
  /** Network input size [H, W] in pixels (`IMAGE.FINAL_DIM`), multiples of 16. */
  imageSize: [number, number];
  /** Past + present frames S that are lifted (`TIME_RECEPTIVE_FIELD`); later frames of the input are ignored. */
  receptiveField: number;
  /** BEV extent and cell size: x forward (`LIFT.X_BOUND`), y left (`Y_BOUND`), z up (`Z_BOUND`, one cell). */
  xBound: Bound;
  yBound: Bound;
  zBound: Bound;
  /** Depth bins (`LIFT.D_BOUND`): `arange(min, max, step)` metres along each camera ray. */
  dBound: Bound;
  /** Factor of the discounted accumulation bev_t = discount·bev_{t−1} + pooled_t (`LIFT.DISCOUNT`, 0.5). */
  discount: number;
  /** The spiking encoder's width d: stages [d/8 stem, d/4, d/2, d] (`embed_dims`, 384 in the reference). */
  embedDims: number;
  /** SNN time steps of the encoder's sequence repetition (the reference hard-codes T = 4). */
  timeSteps: number;
  /** BEV feature channels C (`MODEL.ENCODER.OUT_CHANNELS`, 64). */
  outChannels: number;
  /** Hidden channels of the two spiking DeepLab heads (the reference hard-codes 64). */
  headHiddenChannels: number;
  /** Append the six ego-motion channels (`MODEL.TEMPORAL_MODEL.INPUT_EGOPOSE`, true). */
  inputEgopose: boolean;
  /** Weight features by the softmax depth distribution (`MODEL.ENCODER.USE_DEPTH_DISTRIBUTION`, true); false
   *  spreads each feature unweighted along its ray, as the reference's `repeat` branch. */
  useDepthDistribution?: boolean;
  /** Encoder stride (`MODEL.ENCODER.DOWNSAMPLE`); the spiking encoder is fixed at 8. */
  downsample?: number;
  /** Camera whose present-frame feature the planner reads (reference `cam_front_index` = 1, CAM_FRONT). */
  frontCameraIndex?: number;
  /** BatchNorm momentum (`MODEL.BN_MOMENTUM`; SAD's configs use 0.05). */
  bnMomentum?: number;
  /**
   * Images run through the encoder at once in eval mode (default: as many as keep the largest activation within
   * 128 MB: one image at the paper size, all of them at small sizes). Images are independent in eval mode, so
   * chunking is exact and bounds memory; training always runs the whole batch (BatchNorm batch statistics span it).
   */
  imagesPerChunk?: number;
  /** Initialise the encoder as the reference (default true); false is cheaper before loading a checkpoint. */
  referenceInit?: boolean;
  /** Seeded source for the initial weights (timm `trunc_normal_(0.02)` on every encoder conv, as the reference). */
  rng?: Rng;
}

/** Cells along one bound as the reference computes `bev_dimension`: ((max − min) / step) cast to long (trunc). */
export function cellsOf(bound: Bound): number {
  return Math.trunc((bound[1] - bound[0]) / bound[2]);
}

/** Depth bins as `torch.arange(min, max, step)` counts them: ⌈(max − min) / step⌉. */
export function depthBinsOf(dBound: Bound): number {
  return Math.ceil((dBound[1] - dBound[0]) / dBound[2]);
}

/** Derived sizes, checked once at construction. */
export interface PerceptionGeometry {
  /** BEV cells [X (rows, forward), Y (columns, left), Z]. */
  bevDimension: [number, number, number];
  /** Cell size per axis, float32 as the reference's `bev_resolution` buffer. */
  bevResolution: [number, number, number];
  /** Centre of cell 0 per axis, float32 as `bev_start_position`. */
  bevStartPosition: [number, number, number];
  depthBins: number;
  /** Encoder feature map [h, w] = image size / 8. */
  featureSize: [number, number];
  /** Output channels: C, plus 6 with `inputEgopose`. */
  bevChannels: number;
}

function fail(key: string, message: string, fix: string): never {
  throw new SpikedriveError(`perception option ${key}: ${message}`, { subject: key, fix });
}

/** Validates the options and derives the sizes; each failure names the option and the reference key. */
export function perceptionGeometry(options: PerceptionOptions): PerceptionGeometry {
  const positiveInt = (key: string, value: number, hint: string) => {
    if (!Number.isInteger(value) || value < 1) fail(key, `must be a positive integer, got ${value}`, hint);
  };
  const [h, w] = options.imageSize ?? [];
  const downsample = options.downsample ?? 8;
  if (downsample !== 8)
    fail('downsample', `the spiking encoder downsamples by 8, got ${downsample}`, 'set it to 8');
  positiveInt('imageSize[0]', h, 'give IMAGE.FINAL_DIM as [H, W], e.g. [224, 480]');
  positiveInt('imageSize[1]', w, 'give IMAGE.FINAL_DIM as [H, W], e.g. [224, 480]');
  if (h % 16 !== 0 || w % 16 !== 0) {
    fail(
      'imageSize',
      `[${h}, ${w}] must be multiples of 16 (features at stride 8, the second head at stride 16)`,
      'use e.g. [224, 480] or [32, 64]',
    );
  }
  positiveInt('receptiveField', options.receptiveField, 'TIME_RECEPTIVE_FIELD is 3 in the reference');
  positiveInt('timeSteps', options.timeSteps, 'the reference repeats each image T = 4 times');
  positiveInt('embedDims', options.embedDims, 'the reference uses 384');
  if (options.embedDims % 8 !== 0)
    fail('embedDims', `${options.embedDims} is not a multiple of 8`, 'use e.g. 64, 128 or 384');
  positiveInt('outChannels', options.outChannels, 'MODEL.ENCODER.OUT_CHANNELS is 64 in the reference');
  positiveInt('headHiddenChannels', options.headHiddenChannels, 'the reference uses 64');
  if (options.imagesPerChunk !== undefined) positiveInt('imagesPerChunk', options.imagesPerChunk, 'e.g. 1');
  if (
    options.frontCameraIndex !== undefined &&
    !(Number.isInteger(options.frontCameraIndex) && options.frontCameraIndex >= 0)
  ) {
    fail(
      'frontCameraIndex',
      `must be an integer ≥ 0, got ${options.frontCameraIndex}`,
      'CAM_FRONT is index 1',
    );
  }
  if (!(options.discount >= 0 && options.discount <= 1)) {
    fail('discount', `must be in [0, 1], got ${options.discount}`, 'LIFT.DISCOUNT is 0.5 in the reference');
  }
  const bounds = {
    xBound: options.xBound,
    yBound: options.yBound,
    zBound: options.zBound,
    dBound: options.dBound,
  };
  for (const [key, bound] of Object.entries(bounds)) {
    const ok = Array.isArray(bound) && bound.length === 3 && bound.every(Number.isFinite);
    if (!ok || !(bound[1] > bound[0]) || !(bound[2] > 0)) {
      fail(
        key,
        `[${String(bound)}] needs [min, max, step] with max > min and step > 0`,
        'e.g. [-50, 50, 0.5]',
      );
    }
  }
  const bevDimension: [number, number, number] = [
    cellsOf(options.xBound),
    cellsOf(options.yBound),
    cellsOf(options.zBound),
  ];
  if (bevDimension[0] < 1 || bevDimension[1] < 1) {
    fail('xBound/yBound', 'give less than one BEV cell', 'make (max − min) at least one step');
  }
  if (bevDimension[2] !== 1) {
    fail(
      'zBound',
      `[${options.zBound}] gives ${bevDimension[2]} height cells; the reference squeezes the single height cell`,
      'use one height cell, e.g. [-10, 10, 20]',
    );
  }
  const depthBins = depthBinsOf(options.dBound);
  const f32 = Math.fround;
  const bound3 = [options.xBound, options.yBound, options.zBound];
  return {
    bevDimension,
    bevResolution: bound3.map((b) => f32(b[2])) as [number, number, number],
    bevStartPosition: bound3.map((b) => f32(b[0] + b[2] / 2)) as [number, number, number],
    depthBins,
    featureSize: [h / downsample, w / downsample],
    bevChannels: options.outChannels + (options.inputEgopose ? 6 : 0),
  };
}
