import * as tf from '@tensorflow/tfjs';
import type { ForwardContext } from '../snn/index.ts';
import { type SplatPlan, splatToBev } from './splat.ts';

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
  const channels = feature.shape[3] as number;
  return tf.tidy(() => {
    const prob = args.useDepthDistribution === false ? tf.onesLike(depth) : tf.softmax(depth, -1);
    const bev = splatToBev(prob, feature, plan, { batch, frames, discount, egomotion });
    if (ctx.instrument && layer) {
      let kept = 0;
      for (const c of plan.cell) if (c >= 0) kept++;
      ctx.instrument.record({
        layer,
        kind: 'lift_splat',
        input: feature,
        output: bev,
        timeSteps: 1,
        batch: plan.images,
        // One multiply-accumulate per kept point and channel (prob · feature added into its cell).
        equivalentMacs: kept * channels,
        synaptic: true,
        inspectInput: false,
        outputSpiking: false,
      });
    }
    return bev;
  });
}
