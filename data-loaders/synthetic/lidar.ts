// A simulated HDL-32E sweep for LIDAR_TOP keyframes: 32 beams (−30.67° … +10.67°), 1024 azimuth steps, rays
// cast against the ground plane and every agent's box. The first hit per ray is a point (x, y, z, intensity,
// ring) in the LIDAR_TOP frame, written as the nuScenes `.pcd.bin` (float32 × 5); the hits per box are the
// annotations' `num_lidar_pts`, exact by construction.
import type { Matrix } from '../nuscenes/geometry/index.ts';

export const LIDAR_BEAMS = 32;
export const LIDAR_AZIMUTH_STEPS = 1024;
export const LIDAR_MAX_RANGE_M = 70;
const ELEVATION_LOW_DEG = -30.67;
const ELEVATION_STEP_DEG = 1.33;

/** A box for the lidar: centre (global), size (w, l, h), yaw; `intensity` of its surface (0–255). */
export interface LidarBox {
  id: number;
  center: readonly [number, number, number];
  wlh: readonly [number, number, number];
  yaw: number;
  intensity: number;
}

export interface LidarSweepInput {
  /** LIDAR_TOP → global, 4×4. */
  sensorToGlobal: Matrix;
  /** LIDAR_TOP → ego, 4×4 (to drop returns from the ego car's own body). */
  sensorToEgo: Matrix;
  boxes: readonly LidarBox[];
  /** Ground intensity at a global (x, y). */
  groundIntensity: (x: number, y: number) => number;
  /** The ego body in its own frame: x ∈ [xMin, xMax], |y| ≤ halfWidth. */
  egoBody: { xMin: number; xMax: number; halfWidth: number };
}

export interface LidarSweep {
  /** N × 5 float32: x, y, z, intensity, ring (LIDAR_TOP frame). */
  points: Float32Array;
  count: number;
  /** Returns per box id. */
  hitsPerBox: Map<number, number>;
}

/** Unit directions of all rays in the lidar frame, beam-major (computed once). */
const RAY_DIRECTIONS: Float64Array = (() => {
  const out = new Float64Array(LIDAR_BEAMS * LIDAR_AZIMUTH_STEPS * 3);
  for (let beam = 0; beam < LIDAR_BEAMS; beam++) {
    const el = ((ELEVATION_LOW_DEG + beam * ELEVATION_STEP_DEG) * Math.PI) / 180;
    for (let a = 0; a < LIDAR_AZIMUTH_STEPS; a++) {
      const az = (2 * Math.PI * a) / LIDAR_AZIMUTH_STEPS;
      const o = (beam * LIDAR_AZIMUTH_STEPS + a) * 3;
      out[o] = Math.cos(el) * Math.cos(az);
      out[o + 1] = Math.cos(el) * Math.sin(az);
      out[o + 2] = Math.sin(el);
    }
  }
  return out;
})();

