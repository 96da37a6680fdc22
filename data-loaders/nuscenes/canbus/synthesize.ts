import { SpikedriveError } from '../../../src/util/index.ts';
import { Quaternion } from '../geometry/index.ts';
import type { QuaternionWxyz, Vec3 } from '../types.ts';
import type {
  CanMessageStats,
  CanMeta,
  CanPoseMessage,
  CanRoutePoint,
  CanSteerAngleFeedbackMessage,
} from './messages.ts';

/** The fields of an ego_pose record that CAN synthesis reads. */
export interface EgoPoseSample {
  /** Microseconds. */
  timestamp: number;
  translation: readonly number[];
  /** [w, x, y, z]. */
  rotation: readonly number[];
}

export interface CanBusFromEgoPosesOptions {
  /** `pose` rate (real data: 50 Hz). */
  poseRateHz?: number;
  /** `steeranglefeedback` rate (real data: 100 Hz). */
  steerRateHz?: number;
  /** How far the messages extend before the first and after the last pose, µs (held at constant velocity). */
  marginUs?: number;
  /** Wheelbase of the nuScenes car (Renault Zoe), metres; SAD's 2.588. */
  wheelbaseM?: number;
  /** Steering-wheel turns per road-wheel turn (not published by nuScenes; a Zoe-like 14.5). */
  steeringRatio?: number;
  /**
   * Added to the global z acceleration before it is turned into the ego frame, as an accelerometer reads
   * it (pose.accel z ≈ 9.8 at rest in the expansion's files). 0 gives the kinematic acceleration.
   */
  gravityMps2?: number;
  /** Route extension before the first and after the last pose, metres (real routes: about 50 m). */
  routeExtensionM?: number;
  /** Spacing of route points, metres. */
  routeSpacingM?: number;
}

/** CAN bus messages consistent with a trajectory; write each list to `<scene>_<name>.json`. */
export interface SynthesizedCanBus {
  pose: CanPoseMessage[];
  steeranglefeedback: CanSteerAngleFeedbackMessage[];
  route: CanRoutePoint[];
  meta: CanMeta;
}

