import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ALL_MESSAGES,
  CAN_BLACKLIST,
  type CanPoseMessage,
  canBusFromEgoPoses,
  isCanBlacklisted,
  locateMessage,
  NuScenesCanBus,
  ROUTE_BLACKLIST,
} from '../../../data-loaders/nuscenes/canbus/index.ts';
import { Quaternion } from '../../../data-loaders/nuscenes/geometry/index.ts';
import { NuScenes } from '../../../data-loaders/nuscenes/nuscenes.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixtureRoot = join(here, '..', '..', 'fixtures', 'nuscenes');
const tmp = mkdtempSync(join(tmpdir(), 'canbus-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function pose(utime: number, vx: number, x = 0, y = 0): CanPoseMessage {
  return {
    utime,
    pos: [x, y, 0],
    orientation: [1, 0, 0, 0],
    vel: [vx, 0.1, 0],
    accel: [0, 0, 9.81],
    rotation_rate: [0, 0, 0.02],
  };
}

/** A dataroot with can_bus/ holding the given files (name → JSON value or raw text). */
function canRoot(files: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmp, 'root-'));
  mkdirSync(join(root, 'can_bus'));
  for (const [name, value] of Object.entries(files)) {
    writeFileSync(join(root, 'can_bus', name), typeof value === 'string' ? value : JSON.stringify(value));
  }
  return root;
}

function caught(fn: () => unknown): SpikedriveError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SpikedriveError) return error;
    throw error;
  }
  throw new Error('expected a SpikedriveError');
}

describe("locateMessage (SAD's nearest-message rule)", () => {
  const utimes = [100, 200, 300];
  it('picks the nearest time, the later one on a tie, and clamps outside the range', () => {
    expect(locateMessage(utimes, 140)).toBe(0);
    expect(locateMessage(utimes, 150)).toBe(1); // tie → later message
    expect(locateMessage(utimes, 151)).toBe(1);
    expect(locateMessage(utimes, 200)).toBe(1);
    expect(locateMessage(utimes, 249)).toBe(1);
    expect(locateMessage(utimes, 50)).toBe(0);
    expect(locateMessage(utimes, 1e9)).toBe(2);
    expect(locateMessage([7], 0)).toBe(0);
    expect(() => locateMessage([], 0)).toThrow(RangeError);
  });
});

