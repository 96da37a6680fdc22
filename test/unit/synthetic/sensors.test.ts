// The synthetic sensors on constructed scenes: lidar returns (frame, ground height, counts that the devkit's
// points_in_box reproduces, occlusion), visibility tokens from real occlusion in the camera renderer, and the
// CAN bus agreeing with the ego motion.
import { describe, expect, it } from 'vitest';
import {
  Box,
  multiplyMatrices,
  pointsInBox,
  Quaternion,
  transformMatrix,
} from '../../../data-loaders/nuscenes/index.ts';
import { buildCanBus, steeringForCurvature } from '../../../data-loaders/synthetic/canbus.ts';
import { visibilityToken } from '../../../data-loaders/synthetic/classes.ts';
import { castLidarSweep, type LidarBox } from '../../../data-loaders/synthetic/lidar.ts';
import type { GroundRaster } from '../../../data-loaders/synthetic/render/index.ts';
import { renderCamera } from '../../../data-loaders/synthetic/render/index.ts';
import { sumCameraCounts } from '../../../data-loaders/synthetic/render-job.ts';
import { RIG_CAMERAS, RIG_LIDAR, scaledIntrinsic } from '../../../data-loaders/synthetic/rig.ts';
import { EGO_WHEELBASE_M, type SimulationResult } from '../../../data-loaders/synthetic/traffic.ts';

const lidarToEgo = transformMatrix(RIG_LIDAR.translation, Quaternion.fromArray(RIG_LIDAR.rotation));
const egoBody = { xMin: -0.6, xMax: 3.4, halfWidth: 0.93 };

function sweep(boxes: LidarBox[]) {
  return castLidarSweep({
    sensorToGlobal: lidarToEgo, // ego at the origin, heading east
    sensorToEgo: lidarToEgo,
    boxes,
    groundIntensity: () => 10,
    egoBody,
  });
}

describe('lidar sweep', () => {
  it('sees the flat ground 1.84 m below the sensor, in the LIDAR_TOP frame (x right, y forward)', () => {
    const { points, count } = sweep([]);
    expect(count).toBeGreaterThan(15000);
    let ahead = 0;
    let worstNearZ = 0;
    let maxRing = 0;
    for (let i = 0; i < count; i++) {
      const z = points[i * 5 + 2];
      // The sensor is tilted by ~1° in the real calibration: nearby ground lies within cm of z = −1.84.
      const range = Math.hypot(points[i * 5], points[i * 5 + 1]);
      if (range < 15) worstNearZ = Math.max(worstNearZ, Math.abs(z + 1.84));
      if (points[i * 5 + 1] > 10 && Math.abs(points[i * 5]) < 1) ahead++;
      maxRing = Math.max(maxRing, points[i * 5 + 4]);
    }
    expect(worstNearZ).toBeLessThan(0.35);
    expect(maxRing).toBeLessThan(32);
    expect(ahead).toBeGreaterThan(10);
  });

  it('counts the returns of each box exactly as points_in_box does, and a hidden box gets none', () => {
    const car: LidarBox = { id: 1, center: [15, 0, 0.8], wlh: [1.9, 4.5, 1.6], yaw: 0.3, intensity: 40 };
    const hidden: LidarBox = { id: 2, center: [22, 0, 0.6], wlh: [1.6, 2, 1.2], yaw: 0, intensity: 40 };
    const side: LidarBox = { id: 3, center: [5, 8, 0.9], wlh: [0.7, 0.7, 1.8], yaw: 1, intensity: 14 };
    const result = sweep([car, hidden, side]);
    expect(result.hitsPerBox.get(1)).toBeGreaterThan(100);
    expect(result.hitsPerBox.get(2) ?? 0).toBe(0);
    expect(result.hitsPerBox.get(3)).toBeGreaterThan(20);
    // The devkit's check: the box moved into the lidar frame, points_in_box over the stored points.
    const rows = [0, 1, 2].map((r) =>
      Float64Array.from({ length: result.count }, (_, i) => result.points[i * 5 + r]),
    );
    const globalToLidar = transformMatrix(
      RIG_LIDAR.translation,
      Quaternion.fromArray(RIG_LIDAR.rotation),
      true,
    );
    for (const b of [car, side]) {
      const rotation = Quaternion.fromMatrix(globalToLidar);
      const inLidar = new Box(
        [0, 1, 2].map(
          (r) =>
            globalToLidar[r][0] * b.center[0] +
            globalToLidar[r][1] * b.center[1] +
            globalToLidar[r][2] * b.center[2] +
            globalToLidar[r][3],
        ),
        b.wlh,
        rotation.multiply(Quaternion.fromYaw(b.yaw)),
      );
      const count = pointsInBox(inLidar, rows).filter(Boolean).length;
      expect(count).toBe(result.hitsPerBox.get(b.id));
    }
  });
});

