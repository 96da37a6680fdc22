import { describe, expect, it } from 'vitest';
import {
  type BevBound,
  bevGridFromBounds,
  egoFootprintCells,
  PAPER_BEV_BOUNDS,
  type PlanningHorizonResult,
  PlanningMetric,
} from '../../../src/eval/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { decode, type EncodedArray, expectClose, loadGolden } from './_golden.ts';

const PLANE = 200 * 200;

/** Empty paper-grid occupancy for `frames` future frames, with the given cells occupied: [frame, row, col]. */
function occupancy(frames: number, cells: [number, number, number][] = []): Uint8Array {
  const grid = new Uint8Array(frames * PLANE);
  for (const [t, r, c] of cells) grid[t * PLANE + r * 200 + c] = 1;
  return grid;
}

function pick(results: PlanningHorizonResult[], convention: string, horizonS: number): PlanningHorizonResult {
  const found = results.find((r) => r.convention === convention && r.horizonS === horizonS);
  if (!found) throw new Error(`no ${convention} @${horizonS}s`);
  return found;
}

describe('PlanningMetric (hand-computed)', () => {
  it('rasterises the paper ego box to 32 cells: rows 97..104, cols 98..101', () => {
    const cells = egoFootprintCells(bevGridFromBounds(PAPER_BEV_BOUNDS.xBound, PAPER_BEV_BOUNDS.yBound));
    expect(cells.length / 2).toBe(32);
    const rows = new Set<number>();
    const cols = new Set<number>();
    for (let m = 0; m < cells.length; m += 2) {
      rows.add(cells[m]);
      cols.add(cells[m + 1]);
    }
    expect([...rows]).toEqual([97, 98, 99, 100, 101, 102, 103, 104]);
    expect([...cols]).toEqual([98, 99, 100, 101]);
    expect(new PlanningMetric().footprint).toEqual(cells);
  });

  it('reports L2 as the mean over the horizon (ST-P3) and at the horizon (UniAD), each labelled', () => {
    const metric = new PlanningMetric({ nFuture: 4 });
    const gt = [0, 1, 0, 2, 0, 3, 0, 4];
    // Sample 1: lateral errors 1, 2, 3, 4 m. Sample 2: 3, 0, 0, 0 m (3-D points: heading ignored).
    metric.update({
      plannedTrajectory: [1, 1, 2, 2, 3, 3, 4, 4],
      gtTrajectory: gt,
      gtOccupancy: occupancy(4),
    });
    metric.update({
      plannedTrajectory: [3, 1, 0.3, 0, 2, 0, 0, 3, 0, 0, 4, 0],
      gtTrajectory: [0, 1, 0.1, 0, 2, 0, 0, 3, 0, 0, 4, 0],
      gtOccupancy: occupancy(4),
    });
    const result = metric.compute();
    expect(result.samples).toBe(2);
    expect(result.perStep.timeS).toEqual([0.5, 1, 1.5, 2]);
    expect(result.perStep.l2M).toEqual([2, 1, 1.5, 2]);
    expect(result.horizons.map((h) => `${h.convention}@${h.horizonS}`)).toEqual([
      'st-p3@1',
      'st-p3@2',
      'uniad@1',
      'uniad@2',
    ]);
    expect(pick(result.horizons, 'st-p3', 1)).toMatchObject({ steps: 2, l2M: 1.5 }); // (2 + 1) / 2
    expect(pick(result.horizons, 'st-p3', 2)).toMatchObject({ steps: 4, l2M: 1.625 }); // (2 + 1 + 1.5 + 2) / 4
    expect(pick(result.horizons, 'uniad', 1)).toMatchObject({ steps: 2, l2M: 1 });
    expect(pick(result.horizons, 'uniad', 2)).toMatchObject({ steps: 4, l2M: 2 });
  });

  it('masks steps where the GT trajectory itself collides, keeping the sample in the denominator', () => {
    const metric = new PlanningMetric({ nFuture: 2 });
    // An obstacle on cells (99..100, 99..100) in both frames. GT starts at the origin (its box covers rows
    // 97..104, cols 98..101, so step 0 collides) then is 10 m ahead (rows 117..124: free). The plan stays put.
    const blocked = occupancy(2, [
      [0, 99, 99],
      [0, 100, 100],
      [1, 99, 99],
      [1, 100, 100],
    ]);
    const sample = metric.update({
      plannedTrajectory: [0, 0, 0, 0],
      gtTrajectory: [0, 0, 0, 10],
      gtOccupancy: blocked,
    });
    expect(sample).toEqual({
      l2M: [0, 10],
      gtBoxCol: [true, false],
      objBoxCol: [false, true], // step 0 masked although the plan collides there
      objCol: [false, true], // the centre cell trunc((0 + 49.75) / 0.5) = 99 is occupied
    });
    metric.update({
      plannedTrajectory: [0, 5, 0, 10],
      gtTrajectory: [0, 5, 0, 10],
      gtOccupancy: occupancy(2),
    });
    const result = metric.compute();
    expect(result.perStep.objBoxColRate).toEqual([0, 0.5]); // 1 collision / 2 samples at step 1
    expect(pick(result.horizons, 'st-p3', 1).objBoxColRate).toBe(0.25);
    expect(pick(result.horizons, 'uniad', 1).objBoxColRate).toBe(0.5);
    expect(pick(result.horizons, 'uniad', 1).objColRate).toBe(0.5);
  });

  it('counts the centre point only on the grid but clamps the box to the grid edge', () => {
    const metric = new PlanningMetric({ nFuture: 1, horizonsS: [0.5] });
    // 60 m ahead: the centre cell (row 219) is off the grid; the box rows clamp to 199, which is occupied.
    const edge = occupancy(1, [[0, 199, 99]]);
    expect(
      metric.update({ plannedTrajectory: [0, 60], gtTrajectory: [0, 0], gtOccupancy: edge }),
    ).toMatchObject({
      objCol: [false],
      objBoxCol: [true],
    });
    // 49.9 m behind: (−49.9 + 49.75) / 0.5 = −0.3 truncates to row 0, so the point is on the grid.
    const rear = occupancy(1, [[0, 0, 99]]);
    expect(
      metric.update({ plannedTrajectory: [0, -49.9], gtTrajectory: [0, 0], gtOccupancy: rear }),
    ).toMatchObject({
      objCol: [true],
    });
  });

  it('uses the configured grid (a smaller preset BEV)', () => {
    const metric = new PlanningMetric({ nFuture: 2, xBound: [-10, 10, 0.5], yBound: [-10, 10, 0.5] });
    expect([metric.grid.rows, metric.grid.cols]).toEqual([40, 40]);
    // Same box as the paper, shifted by 40 cells: rows 17..24, cols 18..21.
    expect(Array.from(metric.footprint.slice(0, 4))).toEqual([17, 18, 17, 19]);
    expect(() =>
      metric.update({
        plannedTrajectory: [0, 0, 0, 0],
        gtTrajectory: [0, 0, 0, 0],
        gtOccupancy: occupancy(2),
      }),
    ).toThrow(/gtOccupancy has 80000 elements, expected 3200/);
  });

  it('rejects malformed inputs with a SpikedriveError and leaves the totals untouched', () => {
    const metric = new PlanningMetric({ nFuture: 2 });
    expect(() =>
      metric.update({ plannedTrajectory: [0, 0, 0], gtTrajectory: [0, 0, 0, 0], gtOccupancy: occupancy(2) }),
    ).toThrow(/plannedTrajectory has 3 values/);
    expect(() =>
      metric.update({
        plannedTrajectory: [0, 0, 0, 0],
        gtTrajectory: [0, 0, 0, 0, 1, 0, 0, 2, 0],
        gtOccupancy: occupancy(2),
      }),
    ).toThrow(/include the origin/);
    // With two steps, 3 points × 2 reads as 2 points × 3 unless the layout is given.
    expect(() =>
      metric.update({
        plannedTrajectory: [0, 0, 0, 0],
        gtTrajectory: [0, 0, 0, 1, 0, 2],
        gtOccupancy: occupancy(2),
        pointDims: 2,
      }),
    ).toThrow(/gtTrajectory has 3 points for 2 future steps/);
    expect(() =>
      metric.update({
        plannedTrajectory: [0, Number.NaN, 0, 0],
        gtTrajectory: [0, 0, 0, 0],
        gtOccupancy: occupancy(2),
      }),
    ).toThrow(SpikedriveError);
    expect(() => new PlanningMetric({ nFuture: 4, horizonsS: [3] })).toThrow(/Horizon 3 s/);
    expect(() => new PlanningMetric({ xBound: [50, -50, 0.5] })).toThrow(/xBound/);
    expect(metric.compute().samples).toBe(0);
    expect(Number.isNaN(metric.compute().perStep.l2M[0])).toBe(true);
  });
});

