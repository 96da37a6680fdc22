import { invertPoseVec } from './pose.ts';
import { warpSourceIndex } from './warp.ts';

/**
 * Instance-derived labels as the reference's `convert_instance_mask_to_center_and_offset_label`
 * (`sad/utils/instance.py`), in BEV pixel units (row, col), float32:
 * - centerness: max over instances of exp(−d²/σ²) around the instance's rounded mean cell (σ = 3);
 * - offset: (centre − cell) on the instance's cells, `ignoreIndex` elsewhere;
 * - flow at t−1: (centre at t of the instance warped into frame t−1 by the inverse ego motion) − (centre
 *   at t−1), written on the t−1 cells; `ignoreIndex` elsewhere and on the last frame.
 * The inverse ego motion is the rigid inverse in float32; the reference inverts with `torch.inverse` (LU),
 * which can differ in the last bit and so, at an exact tie of nearest sampling, move one warped cell.
 */

export interface InstanceLabels {
  /** [frames, 1, rows, cols]. */
  centerness: Float32Array;
  /** [frames, 2, rows, cols]: row offset, then column offset. */
  offset: Float32Array;
  /** [frames, 2, rows, cols]. */
  flow: Float32Array;
}

export interface InstanceLabelOptions {
  frames: number;
  rows: number;
  cols: number;
  /** Ids 1..numInstances are looked for (the sample's instance map size; pedestrians' ids never appear). */
  numInstances: number;
  ignoreIndex: number;
  spatialExtent: readonly [number, number];
  sigma?: number;
}

const f = Math.fround;

/** Per id of one frame: cell count and sums of rows and columns. */
interface IdStatistics {
  count: Float64Array;
  rowSum: Float64Array;
  colSum: Float64Array;
}

function newStatistics(numInstances: number): IdStatistics {
  return {
    count: new Float64Array(numInstances + 1),
    rowSum: new Float64Array(numInstances + 1),
    colSum: new Float64Array(numInstances + 1),
  };
}

/** Statistics of an id map, or of the map seen through a warp (`index`: source cell per cell, −1 outside). */
function idStatistics(
  ids: Int32Array,
  rows: number,
  cols: number,
  numInstances: number,
  index?: Int32Array,
): IdStatistics {
  const s = newStatistics(numInstances);
  for (let r = 0, k = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, k++) {
      let id: number;
      if (index) {
        const src = index[k];
        if (src < 0) continue;
        id = ids[src];
      } else id = ids[k];
      if (id < 1 || id > numInstances) continue;
      s.count[id]++;
      s.rowSum[id] += r;
      s.colSum[id] += c;
    }
  }
  return s;
}

/** The cells of every id of one frame, grouped by id (a counting sort): cells[start[id] .. start[id + 1]). */
function cellsById(
  ids: Int32Array,
  numInstances: number,
  count: Float64Array,
): { cells: Int32Array; start: Int32Array } {
  const start = new Int32Array(numInstances + 2);
  for (let id = 1; id <= numInstances; id++) start[id + 1] = start[id] + count[id];
  const next = start.slice();
  const cells = new Int32Array(start[numInstances + 1]);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (id >= 1 && id <= numInstances) cells[next[id]++] = k;
  }
  return { cells, start };
}

/**
 * torch's float32 `x[mask].mean().round()`: the sum of cell indices is an exact integer (< 2^24), the
 * quotient is rounded once to float32, then rounded half to even.
 */
function roundedMean(sum: number, count: number): number {
  const mean = f(sum / count);
  const fl = Math.floor(mean);
  const d = mean - fl;
  if (d < 0.5) return fl;
  if (d > 0.5) return fl + 1;
  return fl % 2 === 0 ? fl : fl + 1;
}

