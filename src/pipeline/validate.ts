// Validation metrics as the reference trainer's validation branch computes them (trainer.py is_train=False,
// sad.md §7), with src/eval/metrics: IoU from the present frame on (vehicle, pedestrian), HD-map IoU on the
// present frame (lane divider, drivable area), temporally consistent PQ/SQ/RQ (instance configs), and planning
// L2 / collision (ST-P3 convention) for the SAD planner and the constant-velocity baseline.
import * as tf from '@tensorflow/tfjs';
import {
  IntersectionOverUnion,
  PanopticMetric,
  PlanningMetric,
  predictInstanceSegmentation,
} from '../eval/index.ts';
import type { PlanningOutput } from '../planning/index.ts';
import type { PreparedBatch } from './batch.ts';
import type { SadConfig } from './config.ts';
import type { SadOutput } from './model.ts';

function argmaxHost(logits: tf.Tensor): Uint8Array {
  const t = tf.tidy(() => tf.cast(tf.argMax(logits, -1), 'int32'));
  const out = Uint8Array.from(t.dataSync() as Int32Array);
  t.dispose();
  return out;
}

/** [B, T, X, Y] → frames [from, T) of every item, flattened. */
function framesFrom<T extends Uint8Array | Int32Array>(
  data: T,
  b: number,
  t: number,
  hw: number,
  from: number,
): T {
  const per = (t - from) * hw;
  const out = new (data.constructor as new (n: number) => T)(b * per);
  for (let i = 0; i < b; i++) out.set(data.subarray((i * t + from) * hw, (i + 1) * t * hw), i * per);
  return out;
}

/** The metric names reported (all in [0, 1] except L2 in metres). */
export type ValidationMetrics = Record<string, number>;

/** Accumulates the validation metrics over batches. */
export class ValidationAccumulator {
  readonly config: SadConfig;
  samples = 0;
  private readonly vehicle = new IntersectionOverUnion(2);
  private readonly pedestrian = new IntersectionOverUnion(2);
  private readonly hdmap: IntersectionOverUnion[];
  private readonly panoptic: PanopticMetric | null;
  private readonly planning: PlanningMetric | null;
  private readonly constantVelocity: PlanningMetric | null;

  constructor(config: SadConfig) {
    this.config = config;
    this.hdmap = config.SEMANTIC_SEG.HDMAP.ELEMENTS.map(
      () => new IntersectionOverUnion(2, { absentScore: 1 }),
    );
    this.panoptic = config.INSTANCE_SEG.ENABLED ? new PanopticMetric(2) : null;
    const planningOptions = {
      nFuture: config.N_FUTURE_FRAMES,
      xBound: config.LIFT.X_BOUND,
      yBound: config.LIFT.Y_BOUND,
      egoWidthM: config.EGO.WIDTH,
      egoLengthM: config.EGO.HEIGHT,
    };
    this.planning = config.PLANNING.ENABLED ? new PlanningMetric(planningOptions) : null;
    this.constantVelocity = config.N_FUTURE_FRAMES > 0 ? new PlanningMetric(planningOptions) : null;
  }

