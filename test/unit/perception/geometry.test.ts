// Frustum, camera geometry, ego-motion alignment and voxel indices, checked by hand (sad.py create_frustum,
// get_geometry, projection_to_birds_eye_view; utils/geometry.py pose_vec2mat).
import { describe, expect, it } from 'vitest';
import {
  alignedPoints,
  assignVoxels,
  createFrustum,
  eulerToMatrix,
  invert3x3,
  perceptionGeometry,
  poseVecToMatrix,
  torchLinspace,
} from '../../../src/perception/index.ts';
import {
  BACKWARD_ROTATION,
  expectClose,
  expectSpikedriveError,
  extrinsic,
  FORWARD_ROTATION,
  intrinsic,
  tinyOptions,
} from './_helpers.ts';

const f32 = Math.fround;
const options = tinyOptions();
const geometry = perceptionGeometry(options);
const frustum = createFrustum(options.imageSize, 8, options.dBound);
const [D, h, w] = frustum.shape;
// Pixel-index linspace: x = linspace(0, 47, 6), y = linspace(0, 31, 4).
const X = [0, 9.4, 18.8, 28.2, 37.6, 47].map(f32);
const Y = [0, 31 / 3, 62 / 3, 31].map(f32);

/** Index of frustum point (image, row i, col j, depth k) in alignedPoints / assignVoxels order. */
const pointIndex = (image: number, i: number, j: number, k: number) => ((image * h + i) * w + j) * D + k;

function pointsFor(extrinsics: number[][], egomotion: number[][] = [], frames = extrinsics.length) {
  const cameras = extrinsics.length / frames;
  return alignedPoints(frustum.data, frustum.shape, {
    batch: 1,
    frames,
    cameras,
    intrinsics: extrinsics.flatMap(() => intrinsic(10, X[2], Y[1])),
    extrinsics: extrinsics.flat(),
    futureEgomotion: frames === 1 ? [0, 0, 0, 0, 0, 0] : egomotion.flat(),
  });
}

describe('frustum', () => {
  it('holds (x pixel, y pixel, depth) on the pixel-index linspace and arange(D_BOUND)', () => {
    expect(frustum.shape).toEqual([3, 4, 6, 3]);
    for (let k = 0; k < D; k++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const o = ((k * h + i) * w + j) * 3;
          expect(Math.abs(frustum.data[o] - X[j])).toBeLessThanOrEqual(4e-6);
          expect(Math.abs(frustum.data[o + 1] - Y[i])).toBeLessThanOrEqual(4e-6);
          expect(frustum.data[o + 2]).toBe(2 + k);
        }
      }
    }
  });

  it('linspace ends exactly on 0 and W − 1 (pixel indices, not pixel centres)', () => {
    const xs = torchLinspace(0, 479, 60);
    expect(xs[0]).toBe(0);
    expect(xs[59]).toBe(479);
    expect(xs[1]).toBeCloseTo(479 / 59, 5);
  });
});

describe('camera geometry and voxel indices', () => {
  const camera = extrinsic(FORWARD_ROTATION, [1, 0.25, 1.5]);

  it('puts the principal ray at depth d at (1 + d, 0.25, 1.5) and into the hand-computed cell', () => {
    const points = pointsFor([camera]);
    for (let k = 0; k < D; k++) {
      const p = pointIndex(0, 1, 2, k) * 3;
      expectClose(points.subarray(p, p + 3), [1 + 2 + k, 0.25, 1.5], 1e-5);
    }
    const { cell } = assignVoxels(points, geometry);
    // d = 2: x = 3 → (3 + 4)/0.5 = 14, y = 0.25 → 8.5 → 8 (truncated); 14·16 + 8 = 232.
    expect(cell[pointIndex(0, 1, 2, 0)]).toBe(232);
    // d = 3: x = 4 → index 16 = X, outside the grid.
    expect(cell[pointIndex(0, 1, 2, 1)]).toBe(-1);
    expect(cell[pointIndex(0, 1, 2, 2)]).toBe(-1);
  });

  it('maps an off-axis pixel through K⁻¹: one column right is 0.94·d to the right', () => {
    const points = pointsFor([camera]);
    const p = pointIndex(0, 1, 3, 0) * 3; // u − cx = 9.4 px, f = 10, d = 2 → 1.88 m right
    expectClose(points.subarray(p, p + 3), [3, 0.25 - 1.88, 1.5], 1e-5);
    // y = −1.63 → (−1.63 + 4)/0.5 = 4.74 → 4; cell 14·16 + 4.
    expect(assignVoxels(points, geometry).cell[pointIndex(0, 1, 3, 0)]).toBe(228);
  });

  it('truncates toward zero: up to one cell below the lower bound lands in cell 0, further is dropped', () => {
    // Looking backward from x = −2.3: depth 2 → x = −4.3 ((−4.3 + 4)/0.5 = −0.6 → 0), depth 3 → x = −5.3 (→ −2).
    const back = extrinsic(BACKWARD_ROTATION, [-2.3, -4.2, 1.5]);
    const points = pointsFor([back]);
    const { cell } = assignVoxels(points, geometry);
    const p = pointIndex(0, 1, 2, 0);
    expectClose(points.subarray(3 * p, 3 * p + 3), [-4.3, -4.2, 1.5], 1e-5);
    // y = −4.2 → −0.4 → 0 as well: row 0, column 0.
    expect(cell[p]).toBe(0);
    expect(cell[pointIndex(0, 1, 2, 1)]).toBe(-1);
    // At −4.6 ((−4.6 + 4)/0.5 = −1.2 → −1) the point is out.
    const further = assignVoxels(pointsFor([extrinsic(BACKWARD_ROTATION, [-2.6, 0, 1.5])]), geometry);
    expect(further.cell[p]).toBe(-1);
  });

  it('keeps one height cell with the same truncation: z ∈ (−5, 3) with Z_BOUND [−1, 3, 4]', () => {
    const at = (z: number) =>
      assignVoxels(pointsFor([extrinsic(FORWARD_ROTATION, [1, 0.25, z])]), geometry).cell[
        pointIndex(0, 1, 2, 0)
      ];
    expect(at(2.9)).toBe(232);
    expect(at(-4.5)).toBe(232); // (−4.5 + 1)/4 = −0.875 → 0
    expect(at(-5.2)).toBe(-1); // −1.05 → −1
    expect(at(3.0)).toBe(-1); // 1.0 → 1 = Z
  });

  it('counts the kept points', () => {
    const { cell, kept } = assignVoxels(pointsFor([camera]), geometry);
    expect(kept).toBe(cell.filter((c) => c >= 0).length);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(cell.length);
  });

  it('rejects singular intrinsics with the frame and camera named', () => {
    expectSpikedriveError(
      () =>
        alignedPoints(frustum.data, frustum.shape, {
          batch: 1,
          frames: 1,
          cameras: 1,
          intrinsics: [10, 0, 5, 0, 0, 5, 0, 0, 1],
          extrinsics: camera,
          futureEgomotion: [0, 0, 0, 0, 0, 0],
        }),
      /frame 0, camera 0 are singular/,
      /pinhole/,
    );
  });
});