describe('NuScenesCanBus', () => {
  const poses = [pose(1_000_000, 5), pose(1_020_000, 5.5), pose(1_040_000, 6)];
  const steer = [
    { utime: 1_000_000, value: 0.1 },
    { utime: 1_010_000, value: 0.2 },
    { utime: 1_020_000, value: -0.3 },
  ];

  it('reads typed pose and steering messages and finds the one nearest a sample time', () => {
    const can = new NuScenesCanBus({
      dataroot: canRoot({ 'scene-0061_pose.json': poses, 'scene-0061_steeranglefeedback.json': steer }),
    });
    const messages = can.getMessages('scene-0061', 'pose');
    expect(messages).toHaveLength(3);
    expect(messages[1].vel[0]).toBe(5.5);
    expect(can.getMessageNearest('scene-0061', 'pose', 1_029_999).utime).toBe(1_020_000);
    expect(can.getMessageNearest('scene-0061', 'pose', 1_030_000).utime).toBe(1_040_000); // tie → later
    expect(can.getMessageNearest('scene-0061', 'steeranglefeedback', 1_014_000).value).toBe(0.2);
    const state = can.getSadEgoState('scene-0061', 1_016_000);
    expect(state.v0Mps).toBe(5.5);
    expect(state.steeringRad).toBe(-0.3);
    expect(state.pose.utime).toBe(1_020_000);
    // No range check, as SAD: far outside the recording gives the last message.
    expect(can.getSadEgoState('scene-0061', 9e15).v0Mps).toBe(6);
  });

  it('refuses blacklisted scenes even when files exist', () => {
    const root = canRoot({ 'scene-0161_pose.json': poses });
    const error = caught(() => new NuScenesCanBus({ dataroot: root }).getMessages('scene-0161', 'pose'));
    expect(error.message).toBe('scene-0161 does not have any CAN bus data');
    expect(error.fix).toMatch(/blacklist/);
    expect(CAN_BLACKLIST).toEqual([
      161, 162, 163, 164, 165, 166, 167, 168, 170, 171, 172, 173, 174, 175, 176, 309, 310, 311, 312, 313, 314,
    ]);
    expect(isCanBlacklisted('scene-0169')).toBe(false);
    expect(isCanBlacklisted(313)).toBe(true);
  });

  it('names a missing file and says how to get it', () => {
    const root = canRoot({});
    const error = caught(() => new NuScenesCanBus({ dataroot: root }).getMessages('scene-0061', 'ms_imu'));
    expect(error.message).toBe(`CAN bus file not found: ${join(root, 'can_bus', 'scene-0061_ms_imu.json')}`);
    expect(error.fix).toMatch(/nuscenes.org\/download/);
  });

  it('needs the can_bus folder, a scene-NNNN name and a known message', () => {
    const bare = mkdtempSync(join(tmp, 'bare-'));
    expect(caught(() => new NuScenesCanBus({ dataroot: bare })).message).toBe(
      `CAN bus directory not found: ${join(bare, 'can_bus')}`,
    );
    const can = new NuScenesCanBus({ dataroot: canRoot({}) });
    expect(() => can.getMessages('scene-61', 'pose')).toThrow(/not a nuScenes scene name/);
    // @ts-expect-error: not a message name
    expect(caught(() => can.getMessages('scene-0061', 'gps')).fix).toContain(ALL_MESSAGES.join(', '));
  });

  it('checks every message against its type and names the bad field', () => {
    const noVel = poses.map(({ vel: _vel, ...rest }) => rest);
    const can = new NuScenesCanBus({
      dataroot: canRoot({
        'scene-0061_pose.json': noVel,
        'scene-0062_pose.json': '[{"utime": 1, "pos": [0, 0',
        'scene-0063_route.json': [[1, 2], [3]],
        'scene-0064_steeranglefeedback.json': [
          { utime: 2, value: 1 },
          { utime: 1, value: 2 },
        ],
      }),
    });
    expect(caught(() => can.getMessages('scene-0061', 'pose')).message).toMatch(/field 0\.vel is invalid/);
    expect(caught(() => can.getMessages('scene-0062', 'pose')).message).toMatch(/is not valid JSON/);
    expect(caught(() => can.getMessages('scene-0063', 'route')).message).toMatch(/field 1/);
    // Out-of-order times would make the nearest-message search silently wrong.
    expect(caught(() => can.getMessageNearest('scene-0064', 'steeranglefeedback', 1)).message).toMatch(
      /message 1 \(utime 1\) is earlier than the one before it/,
    );
  });

  it('warns for misaligned routes and scene-0419 vehicle_monitor, unless asked not to', () => {
    const warnings: string[] = [];
    const monitor = [
      {
        utime: 5,
        available_distance: 120,
        battery_level: 80,
        brake: 0,
        brake_switch: 1,
        gear_position: 7,
        left_signal: 0,
        rear_left_rpm: 300,
        rear_right_rpm: 301,
        right_signal: 0,
        steering: -12.5,
        steering_speed: 0,
        throttle: 120,
        vehicle_speed: 21.6,
        yaw_rate: 0.3,
      },
    ];
    const can = new NuScenesCanBus({
      dataroot: canRoot({ 'scene-0071_route.json': [[0, 0]], 'scene-0419_vehicle_monitor.json': monitor }),
      onWarning: (m) => warnings.push(m),
    });
    expect(ROUTE_BLACKLIST).toContain(71);
    can.getMessages('scene-0071', 'route');
    expect(can.getMessages('scene-0419', 'vehicle_monitor')[0].vehicle_speed).toBe(21.6);
    can.getMessages('scene-0071', 'route', { warnings: false });
    expect(warnings).toEqual([
      'scene-0071 is not well aligned with the baseline route',
      'scene-0419 does not have any vehicle_monitor messages',
    ]);
  });

  it('lower-cases meta keys, reads Python NaN, and gives per-message statistics', () => {
    const meta =
      '{"POSE": {"message_count": 1000, "message_freq": 50.0, "timespan": 19.98, "var_stats": {"vel": NaN}},' +
      ' "Ms_Imu": {"message_count": 2000, "message_freq": 100.0, "timespan": 19.99, "var_stats": {"note": "NaN stays text"}}}';
    const can = new NuScenesCanBus({ dataroot: canRoot({ 'scene-0061_meta.json': meta }) });
    const all = can.getMessages('scene-0061', 'meta');
    expect(Object.keys(all)).toEqual(['pose', 'ms_imu']);
    expect(all.pose.var_stats.vel).toBeNaN();
    expect(all.ms_imu.var_stats.note).toBe('NaN stays text');
    expect(can.getMessageStats('scene-0061', 'ms_imu').message_freq).toBe(100);
    expect(() => can.getMessageStats('scene-0061', 'zoesensors')).toThrow(/no statistics for zoesensors/);
  });

  it('measures route misalignment as the devkit (largest pose-to-route distance)', () => {
    const route = Array.from({ length: 101 }, (_, i) => [i, 0]);
    const near = [pose(1, 5, 10, 3), pose(2, 5, 50, -4)]; // 4 m off at worst
    const far = [pose(1, 5, 10, 1), pose(2, 5, 60, 7)]; // 7 m off at worst
    const files = {
      'scene-0001_route.json': route,
      'scene-0001_pose.json': near,
      'scene-0002_route.json': route,
      'scene-0002_pose.json': far,
      'scene-0003_route.json': [], // no route (about 3 % of real scenes): skipped
      'scene-0003_pose.json': far,
      'notes.txt': 'not a scene file',
    };
    const root = canRoot(files);
    const can = new NuScenesCanBus({ dataroot: root });
    expect(can.routeMisalignmentM('scene-0001')).toBeCloseTo(4, 12);
    expect(can.routeMisalignmentM('scene-0002')).toBeCloseTo(7, 12);
    expect(can.listScenes()).toEqual(['scene-0001', 'scene-0002', 'scene-0003']);
    expect(can.listMisalignedRoutes()).toEqual(['scene-0002']);
    expect(can.listMisalignedRoutes(3)).toEqual(['scene-0001', 'scene-0002']);
    expect(can.getPoseAndRoute('scene-0001').pose).toEqual([
      [10, 3],
      [50, -4],
    ]);
    // A custom threshold recomputes the route blacklist (the devkit's precomputed list is for 5 m).
    expect(new NuScenesCanBus({ dataroot: root, maxMisalignmentM: 3 }).routeBlacklist).toEqual([1, 2]);
  });

  it('gives a key over time for plots, by component or norm', () => {
    const can = new NuScenesCanBus({ dataroot: canRoot({ 'scene-0061_pose.json': poses }) });
    const speed = can.getMessageSeries('scene-0061', 'pose', 'vel', 0);
    expect([...speed.timesS]).toEqual([0, 0.02, 0.04]);
    expect([...speed.values]).toEqual([5, 5.5, 6]);
    expect(can.getMessageSeries('scene-0061', 'pose', 'accel', 'norm').values[0]).toBeCloseTo(9.81, 12);
    expect(() => can.getMessageSeries('scene-0061', 'pose', 'vel')).toThrow(/3 components/);
    expect(() => can.getMessageSeries('scene-0061', 'pose', 'speed')).toThrow(/no numeric key 'speed'/);
  });

  it('caches parsed files and re-reads them after clearCache', () => {
    const root = canRoot({ 'scene-0061_steeranglefeedback.json': steer });
    const can = new NuScenesCanBus({ dataroot: root });
    const first = can.getMessages('scene-0061', 'steeranglefeedback');
    expect(can.getMessages('scene-0061', 'steeranglefeedback')).toBe(first);
    writeFileSync(
      join(root, 'can_bus', 'scene-0061_steeranglefeedback.json'),
      JSON.stringify(steer.slice(0, 1)),
    );
    expect(can.getMessages('scene-0061', 'steeranglefeedback')).toHaveLength(3);
    can.clearCache();
    expect(can.getMessages('scene-0061', 'steeranglefeedback')).toHaveLength(1);
  });
});

