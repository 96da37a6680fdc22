import { SpikedriveError } from '../../src/util/index.ts';
import { CAMERA_CHANNELS, type CameraChannel } from '../nuscenes/index.ts';

/**
 * The part of SAD's configuration the data loader reads, with the reference key each option comes from
 * (`sad/config.py`). The pipeline maps its `SadConfig` onto this; data-loaders know no model config.
 */
export interface SadDataOptions {
  /** IMAGE.NAMES: camera channels in the network's order (FRONT = index 1 feeds the planner). */
  cameras: readonly CameraChannel[];
  /** IMAGE.FINAL_DIM: [height, width] of each camera tensor after resize and crop. */
  finalDim: readonly [number, number];
  /** IMAGE.RESIZE_SCALE: bilinear scale applied to the original image before cropping. */
  resizeScale: number;
  /** IMAGE.TOP_CROP: rows removed from the top of the resized image. */
  topCrop: number;
  /** IMAGE.ORIGINAL_HEIGHT / ORIGINAL_WIDTH: the size the intrinsics belong to (1600×900 on nuScenes). */
  originalHeight: number;
  originalWidth: number;
  /** LIFT.X_BOUND [min, max, resolution] in metres, forward. */
  xBound: readonly [number, number, number];
  /** LIFT.Y_BOUND, left. */
  yBound: readonly [number, number, number];
  /** LIFT.Z_BOUND, up. */
  zBound: readonly [number, number, number];
  /** TIME_RECEPTIVE_FIELD: past + present frames S (camera frames). */
  timeReceptiveField: number;
  /** N_FUTURE_FRAMES: future label frames F. */
  nFutureFrames: number;
  /** DATASET.FILTER_INVISIBLE_VEHICLES: drop visibility '1' (0–40 %) annotations in past/present frames. */
  filterInvisibleVehicles: boolean;
  /** DATASET.IGNORE_INDEX: the value of offset/flow cells outside any instance. */
  ignoreIndex: number;
  /** SEMANTIC_SEG.HDMAP.ELEMENTS: map layers rasterised into `hdmap`, in channel order. */
  hdmapElements: readonly string[];
  /**
   * spikedrive: the resampler for the camera resize. 'pil' (default) is PIL's BILINEAR bit for bit, as the
   * reference; 'sharp' is libvips (faster, within a few grey levels).
   */
  resampler: 'pil' | 'sharp';
}

/** The reference defaults (`sad/config.py`): 6 cameras, 224×480, ±50 m at 0.5 m, S = 3, F = 4. */
export const DEFAULT_SAD_DATA_OPTIONS: Readonly<SadDataOptions> = Object.freeze({
  cameras: ['CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK_LEFT', 'CAM_BACK', 'CAM_BACK_RIGHT'],
  finalDim: [224, 480],
  resizeScale: 0.3,
  topCrop: 46,
  originalHeight: 900,
  originalWidth: 1600,
  xBound: [-50, 50, 0.5],
  yBound: [-50, 50, 0.5],
  zBound: [-10, 10, 20],
  timeReceptiveField: 3,
  nFutureFrames: 4,
  filterInvisibleVehicles: true,
  ignoreIndex: 255,
  hdmapElements: ['lane_divider', 'drivable_area'],
  resampler: 'pil',
} satisfies SadDataOptions);

function bad(option: string, message: string, fix: string): SpikedriveError {
  return new SpikedriveError(`SAD data option ${option}: ${message}`, { subject: option, fix });
}

function checkBound(name: string, b: readonly number[]): void {
  if (!Array.isArray(b) || b.length !== 3 || b.some((v) => !Number.isFinite(v))) {
    throw bad(name, `must be [min, max, resolution], got ${JSON.stringify(b)}`, 'e.g. [-50, 50, 0.5]');
  }
  if (!(b[2] > 0) || !(b[1] > b[0])) {
    throw bad(name, `needs max > min and resolution > 0, got ${JSON.stringify(b)}`, 'e.g. [-50, 50, 0.5]');
  }
}

