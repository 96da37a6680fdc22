// A small hand-made world and nuScenes-like cameras for the rasteriser's tests and benchmark (the real
// generator lives in data-loaders/synthetic; these tests must not depend on it).

import {
  multiplyMatrices,
  Quaternion,
  transformMatrix,
} from '../../../data-loaders/nuscenes/geometry/index.ts';
import type { Vec3 } from '../../../data-loaders/nuscenes/types.ts';
import type { CameraView, Cuboid, GroundRaster } from '../../../data-loaders/synthetic/render/index.ts';

export const CAMERA_ORDER = [
  'CAM_FRONT_LEFT',
  'CAM_FRONT',
  'CAM_FRONT_RIGHT',
  'CAM_BACK_LEFT',
  'CAM_BACK',
  'CAM_BACK_RIGHT',
] as const;

/** Roughly the nuScenes rig (translation in ego metres, yaw of the optical axis, fx, cx, cy). */
const RIG: Record<
  (typeof CAMERA_ORDER)[number],
  { t: Vec3; yawDeg: number; fx: number; cx: number; cy: number }
> = {
  CAM_FRONT: { t: [1.7, 0.016, 1.511], yawDeg: 0, fx: 1266.4, cx: 816.3, cy: 491.5 },
  CAM_FRONT_RIGHT: { t: [1.551, -0.493, 1.496], yawDeg: -55, fx: 1260.8, cx: 808.0, cy: 495.3 },
  CAM_FRONT_LEFT: { t: [1.521, 0.495, 1.51], yawDeg: 55, fx: 1272.6, cx: 826.6, cy: 479.8 },
  CAM_BACK: { t: [0.028, 0.004, 1.58], yawDeg: 180, fx: 809.2, cx: 829.2, cy: 481.8 },
  CAM_BACK_LEFT: { t: [1.036, 0.485, 1.591], yawDeg: 110, fx: 1256.7, cx: 817.8, cy: 452.0 },
  CAM_BACK_RIGHT: { t: [1.015, -0.48, 1.562], yawDeg: -110, fx: 1259.5, cx: 807.3, cy: 501.2 },
};

/** camera→ego rotation of a level camera whose optical axis points along ego yaw ψ (OpenCV axes). */
export function cameraRotation(yaw: number): Quaternion {
  const s = Math.sin(yaw);
  const c = Math.cos(yaw);
  return Quaternion.fromMatrix([
    [s, 0, c],
    [-c, 0, s],
    [0, -1, 0],
  ]);
}

export function intrinsic(fx: number, cx: number, cy: number): number[][] {
  return [
    [fx, 0, cx],
    [0, fx, cy],
    [0, 0, 1],
  ];
}

/** A camera at `position` (global), looking along `yaw`, level, 1600×900 unless given. */
export function levelCamera(
  position: Vec3,
  yaw: number,
  fx = 1266.4,
  width = 1600,
  height = 900,
): CameraView {
  return {
    width,
    height,
    intrinsic: intrinsic(fx, width / 2, height / 2),
    cameraToGlobal: transformMatrix(position, cameraRotation(yaw)),
  };
}

/** The six nuScenes cameras of an ego at (x, y) with yaw, in CAMERA_ORDER. */
export function rigViews(egoX: number, egoY: number, egoYaw: number): CameraView[] {
  const egoToGlobal = transformMatrix([egoX, egoY, 0], Quaternion.fromYaw(egoYaw));
  return CAMERA_ORDER.map((name) => {
    const r = RIG[name];
    const camToEgo = transformMatrix(r.t, cameraRotation((r.yawDeg * Math.PI) / 180));
    return {
      width: 1600,
      height: 900,
      intrinsic: intrinsic(r.fx, r.cx, r.cy),
      cameraToGlobal: multiplyMatrices(egoToGlobal, camToEgo),
    };
  });
}

/** A plain ground of one colour, `sizeM` square around the origin. */
export function flatGround(
  rgb: [number, number, number] = [90, 90, 90],
  sizeM = 200,
  resolutionM = 0.5,
): GroundRaster {
  const n = Math.round(sizeM / resolutionM);
  const data = new Uint8Array(n * n * 3);
  for (let i = 0; i < n * n; i++) data.set(rgb, i * 3);
  return { originXM: -sizeM / 2, originYM: -sizeM / 2, resolutionM, width: n, height: n, rgb: data };
}

