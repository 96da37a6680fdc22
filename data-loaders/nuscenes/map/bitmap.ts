/**
 * The devkit's `BitMap`: the lidar basemap (`maps/basemap/<location>.png`) or the legacy semantic prior
 * (`maps/<md5>.png`, inverted so drivable surface is bright), stretched over the whole map canvas: the
 * devkit draws it with matplotlib `extent=[0, w, 0, h]`, i.e. image row 0 at the north edge (y = h).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { SpikedriveError } from '../../../src/util/errors.ts';
import type { MapLocation } from '../types.ts';
import { MAP_LOCATIONS } from '../types.ts';
import { isMapLocation } from './load.ts';

export type BitMapLayer = 'basemap' | 'semantic_prior';

/** The legacy semantic-prior file name per location (as in the devkit's bitmap.py). */
export const SEMANTIC_PRIOR_HASHES: Record<MapLocation, string> = {
  'singapore-onenorth': '53992ee3023e5494b90c316c183be829',
  'singapore-hollandvillage': '37819e65e09e5547b8a3ceaefba56bb2',
  'singapore-queenstown': '93406b464a165eaba6d9de76ca09f5da',
  'boston-seaport': '36092f0b03a857c6a3403e25b4b7aab3',
};

export interface BitMapOptions {
  dataroot: string;
  mapName: string;
  layerName: BitMapLayer;
}

export class BitMap {
  readonly mapName: MapLocation;
  readonly layerName: BitMapLayer;
  readonly path: string;
  readonly width: number;
  readonly height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA), as the PNG stores it. */
  readonly channels: number;
  /** Row-major pixels, `channels` bytes each; row 0 is the map's north edge. */
  readonly image: Uint8Array;

  constructor(options: BitMapOptions) {
    if (!isMapLocation(options.mapName)) {
      throw new SpikedriveError(`unknown map name '${options.mapName}'`, {
        fix: `Use one of the four nuScenes locations: ${MAP_LOCATIONS.join(', ')}`,
        subject: 'mapName',
      });
    }
    if (options.layerName !== 'basemap' && options.layerName !== 'semantic_prior') {
      throw new SpikedriveError(`invalid bitmap layer '${String(options.layerName)}'`, {
        fix: "Use 'basemap' or 'semantic_prior'",
        subject: 'layerName',
      });
    }
    this.mapName = options.mapName;
    this.layerName = options.layerName;
    this.path =
      options.layerName === 'basemap'
        ? join(options.dataroot, 'maps', 'basemap', `${options.mapName}.png`)
        : join(options.dataroot, 'maps', `${SEMANTIC_PRIOR_HASHES[options.mapName]}.png`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.path);
    } catch (error) {
      throw new SpikedriveError(`cannot find ${options.layerName} ${this.path}`, {
        fix: 'Make sure the map is correctly installed (the Map Expansion download holds maps/basemap; the dataset holds maps/<md5>.png)',
        subject: this.path,
        cause: error,
      });
    }
    let png: PNG;
    try {
      png = PNG.sync.read(bytes);
    } catch (error) {
      throw new SpikedriveError(`${this.path} is not a readable PNG: ${(error as Error).message}`, {
        fix: 'Download the map again; the file is damaged',
        subject: this.path,
        cause: error,
      });
    }
    this.width = png.width;
    this.height = png.height;
    // pngjs expands every PNG to 8-bit RGBA; keep the channels the file has, as PIL/numpy would
    // (16-bit images are reduced to 8 bits, palette images expanded to RGBA).
    const colorType = (png as unknown as { colorType?: number }).colorType ?? 6;
    this.channels = colorType === 0 ? 1 : colorType === 4 ? 2 : colorType === 2 ? 3 : 4;
    const n = png.width * png.height;
    const image = new Uint8Array(n * this.channels);
    for (let i = 0; i < n; i++) {
      const src = i * 4;
      if (this.channels === 1) image[i] = png.data[src];
      else if (this.channels === 2) {
        image[i * 2] = png.data[src];
        image[i * 2 + 1] = png.data[src + 3];
      } else for (let c = 0; c < this.channels; c++) image[i * this.channels + c] = png.data[src + c];
    }
    if (options.layerName === 'semantic_prior') {
      // The devkit inverts the prior: image.max() - image.
      let max = 0;
      for (const v of image) if (v > max) max = v;
      for (let i = 0; i < image.length; i++) image[i] = max - image[i];
    }
    this.image = image;
  }

  /** The matplotlib extent the devkit draws with: [x_min, x_max, y_min, y_max] = [0, w, 0, h] metres. */
  extent(canvasEdge: readonly [number, number]): [number, number, number, number] {
    return [0, canvasEdge[0], 0, canvasEdge[1]];
  }

  /**
   * The pixel under global (x, y) when the image is stretched over `canvasEdge` ([w, h] m) as the devkit
   * draws it; null outside the map. Returns the pixel's channel values.
   */
  pixelAt(x: number, y: number, canvasEdge: readonly [number, number]): number[] | null {
    const [w, h] = canvasEdge;
    if (!(x >= 0 && x < w && y > 0 && y <= h)) return null;
    const col = Math.min(this.width - 1, Math.floor((x / w) * this.width));
    const row = Math.min(this.height - 1, Math.floor(((h - y) / h) * this.height));
    const start = (row * this.width + col) * this.channels;
    return Array.from(this.image.subarray(start, start + this.channels));
  }
}
