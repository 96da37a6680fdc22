import { SpikedriveError } from '../../../src/util/index.ts';
import type { PreparedCamera } from './camera.ts';
import { type FogTable, fogWeightAt, HORIZON_RGB } from './ground.ts';
import { clipNear, fillSpans, project, ScratchPolygon } from './polygon.ts';
import type { Cuboid } from './types.ts';

/** Near clipping plane (camera z, metres). */
export const NEAR_M = 0.1;

/**
 * The six faces as devkit corner indices (corner signs of (x, y, z) × (l, w, h)/2:
 * 0 +++, 1 +−+, 2 +−−, 3 ++−, 4 −++, 5 −−+, 6 −−−, 7 −+−) and the box axis of their outward normal.
 */
const FACES: readonly { corners: readonly [number, number, number, number]; axis: number; sign: number }[] = [
  { corners: [0, 1, 2, 3], axis: 0, sign: 1 }, // front (+x)
  { corners: [4, 7, 6, 5], axis: 0, sign: -1 }, // rear
  { corners: [0, 3, 7, 4], axis: 1, sign: 1 }, // left (+y)
  { corners: [1, 5, 6, 2], axis: 1, sign: -1 }, // right
  { corners: [0, 4, 5, 1], axis: 2, sign: 1 }, // top
  { corners: [3, 2, 6, 7], axis: 2, sign: -1 }, // bottom
];
const CORNER_SIGNS = [
  [1, 1, 1],
  [1, -1, 1],
  [1, -1, -1],
  [1, 1, -1],
  [-1, 1, 1],
  [-1, -1, 1],
  [-1, -1, -1],
  [-1, 1, -1],
];

/** Per-render buffers the cuboid pass reads and writes. */
export interface RasterTargets {
  rgb: Uint8ClampedArray;
  /** Inverse camera depth of what each pixel shows; 0 for sky. */
  invDepth: Float32Array;
  /** Index (into the cuboid list) of the cuboid a pixel shows, −1 for ground or sky. */
  owner: Int32Array;
  /** 1 once a pixel has been darkened by a shadow, so overlapping shadows do not stack. */
  shadowed: Uint8Array;
  noise: Int8Array;
}

export interface Lighting {
  /** Unit vector towards the sun, global frame. */
  sun: [number, number, number];
  fog: FogTable;
}

function finite3(v: unknown): boolean {
  return (
    Array.isArray(v) && v.length === 3 && v.every((x: unknown) => typeof x === 'number' && Number.isFinite(x))
  );
}

export function validateCuboids(cuboids: readonly Cuboid[]): void {
  if (!Array.isArray(cuboids)) {
    throw new SpikedriveError('RenderWorld.cuboids is not an array', {
      fix: 'pass the agents as an array of cuboids (an empty array for none)',
      subject: 'RenderWorld.cuboids',
    });
  }
  const seen = new Set<number>();
  // Array.isArray widens to any[]; keep the declared element type.
  const list: readonly Cuboid[] = cuboids;
  for (const c of list) {
    const where = `cuboid ${c?.id}`;
    if (!Number.isFinite(c?.id)) {
      throw new SpikedriveError(`a cuboid has id ${c?.id}, not a number`, {
        fix: 'give every cuboid a numeric id (e.g. its instance index)',
        subject: 'Cuboid.id',
      });
    }
    if (seen.has(c.id)) {
      throw new SpikedriveError(`${where} appears twice in the world`, {
        fix: 'give each cuboid its own id; visibility is counted per id',
        subject: where,
      });
    }
    seen.add(c.id);
    if (!finite3(c.center) || !finite3(c.wlh) || !c.wlh.every((x) => x > 0)) {
      throw new SpikedriveError(`${where} has centre [${c.center}] or size [${c.wlh}] that is not usable`, {
        fix: 'give a finite centre (global m) and a positive width, length, height (m)',
        subject: where,
      });
    }
    if (!finite3(c.colorRgb) || !c.colorRgb.every((x) => x >= 0 && x <= 255)) {
      throw new SpikedriveError(`${where} has colour [${c.colorRgb}], not three values in 0–255`, {
        fix: 'give colorRgb as [r, g, b] bytes, e.g. the devkit colormap entry of its category',
        subject: where,
      });
    }
    const q = c.rotation;
    if (!q || ![q.w, q.x, q.y, q.z].every(Number.isFinite) || q.norm === 0) {
      throw new SpikedriveError(`${where} has no usable rotation`, {
        fix: 'give a non-zero Quaternion (w, x, y, z), e.g. Quaternion.fromYaw(yaw)',
        subject: where,
      });
    }
  }
}

