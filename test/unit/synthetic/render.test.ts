import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  Box,
  Quaternion,
  transformMatrix,
  viewPoints,
} from '../../../data-loaders/nuscenes/geometry/index.ts';
import type { Vec3 } from '../../../data-loaders/nuscenes/types.ts';
import {
  type CameraView,
  type Cuboid,
  encodeJpeg,
  type GroundRaster,
  renderCamera,
} from '../../../data-loaders/synthetic/render/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import {
  cameraRotation,
  flatGround,
  levelCamera,
  rigViews,
  streetCuboids,
  streetGround,
} from './render-fixtures.ts';

const FLAT = { shadows: false, noiseAmplitude: 0 } as const;

function cube(id: number, center: Vec3, wlh: Vec3, yaw = 0): Cuboid {
  return { id, center, wlh, rotation: Quaternion.fromYaw(yaw), colorRgb: [255, 158, 0] };
}

/** A 1000-px focal, 800×450 camera at 1.5 m looking east from the origin: easy numbers by hand. */
const eastCamera: CameraView = levelCamera([0, 0, 1.5], 0, 1000, 800, 450);
const ground = flatGround([90, 90, 90], 400, 0.5);

function pixel(rgb: Uint8Array, width: number, u: number, v: number): [number, number, number] {
  const o = (Math.floor(v) * width + Math.floor(u)) * 3;
  return [rgb[o], rgb[o + 1], rgb[o + 2]];
}

