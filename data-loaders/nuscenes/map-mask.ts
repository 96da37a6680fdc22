import { existsSync, readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { SpikedriveError } from '../../src/util/index.ts';
import type { Matrix } from './geometry/index.ts';

/** A single-channel raster, row-major, row 0 at the top (north). */
export interface MaskImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Python's round-half-to-even, as numpy's `np.round`. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The devkit's `MapMask`: a legacy `semantic_prior` raster (maps/<md5>.png, 0.1 m/px natively, 255 =
 * drivable/sidewalk). The PNG must exist when the dataset is opened but is read lazily, as in the devkit.
 * Global (x, y) maps to pixel (round(x / res), round(H − y / res)), so row 0 is the north edge.
 */
export class MapMask {
  readonly imgFile: string;
  readonly resolution: number;
  readonly foreground = 255;
  readonly background = 0;
  private base: MaskImage | undefined;
  private readonly dilated = new Map<number, MaskImage>();

  constructor(imgFile: string, resolution = 0.1) {
    if (!existsSync(imgFile)) {
      throw new SpikedriveError(`map mask ${imgFile} does not exist`, {
        subject: imgFile,
        fix: 'The map table lists this PNG; copy the maps/ folder of the nuScenes download into the dataroot.',
      });
    }
    if (!(resolution >= 0.1)) {
      throw new SpikedriveError(`map resolution ${resolution} m is finer than the rasters' native 0.1 m`, {
        subject: 'mapResolution',
        fix: 'Use a mapResolution of at least 0.1 (metres per pixel).',
      });
    }
    this.imgFile = imgFile;
    this.resolution = resolution;
  }

  /** The raster at `resolution` (nearest-neighbour resized from 0.1 m/px, as the devkit does with PIL). */
  get baseMask(): MaskImage {
    if (this.base) return this.base;
    let png: PNG;
    try {
      png = PNG.sync.read(readFileSync(this.imgFile));
    } catch (error) {
      throw new SpikedriveError(`map mask ${this.imgFile} is not a readable PNG`, {
        subject: this.imgFile,
        fix: 'Re-download the nuScenes maps/ folder.',
        cause: error,
      });
    }
    const native = 0.1;
    const width = Math.trunc((png.width / this.resolution) * native);
    const height = Math.trunc((png.height / this.resolution) * native);
    const data = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      const sy = Math.min(png.height - 1, Math.floor(((y + 0.5) * png.height) / height));
      for (let x = 0; x < width; x++) {
        const sx = Math.min(png.width - 1, Math.floor(((x + 0.5) * png.width) / width));
        data[y * width + x] = png.data[(sy * png.width + sx) * 4];
      }
    }
    this.base = { data, width, height };
    return this.base;
  }

  /**
   * The mask, optionally dilated by `dilationM` metres. The devkit uses cv2's 5×5 chamfer distance
   * (DIST_L2, mask 5); this uses the exact Euclidean distance, so cells right at the dilation radius may
   * differ by one pixel.
   */
  mask(dilationM = 0): MaskImage {
    if (dilationM === 0) return this.baseMask;
    const cached = this.dilated.get(dilationM);
    if (cached) return cached;
    const { data, width, height } = this.baseMask;
    const distance = euclideanDistanceToForeground(data, width, height, this.foreground);
    const out = new Uint8Array(width * height);
    for (let i = 0; i < out.length; i++) {
      out[i] = distance[i] * this.resolution <= dilationM ? this.foreground : 0;
    }
    const result = { data: out, width, height };
    this.dilated.set(dilationM, result);
    return result;
  }

  /** Global → pixel, [[1/res, 0, 0, 0], [0, −1/res, 0, H], [0, 0, 1, 0], [0, 0, 0, 1]]. */
  get transformMatrix(): Matrix {
    const r = this.resolution;
    return [
      [1 / r, 0, 0, 0],
      [0, -1 / r, 0, this.baseMask.height],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
  }

  /** Pixel column and row of a global point (numpy rounding, half to even). */
  toPixelCoords(x: number, y: number): [number, number] {
    const r = this.resolution;
    return [roundHalfEven(x / r), roundHalfEven(-y / r + this.baseMask.height)];
  }

  /** Whether a global point lies on the (optionally dilated) foreground. */
  isOnMask(x: number, y: number, dilationM = 0): boolean {
    const [px, py] = this.toPixelCoords(x, y);
    const m = this.mask(dilationM);
    if (px < 0 || py < 0 || px >= m.width || py >= m.height) return false;
    return m.data[py * m.width + px] === this.foreground;
  }
}

/**
 * Exact Euclidean distance (in pixels) from each pixel to the nearest foreground pixel: the separable
 * lower-envelope algorithm of Felzenszwalb & Huttenlocher. Hand-written: no maintained npm package offers
 * a plain distance transform over a Uint8Array.
 */
function euclideanDistanceToForeground(
  data: Uint8Array,
  width: number,
  height: number,
  fg: number,
): Float64Array {
  const inf = 1e20;
  const f = new Float64Array(width * height);
  for (let i = 0; i < f.length; i++) f[i] = data[i] === fg ? 0 : inf;
  const n = Math.max(width, height);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  const line = new Float64Array(n);
  const pass = (len: number, get: (k: number) => number, set: (k: number, value: number) => void) => {
    for (let q = 0; q < len; q++) line[q] = get(q);
    let k = 0;
    v[0] = 0;
    z[0] = -inf;
    z[1] = inf;
    for (let q = 1; q < len; q++) {
      let s = (line[q] + q * q - (line[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
      while (s <= z[k]) {
        k--;
        s = (line[q] + q * q - (line[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = inf;
    }
    k = 0;
    for (let q = 0; q < len; q++) {
      while (z[k + 1] < q) k++;
      d[q] = (q - v[k]) * (q - v[k]) + line[v[k]];
    }
    for (let q = 0; q < len; q++) set(q, d[q]);
  };
  for (let x = 0; x < width; x++) {
    pass(
      height,
      (y) => f[y * width + x],
      (y, value) => {
        f[y * width + x] = value;
      },
    );
  }
  for (let y = 0; y < height; y++) {
    pass(
      width,
      (x) => f[y * width + x],
      (x, value) => {
        f[y * width + x] = value;
      },
    );
  }
  for (let i = 0; i < f.length; i++) f[i] = Math.sqrt(f[i]);
  return f;
}
