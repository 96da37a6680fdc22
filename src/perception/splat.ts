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

/** Sum-pools prob[m, i, j, k]·feature[m, i, j, :] into cells: [M, h, w, D], [M, h, w, C] → [G, X, Y, C]. */
function splatForward(
  prob: Float32Array,
  feature: Float32Array,
  plan: SplatPlan,
  channels: number,
): Float32Array {
  const { cell, images, camerasPerFrame, pixels, depthBins, rows, cols } = plan;
  const frameSize = rows * cols * channels;
  const out = new Float32Array((images / camerasPerFrame) * frameSize);
  for (let m = 0; m < images; m++) {
    const frameBase = Math.floor(m / camerasPerFrame) * frameSize;
    for (let px = 0; px < pixels; px++) {
      const pointBase = (m * pixels + px) * depthBins;
      const featBase = (m * pixels + px) * channels;
      for (let k = 0; k < depthBins; k++) {
        const target = cell[pointBase + k];
        if (target < 0) continue;
        const p = prob[pointBase + k];
        if (p === 0) continue;
        const o = frameBase + target * channels;
        for (let c = 0; c < channels; c++) out[o + c] += p * feature[featBase + c];
      }
    }
  }
  return out;
}

/** Gradients of the splat: dFeature = Σ_k prob·dOut[cell], dProb = ⟨dOut[cell], feature⟩. */
function splatBackward(
  dOut: Float32Array,
  prob: Float32Array,
  feature: Float32Array,
  plan: SplatPlan,
  channels: number,
): { dProb: Float32Array; dFeature: Float32Array } {
  const { cell, images, camerasPerFrame, pixels, depthBins, rows, cols } = plan;
  const frameSize = rows * cols * channels;
  const dProb = new Float32Array(prob.length);
  const dFeature = new Float32Array(feature.length);
  const acc = new Float64Array(channels);
  for (let m = 0; m < images; m++) {
    const frameBase = Math.floor(m / camerasPerFrame) * frameSize;
    for (let px = 0; px < pixels; px++) {
      const pointBase = (m * pixels + px) * depthBins;
      const featBase = (m * pixels + px) * channels;
      acc.fill(0);
      for (let k = 0; k < depthBins; k++) {
        const target = cell[pointBase + k];
        if (target < 0) continue;
        const p = prob[pointBase + k];
        const o = frameBase + target * channels;
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
  return { dProb, dFeature };
}

/**
 * Splats lifted features into per-frame BEV grids: depth probabilities [M, h, w, D] (softmax over D) and features
 * [M, h, w, C] → [G, X, Y, C] with G = M / camerasPerFrame, summing every point of a frame's cameras that falls in
 * a cell. Differentiable in both inputs (a custom gradient computed on the host).
 */
export function splat(prob: tf.Tensor, feature: tf.Tensor, plan: SplatPlan): tf.Tensor {
  const channels = checkInputs(prob, feature, plan);
  const outShape = [plan.images / plan.camerasPerFrame, plan.rows, plan.cols, channels];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [p, f, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([p, f]);
    const value = tf.tensor(
      splatForward(p.dataSync() as Float32Array, f.dataSync() as Float32Array, plan, channels),
      outShape,
      'float32',
    );
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sp, sf] = saved;
      const { dProb, dFeature } = splatBackward(
        dy.dataSync() as Float32Array,
        sp.dataSync() as Float32Array,
        sf.dataSync() as Float32Array,
        plan,
        channels,
      );
      return [tf.tensor(dProb, sp.shape, 'float32'), tf.tensor(dFeature, sf.shape, 'float32')];
    };
    return { value, gradFunc };
  });
  return op(prob, feature);
}