describe('renderCamera: occlusion-based visibility on constructed cases', () => {
  it('a box fully behind another has no visible pixels; the front one shows all of its own', () => {
    // Front cube x∈[9,11], back cube x∈[19,21], both |y| ≤ 1, z∈[0,2]; camera z = 1.5 sees only front faces.
    const front = cube(1, [10, 0, 1], [2, 2, 2]);
    const back = cube(2, [20, 0, 1], [2, 2, 2]);
    const r = renderCamera(eastCamera, { ground, cuboids: [back, front] }, FLAT);
    expect(r.visiblePixels.get(2)).toBe(0);
    // Front face of the back cube at 19 m: (2·1000/19)² ≈ 11 080 px silhouette.
    const backArea = (2000 / 19) ** 2;
    expect(Math.abs(r.unoccludedPixels.get(2)! - backArea) / backArea).toBeLessThan(0.02);
    // Front cube's front face at 9 m: 222.2 px wide, clipped by the 450-px image? its rows span
    // 450/2 − 1000·0.5/9 … 225 + 1000·1.5/9 = 169.4 … 391.7, so nothing is clipped: (2000/9)² ≈ 49 383.
    const frontArea = (2000 / 9) ** 2;
    expect(Math.abs(r.unoccludedPixels.get(1)! - frontArea) / frontArea).toBeLessThan(0.02);
    expect(r.visiblePixels.get(1)).toBe(r.unoccludedPixels.get(1));
  });

  it('boxes side by side are both fully visible', () => {
    const left = cube(1, [15, 3, 1], [2, 4, 2]);
    const right = cube(2, [15, -3, 1], [2, 4, 2]);
    const r = renderCamera(eastCamera, { ground, cuboids: [left, right] }, FLAT);
    for (const id of [1, 2]) {
      expect(r.unoccludedPixels.get(id)).toBeGreaterThan(5000);
      expect(r.visiblePixels.get(id)).toBe(r.unoccludedPixels.get(id));
    }
    // Mirror images of each other about the optical axis: the same area to within a column of pixels.
    expect(Math.abs(r.unoccludedPixels.get(1)! - r.unoccludedPixels.get(2)!)).toBeLessThan(120);
  });

  it('a box whose left half is covered shows 50 % (± 1 %)', () => {
    // Target: front face at x = 19, y ∈ [−1, 1]; occluder: front face at x = 9, y ∈ [0, 3], z ∈ [0, 3], so it
    // covers exactly u ∈ [cx − 333, cx] at every row of the target, i.e. the target's y > 0 half.
    const target = cube(1, [20, 0, 1], [2, 2, 2]);
    const occluder = cube(2, [10, 1.5, 1.5], [3, 2, 3]);
    const r = renderCamera(eastCamera, { ground, cuboids: [target, occluder] }, FLAT);
    const share = r.visiblePixels.get(1)! / r.unoccludedPixels.get(1)!;
    expect(Math.abs(share - 0.5)).toBeLessThan(0.01);
    expect(r.visiblePixels.get(2)).toBe(r.unoccludedPixels.get(2));
  });

  it('counts a silhouette once: three visible faces add up to the projected hull, and to the changed pixels', () => {
    // Seen from above and at an angle the camera sees the top and two sides of the box.
    const box = cube(7, [12, 4, 0.9], [2, 4.5, 1.8], 0.6);
    const cam = levelCamera([0, 0, 1.5], 0.3, 1000, 800, 450);
    const alone = renderCamera(cam, { ground, cuboids: [box] }, FLAT);
    const empty = renderCamera(cam, { ground, cuboids: [] }, FLAT);
    let changed = 0;
    for (let p = 0; p < alone.rgb.length; p += 3) {
      if (
        alone.rgb[p] !== empty.rgb[p] ||
        alone.rgb[p + 1] !== empty.rgb[p + 1] ||
        alone.rgb[p + 2] !== empty.rgb[p + 2]
      ) {
        changed++;
      }
    }
    const silhouette = alone.unoccludedPixels.get(7)!;
    expect(alone.visiblePixels.get(7)).toBe(silhouette);
    // Faces meeting at an edge share no pixel and leave no gap: every covered pixel is changed exactly once.
    expect(changed).toBe(silhouette);
    // Area of the convex hull of the 8 projected corners (devkit geometry), to within its perimeter.
    const g2c = transformMatrix(
      cam.cameraToGlobal.map((row) => row[3]).slice(0, 3),
      Quaternion.fromMatrix(cam.cameraToGlobal),
      true,
    );
    const b = new Box(box.center, box.wlh, box.rotation);
    const corners = b.corners();
    const camPts = viewPoints(corners, g2c, false);
    const uv = viewPoints([camPts[0], camPts[1], camPts[2]], cam.intrinsic, true);
    const hull = convexHullArea(Array.from(uv[0]), Array.from(uv[1]));
    expect(Math.abs(silhouette - hull.area)).toBeLessThan(hull.perimeter);
  });

  it('a box around the camera (the ego itself) is not drawn and hides nothing', () => {
    const ego = cube(1, [0.5, 0, 0.9], [2, 5, 1.8]);
    const ahead = cube(2, [15, 0, 1], [2, 4, 2]);
    const r = renderCamera(eastCamera, { ground, cuboids: [ego, ahead] }, FLAT);
    expect(r.unoccludedPixels.get(1)).toBe(0);
    expect(r.visiblePixels.get(2)).toBe(r.unoccludedPixels.get(2));
    expect(r.visiblePixels.get(2)).toBeGreaterThan(0);
  });

  it('clips a box that reaches behind the camera at the near plane, drawing its in-front part', () => {
    // A wall from 5 m behind to 25 m ahead, 2 m to the left: its face spans u = 400 − 1900/x (x the distance
    // ahead), so it fills the image from the left edge (x = 4.75 m) to u ≈ 324 (x = 25 m).
    const wall = cube(3, [10, 2, 1], [0.2, 30, 2]);
    const r = renderCamera(eastCamera, { ground, cuboids: [wall] }, FLAT);
    const covered = r.unoccludedPixels.get(3)!;
    expect(covered).toBeGreaterThan(40_000);
    expect(r.visiblePixels.get(3)).toBe(covered);
    // Left edge mid-height is the wall (orange-ish), right edge is ground/sky.
    const [lr, lg, lb] = pixel(r.rgb, 800, 1, 225);
    expect(lr).toBeGreaterThan(lb + 60);
    expect(lg).toBeGreaterThan(lb);
    const [rr, , rb] = pixel(r.rgb, 800, 798, 100);
    expect(rb).toBeGreaterThan(rr);
  });

  it('reports every cuboid of the world, with 0 for those out of view', () => {
    const behind = cube(9, [-20, 0, 1], [2, 4, 2]);
    const r = renderCamera(eastCamera, { ground, cuboids: [behind] }, FLAT);
    expect(r.visiblePixels.get(9)).toBe(0);
    expect(r.unoccludedPixels.get(9)).toBe(0);
  });
});