const cornerCam = new Float64Array(24);
const facePoly = new ScratchPolygon();
const clipped = new ScratchPolygon();
const shadowPts = new Float64Array(16);
const hull = new Int32Array(17);

/** Corners of a cuboid in the global frame, devkit order, into `out` (x, y, z per corner). */
function globalCorners(c: Cuboid, out: Float64Array): Float64Array {
  const r = c.rotation.rotationMatrix;
  const hl = c.wlh[1] / 2;
  const hw = c.wlh[0] / 2;
  const hh = c.wlh[2] / 2;
  for (let k = 0; k < 8; k++) {
    const s = CORNER_SIGNS[k];
    const bx = s[0] * hl;
    const by = s[1] * hw;
    const bz = s[2] * hh;
    for (let i = 0; i < 3; i++) out[k * 3 + i] = c.center[i] + r[i][0] * bx + r[i][1] * by + r[i][2] * bz;
  }
  return out;
}

const cornerGlobal = new Float64Array(24);

/** Global point → camera frame: Rᵀ(p − C). */
function toCamera(
  cam: PreparedCamera,
  gx: number,
  gy: number,
  gz: number,
  out: Float64Array,
  at: number,
): void {
  const r = cam.rotation;
  const px = gx - cam.origin[0];
  const py = gy - cam.origin[1];
  const pz = gz - cam.origin[2];
  out[at] = r[0] * px + r[3] * py + r[6] * pz;
  out[at + 1] = r[1] * px + r[4] * py + r[7] * pz;
  out[at + 2] = r[2] * px + r[5] * py + r[8] * pz;
}

/** True when all 8 camera-frame corners are in front and beyond one side of the image. */
function outsideFrustum(cam: PreparedCamera, pts: Float64Array): boolean {
  let left = 0;
  let right = 0;
  let top = 0;
  let bottom = 0;
  for (let k = 0; k < 8; k++) {
    const x = pts[k * 3];
    const y = pts[k * 3 + 1];
    const z = pts[k * 3 + 2];
    if (z < NEAR_M) return false;
    const u = (cam.fx * x + cam.skew * y) / z + cam.cx;
    const v = (cam.fy * y) / z + cam.cy;
    if (u < 0) left++;
    if (u > cam.width) right++;
    if (v < 0) top++;
    if (v > cam.height) bottom++;
  }
  return left === 8 || right === 8 || top === 8 || bottom === 8;
}

/**
 * Darkens the ground under each cuboid: its exact sun shadow on z = 0 (the hull of the corners pushed
 * along the sun direction), drawn only on ground pixels and at most once per pixel.
 */
