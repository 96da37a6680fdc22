/**
 * Predicted-instance post-processing of FIERY / ST-P3 / SAD (`sad/utils/instance.py`): instance centres from
 * the centerness head (threshold + max-pool NMS), pixel grouping by the offset head, consecutive ids, and
 * temporally consistent ids across frames by flow-warped centres and Hungarian matching. BEV pixel units,
 * `[row, col]` order, as the heads are laid out. Float32 arithmetic is mirrored (Math.fround) where it can
 * change a discrete choice (which centre is nearest).
 */
import { SpikedriveError } from '../../util/index.ts';
import { linearSumAssignment } from './assignment.ts';
import { checkLength, checkPositiveInteger, type NumberGrid, sliceGrid } from './checks.ts';
import { argmaxClasses } from './iou.ts';

/** One BEV frame's size in cells. */
export interface BevFrameShape {
  height: number;
  width: number;
}

/** A sequence of BEV frames. */
export interface BevSequenceShape extends BevFrameShape {
  frames: number;
}

export interface InstanceCenterOptions {
  /** Centerness above this is a centre candidate (reference 0.1). */
  confThreshold?: number;
  /** Max-pool window for non-maximum suppression, odd (reference 3). */
  nmsKernelSize?: number;
}

export interface InstanceSegmentationOptions extends InstanceCenterOptions {
  /** At most this many centres, the first ones in raster order, not the strongest (reference 100). */
  maxInstanceCenters?: number;
}

export interface PredictInstanceOptions extends InstanceSegmentationOptions {
  /** Link ids across frames (reference true: the evaluator's panoptic metric needs consistent ids). */
  makeConsistent?: boolean;
  /** Segmentation class that is foreground (reference 1 = vehicle). */
  vehiclesId?: number;
  /** Largest warped-centre distance in pixels accepted as the same instance (reference 3). */
  matchingThresholdPx?: number;
}

function checkShape(shape: BevFrameShape | BevSequenceShape): void {
  checkPositiveInteger('height', shape.height);
  checkPositiveInteger('width', shape.width);
  if ('frames' in shape) checkPositiveInteger('frames', shape.frames);
}

/**
 * Instance centres of one frame's centerness map `[height, width]`, as `[row, col]` pairs in raster order.
 * A cell is a centre if its value exceeds `confThreshold` and equals the maximum of its k×k neighbourhood
 * (plateaus give several centres, as in the reference).
 */
export function findInstanceCenters(
  centerness: NumberGrid,
  shape: BevFrameShape,
  options: InstanceCenterOptions = {},
): Int32Array {
  checkShape(shape);
  const { height, width } = shape;
  checkLength('instanceCenter', centerness, height * width, '[height, width]');
  const kernel = options.nmsKernelSize ?? 3;
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0) {
    throw new SpikedriveError(`nmsKernelSize must be an odd positive integer, got ${kernel}.`, {
      subject: 'nmsKernelSize',
      fix: 'Use 3 (the reference) or another odd window so the pooled map keeps the frame size.',
    });
  }
  // torch compares float32 values with the threshold cast to float32.
  const threshold = Math.fround(options.confThreshold ?? 0.1);
  const n = height * width;
  const thresholded = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const value = centerness[k];
    if (Number.isNaN(value)) {
      throw new SpikedriveError(`instanceCenter[${k}] is NaN.`, {
        subject: 'instanceCenter',
        fix: 'Check the centerness head output (it should be a sigmoid in [0, 1]).',
      });
    }
    thresholded[k] = value > threshold ? value : -1;
  }
  const pad = (kernel - 1) / 2;
  const centers: number[] = [];
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const value = thresholded[r * width + c];
      if (!(value > 0)) continue;
      let isMax = true;
      for (let dr = -pad; dr <= pad && isMax; dr++) {
        const rr = r + dr;
        if (rr < 0 || rr >= height) continue;
        for (let dc = -pad; dc <= pad; dc++) {
          const cc = c + dc;
          if (cc < 0 || cc >= width) continue;
          if (thresholded[rr * width + cc] > value) {
            isMax = false;
            break;
          }
        }
      }
      if (isMax) centers.push(r, c);
    }
  }
  return Int32Array.from(centers);
}

/**
 * Instance id (1-based index into `centers`) of every cell: the centre nearest to cell + offset, first centre
 * on a tie. `offset` is `[2, height, width]` (row, col displacement towards the centre). Cells outside
 * `foreground` (when given) get 0. With no centres every cell is 0.
 */
