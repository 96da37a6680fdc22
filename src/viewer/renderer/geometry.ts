// Frame conversions the views share. BEV frame: x forward, y left, z up (the flattened ego frame). Trajectories are
// in the LIDAR_TOP sensor frame (x right, y forward); SAD's cost function and metrics index the BEV with them as if
// the frames coincided ("planner" convention); "geometric" applies the real lidar → ego transform.
import type { SampleView } from '../api/protocol.ts';

export type TrajectoryFrame = 'planner' | 'geometric';

/** [x fwd, y left] of a lidar-frame waypoint. */
export function trajectoryToBev(
  xRight: number,
  yForward: number,
  frame: TrajectoryFrame,
  view: SampleView | null,
): [number, number] {
  if (frame === 'geometric' && view) {
    const m = view.lidarToBev;
    return [m[0] * xRight + m[1] * yForward + m[3], m[4] * xRight + m[5] * yForward + m[7]];
  }
  return [yForward, -xRight];
}

/** Projects a BEV point to pixels with a 3×4 matrix; null behind the camera. */
export function project(P: readonly number[], x: number, y: number, z: number): [number, number] | null {
  const w = P[8] * x + P[9] * y + P[10] * z + P[11];
  if (w < 0.5) return null;
  return [(P[0] * x + P[1] * y + P[2] * z + P[3]) / w, (P[4] * x + P[5] * y + P[6] * z + P[7]) / w];
}

/** The 8 corners of a box (BEV frame): bottom 4 then top 4. */
export function boxCorners(
  center: readonly number[],
  size: readonly number[],
  yaw: number,
): [number, number, number][] {
  const [w, l, h] = size;
  const c = Math.cos(yaw);
  const s = Math.sin(yaw);
  const out: [number, number, number][] = [];
  for (const dz of [-h / 2, h / 2]) {
    for (const [dx, dy] of [
      [l / 2, w / 2],
      [l / 2, -w / 2],
      [-l / 2, -w / 2],
      [-l / 2, w / 2],
    ]) {
      out.push([center[0] + c * dx - s * dy, center[1] + s * dx + c * dy, center[2] + dz]);
    }
  }
  return out;
}

export const BOX_EDGES: [number, number][] = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 0],
  [4, 5],
  [5, 6],
  [6, 7],
  [7, 4],
  [0, 4],
  [1, 5],
  [2, 6],
  [3, 7],
];

/** Centre of BEV cell (row, col) in metres. */
export function cellCenter(
  row: number,
  col: number,
  xBound: readonly number[],
  yBound: readonly number[],
): [number, number] {
  return [xBound[0] + (row + 0.5) * xBound[2], yBound[0] + (col + 0.5) * yBound[2]];
}