interface PlanningCase {
  name: string;
  xBound: BevBound;
  yBound: BevBound;
  egoWidthM: number;
  egoLengthM: number;
  footprint: number[][];
  nFuture: number;
  gridShape: [number, number];
  updates: {
    planned: EncodedArray;
    gt: EncodedArray;
    occupancyRects: number[][][];
    perSample: { l2: number[]; objCol: number[]; objBoxCol: number[] }[];
  }[];
  results: Record<string, number | number[]>;
}

interface PlanningGolden {
  cases: PlanningCase[];
  footprints: {
    xBound: BevBound;
    yBound: BevBound;
    egoWidthM: number;
    egoLengthM: number;
    cells: number[][];
  }[];
}

describe('PlanningMetric against the reference (golden)', () => {
  const golden = loadGolden<PlanningGolden>('planning.json');

  it('rasterises the ego footprint like skimage on every tested grid', () => {
    for (const f of golden.footprints) {
      const cells = egoFootprintCells(bevGridFromBounds(f.xBound, f.yBound), {
        widthM: f.egoWidthM,
        lengthM: f.egoLengthM,
      });
      expect(Array.from(cells)).toEqual(f.cells.flat());
    }
  });

  for (const c of golden.cases) {
    it(`${c.name}: per-sample steps and the evaluate.py numbers at 1/2/3 s`, () => {
      const metric = new PlanningMetric({
        nFuture: c.nFuture,
        xBound: c.xBound,
        yBound: c.yBound,
        egoWidthM: c.egoWidthM,
        egoLengthM: c.egoLengthM,
      });
      expect([metric.grid.rows, metric.grid.cols]).toEqual(c.gridShape);
      expect(Array.from(metric.footprint)).toEqual(c.footprint.flat());
      const [rows, cols] = c.gridShape;
      const plane = rows * cols;
      for (const update of c.updates) {
        const planned = decode(update.planned);
        const gt = decode(update.gt);
        const [batch, steps, dims] = update.planned.shape;
        for (let b = 0; b < batch; b++) {
          const occ = new Uint8Array(steps * plane);
          for (const [t, r0, r1, c0, c1] of update.occupancyRects[b]) {
            for (let r = r0; r < r1; r++) occ.fill(1, t * plane + r * cols + c0, t * plane + r * cols + c1);
          }
          const one = steps * dims;
          const sample = metric.update({
            plannedTrajectory: planned.subarray(b * one, (b + 1) * one),
            gtTrajectory: gt.subarray(b * one, (b + 1) * one),
            gtOccupancy: occ,
          });
          const reference = update.perSample[b];
          expectClose(sample.l2M, reference.l2);
          expect(sample.objCol.map(Number)).toEqual(reference.objCol);
          expect(sample.objBoxCol.map(Number)).toEqual(reference.objBoxCol);
        }
      }
      const result = metric.compute();
      for (const horizonS of [1, 2, 3]) {
        const stp3 = pick(result.horizons, 'st-p3', horizonS);
        const uniad = pick(result.horizons, 'uniad', horizonS);
        const ref = (key: string) => c.results[`plan_${key}_${horizonS}s`] as number;
        const refStep = (key: string) => (c.results[`perstep_${key}_${horizonS}s`] as number[]).at(-1)!;
        expectClose(
          [stp3.l2M, stp3.objColRate, stp3.objBoxColRate],
          [ref('L2'), ref('obj_col'), ref('obj_box_col')],
        );
        expectClose(
          [uniad.l2M, uniad.objColRate, uniad.objBoxColRate],
          [refStep('L2'), refStep('obj_col'), refStep('obj_box_col')],
        );
      }
    });
  }
});
