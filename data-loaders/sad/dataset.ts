import { join } from 'node:path';
import { SpikedriveError } from '../../src/util/index.ts';
import {
  type CalibratedSensor,
  type CameraChannel,
  decodeCameraImageRgb,
  type EgoPose,
  getSadScenes,
  type MapLocation,
  type NuScenes,
  NuScenesCanBus,
  NuScenesMap,
  normalizeRgb,
  type RgbImage,
  type SadSplitMode,
  type Sample,
  updateIntrinsics,
} from '../nuscenes/index.ts';
import { createRaster } from '../nuscenes/map/raster.ts';
import { cameraToLidar, commandFromTrajectory, gtTrajectory } from './frames.ts';
import { type HdmapFrame, hdmapFrame, type SadMapSource } from './hdmap.ts';
import { imageCacheFolderName, SadImageCache } from './image-cache.ts';
import { instanceLabels } from './instance.ts';
import { drawFrameLabels, type LabelAnnotation } from './labels.ts';
import {
  type BevGrid,
  bevGrid,
  type ImageGeometry,
  imageGeometry,
  type SadDataOptions,
  sadDataOptions,
} from './options.ts';
import { egomotionMatrix, identity4, matrixToPoseVec } from './pose.ts';
import type { SadSample, SadSamplerInputs } from './types.ts';

/** Maps by location: a record, a function, or null for no HD map labels. */
export type SadMapProvider =
  | Partial<Record<MapLocation, SadMapSource>>
  | ((location: MapLocation) => SadMapSource);

export interface SadDatasetInit {
  nusc: NuScenes;
  /** The CAN bus expansion (default: `<dataroot>/can_bus`, as the reference); null: no sampler inputs. */
  canBus?: NuScenesCanBus | null;
  /** Map expansions (default: `<dataroot>/maps/expansion/<location>.json`, loaded when first needed); null: no hdmap. */
  maps?: SadMapProvider | null;
  options?: Partial<SadDataOptions>;
  /** SAD's split for the dataset version (train/val/test), minus SAD's excluded scenes. */
  split?: SadSplitMode;
  /** Or these scenes by name (no exclusions applied). */
  sceneNames?: readonly string[];
  /** A folder for the preprocessed-image cache (or a cache object); absent: no cache. */
  imageCache?: string | SadImageCache;
  /**
   * HD-map frames to rasterise: 'all' (default, as the reference's sample) or 'present' (only the frame the
   * trainer and evaluator read; the others stay zero). Map masks are the most expensive label.
   */
  hdmapFrames?: 'all' | 'present';
  /** HD-map frames kept per sample token for reuse by overlapping windows (default 64; 0 disables). */
  hdmapCacheSize?: number;
}

export interface GetSampleOptions {
  /** Decode the camera images (default true); false gives labels, intrinsics and extrinsics only. */
  images?: boolean;
}

interface FrameRecord {
  sample: Sample & { data: Partial<Record<string, string>>; anns: string[] };
  lidarEgoPose: EgoPose;
  lidarCalibration: CalibratedSensor;
}

const f = Math.fround;

/**
 * SAD's `FuturePredictionDataset` over a `NuScenes`: the split's keyframes sorted by (scene token, time),
 * every window of S + F consecutive keyframes of one scene is a sample, and `getSample` builds it exactly as
 * the reference (`reference/sad.md` §8).
 */
export class SadDataset {
  readonly nusc: NuScenes;
  readonly options: SadDataOptions;
  readonly grid: BevGrid;
  readonly imageGeometry: ImageGeometry;
  /** Scene names the dataset was built from (before keeping those present in the data). */
  readonly scenes: readonly string[];
  /** The split's keyframe tokens sorted by (scene token, timestamp) (the reference's `ixes`). */
  readonly sampleTokens: readonly string[];
  /** Per sample: positions in `sampleTokens` of its S + F frames (the reference's `indices`). */
  readonly indices: readonly (readonly number[])[];
  readonly imageCache: SadImageCache | undefined;
  readonly canBus: NuScenesCanBus | null;

  readonly #sceneTokenOf: string[];
  readonly #presentIndex = new Map<string, number>();
  readonly #maps: SadMapProvider | null;
  readonly #loadedMaps = new Map<MapLocation, SadMapSource>();
  readonly #hdmapFrames: 'all' | 'present';
  readonly #hdmapCacheSize: number;
  /** sample token → HD-map frame, least recently used first. */
  readonly #hdmapCache = new Map<string, HdmapFrame>();