export function groupPixels(
  centers: Int32Array,
  offset: NumberGrid,
  shape: BevFrameShape,
  foreground?: NumberGrid,
): Int32Array {
  checkShape(shape);
  const { height, width } = shape;
  const n = height * width;
  checkLength('instanceOffset', offset, 2 * n, '[2, height, width]');
  if (foreground) checkLength('foreground', foreground, n, '[height, width]');
  const ids = new Int32Array(n);
  const nCenters = centers.length / 2;
  if (nCenters === 0) return ids;
  const f32 = Math.fround;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const k = r * width + c;
      if (foreground && !foreground[k]) continue;
      const locRow = f32(r + offset[k]);
      const locCol = f32(c + offset[n + k]);
      let best = Number.POSITIVE_INFINITY;
      let bestIndex = 0;
      for (let m = 0; m < nCenters; m++) {
        const dr = f32(centers[2 * m] - locRow);
        const dc = f32(centers[2 * m + 1] - locCol);
        const distance = f32(Math.sqrt(f32(f32(dr * dr) + f32(dc * dc))));
        if (distance < best) {
          best = distance;
          bestIndex = m;
        }
      }
      ids[k] = bestIndex + 1;
    }
  }
  return ids;
}

/** Ids up to this value use dense look-up tables; larger ones fall back to hash maps. */
const DENSE_ID_LIMIT = 1 << 20;

function idRange(ids: ArrayLike<number>, start: number, length: number): { min: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let k = start; k < start + length; k++) {
    const id = ids[k];
    if (id < min) min = id;
    if (id > max) max = id;
  }
  return { min, max };
}

/** The distinct values of `ids[start, start + length)`, ascending. */
function sortedUnique(ids: ArrayLike<number>, start: number, length: number): number[] {
  const { min, max } = idRange(ids, start, length);
  if (length === 0) return [];
  if (min >= 0 && max < DENSE_ID_LIMIT && Number.isInteger(min) && Number.isInteger(max)) {
    const seen = new Uint8Array(max + 1);
    for (let k = start; k < start + length; k++) seen[ids[k]] = 1;
    const out: number[] = [];
    for (let id = 0; id <= max; id++) if (seen[id]) out.push(id);
    return out;
  }
  const seen = new Set<number>();
  for (let k = start; k < start + length; k++) seen.add(ids[k]);
  return [...seen].sort((a, b) => a - b);
}

/**
 * Renumbers ids to 0..k−1 in ascending order of the ids present. As in the reference, if no cell is 0 the
 * smallest id becomes 0 (background).
 */
export function makeInstanceSegConsecutive(instanceIds: ArrayLike<number>): Int32Array {
  const unique = sortedUnique(instanceIds, 0, instanceIds.length);
  const out = new Int32Array(instanceIds.length);
  const max = unique.length > 0 ? unique[unique.length - 1] : 0;
  if (unique.length > 0 && unique[0] >= 0 && max < DENSE_ID_LIMIT) {
    const rank = new Int32Array(max + 1);
    for (let index = 0; index < unique.length; index++) rank[unique[index]] = index;
    for (let k = 0; k < instanceIds.length; k++) out[k] = rank[instanceIds[k]];
    return out;
  }
  const rank = new Map<number, number>();
  for (const [index, id] of unique.entries()) rank.set(id, index);
  for (let k = 0; k < instanceIds.length; k++) out[k] = rank.get(instanceIds[k])!;
  return out;
}

/**
 * One frame's instance segmentation from the centerness `[height, width]`, offset `[2, height, width]` and
 * foreground mask `[height, width]` (nonzero = vehicle): consecutive ids (0 = background) and the centres
 * used (`[row, col]` pairs, at most `maxInstanceCenters`, first in raster order).
 */
export function instanceSegmentationFromCenters(
  centerness: NumberGrid,
  offset: NumberGrid,
  foreground: NumberGrid,
  shape: BevFrameShape,
  options: InstanceSegmentationOptions = {},
): { instanceIds: Int32Array; centers: Int32Array } {
  const maxCenters = options.maxInstanceCenters ?? 100;
  checkPositiveInteger('maxInstanceCenters', maxCenters);
  let centers = findInstanceCenters(centerness, shape, options);
  if (centers.length === 0) return { instanceIds: new Int32Array(shape.height * shape.width), centers };
  if (centers.length > 2 * maxCenters) centers = centers.slice(0, 2 * maxCenters);
  const ids = groupPixels(centers, offset, shape, foreground);
  return { instanceIds: makeInstanceSegConsecutive(ids), centers };
}

/**
 * Mean `[row, col]` of each wanted id's cells in the frame starting at `offsetIndex`; with `flow`, of the
 * cells moved by the flow (`[2, height, width]` at `flow.base`).
 */
