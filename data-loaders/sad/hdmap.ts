import type { MapMaskResult } from '../nuscenes/index.ts';
import type { PoseRecord } from './frames.ts';
import type { SadDataOptions } from './options.ts';
import { pyquaternionRotationMatrix } from './reference-math.ts';

/** What the HD-map label needs from a map: the devkit's `get_map_mask` (NuScenesMap implements it). */
export interface SadMapSource {
  getMapMask(
    patchBox: readonly [number, number, number, number],
    patchAngleDeg: number,
    layerNames: readonly string[],
    canvasSize: readonly [number, number],
  ): MapMaskResult;
}

/** The HD-map raster of one frame: [channels, rows, cols] uint8, row = x forward, col = y left. */
export interface HdmapFrame {
  data: Uint8Array;
  channels: number;
  rows: number;
  cols: number;
}

/**
 * The reference's `voxelize_hd_map`: `get_map_mask((ego x, ego y, 2·X_BOUND[1], 2·Y_BOUND[1]), yaw°,
 * elements, canvas (2·X_BOUND[1]/res, 2·Y_BOUND[1]/res))` around the LIDAR_TOP ego pose, yaw =
 * atan2(R10, R00), then transposed so rows run forward and columns left.
 */
export function hdmapFrame(
  map: SadMapSource,
  lidarEgoPose: PoseRecord,
  options: Pick<SadDataOptions, 'xBound' | 'yBound' | 'hdmapElements'>,
): HdmapFrame {
  const r = pyquaternionRotationMatrix(lidarEgoPose.rotation);
  const yaw = Math.atan2(r[1][0], r[0][0]);
  const canvas: [number, number] = [
    Math.trunc((options.xBound[1] * 2) / options.xBound[2]),
    Math.trunc((options.yBound[1] * 2) / options.yBound[2]),
  ];
  const patch: [number, number, number, number] = [
    lidarEgoPose.translation[0],
    lidarEgoPose.translation[1],
    options.xBound[1] * 2,
    options.yBound[1] * 2,
  ];
  const mask = map.getMapMask(patch, (yaw * 180) / Math.PI, options.hdmapElements, canvas);
  const { height, width } = mask;
  const channels = mask.masks.length;
  // torch.transpose(-2, -1): out[c][i][j] = mask[c][j][i].
  const data = new Uint8Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    const src = mask.masks[c];
    const o = c * height * width;
    for (let j = 0; j < height; j++) {
      for (let i = 0; i < width; i++) data[o + i * height + j] = src[j * width + i];
    }
  }
  return { data, channels, rows: width, cols: height };
}
