// `npm run bench -- planning [--backend wasm|cpu] [--runs N]`: the SAD planner's per-sample latency at the paper
// configuration (200 × 200 BEV at 0.5 m, F = 6, 1800 candidates, CAM_FRONT feature 64 × 28 × 60, SGRU 256).
// Prints one JSON object per line:
//   planning-sampler        1800 candidates (circles, clothoids with Fresnel integrals, lines), sorted
//   planning-cost           the cost function over one command third (600 candidates × 6 steps), incl. map set-up
//   planning-sgru           reducer (4 SpikingBottlenecks) + 6 SGRU steps + linear decoder
//   planning-forward        SadPlanning.forward in eval: sampling + costs + selection + SGRU (one sample)
//   planning-train          the same in training with the loss and its gradients (one sample)
//   planning-cost-only      the cost-only planner through the Planner API (sampling + costs)
// Times are medians over --runs (default 15) after two warm-ups (wall and this process's CPU time).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  CostFunction,
  costOnlyPlanner,
  createPlanner,
  type HostObservation,
  SadPlanning,
  sampleTrajectories,
  withoutOrigin,
} from '../src/planning/index.ts';
import { selectBackend } from '../src/snn/index.ts';
import { createRng } from '../src/util/rng.ts';
import { benchOption, median } from './_util.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => benchOption(name, fallback, args);
const runs = Number(option('runs', '15'));
const selected = await selectBackend({ preferred: option('backend', 'wasm') as 'wasm' | 'cpu' });
const backend = selected.name;

const ms = (v: number) => Math.round(v * 100) / 100;

function time(fn: () => void): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = -2; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const dt = performance.now() - t0;
    const dc = process.cpuUsage(c0);
    if (r >= 0) {
      wall.push(dt);
      cpu.push((dc.user + dc.system) / 1000);
    }
  }
  return { wall: median(wall), cpu: median(cpu) };
}

async function timeAsync(fn: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = -2; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const dt = performance.now() - t0;
    const dc = process.cpuUsage(c0);
    if (r >= 0) {
      wall.push(dt);
      cpu.push((dc.user + dc.system) / 1000);
    }
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify({ bench: record.bench, backend, ...record }));
}

const F = 6;
const X = 200;
const Y = 200;
const N = 1800;
const bound = [-50, 50, 0.5] as const;
const rng = createRng('bench-planning');

// Inputs: boxes of occupancy, a drivable band with lane lines, a cost volume in [−0.2, 1.3].
const occupancy = new Float32Array(F * X * Y);
for (let t = 0; t < F; t++) {
  for (let k = 0; k < 40; k++) {
    const r0 = rng.int(0, X - 10);
    const c0 = rng.int(0, Y - 5);
    for (let r = r0; r < r0 + 9; r++) for (let c = c0; c < c0 + 4; c++) occupancy[(t * X + r) * Y + c] = 1;
  }
}
const hdLogits = new Float32Array(X * Y * 4);
for (let r = 0; r < X; r++) {
  for (let c = 0; c < Y; c++) {
    const i = (r * Y + c) * 4;
    const lane = c === 92 || c === 108;
    const drivable = c >= 80 && c < 120;
    hdLogits[i] = rng.uniform(-1, 1);
    hdLogits[i + 1] = rng.uniform(-1, 1) + (lane ? 2 : -2);
    hdLogits[i + 2] = rng.uniform(-1, 1);
    hdLogits[i + 3] = rng.uniform(-1, 1) + (drivable ? 2 : -2);
  }
}
const costVolume = new Float32Array(F * X * Y);
for (let i = 0; i < costVolume.length; i++) costVolume[i] = rng.uniform(-0.2, 1.3);
const sampler = { v0Mps: 6.5, steeringRad: 0.08 };

// ---------------------------------------------------------------------------------------------- sampler
{
  let seed = 0;
  const t = time(() => {
    sampleTrajectories(sampler, createRng(seed++), { sampleNum: N, nFutureFrames: F });
  });
  emit({ bench: 'planning-sampler', sample_ms: ms(t.wall), sample_cpu_ms: ms(t.cpu), candidates: N });
}

// ------------------------------------------------------------------------------------------------- cost
{
  const cf = new CostFunction({ xBound: bound, yBound: bound });
  const set = sampleTrajectories(sampler, createRng(1), { sampleNum: N, nFutureFrames: F });
  const third = withoutOrigin(set.data, N, F + 1).subarray(600 * F * 3, 1200 * F * 3);
  const t = time(() => {
    cf.score(third, 600, F, { occupancy, hdmap: { data: hdLogits, channels: 'logits' }, costVolume });
  });
  emit({
    bench: 'planning-cost',
    cost_ms: ms(t.wall),
    cost_cpu_ms: ms(t.cpu),
    candidates: 600,
    steps: F,
    footprint_cells: cf.footprint.rows.length,
    safety_cells: cf.safetyFootprint.rows.length,
  });
  cf.dispose();
}