/**
 * An east–west road with two lanes each way, dashed white lane lines, a yellow centre line, kerbs,
 * sidewalks and grass, crossed by a north–south road with zebra crossings: `size` m square (default 240) at 0.1 m.
 */
export function streetGround(size = 240): GroundRaster {
  const res = 0.1;
  const n = Math.round(size / res);
  const rgb = new Uint8Array(n * n * 3);
  const ox = -size / 2;
  const oy = -size / 2;
  for (let r = 0; r < n; r++) {
    const y = oy + (r + 0.5) * res;
    for (let c = 0; c < n; c++) {
      const x = ox + (c + 0.5) * res;
      const ay = Math.abs(y);
      const ax = Math.abs(x - 40);
      let col: [number, number, number] = [78, 118, 52]; // grass
      const onEw = ay < 7;
      const onNs = ax < 7;
      if (onEw || onNs) {
        col = [72, 72, 75];
        if (onEw && !onNs) {
          if (ay < 0.1) col = [220, 180, 40];
          else if (Math.abs(ay - 3.5) < 0.075 && x - 3 * Math.floor(x / 3) < 1.5) col = [225, 225, 225];
          else if (Math.abs(ay - 6.8) < 0.08) col = [225, 225, 225];
        }
        if (onNs && !onEw) {
          if (ax < 0.1) col = [220, 180, 40];
          else if (Math.abs(ax - 6.8) < 0.08) col = [225, 225, 225];
        }
        // Zebra crossings on the north–south road, just off the junction.
        if (onNs && ay > 8 && ay < 12 && x - Math.floor(x) < 0.5) col = [230, 230, 230];
      } else if (ay < 10 || ax < 10) {
        col = [160, 156, 148]; // sidewalk
        if (ay < 7.25 || ax < 7.25) col = [190, 188, 182]; // kerb
      }
      rgb.set(col, (r * n + c) * 3);
    }
  }
  return { originXM: ox, originYM: oy, resolutionM: res, width: n, height: n, rgb };
}

export function car(
  id: number,
  x: number,
  y: number,
  yaw: number,
  color: [number, number, number] = [255, 158, 0],
): Cuboid {
  return {
    id,
    center: [x, y, 0.8],
    wlh: [1.9, 4.6, 1.6],
    rotation: Quaternion.fromYaw(yaw),
    colorRgb: color,
  };
}

/** A street scene around an ego at (0, −1.75) heading east. */
export function streetCuboids(): Cuboid[] {
  const out: Cuboid[] = [];
  let id = 1;
  out.push(car(id++, 14, -1.75, 0));
  out.push(car(id++, 28, -5.2, 0.02, [255, 99, 71]));
  out.push(car(id++, 22, 1.75, Math.PI, [255, 158, 0]));
  out.push(car(id++, -12, -1.75, 0, [255, 158, 0]));
  out.push(car(id++, 40, 22, -Math.PI / 2, [255, 61, 99]));
  out.push({
    id: id++,
    center: [55, 5.2, 1.6],
    wlh: [2.5, 11, 3.2],
    rotation: Quaternion.fromYaw(Math.PI),
    colorRgb: [255, 69, 0],
  });
  out.push({
    id: id++,
    center: [9, -8.5, 0.9],
    wlh: [0.6, 0.7, 1.8],
    rotation: Quaternion.fromYaw(0.3),
    colorRgb: [0, 0, 230],
  });
  out.push({
    id: id++,
    center: [31, 9, 0.88],
    wlh: [0.6, 0.6, 1.75],
    rotation: Quaternion.fromYaw(1.2),
    colorRgb: [0, 0, 230],
  });
  out.push({
    id: id++,
    center: [-6, 8.5, 1.4],
    wlh: [2.4, 7.5, 2.8],
    rotation: Quaternion.fromYaw(0),
    colorRgb: [255, 99, 71],
  });
  for (let k = 0; k < 6; k++) {
    out.push({
      id: id++,
      center: [6 + 3 * k, -7.4, 0.35],
      wlh: [0.35, 0.35, 0.7],
      rotation: Quaternion.fromYaw(0),
      colorRgb: [47, 79, 79],
    });
  }
  return out;
}