function meanPositions(
  ids: Int32Array,
  offsetIndex: number,
  shape: BevFrameShape,
  wanted: readonly number[],
  flow?: { values: NumberGrid; base: number },
): Float64Array {
  const { height, width } = shape;
  const n = height * width;
  // Slot of each wanted id (−1: not wanted): a dense table for the usual small ids, a map otherwise.
  const maxWanted = wanted.reduce((a, b) => Math.max(a, b), 0);
  const dense = maxWanted < DENSE_ID_LIMIT && wanted.every((id) => id >= 0);
  const slot = new Int32Array(dense ? maxWanted + 1 : 0).fill(-1);
  const slotMap = new Map<number, number>();
  for (const [index, id] of wanted.entries()) {
    if (dense) slot[id] = index;
    else slotMap.set(id, index);
  }
  const sums = new Float64Array(3 * wanted.length);
  const f32 = Math.fround;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const k = r * width + c;
      const id = ids[offsetIndex + k];
      const s = dense ? (id >= 0 && id <= maxWanted ? slot[id] : -1) : (slotMap.get(id) ?? -1);
      if (s < 0) continue;
      // The reference warps the cell grid by the flow in float32 before averaging.
      const row = flow ? f32(r + flow.values[flow.base + k]) : r;
      const col = flow ? f32(c + flow.values[flow.base + n + k]) : c;
      sums[3 * s] += row;
      sums[3 * s + 1] += col;
      sums[3 * s + 2] += 1;
    }
  }
  const means = new Float64Array(2 * wanted.length);
  for (let s = 0; s < wanted.length; s++) {
    const count = sums[3 * s + 2];
    if (count === 0) {
      throw new SpikedriveError(`Instance id ${wanted[s]} has no cells in its frame.`, {
        subject: 'instance ids',
        fix: 'Pass per-frame consecutive ids (1..k with 0 = background), e.g. from instanceSegmentationFromCenters.',
      });
    }
    means[2 * s] = sums[3 * s] / count;
    means[2 * s + 1] = sums[3 * s + 1] / count;
  }
  return means;
}

/**
 * Makes per-frame instance ids `[frames, height, width]` consistent over time (reference
 * `make_instance_id_temporally_consistent`): frame 0 keeps its ids; for each next frame the previous frame's
 * instances are moved by the predicted flow `[frames, 2, height, width]` (flow of frame t carries t → t+1),
 * their mean positions matched to the new frame's instance means by the Hungarian algorithm, matches closer
 * than `matchingThresholdPx` inherit the old id, and unmatched instances get fresh ids above the largest used.
 * Reference quirks kept: a frame following one with no instances keeps its raw ids and does not advance the
 * fresh-id counter. Fresh ids are handed out in ascending order of the raw id (the reference iterates a
 * Python set, whose order can differ; only the numbering differs, never which cells share an id).
 */
export function makeInstanceIdsTemporallyConsistent(
  instanceIds: Int32Array,
  flow: NumberGrid,
  shape: BevSequenceShape,
  matchingThresholdPx = 3,
): Int32Array {
  checkShape(shape);
  const { frames, height, width } = shape;
  const n = height * width;
  checkLength('instance ids', instanceIds, frames * n, '[frames, height, width]');
  checkLength('instanceFlow', flow, frames * 2 * n, '[frames, 2, height, width]');
  const consistent = new Int32Array(frames * n);
  consistent.set(instanceIds.subarray(0, n));
  let largestId = 0;
  for (let k = 0; k < n; k++) largestId = Math.max(largestId, instanceIds[k]);

  for (let t = 0; t < frames - 1; t++) {
    const next = instanceIds.subarray((t + 1) * n, (t + 2) * n);
    const out = consistent.subarray((t + 1) * n, (t + 2) * n);
    // Every id of the previous (already consistent) frame except the smallest, which is the background.
    const previousIds = sortedUnique(consistent, t * n, n).slice(1);
    let nextCount = 0;
    for (let k = 0; k < n; k++) nextCount = Math.max(nextCount, next[k]);
    if (previousIds.length === 0 || nextCount === 0) {
      out.set(next);
      continue;
    }
    const warped = meanPositions(consistent, t * n, shape, previousIds, { values: flow, base: t * 2 * n });
    const nextIdList = Array.from({ length: nextCount }, (_, i) => i + 1);
    const centers = meanPositions(instanceIds, (t + 1) * n, shape, nextIdList);
    const distances = new Float64Array(previousIds.length * nextCount);
    for (let a = 0; a < previousIds.length; a++) {
      for (let b = 0; b < nextCount; b++) {
        distances[a * nextCount + b] = Math.hypot(
          centers[2 * b] - warped[2 * a],
          centers[2 * b + 1] - warped[2 * a + 1],
        );
      }
    }
    const { rows, cols } = linearSumAssignment(distances, previousIds.length, nextCount);
    const remap = new Map<number, number>();
    for (let m = 0; m < rows.length; m++) {
      if (distances[rows[m] * nextCount + cols[m]] < matchingThresholdPx) {
        remap.set(cols[m] + 1, previousIds[rows[m]]);
      }
    }
    const presentNext = sortedUnique(instanceIds, (t + 1) * n, n);
    if (presentNext[0] !== 0) {
      throw new SpikedriveError(`Frame ${t + 1} of the instance ids has no background (id 0) cell.`, {
        subject: 'instance ids',
        fix: 'Pass ids with 0 = background, as instanceSegmentationFromCenters produces.',
      });
    }
    for (const id of presentNext) {
      if (id === 0 || remap.has(id)) continue;
      largestId += 1;
      remap.set(id, largestId);
    }
    for (let k = 0; k < n; k++) out[k] = remap.get(next[k]) ?? next[k];
  }
  return consistent;
}