describe('canBusFromEgoPoses', () => {
  // A circle of radius 120 m driven at 6 m/s (yaw rate 0.05 rad/s), poses every 0.5 s.
  const radius = 120;
  const egoPoses = Array.from({ length: 9 }, (_, i) => {
    const yaw = 0.3 + 0.025 * i;
    return {
      timestamp: 1_532_402_927_647_951 + i * 500_000,
      translation: [radius * Math.sin(yaw), -radius * Math.cos(yaw), 0],
      rotation: Quaternion.fromYaw(yaw).elements,
    };
  });

  it('gives messages that agree with the ego motion', () => {
    const can = canBusFromEgoPoses(egoPoses);
    expect(can.pose).toHaveLength(201); // 4 s at 50 Hz, both ends included
    expect(can.steeranglefeedback).toHaveLength(401);
    const mid = can.pose[100];
    expect(mid.utime).toBe(egoPoses[4].timestamp);
    expect(mid.pos[0]).toBeCloseTo(egoPoses[4].translation[0], 9);
    expect(mid.vel[0]).toBeCloseTo(6, 2); // forward speed
    expect(mid.vel[1]).toBeCloseTo(0, 2);
    expect(mid.accel[1]).toBeCloseTo(6 ** 2 / radius, 2); // centripetal, to the left
    expect(mid.accel[2]).toBeCloseTo(9.81, 6); // an accelerometer's reading of gravity on flat ground
    expect(mid.rotation_rate[2]).toBeCloseTo(0.05, 4); // slerp turns into nlerp for small angles (pyquaternion)
    // Steering-wheel angle: ratio 14.5 × road-wheel angle atan(wheelbase 2.588 m / radius).
    expect(can.steeranglefeedback[200].value).toBeCloseTo(14.5 * Math.atan(2.588 / radius), 4);
    expect(canBusFromEgoPoses(egoPoses, { steeringRatio: 1 }).steeranglefeedback[200].value).toBeCloseTo(
      Math.atan(2.588 / radius),
      5,
    );
    expect(can.meta.pose.message_count).toBe(201);
    expect(can.route.length).toBeGreaterThan(100 + 24);
    expect(() => canBusFromEgoPoses(egoPoses.slice(0, 1))).toThrow(SpikedriveError);
  });
});

