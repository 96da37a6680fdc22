import { SpikedriveError } from '../../../src/util/index.ts';
import type { PreparedCamera } from './camera.ts';
import type { GroundRaster } from './types.ts';

/** One level of the ground's mip pyramid: level k has cells 2^k times the raster's. */
interface MipLevel {
  width: number;
  height: number;
  cellM: number;
  rgb: Uint8Array;
}

export interface PreparedGround {
  originXM: number;
  originYM: number;
  resolutionM: number;
  width: number;
  height: number;
  levels: MipLevel[];
  meanRgb: [number, number, number];
}

// Prepared once per raster (the world keeps one ground for a whole scene); keyed by the pixel array so a
// fresh GroundRaster object around the same pixels reuses the pyramid. Level 0 is the caller's array
// itself (no copy). Square-tiled texel storage was tried for cache locality and measured no faster on a
// 680 m town raster (46 M cells), so rows stay row-major.
const preparedCache = new WeakMap<Uint8Array, PreparedGround>();

function validateGround(ground: GroundRaster): void {
  const { originXM, originYM, resolutionM, width, height, rgb } = ground;
  if (
    !Number.isFinite(originXM) ||
    !Number.isFinite(originYM) ||
    !(resolutionM > 0) ||
    !Number.isFinite(resolutionM)
  ) {
    throw new SpikedriveError(
      `ground raster origin (${originXM}, ${originYM}) m or resolution ${resolutionM} m is not usable`,
      {
        fix: 'give a finite origin in global metres and a positive cell size (e.g. 0.1 m)',
        subject: 'GroundRaster',
      },
    );
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SpikedriveError(
      `ground raster size ${width}×${height} is not a positive whole number of cells`,
      {
        fix: 'set width and height to the raster’s column and row counts',
        subject: 'GroundRaster',
      },
    );
  }
  if (!(rgb instanceof Uint8Array) || rgb.length !== width * height * 3) {
    throw new SpikedriveError(
      `ground raster has ${rgb?.length ?? 0} bytes, expected ${width}×${height}×3 = ${width * height * 3}`,
      {
        fix: 'store 3 bytes (R, G, B) per cell, row-major, row 0 at the south edge',
        subject: 'GroundRaster.rgb',
      },
    );
  }
}

function halve(level: MipLevel): MipLevel {
  const width = Math.ceil(level.width / 2);
  const height = Math.ceil(level.height / 2);
  const src = level.rgb;
  const sw = level.width;
  const rgb = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const r0 = 2 * r;
    const r1 = Math.min(r0 + 1, level.height - 1);
    for (let c = 0; c < width; c++) {
      const c0 = 2 * c;
      const c1 = Math.min(c0 + 1, sw - 1);
      const a = (r0 * sw + c0) * 3;
      const b = (r0 * sw + c1) * 3;
      const d = (r1 * sw + c0) * 3;
      const e = (r1 * sw + c1) * 3;
      const o = (r * width + c) * 3;
      for (let k = 0; k < 3; k++) rgb[o + k] = (src[a + k] + src[b + k] + src[d + k] + src[e + k] + 2) >> 2;
    }
  }
  return { width, height, cellM: level.cellM * 2, rgb };
}

/** Validates the raster and builds (or reuses) its mip pyramid, so far ground is averaged, not aliased. */
export function prepareGround(ground: GroundRaster): PreparedGround {
  validateGround(ground);
  const cached = preparedCache.get(ground.rgb);
  if (
    cached &&
    cached.originXM === ground.originXM &&
    cached.originYM === ground.originYM &&
    cached.resolutionM === ground.resolutionM &&
    cached.width === ground.width &&
    cached.height === ground.height
  ) {
    return cached;
  }
  const levels: MipLevel[] = [
    { width: ground.width, height: ground.height, cellM: ground.resolutionM, rgb: ground.rgb },
  ];
  while (levels.length < 12) {
    const last = levels[levels.length - 1];
    if (last.width === 1 && last.height === 1) break;
    levels.push(halve(last));
  }
  const sum = [0, 0, 0];
  const src = ground.rgb;
  for (let i = 0; i < src.length; i += 3) {
    sum[0] += src[i];
    sum[1] += src[i + 1];
    sum[2] += src[i + 2];
  }
  const n = ground.width * ground.height;
  const prepared: PreparedGround = {
    originXM: ground.originXM,
    originYM: ground.originYM,
    resolutionM: ground.resolutionM,
    width: ground.width,
    height: ground.height,
    levels,
    meanRgb: [Math.round(sum[0] / n), Math.round(sum[1] / n), Math.round(sum[2] / n)],
  };
  preparedCache.set(ground.rgb, prepared);
  return prepared;
}

