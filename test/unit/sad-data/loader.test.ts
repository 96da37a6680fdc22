import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collateSadSamples,
  prepareFutureLabels,
  prepareFutureLabelsBatch,
  SadDataset,
  type SadDatasetSpec,
  SadLoader,
} from '../../../data-loaders/sad/index.ts';
import { isSpikedriveError } from '../../../src/util/index.ts';
import { goldenOptions, goldenWorld, SMALL_GRID } from './helpers.ts';

let world: ReturnType<typeof goldenWorld>;
let spec: SadDatasetSpec;
beforeAll(() => {
  world = goldenWorld();
  // Windows of S = 3, F = 1: 8 + 3 = 11 training samples; a 40 × 40 grid and no HD map keep it quick.
  spec = {
    dataroot: world.dataroot,
    version: 'v1.0-mini',
    split: 'train',
    options: goldenOptions({ nFutureFrames: 1, ...SMALL_GRID }),
    maps: false,
  };
});
afterAll(() => world.dispose());

describe('SadLoader', () => {
  it('yields ordered batches without shuffling, and a seeded permutation per epoch with it', async () => {
    const loader = await SadLoader.open(spec, { workers: 0, batchSize: 4 });
    expect(loader.length).toBe(11);
    expect(loader.batchCount).toBe(3);
    const seen: number[] = [];
    const sizes: number[] = [];
    for await (const batch of loader.batches()) {
      seen.push(...batch.indices);
      sizes.push(batch.indices.length);
      expect(batch.images?.shape).toEqual([batch.indices.length, 3, 6, 3, 24, 40]);
      expect(batch.segmentation.shape).toEqual([batch.indices.length, 4, 1, 40, 40]);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Label preparation on a batch: each sample warped with its own ego motion.
    const dataset = new SadDataset({ nusc: world.nusc, split: 'train', options: spec.options, maps: null });
    const pair = [dataset.getLabels(3), dataset.getLabels(9)];
    const batchLabels = prepareFutureLabelsBatch(collateSadSamples(pair));
    const single = pair.map((p) => prepareFutureLabels(p));
    expect(batchLabels.flow?.shape).toEqual([2, 4, 2, 40, 40]);
    expect(batchLabels.instance?.data).toEqual(
      Int32Array.from([...(single[0].instance?.data ?? []), ...(single[1].instance?.data ?? [])]),
    );
    expect(batchLabels.offset?.data).toEqual(
      Float32Array.from([...(single[0].offset?.data ?? []), ...(single[1].offset?.data ?? [])]),
    );
    expect(sizes).toEqual([4, 4, 3]);
    await loader.close();

    const shuffled = await SadLoader.open(spec, {
      workers: 0,
      batchSize: 4,
      shuffle: true,
      seed: 7,
      dropLast: true,
    });
    const again = await SadLoader.open(spec, { workers: 0, batchSize: 4, shuffle: true, seed: 7 });
    expect(shuffled.order(0)).toEqual(again.order(0));
    expect(shuffled.order(0)).not.toEqual(shuffled.order(1));
    expect([...shuffled.order(3)].sort((a, b) => a - b)).toEqual(seen);
    expect(shuffled.batchCount).toBe(2);
    for await (const batch of shuffled.batches(3)) {
      expect(batch.indices).toEqual(shuffled.order(3).slice(0, 4));
      break;
    }
    await Promise.all([shuffled.close(), again.close()]);
  });

  it('builds the same samples in a worker thread as on this thread, reports its errors, and stops cleanly', async () => {
    const dataset = new SadDataset({
      nusc: world.nusc,
      split: 'train',
      options: goldenOptions({ nFutureFrames: 1, ...SMALL_GRID }),
      maps: null,
    });
    const loader = await SadLoader.open(spec, { workers: 1, batchSize: 2, prefetch: 2 });
    expect(loader.length).toBe(dataset.length);
    for await (const batch of loader.batches()) {
      const expected = collateSadSamples(await Promise.all(batch.indices.map((i) => dataset.getSample(i))));
      expect(batch.images?.data).toEqual(expected.images?.data);
      expect(batch.instance.data).toEqual(expected.instance.data);
      expect(batch.flow.data).toEqual(expected.flow.data);
      expect(batch.commands).toEqual(expected.commands);
      break; // leave with requests in flight
    }
    // A missing image of a later sample comes back as the dataset's SpikedriveError.
    const lastFrame = world.nusc.get('sample', dataset.windowTokens(10)[2]);
    rmSync(join(world.dataroot, world.nusc.get('sample_data', lastFrame.data?.CAM_FRONT as string).filename));
    try {
      await loader.load(10);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/does not exist/);
      expect(isSpikedriveError(error)).toBe(true);
    }
    await loader.close();
    await expect(loader.load(0)).rejects.toThrow(/closed/);
    await loader.close(); // twice is fine
  });

  it('fails to open on a bad spec or option', async () => {
    await expect(SadLoader.open({ ...spec, version: 'v9.9' }, { workers: 1 })).rejects.toThrow();
    await expect(SadLoader.open(spec, { batchSize: 0 })).rejects.toThrow(/batchSize/);
  });
});