describe('renderCamera: ground, sky and calibration', () => {
  it('puts a ground mark where the camera calibration projects it, with sky above the horizon', () => {
    // A 2 m white square centred 20 m ahead: it projects to u = cx, v = cy + 1000·1.5/20 = 300.
    const g = flatGround([60, 60, 60], 100, 0.25);
    for (let r = 0; r < g.height; r++) {
      for (let c = 0; c < g.width; c++) {
        const x = g.originXM + (c + 0.5) * g.resolutionM;
        const y = g.originYM + (r + 0.5) * g.resolutionM;
        if (Math.abs(x - 20) < 1 && Math.abs(y) < 1)
          g.rgb.fill(250, (r * g.width + c) * 3, (r * g.width + c) * 3 + 3);
      }
    }
    const out = renderCamera(eastCamera, { ground: g, cuboids: [] }, { ...FLAT, fogDistanceM: 10_000 });
    expect(pixel(out.rgb, 800, 400, 300)[0]).toBeGreaterThan(230);
    // Just outside the square's projected edges (±1 m at 20 m: u = 400 ± 50) the ground is dark again.
    expect(pixel(out.rgb, 800, 400 + 56, 300)[0]).toBeLessThan(80);
    expect(pixel(out.rgb, 800, 400 - 56, 300)[0]).toBeLessThan(80);
    // Level camera: rows above cy = 225 are sky (blue above red), rows below are ground.
    const [sr, , sb] = pixel(out.rgb, 800, 400, 100);
    expect(sb).toBeGreaterThan(sr + 40);
    expect(pixel(out.rgb, 800, 100, 440)[0]).toBeLessThan(80);
  });

  it('fades far ground into the haze and averages fine texture instead of aliasing it', () => {
    // 0.1 m black/white checkerboard: near it is resolved, far away it must turn an even grey.
    const n = 2000;
    const rgb = new Uint8Array(n * n * 3);
    for (let r = 0; r < n; r++)
      for (let c = 0; c < n; c++) rgb.fill((r + c) % 2 ? 255 : 0, (r * n + c) * 3, (r * n + c) * 3 + 3);
    const board: GroundRaster = {
      originXM: -100,
      originYM: -100,
      resolutionM: 0.1,
      width: n,
      height: n,
      rgb,
    };
    const out = renderCamera(eastCamera, { ground: board, cuboids: [] }, { ...FLAT, fogDistanceM: 10_000 });
    // Row 235 looks 150 m ahead (v − cy = 1000·1.5/150 = 10 px): a pixel there spans ~15 cm × 1.5 m.
    const far: number[] = [];
    for (let u = 200; u < 600; u++) far.push(pixel(out.rgb, 800, u, 235)[0]);
    const mean = far.reduce((a, b) => a + b, 0) / far.length;
    const sd = Math.sqrt(far.reduce((a, b) => a + (b - mean) ** 2, 0) / far.length);
    expect(Math.abs(mean - 127.5)).toBeLessThan(20);
    expect(sd).toBeLessThan(25);
    // With the default fog, ground 600 m away is almost the horizon haze.
    const hazy = renderCamera(eastCamera, { ground, cuboids: [] }, FLAT);
    const [hr, hg, hb] = pixel(hazy.rgb, 800, 400, 226);
    expect(hb).toBeGreaterThan(hr);
    expect(hg).toBeGreaterThan(150);
  });

  it('renders the six nuScenes cameras of a street byte-identically on every run', () => {
    const world = { ground: streetGround(), cuboids: streetCuboids() };
    const views = rigViews(0, -1.75, 0);
    const a = renderCamera(views[1], world);
    const b = renderCamera(views[1], world);
    expect(Buffer.from(a.rgb).equals(Buffer.from(b.rgb))).toBe(true);
    expect(a.visiblePixels).toEqual(b.visiblePixels);
    // The car 14 m ahead in the ego lane dominates the front camera; the car 12 m behind, the back camera.
    expect(a.visiblePixels.get(1)).toBeGreaterThan(20_000);
    expect(a.visiblePixels.get(4)).toBe(0);
    const back = renderCamera(views[4], world);
    expect(back.visiblePixels.get(4)).toBeGreaterThan(10_000);
    expect(back.visiblePixels.get(1)).toBe(0);
  });
});