  constructor(init: SadDatasetInit) {
    this.nusc = init.nusc;
    this.options = sadDataOptions(init.options);
    this.grid = bevGrid(this.options);
    this.imageGeometry = imageGeometry(this.options);
    if (init.split === undefined && init.sceneNames === undefined) {
      throw new SpikedriveError('SadDataset needs a split or a list of scene names', {
        subject: 'split',
        fix: "Pass split: 'train' | 'val' | 'test', or sceneNames: ['scene-0061', …].",
      });
    }
    this.scenes = init.sceneNames
      ? [...init.sceneNames]
      : getSadScenes(this.nusc.version, init.split as SadSplitMode);
    this.canBus =
      init.canBus === undefined ? new NuScenesCanBus({ dataroot: this.nusc.dataroot }) : init.canBus;
    this.#maps = init.maps === undefined ? (location) => this.#defaultMap(location) : init.maps;
    this.#hdmapFrames = init.hdmapFrames ?? 'all';
    if (this.#hdmapFrames !== 'all' && this.#hdmapFrames !== 'present') {
      throw new SpikedriveError(`hdmapFrames must be 'all' or 'present', got '${String(init.hdmapFrames)}'`, {
        subject: 'hdmapFrames',
        fix: "Pass 'all' (every frame, as the reference) or 'present'.",
      });
    }
    this.#hdmapCacheSize = Math.max(0, Math.trunc(init.hdmapCacheSize ?? 64));
    this.imageCache =
      typeof init.imageCache === 'string'
        ? new SadImageCache(init.imageCache, {
            geometry: this.imageGeometry,
            resampler: this.options.resampler,
          })
        : init.imageCache;
    const expectedFolder = imageCacheFolderName({
      geometry: this.imageGeometry,
      resampler: this.options.resampler,
    });
    if (this.imageCache && !this.imageCache.folder.endsWith(expectedFolder)) {
      throw new SpikedriveError(
        `the image cache ${this.imageCache.folder} holds images made with other options`,
        {
          subject: this.imageCache.folder,
          fix: 'Pass the cache root folder (a string) and let the dataset pick the folder for its options.',
        },
      );
    }

    // prepro: the split's samples, sorted by (scene token, timestamp).
    const wanted = new Set(this.scenes);
    const sceneName = new Map(this.nusc.scenes.map((s) => [s.token, s.name]));
    const samples = this.nusc.samples.filter((s) => wanted.has(sceneName.get(s.scene_token) ?? ''));
    samples.sort((a, b) =>
      a.scene_token < b.scene_token ? -1 : a.scene_token > b.scene_token ? 1 : a.timestamp - b.timestamp,
    );
    this.sampleTokens = samples.map((s) => s.token);
    this.#sceneTokenOf = samples.map((s) => s.scene_token);

    // get_indices: every run of S + F consecutive entries within one scene.
    const length = this.options.timeReceptiveField + this.options.nFutureFrames;
    const indices: number[][] = [];
    for (let start = 0; start + length <= samples.length; start++) {
      const scene = this.#sceneTokenOf[start];
      let ok = true;
      for (let t = 1; t < length && ok; t++) ok = this.#sceneTokenOf[start + t] === scene;
      if (ok) indices.push(Array.from({ length }, (_, t) => start + t));
    }
    this.indices = indices;
    indices.forEach((window, i) => {
      this.#presentIndex.set(this.sampleTokens[window[this.options.timeReceptiveField - 1]], i);
    });
  }

  get length(): number {
    return this.indices.length;
  }

  /** The dataset index whose present frame is this sample token, or −1. */
  indexOf(presentSampleToken: string): number {
    return this.#presentIndex.get(presentSampleToken) ?? -1;
  }

  /** The sample tokens of a sample's frames, oldest first. */
  windowTokens(index: number): string[] {
    return this.#window(index).map((i) => this.sampleTokens[i]);
  }