describe('visibility from camera occlusion', () => {
  // A plain grey ground; the ego at the origin heading east; CAM_FRONT at a fifth of full size.
  const ground: GroundRaster = {
    originXM: -100,
    originYM: -100,
    resolutionM: 0.5,
    width: 400,
    height: 400,
    rgb: new Uint8Array(400 * 400 * 3).fill(90),
  };
  const front = RIG_CAMERAS[0];
  const view = {
    width: 320,
    height: 180,
    intrinsic: scaledIntrinsic(front.intrinsic, 0.2),
    cameraToGlobal: multiplyMatrices(
      transformMatrix([0, 0, 0], new Quaternion()),
      transformMatrix(front.translation, Quaternion.fromArray(front.rotation)),
    ),
  };
  const cuboid = (id: number, x: number, y: number, h = 1.6) => ({
    id,
    center: [x, y, h / 2] as [number, number, number],
    wlh: [1.9, 4.5, h] as [number, number, number],
    rotation: Quaternion.fromYaw(0),
    colorRgb: [50, 90, 180] as [number, number, number],
  });
  const tokenOf = (cuboids: ReturnType<typeof cuboid>[], id: number) => {
    const render = renderCamera(view, { ground, cuboids });
    const counts: Array<[number, number, number]> = [...render.unoccludedPixels].map(([k, u]) => [
      k,
      render.visiblePixels.get(k) ?? 0,
      u,
    ]);
    const [visible, unoccluded] = sumCameraCounts([{ counts }]).get(id) ?? [0, 0];
    return visibilityToken(unoccluded > 0 ? visible / unoccluded : 0);
  };

  it("gives '1' to a car fully hidden behind a truck and '4' to cars side by side", () => {
    const truck = { ...cuboid(1, 12, 0, 3.4), wlh: [2.6, 8, 3.4] as [number, number, number] };
    expect(tokenOf([truck, cuboid(2, 25, 0, 1.5)], 2)).toBe('1');
    expect(tokenOf([cuboid(1, 20, -2.5), cuboid(2, 20, 2.5)], 1)).toBe('4');
    expect(tokenOf([cuboid(1, 20, -2.5), cuboid(2, 20, 2.5)], 2)).toBe('4');
  });

  it('bins a half-covered car into 40–60 % or 60–80 %, and an unseen one into 0–40 %', () => {
    const blocker = { ...cuboid(1, 12, -1.2, 2.6), wlh: [1.9, 4.5, 2.6] as [number, number, number] };
    expect(['2', '3']).toContain(tokenOf([blocker, cuboid(2, 24, 0)], 2));
    expect(tokenOf([cuboid(2, -20, 0)], 2)).toBe('1'); // behind the camera
    expect(visibilityToken(0.39)).toBe('1');
    expect(visibilityToken(0.4)).toBe('2');
    expect(visibilityToken(0.6)).toBe('3');
    expect(visibilityToken(0.8)).toBe('4');
  });
});

describe('CAN bus', () => {
  // A constant-speed ego on a left arc of radius 20 m.
  const steps = 200;
  const dt = 0.05;
  const speed = 6;
  const radius = 20;
  const ego = {
    x: new Float64Array(steps),
    y: new Float64Array(steps),
    yaw: new Float64Array(steps),
    speed: new Float64Array(steps).fill(speed),
    accel: new Float64Array(steps),
    curvature: new Float64Array(steps).fill(1 / radius),
  };
  for (let k = 0; k < steps; k++) {
    const angle = (speed * k * dt) / radius;
    ego.x[k] = radius * Math.sin(angle);
    ego.y[k] = radius * (1 - Math.cos(angle));
    ego.yaw[k] = angle;
  }
  const sim: SimulationResult = { dtS: dt, startS: -1, stepCount: steps, agents: [], ego, egoTurns: [] };
  const can = buildCanBus(sim, 1_500_000_000_000_000, -0.5, 5);

  it('writes pose at 50 Hz and steering at 100 Hz with integer µs times', () => {
    const pose = can.pose as Array<{ utime: number; vel: number[]; pos: number[]; rotation_rate: number[] }>;
    const steer = can.steeranglefeedback as Array<{ utime: number; value: number }>;
    expect(pose.length).toBe(276);
    expect(steer.length).toBe(551);
    expect(pose[1].utime - pose[0].utime).toBe(20_000);
    expect(steer[1].utime - steer[0].utime).toBe(10_000);
    expect(Number.isInteger(pose[10].utime)).toBe(true);
  });

  it('agrees with the ego motion: forward speed, yaw rate v/R, left steering for a left turn, positions', () => {
    const pose = can.pose as Array<{ utime: number; vel: number[]; pos: number[]; rotation_rate: number[] }>;
    for (const m of pose) {
      expect(m.vel[0]).toBeCloseTo(speed, 6);
      expect(m.rotation_rate[2]).toBeCloseTo(speed / radius, 6);
    }
    // Speed from consecutive positions matches vel[0] (chord of the arc, 0.02 s apart).
    const a = pose[100].pos;
    const b = pose[101].pos;
    expect(Math.hypot(b[0] - a[0], b[1] - a[1]) / 0.02).toBeCloseTo(speed, 2);
    const steer = can.steeranglefeedback as Array<{ value: number }>;
    expect(steer[0].value).toBeGreaterThan(0);
    expect(steer[0].value).toBeCloseTo(steeringForCurvature(1 / radius), 6);
    expect(steeringForCurvature(1 / radius)).toBeCloseTo(14.5 * Math.atan(EGO_WHEELBASE_M / radius), 9);
  });
});
