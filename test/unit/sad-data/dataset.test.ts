import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NuScenes } from '../../../data-loaders/nuscenes/index.ts';
import {
  bevGrid,
  imageGeometry,
  SadDataset,
  type SadImageCache,
  sadDataOptions,
  sadDataOptionsFromConfig,
} from '../../../data-loaders/sad/index.ts';
import { isSpikedriveError, type SpikedriveError } from '../../../src/util/index.ts';
import { FIXTURE_DATAROOT, goldenOptions, goldenWorld, SMALL_GRID } from './helpers.ts';

let world: ReturnType<typeof goldenWorld>;
beforeAll(() => {
  world = goldenWorld();
});
afterAll(() => world.dispose());

function expectSpikedriveError(fn: () => unknown, message: RegExp): SpikedriveError {
  try {
    fn();
  } catch (error) {
    expect(isSpikedriveError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    return error as SpikedriveError;
  }
  throw new Error('expected a SpikedriveError');
}

describe('options', () => {
  it('defaults to the reference config: 224 × 480 crops of 480 × 270, a 200 × 200 grid, S = 3, F = 4', () => {
    const o = sadDataOptions();
    expect(imageGeometry(o)).toEqual({
      scaleWidth: 0.3,
      scaleHeight: 0.3,
      resize: { width: 480, height: 270 },
      crop: { left: 0, top: 46, width: 480, height: 224 },
    });
    const grid = bevGrid(o);
    expect([grid.rows, grid.cols, grid.startPosition[0], grid.resolution[0]]).toEqual([
      200, 200, -49.75, 0.5,
    ]);
    expect([o.timeReceptiveField, o.nFutureFrames, o.cameras[1]]).toEqual([3, 4, 'CAM_FRONT']);
  });

  it('maps reference config keys (the pipeline’s SadConfig fits structurally)', () => {
    const o = sadDataOptionsFromConfig({
      TIME_RECEPTIVE_FIELD: 3,
      N_FUTURE_FRAMES: 6,
      IMAGE: {
        FINAL_DIM: [224, 480],
        RESIZE_SCALE: 0.3,
        TOP_CROP: 46,
        ORIGINAL_HEIGHT: 900,
        ORIGINAL_WIDTH: 1600,
        NAMES: [
          'CAM_FRONT_LEFT',
          'CAM_FRONT',
          'CAM_FRONT_RIGHT',
          'CAM_BACK_LEFT',
          'CAM_BACK',
          'CAM_BACK_RIGHT',
        ],
      },
      LIFT: { X_BOUND: [-50, 50, 0.5], Y_BOUND: [-50, 50, 0.5], Z_BOUND: [-10, 10, 20] },
      DATASET: { FILTER_INVISIBLE_VEHICLES: false, IGNORE_INDEX: 255 },
      SEMANTIC_SEG: { HDMAP: { ELEMENTS: ['lane_divider', 'drivable_area'] } },
    });
    expect(o).toEqual({ ...sadDataOptions(), nFutureFrames: 6, filterInvisibleVehicles: false });
  });

  it('rejects bad values naming the option', () => {
    expect(expectSpikedriveError(() => sadDataOptions({ xBound: [10, -10, 0.5] }), /xBound/).subject).toBe(
      'xBound',
    );
    expectSpikedriveError(
      () => sadDataOptions({ cameras: ['CAM_TOP' as 'CAM_FRONT'] }),
      /not a nuScenes camera/,
    );
    expectSpikedriveError(() => sadDataOptions({ timeReceptiveField: 0 }), /timeReceptiveField/);
    expectSpikedriveError(() => sadDataOptions({ resizeScale: -1 }), /resizeScale/);
  });
});

describe('sample index', () => {
  it('takes every run of S + F keyframes inside one scene, sorted by (scene token, time), splits minus exclusions', () => {
    const planning = new SadDataset({ nusc: world.nusc, split: 'train', options: goldenOptions() });
    // mini_train holds scene-0061 (11 keyframes) and scene-0553 (6): 11 − 9 + 1 = 3 windows, none in 0553.
    expect(planning.length).toBe(3);
    expect(planning.scenes).toContain('scene-0553');
    const perception = new SadDataset({
      nusc: world.nusc,
      split: 'train',
      options: goldenOptions({ nFutureFrames: 0 }),
    });
    expect(perception.length).toBe(9 + 4);
    const sceneOf = (token: string) => world.nusc.get('sample', token).scene_token;
    for (let i = 0; i < perception.length; i++) {
      const tokens = perception.windowTokens(i);
      expect(new Set(tokens.map(sceneOf)).size).toBe(1);
      const times = tokens.map((t) => world.nusc.get('sample', t).timestamp);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    const val = new SadDataset({ nusc: world.nusc, split: 'val', options: goldenOptions() });
    expect(val.length).toBe(3);
    const byName = new SadDataset({
      nusc: world.nusc,
      sceneNames: ['scene-0553'],
      options: goldenOptions({ nFutureFrames: 2 }),
    });
    expect(byName.length).toBe(2);
  });

  it('finds samples by their present-frame token and explains bad references', () => {
    const ds = new SadDataset({ nusc: world.nusc, split: 'val', options: goldenOptions() });
    const tokens = ds.windowTokens(1);
    expect(ds.indexOf(tokens[2])).toBe(1);
    expect(ds.indexOf(tokens[0])).toBe(-1);
    expectSpikedriveError(() => ds.getLabels(tokens[0]), /not the present frame/);
    expectSpikedriveError(() => ds.getLabels(7), /out of range/);
    expectSpikedriveError(
      () => new SadDataset({ nusc: world.nusc, options: goldenOptions() }),
      /split or a list of scene names/,
    );
  });
});

describe('samples', () => {
  it('has the reference shapes, an identity ego motion at the scene end, and a LEFT turn command', async () => {
    const ds = new SadDataset({ nusc: world.nusc, split: 'train', options: goldenOptions() });
    const last = await ds.getSample(2);
    expect(last.images?.shape).toEqual([3, 6, 3, 24, 40]);
    expect(last.intrinsics.shape).toEqual([3, 6, 3, 3]);
    expect(last.extrinsics.shape).toEqual([3, 6, 4, 4]);
    expect(last.futureEgomotion.shape).toEqual([9, 6]);
    expect(last.segmentation.shape).toEqual([9, 1, 200, 200]);
    expect(last.instance.shape).toEqual([9, 200, 200]);
    expect(last.offset.shape).toEqual([9, 2, 200, 200]);
    expect(last.hdmap?.shape).toEqual([9, 2, 200, 200]);
    expect(last.gtTrajectory.shape).toEqual([7, 3]);
    expect(last.sampleTokens).toHaveLength(9);
    // The window ends on the scene's last keyframe: no next sample, identity motion.
    expect(Array.from(last.futureEgomotion.data.subarray(8 * 6)).map(Math.abs)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Math.abs(last.futureEgomotion.data[0])).toBeGreaterThan(3.5); // 8 m/s × 0.5 s
    expect(last.command).toBe('LEFT');
    expect(last.targetPoint).toEqual([0, 0]);
    // Intrinsics: fx·0.5, cx·0.5 − 4 (left crop), cy·0.5 − 3 (top crop).
    const k = world.nusc.calibratedSensorOf(
      world.nusc.get('sample', last.sampleTokens[0]).data?.CAM_FRONT_LEFT as string,
    ).camera_intrinsic as number[][];
    expect(last.intrinsics.data[0]).toBeCloseTo(k[0][0] * 0.5, 4);
    expect(last.intrinsics.data[2]).toBeCloseTo(k[0][2] * 0.5 - 4, 4);
    expect(last.intrinsics.data[5]).toBeCloseTo(k[1][2] * 0.5 - 3, 4);
  });

  it('reads the sampler inputs from the CAN bus, steering negated in Singapore only', () => {
    const train = new SadDataset({ nusc: world.nusc, split: 'train', options: goldenOptions() }).getLabels(2);
    expect(train.location).toBe('singapore-onenorth');
    // Present keyframe 4 (t = 2.0 s): the wheel still reads +0.003 rad (left), negated in Singapore.
    expect(train.samplerInputs).toMatchObject({ v0Mps: 8, steeringRad: -0.003, flipped: true });
    expect(train.samplerInputs?.curvature).toBeCloseTo((2 * -0.003) / 2.588, 12);
    const val = new SadDataset({ nusc: world.nusc, split: 'val', options: goldenOptions() }).getLabels(2);
    expect(val.location).toBe('boston-seaport');
    expect(val.samplerInputs).toMatchObject({ v0Mps: 6, steeringRad: -0.5, flipped: false });
    expect(val.command).toBe('RIGHT');
    const noCan = new SadDataset({
      nusc: world.nusc,
      split: 'val',
      options: goldenOptions(),
      canBus: null,
    }).getLabels(0);
    expect(noCan.samplerInputs).toBeUndefined();
  });

  it('rasterises the hand-made map: the road under the ego, the island hole, the lane divider 1.75 m left', () => {
    const ds = new SadDataset({ nusc: world.nusc, split: 'val', options: goldenOptions() });
    const s = ds.getLabels(0);
    const hd = s.hdmap?.data as Uint8Array;
    const S = 3;
    const present = (channel: number, row: number, col: number) =>
      hd[((S - 1) * 2 + channel) * 40000 + row * 200 + col];
    expect(present(1, 100, 100)).toBe(1); // drivable under the ego
    expect(present(1, 100, 140)).toBe(0); // 20 m left: off the 15 m road
    // The divider 1.75 m left of the path: columns around 100 + 3.5.
    const dividerCols = [100, 101, 102, 103, 104, 105, 106].filter((c) => present(0, 100, c) === 1);
    expect(dividerCols.length).toBeGreaterThan(0);
    expect(Math.min(...dividerCols)).toBeGreaterThanOrEqual(102);
    expect(Math.max(...dividerCols)).toBeLessThanOrEqual(105);
    // 'present' rasterises only the present frame.
    const only = new SadDataset({
      nusc: world.nusc,
      split: 'val',
      options: goldenOptions(),
      hdmapFrames: 'present',
    }).getLabels(0);
    const frameSize = 2 * 40000;
    expect(only.hdmap?.data.subarray(0, frameSize).every((v) => v === 0)).toBe(true);
    expect(only.hdmap?.data.subarray(2 * frameSize, 3 * frameSize)).toEqual(
      hd.subarray(2 * frameSize, 3 * frameSize),
    );
    const none = new SadDataset({
      nusc: world.nusc,
      split: 'val',
      options: goldenOptions(),
      maps: null,
    }).getLabels(0);
    expect(none.hdmap).toBeUndefined();
  });

  it('drops the never-visible child and the car that first appears in the future', () => {
    const ds = new SadDataset({ nusc: world.nusc, split: 'train', options: goldenOptions() });
    const s = ds.getLabels(0); // keyframes 0..8; present = 2
    const instanceOf = (category: string, keyframeAppears?: number) =>
      world.nusc.instances.filter((inst) => {
        const name = world.nusc.categories.find((c) => c.token === inst.category_token)?.name;
        const first = world.nusc.get('sample_annotation', inst.first_annotation_token);
        const scene = world.nusc.get('sample', first.sample_token).scene_token;
        const k = ds.windowTokens(0).indexOf(first.sample_token);
        return (
          name === category &&
          scene === world.nusc.get('sample', ds.windowTokens(0)[0]).scene_token &&
          (keyframeAppears === undefined || k === keyframeAppears)
        );
      });
    const child = instanceOf('human.pedestrian.child');
    const lateCar = instanceOf('vehicle.car', 4);
    expect(child).toHaveLength(1);
    expect(lateCar).toHaveLength(1);
    expect(s.instanceTokens).not.toContain(child[0].token);
    expect(s.instanceTokens).not.toContain(lateCar[0].token);
  });

  it('explains missing cameras and images of the wrong size', async () => {
    const ds = new SadDataset({
      nusc: world.nusc,
      split: 'val',
      options: goldenOptions({ originalWidth: 1600, originalHeight: 900 }),
    });
    await expect(ds.getSample(0)).rejects.toThrow(/96×54 but the SAD options expect 1600×900/);
    const missing = new SadDataset({ nusc: world.nusc, split: 'val', options: goldenOptions() });
    const sample = world.nusc.get('sample', missing.windowTokens(0)[0]);
    const saved = sample.data?.CAM_BACK;
    delete sample.data?.CAM_BACK;
    try {
      expectSpikedriveError(() => missing.getLabels(0), /has no CAM_BACK keyframe/);
    } finally {
      if (sample.data && saved) sample.data.CAM_BACK = saved;
    }
  });
});

describe('real nuScenes layout', () => {
  it('builds perception samples from the devkit-format fixture (1600×900 JPEGs, CAN bus, map expansion)', async () => {
    const nusc = new NuScenes({ dataroot: FIXTURE_DATAROOT, version: 'v1.0-mini', verbose: false });
    const ds = new SadDataset({ nusc, split: 'val', options: { nFutureFrames: 0 } });
    expect(ds.length).toBe(1); // scene-0103 has 3 keyframes
    const s = ds.getLabels(0);
    expect(s.location).toBe('boston-seaport');
    expect(s.segmentation.shape).toEqual([3, 1, 200, 200]);
    expect(s.gtTrajectory.shape).toEqual([1, 3]);
    expect(s.samplerInputs?.flipped).toBe(false);
    const rgb = await ds.loadCameraRgb(frontCamera(nusc, s.sampleTokens[2]));
    expect([rgb.width, rgb.height]).toEqual([480, 224]);
  });
});

function frontCamera(nusc: NuScenes, sampleToken: string): string {
  return nusc.get('sample', sampleToken).data?.CAM_FRONT as string;
}

describe('preprocessed-image cache', () => {
  it('stores resized crops by sample_data token, reuses them, and re-decodes when the source changes', async () => {
    const cacheDir = join(world.dataroot, '..', `${world.dataroot.split('/').pop()}-cache`);
    try {
      const plain = new SadDataset({ nusc: world.nusc, split: 'val', options: goldenOptions(SMALL_GRID) });
      const cached = new SadDataset({
        nusc: world.nusc,
        split: 'val',
        options: goldenOptions(SMALL_GRID),
        imageCache: cacheDir,
      });
      const reference = await plain.getSample(0);
      const first = await cached.getSample(0);
      expect(first.images?.data).toEqual(reference.images?.data);
      const cache = cached.imageCache as SadImageCache;
      expect(cache.stats).toMatchObject({ hits: 0, misses: 18, writes: 18 });
      const second = await cached.getSample(0);
      expect(second.images?.data).toEqual(reference.images?.data);
      expect(cache.stats.hits).toBe(18);
      // Another crop gets its own folder.
      const other = new SadDataset({
        nusc: world.nusc,
        split: 'val',
        options: goldenOptions({ topCrop: 2, ...SMALL_GRID }),
        imageCache: cacheDir,
      });
      expect((other.imageCache as SadImageCache).folder).not.toBe(cache.folder);
      // A cache object made for other options is refused rather than trusted.
      expectSpikedriveError(
        () =>
          new SadDataset({
            nusc: world.nusc,
            split: 'val',
            options: goldenOptions(SMALL_GRID),
            imageCache: other.imageCache,
          }),
        /images made with other options/,
      );
      // A touched source file invalidates its entry.
      const sd = world.nusc.get('sample', reference.sampleTokens[0]).data?.CAM_FRONT as string;
      const path = join(world.dataroot, world.nusc.get('sample_data', sd).filename);
      const later = new Date(Date.now() + 5000);
      utimesSync(path, later, later);
      expect(cache.getSync(sd, path)).toBeUndefined();
      // A torn entry is ignored, not trusted.
      writeFileSync(cache.entryPath(sd), readFileSync(cache.entryPath(sd)).subarray(0, 10));
      const third = await cached.getSample(0);
      expect(third.images?.data).toEqual(reference.images?.data);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