export function drawShadows(
  cam: PreparedCamera,
  cuboids: readonly Cuboid[],
  light: Lighting,
  targets: RasterTargets,
): void {
  const { rgb, owner, shadowed, invDepth } = targets;
  const { width, height } = cam;
  const [sx, sy, sz] = light.sun;
  const sunZ = Math.max(sz, 0.2);
  let strength = 0;
  const span = (y: number, x0: number, x1: number): void => {
    let p = y * width + x0;
    for (let x = x0; x < x1; x++, p++) {
      if (shadowed[p] !== 0 || owner[p] !== -1 || invDepth[p] === 0) continue;
      shadowed[p] = 1;
      const o = p * 3;
      rgb[o] = rgb[o] * strength;
      rgb[o + 1] = rgb[o + 1] * strength;
      rgb[o + 2] = rgb[o + 2] * strength;
    }
  };
  for (const c of cuboids) {
    const g = globalCorners(c, cornerGlobal);
    // Sun shadow of each corner on z = 0.
    for (let k = 0; k < 8; k++) {
      const z = Math.max(g[k * 3 + 2], 0);
      shadowPts[k * 2] = g[k * 3] - (z * sx) / sunZ;
      shadowPts[k * 2 + 1] = g[k * 3 + 1] - (z * sy) / sunZ;
    }
    const m = convexHull(shadowPts, 8, hull);
    facePoly.n = 0;
    let cxs = 0;
    let cys = 0;
    for (let i = 0; i < m; i++) {
      const h = hull[i];
      toCamera(cam, shadowPts[h * 2], shadowPts[h * 2 + 1], 0, cornerCam, 0);
      facePoly.push(cornerCam[0], cornerCam[1], cornerCam[2], i);
      cxs += shadowPts[h * 2];
      cys += shadowPts[h * 2 + 1];
    }
    clipNear(facePoly, NEAR_M, clipped);
    if (clipped.n < 3) continue;
    project(clipped, cam.fx, cam.skew, cam.cx, cam.fy, cam.cy);
    const dx = cxs / m - cam.origin[0];
    const dy = cys / m - cam.origin[1];
    const dist = Math.sqrt(dx * dx + dy * dy + cam.origin[2] * cam.origin[2]);
    // Shadows fade with the fog, as the ground they darken does.
    strength = 1 - (0.42 * fogWeightAt(light.fog, dist)) / 256;
    fillSpans(clipped, width, height, span);
  }
}

/** Andrew's monotone chain over n 2-D points (x, y interleaved); writes hull indices, returns their count. */
function convexHull(pts: Float64Array, n: number, out: Int32Array): number {
  const idx = Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => pts[a * 2] - pts[b * 2] || pts[a * 2 + 1] - pts[b * 2 + 1],
  );
  const cross = (o: number, a: number, b: number) =>
    (pts[a * 2] - pts[o * 2]) * (pts[b * 2 + 1] - pts[o * 2 + 1]) -
    (pts[a * 2 + 1] - pts[o * 2 + 1]) * (pts[b * 2] - pts[o * 2]);
  let k = 0;
  for (const i of idx) {
    while (k >= 2 && cross(out[k - 2], out[k - 1], i) <= 0) k--;
    out[k++] = i;
  }
  const lower = k + 1;
  for (let t = n - 2; t >= 0; t--) {
    const i = idx[t];
    while (k >= lower && cross(out[k - 2], out[k - 1], i) <= 0) k--;
    out[k++] = i;
  }
  return k - 1;
}

/**
 * Draws every cuboid's camera-facing faces, flat-shaded per face, with a depth test against the ground
 * and the other cuboids. Counts per cuboid index the pixels it covers (`unoccluded`: its own silhouette,
 * clipped to the image) and the pixels it shows in the end (`visible`).
 */
