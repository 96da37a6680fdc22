import { SpikedriveError } from '../../../src/util/index.ts';
import { prepareCamera } from './camera.ts';
import { drawCuboids, drawShadows, type Lighting, type RasterTargets, validateCuboids } from './cuboids.ts';
import { drawGroundAndSky, fogTable, prepareGround } from './ground.ts';
import type { CameraRender, CameraView, RenderOptions, RenderWorld } from './types.ts';

const DEFAULT_FOG_DISTANCE_M = 180;
/** From the south-west, 50° above the horizon. */
const DEFAULT_SUN: [number, number, number] = [
  -Math.cos((50 * Math.PI) / 180) * Math.SQRT1_2,
  -Math.cos((50 * Math.PI) / 180) * Math.SQRT1_2,
  Math.sin((50 * Math.PI) / 180),
];
const DEFAULT_NOISE = 6;
const MAX_NOISE = 32;

// Scratch buffers reused across renders of the same size (one set per worker thread, as modules are).
let scratchSize = 0;
let invDepth = new Float32Array(0);
let owner = new Int32Array(0);
let shadowed = new Uint8Array(0);
const noiseCache = new Map<string, Int8Array>();

function scratch(pixels: number): void {
  if (scratchSize === pixels) return;
  scratchSize = pixels;
  invDepth = new Float32Array(pixels);
  owner = new Int32Array(pixels);
  shadowed = new Uint8Array(pixels);
}

/** Fixed-pattern sensor noise, a hash of the pixel position: the same every frame and every run. */
function noiseFor(width: number, height: number, amplitude: number): Int8Array {
  const key = `${width}x${height}x${amplitude}`;
  let noise = noiseCache.get(key);
  if (!noise) {
    noise = new Int8Array(width * height);
    if (amplitude > 0) {
      const half = amplitude >> 1;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y + 0x9e37, 0x165667b1);
          h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
          h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
          h ^= h >>> 16;
          noise[y * width + x] = ((h >>> 0) % (amplitude + 1)) - half;
        }
      }
    }
    if (noiseCache.size > 8) noiseCache.clear();
    noiseCache.set(key, noise);
  }
  return noise;
}

function resolveOptions(options: RenderOptions): {
  fogDistanceM: number;
  sun: [number, number, number];
  shadows: boolean;
  noiseAmplitude: number;
  outside: [number, number, number] | undefined;
} {
  const fogDistanceM = options.fogDistanceM ?? DEFAULT_FOG_DISTANCE_M;
  if (!(fogDistanceM > 0) || !Number.isFinite(fogDistanceM)) {
    throw new SpikedriveError(`fogDistanceM ${fogDistanceM} must be a positive number of metres`, {
      fix: 'use e.g. 180 (clear day) or 60 (haze)',
      subject: 'RenderOptions.fogDistanceM',
    });
  }
  const s = options.sunDirection ?? DEFAULT_SUN;
  const norm = Math.hypot(s[0], s[1], s[2]);
  if (!(norm > 0) || !Number.isFinite(norm) || s[2] <= 0) {
    throw new SpikedriveError(`sunDirection [${s.join(', ')}] is not a direction above the horizon`, {
      fix: 'give a global-frame vector towards the sun with positive z',
      subject: 'RenderOptions.sunDirection',
    });
  }
  const noiseAmplitude = options.noiseAmplitude ?? DEFAULT_NOISE;
  if (!Number.isInteger(noiseAmplitude) || noiseAmplitude < 0 || noiseAmplitude > MAX_NOISE) {
    throw new SpikedriveError(`noiseAmplitude ${noiseAmplitude} is outside 0–${MAX_NOISE}`, {
      fix: 'use a whole number of grey levels, 0 for none',
      subject: 'RenderOptions.noiseAmplitude',
    });
  }
  const outside = options.outsideGroundRgb;
  if (outside && !(outside.length === 3 && outside.every((v) => v >= 0 && v <= 255))) {
    throw new SpikedriveError(`outsideGroundRgb [${outside.join(', ')}] is not three bytes`, {
      fix: 'give [r, g, b] with values 0–255',
      subject: 'RenderOptions.outsideGroundRgb',
    });
  }
  return {
    fogDistanceM,
    sun: [s[0] / norm, s[1] / norm, s[2] / norm],
    shadows: options.shadows ?? true,
    noiseAmplitude,
    outside,
  };
}

/**
 * Renders one camera image of the world: ground and sky per pixel (ray ∩ z = 0), then shadows and the
 * cuboids with a depth buffer. Synchronous and deterministic: the same inputs give byte-identical RGB.
 * Visibility is counted per cuboid id (every cuboid of the world has an entry, 0 when out of view).
 * The ground's mip pyramid is built on first use and cached per `ground.rgb` array: paint a new array
 * rather than changing one already rendered.
 */
export function renderCamera(
  view: CameraView,
  world: RenderWorld,
  options: RenderOptions = {},
): CameraRender {
  const cam = prepareCamera(view);
  if (!world?.ground) {
    throw new SpikedriveError('RenderWorld has no ground raster', {
      fix: 'pass { ground, cuboids } with the scene’s ground raster',
      subject: 'RenderWorld.ground',
    });
  }
  const ground = prepareGround(world.ground);
  validateCuboids(world.cuboids);
  const opts = resolveOptions(options);
  const pixels = cam.width * cam.height;
  scratch(pixels);
  const rgb = new Uint8Array(pixels * 3);
  const targets: RasterTargets = {
    rgb: new Uint8ClampedArray(rgb.buffer),
    invDepth,
    owner,
    shadowed,
    noise: noiseFor(cam.width, cam.height, opts.noiseAmplitude),
  };
  owner.fill(-1);
  shadowed.fill(0);
  const fog = fogTable(opts.fogDistanceM);
  const light: Lighting = { sun: opts.sun, fog };
  drawGroundAndSky(cam, ground, fog, opts.outside ?? ground.meanRgb, targets.rgb, invDepth, targets.noise);
  const cuboids = world.cuboids;
  if (opts.shadows) drawShadows(cam, cuboids, light, targets);
  const visible = new Int32Array(cuboids.length);
  const unoccluded = new Int32Array(cuboids.length);
  drawCuboids(cam, cuboids, light, targets, visible, unoccluded);
  const visiblePixels = new Map<number, number>();
  const unoccludedPixels = new Map<number, number>();
  cuboids.forEach((c, i) => {
    visiblePixels.set(c.id, visible[i]);
    unoccludedPixels.set(c.id, unoccluded[i]);
  });
  return { rgb, visiblePixels, unoccludedPixels };
}
