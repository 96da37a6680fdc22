import { SpikedriveError } from '../../../src/util/index.ts';
import type { CameraView } from './types.ts';

/** The largest image side we render; guards against a swapped or corrupt width/height. */
const MAX_IMAGE_SIDE = 16384;

/**
 * A camera reduced to the numbers the rasteriser needs: the global ray of pixel (u, v) is
 * `rayOrigin + t · (rayU·u + rayV·v + rayBase)` with t the camera-frame depth (K's last row is [0 0 1]),
 * and `worldToCamera` maps a global point into OpenCV camera axes.
 */
export interface PreparedCamera {
  width: number;
  height: number;
  fx: number;
  fy: number;
  skew: number;
  cx: number;
  cy: number;
  /** K⁻¹ as [a b c; 0 e f; 0 0 1], stored a, b, c, e, f. */
  kInv: Float64Array;
  /** Camera centre in the global frame. */
  origin: Float64Array;
  /** Row-major 3×3 camera→global rotation. */
  rotation: Float64Array;
  /** Global ray direction per unit u, per unit v, and at (0, 0). */
  rayU: Float64Array;
  rayV: Float64Array;
  rayBase: Float64Array;
}

function finiteMatrix(m: unknown, rows: number, cols: number): m is number[][] {
  return (
    Array.isArray(m) &&
    m.length === rows &&
    m.every(
      (row) =>
        Array.isArray(row) &&
        row.length === cols &&
        row.every((v) => typeof v === 'number' && Number.isFinite(v)),
    )
  );
}

export function prepareCamera(view: CameraView): PreparedCamera {
  const { width, height, intrinsic: k, cameraToGlobal: pose } = view;
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > MAX_IMAGE_SIDE ||
    height > MAX_IMAGE_SIDE
  ) {
    throw new SpikedriveError(`camera image size ${width}×${height} is not a positive integer size`, {
      fix: `give width and height as whole pixels between 1 and ${MAX_IMAGE_SIDE} (nuScenes cameras are 1600×900)`,
      subject: 'CameraView.width/height',
    });
  }
  if (!finiteMatrix(k, 3, 3)) {
    throw new SpikedriveError('camera intrinsic is not a 3×3 matrix of finite numbers', {
      fix: 'pass calibrated_sensor.camera_intrinsic, e.g. [[1266.4, 0, 816.3], [0, 1266.4, 491.5], [0, 0, 1]]',
      subject: 'CameraView.intrinsic',
    });
  }
  const fx = k[0][0];
  const fy = k[1][1];
  if (!(fx > 0) || !(fy > 0) || k[1][0] !== 0 || k[2][0] !== 0 || k[2][1] !== 0 || k[2][2] !== 1) {
    throw new SpikedriveError(
      `camera intrinsic [${k.map((r) => `[${r.join(', ')}]`).join(', ')}] is not a pinhole K`,
      {
        fix: 'use an upper-triangular K with positive focal lengths and last row [0, 0, 1] (images are undistorted)',
        subject: 'CameraView.intrinsic',
      },
    );
  }
  if (!finiteMatrix(pose, 4, 4)) {
    throw new SpikedriveError('cameraToGlobal is not a 4×4 matrix of finite numbers', {
      fix: 'compose ego_pose ∘ calibrated_sensor with transformMatrix(translation, rotation) for each',
      subject: 'CameraView.cameraToGlobal',
    });
  }
  const r = new Float64Array(9);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) r[i * 3 + j] = pose[i][j];
  // An orthonormality check catches a transposed or scaled pose, which would render a plausible but wrong image.
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const dot = r[i] * r[j] + r[3 + i] * r[3 + j] + r[6 + i] * r[6 + j];
      if (Math.abs(dot - (i === j ? 1 : 0)) > 1e-4) {
        throw new SpikedriveError('the rotation part of cameraToGlobal is not orthonormal', {
          fix: 'build the pose from unit quaternions (Quaternion.normalised()) with transformMatrix',
          subject: 'CameraView.cameraToGlobal',
        });
      }
    }
  }
  const origin = new Float64Array([pose[0][3], pose[1][3], pose[2][3]]);
  if (!(origin[2] > 0)) {
    throw new SpikedriveError(`camera centre is at z = ${origin[2]} m, not above the ground plane z = 0`, {
      fix: 'place cameras above the ground (nuScenes cameras sit about 1.5 m up); check the pose is camera→global',
      subject: 'CameraView.cameraToGlobal',
    });
  }
  const skew = k[0][1];
  const cx = k[0][2];
  const cy = k[1][2];
  // K⁻¹ of [fx s cx; 0 fy cy; 0 0 1].
  const a = 1 / fx;
  const b = -skew / (fx * fy);
  const c = (skew * cy - cx * fy) / (fx * fy);
  const e = 1 / fy;
  const f = -cy / fy;
  const kInv = new Float64Array([a, b, c, e, f]);
  // Camera-frame direction of (u, v) is (a·u + b·v + c, e·v + f, 1); rotate each coefficient vector.
  const rayU = new Float64Array(3);
  const rayV = new Float64Array(3);
  const rayBase = new Float64Array(3);
  for (let i = 0; i < 3; i++) {
    rayU[i] = r[i * 3] * a;
    rayV[i] = r[i * 3] * b + r[i * 3 + 1] * e;
    rayBase[i] = r[i * 3] * c + r[i * 3 + 1] * f + r[i * 3 + 2];
  }
  return { width, height, fx, fy, skew, cx, cy, kInv, origin, rotation: r, rayU, rayV, rayBase };
}
