// CAN bus expansion files of a synthetic scene, derived from the simulated ego motion so they agree with the
// ego poses: pose (50 Hz: pos, orientation, vel in the ego frame, accel with gravity, rotation_rate),
// steeranglefeedback (100 Hz, steering-wheel angle in rad, positive = left), ms_imu (100 Hz),
// vehicle_monitor (2 Hz), route (the planned path) and meta (message statistics).
import { EGO_WHEELBASE_M, egoStateAt, type SimulationResult } from './traffic.ts';

/** Steering-wheel turns per road-wheel turn of the car (Renault Zoe–like; not published by nuScenes). */
export const STEERING_RATIO = 14.5;
const GRAVITY = 9.81;

export interface CanBusFiles {
  pose: unknown[];
  steeranglefeedback: unknown[];
  ms_imu: unknown[];
  vehicle_monitor: unknown[];
  route: Array<[number, number]>;
  meta: Record<string, unknown>;
}

/** Times from `from` to `to` (inclusive, to a µs) every `step` s, without accumulating rounding error. */
function times(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let i = 0; from + i * step <= to + 1e-9; i++) out.push(from + i * step);
  return out;
}

const r = (v: number, digits = 6) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

/** The steering-wheel angle (rad, + left) that a kinematic bicycle needs for a path curvature. */
export function steeringForCurvature(curvature: number): number {
  return STEERING_RATIO * Math.atan(EGO_WHEELBASE_M * curvature);
}

/**
 * CAN messages from `fromS` to `toS` (seconds relative to the first keyframe), timestamps in µs from
 * `firstKeyframeUs`. Positions are the ego poses' (rear axle, global frame).
 */
export function buildCanBus(
  sim: SimulationResult,
  firstKeyframeUs: number,
  fromS: number,
  toS: number,
  routeStepS = 0.1,
): CanBusFiles {
  const utime = (t: number) => firstKeyframeUs + Math.round(t * 1e6);
  const pose: unknown[] = [];
  for (const t of times(fromS, toS, 0.02)) {
    const s = egoStateAt(sim, t);
    const yawRate = s.speed * s.curvature;
    pose.push({
      accel: [r(s.accel), r(s.speed * s.speed * s.curvature), GRAVITY],
      orientation: [r(Math.cos(s.yaw / 2), 9), 0, 0, r(Math.sin(s.yaw / 2), 9)],
      pos: [r(s.x), r(s.y), 0],
      rotation_rate: [0, 0, r(yawRate)],
      utime: utime(t),
      vel: [r(s.speed), 0, 0],
    });
  }
  const steeranglefeedback: unknown[] = [];
  const msImu: unknown[] = [];
  for (const t of times(fromS, toS, 0.01)) {
    const s = egoStateAt(sim, t);
    steeranglefeedback.push({ utime: utime(t), value: r(steeringForCurvature(s.curvature)) });
    msImu.push({
      linear_accel: [r(s.accel), r(s.speed * s.speed * s.curvature), GRAVITY],
      q: [r(Math.cos(s.yaw / 2), 9), 0, 0, r(Math.sin(s.yaw / 2), 9)],
      rotation_rate: [0, 0, r(s.speed * s.curvature)],
      utime: utime(t),
    });
  }
  const vehicleMonitor: unknown[] = [];
  for (const t of times(fromS, toS, 0.5)) {
    const s = egoStateAt(sim, t);
    const steeringDeg = (steeringForCurvature(s.curvature) * 180) / Math.PI;
    vehicleMonitor.push({
      available_distance: 120,
      battery_level: 80,
      brake: s.accel < -0.5 ? Math.min(126, Math.round(-s.accel * 10)) : 0,
      brake_switch: s.accel < -0.5 ? 2 : 1,
      gear_position: 7,
      left_signal: 0,
      rear_left_rpm: r((s.speed / (2 * Math.PI * 0.3)) * 60, 2),
      rear_right_rpm: r((s.speed / (2 * Math.PI * 0.3)) * 60, 2),
      right_signal: 0,
      steering: Math.round(steeringDeg * 10) / 10,
      steering_speed: 0,
      throttle: s.accel > 0.1 ? Math.min(1000, Math.round(s.accel * 200)) : 0,
      utime: utime(t),
      vehicle_speed: r(s.speed * 3.6, 2),
      yaw_rate: r((s.speed * s.curvature * 180) / Math.PI, 1),
    });
  }
  const route: Array<[number, number]> = [];
  for (const t of times(fromS, toS, routeStepS)) {
    const s = egoStateAt(sim, t);
    route.push([r(s.x, 3), r(s.y, 3)]);
  }
  const stats = (messages: unknown[], rateHz: number) => ({
    message_count: messages.length,
    message_freq: rateHz,
    timespan: r(toS - fromS, 3),
  });
  return {
    pose,
    steeranglefeedback,
    ms_imu: msImu,
    vehicle_monitor: vehicleMonitor,
    route,
    meta: {
      ms_imu: stats(msImu, 100),
      pose: stats(pose, 50),
      steeranglefeedback: stats(steeranglefeedback, 100),
      vehicle_monitor: stats(vehicleMonitor, 2),
    },
  };
}