  #resolve(ref: number | string): number {
    if (typeof ref === 'string') {
      const index = this.indexOf(ref);
      if (index < 0) {
        throw new SpikedriveError(
          `sample ${ref} is not the present frame of any SAD sample in this dataset`,
          {
            subject: `sample#${ref}`,
            fix: `Use a keyframe with ${this.options.timeReceptiveField - 1} earlier and ${this.options.nFutureFrames} later keyframes in its scene, from the dataset's scenes (${this.scenes.slice(0, 4).join(', ')}${this.scenes.length > 4 ? ', …' : ''}).`,
          },
        );
      }
      return index;
    }
    if (!Number.isInteger(ref) || ref < 0 || ref >= this.length) {
      throw new SpikedriveError(
        `sample index ${ref} is out of range (the dataset has ${this.length} samples)`,
        {
          subject: String(ref),
          fix: `Use an index from 0 to ${this.length - 1}.`,
        },
      );
    }
    return ref;
  }

  #window(index: number): readonly number[] {
    return this.indices[this.#resolve(index)];
  }

  #defaultMap(location: MapLocation): SadMapSource {
    let map = this.#loadedMaps.get(location);
    if (!map) {
      map = new NuScenesMap({ dataroot: this.nusc.dataroot, mapName: location });
      this.#loadedMaps.set(location, map);
    }
    return map;
  }

  #map(location: MapLocation): SadMapSource | undefined {
    const provider = this.#maps;
    if (provider === null) return undefined;
    const map = typeof provider === 'function' ? provider(location) : provider[location];
    if (!map) {
      throw new SpikedriveError(`no map was given for location ${location}`, {
        subject: location,
        fix: `Add a NuScenesMap for ${location} to the maps option (or pass maps: null to skip the HD map labels).`,
      });
    }
    return map;
  }

  #frame(position: number): FrameRecord {
    const sample = this.nusc.get('sample', this.sampleTokens[position]) as FrameRecord['sample'];
    const lidar = sample.data.LIDAR_TOP;
    if (lidar === undefined) {
      throw new SpikedriveError(
        `sample ${sample.token} has no LIDAR_TOP keyframe; SAD's BEV frame is the lidar's ego pose`,
        {
          subject: `sample#${sample.token}`,
          fix: 'Every keyframe needs a LIDAR_TOP sample_data (is_key_frame true) in sample_data.json.',
        },
      );
    }
    return {
      sample,
      lidarEgoPose: this.nusc.egoPoseOf(lidar),
      lidarCalibration: this.nusc.calibratedSensorOf(lidar),
    };
  }

  /** The 6-DoF ego motion from position t to t+1 (`get_future_egomotion`); identity at a scene end. */
  #egomotion(position: number, frame: FrameRecord): number[] {
    if (
      position + 1 < this.sampleTokens.length &&
      this.#sceneTokenOf[position + 1] === this.#sceneTokenOf[position]
    ) {
      const next = this.#frame(position + 1);
      return matrixToPoseVec(egomotionMatrix(frame.lidarEgoPose, next.lidarEgoPose));
    }
    return matrixToPoseVec(identity4());
  }

  #annotations(sample: FrameRecord['sample']): LabelAnnotation[] {
    return sample.anns.map((token) => {
      const a = this.nusc.get('sample_annotation', token);
      return {
        token,
        instanceToken: a.instance_token,
        categoryName: a.category_name ?? '',
        visibilityToken: String(a.visibility_token ?? ''),
        translation: a.translation,
        size: a.size,
        rotation: a.rotation,
      };
    });
  }

  #cameraToken(sample: FrameRecord['sample'], camera: CameraChannel): string {
    const token = sample.data[camera];
    if (token === undefined) {
      throw new SpikedriveError(`sample ${sample.token} has no ${camera} keyframe`, {
        subject: `sample#${sample.token}`,
        fix: `Every keyframe needs all of ${this.options.cameras.join(', ')} (or choose other cameras in the options).`,
      });
    }
    return token;
  }

  /** One frame's HD map, through the per-token LRU cache (frames recur in overlapping windows). */
  #hdmap(map: SadMapSource, frame: FrameRecord): HdmapFrame {
    const token = frame.sample.token;
    const cached = this.#hdmapCache.get(token);
    if (cached) {
      this.#hdmapCache.delete(token);
      this.#hdmapCache.set(token, cached);
      return cached;
    }
    const h = hdmapFrame(map, frame.lidarEgoPose, this.options);
    if (this.#hdmapCacheSize > 0) {
      this.#hdmapCache.set(token, h);
      if (this.#hdmapCache.size > this.#hdmapCacheSize) {
        this.#hdmapCache.delete(this.#hdmapCache.keys().next().value as string);
      }
    }
    return h;
  }

  /** The sampler inputs at a sample (`get_trajectory_sampling`'s v0 and steering). */
  samplerInputs(sceneName: string, location: MapLocation, timestampUs: number): SadSamplerInputs | undefined {
    if (!this.canBus) return undefined;
    const state = this.canBus.getSadEgoState(sceneName, timestampUs);
    const flipped = location.startsWith('singapore');
    const steeringRad = flipped ? -state.steeringRad : state.steeringRad;
    return { v0Mps: state.v0Mps, steeringRad, curvature: (2 * steeringRad) / 2.588, flipped };
  }

  /** Builds a sample: labels at once, camera images decoded (concurrently) unless `images: false`. */
  async getSample(ref: number | string, options: GetSampleOptions = {}): Promise<SadSample> {
    const index = this.#resolve(ref);
    const sample = this.#buildLabels(index);
    if (options.images ?? true) sample.images = await this.#loadImages(index);
    return sample;
  }

  /** The sample without camera images, synchronously. */
  getLabels(ref: number | string): SadSample {
    return this.#buildLabels(this.#resolve(ref));
  }

  #buildLabels(index: number): SadSample {
    const o = this.options;
    const S = o.timeReceptiveField;
    const F = o.nFutureFrames;
    const T = S + F;
    const N = o.cameras.length;
    const { rows, cols } = this.grid;
    const cells = rows * cols;
    const window = this.indices[index];
    const frames = window.map((p) => this.#frame(p));
    const present = frames[S - 1];
    const scene = this.nusc.get('scene', present.sample.scene_token);
    const location = this.nusc.get('log', scene.log_token).location;

    const intrinsics = new Float32Array(S * N * 9);
    const extrinsics = new Float32Array(S * N * 16);
    const geometry = this.imageGeometry;
    for (let s = 0; s < S; s++) {
      const frame = frames[s];
      o.cameras.forEach((camera, n) => {
        const sd = this.#cameraToken(frame.sample, camera);
        const calibration = this.nusc.calibratedSensorOf(sd);
        const k = calibration.camera_intrinsic as number[][];
        if (!Array.isArray(k) || k.length !== 3 || k.some((row) => !Array.isArray(row) || row.length !== 3)) {
          throw new SpikedriveError(
            `calibrated_sensor ${calibration.token} (${camera}) has no 3×3 camera_intrinsic`,
            {
              subject: `calibrated_sensor#${calibration.token}`,
              fix: 'Fix camera_intrinsic in calibrated_sensor.json (cameras need a 3×3 K).',
            },
          );
        }
        // torch float32: K is cast first, then scaled and shifted in float32.
        const k32 = k.map((row) => row.map((v) => f(v)));
        const updated = updateIntrinsicsF32(k32, geometry);
        intrinsics.set(updated.flat(), (s * N + n) * 9);
        const ext = cameraToLidar(frame.lidarEgoPose, this.nusc.egoPoseOf(sd), calibration);
        extrinsics.set(ext, (s * N + n) * 16);
      });
    }

    // Labels of every frame, the instance map shared across them.
    const instanceMap = new Map<string, number>();
    const segmentation = new Uint8Array(T * cells);
    const pedestrian = new Uint8Array(T * cells);
    const instance = new Int32Array(T * cells);
    const futureEgomotion = new Float32Array(T * 6);
    const map = this.#map(location);
    let hdmap: Uint8Array | undefined;
    let hdmapShape: number[] | undefined;
    const scratch = createRaster(rows, cols);
    frames.forEach((frame, t) => {
      drawFrameLabels(this.#annotations(frame.sample), frame.lidarEgoPose, {
        grid: this.grid,
        filterInvisible: o.filterInvisibleVehicles,
        inPred: t >= S,
        instanceMap,
        subject: `sample#${frame.sample.token}`,
        scratch,
        out: {
          segmentation: segmentation.subarray(t * cells, (t + 1) * cells),
          pedestrian: pedestrian.subarray(t * cells, (t + 1) * cells),
          instance: instance.subarray(t * cells, (t + 1) * cells),
        },
      });
      futureEgomotion.set(this.#egomotion(window[t], frame), t * 6);
      if (map && (this.#hdmapFrames === 'all' || t === S - 1)) {
        const h = this.#hdmap(map, frame);
        if (!hdmap) {
          hdmap = new Uint8Array(T * h.data.length);
          hdmapShape = [T, h.channels, h.rows, h.cols];
        }
        hdmap.set(h.data, t * h.data.length);
      }
    });

    const trajectory = gtTrajectory(
      frames
        .slice(S - 1)
        .map((frame) => ({ egoPose: frame.lidarEgoPose, calibration: frame.lidarCalibration })),
    );
    const derived = instanceLabels(instance, futureEgomotion, {
      frames: T,
      rows,
      cols,
      numInstances: instanceMap.size,
      ignoreIndex: o.ignoreIndex,
      spatialExtent: this.grid.spatialExtent,
    });

    return {
      index,
      sampleTokens: frames.map((frame) => frame.sample.token),
      sceneName: scene.name,
      location,
      receptiveField: S,
      nFutureFrames: F,
      spatialExtent: [...this.grid.spatialExtent],
      intrinsics: { data: intrinsics, shape: [S, N, 3, 3] },
      extrinsics: { data: extrinsics, shape: [S, N, 4, 4] },
      futureEgomotion: { data: futureEgomotion, shape: [T, 6] },
      segmentation: { data: segmentation, shape: [T, 1, rows, cols] },
      pedestrian: { data: pedestrian, shape: [T, 1, rows, cols] },
      instance: { data: instance, shape: [T, rows, cols] },
      centerness: { data: derived.centerness, shape: [T, 1, rows, cols] },
      offset: { data: derived.offset, shape: [T, 2, rows, cols] },
      flow: { data: derived.flow, shape: [T, 2, rows, cols] },
      hdmap: hdmap && hdmapShape ? { data: hdmap, shape: hdmapShape } : undefined,
      gtTrajectory: { data: Float32Array.from(trajectory.flat()), shape: [F + 1, 3] },
      command: commandFromTrajectory(trajectory),
      samplerInputs: this.samplerInputs(scene.name, location, present.sample.timestamp),
      targetPoint: [0, 0],
      instanceTokens: [...instanceMap.keys()],
    };
  }

  /** [S, N, 3, H, W]: every camera of the S input frames, decoded concurrently into one array. */
  async #loadImages(index: number): Promise<{ data: Float32Array; shape: number[] }> {
    const o = this.options;
    const S = o.timeReceptiveField;
    const N = o.cameras.length;
    const [H, W] = o.finalDim;
    const plane = 3 * H * W;
    const data = new Float32Array(S * N * plane);
    const jobs: Promise<void>[] = [];
    const window = this.indices[index];
    for (let s = 0; s < S; s++) {
      const sample = this.nusc.get('sample', this.sampleTokens[window[s]]) as FrameRecord['sample'];
      o.cameras.forEach((camera, n) => {
        const sd = this.#cameraToken(sample, camera);
        jobs.push(
          this.loadCameraRgb(sd).then((rgb) => {
            normalizeRgb(rgb, {
              layout: 'chw',
              out: data.subarray((s * N + n) * plane, (s * N + n + 1) * plane),
            });
          }),
        );
      });
    }
    await Promise.all(jobs);
    return { data, shape: [S, N, 3, H, W] };
  }

  /** One camera image resized and cropped to 8-bit RGB, through the cache when there is one. */
  async loadCameraRgb(sampleDataToken: string): Promise<RgbImage> {
    const sd = this.nusc.get('sample_data', sampleDataToken);
    const path = join(this.nusc.dataroot, sd.filename);
    const o = this.options;
    if (sd.width > 0 && sd.height > 0 && (sd.width !== o.originalWidth || sd.height !== o.originalHeight)) {
      // The reference resizes any image to the configured size, silently breaking the intrinsics.
      throw new SpikedriveError(
        `${sd.filename} is ${sd.width}×${sd.height} but the SAD options expect ${o.originalWidth}×${o.originalHeight} camera images`,
        {
          subject: path,
          fix: `Set originalWidth/originalHeight (IMAGE.ORIGINAL_WIDTH/HEIGHT) to ${sd.width}/${sd.height}, or use ${o.originalWidth}×${o.originalHeight} images.`,
        },
      );
    }
    const cached = this.imageCache ? await this.imageCache.get(sampleDataToken, path) : undefined;
    if (cached) return cached;
    const geometry = this.imageGeometry;
    const rgb = await decodeCameraImageRgb(path, {
      resize: geometry.resize,
      crop: geometry.crop,
      resampler: o.resampler,
    });
    if (this.imageCache) await this.imageCache.put(sampleDataToken, path, rgb);
    return rgb;
  }
}

/** `update_intrinsics` on a float32 tensor: each step rounded to float32, as torch does in place. */
function updateIntrinsicsF32(k: number[][], g: ImageGeometry): number[][] {
  const out = updateIntrinsics(k, {});
  const sw = f(g.scaleWidth);
  const sh = f(g.scaleHeight);
  out[0][0] = f(out[0][0] * sw);
  out[0][2] = f(out[0][2] * sw);
  out[1][1] = f(out[1][1] * sh);
  out[1][2] = f(out[1][2] * sh);
  out[0][2] = f(out[0][2] - g.crop.left);
  out[1][2] = f(out[1][2] - g.crop.top);
  return out;
}
