import { describe, expect, it } from 'vitest';
import { PanopticMetric, panopticFrameCounts } from '../../../src/eval/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { decode, type EncodedArray, expectClose, loadGolden } from './_golden.ts';

const VEHICLE = 1;

describe('PanopticMetric (hand-computed)', () => {
  it('scores a perfect prediction PQ = SQ = RQ = 1 whatever the id values', () => {
    const metric = new PanopticMetric(2);
    metric.update([0, 7, 7, 0, 3, 3], [0, 1, 1, 0, 2, 2], { frames: 1, height: 2, width: 3 });
    const scores = metric.compute();
    expect([scores.pq[VEHICLE], scores.sq[VEHICLE], scores.rq[VEHICLE]]).toEqual([1, 1, 1]);
    expect(metric.counts().truePositive).toEqual([1, 2]); // background segment + two vehicles
  });

  it('counts IoU > 0.5 matches, misses and false alarms', () => {
    // 1×8. GT vehicle 1 = cells 0-3, vehicle 2 = cell 6. Pred 5 = cells 1-4 (IoU 3/5), pred 3 = cell 7.
    const metric = new PanopticMetric(2);
    metric.update([0, 5, 5, 5, 5, 0, 0, 3], [1, 1, 1, 1, 0, 0, 2, 0], { frames: 1, height: 1, width: 8 });
    const counts = metric.counts();
    expect(counts.truePositive[VEHICLE]).toBe(1);
    expect(counts.falseNegative[VEHICLE]).toBe(1); // GT 2 unmatched
    expect(counts.falsePositive[VEHICLE]).toBe(1); // pred 3 lies on background
    expect(counts.iou[VEHICLE]).toBeCloseTo(0.6, 12);
    const scores = metric.compute();
    expect(scores.pq[VEHICLE]).toBeCloseTo(0.6 / 2, 12); // ΣIoU / (TP + FP/2 + FN/2)
    expect(scores.sq[VEHICLE]).toBeCloseTo(0.6, 12);
    expect(scores.rq[VEHICLE]).toBe(0.5);
  });

  it('needs IoU strictly above 0.5', () => {
    // GT cells 0-2, pred cells 1-3: intersection 2, union 4 → IoU exactly 0.5 → no match.
    const metric = new PanopticMetric(2);
    metric.update([0, 1, 1, 1], [1, 1, 1, 0], { frames: 1, height: 1, width: 4 });
    const counts = metric.counts();
    expect([
      counts.truePositive[VEHICLE],
      counts.falsePositive[VEHICLE],
      counts.falseNegative[VEHICLE],
    ]).toEqual([0, 1, 1]);
  });

  it('penalises an identity switch as FP + FN and then follows the new id', () => {
    // One GT vehicle on the same cells for three frames; the prediction calls it 1, then 2, then 2.
    const gt = [0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4, 0];
    const pred = [0, 1, 1, 0, 0, 2, 2, 0, 0, 2, 2, 0];
    const shape = { frames: 3, height: 1, width: 4 };
    const consistent = new PanopticMetric(2);
    consistent.update(pred, gt, shape);
    const counts = consistent.counts();
    // frame 0 TP; frame 1 switch → FP + FN, mapping now 2; frame 2 TP.
    expect([
      counts.truePositive[VEHICLE],
      counts.falsePositive[VEHICLE],
      counts.falseNegative[VEHICLE],
    ]).toEqual([2, 1, 1]);
    expect(consistent.compute().pq[VEHICLE]).toBeCloseTo(2 / 3, 12); // 2 / (2 + 0.5 + 0.5)
    const plain = new PanopticMetric(2, false);
    plain.update(pred, gt, shape);
    expect(plain.compute().pq[VEHICLE]).toBe(1);
    // The identity memory lasts one sample: a second sample starting with id 2 is no switch.
    const twoSamples = new PanopticMetric(2);
    twoSamples.update([0, 1, 1, 0, 0, 2, 2, 0], [0, 4, 4, 0, 0, 4, 4, 0], {
      batch: 2,
      frames: 1,
      height: 1,
      width: 4,
    });
    expect(twoSamples.counts().falsePositive[VEHICLE]).toBe(0);
  });

  it('does not count a prediction lying only on void ground truth as a false positive', () => {
    const frame = (predInstance: number[]) =>
      panopticFrameCounts(
        {
          predSegmentation: predInstance.map((id) => (id > 0 ? 1 : 0)),
          predInstance,
          gtSegmentation: [0, 0, 2, 2], // cells 2-3 void (id ≥ nClasses)
          gtInstance: [0, 0, 0, 0],
        },
        2,
        new Map(),
      );
    expect(frame([0, 0, 4, 4]).falsePositive[VEHICLE]).toBe(0);
    expect(frame([0, 4, 4, 0]).falsePositive[VEHICLE]).toBe(1);
  });

  it('gives the same counts for huge instance ids (sparse tables) as for small ones', () => {
    const shape = { frames: 2, height: 1, width: 8 };
    const gt = [0, 1, 1, 1, 0, 2, 2, 0, 0, 1, 1, 1, 0, 0, 2, 2];
    const pred = [0, 3, 3, 0, 0, 4, 4, 4, 0, 5, 5, 5, 0, 0, 4, 4];
    const small = new PanopticMetric(2);
    small.update(pred, gt, shape);
    const big = new PanopticMetric(2);
    const lift = (ids: number[], by: number) => ids.map((id) => (id > 0 ? id + by : 0));
    big.update(lift(pred, 9_000_000), lift(gt, 5_000_000), shape);
    expect(big.counts()).toEqual(small.counts());
    // Frame 0: GT 1 ↔ pred 3 and GT 2 ↔ pred 4 (IoU 2/3 each). Frame 1: GT 1 ↔ pred 5 (IoU 1) is a switch
    // (FP + FN), GT 2 ↔ pred 4 (IoU 1) stays consistent.
    const counts = small.counts();
    expect([
      counts.truePositive[VEHICLE],
      counts.falsePositive[VEHICLE],
      counts.falseNegative[VEHICLE],
    ]).toEqual([3, 1, 1]);
    expect(counts.iou[VEHICLE]).toBeCloseTo(2 / 3 + 2 / 3 + 1, 12);
  });

  it('scores 0 for a class never seen (denominators floored at 1)', () => {
    const metric = new PanopticMetric(2);
    expect(metric.compute()).toEqual({ pq: [0, 0], sq: [0, 0], rq: [0, 0] });
  });

  it('insists on background id 0 in the ground truth and on matching shapes', () => {
    const metric = new PanopticMetric(2);
    expect(() => metric.update([0, 0], [1, 1], { frames: 1, height: 1, width: 2 })).toThrow(/minimum id 1/);
    expect(() => metric.update([0, 0], [0, 1, 1], { frames: 1, height: 1, width: 2 })).toThrow(
      SpikedriveError,
    );
    expect(() => metric.update([0, -1], [0, 1], { frames: 1, height: 1, width: 2 })).toThrow(
      /predInstance\[1\]/,
    );
  });
});

