// The cost function term by term on hand-built grids (SAD's 200 × 200 grid at 0.5 m), with every expected value
// worked out here from the reference formulas (sad.md §5).
import { describe, expect, it } from 'vitest';
import {
  bevGrid,
  CostFunction,
  type CostMaps,
  clampCell,
  egoFootprint,
  laneDistanceCosts,
  rasterisePolygon,
  SAD_COST_WEIGHTS,
  SAD_EGO,
  safetyLambdaCells,
  softmaxForeground,
} from '../../../src/planning/index.ts';
import { expectSpikedriveError } from './_helpers.ts';

const X = 200;
const Y = 200;
const grid = bevGrid([-50, 50, 0.5], [-50, 50, 0.5]);
const cell = (r: number, c: number) => r * Y + c;

describe('footprint', () => {
  it('is the reference’s 32 cells (rows 97..104, cols 98..101) and 192 cells with the 2 m margin', () => {
    const fp = egoFootprint(grid, SAD_EGO, 0);
    expect(fp.rows.length).toBe(32);
    expect(Array.from(fp.rect?.rows ?? [])).toEqual([97, 98, 99, 100, 101, 102, 103, 104]);
    expect(Array.from(fp.rect?.cols ?? [])).toEqual([98, 99, 100, 101]);
    const wide = egoFootprint(grid, SAD_EGO, 2);
    expect(wide.rows.length).toBe(192);
    expect([wide.rect?.rows[0], wide.rect?.rows.at(-1), wide.rect?.cols[0], wide.rect?.cols.at(-1)]).toEqual([
      93, 108, 94, 105,
    ]);
  });

  it('λ = int(LAMBDA / dx) = 2 cells, used as metres (the reference bug)', () => {
    expect(safetyLambdaCells(1, grid)).toBe(2);
    const cf = new CostFunction({ xBound: [-50, 50, 0.5], yBound: [-50, 50, 0.5] });
    expect(cf.safetyFootprint.rows.length).toBe(192); // a true 1 m margin would give 12 × 8 = 96
    cf.dispose();
  });

  it('rasterises like skimage.draw.polygon: edges and vertices count as inside', () => {
    const square = rasterisePolygon([0, 0, 2, 2], [0, 2, 2, 0]);
    expect(square.rows.length).toBe(9);
    const tri = rasterisePolygon([0.5, 3.5, 3.5], [0.5, 0.5, 3.5]);
    expect(tri.rect).toBeNull();
  });

  it('truncates toward zero, then clamps into the grid', () => {
    expect([clampCell(-0.7, 200), clampCell(-1.2, 200), clampCell(199.9, 200), clampCell(250, 200)]).toEqual([
      0, 0, 199, 199,
    ]);
  });
});

/** Maps with nothing in them: no occupancy, everything drivable, no lanes, zero cost volume. */
function emptyMaps(F: number): CostMaps {
  const hd = new Float32Array(X * Y * 2);
  for (let i = 0; i < X * Y; i++) hd[i * 2 + 1] = 1;
  return {
    occupancy: new Float32Array(F * X * Y),
    hdmap: { data: hd, channels: 'masks' },
    costVolume: new Float32Array(F * X * Y),
  };
}

/** One candidate from waypoints [x right, y forward]. */
function traj(points: [number, number][]): Float32Array {
  return Float32Array.from(points.flatMap(([x, y]) => [x, y, 0]));
}