/** Sky colours by elevation (256 steps from the horizon to the zenith), RGB interleaved. */
export const HORIZON_RGB: [number, number, number] = [204, 212, 220];
const ZENITH_RGB: [number, number, number] = [88, 138, 200];
const SKY_LUT = (() => {
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) ** 0.55;
    for (let k = 0; k < 3; k++)
      lut[i * 3 + k] = Math.round(HORIZON_RGB[k] + (ZENITH_RGB[k] - HORIZON_RGB[k]) * t);
  }
  return lut;
})();

const GROUND_DEPTH_BIAS = 1 - 1e-5;
/** Steepest texel-edge blend when the ground is magnified (edges no sharper than 1/8 texel). */
const MAX_SHARPEN = 8;

/** Fog table resolution: entries per metre of ray length. */
const FOG_STEPS_PER_M = 2;

export interface FogTable {
  /** 256 · (1 − fog) per half metre of ray length, 0 at and past `maxDistanceM`. */
  weights: Uint16Array;
  maxDistanceM: number;
  fogDistanceM: number;
}

const fogCache = new Map<number, FogTable>();

export function fogTable(fogDistanceM: number): FogTable {
  let table = fogCache.get(fogDistanceM);
  if (!table) {
    // Past 6 fog distances less than 0.25 % of the ground shows: draw haze and skip the sampling.
    const maxDistanceM = fogDistanceM * 6;
    const n = Math.ceil(maxDistanceM * FOG_STEPS_PER_M) + 1;
    const weights = new Uint16Array(n);
    for (let i = 0; i < n; i++) weights[i] = Math.round(256 * Math.exp(-i / FOG_STEPS_PER_M / fogDistanceM));
    table = { weights, maxDistanceM, fogDistanceM };
    fogCache.set(fogDistanceM, table);
  }
  return table;
}

/** 256 · (1 − fog) at a ray length, as the ground uses (so cuboids fade the same way). */
export function fogWeightAt(fog: FogTable, distanceM: number): number {
  if (!(distanceM < fog.maxDistanceM)) return 0;
  return fog.weights[(distanceM * FOG_STEPS_PER_M) | 0];
}

/**
 * Fills every pixel with the ground (ray ∩ z = 0, mip-mapped bilinear sample, distance fog) or the sky
 * gradient, and writes the ground's inverse camera depth (1/z; 0 for sky) for the cuboid depth test.
 */
