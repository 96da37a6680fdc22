import { SpikedriveError } from '../util/errors.ts';

/** A bound as the reference's `LIFT.X_BOUND`: [min, max, resolution] in metres. */
export type BoundM = readonly [number, number, number];

/**
 * The BEV grid the planner's costs index, built from `LIFT.X_BOUND` / `LIFT.Y_BOUND`. Rows are x (forward, row 0 =
 * the rear edge), columns are y (left, column 0 = the right edge), as every BEV tensor in spikedrive.
 */
export interface BevGrid {
  rows: number;
  cols: number;
  /** Cell size [rows (x), cols (y)] in metres: the reference's `dx[:2]`. */
  resolutionM: [number, number];
  /** Centre of cell (0, 0) in metres: the reference's `bx[:2]` (= min + res/2). */
  startM: [number, number];
}

export function bevGrid(xBound: BoundM, yBound: BoundM): BevGrid {
  for (const [key, b] of [
    ['LIFT.X_BOUND', xBound],
    ['LIFT.Y_BOUND', yBound],
  ] as const) {
    if (b.length !== 3 || !b.every(Number.isFinite) || !(b[2] > 0) || !(b[1] > b[0])) {
      throw new SpikedriveError(`${key} must be [min, max, resolution] with max > min and resolution > 0`, {
        subject: key,
        fix: 'SAD uses [-50.0, 50.0, 0.5].',
      });
    }
  }
  // gen_dx_bx / calculate_birds_eye_view_parameters: float32 dx, bx; dimension = (max − min) / res (truncated).
  return {
    rows: Math.trunc((xBound[1] - xBound[0]) / xBound[2]),
    cols: Math.trunc((yBound[1] - yBound[0]) / yBound[2]),
    resolutionM: [Math.fround(xBound[2]), Math.fround(yBound[2])],
    startM: [Math.fround(xBound[0] + xBound[2] / 2), Math.fround(yBound[0] + yBound[2] / 2)],
  };
}

/** The ego box used by every footprint cost and collision check. */
export interface EgoSize {
  /** `EGO.HEIGHT` (the reference's name for the length), metres: 4.084 in SAD. */
  lengthM: number;
  /** `EGO.WIDTH`, metres: 1.85 in SAD. */
  widthM: number;
}

export const SAD_EGO: EgoSize = { lengthM: 4.084, widthM: 1.85 };

/**
 * The grid cells the ego occupies at the origin, as `BaseCost.get_origin_points(λ)`: the box
 * [−L/2 + 0.5 − λ, L/2 + 0.5 + λ] (forward; +0.5 m is the reference's forward offset) × [−W/2 − λ, W/2 + λ] (left),
 * in cell coordinates (p − bx)/dx, rasterised like `skimage.draw.polygon` (a cell (r, c) is in when the point
 * (c, r) passes the even–odd crossing test against the corners). For SAD's grid: λ = 0 → 32 cells (rows 97..104,
 * cols 98..101); λ = 2 → 192 cells.
 */
export interface Footprint {
  /** Absolute grid rows of the cells, one entry per cell. */
  rows: Int32Array;
  cols: Int32Array;
  /** The distinct rows and columns when the cells form a full rectangle (they do for the axis-aligned box). */
  rect: { rows: Int32Array; cols: Int32Array } | null;
}

export function egoFootprint(grid: BevGrid, ego: EgoSize, lambdaM = 0): Footprint {
  const h = ego.lengthM;
  const w = ego.widthM;
  // Corners as [forward, left] metres → cell coordinates (float64, as numpy does with the float32 dx/bx).
  const cornersM: [number, number][] = [
    [-h / 2 + 0.5 - lambdaM, w / 2 + lambdaM],
    [h / 2 + 0.5 + lambdaM, w / 2 + lambdaM],
    [h / 2 + 0.5 + lambdaM, -w / 2 - lambdaM],
    [-h / 2 + 0.5 - lambdaM, -w / 2 - lambdaM],
  ];
  const pr = cornersM.map(([f]) => (f - grid.startM[0]) / grid.resolutionM[0]);
  const pc = cornersM.map(([, l]) => (l - grid.startM[1]) / grid.resolutionM[1]);
  return rasterisePolygon(pr, pc);
}

/**
 * `skimage.draw.polygon(r, c)` (scikit-image 0.19, no shape clipping): every integer (r, c) with r in
 * [max(0, ⌊min r⌋), ⌈max r⌉] and c likewise whose point (x = c, y = r) is inside, on an edge or on a vertex
 * (within 1e-12) by O'Rourke's left/right crossing counts (`_shared/geometry.pyx` `point_in_polygon`). Cells come out
 * in row-major order as skimage returns them.
 */
export function rasterisePolygon(r: readonly number[], c: readonly number[]): Footprint {
  const minR = Math.max(0, Math.trunc(Math.min(...r)));
  const maxR = Math.ceil(Math.max(...r));
  const minC = Math.max(0, Math.trunc(Math.min(...c)));
  const maxC = Math.ceil(Math.max(...c));
  const rows: number[] = [];
  const cols: number[] = [];
  for (let ri = minR; ri <= maxR; ri++) {
    for (let ci = minC; ci <= maxC; ci++) {
      if (pointInPolygon(c, r, ci, ri)) {
        rows.push(ri);
        cols.push(ci);
      }
    }
  }
  return { rows: Int32Array.from(rows), cols: Int32Array.from(cols), rect: asRectangle(rows, cols) };
}

/** O'Rourke's point-in-polygon ("Computational Geometry in C", ch. 7): true inside, on an edge or at a vertex. */
function pointInPolygon(xp: readonly number[], yp: readonly number[], x: number, y: number): boolean {
  const eps = 1e-12;
  const n = xp.length;
  let rightCross = 0;
  let leftCross = 0;
  let x1 = xp[n - 1] - x;
  let y1 = yp[n - 1] - y;
  for (let i = 0; i < n; i++) {
    const x0 = xp[i] - x;
    const y0 = yp[i] - y;
    if (-eps < x0 && x0 < eps && -eps < y0 && y0 < eps) return true; // a vertex
    if (y0 > 0 !== y1 > 0 && (x0 * y1 - x1 * y0) / (y1 - y0) > 0) rightCross++;
    if (y0 < 0 !== y1 < 0 && (x0 * y1 - x1 * y0) / (y1 - y0) < 0) leftCross++;
    x1 = x0;
    y1 = y0;
  }
  // Different parities: on an edge. Odd: inside.
  return (rightCross & 1) !== (leftCross & 1) || (rightCross & 1) === 1;
}

function asRectangle(rows: number[], cols: number[]): Footprint['rect'] {
  const rs = [...new Set(rows)];
  const cs = [...new Set(cols)];
  if (rs.length * cs.length !== rows.length) return null;
  const set = new Set(rows.map((r, i) => `${r},${cols[i]}`));
  for (const r of rs) for (const c of cs) if (!set.has(`${r},${c}`)) return null;
  return { rows: Int32Array.from(rs), cols: Int32Array.from(cs) };
}

/** `tensor.long()` then `clamp(0, n − 1)`: truncation toward zero, then clamping into the grid. */
export function clampCell(value: number, n: number): number {
  const t = Math.trunc(value);
  return t <= 0 ? 0 : Math.min(t, n - 1);
}
