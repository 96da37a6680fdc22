import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NuScenes, type NuScenesOptions } from '../../../data-loaders/nuscenes/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const FIXTURE_DATAROOT = join(here, '../../fixtures/nuscenes');
export const GOLDEN_PATH = join(here, '../../fixtures/nuscenes-golden/devkit.json');

let cached: NuScenes | undefined;
/** The fixture dataset, loaded once per test file. */
export function fixture(): NuScenes {
  cached ??= new NuScenes({ version: 'v1.0-mini', dataroot: FIXTURE_DATAROOT, verbose: false });
  return cached;
}

export function loadFixture(options: NuScenesOptions = {}): NuScenes {
  return new NuScenes({ version: 'v1.0-mini', dataroot: FIXTURE_DATAROOT, verbose: false, ...options });
}

export interface GoldenBox {
  token: string;
  name: string;
  center: number[];
  wlh: number[];
  orientation: number[];
  velocity: (number | null)[];
  corners: number[][];
}

export interface Golden {
  devkit_commit: string;
  get_sample_data: {
    sample_data_token: string;
    options: {
      box_vis_level?: number;
      use_flat_vehicle_coordinates?: boolean;
      selected_anntokens?: string[];
    };
    path: string;
    boxes: GoldenBox[];
    camera_intrinsic: number[][] | null;
  }[];
  get_boxes: Record<string, GoldenBox[]>;
  box_velocity: Record<string, { default: (number | null)[]; 'max_0.3': (number | null)[] }>;
  box_in_image: { sample_data_token: string; token: string; ALL: boolean; ANY: boolean }[];
  derived: {
    sample: Record<string, { data: Record<string, string>; anns: string[] }>;
    category_name: Record<string, string>;
    sample_data: Record<string, [string, string]>;
    map_token: Record<string, string>;
  };
  image: {
    sample_data_token: string;
    decoded_md5: string;
    resized_cropped_md5: string;
    shape_chw: number[];
    channel_means: number[];
    samples: [number, number, number, number][];
  };
}

export function golden(): Golden {
  return JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Golden;
}

/**
 * A scratch copy of the fixture's tables and map rasters (no blobs), for tests that break things.
 * Returns the dataroot and a helper to rewrite a table.
 */
export function scratchDataroot(): {
  dataroot: string;
  table: (name: string) => Record<string, unknown>[];
  write: (name: string, rows: unknown) => void;
  writeRaw: (name: string, text: string) => void;
  cleanup: () => void;
} {
  const dataroot = mkdtempSync(join(tmpdir(), 'spikedrive-nusc-'));
  cpSync(join(FIXTURE_DATAROOT, 'v1.0-mini'), join(dataroot, 'v1.0-mini'), { recursive: true });
  cpSync(join(FIXTURE_DATAROOT, 'maps'), join(dataroot, 'maps'), {
    recursive: true,
    filter: (src) => !src.includes('expansion') && !src.includes('basemap'),
  });
  const path = (name: string) => join(dataroot, 'v1.0-mini', `${name}.json`);
  return {
    dataroot,
    table: (name) => JSON.parse(readFileSync(path(name), 'utf8')) as Record<string, unknown>[],
    write: (name, rows) => writeFileSync(path(name), JSON.stringify(rows, null, 1)),
    writeRaw: (name, text) => writeFileSync(path(name), text),
    cleanup: () => rmSync(dataroot, { recursive: true, force: true }),
  };
}
