import sharp from 'sharp';
import { SpikedriveError } from '../../../src/util/index.ts';
import { type Box, BoxVisibility, Quaternion } from '../geometry/index.ts';
import type { NuScenes } from '../nuscenes.ts';
import type { SensorChannel } from '../types.ts';
import {
  type BevPanel,
  CAMERA_LAYOUT,
  type CameraPanel,
  composeSampleFigure,
  type FigureOptions,
  figureLayout,
  type SampleFigure,
} from './figure.ts';

/** What the BEV panel needs from a map: the devkit's `get_map_mask` for one patch, as named layers. */
export interface MapMaskSource {
  /** Masks of `layerNames` for patch (x, y, height, width) rotated by `patchAngleDeg`, [size × size] each. */
  mapMasks(
    patchBox: [number, number, number, number],
    patchAngleDeg: number,
    layerNames: readonly string[],
    canvasSizePx: number,
  ): { name: string; mask: Uint8Array }[];
}

export interface RenderSampleOptions extends FigureOptions {
  /** Which boxes a camera shows (devkit default ANY: one corner in the image, all in front). */
  boxVisLevel?: BoxVisibility;
  /** Half-width of the BEV panel in metres; default 50. */
  rangeM?: number;
  /** Map layers drawn in the BEV; default the areas and dividers a driver sees. */
  mapLayers?: readonly string[];
  /**
   * The map for the sample's location; `null` draws no map. Default: the map expansion of the log's
   * location under the dataroot, when `openMap` is given and the file exists.
   */
  map?: MapMaskSource | null;
  /** Opens the map expansion of a location (injected so this module needs no map code). */
  openMap?: (dataroot: string, location: string) => MapMaskSource | undefined;
}

export const DEFAULT_BEV_LAYERS = [
  'drivable_area',
  'carpark_area',
  'walkway',
  'ped_crossing',
  'stop_line',
  'road_divider',
  'lane_divider',
] as const;

/** The channel whose ego pose is the BEV reference: LIDAR_TOP as in the devkit and SAD, else a camera. */
function referenceChannel(data: Partial<Record<SensorChannel, string>>): string | undefined {
  return data.LIDAR_TOP ?? data.CAM_FRONT ?? Object.values(data)[0];
}

/**
 * Gathers a sample through the devkit-port API (works on real nuScenes and on the synthetic world) and
 * returns the figure's parts: camera boxes from `getSampleData`, BEV boxes in the flat ego frame of the
 * reference sensor's ego pose, the scene's ego path, and the map layers around the ego.
 */
export async function collectSampleFigure(
  nusc: NuScenes,
  sampleToken: string,
  options: RenderSampleOptions = {},
): Promise<SampleFigure> {
  const sample = nusc.get('sample', sampleToken);
  const data = sample.data ?? {};
  const refSd = referenceChannel(data);
  if (!refSd) {
    throw new SpikedriveError(`sample ${sampleToken} has no sample_data`, {
      fix: 'pick a keyframe sample whose sensors were recorded (sample_data rows with this sample_token)',
      subject: `sample#${sampleToken}`,
    });
  }
  const layout = figureLayout(options.tileWidth);
  const rangeM = options.rangeM ?? 50;
  if (!(rangeM > 0 && rangeM <= 500)) {
    throw new SpikedriveError(`BEV range ${rangeM} m is outside (0, 500]`, {
      fix: 'use a half-width in metres such as 50',
      subject: '--range',
    });
  }

  const cameras: CameraPanel[] = [];
  for (const channel of CAMERA_LAYOUT) {
    const sdToken = data[channel];
    if (!sdToken) {
      cameras.push({ channel, width: 1600, height: 900, boxes: [] });
      continue;
    }
    // Checks the file: a missing image is an error naming it, not a blank tile.
    const imagePath = nusc.getSampleDataPath(sdToken);
    const { boxes, cameraIntrinsic } = nusc.getSampleData(sdToken, {
      boxVisLevel: options.boxVisLevel ?? BoxVisibility.ANY,
    });
    const sd = nusc.get('sample_data', sdToken);
    let { width, height } = sd;
    if (!(width > 0 && height > 0)) {
      const meta = await sharp(imagePath).metadata();
      width = meta.width ?? 1600;
      height = meta.height ?? 900;
    }
    cameras.push({ channel, imagePath, intrinsic: cameraIntrinsic, width, height, boxes });
  }

  // Flat ego frame (the ego yaw only) at the reference sensor's time, as getSampleData's flat mode.
  const pose = nusc.egoPoseOf(refSd);
  const yaw = Quaternion.fromArray(pose.rotation).yawPitchRoll[0];
  const toFlat = Quaternion.fromYaw(yaw).inverse;
  const minus = pose.translation.map((v) => -v);
  const boxes: Box[] = (sample.anns ?? []).map((ann) => nusc.getBox(ann).translate(minus).rotate(toFlat));
  const flatXY = (t: readonly number[]): [number, number] => {
    const p = toFlat.rotate([t[0] - pose.translation[0], t[1] - pose.translation[1], 0]);
    return [p[0], p[1]];
  };
  const egoPast: [number, number][] = [];
  const egoFuture: [number, number][] = [];
  const refChannel = nusc.get('sample_data', refSd).channel;
  for (const other of nusc.sceneSamples(sample.scene_token)) {
    if (other.token === sample.token) continue;
    const sd = (refChannel && other.data?.[refChannel]) || referenceChannel(other.data ?? {});
    if (!sd) continue;
    const xy = flatXY(nusc.egoPoseOf(sd).translation);
    (other.timestamp < sample.timestamp ? egoPast : egoFuture).push(xy);
  }

  const scene = nusc.sceneOf(sample.token);
  const log = nusc.logOf(scene.token);
  let note: string | undefined;
  let mapLayers: { name: string; mask: Uint8Array }[] = [];
  let map = options.map;
  if (map === undefined) {
    map = options.openMap?.(nusc.dataroot, log.location);
    if (!map)
      note = `no map expansion for ${log.location} (maps/expansion/${log.location}.json): BEV without map layers`;
  }
  if (map) {
    const size = layout.bevSize;
    mapLayers = map.mapMasks(
      [pose.translation[0], pose.translation[1], 2 * rangeM, 2 * rangeM],
      (yaw * 180) / Math.PI,
      options.mapLayers ?? DEFAULT_BEV_LAYERS,
      size,
    );
  }
  const bev: BevPanel = { rangeM, boxes, egoPast, egoFuture, mapLayers, maskSizePx: layout.bevSize, note };
  const title = `${nusc.version} · ${scene.name} · ${log.location} · sample ${sample.token} · t = ${sample.timestamp} µs · ${boxes.length} annotations`;
  return { title, cameras, bev };
}

/** The devkit's `render_sample` as a PNG: six cameras with boxes and a BEV panel with map, boxes, ego path. */
export async function renderSample(
  nusc: NuScenes,
  sampleToken: string,
  options: RenderSampleOptions = {},
): Promise<Uint8Array> {
  return composeSampleFigure(await collectSampleFigure(nusc, sampleToken, options), options);
}
