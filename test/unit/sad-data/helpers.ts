import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { NuScenes } from '../../../data-loaders/nuscenes/index.ts';
import { bevGrid, DEFAULT_SAD_DATA_OPTIONS, type LabelAnnotation } from '../../../data-loaders/sad/index.ts';
import { GOLDEN_IMAGE_OPTIONS, writeGoldenWorld } from './hand-world.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const GOLDEN_DIR = join(here, '../../fixtures/sad-golden');
/** The devkit-format fixture dataroot (real nuScenes layout, few samples per scene). */
export const FIXTURE_DATAROOT = join(here, '../../fixtures/nuscenes');

/** The reference grid: ±50 m at 0.5 m, 200 × 200. */
export const GRID = bevGrid(DEFAULT_SAD_DATA_OPTIONS);

/** The hand-built golden world written to a fresh temporary folder; `dispose` removes it. */
export function goldenWorld(options: { images?: boolean } = {}): {
  dataroot: string;
  nusc: NuScenes;
  dispose: () => void;
} {
  const dataroot = mkdtempSync(join(tmpdir(), 'sad-world-'));
  writeGoldenWorld(dataroot, options);
  const nusc = new NuScenes({ dataroot, version: 'v1.0-mini', verbose: false });
  return { dataroot, nusc, dispose: () => rmSync(dataroot, { recursive: true, force: true }) };
}

/** A 40 × 40 grid (±10 m): cheap labels for tests about plumbing rather than labels. */
export const SMALL_GRID = {
  xBound: [-10, 10, 0.5] as [number, number, number],
  yBound: [-10, 10, 0.5] as [number, number, number],
};

/** SAD options for the golden world's small images, with any overrides. */
export function goldenOptions(overrides: Record<string, unknown> = {}) {
  return { ...GOLDEN_IMAGE_OPTIONS, nFutureFrames: 6, ...overrides };
}

/** An annotation for label tests: a box at (x, y) with yaw, size (w, l, h), identity ego unless moved. */
export function annotation(
  instanceToken: string,
  categoryName: string,
  x: number,
  y: number,
  options: { yaw?: number; size?: [number, number, number]; visibility?: string } = {},
): LabelAnnotation {
  const yaw = options.yaw ?? 0;
  return {
    token: `ann-${instanceToken}`,
    instanceToken,
    categoryName,
    visibilityToken: options.visibility ?? '4',
    translation: [x, y, 1],
    size: options.size ?? [2, 4, 1.5],
    rotation: [Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)],
  };
}

export const IDENTITY_POSE = { translation: [0, 0, 0], rotation: [1, 0, 0, 0] };

/** Linear indices of the non-zero cells of a map. */
export function nonZeroCells(map: ArrayLike<number>, offset = 0, length = map.length - offset): number[] {
  const out: number[] = [];
  for (let i = 0; i < length; i++) if (map[offset + i] !== 0) out.push(i);
  return out;
}

/** Cells of the rectangle rows r0..r1 × cols c0..c1 (inclusive), as linear indices on a `cols`-wide grid. */
export function rectangleCells(r0: number, r1: number, c0: number, c1: number, cols = 200): number[] {
  const out: number[] = [];
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) out.push(r * cols + c);
  return out;
}

// ------------------------------------------------------------------ golden fixtures

export interface EncodedArray {
  shape: number[];
  dtype: string;
  values: number[];
  index: string;
}

/** Decodes the fixtures' dictionary encoding (distinct values + gzip'd uint16 indices). */
export function decode(e: EncodedArray): Float64Array {
  const bytes = gunzipSync(Buffer.from(e.index, 'base64'));
  const index = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  return Float64Array.from(index, (i) => e.values[i]);
}

export interface GoldenSample {
  index: number;
  tokens: string[];
  image_md5: string[][];
  image_shape: number[];
  intrinsics: number[][][][];
  extrinsics: number[][][][];
  future_egomotion: number[][];
  gt_trajectory: number[][];
  command: string;
  sampler: { v0: number; kappa: number };
  target_point: number[];
  segmentation: EncodedArray;
  pedestrian: EncodedArray;
  instance: EncodedArray;
  centerness: EncodedArray;
  offset: EncodedArray;
  flow: EncodedArray;
  hdmap: EncodedArray;
  warped?: Record<
    'segmentation' | 'pedestrian' | 'instance' | 'centerness' | 'offset' | 'flow',
    EncodedArray
  >;
}

export interface Golden {
  reference: string;
  devkit: string;
  config: {
    TIME_RECEPTIVE_FIELD: number;
    N_FUTURE_FRAMES: number;
    IMAGE: {
      FINAL_DIM: [number, number];
      RESIZE_SCALE: number;
      TOP_CROP: number;
      ORIGINAL_WIDTH: number;
      ORIGINAL_HEIGHT: number;
    };
    LIFT: {
      X_BOUND: [number, number, number];
      Y_BOUND: [number, number, number];
      Z_BOUND: [number, number, number];
    };
    DATASET: { FILTER_INVISIBLE_VEHICLES: boolean; IGNORE_INDEX: number };
    HDMAP_ELEMENTS: string[];
  };
  splits: Record<'train' | 'val', { scenes: string[]; windows: string[][]; samples: GoldenSample[] }>;
}

export function readGolden(name: string): Golden {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, name), 'utf8')) as Golden;
}

/** The SAD data options a golden file was made with. */
export function goldenDataOptions(g: Golden) {
  const c = g.config;
  return {
    timeReceptiveField: c.TIME_RECEPTIVE_FIELD,
    nFutureFrames: c.N_FUTURE_FRAMES,
    finalDim: c.IMAGE.FINAL_DIM,
    resizeScale: c.IMAGE.RESIZE_SCALE,
    topCrop: c.IMAGE.TOP_CROP,
    originalWidth: c.IMAGE.ORIGINAL_WIDTH,
    originalHeight: c.IMAGE.ORIGINAL_HEIGHT,
    xBound: c.LIFT.X_BOUND,
    yBound: c.LIFT.Y_BOUND,
    zBound: c.LIFT.Z_BOUND,
    filterInvisibleVehicles: c.DATASET.FILTER_INVISIBLE_VEHICLES,
    ignoreIndex: c.DATASET.IGNORE_INDEX,
    hdmapElements: c.HDMAP_ELEMENTS,
  };
}

/** Count of positions where |a − b| > tolerance. */
export function mismatches(a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 0): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tolerance)) n++;
  return n;
}
