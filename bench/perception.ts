// `npm run bench -- perception [--sizes tiny,small,paper] [--backends cpu,wasm] [--iters N] [--warmup N]`:
// SadPerception forward latency (B = 1, S = 3, N = 6 cameras, eval mode, random weights and images) at the
// bench's tiny and small sizes and the paper preset, on each back end as selectBackend() sets it up, plus the lift-splat alone
// (geometry, softmax, splat, discount, ego channels; forward and forward + backward) at each size.
// One JSON line per case; times are medians (with mins) after the warm-up runs; cpu_ms is process CPU time
// (user + system, all threads), steadier than wall time on a shared machine.
import * as tf from '@tensorflow/tfjs';
import {
  alignedPoints,
  assignVoxels,
  createFrustum,
  type PerceptionOptions,
  perceptionGeometry,
  projectToBev,
  SadPerception,
} from '../src/perception/index.ts';
import { loadSadConfig, perceptionOptions } from '../src/pipeline/index.ts';
import { type BackendName, selectBackend } from '../src/snn/index.ts';
import { benchOption } from './_util.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => benchOption(name, fallback, args);
const sizes = option('sizes', 'tiny,small,paper').split(',');
const backends = option('backends', 'cpu,wasm').split(',') as BackendName[];
const iters = Number(option('iters', '3'));
const warmup = Number(option('warmup', '1'));

const base = { receptiveField: 3, zBound: [-10, 10, 20], discount: 0.5, inputEgopose: true } as const;
const SIZES: Record<string, PerceptionOptions> = {
  // tiny and small: the bench's own sizes (fixed, so figures stay comparable; they are not today's cpu-tiny and
  // cpu-small presets); paper: the paper preset itself.
  tiny: {
    ...base,
    zBound: [-10, 10, 20],
    imageSize: [32, 64],
    xBound: [-8, 8, 0.5],
    yBound: [-8, 8, 0.5],
    dBound: [2, 10, 2],
    embedDims: 32,
    timeSteps: 2,
    outChannels: 16,
    headHiddenChannels: 8,
  },
  small: {
    ...base,
    zBound: [-10, 10, 20],
    imageSize: [64, 128],
    xBound: [-24, 24, 0.75],
    yBound: [-24, 24, 0.75],
    dBound: [2, 34, 2],
    embedDims: 64,
    timeSteps: 2,
    outChannels: 64,
    headHiddenChannels: 16,
  },
  paper: perceptionOptions(loadSadConfig('paper')),
};

const B = 1;
const S = 3;
const N = 6;
const round = (v: number) => Math.round(v * 10) / 10;

/** Six cameras around the car (yaws of the nuScenes rig), pinhole intrinsics scaled to the image. */
function cameras(options: PerceptionOptions) {
  const [h, w] = options.imageSize;
  const yaws = [0.96, 0, -0.96, 1.9, Math.PI, -1.9];
  const extrinsics: number[] = [];
  for (let i = 0; i < B * S; i++) {
    for (const yaw of yaws) {
      const [c, s] = [Math.cos(yaw), Math.sin(yaw)];
      // Rz(yaw) · (camera x → −y, y → −z, z → x), from 1.5 m up.
      extrinsics.push(s, 0, c, 0.5 * c, -c, 0, s, 0.5 * s, 0, -1, 0, 1.5, 0, 0, 0, 1);
    }
  }
  const f = 0.8 * w;
  return {
    intrinsics: Array.from({ length: B * S * N }, () => [f, 0, w / 2, 0, f, h / 2, 0, 0, 1]).flat(),
    extrinsics,
    egomotion: Array.from({ length: B * S }, () => [1.2, 0.02, 0, 0, 0, 0.01]).flat(),
  };
}

interface Timing {
  median: number;
  min: number;
  cpuMedian: number;
}

function time(fn: () => void): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iters; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  return { median: round(med(wall)), min: round(Math.min(...wall)), cpuMedian: round(med(cpu)) };
}

for (const backendName of backends) {
  const backend = await selectBackend({ preferred: backendName });
  for (const size of sizes) {
    const options = SIZES[size];
    if (!options) throw new Error(`unknown size ${size}; use tiny, small or paper`);
    const [height, width] = options.imageSize;
    const cams = cameras(options);
    const input = {
      images: tf.randomNormal([B, S, N, height, width, 3], 0, 1, 'float32', 1),
      intrinsics: tf.tensor(cams.intrinsics, [B, S, N, 3, 3]),
      extrinsics: tf.tensor(cams.extrinsics, [B, S, N, 4, 4]),
      futureEgomotion: tf.tensor(cams.egomotion, [B, S, 6]),
    };
    const perception = new SadPerception({ ...options, referenceInit: false });
    let kept = 0;
    const forward = time(() => {
      const out = perception.forward(input);
      kept = out.pointsKept;
      tf.dispose([out.bev, out.depth, out.camFront as tf.Tensor]);
      perception.reset();
    });
    const line = {
      bench: `perception-${size}`,
      backend: backend.name,
      threads: backend.threads,
      images: B * S * N,
      image_size: options.imageSize,
      points_kept: kept,
      forward_ms: forward.median,
      forward_min_ms: forward.min,
      forward_cpu_ms: forward.cpuMedian,
      iters,
    };
    console.log(JSON.stringify(line));
    perception.dispose();

    // Lift-splat alone, on random encoder outputs of the right shape.
    const geometry = perceptionGeometry(options);
    const frustum = createFrustum(options.imageSize, 8, options.dBound);
    const [h, w] = geometry.featureSize;
    const m = B * S * N;
    const feature = tf.randomNormal([m, h, w, options.outChannels], 0, 1, 'float32', 2);
    const depth = tf.randomNormal([m, h, w, geometry.depthBins], 0, 1, 'float32', 3);
    const ego = Float32Array.from(cams.egomotion);
    const lift = () => {
      const points = alignedPoints(frustum.data, frustum.shape, {
        batch: B,
        frames: S,
        cameras: N,
        intrinsics: cams.intrinsics,
        extrinsics: cams.extrinsics,
        futureEgomotion: ego,
      });
      const { cell } = assignVoxels(points, geometry);
      const [rows, cols] = geometry.bevDimension;
      const plan = {
        cell,
        images: m,
        camerasPerFrame: N,
        pixels: h * w,
        depthBins: geometry.depthBins,
        rows,
        cols,
      };
      return { batch: B, frames: S, discount: 0.5, egomotion: ego, plan };
    };
    const liftForward = time(() => tf.dispose(projectToBev({ feature, depth, ...lift() })));
    const liftBackward = time(() => {
      const args2 = lift();
      const [gf, gd] = tf.grads((f: tf.Tensor, d: tf.Tensor) =>
        tf.sum(projectToBev({ feature: f, depth: d, ...args2 })),
      )([feature, depth]);
      tf.dispose([gf, gd]);
    });
    console.log(
      JSON.stringify({
        bench: `perception-${size}-lift-splat`,
        backend: backend.name,
        points: m * h * w * geometry.depthBins,
        forward_ms: liftForward.median,
        forward_min_ms: liftForward.min,
        forward_backward_ms: liftBackward.median,
        forward_backward_min_ms: liftBackward.min,
        iters,
      }),
    );
    tf.dispose([feature, depth, ...Object.values(input)]);
  }
}
