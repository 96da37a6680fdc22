import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../util/errors.ts';

/**
 * The splat of lift-splat as one host kernel with its gradient. The reference lifts every feature pixel into D
 * depth bins (softmax(depth) ⊗ feature, a [B·S·N, D, h, w, C] tensor: ~93 M floats at the paper size), sorts
 * the points by voxel and sum-pools them with the cumsum trick (`VoxelsSumming`). Here the outer product is never
 * materialised: each point adds prob·feature straight into its cell. That is the same sum per voxel up to float
 * reassociation (the reference's cumsum differences round more: on the golden inputs they are 4.6e-6 off exact
 * sums, ours 0 to float32 accumulation), at the memory of the BEV grid.
 *
 * Written by hand because tfjs has no differentiable scatter-add on every back end (`unsortedSegmentSum` is missing
 * on wasm, `scatterND` has no gradient), and the gather-multiply-segment-sum route would materialise the lift.
 */

/** Where every lifted point goes, computed on the host from the camera geometry (no gradient, as `.long()`). */
export interface SplatPlan {
  /** Per point (image m, row i, col j, depth k; depth fastest): flat BEV cell x·Y + y, or −1 when dropped. */
  cell: Int32Array;
  /** Images M = B·S·N; frame g = ⌊m / camerasPerFrame⌋ receives image m. */
  images: number;
  camerasPerFrame: number;
  /** Feature pixels h·w per image. */
  pixels: number;
  depthBins: number;
  /** BEV grid rows X (forward) and columns Y (left). */
  rows: number;
  cols: number;
}

function checkInputs(prob: tf.Tensor, feature: tf.Tensor, plan: SplatPlan): number {
  const { images, pixels, depthBins } = plan;
  const ok =
    prob.rank === 4 &&
    feature.rank === 4 &&
    prob.shape[0] === images &&
    feature.shape[0] === images &&
    (prob.shape[1] as number) * (prob.shape[2] as number) === pixels &&
    prob.shape[3] === depthBins &&
    prob.shape[1] === feature.shape[1] &&
    prob.shape[2] === feature.shape[2] &&
    plan.cell.length === images * pixels * depthBins &&
    images % plan.camerasPerFrame === 0;
  if (!ok) {
    throw new SpikedriveError(
      `splat: depth [${prob.shape}] and feature [${feature.shape}] do not fit the plan (${images} images, ${pixels} pixels, ${depthBins} depth bins)`,
      {
        subject: 'splat',
        fix: 'Pass depth probabilities [M, h, w, D] and features [M, h, w, C] of the planned images.',
      },
    );
  }
  return feature.shape[3] as number;
}

/** Adds prob[m, i, j, k]·feature[m, i, j, :] of frame g's images into `out` (one frame, [X·Y, C]). */
function splatFrame(
  prob: Float32Array,
  feature: Float32Array,
  plan: SplatPlan,
  channels: number,
  frame: number,
  out: Float32Array,
  outOffset: number,
): void {
  const { cell, camerasPerFrame, pixels, depthBins } = plan;
  for (let m = frame * camerasPerFrame; m < (frame + 1) * camerasPerFrame; m++) {
    for (let px = 0; px < pixels; px++) {
      const pointBase = (m * pixels + px) * depthBins;
      const featBase = (m * pixels + px) * channels;
      for (let k = 0; k < depthBins; k++) {
        const target = cell[pointBase + k];
        if (target < 0) continue;
        const p = prob[pointBase + k];
        if (p === 0) continue;
        const o = outOffset + target * channels;
        for (let c = 0; c < channels; c++) out[o + c] += p * feature[featBase + c];
      }
    }
  }
}

/**
 * Gradients of one frame's splat given dOut of that frame ([X·Y, C] at `dOffset` with row stride `dStride` ≥ C):
 * dFeature = Σ_k prob·dOut[cell], dProb = ⟨dOut[cell], feature⟩ (written, not accumulated).
 */
function splatFrameBackward(
  dOut: Float32Array,
  dOffset: number,
  dStride: number,
  prob: Float32Array,
  feature: Float32Array,
  plan: SplatPlan,
  channels: number,
  frame: number,
  dProb: Float32Array,
  dFeature: Float32Array,
): void {
  const { cell, camerasPerFrame, pixels, depthBins } = plan;
  const acc = new Float64Array(channels);
  for (let m = frame * camerasPerFrame; m < (frame + 1) * camerasPerFrame; m++) {
    for (let px = 0; px < pixels; px++) {
      const pointBase = (m * pixels + px) * depthBins;
      const featBase = (m * pixels + px) * channels;
      acc.fill(0);
      for (let k = 0; k < depthBins; k++) {
        const target = cell[pointBase + k];
        if (target < 0) continue;
        const p = prob[pointBase + k];
        const o = dOffset + target * dStride;
        let dot = 0;
        for (let c = 0; c < channels; c++) {
          const g = dOut[o + c];
          dot += g * feature[featBase + c];
          acc[c] += p * g;
        }
        dProb[pointBase + k] = dot;
      }
      for (let c = 0; c < channels; c++) dFeature[featBase + c] = acc[c];
    }
  }
}

function frames(plan: SplatPlan): number {
  return plan.images / plan.camerasPerFrame;
}

/**
 * Splats lifted features into per-frame BEV grids: depth probabilities [M, h, w, D] (softmax over D) and features
 * [M, h, w, C] → [G, X, Y, C] with G = M / camerasPerFrame, summing every point of a frame's cameras that falls in
 * a cell. Differentiable in both inputs (a custom gradient computed on the host).
 */