describe('encodeJpeg', () => {
  it('encodes a render as a 1600×900 baseline JPEG that decodes close to the input, deterministically', async () => {
    const view = rigViews(0, -1.75, 0)[1];
    const r = renderCamera(view, { ground: streetGround(), cuboids: streetCuboids() });
    const jpeg = await encodeJpeg(r.rgb, 1600, 900);
    const again = await encodeJpeg(r.rgb, 1600, 900);
    expect(Buffer.from(jpeg).equals(Buffer.from(again))).toBe(true);
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
    const meta = await sharp(jpeg).metadata();
    expect([meta.format, meta.width, meta.height, meta.chromaSubsampling]).toEqual([
      'jpeg',
      1600,
      900,
      '4:2:0',
    ]);
    const decoded = await sharp(jpeg).raw().toBuffer();
    let err = 0;
    for (let i = 0; i < decoded.length; i++) err += Math.abs(decoded[i] - r.rgb[i]);
    expect(err / decoded.length).toBeLessThan(4);
  });

  it('rejects a buffer of the wrong size with the expected size in the message', async () => {
    await expect(encodeJpeg(new Uint8Array(10), 4, 4)).rejects.toThrow(/expected 4×4×3 = 48/);
  });
});

describe('renderCamera: bad input', () => {
  const world = { ground, cuboids: [] };
  it('names the ground raster when its bytes do not match its size', () => {
    const bad = { ...ground, rgb: new Uint8Array(5) };
    expect(() => renderCamera(eastCamera, { ground: bad, cuboids: [] })).toThrow(SpikedriveError);
    expect(() => renderCamera(eastCamera, { ground: bad, cuboids: [] })).toThrow(/ground raster has 5 bytes/);
  });
  it('rejects duplicate cuboid ids and empty sizes', () => {
    const c = cube(1, [10, 0, 1], [2, 2, 2]);
    expect(() => renderCamera(eastCamera, { ground, cuboids: [c, { ...c }] })).toThrow(
      /cuboid 1 appears twice/,
    );
    expect(() => renderCamera(eastCamera, { ground, cuboids: [cube(2, [10, 0, 1], [0, 2, 2])] })).toThrow(
      /size \[0,2,2\]/,
    );
  });
  it('rejects a scaled pose, a camera under the ground and a non-pinhole K', () => {
    const scaled = {
      ...eastCamera,
      cameraToGlobal: eastCamera.cameraToGlobal.map((row, i) =>
        i < 3 ? row.map((v, j) => (j < 3 ? v * 2 : v)) : row,
      ),
    };
    expect(() => renderCamera(scaled, world)).toThrow(/not orthonormal/);
    const under = { ...eastCamera, cameraToGlobal: transformMatrix([0, 0, -1], cameraRotation(0)) };
    expect(() => renderCamera(under, world)).toThrow(/not above the ground/);
    const k = {
      ...eastCamera,
      intrinsic: [
        [1000, 0, 400],
        [0, 1000, 225],
        [0, 0, 2],
      ],
    };
    expect(() => renderCamera(k, world)).toThrow(/not a pinhole K/);
  });
});

function convexHullArea(xs: number[], ys: number[]): { area: number; perimeter: number } {
  const pts = xs.map((x, i) => [x, ys[i]] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: number[], a: number[], b: number[]) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (const p of [...pts].reverse()) {
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  const hull = [...lower.slice(0, -1), ...upper.slice(0, -1)];
  let area = 0;
  let perimeter = 0;
  for (let i = 0; i < hull.length; i++) {
    const [x0, y0] = hull[i];
    const [x1, y1] = hull[(i + 1) % hull.length];
    area += x0 * y1 - x1 * y0;
    perimeter += Math.hypot(x1 - x0, y1 - y0);
  }
  return { area: Math.abs(area) / 2, perimeter };
}
