import * as tf from '@tensorflow/tfjs';
import { broadcastTo, type ForwardContext } from '../snn/index.ts';
import { type SplatPlan, splat } from './splat.ts';

/** The encoder outputs of B·S·N images and where their frustum points go. */
export interface BevProjectionInput {
  /** [M, h, w, C] image features, M = B·S·N (batch-major, then frame, then camera). */
  feature: tf.Tensor;
  /** [M, h, w, D] depth logits. */
  depth: tf.Tensor;
  plan: SplatPlan;
  batch: number;
  frames: number;
  /** bev_t = discount·bev_{t−1} + pooled_t. */
  discount: number;
  /** Softmax-weight the depth bins (true, the reference default), or spread features unweighted (false). */
  useDepthDistribution?: boolean;
  /** [B, S, 6] ego motion to append as channels (frame t gets E_{t−1}, frame 0 zeros), or null for none. */
  egomotion: Float32Array | null;
}

/** The name the lift-splat is reported under to an instrument (e.g. `lift_splat` of module `perception`). */
export interface ReportingLayer {
  readonly name: string;
  readonly pipelineModule: string;
  readonly kind: string;
}

/**
 * Lift, splat, accumulate (sad.py `encoder_forward` lift + `projection_to_birds_eye_view` + the ego-motion
 * channels of `forward`): softmax(depth) ⊗ feature summed into each frame's BEV cells (already in the present
 * frame's coordinates through `plan`), then bev_t = discount·bev_{t−1} + pooled_t over frames, then the six
 * ego-motion channels → [B, S, X, Y, C (+6)]. Differentiable in `feature` and `depth`.
 */
export function projectToBev(
  args: BevProjectionInput,
  ctx: ForwardContext = {},
  layer?: ReportingLayer,
): tf.Tensor {
  const { feature, depth, plan, batch, frames, discount, egomotion } = args;
  const { rows, cols } = plan;
  const channels = feature.shape[3] as number;
  return tf.tidy(() => {
    const prob = args.useDepthDistribution === false ? tf.onesLike(depth) : tf.softmax(depth, -1);
    const pooled = splat(prob, feature, plan);
    if (ctx.instrument && layer) {
      let kept = 0;
      for (const c of plan.cell) if (c >= 0) kept++;
      ctx.instrument.record({
        layer,
        kind: 'lift_splat',
        input: feature,
        output: pooled,
        timeSteps: 1,
        batch: plan.images,
        // One multiply-accumulate per kept point and channel (prob · feature added into its cell).
        equivalentMacs: kept * channels,
        synaptic: true,
        inspectInput: false,
        outputSpiking: false,
      });
    }
    // Frames are already in the present frame's coordinates; accumulate with the discount (sad.py:338-345).
    const perFrame = tf.unstack(tf.reshape(pooled, [batch, frames, rows, cols, channels]), 1);
    const accumulated: tf.Tensor[] = [perFrame[0]];
    for (let t = 1; t < frames; t++) {
      accumulated.push(tf.add(tf.mul(accumulated[t - 1], discount), perFrame[t]));
    }
    const bev = tf.stack(accumulated, 1);
    if (egomotion === null) return bev;
    // Frame t carries E_{t−1} (t−1 → t); frame 0 has no past motion and gets zeros (sad.py:175-182).
    const shifted = new Float32Array(batch * frames * 6);
    for (let b = 0; b < batch; b++) {
      for (let t = 1; t < frames; t++) {
        shifted.set(egomotion.subarray((b * frames + t - 1) * 6, (b * frames + t) * 6), (b * frames + t) * 6);
      }
    }
    const spatial = broadcastTo(tf.tensor(shifted, [batch, frames, 1, 1, 6]), [batch, frames, rows, cols, 6]);
    return tf.concat([bev, spatial], 4);
  });
}