export function drawGroundAndSky(
  cam: PreparedCamera,
  ground: PreparedGround,
  fog: FogTable,
  outsideRgb: readonly [number, number, number],
  rgb: Uint8ClampedArray,
  invDepth: Float32Array,
  noise: Int8Array,
): void {
  const { width, height, rayU, rayV, rayBase, origin } = cam;
  const camX = origin[0];
  const camY = origin[1];
  const camZ = origin[2];
  const focal = (cam.fx + cam.fy) / 2;
  const invFocalSq = 1 / (focal * focal);
  const ox = ground.originXM;
  const oy = ground.originYM;
  const levels = ground.levels;
  const maxLevel = levels.length - 1;
  // Level k is chosen once the pixel's ground footprint reaches its cell size.
  const levelThresholdSq = new Float64Array(levels.length + 1);
  for (let k = 0; k < levels.length; k++) levelThresholdSq[k] = levels[k].cellM * levels[k].cellM;
  levelThresholdSq[levels.length] = Number.POSITIVE_INFINITY;
  const cellSq0 = levelThresholdSq[0];
  const fogWeights = fog.weights;
  const maxDistanceM = fog.maxDistanceM;
  const hazeR = HORIZON_RGB[0];
  const hazeG = HORIZON_RGB[1];
  const hazeB = HORIZON_RGB[2];
  const outR = outsideRgb[0];
  const outG = outsideRgb[1];
  const outB = outsideRgb[2];
  const sky = SKY_LUT;
  const ux = rayU[0];
  const uy = rayU[1];
  const uz = rayU[2];

  for (let y = 0; y < height; y++) {
    const v = y + 0.5;
    // Ray direction at the centre of pixel (0, y), stepped by rayU per column.
    let dx = rayBase[0] + rayV[0] * v + ux * 0.5;
    let dy = rayBase[1] + rayV[1] * v + uy * 0.5;
    let dz = rayBase[2] + rayV[2] * v + uz * 0.5;
    let p = y * width;
    for (let x = 0; x < width; x++, p++, dx += ux, dy += uy, dz += uz) {
      const o = p * 3;
      const n = noise[p];
      const lenSq = dx * dx + dy * dy + dz * dz;
      const len = Math.sqrt(lenSq);
      if (dz < 0) {
        const t = -camZ / dz;
        const dist = t * len;
        // A hair farther than true, so a cuboid standing on the ground wins the tie along its base.
        invDepth[p] = (-dz / camZ) * GROUND_DEPTH_BIAS;
        if (dist < maxDistanceM) {
          const gx = camX + t * dx;
          const gy = camY + t * dy;
          // Footprint² of the pixel on the ground: across r/f times along r/(f·sinθ).
          const footSq = (dist * dist * invFocalSq * len) / -dz;
          let level = 0;
          while (level < maxLevel && footSq >= levelThresholdSq[level + 1]) level++;
          const lv = levels[level];
          const lw = lv.width;
          const lh = lv.height;
          const fcx = (gx - ox) / lv.cellM - 0.5;
          const fcy = (gy - oy) / lv.cellM - 0.5;
          let gr: number;
          let gg: number;
          let gb: number;
          if (fcx < -1 || fcy < -1 || fcx >= lw || fcy >= lh) {
            gr = outR;
            gg = outG;
            gb = outB;
          } else {
            // Bilinear, clamped at the raster's edges (fcx ≥ −1, so truncation after +1 is a floor).
            let c0 = ((fcx + 1) | 0) - 1;
            let r0 = ((fcy + 1) | 0) - 1;
            let wx = fcx - c0;
            let wy = fcy - r0;
            if (level === 0 && footSq < cellSq0) {
              // Magnified: plain bilinear would smear a 10 cm lane line over many pixels. Steepen the
              // blend so texel edges are about one pixel wide (a pixel-footprint-aware filter).
              let k = Math.sqrt(cellSq0 / footSq);
              if (k > MAX_SHARPEN) k = MAX_SHARPEN;
              wx = 0.5 + (wx - 0.5) * k;
              wy = 0.5 + (wy - 0.5) * k;
              if (wx < 0) wx = 0;
              else if (wx > 1) wx = 1;
              if (wy < 0) wy = 0;
              else if (wy > 1) wy = 1;
            }
            let c1 = c0 + 1;
            let r1 = r0 + 1;
            if (c0 < 0) c0 = 0;
            if (r0 < 0) r0 = 0;
            if (c1 >= lw) c1 = lw - 1;
            if (r1 >= lh) r1 = lh - 1;
            const src = lv.rgb;
            const a = (r0 * lw + c0) * 3;
            const b = (r0 * lw + c1) * 3;
            const c = (r1 * lw + c0) * 3;
            const d = (r1 * lw + c1) * 3;
            const w00 = (1 - wx) * (1 - wy);
            const w01 = wx * (1 - wy);
            const w10 = (1 - wx) * wy;
            const w11 = wx * wy;
            gr = src[a] * w00 + src[b] * w01 + src[c] * w10 + src[d] * w11;
            gg = src[a + 1] * w00 + src[b + 1] * w01 + src[c + 1] * w10 + src[d + 1] * w11;
            gb = src[a + 2] * w00 + src[b + 2] * w01 + src[c + 2] * w10 + src[d + 2] * w11;
          }
          const w = fogWeights[(dist * FOG_STEPS_PER_M) | 0];
          const iw = 256 - w;
          // `rgb` is a clamped view, so noise cannot wrap around.
          rgb[o] = ((gr * w + hazeR * iw) >> 8) + n;
          rgb[o + 1] = ((gg * w + hazeG * iw) >> 8) + n;
          rgb[o + 2] = ((gb * w + hazeB * iw) >> 8) + n;
          continue;
        }
        rgb[o] = hazeR + n;
        rgb[o + 1] = hazeG + n;
        rgb[o + 2] = hazeB + n;
        continue;
      }
      invDepth[p] = 0;
      const s = ((dz / len) * 255) | 0;
      const so = s * 3;
      rgb[o] = sky[so] + n;
      rgb[o + 1] = sky[so + 1] + n;
      rgb[o + 2] = sky[so + 2] + n;
    }
  }
}
