/**
 * Temporally consistent panoptic quality (SAD/ST-P3/FIERY `PanopticMetric`; FIERY's "VPQ"): segments of each
 * frame are matched by IoU > 0.5 with equal class, a vehicle match that contradicts the prediction id the same
 * ground-truth instance matched earlier in the sequence counts as a false positive and a false negative, and
 * PQ = ΣIoU / (TP + FP/2 + FN/2), SQ = ΣIoU / TP, RQ = TP / (TP + FP/2 + FN/2), per class.
 */
import { z } from 'zod';
import { SpikedriveError } from '../../util/index.ts';
import {
  badLabel,
  checkLength,
  checkPositiveInteger,
  mismatch,
  type NumberGrid,
  parseState,
  sliceGrid,
} from './checks.ts';
import { ExactSum } from './exact-sum.ts';
import type { BevSequenceShape } from './instance.ts';

/** Per-class panoptic sums of one frame (or accumulated). */
export interface PanopticCounts {
  iou: number[];
  truePositive: number[];
  falsePositive: number[];
  falseNegative: number[];
}

/** Per-class scores; index 1 is the vehicle class the paper reports. */
export interface PanopticScores {
  pq: number[];
  sq: number[];
  rq: number[];
}

/**
 * Which prediction segment each ground-truth segment matched so far in a sequence (reference
 * `unique_id_mapping`). Keys and values are segment indices: class c is c, instance i is i − 1 + nClasses.
 */
export type InstanceIdMapping = Map<number, number>;

interface CombinedFrame {
  /** Segment index per cell, or −1 for void. */
  segment: Int32Array;
  /** One past the largest segment index. */
  segments: number;
  /** Class of each present segment index (absent segments have none; the reference writes −1). */
  segmentClass: Map<number, number>;
}

/** Segment counts up to this size use dense tables; beyond it (huge ids), hash maps. */
const DENSE_TABLE_LIMIT = 1 << 22;

/** Stuff classes keep their class index, instance i becomes segment i − 1 + nClasses; void cells are −1. */
function combineMask(
  segmentation: NumberGrid,
  instance: NumberGrid,
  nClasses: number,
  names: [string, string],
): CombinedFrame {
  const n = segmentation.length;
  let maxId = 0;
  for (let k = 0; k < n; k++) {
    const s = segmentation[k];
    const id = instance[k];
    if (!(s >= 0 && Number.isInteger(s))) throw badLabel(names[0], k, s);
    if (!(id >= 0 && Number.isInteger(id))) throw badLabel(names[1], k, id);
    if (id > maxId) maxId = id;
  }
  const segments = nClasses + maxId;
  const segment = new Int32Array(n);
  // Class per segment; the last cell in raster order wins, as the reference's scatter does.
  const dense = segments <= DENSE_TABLE_LIMIT;
  const classOf = new Int32Array(dense ? segments : 0).fill(-1);
  const classMap = new Map<number, number>();
  for (let k = 0; k < n; k++) {
    const s = segmentation[k];
    const id = instance[k];
    if (s >= nClasses) {
      segment[k] = -1;
    } else if (id > 0) {
      const index = id - 1 + nClasses;
      segment[k] = index;
      if (dense) classOf[index] = s;
      else classMap.set(index, s);
    } else {
      segment[k] = s;
    }
  }
  const segmentClass = new Map<number, number>();
  for (let c = 0; c < nClasses; c++) segmentClass.set(c, c);
  if (dense) {
    for (let index = nClasses; index < segments; index++)
      if (classOf[index] >= 0) segmentClass.set(index, classOf[index]);
  } else {
    for (const [index, cls] of [...classMap].sort((a, b) => a[0] - b[0])) segmentClass.set(index, cls);
  }
  return { segment, segments, segmentClass };
}

/** Intersections of (target, pred) segment pairs and segment areas over cells non-void on both sides. */
interface Overlaps {
  /** Non-zero intersections in (target, pred) row-major order. */
  pairs: { g: number; p: number; inter: number }[];
  predArea: (p: number) => number;
  targetArea: (g: number) => number;
}

