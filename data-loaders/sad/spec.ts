import { NuScenes, type SadSplitMode } from '../nuscenes/index.ts';
import { SadDataset } from './dataset.ts';
import type { SadDataOptions } from './options.ts';

/**
 * A dataset described by plain data, so a worker thread can open its own copy (a `NuScenes` object cannot
 * cross threads). The loader's workers and the main thread open the same spec.
 */
export interface SadDatasetSpec {
  dataroot: string;
  /** Release folder, e.g. v1.0-mini or v1.0-trainval. */
  version: string;
  split?: SadSplitMode;
  sceneNames?: readonly string[];
  options?: Partial<SadDataOptions>;
  /** Folder of the preprocessed-image cache; absent: no cache. */
  imageCache?: string;
  /** Read the CAN bus expansion for the sampler inputs (default true, as the reference). */
  canBus?: boolean;
  /** Rasterise the HD map from the map expansion (default true). */
  maps?: boolean;
  /** Decode camera images (default true); false gives label-only samples. */
  images?: boolean;
  /** See `SadDatasetInit.hdmapFrames` (default 'all'). */
  hdmapFrames?: 'all' | 'present';
  /** See `SadDatasetInit.hdmapCacheSize` (default 64). */
  hdmapCacheSize?: number;
}

/** Loads the tables and builds the dataset a spec describes (synchronously; seconds for trainval). */
export function openSadDataset(spec: SadDatasetSpec): SadDataset {
  const nusc = new NuScenes({ dataroot: spec.dataroot, version: spec.version, verbose: false });
  return new SadDataset({
    nusc,
    split: spec.split,
    sceneNames: spec.sceneNames,
    options: spec.options,
    imageCache: spec.imageCache,
    canBus: spec.canBus === false ? null : undefined,
    maps: spec.maps === false ? null : undefined,
    hdmapFrames: spec.hdmapFrames,
    hdmapCacheSize: spec.hdmapCacheSize,
  });
}
