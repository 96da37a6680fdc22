// The example plugin, run the way spikedrive runs every plugin: isolated in a worker thread, given only its declared
// inputs. Distances are checked by hand on SAD's grid (±50 m at 0.5 m: row r is centred at −49.75 + 0.5·r metres).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginPlanner } from '../../src/planning/plugins/index.ts';

const ROWS = 200;
const COLS = 200;
const F = 6;

function occupancy(cells: [row: number, col: number][]): {
  data: Float32Array;
  shape: [number, number, number];
} {
  const data = new Float32Array(F * ROWS * COLS);
  for (let f = 0; f < F; f++) for (const [r, c] of cells) data[(f * ROWS + r) * COLS + c] = 0.9;
  return { data, shape: [F, ROWS, COLS] };
}

describe('examples/planners/cautious-cruise.ts', () => {
  let planner: PluginPlanner;
  let cautious: PluginPlanner;
  beforeAll(async () => {
    const path = new URL('./cautious-cruise.ts', import.meta.url).pathname;
    [planner, cautious] = await Promise.all([
      PluginPlanner.load(path),
      PluginPlanner.load(path, { context: { options: { marginM: 1 } } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([planner.dispose(), cautious.dispose()]);
  });

  it('declares its inputs and version', () => {
    expect(planner.name).toBe('cautious-cruise');
    expect(planner.version).toBe('1.0.0');
    expect(planner.inputs).toEqual(['egoState', 'occupancy']);
  });

  it('keeps the CAN speed on a free road', async () => {
    const r = await planner.plan({
      sampleToken: 's',
      egoState: { v0Mps: 8, history: [] },
      occupancy: occupancy([]),
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.trajectory.map((w) => w[1])).toEqual([4, 8, 12, 16, 20, 24]);
    expect(r.meta).toEqual({ braking: false, freeAheadM: -1 });
  });

  it('stops short of predicted occupancy on its path, and ignores it beside the path', async () => {
    // Row 130 is 15.25 m ahead; the ego stops half its length (2.042 m) plus the 3 m margin before it.
    const blocked = occupancy([[130, 100]]);
    const r = await planner.plan({
      sampleToken: 's',
      egoState: { v0Mps: 8, history: [] },
      occupancy: blocked,
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const ys = r.trajectory.map((w) => w[1]);
    expect(r.meta.freeAheadM).toBe(15.25);
    expect(ys.at(-1)).toBeCloseTo(15.25 - 2.042 - 3, 6);
    for (let k = 1; k < ys.length; k++) expect(ys[k]).toBeGreaterThanOrEqual(ys[k - 1]);
    expect(Math.max(...ys)).toBeLessThanOrEqual(10.208 + 1e-9);
    // Column 110 is 5 m to the right: not on the path.
    const beside = await planner.plan({
      sampleToken: 's',
      egoState: { v0Mps: 8, history: [] },
      occupancy: occupancy([[130, 110]]),
    });
    expect(beside.ok && beside.meta.braking).toBe(false);
  });

  it('reads its options from the context (--planner-option marginM=1)', async () => {
    const r = await cautious.plan({
      sampleToken: 's',
      egoState: { v0Mps: 8, history: [] },
      occupancy: occupancy([[130, 100]]),
    });
    expect(r.ok && r.trajectory.at(-1)?.[1]).toBeCloseTo(15.25 - 2.042 - 1, 6);
  });
});
