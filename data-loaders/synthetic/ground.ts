// The ground of a town as a top-down raster at 0.1 m: a class per cell (grass, sidewalk, asphalt, car park,
// markings) painted from the network geometry, turned into a textured RGB image for the camera renderer, the
// legacy semantic-prior mask (maps/<md5>.png) and the basemap (maps/basemap/<location>.png).

import {
  bandPolygon,
  LANE_SETBACK_M,
  LANE_WIDTH_M,
  type Point2,
  type RoadEdge,
  type SyntheticNetwork,
} from './network.ts';
import type { Path } from './path.ts';
import type { GroundRaster } from './render/index.ts';

/** Surface classes of the ground raster. */
export const GroundClass = {
  grass: 0,
  sidewalk: 1,
  asphalt: 2,
  carpark: 3,
  whitePaint: 4,
  yellowPaint: 5,
  curb: 6,
} as const;
export type GroundClassId = (typeof GroundClass)[keyof typeof GroundClass];

/** Base colours per class (index = class id), before texture. */
const CLASS_RGB: ReadonlyArray<readonly [number, number, number]> = [
  [86, 112, 60],
  [168, 164, 154],
  [64, 65, 68],
  [78, 78, 80],
  [226, 226, 220],
  [222, 180, 48],
  [196, 194, 186],
];
/** Texture amplitude (± levels) per class: grass and asphalt grainy, paint nearly flat. */
const CLASS_NOISE = [22, 10, 9, 9, 6, 6, 6];
/** Lidar return intensity per class (0–255 scale like nuScenes). */
export const CLASS_INTENSITY = [6, 18, 9, 9, 80, 70, 25];

export const GROUND_RESOLUTION_M = 0.1;

/** A class raster over the map canvas: row 0 at y = 0 (south), column 0 at x = 0 (west). */
export interface GroundClasses {
  width: number;
  height: number;
  resolutionM: number;
  classes: Uint8Array;
}

/** Fills a polygon (even–odd rule, cell centres inside) with a class. Hand-written scanline: fast and exact. */
export function fillPolygon(target: GroundClasses, polygon: readonly Point2[], value: number): void {
  const { width, height, resolutionM, classes } = target;
  const n = polygon.length;
  if (n < 3) return;
  let minY = Number.POSITIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  for (const [, y] of polygon) {
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const rowStart = Math.max(0, Math.ceil(minY / resolutionM - 0.5));
  const rowEnd = Math.min(height - 1, Math.floor(maxY / resolutionM - 0.5));
  const xs: number[] = [];
  for (let row = rowStart; row <= rowEnd; row++) {
    const y = (row + 0.5) * resolutionM;
    xs.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [xi, yi] = polygon[i];
      const [xj, yj] = polygon[j];
      if (yi > y !== yj > y) xs.push(xi + ((y - yi) / (yj - yi)) * (xj - xi));
    }
    xs.sort((a, b) => a - b);
    const base = row * width;
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const c0 = Math.max(0, Math.ceil(xs[k] / resolutionM - 0.5));
      const c1 = Math.min(width - 1, Math.floor(xs[k + 1] / resolutionM - 0.5));
      if (c1 >= c0) classes.fill(value, base + c0, base + c1 + 1);
    }
  }
}

/** A painted line along a path at lateral offset, `widthM` wide; dashed when `dashM` is given. */
function paintLine(
  target: GroundClasses,
  path: Path,
  offsetM: number,
  widthM: number,
  value: number,
  dash?: { onM: number; offM: number },
): void {
  const line = path.offset(offsetM);
  if (!dash) {
    fillPolygon(target, bandPolygon(line, -widthM / 2, widthM / 2, 1), value);
    return;
  }
  const period = dash.onM + dash.offM;
  for (let s = dash.offM / 2; s + 0.2 < line.lengthM; s += period) {
    const piece = line.slice(s, Math.min(line.lengthM, s + dash.onM));
    fillPolygon(target, bandPolygon(piece, -widthM / 2, widthM / 2, 1), value);
  }
}

function laneRangePath(edge: RoadEdge): Path {
  const end = edge.to === null ? edge.centre.lengthM : edge.centre.lengthM - LANE_SETBACK_M;
  return edge.centre.slice(LANE_SETBACK_M, end);
}