function overlaps(pred: CombinedFrame, target: CombinedFrame): Overlaps {
  const n = pred.segment.length;
  const nP = pred.segments;
  const nT = target.segments;
  if (nP * nT <= DENSE_TABLE_LIMIT) {
    const table = new Int32Array(nP * nT);
    const predArea = new Int32Array(nP);
    const targetArea = new Int32Array(nT);
    for (let k = 0; k < n; k++) {
      const p = pred.segment[k];
      const g = target.segment[k];
      if (p < 0 || g < 0) continue;
      table[g * nP + p] += 1;
      predArea[p] += 1;
      targetArea[g] += 1;
    }
    const pairs: Overlaps['pairs'] = [];
    for (let g = 0; g < nT; g++) {
      if (targetArea[g] === 0) continue;
      for (let p = 0; p < nP; p++) if (table[g * nP + p] > 0) pairs.push({ g, p, inter: table[g * nP + p] });
    }
    return { pairs, predArea: (p) => predArea[p] ?? 0, targetArea: (g) => targetArea[g] ?? 0 };
  }
  const table = new Map<number, number>();
  const predArea = new Map<number, number>();
  const targetArea = new Map<number, number>();
  for (let k = 0; k < n; k++) {
    const p = pred.segment[k];
    const g = target.segment[k];
    if (p < 0 || g < 0) continue;
    const key = g * nP + p;
    table.set(key, (table.get(key) ?? 0) + 1);
    predArea.set(p, (predArea.get(p) ?? 0) + 1);
    targetArea.set(g, (targetArea.get(g) ?? 0) + 1);
  }
  const pairs = [...table].map(([key, inter]) => {
    const g = Math.floor(key / nP);
    return { g, p: key - g * nP, inter };
  });
  pairs.sort((a, b) => a.g - b.g || a.p - b.p);
  return { pairs, predArea: (p) => predArea.get(p) ?? 0, targetArea: (g) => targetArea.get(g) ?? 0 };
}

/**
 * Panoptic sums of one frame (reference `PanopticMetric.panoptic_metrics`). `segmentation` arrays hold class
 * ids (≥ nClasses = void), `instance` arrays instance ids (0 = none). `idMapping` carries the matches of
 * earlier frames of the same sequence and is updated.
 */
export function panopticFrameCounts(
  frame: {
    predSegmentation: NumberGrid;
    predInstance: NumberGrid;
    gtSegmentation: NumberGrid;
    gtInstance: NumberGrid;
  },
  nClasses: number,
  idMapping: InstanceIdMapping,
  options: { temporallyConsistent?: boolean; vehiclesId?: number } = {},
): PanopticCounts {
  checkPositiveInteger('nClasses', nClasses);
  const n = frame.gtInstance.length;
  checkLength('predSegmentation', frame.predSegmentation, n, 'the layout of gtInstance');
  checkLength('predInstance', frame.predInstance, n, 'the layout of gtInstance');
  checkLength('gtSegmentation', frame.gtSegmentation, n, 'the layout of gtInstance');
  const temporallyConsistent = options.temporallyConsistent ?? true;
  const vehiclesId = options.vehiclesId ?? 1;

  const pred = combineMask(frame.predSegmentation, frame.predInstance, nClasses, [
    'predSegmentation',
    'predInstance',
  ]);
  const target = combineMask(frame.gtSegmentation, frame.gtInstance, nClasses, [
    'gtSegmentation',
    'gtInstance',
  ]);
  // The reference drops the void row and column of its confusion matrix before taking unions.
  const { pairs, predArea, targetArea } = overlaps(pred, target);

  // Matches: IoU > 0.5 (as 2·intersection > union, exact) and the same class, in (target, pred) order.
  const matches: { g: number; p: number; iou: number }[] = [];
  for (const { g, p, inter } of pairs) {
    const union = predArea(p) + targetArea(g) - inter;
    if (2 * inter > union && pred.segmentClass.get(p) === target.segmentClass.get(g)) {
      matches.push({ g, p, iou: inter / union });
    }
  }

  const result: PanopticCounts = {
    iou: new Array(nClasses).fill(0),
    truePositive: new Array(nClasses).fill(0),
    falsePositive: new Array(nClasses).fill(0),
    falseNegative: new Array(nClasses).fill(0),
  };
  const matchedTargetThings = new Set<number>();
  const matchedPredThings = new Set<number>();
  for (const { g, p, iou } of matches) {
    if (p >= nClasses) matchedTargetThings.add(g);
    if (g >= nClasses) matchedPredThings.add(p);
    const cls = pred.segmentClass.get(p)!;
    if (temporallyConsistent && cls === vehiclesId) {
      const previous = idMapping.get(g);
      if (previous !== undefined && previous !== p) {
        // Same ground-truth instance, different predicted id than before: an identity switch.
        result.falseNegative[target.segmentClass.get(g)!] += 1;
        result.falsePositive[cls] += 1;
        idMapping.set(g, p);
        continue;
      }
    }
    result.truePositive[cls] += 1;
    result.iou[cls] += iou;
    idMapping.set(g, p);
  }

  for (const [g, cls] of target.segmentClass) {
    if (g < nClasses || matchedTargetThings.has(g)) continue;
    result.falseNegative[cls] += 1;
  }
  for (const [p, cls] of pred.segmentClass) {
    if (p < nClasses || matchedPredThings.has(p)) continue;
    // Only a prediction that overlaps some non-void ground truth counts as a false positive.
    if (predArea(p) > 0) result.falsePositive[cls] += 1;
  }
  return result;
}