describe('cost terms (hand-computed)', () => {
  const cf = new CostFunction({ xBound: [-50, 50, 0.5], yBound: [-50, 50, 0.5] });

  it('an empty scene costs only progress: −0.5 × max forward', () => {
    const r = cf.score(
      traj([
        [0, 2],
        [0, 4],
      ]),
      1,
      2,
      emptyMaps(2),
    );
    expect(Array.from(r.fo)).toEqual([0, 0]);
    expect(r.progress[0]).toBe(-2);
    expect(r.comfort[0]).toBe(0); // constant 4 m/s
    // Speeding up from 4 to 6 m/s in 0.5 s: 4 m/s² → (4 − 3)² × 0.1.
    expect(
      cf.score(
        traj([
          [0, 2],
          [0, 5],
        ]),
        1,
        2,
        emptyMaps(2),
      ).comfort[0],
    ).toBeCloseTo(0.1, 6);
  });

  it('safety: occupied cells under the footprint + under the enlarged footprint × speed', () => {
    const maps = emptyMaps(1);
    maps.occupancy[cell(100, 99)] = 1;
    // At rest on the origin: the cell is under the 32-cell footprint, speed 0.
    expect(cf.score(traj([[0, 0]]), 1, 1, maps).safety[0]).toBe(1);
    // 1 m forward in 0.5 s: rows 99..106 still cover row 100; speed 2 m/s → 1 + 1 × 2.
    expect(cf.score(traj([[0, 1]]), 1, 1, maps).safety[0]).toBe(3);
  });

  it('safety: the 2 m margin catches a cell 2.25 m to the left that a 1 m margin would miss', () => {
    const maps = emptyMaps(1);
    maps.occupancy[cell(100, 104)] = 1; // centre −49.75 + 0.5·104 = 2.25 m left
    expect(cf.score(traj([[0, 1]]), 1, 1, maps).safety[0]).toBe(2); // 0 + 1 × speed 2
  });

  it('safety clamps at 100', () => {
    const maps = emptyMaps(1);
    maps.occupancy.fill(1);
    // 32 + 192 × 2 = 416 → 100
    expect(cf.score(traj([[0, 1]]), 1, 1, maps).safety[0]).toBe(100);
  });

  it('headway: occupancy on drivable area under the footprint shifted 10 m forward, weighted by the drivable probability', () => {
    const maps = emptyMaps(1);
    maps.occupancy[cell(120, 99)] = 1; // 10 m ahead: rows 117..124
    expect(cf.score(traj([[0, 0]]), 1, 1, maps).headway[0]).toBe(1);
    const logits = new Float32Array(X * Y * 4);
    for (let i = 0; i < X * Y; i++) logits[i * 4 + 3] = Math.log(3); // drivable p = 3/(1+3) = 0.75
    const r = cf.score(traj([[0, 0]]), 1, 1, { ...maps, hdmap: { data: logits, channels: 'logits' } });
    expect(r.headway[0]).toBeCloseTo(0.75, 6);
    maps.hdmap.data[cell(120, 99) * 2 + 1] = 0; // not drivable there → no headway cost
    expect(cf.score(traj([[0, 0]]), 1, 1, maps).headway[0]).toBe(0);
  });

  it('lane divider: (1 − d)² × 10 within 1 m of the nearest lane pixel', () => {
    // The waypoint (0, 0) discretises to row trunc(49.75/0.5) = 99, col 99.
    const cases: [number, number, number][] = [
      [99, 99, 10], // on the pixel: (1 − 0)² × 10
      [100, 100, (1 - Math.SQRT1_2 * 1) ** 2 * 10], // d = 0.5·√2
      [99, 101, 0], // d = 1.0 exactly → (1 − 1)² = 0
      [100, 102, 0], // d = 0.5·√10 > 1
    ];
    for (const [r, c, expected] of cases) {
      const maps = emptyMaps(1);
      maps.hdmap.data[cell(r, c) * 2] = 1;
      expect(cf.score(traj([[0, 0]]), 1, 1, maps).laneDivider[0]).toBeCloseTo(expected, 5);
    }
    // Only the nearest pixel counts.
    const lane = new Float32Array(X * Y);
    lane[cell(99, 101)] = 1;
    lane[cell(99, 100)] = 1;
    expect(laneDistanceCosts(lane, grid, 1)[cell(99, 99)]).toBeCloseTo(0.25, 6); // d = 0.5
  });

  it('rule: footprint cells outside the drivable area × 5, clamped at 100', () => {
    const maps = emptyMaps(1);
    maps.hdmap.data[cell(101, 100) * 2 + 1] = 0;
    expect(cf.score(traj([[0, 0]]), 1, 1, maps).rule[0]).toBe(5);
    for (let i = 0; i < X * Y; i++) maps.hdmap.data[i * 2 + 1] = 0;
    expect(cf.score(traj([[0, 0]]), 1, 1, maps).rule[0]).toBe(100); // 32 × 5 = 160
  });

  it('cost volume: clamp to [0, 1000], × 100, clamp to [0, 100], read at the waypoint cell', () => {
    const cases: [number, number][] = [
      [0.37, 37],
      [3, 100],
      [-1, 0],
      [1500, 100],
    ];
    for (const [value, expected] of cases) {
      const maps = emptyMaps(1);
      (maps.costVolume as Float32Array)[cell(99, 99)] = value;
      expect(cf.score(traj([[0, 0]]), 1, 1, maps).costVolume?.[0]).toBeCloseTo(expected, 4);
    }
  });

  it('comfort: lateral acceleration and jerk over their limits (hand-computed 25)', () => {
    // x right = [0, 0, 2]: left = [0, 0, −2]; lateral v = [0, 0, −4]; lateral a = [0, 0, −8] → (8 − 3)² = 25;
    // speed [0, 0, 4] → a [·, 0, 8] → jerk (8 − 0)/0.5 = 16 → (16 − 1)² = 225; (25 + 225) × 0.1 = 25.
    const r = cf.score(
      traj([
        [0, 0],
        [0, 0],
        [2, 0],
      ]),
      1,
      3,
      emptyMaps(3),
    );
    expect(r.comfort[0]).toBeCloseTo(25, 5);
  });

  it('comfort clamps per axis (30², 20²) and in total (100)', () => {
    // A 100 m lateral jump and back: every limit saturates: (30² + 0 + 20²) × 0.1 = 130 → 100.
    const r = cf.score(
      traj([
        [0, 0],
        [100, 0],
        [100, 0],
      ]),
      1,
      3,
      emptyMaps(3),
    );
    expect(r.comfort[0]).toBe(100);
  });

  it('progress: the target counts only when the whole batch’s targets sum to ≥ 0.5, against the x-flipped waypoint', () => {
    const t = traj([
      [1, 1],
      [1, 3],
      [1, 2],
    ]); // max forward 3; final (left, fwd) = (−1, 2)
    const maps = emptyMaps(3);
    expect(cf.score(t, 1, 3, maps).progress[0]).toBe(-1.5);
    // (−1 − 0.3)² + (2 − 0.4)² = 4.25 → (4.25 − 3) × 0.5 = 0.625
    expect(cf.score(t, 1, 3, maps, { target: [0.3, 0.4] }).progress[0]).toBeCloseTo(0.625, 6);
    // This item's own target is (0, 0) but another item's makes the batch sum 0.7: (1 + 4 − 3) × 0.5 = 1.
    expect(cf.score(t, 1, 3, maps, { target: [0, 0], targetSumBatch: 0.7 }).progress[0]).toBeCloseTo(1, 6);
    // Clamped at −100: 250 m forward.
    expect(cf.score(traj([[0, 250]]), 1, 1, emptyMaps(1)).progress[0]).toBe(-100);
  });

  it('off-grid waypoints score the border cells (truncate, then clamp)', () => {
    const maps = emptyMaps(1);
    (maps.costVolume as Float32Array)[cell(199, 0)] = 0.5; // far ahead, far right
    const r = cf.score(traj([[80, 90]]), 1, 1, maps);
    expect(r.costVolume?.[0]).toBe(50);
    expect(r.cells[0]).toBe(cell(199, 0));
  });

  it('sums fo = safety + headway + lane + volume + rule and total = fc + Σ fo', () => {
    const maps = emptyMaps(2);
    maps.occupancy[cell(100, 99)] = 1;
    (maps.costVolume as Float32Array)[X * Y + cell(101, 99)] = 0.2;
    const r = cf.score(
      traj([
        [0, 0],
        [0, 1],
      ]),
      1,
      2,
      maps,
    );
    for (let t = 0; t < 2; t++) {
      expect(r.fo[t]).toBeCloseTo(
        r.safety[t] + r.headway[t] + r.laneDivider[t] + (r.costVolume?.[t] ?? 0) + r.rule[t],
        5,
      );
    }
    expect(r.total?.[0]).toBeCloseTo(r.comfort[0] + r.progress[0] + r.fo[0] + r.fo[1], 5);
  });

  it('rejects maps of the wrong size, naming the input', () => {
    const maps = emptyMaps(1);
    expectSpikedriveError(
      () => cf.score(traj([[0, 0]]), 1, 1, { ...maps, occupancy: new Float32Array(10) }),
      /occupancy of batch item 0 has 10 values/,
    );
    expectSpikedriveError(() => cf.score(new Float32Array(5), 1, 1, maps), /Candidates have 5 values/);
  });

  it('checks its checkpoint buffers against the grid', () => {
    const other = new CostFunction({ xBound: [-50, 50, 0.5], yBound: [-50, 50, 0.5] });
    const sd = other.stateDict();
    sd.set('safetycost.dx', { shape: [2], dtype: 'float32', data: Float32Array.of(0.25, 0.25) });
    other.loadStateDict(sd);
    expectSpikedriveError(
      () => other.score(traj([[0, 0]]), 1, 1, emptyMaps(1)),
      /safetycost holds grid dx \[0.25/,
    );
    other.dispose();
  });

  it('hdmap logits: drivable zeroed below 0.5, lane zeroed at or below 0.5 (softmax of each pair)', () => {
    expect(softmaxForeground(0, 0)).toBe(0.5);
    expect(softmaxForeground(1, 0)).toBeCloseTo(1 / (1 + Math.E), 6);
    const logits = new Float32Array(X * Y * 4); // all pairs tied: p = 0.5 everywhere
    const maps: CostMaps = { ...emptyMaps(1), hdmap: { data: logits, channels: 'logits' } };
    const r = cf.score(traj([[0, 0]]), 1, 1, maps);
    expect(r.rule[0]).toBe(0); // drivable 0.5 is kept: nothing dangerous
    expect(r.laneDivider[0]).toBe(0); // lane 0.5 is zeroed: no lanes
  });

  it('uses the configured weights', () => {
    const heavy = new CostFunction({
      xBound: [-50, 50, 0.5],
      yBound: [-50, 50, 0.5],
      weights: { ...SAD_COST_WEIGHTS, PROGRESS: 1 },
    });
    expect(heavy.score(traj([[0, 3]]), 1, 1, emptyMaps(1)).progress[0]).toBe(-3);
    heavy.dispose();
  });
});
