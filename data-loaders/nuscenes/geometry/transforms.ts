import type { Vec3 } from '../types.ts';
import type { Box } from './box.ts';
import { type Matrix, Quaternion } from './quaternion.ts';

/** Points as rows: 3 (or 4) rows × N columns, like the devkit's numpy arrays. */
export type PointRows = ArrayLike<number>[];

/**
 * The devkit's `transform_matrix`: the 4×4 [R t; 0 1] of (translation, rotation), or its inverse
 * [Rᵀ −Rᵀt; 0 1] when `inverse`.
 */
export function transformMatrix(
  translation: readonly number[] = [0, 0, 0],
  rotation: Quaternion = new Quaternion(),
  inverse = false,
): Matrix {
  const r = rotation.rotationMatrix;
  if (!inverse) {
    return [
      [r[0][0], r[0][1], r[0][2], translation[0]],
      [r[1][0], r[1][1], r[1][2], translation[1]],
      [r[2][0], r[2][1], r[2][2], translation[2]],
      [0, 0, 0, 1],
    ];
  }
  const rt = [
    [r[0][0], r[1][0], r[2][0]],
    [r[0][1], r[1][1], r[2][1]],
    [r[0][2], r[1][2], r[2][2]],
  ];
  const t = rt.map((row) => -(row[0] * translation[0] + row[1] * translation[1] + row[2] * translation[2]));
  return [
    [...rt[0], t[0]],
    [...rt[1], t[1]],
    [...rt[2], t[2]],
    [0, 0, 0, 1],
  ];
}

/**
 * The devkit's `view_points`: `view` (up to 4×4) is embedded in the top-left of a 4×4 identity and
 * applied to the homogeneous points; rows 0–2 are kept. With `normalize`, all three rows are divided by
 * row 2, so the result is (u, v, 1) for a camera intrinsic.
 */
export function viewPoints(
  points: PointRows,
  view: Matrix,
  normalize: boolean,
): [Float64Array, Float64Array, Float64Array] {
  if (points.length !== 3) throw new RangeError(`viewPoints needs 3 rows of points, got ${points.length}`);
  if (view.length > 4 || view.some((row) => row.length > 4)) throw new RangeError('view must be at most 4×4');
  const v: number[][] = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  view.forEach((row, i) => {
    row.forEach((value, j) => {
      v[i][j] = value;
    });
  });
  const n = points[0].length;
  const out: [Float64Array, Float64Array, Float64Array] = [
    new Float64Array(n),
    new Float64Array(n),
    new Float64Array(n),
  ];
  const [xs, ys, zs] = points;
  for (let k = 0; k < n; k++) {
    const x = xs[k];
    const y = ys[k];
    const z = zs[k];
    for (let i = 0; i < 3; i++) out[i][k] = v[i][0] * x + v[i][1] * y + v[i][2] * z + v[i][3];
  }
  if (normalize) {
    for (let k = 0; k < n; k++) {
      const depth = out[2][k];
      out[0][k] /= depth;
      out[1][k] /= depth;
      out[2][k] /= depth;
    }
  }
  return out;
}

/** The devkit's BoxVisibility: ALL = 0, ANY = 1, NONE = 2. */
export enum BoxVisibility {
  ALL = 0,
  ANY = 1,
  NONE = 2,
}

/**
 * The devkit's `box_in_image`: a corner is visible when 0 < u < width, 0 < v < height and depth > 1 m,
 * and in front when depth > 0.1 m. ALL needs every corner visible; ANY needs one visible corner and
 * every corner in front; NONE is always true.
 */
export function boxInImage(
  box: Box,
  intrinsic: Matrix,
  imageSize: readonly [number, number],
  visLevel: BoxVisibility = BoxVisibility.ANY,
): boolean {
  const corners3d = box.corners();
  const corners = viewPoints(corners3d, intrinsic, true);
  const [width, height] = imageSize;
  let allVisible = true;
  let anyVisible = false;
  let allInFront = true;
  for (let i = 0; i < 8; i++) {
    const u = corners[0][i];
    const v = corners[1][i];
    const depth = corners3d[2][i];
    const visible = u > 0 && u < width && v > 0 && v < height && depth > 1;
    allVisible &&= visible;
    anyVisible ||= visible;
    allInFront &&= depth > 0.1;
  }
  switch (visLevel) {
    case BoxVisibility.ALL:
      return allVisible && allInFront;
    case BoxVisibility.ANY:
      return anyVisible && allInFront;
    case BoxVisibility.NONE:
      return true;
    default:
      throw new RangeError(`unknown box visibility level ${String(visLevel)}`);
  }
}

/**
 * The devkit's `points_in_box`: corner 0 as origin, the edges to corners 4, 1 and 3 as axes, bounds
 * inclusive. Returns one boolean per point.
 */
export function pointsInBox(box: Box, points: PointRows, wlhFactor = 1): boolean[] {
  const c = box.corners(wlhFactor);
  const p1: Vec3 = [c[0][0], c[1][0], c[2][0]];
  const axis = (k: number): Vec3 => [c[0][k] - p1[0], c[1][k] - p1[1], c[2][k] - p1[2]];
  const i = axis(4);
  const j = axis(1);
  const kk = axis(3);
  const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const ii = dot(i, i);
  const jj = dot(j, j);
  const kkk = dot(kk, kk);
  const n = points[0].length;
  const mask: boolean[] = new Array(n);
  for (let m = 0; m < n; m++) {
    const v: Vec3 = [points[0][m] - p1[0], points[1][m] - p1[1], points[2][m] - p1[2]];
    const iv = dot(i, v);
    const jv = dot(j, v);
    const kv = dot(kk, v);
    mask[m] = iv >= 0 && iv <= ii && jv >= 0 && jv <= jj && kv >= 0 && kv <= kkk;
  }
  return mask;
}

/** Applies a 4×4 transform to one 3-D point. */
export function transformPoint(matrix: Matrix, p: readonly number[]): Vec3 {
  return [
    matrix[0][0] * p[0] + matrix[0][1] * p[1] + matrix[0][2] * p[2] + matrix[0][3],
    matrix[1][0] * p[0] + matrix[1][1] * p[1] + matrix[1][2] * p[2] + matrix[1][3],
    matrix[2][0] * p[0] + matrix[2][1] * p[1] + matrix[2][2] * p[2] + matrix[2][3],
  ];
}