export function instanceLabels(
  instance: Int32Array,
  egomotion: ArrayLike<number>,
  options: InstanceLabelOptions,
): InstanceLabels {
  const { frames, rows, cols, numInstances, ignoreIndex } = options;
  const sigma = options.sigma ?? 3;
  const n = rows * cols;
  const centerness = new Float32Array(frames * n);
  const offset = new Float32Array(frames * 2 * n).fill(ignoreIndex);
  const flow = new Float32Array(frames * 2 * n).fill(ignoreIndex);
  if (numInstances === 0) return { centerness, offset, flow };

  // Per-frame statistics of the instance map, and of frame t warped into frame t−1 (only where some
  // instance is in both frames: the warp is the costly part).
  const stats: IdStatistics[] = [];
  const warpedStats: (IdStatistics | undefined)[] = [];
  const byId: { cells: Int32Array; start: Int32Array }[] = [];
  for (let t = 0; t < frames; t++) {
    const ids = instance.subarray(t * n, (t + 1) * n);
    const s = idStatistics(ids, rows, cols, numInstances);
    stats.push(s);
    byId.push(cellsById(ids, numInstances, s.count));
    let shared = false;
    for (let id = 1; t > 0 && id <= numInstances && !shared; id++)
      shared = s.count[id] > 0 && stats[t - 1].count[id] > 0;
    if (!shared) {
      warpedStats.push(undefined);
      continue;
    }
    const inverse = invertPoseVec([0, 1, 2, 3, 4, 5].map((k) => egomotion[6 * (t - 1) + k]));
    const index = warpSourceIndex(inverse, rows, cols, options.spatialExtent);
    warpedStats.push(idStatistics(ids, rows, cols, numInstances, index));
  }

  const sigmaSq = f(sigma * sigma);
  // exp(−d²/σ²) is 0 in float32 beyond d² ≈ 104 σ²: a window of that radius is exact. d² is an integer,
  // so the float32 values come from a table.
  const radius = Math.ceil(Math.sqrt(105 * sigma * sigma)) + 1;
  const gaussian = new Float32Array(2 * radius * radius + 1);
  for (let d2 = 0; d2 < gaussian.length; d2++) gaussian[d2] = f(Math.exp(f(-d2 / sigmaSq)));
  for (let id = 1; id <= numInstances; id++) {
    let prev: { rc: number; cc: number; cells: Int32Array } | undefined;
    for (let t = 0; t < frames; t++) {
      const s = stats[t];
      if (s.count[id] === 0) {
        prev = undefined;
        continue;
      }
      const rc = roundedMean(s.rowSum[id], s.count[id]);
      const cc = roundedMean(s.colSum[id], s.count[id]);
      const base = t * n;
      for (let r = Math.max(0, rc - radius); r <= Math.min(rows - 1, rc + radius); r++) {
        const dr = rc - r;
        const rowBase = base + r * cols;
        for (let c = Math.max(0, cc - radius); c <= Math.min(cols - 1, cc + radius); c++) {
          const dc = cc - c;
          const g = gaussian[dr * dr + dc * dc];
          if (g > centerness[rowBase + c]) centerness[rowBase + c] = g;
        }
      }
      const cells = byId[t].cells.subarray(byId[t].start[id], byId[t].start[id + 1]);
      const o0 = t * 2 * n;
      for (const k of cells) {
        const r = Math.floor(k / cols);
        offset[o0 + k] = rc - r;
        offset[o0 + n + k] = cc - (k - r * cols);
      }
      if (prev) {
        const w = warpedStats[t];
        if (w && w.count[id] > 0) {
          const deltaRow = roundedMean(w.rowSum[id], w.count[id]) - prev.rc;
          const deltaCol = roundedMean(w.colSum[id], w.count[id]) - prev.cc;
          const p0 = (t - 1) * 2 * n;
          for (const k of prev.cells) {
            flow[p0 + k] = deltaRow;
            flow[p0 + n + k] = deltaCol;
          }
        }
      }
      prev = { rc, cc, cells };
    }
  }
  return { centerness, offset, flow };
}
