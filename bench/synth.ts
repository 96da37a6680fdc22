// `npm run bench -- synth [--repeats N] [--workers W] [--scenes N] [--samples K] [--full]`: generating the
// synthetic world at nuScenes size (six 1600×900 JPEG cameras + lidar per keyframe, maps, CAN bus, tables).
// Seconds per keyframe are the steady-state throughput between the first and the last finished keyframe of a
// run (fixed costs — towns, maps, tables — fall outside it); the 10 scenes × 40 keyframes total is extrapolated
// from a smaller run unless --full runs it for real. Wall-clock medians, so other work on the machine inflates
// them; CPU seconds (all threads) are printed beside them.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSyntheticDataset } from '../data-loaders/synthetic/index.ts';
import { median } from './_util.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const repeats = arg('--repeats', 1);
const workers = arg('--workers', availableParallelism());
const scenes = arg('--scenes', 1);
const samples = arg('--samples', 20);
const full = process.argv.includes('--full');
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

interface Run {
  totalS: number;
  cpuS: number;
  /** Seconds and CPU seconds per keyframe between the first and the last finished keyframe. */
  perKeyframeS: number;
  cpuPerKeyframeS: number;
  keyframes: number;
}

async function run(sceneCount: number, samplesPerScene: number): Promise<Run> {
  const out = mkdtempSync(join(tmpdir(), 'spikedrive-bench-synth-'));
  try {
    const started = performance.now();
    const cpu0 = cpuSeconds();
    let first: { t: number; cpu: number; done: number } | null = null;
    let last: { t: number; cpu: number; done: number } | null = null;
    await generateSyntheticDataset({
      out,
      scenes: sceneCount,
      seed: 0,
      samplesPerScene,
      workers,
      onProgress: (p) => {
        if (p.phase !== 'keyframes') return;
        const mark = { t: performance.now(), cpu: cpuSeconds(), done: p.done };
        if (!first) first = mark;
        last = mark;
      },
    });
    const a = first as { t: number; cpu: number; done: number } | null;
    const b = last as { t: number; cpu: number; done: number } | null;
    const span = a && b && b.done > a.done ? b.done - a.done : 1;
    return {
      totalS: (performance.now() - started) / 1000,
      cpuS: cpuSeconds() - cpu0,
      perKeyframeS: a && b ? (b.t - a.t) / 1000 / span : Number.NaN,
      cpuPerKeyframeS: a && b ? (b.cpu - a.cpu) / span : Number.NaN,
      keyframes: sceneCount * samplesPerScene,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const runs: Run[] = [];
for (let r = 0; r < repeats; r++) runs.push(await run(scenes, samples));
const perKeyframe = median(runs.map((r) => r.perKeyframeS));
const cpuPerKeyframe = median(runs.map((r) => r.cpuPerKeyframeS));
const fixed = median(runs.map((r) => r.totalS - r.keyframes * r.perKeyframeS));
console.log(
  JSON.stringify({
    bench: 'synth-keyframe',
    backend: 'cpu',
    workers,
    image: '1600x900',
    cameras: 6,
    run: `${scenes}x${samples}`,
    s_per_keyframe: round(perKeyframe),
    cpu_s_per_keyframe: round(cpuPerKeyframe),
    fixed_s: round(fixed, 1),
    total_s: runs.map((r) => round(r.totalS, 1)),
  }),
);
// Fixed costs (four towns and their maps, tables) barely grow with the scene count; the three more location
// switches of a 10-scene world (a ground texture each) are not in this estimate.
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
  const total = await run(10, 40);
  console.log(
    JSON.stringify({
      bench: 'synth-10x40',
      backend: 'cpu',
      workers,
      extrapolated: false,
      total_s: round(total.totalS, 1),
      cpu_s: round(total.cpuS, 1),
      s_per_keyframe: round(total.perKeyframeS),
      cpu_s_per_keyframe: round(total.cpuPerKeyframeS),
      goal_s: 300,
    }),
  );
}
