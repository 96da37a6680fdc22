import { SpikedriveError } from '../util/errors.ts';
import type { PerceptionGeometry } from './options.ts';

/**
 * Host-side geometry of lift-splat (sad.py `get_geometry`, `projection_to_birds_eye_view`; utils/geometry.py
 * `pose_vec2mat`). Positions carry no gradient in the reference (they become integer voxel indices), so they are
 * computed here in float64 from the small camera and ego-motion arrays; the reference works in float32, which
 * can put a point within ~1e-6 of a cell edge on the other side (the golden test checks its inputs have none).
 */

/** 3×3 and 4×4 matrices are row-major arrays. */
export type Matrix = Float64Array;

/** `euler2mat`: R = Rx(rx)·Ry(ry)·Rz(rz), row-major. */
export function eulerToMatrix(rx: number, ry: number, rz: number): Matrix {
  const [cx, sx, cy, sy, cz, sz] = [
    Math.cos(rx),
    Math.sin(rx),
    Math.cos(ry),
    Math.sin(ry),
    Math.cos(rz),
    Math.sin(rz),
  ];
  // Rx·Ry
  const a = [cy, 0, sy, sx * sy, cx, -sx * cy, -cx * sy, sx, cx * cy];
  // (Rx·Ry)·Rz with Rz = [[cz, −sz, 0], [sz, cz, 0], [0, 0, 1]]
  return Float64Array.of(
    a[0] * cz + a[1] * sz,
    -a[0] * sz + a[1] * cz,
    a[2],
    a[3] * cz + a[4] * sz,
    -a[3] * sz + a[4] * cz,
    a[5],
    a[6] * cz + a[7] * sz,
    -a[6] * sz + a[7] * cz,
    a[8],
  );
}

/** `pose_vec2mat`: 6-DoF [tx, ty, tz, rx, ry, rz] → 4×4 [R | t; 0 0 0 1], row-major. */
export function poseVecToMatrix(vec: ArrayLike<number>, offset = 0): Matrix {
  const r = eulerToMatrix(vec[offset + 3], vec[offset + 4], vec[offset + 5]);
  return Float64Array.of(
    r[0],
    r[1],
    r[2],
    vec[offset],
    r[3],
    r[4],
    r[5],
    vec[offset + 1],
    r[6],
    r[7],
    r[8],
    vec[offset + 2],
    0,
    0,
    0,
    1,
  );
}

/** Inverse of a row-major 3×3 (adjugate / determinant), or null when singular. */
export function invert3x3(m: ArrayLike<number>, offset = 0): Matrix | null {
  const [a, b, c, d, e, f, g, h, i] = Array.from({ length: 9 }, (_, k) => m[offset + k]);
  const co0 = e * i - f * h;
  const co1 = f * g - d * i;
  const co2 = d * h - e * g;
  const det = a * co0 + b * co1 + c * co2;
  const scale = Math.max(Math.abs(a), Math.abs(e), Math.abs(i), 1e-300);
  if (!Number.isFinite(det) || Math.abs(det) <= 1e-12 * scale ** 3) return null;
  const r = 1 / det;
  return Float64Array.of(
    co0 * r,
    (c * h - b * i) * r,
    (b * f - c * e) * r,
    co1 * r,
    (a * i - c * g) * r,
    (c * d - a * f) * r,
    co2 * r,
    (b * g - a * h) * r,
    (a * e - b * d) * r,
  );
}

/** The camera and ego-motion arrays of one forward, host-side and batch-major. */
export interface LiftInputs {
  batch: number;
  frames: number;
  cameras: number;
  /** [B, S, N, 3, 3] intrinsics after resize and crop. */
  intrinsics: ArrayLike<number>;
  /** [B, S, N, 4, 4] camera → lidar-frame transforms. */
  extrinsics: ArrayLike<number>;
  /** [B, S, 6] ego motion t → t+1 (only frames 0..S−2 are used). */
  futureEgomotion: ArrayLike<number>;
}

/**
 * Positions of every frustum point in the **present** frame's lidar frame (x forward, y left, z up), as
 * `get_geometry` + the in-place cumulative loop of `projection_to_birds_eye_view`: frame t is moved by E_t, then
 * E_{t+1}, …, E_{S−2} (each E = pose_vec2mat(future_egomotion[b, k])). Layout [B, S, N, h, w, D, 3] (depth last,
 * as the lifted features) in float64.
 */