interface DirectCase {
  name: string;
  temporallyConsistent: boolean;
  batch: number;
  frames: number;
  height: number;
  width: number;
  predInstance: EncodedArray;
  gtInstance: EncodedArray;
  panoptic: { iou: number[]; true_positive: number[]; false_positive: number[]; false_negative: number[] };
  scores: { pq: number[]; sq: number[]; rq: number[] };
}

describe('PanopticMetric against the reference (golden)', () => {
  const golden = loadGolden<{ cases: DirectCase[] }>('panoptic-direct.json');
  for (const c of golden.cases) {
    it(c.name, () => {
      const metric = new PanopticMetric(2, c.temporallyConsistent);
      metric.update(decode(c.predInstance), decode(c.gtInstance), c);
      const counts = metric.counts();
      expect(counts.truePositive).toEqual(c.panoptic.true_positive);
      expect(counts.falsePositive).toEqual(c.panoptic.false_positive);
      expect(counts.falseNegative).toEqual(c.panoptic.false_negative);
      expectClose(counts.iou, c.panoptic.iou, 1e-5);
      const scores = metric.compute();
      expectClose(scores.pq, c.scores.pq);
      expectClose(scores.sq, c.scores.sq);
      expectClose(scores.rq, c.scores.rq);
    });
  }
});
