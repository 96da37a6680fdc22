// SadSample[] (data-loaders/sad, reference layouts [S, N, 3, H, W], [T, C, H, W]) → the model's channels-last
// input tensors and the trainer's labels warped to the present frame (`prepare_future_labels`).
import * as tf from '@tensorflow/tfjs';
import { prepareFutureLabels, type SadSample } from '../../data-loaders/sad/index.ts';
import type { PlanningCommand, SamplerInputs } from '../planning/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { SadConfig } from './config.ts';
import type { SadModelInput } from './model.ts';

/** Host copies of labels the metrics read (row-major, channels-last). */
export interface HostLabels {
  /** [B, T, X, Y] vehicle / pedestrian 0/1 (T = S + F, present-frame warped). */
  segmentation: Uint8Array;
  pedestrian: Uint8Array | null;
  /** [B, T, X, Y] instance ids (present-frame warped), when instance labels are on. */
  instance: Int32Array | null;
  /** [B, X, Y, n] present HD map. */
  hdmap: Uint8Array | null;
  /** [B, F + 1, 3] GT trajectory, row 0 = origin (lidar frame, x right, y forward). */
  gtTrajectory: Float32Array;
}

/** Label tensors (channels-last) for the losses. */
export interface LabelTensors {
  /** [B, T, X, Y] int32 class indices. */
  segmentation: tf.Tensor;
  pedestrian?: tf.Tensor;
  /** [B, T, X, Y, 1]. */
  centerness?: tf.Tensor;
  /** [B, T, X, Y, 2] (ignore index off instances). */
  offset?: tf.Tensor;
  flow?: tf.Tensor;
  /** [B, X, Y, n] int32 present HD map. */
  hdmap?: tf.Tensor;
  /** [B, F, 3] GT trajectory without the origin. */
  gtTrajectory: tf.Tensor;
}

export interface PreparedBatch {
  size: number;
  input: SadModelInput;
  labels: LabelTensors;
  host: HostLabels;
  frames: number;
  rows: number;
  cols: number;
  commands: PlanningCommand[];
  /** Sampler inputs per item (CAN speed and steering; zeros where a dataset has no CAN bus). */
  samplerInputs: SamplerInputs[];
  targetPoints: [number, number][];
  /** Present-frame sample tokens. */
  tokens: string[];
  dispose(): void;
}

/** [T, C, H, W] → [T, H, W, C] on the host. */
function channelsLast<T extends Float32Array | Uint8Array>(data: T, t: number, c: number, hw: number): T {
  if (c === 1) return data;
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let f = 0; f < t; f++) {
    for (let k = 0; k < c; k++) {
      const src = (f * c + k) * hw;
      for (let p = 0; p < hw; p++) out[(f * hw + p) * c + k] = data[src + p];
    }
  }
  return out;
}