export function alignedPoints(
  frustum: Float32Array,
  frustumShape: readonly number[],
  inputs: LiftInputs,
): Float64Array {
  const [depthBins, h, w] = frustumShape;
  const { batch, frames, cameras } = inputs;
  const perImage = h * w * depthBins;
  const out = new Float64Array(batch * frames * cameras * perImage * 3);
  for (let b = 0; b < batch; b++) {
    // Cumulative transform of frame t into the present frame: A_t = E_{S−2}·…·E_t (A_{S−1} = identity).
    const toPresent: Matrix[] = new Array(frames);
    toPresent[frames - 1] = Float64Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1);
    for (let t = frames - 2; t >= 0; t--) {
      toPresent[t] = multiply4(
        toPresent[t + 1],
        poseVecToMatrix(inputs.futureEgomotion, (b * frames + t) * 6),
      );
    }
    for (let t = 0; t < frames; t++) {
      for (let n = 0; n < cameras; n++) {
        const image = (b * frames + t) * cameras + n;
        const kInv = invert3x3(inputs.intrinsics, image * 9);
        if (kInv === null) {
          throw new SpikedriveError(
            `intrinsics of batch item ${b}, frame ${t}, camera ${n} are singular and cannot be inverted`,
            {
              subject: 'intrinsics',
              fix: 'Pass the [3, 3] pinhole matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] after resize and crop.',
            },
          );
        }
        const e = image * 16;
        const ext = inputs.extrinsics;
        // combined = A_t · [R | t] · diag(K⁻¹, 1): one affine map from (u·d, v·d, d) to the present frame.
        const camera = Float64Array.of(
          ext[e],
          ext[e + 1],
          ext[e + 2],
          ext[e + 3],
          ext[e + 4],
          ext[e + 5],
          ext[e + 6],
          ext[e + 7],
          ext[e + 8],
          ext[e + 9],
          ext[e + 10],
          ext[e + 11],
          0,
          0,
          0,
          1,
        );
        const pose = multiply4(toPresent[t], camera);
        const m = new Float64Array(12);
        for (let r = 0; r < 3; r++) {
          for (let c = 0; c < 3; c++) {
            m[r * 4 + c] =
              pose[r * 4] * kInv[c] + pose[r * 4 + 1] * kInv[3 + c] + pose[r * 4 + 2] * kInv[6 + c];
          }
          m[r * 4 + 3] = pose[r * 4 + 3];
        }
        let o = image * perImage * 3;
        for (let i = 0; i < h; i++) {
          for (let j = 0; j < w; j++) {
            for (let k = 0; k < depthBins; k++) {
              const f = ((k * h + i) * w + j) * 3;
              const d = frustum[f + 2];
              const u = frustum[f] * d;
              const v = frustum[f + 1] * d;
              out[o++] = m[0] * u + m[1] * v + m[2] * d + m[3];
              out[o++] = m[4] * u + m[5] * v + m[6] * d + m[7];
              out[o++] = m[8] * u + m[9] * v + m[10] * d + m[11];
            }
          }
        }
      }
    }
  }
  return out;
}

function multiply4(a: Matrix, b: Matrix): Matrix {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      out[r * 4 + c] =
        a[r * 4] * b[c] + a[r * 4 + 1] * b[4 + c] + a[r * 4 + 2] * b[8 + c] + a[r * 4 + 3] * b[12 + c];
    }
  }
  return out;
}

/** Voxel of each point: the flat BEV cell x·Y + y, or −1 when outside. */
export interface VoxelAssignment {
  /** One entry per point, in the order of `alignedPoints` (depth last). */
  cell: Int32Array;
  /** Points inside the grid. */
  kept: number;
}

/**
 * Voxel indices as the reference computes them: ((p − (start − res/2)) / res).long(), i.e. **truncated toward
 * zero**, so a point up to one cell below the lower bound still lands in cell 0; then the mask
 * 0 ≤ index < dimension on all three axes (the single height cell included).
 */
export function assignVoxels(points: Float64Array, geometry: PerceptionGeometry): VoxelAssignment {
  const [nx, ny, nz] = geometry.bevDimension;
  const res = geometry.bevResolution;
  const f = Math.fround;
  // The reference subtracts a float32 (bev_start_position − bev_resolution / 2).
  const lower = geometry.bevStartPosition.map((s, a) => f(s - f(res[a] / 2)));
  const count = points.length / 3;
  const cell = new Int32Array(count);
  let kept = 0;
  for (let p = 0; p < count; p++) {
    const ix = Math.trunc((points[3 * p] - lower[0]) / res[0]);
    const iy = Math.trunc((points[3 * p + 1] - lower[1]) / res[1]);
    const iz = Math.trunc((points[3 * p + 2] - lower[2]) / res[2]);
    if (ix >= 0 && ix < nx && iy >= 0 && iy < ny && iz >= 0 && iz < nz) {
      cell[p] = ix * ny + iy;
      kept++;
    } else {
      cell[p] = -1;
    }
  }
  return { cell, kept };
}