/** Defaults merged with `partial`, checked: a bad value is a SpikedriveError naming the option. */
export function sadDataOptions(partial: Partial<SadDataOptions> = {}): SadDataOptions {
  const o: SadDataOptions = { ...DEFAULT_SAD_DATA_OPTIONS, ...partial };
  if (!Array.isArray(o.cameras) || o.cameras.length === 0) {
    throw bad(
      'cameras',
      'needs at least one camera channel',
      `Use names from ${CAMERA_CHANNELS.join(', ')}.`,
    );
  }
  for (const c of o.cameras) {
    if (!(CAMERA_CHANNELS as readonly string[]).includes(c)) {
      throw bad(
        'cameras',
        `'${c}' is not a nuScenes camera`,
        `Use names from ${CAMERA_CHANNELS.join(', ')}.`,
      );
    }
  }
  const positiveInt = (name: string, v: number, min = 1) => {
    if (!Number.isInteger(v) || v < min)
      throw bad(name, `must be an integer ≥ ${min}, got ${v}`, `Set ${name} ≥ ${min}.`);
  };
  if (!Array.isArray(o.finalDim) || o.finalDim.length !== 2) {
    throw bad('finalDim', `must be [height, width], got ${JSON.stringify(o.finalDim)}`, 'e.g. [224, 480]');
  }
  positiveInt('finalDim[0]', o.finalDim[0]);
  positiveInt('finalDim[1]', o.finalDim[1]);
  positiveInt('originalHeight', o.originalHeight);
  positiveInt('originalWidth', o.originalWidth);
  positiveInt('timeReceptiveField', o.timeReceptiveField);
  positiveInt('nFutureFrames', o.nFutureFrames, 0);
  positiveInt('topCrop', o.topCrop, 0);
  if (!(o.resizeScale > 0) || !Number.isFinite(o.resizeScale)) {
    throw bad('resizeScale', `must be a positive number, got ${o.resizeScale}`, 'e.g. 0.3');
  }
  if (Math.trunc(o.originalWidth * o.resizeScale) < 1 || Math.trunc(o.originalHeight * o.resizeScale) < 1) {
    throw bad('resizeScale', `${o.resizeScale} shrinks the image to nothing`, 'Use a larger scale.');
  }
  checkBound('xBound', o.xBound);
  checkBound('yBound', o.yBound);
  checkBound('zBound', o.zBound);
  if (!Number.isFinite(o.ignoreIndex))
    throw bad('ignoreIndex', `must be a number, got ${o.ignoreIndex}`, 'e.g. 255');
  if (!Array.isArray(o.hdmapElements)) {
    throw bad('hdmapElements', 'must be a list of map layer names', "e.g. ['lane_divider', 'drivable_area']");
  }
  if (o.resampler !== 'pil' && o.resampler !== 'sharp') {
    throw bad(
      'resampler',
      `must be 'pil' or 'sharp', got '${String(o.resampler)}'`,
      "Use 'pil' (exact) or 'sharp'.",
    );
  }
  return o;
}

/** The BEV grid of the reference's `calculate_birds_eye_view_parameters` (float32, as its torch tensors). */
export interface BevGrid {
  /** [x, y, z] metres per cell. */
  resolution: [number, number, number];
  /** Centre of cell 0 on each axis: min + resolution / 2. */
  startPosition: [number, number, number];
  /** Cells per axis, (max − min) / resolution truncated. */
  dimension: [number, number, number];
  /** Rows (x, forward) and columns (y, left) of the label maps. */
  rows: number;
  cols: number;
  /** (X_BOUND[1], Y_BOUND[1]): half the extent, the warp's translation normaliser. */
  spatialExtent: [number, number];
}

