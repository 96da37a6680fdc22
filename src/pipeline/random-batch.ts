// Seeded stand-ins for a batch (no dataset needed; benches, tests, warm-ups): six pinhole cameras around the ego,
// random images, labels with a few occupied cells, a straight GT trajectory.
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../util/rng.ts';
import type { PreparedBatch } from './batch.ts';
import type { SadConfig } from './config.ts';
import type { SadModelInput } from './model.ts';

const YAWS_DEG = [55, 0, -55, 110, 180, -110];

export function randomModelInput(config: SadConfig, batch = 1, seed = 1): SadModelInput {
  const rng = createRng(seed);
  const [h, w] = config.IMAGE.FINAL_DIM;
  const s = config.TIME_RECEPTIVE_FIELD;
  const n = config.IMAGE.NAMES.length;
  const images = new Float32Array(batch * s * n * h * w * 3).map(() => rng.normal());
  const intrinsics: number[] = [];
  const extrinsics: number[] = [];
  for (let i = 0; i < batch * s; i++) {
    for (let c = 0; c < n; c++) {
      const f = w * 0.6;
      intrinsics.push(f, 0, w / 2, 0, f, h / 2, 0, 0, 1);
      const yaw = (YAWS_DEG[c % 6] * Math.PI) / 180;
      const cy = Math.cos(yaw);
      const sy = Math.sin(yaw);
      // camera (x right, y down, z forward) → ego (x forward, y left, z up), then the camera's yaw; 1.5 m up.
      const r = [
        [0, 0, 1],
        [-1, 0, 0],
        [0, -1, 0],
      ];
      const rot = [
        [cy, -sy, 0],
        [sy, cy, 0],
        [0, 0, 1],
      ];
      const m = rot.map((row) =>
        [0, 1, 2].map((j) => row[0] * r[0][j] + row[1] * r[1][j] + row[2] * r[2][j]),
      );
      extrinsics.push(...m[0], 0, ...m[1], 0, ...m[2], 1.5, 0, 0, 0, 1);
    }
  }
  return {
    images: tf.tensor(images, [batch, s, n, h, w, 3]),
    intrinsics: tf.tensor(intrinsics, [batch, s, n, 3, 3]),
    extrinsics: tf.tensor(extrinsics, [batch, s, n, 4, 4]),
    futureEgomotion: tf.tensor(
      new Float32Array(batch * (s + config.N_FUTURE_FRAMES) * 6).map((_, k) => (k % 6 === 0 ? 0.5 : 0)),
      [batch, s + config.N_FUTURE_FRAMES, 6],
    ),
  };
}

/** A PreparedBatch for the losses: a car-sized block ahead, a pedestrian, a drivable band, a lane line. */
export function randomTrainingBatch(config: SadConfig, seed = 1): PreparedBatch {
  const input = randomModelInput(config, 1, seed);
  const s = config.TIME_RECEPTIVE_FIELD;
  const f = config.N_FUTURE_FRAMES;
  const t = s + f;
  const x = Math.round((config.LIFT.X_BOUND[1] - config.LIFT.X_BOUND[0]) / config.LIFT.X_BOUND[2]);
  const y = Math.round((config.LIFT.Y_BOUND[1] - config.LIFT.Y_BOUND[0]) / config.LIFT.Y_BOUND[2]);
  const seg = new Uint8Array(t * x * y);
  const ped = new Uint8Array(t * x * y);
  for (let k = 0; k < t; k++) {
    for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) seg[(k * x + x / 2 + 4 + r) * y + y / 2 + c] = 1;
    ped[(k * x + x / 2 - 3) * y + y / 2 + 4] = 1;
  }
  const hdmap = new Uint8Array(x * y * 2);
  for (let r = 0; r < x; r++) {
    for (let c = y / 2 - 3; c < y / 2 + 3; c++) hdmap[(r * y + c) * 2 + 1] = 1;
    hdmap[(r * y + y / 2 - 3) * 2] = 1;
  }
  const gt = new Float32Array((f + 1) * 3);
  for (let k = 0; k <= f; k++) gt[k * 3 + 1] = 2 * k;
  const tensors: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(v: T): T => {
    tensors.push(v);
    return v;
  };
  const batch: PreparedBatch = {
    size: 1,
    input,
    labels: {
      segmentation: keep(tf.tensor(Int32Array.from(seg), [1, t, x, y], 'int32')),
      pedestrian: keep(tf.tensor(Int32Array.from(ped), [1, t, x, y], 'int32')),
      hdmap: keep(tf.tensor(Int32Array.from(hdmap), [1, x, y, 2], 'int32')),
      gtTrajectory: keep(tf.tensor(gt.slice(3), [1, f, 3])),
    },
    host: { segmentation: seg, pedestrian: ped, instance: null, hdmap, gtTrajectory: gt },
    frames: t,
    rows: x,
    cols: y,
    commands: ['FORWARD'],
    samplerInputs: [{ v0Mps: 4, steeringRad: 0 }],
    targetPoints: [[0, 0]],
    tokens: ['fake'],
    dispose: () => {
      tf.dispose(tensors);
      tf.dispose(Object.values(input));
    },
  };
  return batch;
}
