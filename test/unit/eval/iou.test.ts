import { describe, expect, it } from 'vitest';
import { argmaxClasses, IntersectionOverUnion, statScoresMultipleClasses } from '../../../src/eval/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { decode, type EncodedArray, expectClose, loadGolden } from './_golden.ts';

describe('IntersectionOverUnion (hand-computed)', () => {
  it('counts TP/FP/FN per class and scores TP / (TP + FP + FN)', () => {
    const metric = new IntersectionOverUnion(2);
    // target vehicle cells 2,3,4; predicted 1,2,3 → vehicle TP 2, FP 1, FN 1; background TP 4, FP 1, FN 1.
    metric.update([0, 1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 0, 0, 0]);
    expect(metric.counts()).toEqual({
      truePositive: [4, 2],
      falsePositive: [1, 1],
      falseNegative: [1, 1],
      support: [5, 3],
    });
    expect(metric.compute()).toEqual([4 / 6, 2 / 4]);
    expect(metric.classIou(1)).toBe(0.5);
  });

  it('accumulates over the whole dataset rather than averaging per frame', () => {
    const metric = new IntersectionOverUnion(2);
    metric.update(new Uint8Array([1, 0, 0, 0]), new Uint8Array([1, 0, 0, 0])); // frame IoU 1
    metric.update(new Uint8Array([1, 1, 1, 0]), new Uint8Array([0, 0, 0, 0])); // frame IoU 0
    // 1 TP, 3 FP over both frames: 1/4, not the per-frame mean 1/2.
    expect(metric.classIou(1)).toBe(0.25);
  });

  it('gives absent classes the absent score (0 by default, 1 for HD map elements) but not predicted-only ones', () => {
    const zeros = new Uint8Array(6);
    const vehicle = new IntersectionOverUnion(3);
    vehicle.update([0, 1, 1, 0, 0, 0], [0, 1, 0, 0, 0, 0]);
    expect(vehicle.compute()).toEqual([4 / 5, 1 / 2, 0]);
    const hdmap = new IntersectionOverUnion(2, { absentScore: 1 });
    hdmap.update(zeros, zeros);
    expect(hdmap.compute()).toEqual([1, 1]);
    const predictedOnly = new IntersectionOverUnion(2, { absentScore: 1 });
    predictedOnly.update([0, 1, 0, 0, 0, 0], zeros);
    expect(predictedOnly.classIou(1)).toBe(0);
    // Never updated: every class absent.
    expect(new IntersectionOverUnion(2, { absentScore: 1 }).compute()).toEqual([1, 1]);
  });

  it('clamps ids ≥ nClasses into a dropped void bin, as PL 1.2 stat scores do', () => {
    const stats = statScoresMultipleClasses([255, 1, 7, 1], [1, 255, 9, 1], 2);
    // cell 0: predicted void, target 1 → FN of 1; cell 1: target void → FP of 1; cell 2: void both; cell 3: TP.
    expect(stats).toEqual({
      truePositive: [0, 1],
      falsePositive: [0, 1],
      falseNegative: [0, 1],
      support: [0, 2],
    });
  });

  it('removes the ignored class from the scores', () => {
    const metric = new IntersectionOverUnion(3, { ignoreIndex: 1 });
    metric.update([0, 1, 2, 2], [0, 1, 2, 1]);
    expect(metric.compute()).toEqual([1, 0.5]);
    expect(metric.classIou(2)).toBe(0.5);
    expect(() => metric.classIou(1)).toThrow(SpikedriveError);
  });

  it('rejects bad labels with a SpikedriveError naming the array', () => {
    const metric = new IntersectionOverUnion(2);
    expect(() => metric.update([0, -1], [0, 0])).toThrow(/prediction\[1\] = -1/);
    expect(() => metric.update([0, 0.5], [0, 0])).toThrow(SpikedriveError);
    expect(() => metric.update([0, 1], [0, 1, 1])).toThrow(/target has 3 elements/);
    expect(() => new IntersectionOverUnion(0)).toThrow(SpikedriveError);
    // Nothing was counted by the failed updates.
    expect(metric.counts().support).toEqual([0, 0]);
  });

  it('argmaxClasses takes the first class on a tie, per frame', () => {
    // frames 1, classes 2, 1×3: logits class0 [1, 2, 0], class1 [1, 1, 5]
    const labels = argmaxClasses(new Float32Array([1, 2, 0, 1, 1, 5]), {
      frames: 1,
      classes: 2,
      height: 1,
      width: 3,
    });
    expect(Array.from(labels)).toEqual([0, 0, 1]);
  });
});

interface IouCase {
  name: string;
  nClasses: number;
  absentScore: number;
  ignoreIndex: number | null;
  updates: { prediction: EncodedArray; target: EncodedArray }[];
  expected: {
    scores: number[];
    truePositive: number[];
    falsePositive: number[];
    falseNegative: number[];
    support: number[];
  };
}

describe('IntersectionOverUnion against the reference (golden)', () => {
  const golden = loadGolden<{ cases: IouCase[] }>('iou.json');
  for (const c of golden.cases) {
    it(c.name, () => {
      const metric = new IntersectionOverUnion(c.nClasses, {
        absentScore: c.absentScore,
        ignoreIndex: c.ignoreIndex,
      });
      for (const update of c.updates) metric.update(decode(update.prediction), decode(update.target));
      const counts = metric.counts();
      expect(counts.truePositive).toEqual(c.expected.truePositive);
      expect(counts.falsePositive).toEqual(c.expected.falsePositive);
      expect(counts.falseNegative).toEqual(c.expected.falseNegative);
      expect(counts.support).toEqual(c.expected.support);
      expectClose(metric.compute(), c.expected.scores);
    });
  }
});
