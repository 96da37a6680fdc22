// What feeds the planner and the perception/prediction metrics for one sample. The model predictor (the SAD
// network, `model-predictor.ts`) and the ground-truth inputs (no network: the labels stand in for the predictions,
// an oracle for planner studies) share this interface.
import type { SadSample } from '../../data-loaders/sad/index.ts';
import type { PlannerInputs } from '../planning/index.ts';
import type { PlanOutcome } from '../planning/plugins/index.ts';
import type { ActivityRecord } from '../snn/activity.ts';
import type { SampleTruth } from './truth.ts';

/** One sample's predictions, from the present frame on ([F + 1, X, Y] unless noted). */
export interface Prediction {
  /** Argmax vehicle class (0/1) and vehicle probability. */
  vehicleClass?: Uint8Array;
  vehicleProb?: Float32Array;
  pedestrianClass?: Uint8Array;
  pedestrianProb?: Float32Array;
  /** [2, X, Y] argmax class and foreground probability of lane divider, drivable area (present frame). */
  hdmapClass?: Uint8Array;
  hdmapProb?: Float32Array;
  /** Temporally consistent predicted instance ids. */
  instances?: Int32Array;
  /** [F, X, Y] the cost-volume head (raw; the cost function clamps it to [0, 1000]). */
  costVolume?: Float32Array;
  /** What planners may read (occupancy, hdmap, costVolume, frontFeature). */
  plannerInputs: Partial<PlannerInputs>;
  /** Spike activity of the forward (model only), for energy and firing rates. */
  activity?: ActivityRecord;
  /** Per-module latency of the forward, ms. */
  latencyMs: { perception?: number; prediction?: number };
  /** The model's own plan (the `sad` planner run through the model, instrumented), when asked for. */
  modelPlan?: PlanOutcome;
}

export interface PredictOptions {
  /** Also plan with the model's planner, its candidates seeded with numpy seed = seed + dataset index. */
  plan?: { seed: number };
}

export interface Predictor {
  readonly kind: 'model' | 'ground-truth';
  /** Camera images are decoded only for predictors that read them. */
  readonly needsImages: boolean;
  /** GT instance labels are built only where PQ is computed. */
  readonly needsInstances: boolean;
  /** Whether `predict` can plan with the model's own planner (`PredictOptions.plan`). */
  readonly canPlan?: boolean;
  predict(sample: SadSample, truth: SampleTruth, options?: PredictOptions): Promise<Prediction>;
  dispose(): void;
}

/** [C, X, Y] planes → [X, Y, C] channels-last float32 (× scale). */
export function channelsLast(
  planes: ArrayLike<number>,
  channels: number,
  cells: number,
  scale = 1,
): Float32Array {
  const out = new Float32Array(cells * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < cells; i++) out[i * channels + c] = planes[c * cells + i] * scale;
  }
  return out;
}

/**
 * Ground-truth inputs: no network runs; planners see the GT future occupancy (vehicle ∨ pedestrian, 0/1), the GT
 * HD map (masks) and a zero cost volume (there is no learned cost head). Perception and prediction metrics are not
 * computed (they would be trivially perfect).
 */
export class GroundTruthInputs implements Predictor {
  readonly kind = 'ground-truth';
  readonly needsImages = false;
  readonly needsInstances = false;

  async predict(_sample: SadSample, truth: SampleTruth): Promise<Prediction> {
    const { rows, cols, nFuture: F } = truth;
    const cells = rows * cols;
    const plannerInputs: Partial<PlannerInputs> = {
      occupancy: { data: Float32Array.from(truth.occupancy), shape: [F, rows, cols] },
      costVolume: { data: new Float32Array(F * cells), shape: [F, rows, cols] },
    };
    if (truth.hdmap) {
      plannerInputs.hdmap = {
        data: channelsLast(truth.hdmap, 2, cells),
        shape: [rows, cols, 2],
        channels: 'masks',
      };
    }
    return {
      vehicleProb: Float32Array.from(truth.segmentation),
      pedestrianProb: Float32Array.from(truth.pedestrian),
      hdmapProb: truth.hdmap ? Float32Array.from(truth.hdmap) : undefined,
      plannerInputs,
      latencyMs: {},
    };
  }

  dispose(): void {}
}