export function splat(prob: tf.Tensor, feature: tf.Tensor, plan: SplatPlan): tf.Tensor {
  const channels = checkInputs(prob, feature, plan);
  const frameSize = plan.rows * plan.cols * channels;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [p, f, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([p, f]);
    const [pv, fv] = [p.dataSync() as Float32Array, f.dataSync() as Float32Array];
    const out = new Float32Array(frames(plan) * frameSize);
    for (let g = 0; g < frames(plan); g++) splatFrame(pv, fv, plan, channels, g, out, g * frameSize);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sp, sf] = saved;
      const [spv, sfv, dyv] = [sp.dataSync(), sf.dataSync(), dy.dataSync()] as Float32Array[];
      const dProb = new Float32Array(spv.length);
      const dFeature = new Float32Array(sfv.length);
      for (let g = 0; g < frames(plan); g++) {
        splatFrameBackward(dyv, g * frameSize, channels, spv, sfv, plan, channels, g, dProb, dFeature);
      }
      return [tf.tensor(dProb, sp.shape, 'float32'), tf.tensor(dFeature, sf.shape, 'float32')];
    };
    return { value: tf.tensor(out, [frames(plan), plan.rows, plan.cols, channels], 'float32'), gradFunc };
  });
  return op(prob, feature);
}

/** How per-frame grids become the BEV sequence. */
export interface AccumulateOptions {
  batch: number;
  frames: number;
  /** bev_t = discount·bev_{t−1} + pooled_t (in float32, as the reference). */
  discount: number;
  /** [B, S, 6] ego motion appended as channels (frame t gets E_{t−1}, frame 0 zeros), or null for none. */
  egomotion: Float32Array | null;
}

/**
 * The whole projection in one host op: splat each frame (images batch-major, then frame, then camera), accumulate
 * bev_t = discount·bev_{t−1} + pooled_t over the frames of each batch item, and write the six ego-motion channels
 * after the C features → [B, S, X, Y, C (+6)]. The same numbers as `splat` followed by tensor ops, without the
 * unstack/stack/concat whose gradients are slow strided copies on the cpu back end. Differentiable in prob and
 * feature (the ego channels are inputs, not learned).
 */
export function splatToBev(
  prob: tf.Tensor,
  feature: tf.Tensor,
  plan: SplatPlan,
  options: AccumulateOptions,
): tf.Tensor {
  const channels = checkInputs(prob, feature, plan);
  const { batch, discount, egomotion } = options;
  const steps = options.frames;
  if (batch * steps !== frames(plan) || (egomotion !== null && egomotion.length !== batch * steps * 6)) {
    throw new SpikedriveError(
      `splatToBev: ${frames(plan)} planned frames (and ${egomotion?.length ?? 0} ego-motion values) for batch ${batch} × ${steps} frames`,
      { subject: 'splatToBev', fix: 'Plan B·S·N images and pass [B, S, 6] ego motion.' },
    );
  }
  const extra = egomotion === null ? 0 : 6;
  const stride = channels + extra;
  const cells = plan.rows * plan.cols;
  const frameSize = cells * channels;
  const f = Math.fround;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [p, fe, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([p, fe]);
    const [pv, fv] = [p.dataSync() as Float32Array, fe.dataSync() as Float32Array];
    const out = new Float32Array(batch * steps * cells * stride);
    const acc = new Float32Array(frameSize);
    const pooled = new Float32Array(frameSize);
    for (let b = 0; b < batch; b++) {
      acc.fill(0);
      for (let t = 0; t < steps; t++) {
        const g = b * steps + t;
        pooled.fill(0);
        splatFrame(pv, fv, plan, channels, g, pooled, 0);
        for (let i = 0; i < frameSize; i++) acc[i] = f(acc[i] * discount) + pooled[i];
        const base = g * cells * stride;
        for (let cell = 0; cell < cells; cell++) {
          out.set(acc.subarray(cell * channels, (cell + 1) * channels), base + cell * stride);
        }
        if (egomotion !== null && t > 0) {
          const e = egomotion.subarray((g - 1) * 6, g * 6);
          for (let cell = 0; cell < cells; cell++) out.set(e, base + cell * stride + channels);
        }
      }
    }
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sp, sf] = saved;
      const [spv, sfv, dyv] = [sp.dataSync(), sf.dataSync(), dy.dataSync()] as Float32Array[];
      const dProb = new Float32Array(spv.length);
      const dFeature = new Float32Array(sfv.length);
      // dPooled_t = dBev_t + discount·dPooled_{t+1}, backwards over the frames of each batch item.
      const carry = new Float32Array(cells * channels);
      for (let b = 0; b < batch; b++) {
        carry.fill(0);
        for (let t = steps - 1; t >= 0; t--) {
          const g = b * steps + t;
          const base = g * cells * stride;
          for (let cell = 0; cell < cells; cell++) {
            for (let c = 0; c < channels; c++) {
              const i = cell * channels + c;
              carry[i] = dyv[base + cell * stride + c] + discount * carry[i];
            }
          }
          splatFrameBackward(carry, 0, channels, spv, sfv, plan, channels, g, dProb, dFeature);
        }
      }
      return [tf.tensor(dProb, sp.shape, 'float32'), tf.tensor(dFeature, sf.shape, 'float32')];
    };
    return { value: tf.tensor(out, [batch, steps, plan.rows, plan.cols, stride], 'float32'), gradFunc };
  });
  return op(prob, feature);
}