describe('fixture can_bus/ with the NuScenes class', () => {
  const nusc = new NuScenes({ version: 'v1.0-mini', dataroot: fixtureRoot, verbose: false });
  const can = new NuScenesCanBus({ dataroot: fixtureRoot });

  it.each(nusc.scenes.map((s) => [s.name, s.token]))(
    '%s has pose, steering, route and meta files',
    (name) => {
      for (const message of ['pose', 'steeranglefeedback', 'route', 'meta'] as const) {
        expect(existsSync(join(fixtureRoot, 'can_bus', `${name}_${message}.json`))).toBe(true);
      }
      expect(can.routeMisalignmentM(name)).toBeLessThan(5);
    },
  );

  it("gives SAD's v0 at every keyframe, agreeing with the ego poses", () => {
    for (const scene of nusc.scenes) {
      let sample = nusc.firstSample(scene.token);
      for (;;) {
        const state = can.getSadEgoState(scene.name, sample.timestamp);
        expect(Math.abs(state.pose.utime - sample.timestamp)).toBeLessThanOrEqual(10_000); // 50 Hz
        expect(Math.abs(state.steer.utime - sample.timestamp)).toBeLessThanOrEqual(5_000); // 100 Hz
        if (sample.next === '') break;
        const next = nusc.get('sample', sample.next);
        // Speed between consecutive LIDAR_TOP keyframe poses, against pose.vel[0] at either end.
        const a = nusc.egoPoseOf(sample.data.LIDAR_TOP ?? '');
        const b = nusc.egoPoseOf(next.data.LIDAR_TOP ?? '');
        const speed = Math.hypot(b.translation[0] - a.translation[0], b.translation[1] - a.translation[1]);
        const speedMps = speed / ((b.timestamp - a.timestamp) * 1e-6);
        expect(Math.abs(state.v0Mps - speedMps)).toBeLessThan(0.5);
        sample = next;
      }
    }
  });
});
