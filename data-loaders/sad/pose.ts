import { Quaternion } from '../nuscenes/index.ts';
import { torchAtan2f, torchCosf, torchSinf } from './torch-trig.ts';

/**
 * SAD's pose arithmetic (`sad/utils/geometry.py`) in the reference's float32: 4×4 matrices as row-major
 * arrays of 16 numbers, every operation rounded with `Math.fround` in the reference's order, so the 6-DoF
 * ego motion and the warps that use it match the PyTorch/numpy float32 results (to the last bit in most
 * cells; BLAS may fuse a multiply-add where we round twice).
 */

/** A 4×4 matrix, row-major: m[4·row + col]. */
export type Mat4 = Float64Array;

/** [tx, ty, tz, rx, ry, rz]: translation and Euler angles with R = Rx·Ry·Rz (`mat2pose_vec`). */
export type PoseVec = [number, number, number, number, number, number];

const f = Math.fround;

/** Sum of products in float32, left to right (numpy/torch's small-matrix order). */
function dot32(a0: number, b0: number, a1: number, b1: number, a2: number, b2: number): number {
  return f(f(f(a0 * b0) + f(a1 * b1)) + f(a2 * b2));
}

function dot32x4(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bj: number): number {
  let acc = f(a[ai] * b[bj]);
  acc = f(acc + f(a[ai + 1] * b[bj + 4]));
  acc = f(acc + f(a[ai + 2] * b[bj + 8]));
  return f(acc + f(a[ai + 3] * b[bj + 12]));
}

export function identity4(): Mat4 {
  const m = new Float64Array(16);
  m[0] = m[5] = m[10] = m[15] = 1;
  return m;
}

/**
 * a·b in float32 as numpy's BLAS sgemm computes it (checked against numpy 1.24/OpenBLAS on 2000 random
 * rigid transforms): each entry accumulated left to right with fused multiply-adds.
 */
export function multiply4fFused(a: ArrayLike<number>, b: ArrayLike<number>): Mat4 {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      // A float32 product is exact in float64, so one fround of (a·b + acc) is the FMA's single rounding.
      let acc = f(a[4 * r] * b[c]);
      acc = f(a[4 * r + 1] * b[4 + c] + acc);
      acc = f(a[4 * r + 2] * b[8 + c] + acc);
      out[4 * r + c] = f(a[4 * r + 3] * b[12 + c] + acc);
    }
  }
  return out;
}

/** a·b in float32 as torch's small-matrix bmm (left to right, each product and sum rounded). */
export function multiply4f(a: ArrayLike<number>, b: ArrayLike<number>): Mat4 {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) out[4 * r + c] = dot32x4(a, 4 * r, b, c);
  return out;
}

/** a·b in float64 (for the reference's numpy float64 chains). */
export function multiply4(a: ArrayLike<number>, b: ArrayLike<number>): Mat4 {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      out[4 * r + c] =
        a[4 * r] * b[c] + a[4 * r + 1] * b[4 + c] + a[4 * r + 2] * b[8 + c] + a[4 * r + 3] * b[12 + c];
    }
  }
  return out;
}

/** A rigid transform [R t; 0 1] from a 3×3 (nested) rotation and a translation, float64. */
export function rigid4(rotation: readonly (readonly number[])[], translation: readonly number[]): Mat4 {
  const m = identity4();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m[4 * r + c] = rotation[r][c];
    m[4 * r + 3] = translation[r];
  }
  return m;
}

/** Inverse of a rigid transform, float64: [Rᵀ −Rᵀt]. */
export function invertRigid4(m: ArrayLike<number>): Mat4 {
  const out = identity4();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[4 * r + c] = m[4 * c + r];
    out[4 * r + 3] = -(m[r] * m[3] + m[4 + r] * m[7] + m[8 + r] * m[11]);
  }
  return out;
}

/**
 * Inverse of a rigid transform in float32 (`invert_matrix_egopose_numpy` / `invert_pose_matrix`):
 * Rᵀ and −Rᵀ·t, each sum in float32.
 */
export function invertRigid4f(m: ArrayLike<number>): Mat4 {
  const out = identity4();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[4 * r + c] = f(m[4 * c + r]);
    out[4 * r + 3] = f(-dot32(m[r], m[3], m[4 + r], m[7], m[8 + r], m[11]));
  }
  return out;
}

/** `convert_egopose_to_matrix_numpy`: [R t] of an ego pose, cast to float32. */
export function egoPoseMatrix32(pose: { translation: readonly number[]; rotation: readonly number[] }): Mat4 {
  const r = Quaternion.fromArray(pose.rotation).rotationMatrix;
  const m = identity4();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) m[4 * i + j] = f(r[i][j]);
    m[4 * i + 3] = f(pose.translation[i]);
  }
  return m;
}

/**
 * The ego motion from frame t to t+1 as the reference's `get_future_egomotion` builds it:
 * inv(E_{t+1})·E_t from the full 3-D LIDAR_TOP ego poses, in float32, last row forced to [0 0 0 1].
 */
export function egomotionMatrix(
  poseT0: { translation: readonly number[]; rotation: readonly number[] },
  poseT1: { translation: readonly number[]; rotation: readonly number[] },
): Mat4 {
  const m = multiply4fFused(invertRigid4f(egoPoseMatrix32(poseT1)), egoPoseMatrix32(poseT0));
  m[12] = m[13] = m[14] = 0;
  m[15] = 1;
  return m;
}

/** `mat2pose_vec`: [tx, ty, tz, rx, ry, rz] with R = Rx·Ry·Rz, in float32. */
export function matrixToPoseVec(m: ArrayLike<number>): PoseVec {
  const m12 = f(m[6]);
  const m22 = f(m[10]);
  const rotx = torchAtan2f(-m12, m22);
  const cosy = f(Math.sqrt(f(f(m12 * m12) + f(m22 * m22))));
  const roty = torchAtan2f(m[2], cosy);
  const rotz = torchAtan2f(-f(m[1]), m[0]);
  return [f(m[3]), f(m[7]), f(m[11]), rotx, roty, rotz];
}

/** `pose_vec2mat` (via `euler2mat`: Rx·Ry·Rz, float32 products). */
export function poseVecToMatrix(v: ArrayLike<number>): Mat4 {
  const x = f(v[3]);
  const y = f(v[4]);
  const z = f(v[5]);
  const cz = torchCosf(z);
  const sz = torchSinf(z);
  const cy = torchCosf(y);
  const sy = torchSinf(y);
  const cx = torchCosf(x);
  const sx = torchSinf(x);
  const zmat = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  const ymat = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  const xmat = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  const mul3 = (a: number[], b: number[]) => {
    const out: number[] = [];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++)
        out.push(dot32(a[3 * r], b[c], a[3 * r + 1], b[3 + c], a[3 * r + 2], b[6 + c]));
    }
    return out;
  };
  const rot = mul3(mul3(xmat, ymat), zmat);
  const m = identity4();
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) m[4 * r + c] = rot[3 * r + c];
    m[4 * r + 3] = f(v[r]);
  }
  return m;
}

/** The 6-DoF vector of the inverse motion (`mat2pose_vec(pose_vec2mat(v).inverse())`). */
export function invertPoseVec(v: ArrayLike<number>): PoseVec {
  return matrixToPoseVec(invertRigid4f(poseVecToMatrix(v)));
}

/** Yaw-only rotation matrix of a nuScenes quaternion (pyquaternion `yaw_pitch_roll[0]`), float64. */
export function flatYaw(rotation: readonly number[]): number {
  return Quaternion.fromArray(rotation).yawPitchRoll[0];
}
