import { invertPoseVec } from './pose.ts';
import { warpSourceIndex } from './warp.ts';

/**
 * Instance-derived labels as the reference's `convert_instance_mask_to_center_and_offset_label`
 * (`sad/utils/instance.py`), in BEV pixel units (row, col), float32:
 * - centerness: max over instances of exp(−d²/σ²) around the instance's rounded mean cell (σ = 3);
 * - offset: (centre − cell) on the instance's cells, `ignoreIndex` elsewhere;
 * - flow at t−1: (centre at t of the instance warped into frame t−1 by the inverse ego motion) − (centre
 *   at t−1), written on the t−1 cells; `ignoreIndex` elsewhere and on the last frame.
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

/** Per id: cell count and sums of rows and columns, for one frame's id map. */
function idStatistics(ids: Int32Array | Float32Array, numInstances: number) {
  const count = new Float64Array(numInstances + 1);
  const rowSum = new Float64Array(numInstances + 1);
  const colSum = new Float64Array(numInstances + 1);
  return {
    count,
    rowSum,
    colSum,
    fill: (cols: number) => accumulate(ids, cols, numInstances, count, rowSum, colSum),
  };
}

function accumulate(
  ids: ArrayLike<number>,
  cols: number,
  numInstances: number,
  count: Float64Array,
  rowSum: Float64Array,
  colSum: Float64Array,
): void {
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (id < 1 || id > numInstances) continue;
    const r = Math.floor(k / cols);
    count[id]++;
    rowSum[id] += r;
    colSum[id] += k - r * cols;
  }
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

  // Per-frame statistics of the instance map, and of frame t warped into frame t−1.
  const stats = [];
  const warpedStats = [];
  for (let t = 0; t < frames; t++) {
    const ids = instance.subarray(t * n, (t + 1) * n);
    const s = idStatistics(ids, numInstances);
    s.fill(cols);
    stats.push(s);
    if (t === 0) {
      warpedStats.push(undefined);
      continue;
    }
    const inverse = invertPoseVec([0, 1, 2, 3, 4, 5].map((k) => egomotion[6 * (t - 1) + k]));
    const index = warpSourceIndex(inverse, rows, cols, options.spatialExtent);
    const warped = new Int32Array(n);
    for (let k = 0; k < n; k++) warped[k] = index[k] < 0 ? 0 : ids[index[k]];
    const w = idStatistics(warped, numInstances);
    w.fill(cols);
    warpedStats.push(w);
  }

  // Cells of each (frame, id), gathered once.
  const cellsOf: number[][][] = [];
  for (let t = 0; t < frames; t++) {
    const lists: number[][] = Array.from({ length: numInstances + 1 }, () => []);
    const ids = instance.subarray(t * n, (t + 1) * n);
    for (let k = 0; k < n; k++) {
      const id = ids[k];
      if (id >= 1 && id <= numInstances) lists[id].push(k);
    }
    cellsOf.push(lists);
  }

  const sigmaSq = f(sigma * sigma);
  // exp(−d²/σ²) is 0 in float32 beyond d² ≈ 104 σ²: a window of that radius is exact. d² is an integer,
  // so the float32 values come from a table.
  const radius = Math.ceil(Math.sqrt(105 * sigma * sigma)) + 1;
  const gaussian = new Float32Array(2 * radius * radius + 1);
  for (let d2 = 0; d2 < gaussian.length; d2++) gaussian[d2] = f(Math.exp(f(-d2 / sigmaSq)));
  for (let id = 1; id <= numInstances; id++) {
    let prev: { rc: number; cc: number; cells: number[] } | undefined;
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
      const cells = cellsOf[t][id];
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