export function bevGrid(o: Pick<SadDataOptions, 'xBound' | 'yBound' | 'zBound'>): BevGrid {
  const bounds = [o.xBound, o.yBound, o.zBound];
  // The reference keeps these in float32 tensors and subtracts them from float64 corners.
  const resolution = bounds.map((b) => Math.fround(b[2])) as [number, number, number];
  const startPosition = bounds.map((b) => Math.fround(b[0] + b[2] / 2)) as [number, number, number];
  const dimension = bounds.map((b) => Math.trunc(Math.fround((b[1] - b[0]) / b[2]))) as [
    number,
    number,
    number,
  ];
  return {
    resolution,
    startPosition,
    dimension,
    rows: dimension[0],
    cols: dimension[1],
    spatialExtent: [o.xBound[1], o.yBound[1]],
  };
}

/** The resize/crop of the reference's `get_resizing_and_cropping_parameters`. */
export interface ImageGeometry {
  scaleWidth: number;
  scaleHeight: number;
  /** PIL `resize((width, height))`. */
  resize: { width: number; height: number };
  /** PIL `crop((left, top, left + width, top + height))`. */
  crop: { left: number; top: number; width: number; height: number };
}

export function imageGeometry(o: SadDataOptions): ImageGeometry {
  const width = Math.trunc(o.originalWidth * o.resizeScale);
  const height = Math.trunc(o.originalHeight * o.resizeScale);
  const [finalHeight, finalWidth] = o.finalDim;
  const left = Math.trunc(Math.max(0, (width - finalWidth) / 2));
  return {
    scaleWidth: o.resizeScale,
    scaleHeight: o.resizeScale,
    resize: { width, height },
    crop: { left, top: o.topCrop, width: finalWidth, height: finalHeight },
  };
}

/**
 * The reference config keys the loader reads (a structural subset of the pipeline's `SadConfig`, which can be
 * passed as is; data-loaders do not import the pipeline).
 */
export interface SadReferenceConfigSubset {
  TIME_RECEPTIVE_FIELD: number;
  N_FUTURE_FRAMES: number;
  IMAGE: {
    FINAL_DIM: readonly [number, number] | readonly number[];
    RESIZE_SCALE: number;
    TOP_CROP: number;
    ORIGINAL_HEIGHT: number;
    ORIGINAL_WIDTH: number;
    NAMES: readonly string[];
  };
  LIFT: {
    X_BOUND: readonly number[];
    Y_BOUND: readonly number[];
    Z_BOUND: readonly number[];
  };
  DATASET: { FILTER_INVISIBLE_VEHICLES: boolean; IGNORE_INDEX: number };
  SEMANTIC_SEG: { HDMAP: { ELEMENTS: readonly string[] } };
}

/** `SadDataOptions` from reference config keys (checked like any other options). */
export function sadDataOptionsFromConfig(
  config: SadReferenceConfigSubset,
  extra: Partial<Pick<SadDataOptions, 'resampler'>> = {},
): SadDataOptions {
  const bound = (b: readonly number[]) => [b[0], b[1], b[2]] as [number, number, number];
  return sadDataOptions({
    cameras: config.IMAGE.NAMES as SadDataOptions['cameras'],
    finalDim: [config.IMAGE.FINAL_DIM[0], config.IMAGE.FINAL_DIM[1]],
    resizeScale: config.IMAGE.RESIZE_SCALE,
    topCrop: config.IMAGE.TOP_CROP,
    originalHeight: config.IMAGE.ORIGINAL_HEIGHT,
    originalWidth: config.IMAGE.ORIGINAL_WIDTH,
    xBound: bound(config.LIFT.X_BOUND),
    yBound: bound(config.LIFT.Y_BOUND),
    zBound: bound(config.LIFT.Z_BOUND),
    timeReceptiveField: config.TIME_RECEPTIVE_FIELD,
    nFutureFrames: config.N_FUTURE_FRAMES,
    filterInvisibleVehicles: config.DATASET.FILTER_INVISIBLE_VEHICLES,
    ignoreIndex: config.DATASET.IGNORE_INDEX,
    hdmapElements: [...config.SEMANTIC_SEG.HDMAP.ELEMENTS],
    ...extra,
  });
}
