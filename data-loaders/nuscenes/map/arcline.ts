/**
 * The devkit's `arcline_path_utils`: a lane centre line is a list of arc-line paths (three segments each:
 * left arc, straight or right arc, with one radius), discretised into poses (x, y, yaw) at a chosen
 * resolution. Same formulas and operation order as the Python, so poses agree to ~1e-12 m.
 */
import type { ArclinePath, Pose } from './types.ts';

/** Python's float `%` (the result takes the sign of the divisor). */
function pyMod(a: number, b: number): number {
  let m = a % b;
  if (m !== 0) {
    if (b < 0 !== m < 0) m += b;
  } else m = b < 0 ? -0 : 0;
  return m;
}

/** The angle in [-pi, pi). */
export function principalValue(angleRad: number): number {
  return pyMod(angleRad + Math.PI, 2 * Math.PI) - Math.PI;
}

/** Signs of the three segments: 1 left, -1 right, 0 straight. */
export function computeSegmentSign(path: ArclinePath): [number, number, number] {
  const shape = path.shape;
  const s0 = shape === 'LRL' || shape === 'LSL' || shape === 'LSR' ? 1 : -1;
  const s1 = shape === 'RLR' ? 1 : shape === 'LRL' ? -1 : 0;
  const s2 = shape === 'LRL' || shape === 'LSL' || shape === 'RSL' ? 1 : -1;
  return [s0, s1, s2];
}

function transformationAtStep(pose: Pose, step: number): Pose {
  const theta = pose[2] * step;
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  if (Math.abs(pose[2]) < 1e-6) return [pose[0] * step, pose[1] * step, theta];
  return [
    (pose[1] * (c - 1.0) + pose[0] * s) / pose[2],
    (pose[0] * (1.0 - c) + pose[1] * s) / pose[2],
    theta,
  ];
}

function applyTransformation(pose: Pose, t: Pose): Pose {
  const x = Math.cos(pose[2]) * t[0] - Math.sin(pose[2]) * t[1] + pose[0];
  const y = Math.sin(pose[2]) * t[0] + Math.cos(pose[2]) * t[1] + pose[1];
  return [x, y, principalValue(pose[2] + t[2])];
}

function lieAlgebra(sign: readonly number[], radius: number): Pose[] {
  return [
    [1.0, 0.0, sign[0] / radius],
    [1.0, 0.0, sign[1] / radius],
    [1.0, 0.0, sign[2] / radius],
  ];
}

function pathLength(path: ArclinePath): number {
  return path.segment_length[0] + path.segment_length[1] + path.segment_length[2];
}

/** The pose `posM` metres along the path (clamped to its length). */
export function poseAtLength(path: ArclinePath, posM: number): Pose {
  const length = pathLength(path);
  if (!(posM >= 1e-6)) throw new RangeError(`poseAtLength needs a distance of at least 1e-6 m, got ${posM}`);
  let pos = Math.max(0.0, Math.min(posM, length));
  let result: Pose = path.start_pose;
  const breakPoints = lieAlgebra(computeSegmentSign(path), path.radius);
  for (let i = 0; i < breakPoints.length; i++) {
    const segLength = path.segment_length[i];
    if (pos <= segLength) {
      result = applyTransformation(result, transformationAtStep(breakPoints[i], pos));
      break;
    }
    result = applyTransformation(result, transformationAtStep(breakPoints[i], segLength));
    pos -= segLength;
  }
  return result;
}

/** Poses along one arc-line path, spaced as evenly as the devkit's `discretize`. */
export function discretizePath(path: ArclinePath, resolutionM: number): Pose[] {
  const length = pathLength(path);
  const nPoints = Math.trunc(Math.max(Math.ceil(length / resolutionM) + 1.5, 2));
  const resolution = length / (nPoints - 1);
  const cumulative = [
    path.segment_length[0],
    path.segment_length[0] + path.segment_length[1],
    length + resolution,
  ];
  const poses = lieAlgebra(computeSegmentSign(path), path.radius);
  let tempPose: Pose = path.start_pose;
  let gi = 0;
  let gs = 0.0;
  const out: Pose[] = [];
  for (let step = 0; step < nPoints; step++) {
    const along = step * resolution;
    if (along > cumulative[gi]) {
      tempPose = poseAtLength(path, along);
      gs = along;
      gi += 1;
    }
    out.push(applyTransformation(tempPose, transformationAtStep(poses[gi], along - gs)));
  }
  return out;
}

/** All poses along a lane (its arc-line paths one after the other). */
export function discretizeLane(lane: readonly ArclinePath[], resolutionM: number): Pose[] {
  return lane.flatMap((path) => discretizePath(path, resolutionM));
}

/** Length of a lane in metres. */
export function lengthOfLane(lane: readonly ArclinePath[]): number {
  return lane.reduce((sum, path) => sum + pathLength(path), 0);
}

/** The closest discretised pose on a lane to (x, y), and its distance along the lane (`project_pose_to_lane`). */
export function projectPoseToLane(
  pose: readonly number[],
  lane: readonly ArclinePath[],
  resolutionM = 0.5,
): { pose: Pose; distanceAlongLaneM: number } {
  const points = discretizeLane(lane, resolutionM);
  let best = 0;
  let bestDist = Number.POSITIVE_INFINITY;
  points.forEach((p, i) => {
    const d = Math.hypot(p[0] - pose[0], p[1] - pose[1]);
    if (d < bestDist) {
      bestDist = d;
      best = i;
    }
  });
  return { pose: points[best], distanceAlongLaneM: best * resolutionM };
}

function findIndex(distance: number, lengths: readonly number[]): number {
  if (lengths.length === 1) return 0;
  const i = lengths.findIndex((l) => distance <= l);
  if (i < 0)
    throw new RangeError(
      `distance ${distance} m lies beyond the lane (length ${lengths[lengths.length - 1]} m)`,
    );
  return i;
}

function cumsum(values: readonly number[]): number[] {
  let s = 0;
  return values.map((v) => {
    s += v;
    return s;
  });
}

/** Unsigned curvature (1/m) at a distance along a lane; 0 on straight segments. */
export function curvatureAtDistanceAlongLane(
  distanceAlongLaneM: number,
  lane: readonly ArclinePath[],
): number {
  const totals = cumsum(lane.map(pathLength));
  const pathIndex = findIndex(distanceAlongLaneM, totals);
  const path = lane[pathIndex];
  const along = pathIndex > 0 ? distanceAlongLaneM - totals[pathIndex - 1] : distanceAlongLaneM;
  const segmentIndex = findIndex(along, cumsum(path.segment_length));
  return path.shape[segmentIndex] === 'S' ? 0 : 1 / path.radius;
}