const panopticStateSchema = z.object({
  metric: z.literal('panoptic'),
  version: z.literal(1),
  nClasses: z.number().int().positive(),
  temporallyConsistent: z.boolean(),
  vehiclesId: z.number().int(),
  iou: z.array(z.array(z.number())),
  truePositive: z.array(z.number().int().nonnegative()),
  falsePositive: z.array(z.number().int().nonnegative()),
  falseNegative: z.array(z.number().int().nonnegative()),
});

/** Saved state of a {@link PanopticMetric}: plain JSON, lossless (IoU sums as exact partials). */
export type PanopticMetricState = z.infer<typeof panopticStateSchema>;

/**
 * Panoptic metric accumulated over a dataset (reference `PanopticMetric`). Each `update` takes the predicted
 * (temporally consistent) and ground-truth instance ids of one sample, `[frames, height, width]` (or a batch
 * of samples, `[batch, frames, height, width]`); segmentation is "instance > 0" on both sides, as in the
 * reference. The identity-switch memory lasts for one sample's frames.
 */
export class PanopticMetric {
  readonly nClasses: number;
  readonly temporallyConsistent: boolean;
  readonly vehiclesId: number;
  private iou: ExactSum[];
  private truePositive: number[];
  private falsePositive: number[];
  private falseNegative: number[];

  constructor(nClasses: number, temporallyConsistent = true, vehiclesId = 1) {
    checkPositiveInteger('nClasses', nClasses);
    if (!Number.isInteger(vehiclesId)) {
      throw new SpikedriveError(`vehiclesId must be an integer class index, got ${vehiclesId}.`, {
        subject: 'vehiclesId',
        fix: 'Use 1 (the vehicle class of the SAD segmentation head).',
      });
    }
    this.nClasses = nClasses;
    this.temporallyConsistent = temporallyConsistent;
    this.vehiclesId = vehiclesId;
    this.iou = Array.from({ length: nClasses }, () => new ExactSum());
    this.truePositive = new Array(nClasses).fill(0);
    this.falsePositive = new Array(nClasses).fill(0);
    this.falseNegative = new Array(nClasses).fill(0);
  }

  update(
    predInstance: NumberGrid,
    gtInstance: NumberGrid,
    shape: BevSequenceShape & { batch?: number },
  ): void {
    const batch = shape.batch ?? 1;
    const { frames, height, width } = shape;
    for (const [key, value] of Object.entries({ batch, frames, height, width }))
      checkPositiveInteger(key, value);
    const n = height * width;
    const layout = '[batch, frames, height, width]';
    checkLength('gtInstance', gtInstance, batch * frames * n, layout);
    checkLength('predInstance', predInstance, batch * frames * n, layout);
    let gtMin = Number.POSITIVE_INFINITY;
    for (let k = 0; k < gtInstance.length; k++) if (gtInstance[k] < gtMin) gtMin = gtInstance[k];
    if (gtMin !== 0) {
      throw new SpikedriveError(`gtInstance has minimum id ${gtMin}; id 0 must be the background.`, {
        subject: 'gtInstance',
        fix: 'Pass ground-truth instance ids with 0 for cells that belong to no instance.',
      });
    }
    const predSeg = new Uint8Array(n);
    const gtSeg = new Uint8Array(n);
    for (let b = 0; b < batch; b++) {
      const idMapping: InstanceIdMapping = new Map();
      for (let t = 0; t < frames; t++) {
        const start = (b * frames + t) * n;
        const predFrame = sliceGrid(predInstance, start, n);
        const gtFrame = sliceGrid(gtInstance, start, n);
        for (let k = 0; k < n; k++) {
          predSeg[k] = predFrame[k] > 0 ? 1 : 0;
          gtSeg[k] = gtFrame[k] > 0 ? 1 : 0;
        }
        const counts = panopticFrameCounts(
          { predSegmentation: predSeg, predInstance: predFrame, gtSegmentation: gtSeg, gtInstance: gtFrame },
          this.nClasses,
          idMapping,
          { temporallyConsistent: this.temporallyConsistent, vehiclesId: this.vehiclesId },
        );
        this.addCounts(counts);
      }
    }
  }

