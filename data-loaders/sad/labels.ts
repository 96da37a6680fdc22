import { SpikedriveError } from '../../src/util/index.ts';
import { Box, Quaternion } from '../nuscenes/index.ts';
import {
  createRaster,
  fillPoly,
  type IntPoints,
  type Raster,
  roundHalfEven,
} from '../nuscenes/map/raster.ts';
import type { PoseRecord } from './frames.ts';
import type { BevGrid } from './options.ts';

/**
 * One frame's BEV labels as the reference's `get_birds_eye_view_label`: every annotation's footprint
 * (bottom corners in the flattened LIDAR_TOP ego frame, cell = round-half-even((p − start + res/2)/res))
 * filled with cv2.fillPoly semantics at (row = x forward, col = y left).
 */

/** The annotation fields the labels read. */
export interface LabelAnnotation {
  token?: string;
  instanceToken: string;
  categoryName: string;
  /** '1'..'4' (visibility 0–40 % … 80–100 %). */
  visibilityToken: string;
  translation: readonly number[];
  /** width, length, height. */
  size: readonly number[];
  rotation: readonly number[];
}

export interface FrameLabels {
  /** Vehicle occupancy, 0/1, rows × cols. */
  segmentation: Uint8Array;
  /** Pedestrian occupancy, 0/1. */
  pedestrian: Uint8Array;
  /** Vehicle instance ids (1-based, 0 = background). */
  instance: Int32Array;
}

export interface FrameLabelOptions {
  grid: BevGrid;
  /** DATASET.FILTER_INVISIBLE_VEHICLES. */
  filterInvisible: boolean;
  /** A future frame (index ≥ TIME_RECEPTIVE_FIELD): no visibility filter, only instances already seen. */
  inPred: boolean;
  /** Instance token → id, shared by the frames of one sample (mutated: new instances get the next id). */
  instanceMap: Map<string, number>;
  /** Where an error should point (e.g. the sample token). */
  subject?: string;
  /** Zeroed arrays to draw into (e.g. views of a sample's frame), instead of new ones. */
  out?: FrameLabels;
  /** A rows × cols uint8 scratch raster, all zero (reused across frames). */
  scratch?: Raster;
}

/**
 * The footprint polygon of a box in BEV cells, as cv2 points [col (y), row (x)] (the reference's
 * `_get_poly_region_in_image`): translate by −ego translation, rotate by the inverse yaw-only rotation.
 */
export function footprintCells(
  annotation: Pick<LabelAnnotation, 'translation' | 'size' | 'rotation'>,
  egoPose: PoseRecord,
  grid: BevGrid,
): [number, number][] {
  const yaw = Quaternion.fromArray(egoPose.rotation).yawPitchRoll[0];
  const flatInverse = new Quaternion(Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)).inverse;
  const box = new Box(annotation.translation, annotation.size, Quaternion.fromArray(annotation.rotation));
  box.translate(egoPose.translation.map((v) => -v));
  box.rotate(flatInverse);
  const corners = box.bottomCorners();
  const [rx, ry] = grid.resolution;
  const [sx, sy] = grid.startPosition;
  const points: [number, number][] = [];
  for (let i = 0; i < 4; i++) {
    // numpy: (pts − start + res/2) / res, then np.round (half to even), then int32; columns swapped.
    const row = roundHalfEven((corners[0][i] - sx + rx / 2) / rx);
    const col = roundHalfEven((corners[1][i] - sy + ry / 2) / ry);
    points.push([col, row]);
  }
  return points;
}

/**
 * The cells `cv2.fillPoly(img, [polygon], 1)` sets, as linear indices row·cols + col. The cv2
 * rasterisation runs on a uint8 scratch raster (left all zero again; only the polygon's clipped bounding
 * box is read), so the cells can then be written into any typed array with any value (ids above 255).
 */
export function polygonCells(polygon: IntPoints, scratch: Raster): number[] {
  const { width: cols, height: rows, data } = scratch;
  fillPoly(scratch, [polygon], 1);
  let c0 = Number.POSITIVE_INFINITY;
  let c1 = Number.NEGATIVE_INFINITY;
  let r0 = Number.POSITIVE_INFINITY;
  let r1 = Number.NEGATIVE_INFINITY;
  for (const [c, r] of polygon) {
    c0 = Math.min(c0, c);
    c1 = Math.max(c1, c);
    r0 = Math.min(r0, r);
    r1 = Math.max(r1, r);
  }
  c0 = Math.max(0, c0);
  r0 = Math.max(0, r0);
  c1 = Math.min(cols - 1, c1);
  r1 = Math.min(rows - 1, r1);
  const cells: number[] = [];
  for (let r = r0; r <= r1; r++) {
    const base = r * cols;
    for (let c = c0; c <= c1; c++) {
      if (data[base + c] !== 0) {
        cells.push(base + c);
        data[base + c] = 0;
      }
    }
  }
  return cells;
}

function visibilityLevel(annotation: LabelAnnotation, subject: string | undefined): number {
  const v = Number(annotation.visibilityToken);
  if (annotation.visibilityToken === '' || !Number.isInteger(v)) {
    throw new SpikedriveError(
      `sample_annotation ${annotation.token ?? annotation.instanceToken} has visibility_token '${annotation.visibilityToken}'; SAD's visibility filter needs '1'..'4'`,
      {
        subject: subject ?? `sample_annotation#${annotation.token ?? ''}`,
        fix: "Fill visibility_token with '1'–'4' in sample_annotation.json, or turn filterInvisibleVehicles off.",
      },
    );
  }
  return v;
}

/**
 * Draws one frame (the reference's `get_birds_eye_view_label`), in annotation order: past/present frames
 * skip visibility '1' when filtering; future frames keep only instances already in `instanceMap`;
 * 'vehicle' in the category → segmentation + instance id; else 'human' → pedestrian (takes an id, not drawn
 * in the instance map); other categories are ignored.
 */
export function drawFrameLabels(
  annotations: readonly LabelAnnotation[],
  egoPose: PoseRecord,
  options: FrameLabelOptions,
): FrameLabels {
  const { grid, instanceMap } = options;
  const { rows, cols } = grid;
  const segmentation = options.out?.segmentation ?? new Uint8Array(rows * cols);
  const pedestrian = options.out?.pedestrian ?? new Uint8Array(rows * cols);
  const instance = options.out?.instance ?? new Int32Array(rows * cols);
  const scratch = options.scratch ?? createRaster(rows, cols);
  for (const annotation of annotations) {
    if (options.filterInvisible && !options.inPred && visibilityLevel(annotation, options.subject) === 1)
      continue;
    if (options.inPred && !instanceMap.has(annotation.instanceToken)) continue;
    const isVehicle = annotation.categoryName.includes('vehicle');
    if (!isVehicle && !annotation.categoryName.includes('human')) continue;
    if (!instanceMap.has(annotation.instanceToken))
      instanceMap.set(annotation.instanceToken, instanceMap.size + 1);
    const cells = polygonCells(footprintCells(annotation, egoPose, grid), scratch);
    if (isVehicle) {
      const id = instanceMap.get(annotation.instanceToken) as number;
      for (const i of cells) {
        instance[i] = id;
        segmentation[i] = 1;
      }
    } else {
      for (const i of cells) pedestrian[i] = 1;
    }
  }
  return { segmentation, pedestrian, instance };
}
