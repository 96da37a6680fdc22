// `npm run bench -- synth [--repeats N] [--workers W] [--full]`: generating the synthetic world at nuScenes size
// (six 1600×900 JPEG cameras + lidar per keyframe, maps, CAN bus, tables). Seconds per keyframe come from the
// difference of two runs (2 scenes × 4 and × 12 keyframes), so fixed costs (towns, maps, tables) cancel; the
// 10 scenes × 40 keyframes total is extrapolated from them unless --full runs it for real.
// Prints one JSON line per case; wall-clock medians, so other work on the machine inflates them.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSyntheticDataset } from '../data-loaders/synthetic/index.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const repeats = arg('--repeats', 1);
const workers = arg('--workers', availableParallelism());
const full = process.argv.includes('--full');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

async function timed(
  scenes: number,
  samplesPerScene: number,
  version: 'v1.0-mini' | 'v1.0-trainval' = 'v1.0-mini',
) {
  const out = mkdtempSync(join(tmpdir(), 'spikedrive-bench-synth-'));
  try {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await generateSyntheticDataset({ out, scenes, seed: 0, samplesPerScene, version, workers });
    const used = process.cpuUsage(cpu);
    // CPU time of all threads (main + render workers): what the work costs, whatever else the machine runs.
    return { wallS: (performance.now() - started) / 1000, cpuS: (used.user + used.system) / 1e6 };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const small: number[] = [];
const large: number[] = [];
const smallCpu: number[] = [];
const largeCpu: number[] = [];
for (let r = 0; r < repeats; r++) {
  const a = await timed(2, 4);
  const b = await timed(2, 12);
  small.push(a.wallS);
  large.push(b.wallS);
  smallCpu.push(a.cpuS);
  largeCpu.push(b.cpuS);
}
const perKeyframe = (median(large) - median(small)) / 16;
const fixed = median(small) - 8 * perKeyframe;
const cpuPerKeyframe = (median(largeCpu) - median(smallCpu)) / 16;
console.log(
  JSON.stringify({
    bench: 'synth-keyframe',
    backend: 'cpu',
    workers,
    image: '1600x900',
    cameras: 6,
    s_per_keyframe: round(perKeyframe),
    cpu_s_per_keyframe: round(cpuPerKeyframe),
    fixed_s_2_scenes: round(fixed, 2),
    runs_s: { '2x4': small.map((x) => round(x, 2)), '2x12': large.map((x) => round(x, 2)) },
  }),
);
// Fixed costs grow with scenes only through the per-scene simulation; 2-scene fixed cost is a fair proxy.
console.log(
  JSON.stringify({
    bench: 'synth-10x40',
    backend: 'cpu',
    workers,
    extrapolated: true,
    total_s: round(fixed + 400 * perKeyframe, 1),
    goal_s: 300,
  }),
);
if (full) {
  const total = await timed(10, 40);
  console.log(
    JSON.stringify({
      bench: 'synth-10x40',
      backend: 'cpu',
      workers,
      extrapolated: false,
      total_s: round(total.wallS, 1),
      cpu_s: round(total.cpuS, 1),
      goal_s: 300,
    }),
  );
}
