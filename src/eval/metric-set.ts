// Every metric an evaluation accumulates, with lossless save/restore for resume. Perception IoUs use the present
// frame only (the paper's perception table, Perception stage F = 0); the prediction IoU and PQ/SQ/RQ cover the
// present and the F future frames (reference `evaluate.py`: `[:, n_present − 1:]`); planning follows ST-P3 and UniAD.
import { z } from 'zod';
import {
  IntersectionOverUnion,
  type PanopticCounts,
  PanopticMetric,
  PlanningMetric,
  type PlanningMetricOptions,
  type PlanningSampleResult,
} from './metrics/index.ts';
import type { MetricEntry } from './run-format.ts';

/** IoU metrics by key: class name, `@present` for the perception (present frame) variant. */
export const IOU_KEYS = [
  'vehicle@present',
  'pedestrian@present',
  'drivable@present',
  'lane@present',
  'vehicle',
  'pedestrian',
] as const;
export type IouKey = (typeof IOU_KEYS)[number];

/** TP, FP, FN of the positive class (index 1) in one sample. */
export type ClassCounts = [truePositive: number, falsePositive: number, falseNegative: number];

const stateSchema = z.object({
  planning: z.unknown(),
  iou: z.record(z.string(), z.unknown()),
  panoptic: z.unknown().nullable(),
});
export type MetricSetState = z.infer<typeof stateSchema>;

export interface MetricSetOptions extends PlanningMetricOptions {
  nFuture: number;
  /** Accumulate prediction PQ/SQ/RQ (needs predicted and GT instances). */
  panoptic?: boolean;
}

function absentScore(key: string): number {
  // Reference: 0 for vehicle/pedestrian, 1 for the HD-map elements.
  return key.startsWith('drivable') || key.startsWith('lane') ? 1 : 0;
}

export class MetricSet {
  readonly planning: PlanningMetric;
  readonly iou = new Map<IouKey, IntersectionOverUnion>();
  readonly panoptic: PanopticMetric | null;
  readonly nFuture: number;

  constructor(options: MetricSetOptions) {
    this.nFuture = options.nFuture;
    this.planning = new PlanningMetric(options);
    this.panoptic = options.panoptic ? new PanopticMetric(2) : null;
  }

  /** Adds one sample's class ids vs labels to an IoU metric; returns the sample's counts of class 1. */
  updateIou(key: IouKey, prediction: ArrayLike<number>, target: ArrayLike<number>): ClassCounts {
    const sample = new IntersectionOverUnion(2, { absentScore: absentScore(key) });
    sample.update(prediction, target);
    let total = this.iou.get(key);
    if (!total) {
      total = new IntersectionOverUnion(2, { absentScore: absentScore(key) });
      this.iou.set(key, total);
    }
    total.merge(sample);
    const c = sample.counts();
    return [c.truePositive[1], c.falsePositive[1], c.falseNegative[1]];
  }

  /** Adds one sample's instance ids ([F + 1, X, Y] each); returns its vehicle-class sums [ΣIoU, TP, FP, FN]. */
  updatePanoptic(
    predInstance: ArrayLike<number>,
    gtInstance: ArrayLike<number>,
    shape: { frames: number; height: number; width: number },
  ): [number, number, number, number] | null {
    if (!this.panoptic) return null;
    const sample = new PanopticMetric(2);
    sample.update(predInstance, gtInstance, shape);
    this.panoptic.merge(sample);
    const c: PanopticCounts = sample.counts();
    return [c.iou[1], c.truePositive[1], c.falsePositive[1], c.falseNegative[1]];
  }

  updatePlanning(...args: Parameters<PlanningMetric['update']>): PlanningSampleResult {
    return this.planning.update(...args);
  }

  toJSON(): MetricSetState {
    return {
      planning: this.planning.toJSON(),
      iou: Object.fromEntries([...this.iou].map(([k, m]) => [k, m.toJSON()])),
      panoptic: this.panoptic ? this.panoptic.toJSON() : null,
    };
  }

  /** Restores saved state into this (freshly built) set; the options must match those the state was saved with. */
  restore(json: unknown): void {
    const state = stateSchema.parse(json);
    const planning = PlanningMetric.fromJSON(state.planning);
    this.planning.reset();
    this.planning.merge(planning);
    this.iou.clear();
    for (const [key, value] of Object.entries(state.iou)) {
      this.iou.set(key as IouKey, IntersectionOverUnion.fromJSON(value));
    }
    if (this.panoptic && state.panoptic) {
      this.panoptic.reset();
      this.panoptic.merge(PanopticMetric.fromJSON(state.panoptic));
    }
  }

  /** The labelled aggregate numbers of `metrics.json`. */
  entries(extra: { failures: number; missing?: number } = { failures: 0 }): MetricEntry[] {
    const out: MetricEntry[] = [];
    const finite = (v: number) => (Number.isFinite(v) ? v : null);
    const futureS = this.nFuture * this.planning.stepS;
    for (const key of IOU_KEYS) {
      const metric = this.iou.get(key);
      if (!metric) continue;
      const [cls, present] = key.split('@');
      out.push({
        metric: 'iou',
        class: cls,
        value: finite(metric.classIou(1)),
        unit: 'fraction',
        convention: 'sad-reference',
        horizonS: present ? 0 : futureS,
        note: present
          ? 'present frame (perception)'
          : `present + ${this.nFuture} future frames (prediction, up to ${futureS} s)`,
      });
    }
    if (this.panoptic) {
      const scores = this.panoptic.compute();
      for (const name of ['pq', 'sq', 'rq'] as const) {
        out.push({
          metric: name,
          class: 'vehicle',
          value: finite(scores[name][1]),
          unit: 'fraction',
          convention: 'sad-reference',
          horizonS: futureS,
          note: `temporally consistent (FIERY VPQ), present + ${this.nFuture} future frames`,
        });
      }
    }
    const planning = this.planning.compute();
    for (const h of planning.horizons) {
      const note =
        h.convention === 'st-p3'
          ? `mean over the ${h.steps} steps up to ${h.horizonS} s`
          : `at ${h.horizonS} s`;
      out.push({
        metric: 'l2',
        value: finite(h.l2M),
        unit: 'm',
        convention: h.convention,
        horizonS: h.horizonS,
        note,
      });
      out.push({
        metric: 'obj_col',
        value: finite(h.objColRate),
        unit: 'fraction',
        convention: h.convention,
        horizonS: h.horizonS,
        note: `${note}; ego centre point in GT occupancy (vehicles ∨ pedestrians)`,
      });
      out.push({
        metric: 'obj_box_col',
        value: finite(h.objBoxColRate),
        unit: 'fraction',
        convention: h.convention,
        horizonS: h.horizonS,
        note: `${note}; ego box footprint on GT occupancy (what the SAD/ST-P3 papers report)`,
      });
    }
    out.push({
      metric: 'planned_samples',
      value: planning.samples,
      unit: 'samples',
      convention: 'spikedrive',
      note: 'samples in the planning metrics',
    });
    out.push({
      metric: 'planner_failures',
      value: extra.failures,
      unit: 'samples',
      convention: 'spikedrive',
      note: 'samples whose plan failed (threw, timed out, crashed, malformed); left out of the planning metrics',
    });
    if (extra.missing !== undefined) {
      out.push({
        metric: 'missing_trajectories',
        value: extra.missing,
        unit: 'samples',
        convention: 'spikedrive',
        note: 'samples of the split without a trajectory in the file; left out of the planning metrics',
      });
    }
    return out;
  }
}