/** Paints the surface classes of a town. */
export function paintGroundClasses(
  network: SyntheticNetwork,
  resolutionM = GROUND_RESOLUTION_M,
): GroundClasses {
  const width = Math.ceil(network.canvasEdgeM[0] / resolutionM);
  const height = Math.ceil(network.canvasEdgeM[1] / resolutionM);
  const target: GroundClasses = { width, height, resolutionM, classes: new Uint8Array(width * height) };

  for (const walkway of network.walkways) fillPolygon(target, walkway, GroundClass.sidewalk);
  for (const carpark of network.carparks) fillPolygon(target, carpark.polygon, GroundClass.carpark);
  for (const edge of network.edges) {
    fillPolygon(target, bandPolygon(edge.centre, -edge.halfWidthM, edge.halfWidthM), GroundClass.asphalt);
  }
  for (const polygon of network.intersectionPolygons) fillPolygon(target, polygon, GroundClass.asphalt);

  const centreValue = network.driveOnLeft ? GroundClass.whitePaint : GroundClass.yellowPaint;
  for (const edge of network.edges) {
    const lanesPath = laneRangePath(edge);
    // Curb stones along both road edges, then a solid edge line just inside them.
    paintLine(target, edge.centre, edge.halfWidthM + 0.1, 0.2, GroundClass.curb);
    paintLine(target, edge.centre, -edge.halfWidthM - 0.1, 0.2, GroundClass.curb);
    paintLine(target, lanesPath, edge.halfWidthM - 0.3, 0.15, GroundClass.whitePaint);
    paintLine(target, lanesPath, -edge.halfWidthM + 0.3, 0.15, GroundClass.whitePaint);
    if (network.driveOnLeft) {
      paintLine(target, lanesPath, 0, 0.15, centreValue);
    } else {
      paintLine(target, lanesPath, 0.12, 0.12, centreValue);
      paintLine(target, lanesPath, -0.12, 0.12, centreValue);
    }
    for (let k = 1; k < edge.lanesPerDirection; k++) {
      for (const sign of [1, -1]) {
        paintLine(target, lanesPath, sign * k * LANE_WIDTH_M, 0.15, GroundClass.whitePaint, {
          onM: 3,
          offM: 5,
        });
      }
    }
  }
  // Zebra crossings: bars along the road, 0.5 m wide every metre across it.
  for (const crossing of network.crossings) {
    const [p0, p1, , p3] = crossing.polygon;
    // p0→p1 runs along the arm (crossing width), p0→p3 across the road.
    const across = Math.hypot(p3[0] - p0[0], p3[1] - p0[1]);
    const ux = (p3[0] - p0[0]) / across;
    const uy = (p3[1] - p0[1]) / across;
    const vx = p1[0] - p0[0];
    const vy = p1[1] - p0[1];
    for (let t = 0.5; t + 0.5 <= across - 0.25; t += 1) {
      const a: Point2 = [p0[0] + ux * t, p0[1] + uy * t];
      const b: Point2 = [a[0] + ux * 0.5, a[1] + uy * 0.5];
      fillPolygon(
        target,
        [
          [a[0] + vx * 0.05, a[1] + vy * 0.05],
          [a[0] + vx * 0.95, a[1] + vy * 0.95],
          [b[0] + vx * 0.95, b[1] + vy * 0.95],
          [b[0] + vx * 0.05, b[1] + vy * 0.05],
        ],
        GroundClass.whitePaint,
      );
    }
  }
  for (const stop of network.stopLines) fillPolygon(target, stop.polygon, GroundClass.whitePaint);
  // Car park bays: a white line between neighbouring bays.
  for (const carpark of network.carparks) {
    const edge = network.edges[carpark.edge];
    const heading = edge.centre.startPose.heading;
    for (let k = 0; k <= carpark.slots.length; k++) {
      const slot = carpark.slots[Math.min(k, carpark.slots.length - 1)];
      const shift = (k === carpark.slots.length ? 1.35 : -1.35) * 1;
      const cx = slot.x + shift * Math.cos(heading);
      const cy = slot.y + shift * Math.sin(heading);
      const dir = { x: Math.cos(carpark.orientation), y: Math.sin(carpark.orientation) };
      const a: Point2 = [cx - dir.x * 2.8, cy - dir.y * 2.8];
      const b: Point2 = [cx + dir.x * 2.8, cy + dir.y * 2.8];
      const nx = -dir.y * 0.06;
      const ny = dir.x * 0.06;
      fillPolygon(
        target,
        [
          [a[0] - nx, a[1] - ny],
          [b[0] - nx, b[1] - ny],
          [b[0] + nx, b[1] + ny],
          [a[0] + nx, a[1] + ny],
        ],
        GroundClass.whitePaint,
      );
    }
  }
  return target;
}

/**
 * The camera's view of the ground: class colours with a grain texture and, on grass, slow 4 m patches, so
 * the images are not flat. `rgb` may live in a SharedArrayBuffer (the render workers read it without copies).
 * The grain comes from a fixed xorshift sequence over the cells in order, so it is the same on every run.
 */
