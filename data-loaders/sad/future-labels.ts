import type { SadArray, SadSample, SadTypedArray } from './types.ts';
import { applyFrameWarps, type FrameWarps, presentFrameWarps } from './warp.ts';

/** Which label groups the trainer uses (SEMANTIC_SEG.PEDESTRIAN / INSTANCE_SEG / INSTANCE_FLOW .ENABLED). */
export interface FutureLabelOptions {
  pedestrian?: boolean;
  instance?: boolean;
  flow?: boolean;
}

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
export function prepareFutureLabels(sample: SadSample, options: FutureLabelOptions = {}): FutureLabels {
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
