// `npm run bench -- sad-data [--dataroot DIR] [--repeats N] [--workers N,N]`: SAD samples and labels.
// Uses DIR (a nuScenes-format root with 1600×900 cameras, v1.0-mini names) or generates a small synthetic world
// (`spikedrive data synth --scenes 2 --seed 1 --samples-per-scene 12`) into the spikedrive cache once.
// Prints one JSON object per line (planning windows: S = 3, F = 6; times are medians):
//   sad-data-labels            every label of a sample without images (HD map for all 9 frames, cache off)
//   sad-data-labels-present    the same with the HD map for the present frame only
//   sad-data-future-labels     prepareFutureLabels (all labels warped to the present frame)
//   sad-data-sample            labels + 18 camera images decoded and preprocessed (PIL-exact), no image cache
//   sad-data-sample-cached     the same from a warm preprocessed-image cache
//   sad-data-loader-w{N}[-cached]  SadLoader epochs: samples/s with N worker threads (0 = this thread)
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NuScenes } from '../data-loaders/nuscenes/index.ts';
import {
  prepareFutureLabels,
  SadDataset,
  type SadDatasetSpec,
  SadLoader,
} from '../data-loaders/sad/index.ts';
import { generateSyntheticDataset } from '../data-loaders/synthetic/index.ts';
import { median } from './_util.ts';

const args = process.argv.slice(2);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const repeats = Number(option('--repeats') ?? 3);
const workerCounts = (option('--workers') ?? '0,1,2').split(',').map(Number);

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify({ backend: 'node-cpu', ...record }));
}

const round = (v: number, digits = 1) => Number(v.toFixed(digits));

async function benchWorld(): Promise<string> {
  const given = option('--dataroot');
  if (given) return given;
  const cache =
    process.env.SPIKEDRIVE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spikedrive');
  const out = join(cache, 'bench-sad-world');
  const result = await generateSyntheticDataset({
    out,
    scenes: 2,
    seed: 1,
    samplesPerScene: 12,
    version: 'v1.0-mini',
    force: false,
    onProgress: () => {},
  });
  if (!result.reused)
    process.stderr.write(`sad-data: generated the bench world in ${result.seconds.toFixed(0)} s\n`);
  return out;
}

const dataroot = await benchWorld();
const version = 'v1.0-mini';
const options = { nFutureFrames: 6 };
const nusc = new NuScenes({ dataroot, version, verbose: false });
const dataset = new SadDataset({ nusc, split: 'train', options, hdmapCacheSize: 0 });
const n = dataset.length;
const common = { samples: n, frames: 9, cameras: 6 };

// Warm up the JIT and the map loading.
dataset.getLabels(0);

const time = async (fn: () => unknown | Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

const labelTimes: number[] = [];
for (let r = 0; r < repeats; r++)
  for (let i = 0; i < n; i++) labelTimes.push(await time(() => dataset.getLabels(i)));
emit({ bench: 'sad-data-labels', ...common, labels_ms: round(median(labelTimes)) });

const present = new SadDataset({ nusc, split: 'train', options, hdmapCacheSize: 0, hdmapFrames: 'present' });
present.getLabels(0);
const presentTimes: number[] = [];
for (let r = 0; r < repeats; r++)
  for (let i = 0; i < n; i++) presentTimes.push(await time(() => present.getLabels(i)));
emit({ bench: 'sad-data-labels-present', ...common, labels_ms: round(median(presentTimes)) });

const sample = dataset.getLabels(0);
prepareFutureLabels(sample);
const futureTimes: number[] = [];
for (let r = 0; r < repeats * n; r++) futureTimes.push(await time(() => prepareFutureLabels(sample)));
emit({ bench: 'sad-data-future-labels', ...common, warp_ms: round(median(futureTimes)) });

const sampleTimes: number[] = [];
for (let r = 0; r < repeats; r++)
  for (let i = 0; i < n; i++) sampleTimes.push(await time(() => dataset.getSample(i)));
const sampleMs = median(sampleTimes);
emit({
  bench: 'sad-data-sample',
  ...common,
  sample_ms: round(sampleMs),
  samples_per_s: round(1000 / sampleMs, 2),
});

const cacheDir = mkdtempSync(join(tmpdir(), 'sad-bench-cache-'));
try {
  const cached = new SadDataset({ nusc, split: 'train', options, hdmapCacheSize: 0, imageCache: cacheDir });
  for (let i = 0; i < n; i++) await cached.getSample(i); // fill
  const cachedTimes: number[] = [];
  for (let r = 0; r < repeats; r++)
    for (let i = 0; i < n; i++) cachedTimes.push(await time(() => cached.getSample(i)));
  const cachedMs = median(cachedTimes);
  emit({
    bench: 'sad-data-sample-cached',
    ...common,
    sample_ms: round(cachedMs),
    samples_per_s: round(1000 / cachedMs, 2),
    speedup: round(sampleMs / cachedMs, 2),
  });

  for (const workers of workerCounts) {
    for (const useCache of [false, true]) {
      const spec: SadDatasetSpec = {
        dataroot,
        version,
        split: 'train',
        options,
        imageCache: useCache ? cacheDir : undefined,
      };
      const loader = await SadLoader.open(spec, { workers, batchSize: 1 });
      const rates: number[] = [];
      // The first epoch warms the workers up; the rest are measured.
      for (let epoch = 0; epoch <= repeats; epoch++) {
        const t = performance.now();
        let count = 0;
        for await (const batch of loader.batches(epoch)) count += batch.indices.length;
        if (epoch > 0) rates.push((count * 1000) / (performance.now() - t));
      }
      await loader.close();
      emit({
        bench: `sad-data-loader-w${workers}${useCache ? '-cached' : ''}`,
        ...common,
        workers,
        prefetch: loader.prefetch,
        samples_per_s: round(median(rates), 2),
      });
    }
  }
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
