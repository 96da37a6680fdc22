import { describe, expect, it } from 'vitest';
import {
  commandFromTrajectory,
  cumulativeWarpFeatures,
  cumulativeWarpFeaturesReverse,
  egomotionMatrix,
  fma32,
  fma64,
  gtTrajectory,
  invertPoseVec,
  matrixToPoseVec,
  poseVecToMatrix,
  pyquaternionRotationMatrix,
  torchAtan2f,
  torchCosf,
  torchSinf,
  warpFeatures,
  warpToPresent,
} from '../../../data-loaders/sad/index.ts';
import { createRng, isSpikedriveError } from '../../../src/util/index.ts';

const yawQuaternion = (yaw: number) => [Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)];

describe('ego motion', () => {
  it('is inv(E_{t+1})·E_t: driving 2 m forward and 1 m left while turning 0.1 rad', () => {
    const motion = egomotionMatrix(
      { translation: [500, 300, 0], rotation: yawQuaternion(0) },
      { translation: [502, 301, 0], rotation: yawQuaternion(0.1) },
    );
    const v = matrixToPoseVec(motion);
    // Frame t seen from t+1: rotated back by 0.1 rad, origin at R(−0.1)·(−2, −1).
    const c = Math.cos(0.1);
    const s = Math.sin(0.1);
    expect(v[0]).toBeCloseTo(-2 * c - 1 * s, 4);
    expect(v[1]).toBeCloseTo(2 * s - 1 * c, 4);
    expect(v[5]).toBeCloseTo(-0.1, 6);
    expect([v[2], v[3], v[4]].map((x) => Math.abs(x))).toEqual([0, 0, 0]);
  });

  it('round-trips 6-DoF vectors through 4×4 matrices and inverts them (float32 precision)', () => {
    const rng = createRng('pose-round-trip');
    for (let i = 0; i < 50; i++) {
      const v = [
        rng.uniform(-5, 5),
        rng.uniform(-5, 5),
        rng.uniform(-0.3, 0.3),
        rng.uniform(-0.1, 0.1),
        rng.uniform(-0.1, 0.1),
        rng.uniform(-3, 3),
      ];
      const back = matrixToPoseVec(poseVecToMatrix(v));
      back.forEach((x, k) => {
        expect(x).toBeCloseTo(v[k], 5);
      });
      const twice = invertPoseVec(invertPoseVec(v));
      twice.forEach((x, k) => {
        expect(x).toBeCloseTo(v[k], 5);
      });
    }
  });

  it('forms pyquaternion’s rotation matrix bit for bit (FMA product of Q and Q̄ᵀ)', () => {
    // Values from pyquaternion 0.9.9 with numpy 1.24 (OpenBLAS) on this machine.
    const r = pyquaternionRotationMatrix([0.571007223, -0.002909266, 0.002830867, -0.820934999]);
    expect(r[0][0]).toBe(-0.34788457421374835);
    expect(r[1][0]).toBe(-0.9375361005709497);
    expect(fma64(0.1, 10, -1)).toBe(5.551115123125783e-17);
  });
});

describe('the reference’s float32 maths', () => {
  it('reproduces torch’s (SLEEF) cos and glibc’s atan2f, which are not correctly rounded', () => {
    // torch.cos(tensor([-0.3306243419647217])) = 0.9458398818969727; correctly rounded: 0.9458398222923279.
    expect(torchCosf(-0.3306243419647217)).toBe(0.9458398818969727);
    expect(Math.fround(Math.cos(-0.3306243419647217))).toBe(0.9458398222923279);
    expect(torchSinf(-0.3306243419647217)).toBe(-0.3246336281299591);
    // glibc 2.36 atan2f(-0.12853466, 1.3664634) = -0.0937877744436264; correctly rounded: -0.093787781894207.
    expect(torchAtan2f(-0.12853465974330902, 1.3664634227752686)).toBe(-0.0937877744436264);
    // A fused multiply-add rounds once: (1 + 2⁻¹²)² − (1 + 2⁻¹¹) = 2⁻²⁴, which two roundings lose.
    const a = Math.fround(1 + 2 ** -12);
    const c = Math.fround(1 + 2 ** -11);
    expect(fma32(a, a, -c)).toBe(2 ** -24);
    expect(Math.fround(Math.fround(a * a) - c)).toBe(0);
  });
});

describe('GT trajectory and command', () => {
  const lidarCalibration = { translation: [0.94, 0, 1.84], rotation: yawQuaternion(-Math.PI / 2) };
  it('is the LIDAR_TOP sensor pose relative to the present one: x right, y forward', () => {
    const poses = [0, 1, 2].map((k) => ({
      egoPose: { translation: [100 + 5 * k, 50, 0], rotation: yawQuaternion(0) },
      calibration: lidarCalibration,
    }));
    const trajectory = gtTrajectory(poses);
    expect(trajectory[0].map((v) => Math.abs(v))).toEqual([0, 0, 0]);
    expect(trajectory[2][0]).toBeCloseTo(0, 12);
    expect(trajectory[2][1]).toBeCloseTo(10, 12);
    expect(trajectory[2][2]).toBeCloseTo(0, 12);
  });

  it('turns RIGHT at ≥ 2 m to the right, LEFT at ≤ −2 m, FORWARD in between', () => {
    expect(
      commandFromTrajectory([
        [0, 0, 0],
        [2, 12, 0],
      ]),
    ).toBe('RIGHT');
    expect(
      commandFromTrajectory([
        [0, 0, 0],
        [1.999, 12, 0],
      ]),
    ).toBe('FORWARD');
    expect(
      commandFromTrajectory([
        [0, 0, 0],
        [-1.999, 12, 0],
      ]),
    ).toBe('FORWARD');
    expect(
      commandFromTrajectory([
        [0, 0, 0],
        [-2, 12, 0],
      ]),
    ).toBe('LEFT');
    // A real left turn: the ego drives 10 m forward while its heading swings 0.6 rad left.
    const poses = [0, 0.3, 0.6].map((yaw, k) => ({
      egoPose: {
        translation: [10 * Math.sin(yaw) * (k > 0 ? 1 : 0), 10 * (1 - Math.cos(yaw)), 0],
        rotation: yawQuaternion(yaw),
      },
      calibration: lidarCalibration,
    }));
    expect(commandFromTrajectory(gtTrajectory(poses))).toBe('LEFT');
  });
});