// --------------------------------------------------------------------------------------- SGRU and forward
const planning = new SadPlanning({
  featureChannels: 64,
  featureHeight: 28,
  featureWidth: 60,
  gruStateSize: 256,
  sampleNum: N,
  nFutureFrames: F,
  xBound: bound,
  yBound: bound,
  rng: createRng('bench-planning-weights'),
});
const front = tf.randomNormal([1, 28, 60, 64], 0, 1, 'float32', 3) as tf.Tensor4D;
{
  const selectedTraj = tf.randomNormal([1, F, 3], 0, 3, 'float32', 4);
  const target = tf.zeros([1, 2]) as tf.Tensor2D;
  const t = time(() => {
    const h0 = planning.initialState(front);
    const out = planning.refine(h0, selectedTraj, target);
    out.dataSync();
    tf.dispose([h0, out]);
  });
  emit({ bench: 'planning-sgru', sgru_ms: ms(t.wall), sgru_cpu_ms: ms(t.cpu), hidden: 256, steps: F });
  tf.dispose([selectedTraj, target]);
}
const cv = tf.tensor4d(costVolume, [1, F, X, Y]);
const hd = tf.tensor4d(hdLogits, [1, X, Y, 4]);
{
  let seed = 0;
  const t = time(() => {
    const out = planning.forward({
      frontFeature: front,
      samplerInputs: [sampler],
      rng: createRng(seed++),
      commands: ['FORWARD'],
      costVolume: cv,
      occupancy: [occupancy],
      hdmap: hd,
    });
    out.trajectory.dataSync();
    tf.dispose([out.trajectory, out.selected]);
    planning.reset();
  });
  emit({
    bench: 'planning-forward',
    forward_ms: ms(t.wall),
    forward_cpu_ms: ms(t.cpu),
    candidates: N,
    steps: F,
  });
}
{
  const hdMasks = tf.tidy(() => {
    const l = tf.reshape(hd, [1, X, Y, 2, 2]);
    return tf
      .cast(
        tf.greater(
          tf.slice(l, [0, 0, 0, 0, 1], [1, X, Y, 2, 1]),
          tf.slice(l, [0, 0, 0, 0, 0], [1, X, Y, 2, 1]),
        ),
        'float32',
      )
      .reshape([1, X, Y, 2]);
  });
  const gt = tf.tensor3d(
    Float32Array.from({ length: F * 3 }, (_, i) => (i % 3 === 1 ? 1.5 * (Math.floor(i / 3) + 1) : 0)),
    [1, F, 3],
  );
  const volume = tf.variable(cv);
  planning.train();
  let seed = 0;
  const t = time(() => {
    const { value, grads } = tf.variableGrads(() => {
      const out = planning.forward({
        frontFeature: front,
        samplerInputs: [sampler],
        rng: createRng(seed++),
        commands: ['FORWARD'],
        costVolume: volume,
        occupancy: [occupancy],
        hdmap: hdMasks,
        gtTrajectory: gt,
      });
      tf.dispose([out.trajectory, out.selected]);
      return (out.loss as NonNullable<typeof out.loss>).total;
    });
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
    planning.reset();
  });
  planning.eval();
  emit({
    bench: 'planning-train',
    fwd_bwd_ms: ms(t.wall),
    fwd_bwd_cpu_ms: ms(t.cpu),
    candidates: N,
    steps: F,
  });
  tf.dispose([hdMasks, gt, volume]);
}

// ---------------------------------------------------------------------------------------------- cost-only
{
  const planner = await createPlanner(costOnlyPlanner(), {
    xBound: bound,
    yBound: bound,
    nFutureFrames: F,
    sampleNum: N,
  });
  let seed = 0;
  const t = await timeAsync(async () => {
    const set = sampleTrajectories(sampler, createRng(seed++), { sampleNum: N, nFutureFrames: F });
    const observation: HostObservation = {
      sampleToken: 'bench',
      occupancy: { data: occupancy, shape: [F, X, Y] },
      hdmap: { data: hdLogits, shape: [X, Y, 4], channels: 'logits' },
      costVolume: { data: costVolume, shape: [F, X, Y] },
      command: 'FORWARD',
      candidates: { data: withoutOrigin(set.data, N, F + 1), shape: [N, F, 3] },
    };
    await planner.plan(observation);
  });
  emit({ bench: 'planning-cost-only', plan_ms: ms(t.wall), plan_cpu_ms: ms(t.cpu), candidates: N, steps: F });
  await planner.dispose();
}
tf.dispose([front, cv, hd]);
planning.dispose();