describe('ego-motion alignment', () => {
  it('builds R = Rx·Ry·Rz as euler2mat', () => {
    const [rx, ry, rz] = [0.3, -0.2, 0.7];
    const Rx = [1, 0, 0, 0, Math.cos(rx), -Math.sin(rx), 0, Math.sin(rx), Math.cos(rx)];
    const Ry = [Math.cos(ry), 0, Math.sin(ry), 0, 1, 0, -Math.sin(ry), 0, Math.cos(ry)];
    const Rz = [Math.cos(rz), -Math.sin(rz), 0, Math.sin(rz), Math.cos(rz), 0, 0, 0, 1];
    const mul = (a: number[], b: number[]) =>
      Array.from({ length: 9 }, (_, i) => {
        const [r, c] = [Math.floor(i / 3), i % 3];
        return a[3 * r] * b[c] + a[3 * r + 1] * b[3 + c] + a[3 * r + 2] * b[6 + c];
      });
    expectClose(eulerToMatrix(rx, ry, rz), mul(mul(Rx, Ry), Rz), 1e-12);
    const m = poseVecToMatrix([1, 2, 3, rx, ry, rz]);
    expect([m[3], m[7], m[11], m[12], m[13], m[14], m[15]]).toEqual([1, 2, 3, 0, 0, 0, 1]);
  });

  it('inverts a 3×3', () => {
    const k = intrinsic(12, 3, 4);
    const inv = invert3x3(k) as Float64Array;
    expectClose(inv, [1 / 12, 0, -3 / 12, 0, 1 / 12, -4 / 12, 0, 0, 1], 1e-12);
    expect(invert3x3([1, 2, 3, 2, 4, 6, 0, 0, 1])).toBeNull();
  });

  it('moves past frames cumulatively into the present frame (E_0 then E_1 for frame 0, E_1 for frame 1)', () => {
    const camera = extrinsic(FORWARD_ROTATION, [1, 0.25, 1.5]);
    // E_0: the ego drove 1 m forward (a static point comes 1 m closer); E_1: turned left by 90° and moved.
    const e0 = [-1, 0, 0, 0, 0, 0];
    const e1 = [0, 0.5, 0, 0, 0, Math.PI / 2];
    const points = pointsFor([camera, camera, camera], [e0, e1, [9, 9, 9, 0, 0, 0]], 3);
    const at = (frame: number) => {
      const p = pointIndex(frame, 1, 2, 0) * 3;
      return points.subarray(p, p + 3);
    };
    // Frame 0: (3, 0.25, 1.5) → E_0 → (2, 0.25, 1.5) → Rz(90°) → (−0.25, 2, 1.5) → + (0, 0.5, 0).
    expectClose(at(0), [-0.25, 2.5, 1.5], 1e-9);
    // Frame 1: (3, 0.25, 1.5) → E_1 → (−0.25, 3.5, 1.5).
    expectClose(at(1), [-0.25, 3.5, 1.5], 1e-9);
    // The present frame is not moved; the last ego motion (t = S − 1 → S) is not used.
    expectClose(at(2), [3, 0.25, 1.5], 1e-9);
  });
});
