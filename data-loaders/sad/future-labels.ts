import type { SadArray, SadBatch, SadSample, SadTypedArray } from './types.ts';
import { applyFrameWarps, type FrameWarps, presentFrameWarps } from './warp.ts';

/** Which label groups the trainer uses (SEMANTIC_SEG.PEDESTRIAN / INSTANCE_SEG / INSTANCE_FLOW .ENABLED). */
export interface FutureLabelOptions {
  pedestrian?: boolean;
  instance?: boolean;
  flow?: boolean;
}

/** What label preparation reads from a sample. */
export type FutureLabelSource = Pick<
  SadSample,
  | 'receptiveField'
  | 'spatialExtent'
  | 'futureEgomotion'
  | 'segmentation'
  | 'pedestrian'
  | 'instance'
  | 'centerness'
  | 'offset'
  | 'flow'
  | 'hdmap'
  | 'gtTrajectory'
>;

/** The trainer's labels, every frame in the present frame's BEV (`prepare_future_labels`). */
export interface FutureLabels {
  /** [T, 1, H, W]. */
  segmentation: SadArray<Uint8Array>;
  pedestrian?: SadArray<Uint8Array>;
  /** [T, H, W]. */
  instance?: SadArray<Int32Array>;
  centerness?: SadArray<Float32Array>;
  offset?: SadArray<Float32Array>;
  flow?: SadArray<Float32Array>;
  /** [C, H, W]: the present frame's HD map only, not warped. */
  hdmap?: SadArray<Uint8Array>;
  /** [F + 1, 3], unchanged. */
  gtTrajectory: SadArray<Float32Array>;
}

function warp<T extends SadTypedArray>(a: SadArray<T>, channels: number, warps: FrameWarps): SadArray<T> {
  const [frames] = a.shape;
  const rows = a.shape[a.shape.length - 2];
  const cols = a.shape[a.shape.length - 1];
  return {
    data: applyFrameWarps({ data: a.data, frames, channels, rows, cols }, warps).data,
    shape: [...a.shape],
  };
}

/**
 * `prepare_future_labels` for one sample: every BEV label warped into the present frame (past frames
 * forward, future frames back, nearest sampling with zero padding, so ignore-valued offsets/flow become 0
 * off the grid exactly as in the reference), the present HD map, the GT trajectory. The warps are computed
 * once and shared by all labels. Typed-array code; no tensors to free.
 */
export function prepareFutureLabels(
  sample: FutureLabelSource,
  options: FutureLabelOptions = {},
): FutureLabels {
  const T = sample.segmentation.shape[0];
  const rows = sample.segmentation.shape[2];
  const cols = sample.segmentation.shape[3];
  const warps = presentFrameWarps(
    sample.futureEgomotion.data,
    sample.receptiveField,
    T,
    rows,
    cols,
    sample.spatialExtent,
  );
  const labels: FutureLabels = {
    segmentation: warp(sample.segmentation, 1, warps),
    gtTrajectory: sample.gtTrajectory,
  };
  if (options.pedestrian ?? true) labels.pedestrian = warp(sample.pedestrian, 1, warps);
  if (options.instance ?? true) {
    labels.instance = warp(sample.instance, 1, warps);
    labels.centerness = warp(sample.centerness, 1, warps);
    labels.offset = warp(sample.offset, 2, warps);
  }
  if (options.flow ?? true) labels.flow = warp(sample.flow, 2, warps);
  if (sample.hdmap) {
    const [, C, H, W] = sample.hdmap.shape;
    const present = sample.receptiveField - 1;
    labels.hdmap = {
      data: sample.hdmap.data.slice(present * C * H * W, (present + 1) * C * H * W),
      shape: [C, H, W],
    };
  }
  return labels;
}

/** One sample of a batch, as views (no copy), with the batch's shared fields. */
function batchItem(batch: SadBatch, b: number): FutureLabelSource {
  const view = <T extends SadTypedArray>(a: SadArray<T>): SadArray<T> => {
    const size = a.data.length / a.shape[0];
    return { data: a.data.subarray(b * size, (b + 1) * size) as T, shape: a.shape.slice(1) };
  };
  return {
    receptiveField: batch.receptiveField,
    spatialExtent: batch.spatialExtent,
    futureEgomotion: view(batch.futureEgomotion),
    segmentation: view(batch.segmentation),
    pedestrian: view(batch.pedestrian),
    instance: view(batch.instance),
    centerness: view(batch.centerness),
    offset: view(batch.offset),
    flow: view(batch.flow),
    hdmap: batch.hdmap ? view(batch.hdmap) : undefined,
    gtTrajectory: view(batch.gtTrajectory),
  };
}

function stackLabels<T extends SadTypedArray>(parts: SadArray<T>[]): SadArray<T> {
  const first = parts[0];
  const out = new (first.data.constructor as new (n: number) => T)(first.data.length * parts.length);
  parts.forEach((p, i) => {
    out.set(p.data, i * first.data.length);
  });
  return { data: out, shape: [parts.length, ...first.shape] };
}

/** `prepare_future_labels` on a batch: each sample warped with its own ego motion, stacked back. */
export function prepareFutureLabelsBatch(batch: SadBatch, options: FutureLabelOptions = {}): FutureLabels {
  const per = batch.indices.map((_, b) => prepareFutureLabels(batchItem(batch, b), options));
  const pick = <K extends keyof FutureLabels>(key: K) =>
    per[0][key] === undefined ? undefined : (per.map((p) => p[key]) as SadArray<SadTypedArray>[]);
  const stacked = (key: keyof FutureLabels) => {
    const parts = pick(key);
    return parts ? stackLabels(parts) : undefined;
  };
  return {
    segmentation: stacked('segmentation') as SadArray<Uint8Array>,
    pedestrian: stacked('pedestrian') as SadArray<Uint8Array> | undefined,
    instance: stacked('instance') as SadArray<Int32Array> | undefined,
    centerness: stacked('centerness') as SadArray<Float32Array> | undefined,
    offset: stacked('offset') as SadArray<Float32Array> | undefined,
    flow: stacked('flow') as SadArray<Float32Array> | undefined,
    hdmap: stacked('hdmap') as SadArray<Uint8Array> | undefined,
    gtTrajectory: batch.gtTrajectory,
  };
}