  private addCounts(counts: PanopticCounts): void {
    for (let c = 0; c < this.nClasses; c++) {
      this.iou[c].add(counts.iou[c]);
      this.truePositive[c] += counts.truePositive[c];
      this.falsePositive[c] += counts.falsePositive[c];
      this.falseNegative[c] += counts.falseNegative[c];
    }
  }

  /** PQ, SQ, RQ per class (denominators floored at 1, so a class never seen scores 0). */
  compute(): PanopticScores {
    const scores: PanopticScores = { pq: [], sq: [], rq: [] };
    for (let c = 0; c < this.nClasses; c++) {
      const tp = this.truePositive[c];
      const iou = this.iou[c].value();
      const denominator = Math.max(tp + this.falsePositive[c] / 2 + this.falseNegative[c] / 2, 1);
      scores.pq.push(iou / denominator);
      scores.sq.push(iou / Math.max(tp, 1));
      scores.rq.push(tp / denominator);
    }
    return scores;
  }

  /** The accumulated sums (copies). */
  counts(): PanopticCounts {
    return {
      iou: this.iou.map((sum) => sum.value()),
      truePositive: [...this.truePositive],
      falsePositive: [...this.falsePositive],
      falseNegative: [...this.falseNegative],
    };
  }

  reset(): void {
    this.iou = Array.from({ length: this.nClasses }, () => new ExactSum());
    this.truePositive.fill(0);
    this.falsePositive.fill(0);
    this.falseNegative.fill(0);
  }

  merge(other: PanopticMetric): this {
    const name = 'PanopticMetric';
    if (other.nClasses !== this.nClasses) throw mismatch(name, 'nClasses', this.nClasses, other.nClasses);
    if (other.temporallyConsistent !== this.temporallyConsistent) {
      throw mismatch(name, 'temporallyConsistent', this.temporallyConsistent, other.temporallyConsistent);
    }
    if (other.vehiclesId !== this.vehiclesId)
      throw mismatch(name, 'vehiclesId', this.vehiclesId, other.vehiclesId);
    for (let c = 0; c < this.nClasses; c++) {
      this.iou[c].addSum(other.iou[c]);
      this.truePositive[c] += other.truePositive[c];
      this.falsePositive[c] += other.falsePositive[c];
      this.falseNegative[c] += other.falseNegative[c];
    }
    return this;
  }

  toJSON(): PanopticMetricState {
    return {
      metric: 'panoptic',
      version: 1,
      nClasses: this.nClasses,
      temporallyConsistent: this.temporallyConsistent,
      vehiclesId: this.vehiclesId,
      iou: this.iou.map((sum) => sum.toJSON()),
      truePositive: [...this.truePositive],
      falsePositive: [...this.falsePositive],
      falseNegative: [...this.falseNegative],
    };
  }

  static fromJSON(json: unknown): PanopticMetric {
    const state = parseState(panopticStateSchema, json, 'PanopticMetric');
    for (const key of ['iou', 'truePositive', 'falsePositive', 'falseNegative'] as const) {
      if (state[key].length !== state.nClasses) {
        throw new SpikedriveError(
          `Saved PanopticMetric state has ${state[key].length} ${key} entries for ${state.nClasses} classes.`,
          { subject: 'PanopticMetric', fix: 'Pass the unchanged toJSON() output, or start afresh.' },
        );
      }
    }
    const metric = new PanopticMetric(state.nClasses, state.temporallyConsistent, state.vehiclesId);
    metric.iou = state.iou.map((partials) => ExactSum.fromJSON(partials));
    metric.truePositive = [...state.truePositive];
    metric.falsePositive = [...state.falsePositive];
    metric.falseNegative = [...state.falseNegative];
    return metric;
  }
}