/** Casts one sweep. */
export function castLidarSweep(input: LidarSweepInput): LidarSweep {
  const m = input.sensorToGlobal;
  const ox = m[0][3];
  const oy = m[1][3];
  const oz = m[2][3];
  const e = input.sensorToEgo;

  // Broad phase: which boxes can each azimuth column hit (bounding circles, with a column of margin).
  const columns: number[][] = Array.from({ length: LIDAR_AZIMUTH_STEPS }, () => []);
  const horizontal = (a: number) => {
    const dx =
      m[0][0] * Math.cos((2 * Math.PI * a) / LIDAR_AZIMUTH_STEPS) +
      m[0][1] * Math.sin((2 * Math.PI * a) / LIDAR_AZIMUTH_STEPS);
    const dy =
      m[1][0] * Math.cos((2 * Math.PI * a) / LIDAR_AZIMUTH_STEPS) +
      m[1][1] * Math.sin((2 * Math.PI * a) / LIDAR_AZIMUTH_STEPS);
    return Math.atan2(dy, dx);
  };
  // Global azimuth of column 0 and the direction columns advance in (the sensor may be mirrored in principle).
  const az0 = horizontal(0);
  const az1 = horizontal(1);
  let stepSign = az1 - az0;
  while (stepSign > Math.PI) stepSign -= 2 * Math.PI;
  while (stepSign < -Math.PI) stepSign += 2 * Math.PI;
  const sign = stepSign >= 0 ? 1 : -1;
  const colWidth = (2 * Math.PI) / LIDAR_AZIMUTH_STEPS;
  const boxes = input.boxes.filter(
    (b) => Math.hypot(b.center[0] - ox, b.center[1] - oy) < LIDAR_MAX_RANGE_M + 15,
  );
  const prepared = boxes.map((b) => ({
    box: b,
    cos: Math.cos(b.yaw),
    sin: Math.sin(b.yaw),
    hl: b.wlh[1] / 2,
    hw: b.wlh[0] / 2,
    hh: b.wlh[2] / 2,
  }));
  prepared.forEach((p, index) => {
    const dx = p.box.center[0] - ox;
    const dy = p.box.center[1] - oy;
    const dist = Math.hypot(dx, dy);
    const radius = Math.hypot(p.hl, p.hw);
    if (dist <= radius + 0.5) {
      for (const col of columns) col.push(index);
      return;
    }
    const centre = Math.atan2(dy, dx);
    const half = Math.asin(Math.min(1, radius / dist)) + colWidth;
    let rel = (centre - az0) * sign;
    rel = ((rel % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
    const c0 = Math.floor((rel - half) / colWidth);
    const c1 = Math.ceil((rel + half) / colWidth);
    for (let c = c0; c <= c1; c++)
      columns[((c % LIDAR_AZIMUTH_STEPS) + LIDAR_AZIMUTH_STEPS) % LIDAR_AZIMUTH_STEPS].push(index);
  });

  const maxPoints = LIDAR_BEAMS * LIDAR_AZIMUTH_STEPS;
  const points = new Float32Array(maxPoints * 5);
  const hitsPerBox = new Map<number, number>();
  let count = 0;
  for (let beam = 0; beam < LIDAR_BEAMS; beam++) {
    for (let a = 0; a < LIDAR_AZIMUTH_STEPS; a++) {
      const o = (beam * LIDAR_AZIMUTH_STEPS + a) * 3;
      const lx = RAY_DIRECTIONS[o];
      const ly = RAY_DIRECTIONS[o + 1];
      const lz = RAY_DIRECTIONS[o + 2];
      const dx = m[0][0] * lx + m[0][1] * ly + m[0][2] * lz;
      const dy = m[1][0] * lx + m[1][1] * ly + m[1][2] * lz;
      const dz = m[2][0] * lx + m[2][1] * ly + m[2][2] * lz;
      let best = dz < -1e-6 ? -oz / dz : Number.POSITIVE_INFINITY;
      let hit = -1;
      for (const index of columns[a]) {
        const p = prepared[index];
        // Into the box frame (yaw only; boxes stand on the ground).
        const rx = ox - p.box.center[0];
        const ry = oy - p.box.center[1];
        const rz = oz - p.box.center[2];
        const bx = p.cos * rx + p.sin * ry;
        const by = -p.sin * rx + p.cos * ry;
        const bdx = p.cos * dx + p.sin * dy;
        const bdy = -p.sin * dx + p.cos * dy;
        // Slab test, inlined (this loop runs ~10⁵ times per sweep).
        let tNear = 0;
        let tFar = best;
        let t0: number;
        let t1: number;
        if (Math.abs(bdx) < 1e-12) {
          if (bx < -p.hl || bx > p.hl) continue;
        } else {
          t0 = (-p.hl - bx) / bdx;
          t1 = (p.hl - bx) / bdx;
          if (t0 > t1) [t0, t1] = [t1, t0];
          if (t0 > tNear) tNear = t0;
          if (t1 < tFar) tFar = t1;
          if (tNear > tFar) continue;
        }
        if (Math.abs(bdy) < 1e-12) {
          if (by < -p.hw || by > p.hw) continue;
        } else {
          t0 = (-p.hw - by) / bdy;
          t1 = (p.hw - by) / bdy;
          if (t0 > t1) [t0, t1] = [t1, t0];
          if (t0 > tNear) tNear = t0;
          if (t1 < tFar) tFar = t1;
          if (tNear > tFar) continue;
        }
        if (Math.abs(dz) < 1e-12) {
          if (rz < -p.hh || rz > p.hh) continue;
        } else {
          t0 = (-p.hh - rz) / dz;
          t1 = (p.hh - rz) / dz;
          if (t0 > t1) [t0, t1] = [t1, t0];
          if (t0 > tNear) tNear = t0;
          if (t1 < tFar) tFar = t1;
          if (tNear > tFar) continue;
        }
        if (tNear > 0 && tNear < best) {
          best = tNear;
          hit = index;
        }
      }
      if (!(best <= LIDAR_MAX_RANGE_M)) continue;
      let px = lx * best;
      let py = ly * best;
      let pz = lz * best;
      if (hit >= 0) {
        // Pull the hit 5 mm inside the box, so the devkit's points_in_box (inclusive bounds) counts it as we do.
        const p = prepared[hit];
        const gx = ox + dx * best - p.box.center[0];
        const gy = oy + dy * best - p.box.center[1];
        const gz = oz + dz * best - p.box.center[2];
        const bx = clampInside(p.cos * gx + p.sin * gy, p.hl);
        const by = clampInside(-p.sin * gx + p.cos * gy, p.hw);
        const bz = clampInside(gz, p.hh);
        const qx = p.box.center[0] + p.cos * bx - p.sin * by - ox;
        const qy = p.box.center[1] + p.sin * bx + p.cos * by - oy;
        const qz = p.box.center[2] + bz - oz;
        // Back into the lidar frame: Rᵀ·(q − o).
        px = m[0][0] * qx + m[1][0] * qy + m[2][0] * qz;
        py = m[0][1] * qx + m[1][1] * qy + m[2][1] * qz;
        pz = m[0][2] * qx + m[1][2] * qy + m[2][2] * qz;
      }
      const ex = e[0][0] * px + e[0][1] * py + e[0][2] * pz + e[0][3];
      const ey = e[1][0] * px + e[1][1] * py + e[1][2] * pz + e[1][3];
      if (ex >= input.egoBody.xMin && ex <= input.egoBody.xMax && Math.abs(ey) <= input.egoBody.halfWidth)
        continue;
      let intensity: number;
      if (hit >= 0) {
        const id = prepared[hit].box.id;
        hitsPerBox.set(id, (hitsPerBox.get(id) ?? 0) + 1);
        intensity = prepared[hit].box.intensity;
      } else {
        intensity = input.groundIntensity(ox + dx * best, oy + dy * best);
      }
      const w = count * 5;
      points[w] = px;
      points[w + 1] = py;
      points[w + 2] = pz;
      points[w + 3] = intensity;
      points[w + 4] = beam;
      count++;
    }
  }
  return { points: points.slice(0, count * 5), count, hitsPerBox };
}

function clampInside(v: number, half: number): number {
  const limit = Math.max(0, half - 0.005);
  return v < -limit ? -limit : Math.min(v, limit);
}
