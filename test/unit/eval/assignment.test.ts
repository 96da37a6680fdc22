import { describe, expect, it } from 'vitest';
import { linearSumAssignment } from '../../../src/eval/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { decode, type EncodedArray, loadGolden } from './_golden.ts';

describe('linearSumAssignment', () => {
  it('finds the cheapest one-to-one assignment (hand-checked 3×3)', () => {
    // Greedy would take 1 (row 0 → col 0) and then pay 7 + 9; the optimum is 2 + 3 + 4 = 9.
    const cost = [1, 2, 8, 3, 7, 9, 9, 9, 4];
    expect(linearSumAssignment(cost, 3, 3)).toEqual({ rows: [0, 1, 2], cols: [1, 0, 2] });
  });

  it('assigns min(rows, cols) pairs on rectangular matrices, rows ascending', () => {
    // 3 rows × 2 cols: row 1 stays unmatched.
    expect(linearSumAssignment([1, 10, 10, 10, 10, 1], 3, 2)).toEqual({ rows: [0, 2], cols: [0, 1] });
    expect(linearSumAssignment([5, 1, 9], 1, 3)).toEqual({ rows: [0], cols: [1] });
    expect(linearSumAssignment([], 0, 4)).toEqual({ rows: [], cols: [] });
  });

  it('rejects NaN costs and shape mismatches', () => {
    expect(() => linearSumAssignment([1, Number.NaN], 1, 2)).toThrow(SpikedriveError);
    expect(() => linearSumAssignment([1, 2, 3], 2, 2)).toThrow(/expected 2×2/);
    expect(() => linearSumAssignment([Number.POSITIVE_INFINITY], 1, 1)).toThrow(/no finite-cost/);
  });

  const golden = loadGolden<{
    cases: { name: string; cost: EncodedArray; rows: number[]; cols: number[] }[];
  }>('linear-sum-assignment.json');
  for (const c of golden.cases) {
    it(`matches scipy exactly, ties included: ${c.name}`, () => {
      const [nRows, nCols] = c.cost.shape;
      expect(linearSumAssignment(decode(c.cost), nRows, nCols)).toEqual({ rows: c.rows, cols: c.cols });
    });
  }
});
