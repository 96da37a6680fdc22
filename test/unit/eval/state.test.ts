// Saved state: a run resumed from JSON, or merged from shards in any order, must give bit-identical numbers
// to one uninterrupted pass.
import { describe, expect, it } from 'vitest';
import {
  ExactSum,
  IntersectionOverUnion,
  PanopticMetric,
  PlanningMetric,
  predictInstanceSegmentation,
} from '../../../src/eval/index.ts';
import { createRng, SpikedriveError } from '../../../src/util/index.ts';

const rng = createRng('eval-state');
const through = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

describe('ExactSum', () => {
  it('is exactly rounded and independent of order', () => {
    expect(new ExactSum().add(1e16).add(1).add(-1e16).value()).toBe(1);
    const tenths = new ExactSum();
    for (let i = 0; i < 10; i++) tenths.add(0.1);
    expect(tenths.value()).toBe(1); // naive summation gives 0.9999999999999999
    const values = Array.from({ length: 200 }, () => rng.normal() * 10 ** rng.int(-3, 6));
    const forward = new ExactSum();
    for (const v of values) forward.add(v);
    const a = new ExactSum();
    const b = new ExactSum();
    for (const [i, v] of values.entries()) (i % 3 === 0 ? a : b).add(v);
    expect(b.addSum(a).value()).toBe(forward.value());
    expect(ExactSum.fromJSON(through(forward.toJSON()) as number[]).value()).toBe(forward.value());
    expect(() => new ExactSum().add(Number.NaN)).toThrow(SpikedriveError);
  });
});

describe('metric state: JSON round trip and merge equal one pass', () => {
  it('IntersectionOverUnion', () => {
    const batches = Array.from({ length: 6 }, () => ({
      prediction: Uint8Array.from({ length: 64 }, () => rng.int(0, 3)),
      target: Uint8Array.from({ length: 64 }, () => rng.int(0, 3)),
    }));
    const once = new IntersectionOverUnion(3, { absentScore: 1 });
    for (const b of batches) once.update(b.prediction, b.target);

    const first = new IntersectionOverUnion(3, { absentScore: 1 });
    for (const b of batches.slice(0, 2)) first.update(b.prediction, b.target);
    const resumed = IntersectionOverUnion.fromJSON(through(first.toJSON()));
    for (const b of batches.slice(2)) resumed.update(b.prediction, b.target);
    expect(resumed.compute()).toEqual(once.compute());

    const odd = new IntersectionOverUnion(3, { absentScore: 1 });
    const even = new IntersectionOverUnion(3, { absentScore: 1 });
    for (const [i, b] of batches.entries()) (i % 2 ? odd : even).update(b.prediction, b.target);
    expect(odd.merge(even).compute()).toEqual(once.compute());
    expect(() => odd.merge(new IntersectionOverUnion(3))).toThrow(/absentScore/);
    odd.reset();
    expect(odd.compute()).toEqual([1, 1, 1]);
  });

  it('PanopticMetric (IoU sums as exact partials)', () => {
    const shape = { frames: 3, height: 12, width: 12 };
    const samples = Array.from({ length: 6 }, () => {
      const gt = new Int32Array(3 * 144);
      const pred = new Int32Array(3 * 144);
      for (let id = 1; id <= 4; id++) {
        const r = rng.int(0, 9);
        const c = rng.int(0, 9);
        for (let t = 0; t < 3; t++) {
          const dr = rng.int(0, 2);
          for (let y = r; y < r + 3; y++) {
            for (let x = c; x < c + 3; x++) {
              gt[t * 144 + y * 12 + x] = id;
              pred[t * 144 + Math.min(y + dr, 11) * 12 + x] = rng.chance(0.2) ? id + 4 : id;
            }
          }
        }
      }
      return { pred, gt };
    });
    const once = new PanopticMetric(2);
    for (const s of samples) once.update(s.pred, s.gt, shape);
    const first = new PanopticMetric(2);
    for (const s of samples.slice(0, 3)) first.update(s.pred, s.gt, shape);
    const resumed = PanopticMetric.fromJSON(through(first.toJSON()));
    for (const s of samples.slice(3)) resumed.update(s.pred, s.gt, shape);
    expect(resumed.compute()).toEqual(once.compute());
    const a = new PanopticMetric(2);
    const b = new PanopticMetric(2);
    for (const [i, s] of samples.entries()) (i < 2 || i === 4 ? a : b).update(s.pred, s.gt, shape);
    expect(b.merge(a).compute()).toEqual(once.compute());
    expect(once.compute().pq[1]).toBeGreaterThan(0);
  });

  it('PlanningMetric (L2 sums as exact partials)', () => {
    const samples = Array.from({ length: 8 }, () => {
      const gt = Float32Array.from({ length: 18 }, (_, k) => (k % 3 === 1 ? (k / 3 + 1) * 2 : rng.normal()));
      const planned = Float32Array.from(gt, (v) => v + rng.normal() * 0.7);
      const gtOccupancy = new Uint8Array(6 * 200 * 200);
      for (let n = 0; n < 60; n++)
        gtOccupancy[rng.int(0, 6) * 40000 + rng.int(95, 130) * 200 + rng.int(90, 110)] = 1;
      return { plannedTrajectory: planned, gtTrajectory: gt, gtOccupancy };
    });
    const once = new PlanningMetric();
    for (const s of samples) once.update(s);
    const first = new PlanningMetric();
    for (const s of samples.slice(0, 5)) first.update(s);
    const resumed = PlanningMetric.fromJSON(through(first.toJSON()));
    for (const s of samples.slice(5)) resumed.update(s);
    expect(resumed.compute()).toEqual(once.compute());
    const a = new PlanningMetric();
    const b = new PlanningMetric();
    for (const [i, s] of samples.entries()) (i % 3 === 1 ? a : b).update(s);
    expect(a.merge(b).compute()).toEqual(once.compute());
    expect(() => a.merge(new PlanningMetric({ nFuture: 4 }))).toThrow(/nFuture/);
    expect(once.compute().perStep.objBoxColRate.some((r) => r > 0)).toBe(true);
  });

  it('rejects state that is not a saved metric with a SpikedriveError', () => {
    expect(() => IntersectionOverUnion.fromJSON({ metric: 'panoptic' })).toThrow(
      /Saved IntersectionOverUnion state/,
    );
    const state = through(new PanopticMetric(2).toJSON()) as { truePositive: number[] };
    state.truePositive = [1];
    expect(() => PanopticMetric.fromJSON(state)).toThrow(/1 truePositive entries for 2 classes/);
    const planning = through(new PlanningMetric().toJSON()) as { samples: number };
    planning.samples = -1;
    expect(() => PlanningMetric.fromJSON(planning)).toThrow(SpikedriveError);
  });

  it('the instance post-processing is deterministic (same ids on a second run)', () => {
    const plane = 16 * 16;
    const outputs = {
      segmentation: Float32Array.from({ length: 3 * 2 * plane }, () => rng.normal()),
      instanceCenter: Float32Array.from({ length: 3 * plane }, () => rng.next() * 0.5),
      instanceOffset: Float32Array.from({ length: 3 * 2 * plane }, () => rng.normal() * 2),
      instanceFlow: Float32Array.from({ length: 3 * 2 * plane }, () => rng.normal()),
    };
    const shape = { frames: 3, height: 16, width: 16 };
    expect(predictInstanceSegmentation(outputs, shape)).toEqual(predictInstanceSegmentation(outputs, shape));
  });
});