  /** Adds one evaluated batch (outputs of an eval-mode forward, and the planner's output when planning). */
  update(batch: PreparedBatch, output: SadOutput, plan: PlanningOutput | null = null): void {
    const s = this.config.TIME_RECEPTIVE_FIELD;
    const { size: b, frames: t, rows: x, cols: y } = batch;
    const hw = x * y;
    const host = batch.host;
    this.samples += b;
    const seg = argmaxHost(output.segmentation);
    this.vehicle.update(framesFrom(seg, b, t, hw, s - 1), framesFrom(host.segmentation, b, t, hw, s - 1));
    if (output.pedestrian && host.pedestrian) {
      const ped = argmaxHost(output.pedestrian);
      this.pedestrian.update(framesFrom(ped, b, t, hw, s - 1), framesFrom(host.pedestrian, b, t, hw, s - 1));
    }
    if (output.hdmap && host.hdmap) {
      const n = this.hdmap.length;
      for (let i = 0; i < n; i++) {
        const pred = tf.tidy(() => tf.slice(output.hdmap as tf.Tensor, [0, 0, 0, 2 * i], [b, x, y, 2]));
        const p = argmaxHost(pred);
        pred.dispose();
        const target = new Uint8Array(b * hw);
        for (let k = 0; k < b * hw; k++) target[k] = host.hdmap[k * n + i];
        this.hdmap[i].update(p, target);
      }
    }
    if (this.panoptic && host.instance && output.instanceCenter && output.instanceOffset) {
      const nchw = (v: tf.Tensor) => {
        const a = tf.tidy(() => tf.transpose(v, [0, 1, 4, 2, 3]));
        const d = a.dataSync() as Float32Array;
        a.dispose();
        return d;
      };
      const segData = nchw(output.segmentation);
      const centre = nchw(output.instanceCenter);
      const offset = nchw(output.instanceOffset);
      const flow = output.instanceFlow ? nchw(output.instanceFlow) : null;
      for (let i = 0; i < b; i++) {
        const pred = predictInstanceSegmentation(
          {
            segmentation: segData.subarray(i * t * 2 * hw, (i + 1) * t * 2 * hw),
            instanceCenter: centre.subarray(i * t * hw, (i + 1) * t * hw),
            instanceOffset: offset.subarray(i * t * 2 * hw, (i + 1) * t * 2 * hw),
            instanceFlow: flow ? flow.subarray(i * t * 2 * hw, (i + 1) * t * 2 * hw) : null,
          },
          { frames: t, height: x, width: y },
        );
        const gt = host.instance.subarray(i * t * hw, (i + 1) * t * hw);
        this.panoptic.update(framesFrom(pred, 1, t, hw, s - 1), framesFrom(gt, 1, t, hw, s - 1), {
          frames: t - s + 1,
          height: x,
          width: y,
        });
      }
    }
    const f = t - s;
    if (f > 0 && (this.planning || this.constantVelocity)) {
      const plannedData = plan ? (plan.trajectory.dataSync() as Float32Array) : null;
      for (let i = 0; i < b; i++) {
        const occupancy = new Uint8Array(f * hw);
        const veh = host.segmentation.subarray((i * t + s) * hw, (i + 1) * t * hw);
        const ped = host.pedestrian?.subarray((i * t + s) * hw, (i + 1) * t * hw);
        for (let k = 0; k < f * hw; k++) occupancy[k] = veh[k] || (ped ? ped[k] : 0) ? 1 : 0;
        const gt = host.gtTrajectory.subarray((i * (f + 1) + 1) * 3, (i + 1) * (f + 1) * 3);
        if (this.planning && plannedData) {
          this.planning.update({
            plannedTrajectory: plannedData.subarray(i * f * 3, (i + 1) * f * 3),
            gtTrajectory: gt,
            gtOccupancy: occupancy,
          });
        }
        if (this.constantVelocity) {
          // Constant velocity: straight ahead (+y) at the CAN speed.
          const v = batch.samplerInputs[i].v0Mps;
          const cv = new Float32Array(f * 3);
          for (let k = 0; k < f; k++) cv[k * 3 + 1] = v * 0.5 * (k + 1);
          this.constantVelocity.update({ plannedTrajectory: cv, gtTrajectory: gt, gtOccupancy: occupancy });
        }
      }
    }
  }

  compute(): ValidationMetrics {
    const out: ValidationMetrics = { samples: this.samples };
    if (this.samples === 0) return out;
    out.iou_vehicle = this.vehicle.compute()[1];
    if (this.config.SEMANTIC_SEG.PEDESTRIAN.ENABLED) out.iou_pedestrian = this.pedestrian.compute()[1];
    if (this.config.SEMANTIC_SEG.HDMAP.ENABLED) {
      this.config.SEMANTIC_SEG.HDMAP.ELEMENTS.forEach((name, i) => {
        const short = name === 'lane_divider' ? 'lane' : name === 'drivable_area' ? 'drivable' : name;
        out[`iou_${short}`] = this.hdmap[i].compute()[1];
      });
    }
    if (this.panoptic) {
      const scores = this.panoptic.compute();
      for (const [k, v] of Object.entries(scores)) {
        if (Array.isArray(v) && typeof v[1] === 'number') out[`${k}_vehicle`] = v[1];
      }
    }
    const horizons = (metric: PlanningMetric, prefix: string) => {
      for (const h of metric.compute().horizons) {
        if (h.convention !== 'st-p3') continue;
        out[`${prefix}l2_${h.horizonS}s`] = h.l2M;
        out[`${prefix}col_${h.horizonS}s`] = h.objBoxColRate;
      }
    };
    if (this.planning) horizons(this.planning, 'plan_');
    if (this.constantVelocity) horizons(this.constantVelocity, 'cv_');
    return out;
  }
}