function concat<T extends Float32Array | Uint8Array | Int32Array>(parts: T[]): T {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new (parts[0].constructor as new (n: number) => T)(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Stacks samples into model inputs and labels. `labels: false` skips label preparation (inference on data without
 * annotations still has the arrays, but it saves the warps). Images are required.
 */
export function prepareBatch(
  samples: readonly SadSample[],
  config: SadConfig,
  options: { labels?: boolean } = {},
): PreparedBatch {
  if (samples.length === 0) {
    throw new SpikedriveError('cannot make a batch of no samples', {
      subject: 'batch',
      fix: 'Pass samples.',
    });
  }
  const B = samples.length;
  const first = samples[0];
  if (!first.images) {
    throw new SpikedriveError(`sample ${first.sampleTokens.at(-1)} was loaded without camera images`, {
      subject: 'images',
      fix: 'Open the dataset with images (the model reads the six cameras).',
    });
  }
  const [S, N, , H, W] = first.images.shape;
  const withLabels = options.labels ?? true;
  const pedestrianOn = config.SEMANTIC_SEG.PEDESTRIAN.ENABLED || config.PLANNING.ENABLED;
  const instanceOn = config.INSTANCE_SEG.ENABLED;
  const flowOn = config.INSTANCE_FLOW.ENABLED;
  const hdmapOn = config.SEMANTIC_SEG.HDMAP.ENABLED || config.PLANNING.ENABLED;

  const images = concat(samples.map((s) => s.images?.data as Float32Array));
  const intrinsics = concat(samples.map((s) => s.intrinsics.data));
  const extrinsics = concat(samples.map((s) => s.extrinsics.data));
  const egomotion = concat(samples.map((s) => s.futureEgomotion.data));
  const T = first.segmentation.shape[0];
  const X = first.segmentation.shape[2];
  const Y = first.segmentation.shape[3];
  const hw = X * Y;

  const seg: Uint8Array[] = [];
  const ped: Uint8Array[] = [];
  const inst: Int32Array[] = [];
  const centre: Float32Array[] = [];
  const offset: Float32Array[] = [];
  const flow: Float32Array[] = [];
  const hdmap: Uint8Array[] = [];
  let nHdmap = 0;
  for (const sample of samples) {
    if (!withLabels) break;
    const l = prepareFutureLabels(sample, { pedestrian: pedestrianOn, instance: instanceOn, flow: flowOn });
    seg.push(l.segmentation.data);
    if (l.pedestrian) ped.push(l.pedestrian.data);
    if (l.instance) inst.push(l.instance.data);
    if (l.centerness) centre.push(l.centerness.data);
    if (l.offset) offset.push(channelsLast(l.offset.data, T, 2, hw));
    if (l.flow) flow.push(channelsLast(l.flow.data, T, 2, hw));
    if (hdmapOn) {
      if (!l.hdmap) {
        throw new SpikedriveError(`sample ${sample.sampleTokens.at(-1)} has no HD map`, {
          subject: 'hdmap',
          fix: 'Open the dataset with its map expansion (the HD-map head and the planner need it).',
        });
      }
      nHdmap = l.hdmap.shape[0];
      hdmap.push(channelsLast(l.hdmap.data, 1, nHdmap, hw));
    }
  }
  const F = first.gtTrajectory.shape[0] - 1;
  const gtTrajectory = concat(samples.map((s) => s.gtTrajectory.data));
  const tensors: tf.Tensor[] = [];
  const keep = <U extends tf.Tensor>(t: U): U => {
    tensors.push(t);
    return t;
  };
  const input: SadModelInput = {
    images: keep(tf.tidy(() => tf.transpose(tf.tensor(images, [B, S, N, 3, H, W]), [0, 1, 2, 4, 5, 3]))),
    intrinsics: keep(tf.tensor(intrinsics, [B, S, N, 3, 3])),
    extrinsics: keep(tf.tensor(extrinsics, [B, S, N, 4, 4])),
    futureEgomotion: keep(tf.tensor(egomotion, [B, egomotion.length / B / 6, 6])),
  };
  const labels: LabelTensors = {
    segmentation: keep(
      withLabels
        ? tf.tensor(Int32Array.from(concat(seg)), [B, T, X, Y], 'int32')
        : tf.zeros([B, T, X, Y], 'int32'),
    ),
    gtTrajectory: keep(tf.tidy(() => tf.slice(tf.tensor(gtTrajectory, [B, F + 1, 3]), [0, 1, 0], [B, F, 3]))),
  };
  if (ped.length) labels.pedestrian = keep(tf.tensor(Int32Array.from(concat(ped)), [B, T, X, Y], 'int32'));
  if (centre.length) labels.centerness = keep(tf.tensor(concat(centre), [B, T, X, Y, 1]));
  if (offset.length) labels.offset = keep(tf.tensor(concat(offset), [B, T, X, Y, 2]));
  if (flow.length) labels.flow = keep(tf.tensor(concat(flow), [B, T, X, Y, 2]));
  if (hdmap.length)
    labels.hdmap = keep(tf.tensor(Int32Array.from(concat(hdmap)), [B, X, Y, nHdmap], 'int32'));
  const host: HostLabels = {
    segmentation: seg.length ? concat(seg) : new Uint8Array(B * T * hw),
    pedestrian: ped.length ? concat(ped) : null,
    instance: inst.length ? concat(inst) : null,
    hdmap: hdmap.length ? concat(hdmap) : null,
    gtTrajectory,
  };
  return {
    size: B,
    input,
    labels,
    host,
    frames: T,
    rows: X,
    cols: Y,
    commands: samples.map((s) => s.command),
    samplerInputs: samples.map((s) => ({
      v0Mps: s.samplerInputs?.v0Mps ?? 0,
      steeringRad: s.samplerInputs?.steeringRad ?? 0,
    })),
    targetPoints: samples.map((s) => [s.targetPoint[0], s.targetPoint[1]]),
    tokens: samples.map((s) => s.sampleTokens[s.receptiveField - 1]),
    dispose: () => tf.dispose(tensors),
  };
}