describe('label warping', () => {
  const grid = (cells: [number, number][], n = 200) => {
    const x = new Float32Array(n * n);
    for (const [r, c] of cells) x[r * n + c] = 1;
    return x;
  };
  const cellsOf = (x: ArrayLike<number>, n = 200, offset = 0) => {
    const out: number[][] = [];
    for (let i = 0; i < n * n; i++) if (x[offset + i] !== 0) out.push([Math.floor(i / n), i % n]);
    return out;
  };

  it('moves a past frame by a known translation: the ego drove 1 m forward, so the world moves 2 rows back', () => {
    const motion = [-1, 0, 0, 0, 0, 0]; // egomotion t → t+1 of a 1 m forward drive
    expect(cellsOf(warpFeatures(grid([[120, 90]]), 1, 200, 200, motion, [50, 50]))).toEqual([[118, 90]]);
    // A reference quirk, kept: the lateral translation is not negated, so a 1 m drive to the left (ty = −1)
    // moves the world 2 columns LEFT (col 0 is 50 m to the right), where physics would move it right.
    expect(cellsOf(warpFeatures(grid([[120, 90]]), 1, 200, 200, [0, -1, 0, 0, 0, 0], [50, 50]))).toEqual([
      [120, 92],
    ]);
  });

  it('rotates by a known yaw about the grid centre', () => {
    // A quarter turn on an 8 × 8 grid: output(i, j) = input(j, 7 − i).
    const x = grid([[1, 5]], 8);
    expect(cellsOf(warpFeatures(x, 1, 8, 8, [0, 0, 0, 0, 0, Math.PI / 2], [50, 50]), 8)).toEqual([[2, 1]]);
    // Four quarter turns come back.
    let y = x;
    for (let k = 0; k < 4; k++) y = warpFeatures(y, 1, 8, 8, [0, 0, 0, 0, 0, Math.PI / 2], [50, 50]);
    expect(cellsOf(y, 8)).toEqual([[1, 5]]);
  });

  it('pads with zeros (even for 255-valued offsets) where the source falls off the grid', () => {
    const x = new Float32Array(200 * 200).fill(255);
    const w = warpFeatures(x, 1, 200, 200, [-1, 0, 0, 0, 0, 0], [50, 50]);
    expect(w[199 * 200 + 5]).toBe(0);
    expect(w[197 * 200 + 5]).toBe(255);
  });

  it('accumulates past frames into the present and future frames back into it', () => {
    // Three past frames of a parked object while the ego drives 1 m per frame.
    const motion = new Float32Array([-1, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0]);
    const past = new Float32Array(3 * 40000);
    past.set(grid([[124, 100]]), 0);
    past.set(grid([[122, 100]]), 40000);
    past.set(grid([[120, 100]]), 80000);
    const warped = cumulativeWarpFeatures(
      { data: past, frames: 3, channels: 1, rows: 200, cols: 200 },
      motion,
      [50, 50],
    );
    for (let t = 0; t < 3; t++) expect(cellsOf(warped.data, 200, t * 40000)).toEqual([[120, 100]]);
    const future = new Float32Array(3 * 40000);
    future.set(grid([[120, 100]]), 0);
    future.set(grid([[118, 100]]), 40000);
    future.set(grid([[116, 100]]), 80000);
    const back = cumulativeWarpFeaturesReverse(
      { data: future, frames: 3, channels: 1, rows: 200, cols: 200 },
      motion,
      [50, 50],
    );
    for (let t = 0; t < 3; t++) expect(cellsOf(back.data, 200, t * 40000)).toEqual([[120, 100]]);
  });

  it('warpToPresent keeps the present frame and returns one frame per input frame', () => {
    const motion = new Float32Array(5 * 6);
    for (let t = 0; t < 5; t++) motion[6 * t] = -1;
    const x = new Uint8Array(5 * 40000);
    const rows = [124, 122, 120, 118, 116];
    rows.forEach((r, t) => {
      x[t * 40000 + r * 200 + 100] = 1;
    });
    const w = warpToPresent({ data: x, frames: 5, channels: 1, rows: 200, cols: 200 }, motion, 3, [50, 50]);
    expect(w.data).toBeInstanceOf(Uint8Array);
    for (let t = 0; t < 5; t++) expect(cellsOf(w.data, 200, t * 40000)).toEqual([[120, 100]]);
    try {
      warpToPresent({ data: x, frames: 5, channels: 1, rows: 200, cols: 200 }, motion, 6, [50, 50]);
      expect.unreachable();
    } catch (error) {
      expect(isSpikedriveError(error)).toBe(true);
    }
  });
});