export function drawCuboids(
  cam: PreparedCamera,
  cuboids: readonly Cuboid[],
  light: Lighting,
  targets: RasterTargets,
  visible: Int32Array,
  unoccluded: Int32Array,
): void {
  const { rgb, invDepth, owner, noise } = targets;
  const { width, height } = cam;
  const [a, b, c0, e, f] = cam.kInv;
  const [sunX, sunY, sunZ] = light.sun;
  const hazeR = HORIZON_RGB[0];
  const hazeG = HORIZON_RGB[1];
  const hazeB = HORIZON_RGB[2];

  // Per-face state read by the span writer (a closure made once, not per face).
  let index = 0;
  let depthA = 0;
  let depthB = 0;
  let depthC = 0;
  let faceR = 0;
  let faceG = 0;
  let faceB = 0;
  let covered = 0;
  const span = (y: number, x0: number, x1: number): void => {
    const yc = y + 0.5;
    const rowDepth = depthB * yc + depthC;
    let p = y * width + x0;
    covered += x1 - x0;
    for (let x = x0; x < x1; x++, p++) {
      const iz = depthA * (x + 0.5) + rowDepth;
      if (iz <= invDepth[p]) continue;
      invDepth[p] = iz;
      const prev = owner[p];
      if (prev !== index) {
        if (prev >= 0) visible[prev]--;
        visible[index]++;
        owner[p] = index;
      }
      const o = p * 3;
      const n = noise[p];
      rgb[o] = faceR + n;
      rgb[o + 1] = faceG + n;
      rgb[o + 2] = faceB + n;
    }
  };

  for (index = 0; index < cuboids.length; index++) {
    const cub = cuboids[index];
    const g = globalCorners(cub, cornerGlobal);
    let allBehind = true;
    for (let k = 0; k < 8; k++) {
      toCamera(cam, g[k * 3], g[k * 3 + 1], g[k * 3 + 2], cornerCam, k * 3);
      if (cornerCam[k * 3 + 2] >= NEAR_M) allBehind = false;
    }
    if (allBehind || outsideFrustum(cam, cornerCam)) continue;
    const rot = cub.rotation.rotationMatrix;
    covered = 0;
    for (const face of FACES) {
      // Outward normal (global, then camera frame) and the face centre in the camera frame.
      const ngx = rot[0][face.axis] * face.sign;
      const ngy = rot[1][face.axis] * face.sign;
      const ngz = rot[2][face.axis] * face.sign;
      const r = cam.rotation;
      const n0 = r[0] * ngx + r[3] * ngy + r[6] * ngz;
      const n1 = r[1] * ngx + r[4] * ngy + r[7] * ngz;
      const n2 = r[2] * ngx + r[5] * ngy + r[8] * ngz;
      let mx = 0;
      let my = 0;
      let mz = 0;
      for (const k of face.corners) {
        mx += cornerCam[k * 3];
        my += cornerCam[k * 3 + 1];
        mz += cornerCam[k * 3 + 2];
      }
      mx /= 4;
      my /= 4;
      mz /= 4;
      // Plane n·P = d; the camera sees the face only from its outer side (d < 0). Back faces are skipped,
      // so a convex box never covers a pixel twice and its silhouette count is exact.
      const d = n0 * mx + n1 * my + n2 * mz;
      // Edge-on faces (|d| ≈ 0) cover no area, and their depth plane would be ill-conditioned.
      if (d >= -1e-7 * Math.sqrt(mx * mx + my * my + mz * mz)) continue;
      facePoly.n = 0;
      for (const k of face.corners)
        facePoly.push(cornerCam[k * 3], cornerCam[k * 3 + 1], cornerCam[k * 3 + 2], k);
      clipNear(facePoly, NEAR_M, clipped);
      if (clipped.n < 3) continue;
      project(clipped, cam.fx, cam.skew, cam.cx, cam.fy, cam.cy);
      // 1/z is affine in (u, v) on a plane: 1/z = n·K⁻¹(u, v, 1) / d.
      depthA = (n0 * a) / d;
      depthB = (n0 * b + n1 * e) / d;
      depthC = (n0 * c0 + n1 * f + n2) / d;
      // Lambert from the sun plus sky light that favours upward faces.
      const lambert = Math.max(0, ngx * sunX + ngy * sunY + ngz * sunZ);
      const shade = 0.38 + 0.12 * (ngz + 1) + 0.5 * lambert;
      const w = fogWeightAt(light.fog, Math.sqrt(mx * mx + my * my + mz * mz));
      const iw = 256 - w;
      faceR = Math.round((Math.min(255, cub.colorRgb[0] * shade) * w + hazeR * iw) / 256);
      faceG = Math.round((Math.min(255, cub.colorRgb[1] * shade) * w + hazeG * iw) / 256);
      faceB = Math.round((Math.min(255, cub.colorRgb[2] * shade) * w + hazeB * iw) / 256);
      fillSpans(clipped, width, height, span);
    }
    unoccluded[index] += covered;
  }
}