/** Decoder outputs the instance post-processing reads, per sample, frame-major. */
export interface InstanceHeadOutputs {
  /** Vehicle segmentation logits `[frames, classes, height, width]`. */
  segmentation: NumberGrid;
  /** Centerness `[frames, 1, height, width]`. */
  instanceCenter: NumberGrid;
  /** Offset towards the centre `[frames, 2, height, width]` (row, col). */
  instanceOffset: NumberGrid;
  /** Flow `[frames, 2, height, width]`; absent = zero flow (the reference prints a note and does the same). */
  instanceFlow?: NumberGrid | null;
}

/**
 * Predicted instance ids `[frames, height, width]` of one sample (reference
 * `predict_instance_segmentation_and_trajectories` without the trajectories): foreground = argmax of the
 * segmentation logits equals `vehiclesId`, per-frame instances from centres and offsets, then (by default)
 * temporally consistent ids. The evaluator then scores frames from the present on.
 */
export function predictInstanceSegmentation(
  outputs: InstanceHeadOutputs,
  shape: BevSequenceShape & { classes?: number },
  options: PredictInstanceOptions = {},
): Int32Array {
  const classes = shape.classes ?? 2;
  const { frames, height, width } = shape;
  checkShape({ frames, height, width });
  const n = height * width;
  const vehiclesId = options.vehiclesId ?? 1;
  const labels = argmaxClasses(outputs.segmentation, { frames, classes, height, width });
  checkLength('instanceCenter', outputs.instanceCenter, frames * n, '[frames, 1, height, width]');
  checkLength('instanceOffset', outputs.instanceOffset, frames * 2 * n, '[frames, 2, height, width]');
  const perFrame = new Int32Array(frames * n);
  const foreground = new Uint8Array(n);
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < n; k++) foreground[k] = labels[t * n + k] === vehiclesId ? 1 : 0;
    const { instanceIds } = instanceSegmentationFromCenters(
      sliceGrid(outputs.instanceCenter, t * n, n),
      sliceGrid(outputs.instanceOffset, t * 2 * n, 2 * n),
      foreground,
      { height, width },
      options,
    );
    perFrame.set(instanceIds, t * n);
  }
  if (options.makeConsistent === false) return perFrame;
  const flow = outputs.instanceFlow ?? new Float32Array(frames * 2 * n);
  return makeInstanceIdsTemporallyConsistent(perFrame, flow, shape, options.matchingThresholdPx ?? 3);
}

/** One point of an instance's centre track. */
export interface InstanceTrackPoint {
  frame: number;
  row: number;
  col: number;
}

/**
 * Centre track of every instance present in frame 0 of consistent ids (the reference's `matched_centers`,
 * which it returns as `[col, row]` pairs for plotting): the mean cell of the instance in each frame where it
 * appears.
 */
export function instanceCenterTracks(
  consistentIds: Int32Array,
  shape: BevSequenceShape,
): Map<number, InstanceTrackPoint[]> {
  checkShape(shape);
  const { frames, height, width } = shape;
  const n = height * width;
  checkLength('instance ids', consistentIds, frames * n, '[frames, height, width]');
  const tracks = new Map<number, InstanceTrackPoint[]>();
  const ids = sortedUnique(consistentIds, 0, n).slice(1);
  for (const id of ids) tracks.set(id, []);
  for (let t = 0; t < frames; t++) {
    const sums = new Map<number, [number, number, number]>();
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const id = consistentIds[t * n + r * width + c];
        if (!tracks.has(id)) continue;
        const sum = sums.get(id) ?? [0, 0, 0];
        sum[0] += r;
        sum[1] += c;
        sum[2] += 1;
        sums.set(id, sum);
      }
    }
    for (const id of ids) {
      const sum = sums.get(id);
      if (sum) tracks.get(id)!.push({ frame: t, row: sum[0] / sum[2], col: sum[1] / sum[2] });
    }
  }
  return tracks;
}