/** Index of the segment [i, i+1] holding t (binary search), clamped to the first and last segments. */
function segmentAt(poses: readonly EgoPoseSample[], t: number): number {
  let lo = 0;
  let hi = poses.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (poses[mid].timestamp <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * A smooth path through the poses: cubic Hermite positions with Catmull–Rom tangents (so velocity is
 * continuous and the ego-frame velocity stays forward on curves), rotations slerped per segment, and
 * straight-line extrapolation beyond the ends. Times in microseconds, velocities in m/s.
 */
class PoseTrack {
  readonly #poses: readonly EgoPoseSample[];
  /** Tangent (m/s) at each pose. */
  readonly #tangents: Vec3[];

  constructor(poses: readonly EgoPoseSample[]) {
    this.#poses = poses;
    const n = poses.length;
    this.#tangents = poses.map((_, i) => {
      const a = poses[Math.max(0, i - 1)];
      const b = poses[Math.min(n - 1, i + 1)];
      const dt = (b.timestamp - a.timestamp) * 1e-6;
      return [0, 1, 2].map((k) => (b.translation[k] - a.translation[k]) / dt) as Vec3;
    });
  }

  position(t: number): Vec3 {
    const poses = this.#poses;
    const last = poses.length - 1;
    if (t <= poses[0].timestamp || t >= poses[last].timestamp) {
      const i = t <= poses[0].timestamp ? 0 : last;
      const dt = (t - poses[i].timestamp) * 1e-6;
      return [0, 1, 2].map((k) => poses[i].translation[k] + dt * this.#tangents[i][k]) as Vec3;
    }
    const i = segmentAt(poses, t);
    const span = (poses[i + 1].timestamp - poses[i].timestamp) * 1e-6;
    const s = ((t - poses[i].timestamp) * 1e-6) / span;
    const h00 = 2 * s ** 3 - 3 * s ** 2 + 1;
    const h10 = s ** 3 - 2 * s ** 2 + s;
    const h01 = -2 * s ** 3 + 3 * s ** 2;
    const h11 = s ** 3 - s ** 2;
    return [0, 1, 2].map(
      (k) =>
        h00 * poses[i].translation[k] +
        h10 * span * this.#tangents[i][k] +
        h01 * poses[i + 1].translation[k] +
        h11 * span * this.#tangents[i + 1][k],
    ) as Vec3;
  }

  velocity(t: number): Vec3 {
    const poses = this.#poses;
    const last = poses.length - 1;
    if (t <= poses[0].timestamp) return [...this.#tangents[0]];
    if (t >= poses[last].timestamp) return [...this.#tangents[last]];
    const i = segmentAt(poses, t);
    const span = (poses[i + 1].timestamp - poses[i].timestamp) * 1e-6;
    const s = ((t - poses[i].timestamp) * 1e-6) / span;
    const d00 = 6 * s ** 2 - 6 * s;
    const d10 = 3 * s ** 2 - 4 * s + 1;
    const d01 = -6 * s ** 2 + 6 * s;
    const d11 = 3 * s ** 2 - 2 * s;
    return [0, 1, 2].map(
      (k) =>
        (d00 * poses[i].translation[k] + d01 * poses[i + 1].translation[k]) / span +
        d10 * this.#tangents[i][k] +
        d11 * this.#tangents[i + 1][k],
    ) as Vec3;
  }

  /** Rotation at t: slerp within the segment, held constant beyond the ends. */
  rotation(t: number): Quaternion {
    const poses = this.#poses;
    const i = segmentAt(poses, t);
    const span = poses[i + 1].timestamp - poses[i].timestamp;
    return Quaternion.slerp(
      Quaternion.fromArray(poses[i].rotation),
      Quaternion.fromArray(poses[i + 1].rotation),
      (t - poses[i].timestamp) / span,
    );
  }

  /** Body angular velocity (rad/s, ego frame) from the rotation change over ±h µs. */
  rotationRate(t: number, h: number): Vec3 {
    const dq = this.rotation(t - h).inverse.multiply(this.rotation(t + h));
    const axis = dq.axis();
    const rate = dq.angle / (2 * h * 1e-6);
    return [axis[0] * rate, axis[1] * rate, axis[2] * rate];
  }
}

function toEgo(q: Quaternion, v: Vec3): Vec3 {
  return q.inverse.rotate(v);
}

function stats(messages: readonly { utime: number }[]): CanMessageStats {
  const n = messages.length;
  const timespan = n > 1 ? (messages[n - 1].utime - messages[0].utime) * 1e-6 : 0;
  // var_stats stays empty: the real per-key statistics layout is not documented closely enough to imitate.
  return { message_count: n, message_freq: timespan > 0 ? n / timespan : 0, timespan, var_stats: {} };
}

/**
 * CAN bus messages that agree with a sequence of ego poses (e.g. a synthetic scene's ego_pose rows):
 * `pose` at 50 Hz with position, orientation, ego-frame velocity, acceleration and
 * rotation rate; `steeranglefeedback` at 100 Hz holding a steering-wheel angle in radians (positive =
 * left) from the path's curvature (yaw rate / speed; 0 below 0.5 m/s) through a bicycle model and a
 * steering ratio; a `route` along the driven path extended at both ends; and `meta` counts.
 */
export function canBusFromEgoPoses(
  egoPoses: readonly EgoPoseSample[],
  options: CanBusFromEgoPosesOptions = {},
): SynthesizedCanBus {
  const poseRateHz = options.poseRateHz ?? 50;
  const steerRateHz = options.steerRateHz ?? 100;
  const marginUs = options.marginUs ?? 0;
  const wheelbaseM = options.wheelbaseM ?? 2.588;
  const steeringRatio = options.steeringRatio ?? 14.5;
  const gravityMps2 = options.gravityMps2 ?? 9.81;
  const routeExtensionM = options.routeExtensionM ?? 50;
  const routeSpacingM = options.routeSpacingM ?? 1;
  // Sorted by time, one pose per timestamp (sensors can share an ego pose time).
  const poses = [...egoPoses]
    .sort((a, b) => a.timestamp - b.timestamp)
    .filter((p, i, all) => i === 0 || p.timestamp !== all[i - 1].timestamp);
  if (poses.length < 2 || poses[poses.length - 1].timestamp === poses[0].timestamp) {
    throw new SpikedriveError(`CAN synthesis needs ego poses at two or more times, got ${poses.length}`, {
      subject: 'egoPoses',
      fix: 'Pass every ego pose of the scene (they are sorted by timestamp here).',
    });
  }
  const start = poses[0].timestamp - marginUs;
  const end = poses[poses.length - 1].timestamp + marginUs;

  const track = new PoseTrack(poses);
  const posePeriodUs = Math.round(1e6 / poseRateHz);
  const h = posePeriodUs / 2;
  const pose: CanPoseMessage[] = [];
  for (let t = start; t <= end; t += posePeriodUs) {
    const q = track.rotation(t);
    const v0 = track.velocity(t - h);
    const v1 = track.velocity(t + h);
    pose.push({
      utime: t,
      pos: track.position(t),
      orientation: q.normalised().elements as QuaternionWxyz,
      vel: toEgo(q, track.velocity(t)),
      accel: toEgo(
        q,
        [0, 1, 2].map((k) => (v1[k] - v0[k]) / (2 * h * 1e-6) + (k === 2 ? gravityMps2 : 0)) as Vec3,
      ),
      rotation_rate: track.rotationRate(t, h),
    });
  }

  const steerPeriodUs = Math.round(1e6 / steerRateHz);
  const steeranglefeedback: CanSteerAngleFeedbackMessage[] = [];
  for (let t = start; t <= end; t += steerPeriodUs) {
    const v = track.velocity(t);
    const speed = Math.hypot(v[0], v[1]);
    const yawRate = track.rotationRate(t, steerPeriodUs)[2];
    const curvature = speed > 0.5 ? yawRate / speed : 0;
    // Bicycle model: road-wheel angle atan(κ·L), times the steering ratio, clamped to the recorded range.
    const value = Math.min(6.3, Math.max(-7.7, steeringRatio * Math.atan(curvature * wheelbaseM)));
    steeranglefeedback.push({ utime: t, value });
  }

  return {
    pose,
    steeranglefeedback,
    route: routeAlong(poses, routeExtensionM, routeSpacingM),
    meta: { pose: stats(pose), steeranglefeedback: stats(steeranglefeedback) },
  };
}

/** Points every `spacingM` along the poses' path, extended straight back and ahead by `extensionM`. */
function routeAlong(poses: readonly EgoPoseSample[], extensionM: number, spacingM: number): CanRoutePoint[] {
  const path = poses.map((p): CanRoutePoint => [p.translation[0], p.translation[1]]);
  const heading = (q: readonly number[]) => Quaternion.fromArray(q).rotate([1, 0, 0]);
  const h0 = heading(poses[0].rotation);
  const h1 = heading(poses[poses.length - 1].rotation);
  const n0 = Math.hypot(h0[0], h0[1]) || 1;
  const n1 = Math.hypot(h1[0], h1[1]) || 1;
  const first = path[0];
  const last = path[path.length - 1];
  const route: CanRoutePoint[] = [];
  for (let d = extensionM; d > 0; d -= spacingM) {
    route.push([first[0] - (d * h0[0]) / n0, first[1] - (d * h0[1]) / n0]);
  }
  route.push(first);
  let carried = 0;
  for (let i = 1; i < path.length; i++) {
    const [ax, ay] = path[i - 1];
    const [bx, by] = path[i];
    const length = Math.hypot(bx - ax, by - ay);
    let d = spacingM - carried;
    while (d <= length) {
      route.push([ax + ((bx - ax) * d) / length, ay + ((by - ay) * d) / length]);
      d += spacingM;
    }
    carried = length - (d - spacingM);
  }
  if (route[route.length - 1] !== last) route.push(last);
  for (let d = spacingM; d <= extensionM; d += spacingM) {
    route.push([last[0] + (d * h1[0]) / n1, last[1] + (d * h1[1]) / n1]);
  }
  return route;
}