export function groundRasterFromClasses(ground: GroundClasses, shared = false): GroundRaster {
  const { width, height, classes } = ground;
  const bytes = width * height * 3;
  const rgb = new Uint8Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const classCount = CLASS_RGB.length;
  // Colour per (class, grain level 0..63) precomputed: the inner loop is a table lookup.
  const levels = 64;
  const table = new Uint8Array(classCount * levels * 3);
  for (let c = 0; c < classCount; c++) {
    for (let l = 0; l < levels; l++) {
      const delta = (l / (levels - 1) - 0.5) * 2 * CLASS_NOISE[c];
      const o = (c * levels + l) * 3;
      table[o] = clamp(CLASS_RGB[c][0] + delta);
      table[o + 1] = clamp(CLASS_RGB[c][1] + delta);
      table[o + 2] = clamp(CLASS_RGB[c][2] + delta * 0.8);
    }
  }
  const patch = 40; // cells per grass patch side (4 m)
  const patchColumns = Math.ceil(width / patch);
  const patchShift = new Int8Array(patchColumns * Math.ceil(height / patch));
  let state = 0x9e3779b9 | 0;
  for (let i = 0; i < patchShift.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    patchShift[i] = ((state >>> 0) % 25) - 12;
  }
  const grass = GroundClass.grass;
  let i = 0;
  let o = 0;
  for (let row = 0; row < height; row++) {
    const patchRow = ((row / patch) | 0) * patchColumns;
    for (let col = 0; col < width; col++, i++, o += 3) {
      const cls = classes[i];
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      let level = state & 63;
      if (cls === grass) {
        level += patchShift[patchRow + ((col / patch) | 0)];
        level = level < 0 ? 0 : Math.min(level, 63);
      }
      const t = (cls * levels + level) * 3;
      rgb[o] = table[t];
      rgb[o + 1] = table[t + 1];
      rgb[o + 2] = table[t + 2];
    }
  }
  return { originXM: 0, originYM: 0, resolutionM: ground.resolutionM, width, height, rgb };
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/**
 * The legacy semantic prior (maps/<md5>.png): 255 on drivable surface (roads, intersections, car parks), 0
 * elsewhere, 0.1 m per pixel, image row 0 at the north edge (the devkit's MapMask maps y to row H − y/res).
 * Painted straight from the polygons with y mirrored, so no full-resolution class raster is needed.
 */
export function semanticPriorMask(
  network: SyntheticNetwork,
  resolutionM = GROUND_RESOLUTION_M,
): GroundClasses {
  const width = Math.ceil(network.canvasEdgeM[0] / resolutionM);
  const height = Math.ceil(network.canvasEdgeM[1] / resolutionM);
  const target: GroundClasses = { width, height, resolutionM, classes: new Uint8Array(width * height) };
  const top = height * resolutionM;
  const mirror = (polygon: readonly Point2[]): Point2[] => polygon.map(([x, y]) => [x, top - y]);
  for (const edge of network.edges) {
    fillPolygon(target, mirror(bandPolygon(edge.centre, -edge.halfWidthM, edge.halfWidthM)), 255);
  }
  for (const polygon of network.intersectionPolygons) fillPolygon(target, mirror(polygon), 255);
  for (const carpark of network.carparks) fillPolygon(target, mirror(carpark.polygon), 255);
  return target;
}

/**
 * The basemap (maps/basemap/<location>.png): the class colours at `metresPerPixel`, north up. The devkit
 * stretches it over the canvas, so any resolution works; 0.5 m keeps it small and quick.
 */
export function basemapImage(
  network: SyntheticNetwork,
  metresPerPixel = 0.5,
): { rgb: Uint8Array; width: number; height: number } {
  const ground = paintGroundClasses(network, metresPerPixel);
  const { width, height, classes } = ground;
  const rgb = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const colour = CLASS_RGB[classes[r * width + c]];
      const d = ((height - 1 - r) * width + c) * 3;
      rgb[d] = colour[0];
      rgb[d + 1] = colour[1];
      rgb[d + 2] = colour[2];
    }
  }
  return { rgb, width, height };
}

/** Class of the ground at a global point (grass outside the canvas). */
export function groundClassAt(ground: GroundClasses, x: number, y: number): number {
  const col = Math.floor(x / ground.resolutionM);
  const row = Math.floor(y / ground.resolutionM);
  if (col < 0 || row < 0 || col >= ground.width || row >= ground.height) return GroundClass.grass;
  return ground.classes[row * ground.width + col];
}
