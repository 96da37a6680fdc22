import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NuScenesMap } from '../map/index.ts';
import type { MapMaskSource } from './sample.ts';

/**
 * The BEV map from `<dataroot>/maps/expansion/<location>.json` through `NuScenesMap.getMapMask`, or
 * undefined when that file is absent (real nuScenes without the map-expansion download). A present but
 * broken file is an error from the map loader, not silently skipped.
 */
export function openMapExpansion(dataroot: string, location: string): MapMaskSource | undefined {
  if (!existsSync(join(dataroot, 'maps', 'expansion', `${location}.json`))) return undefined;
  const map = new NuScenesMap({ dataroot, mapName: location });
  return {
    mapMasks(patchBox, patchAngleDeg, layerNames, canvasSizePx) {
      const result = map.getMapMask(patchBox, patchAngleDeg, layerNames, [canvasSizePx, canvasSizePx]);
      return result.layers.map((name, i) => ({ name, mask: result.masks[i] }));
    },
  };
}
