import { describe, expect, it } from 'vitest';
import { createRaster } from '../../../data-loaders/nuscenes/map/raster.ts';
import { drawFrameLabels, footprintCells, polygonCells } from '../../../data-loaders/sad/index.ts';
import { isSpikedriveError } from '../../../src/util/index.ts';
import { annotation, GRID, IDENTITY_POSE, nonZeroCells, rectangleCells } from './helpers.ts';

const sorted = (a: number[]) => [...a].sort((x, y) => x - y);

function draw(
  anns: Parameters<typeof drawFrameLabels>[0],
  options: Partial<Parameters<typeof drawFrameLabels>[2]> = {},
  pose = IDENTITY_POSE,
) {
  const instanceMap = options.instanceMap ?? new Map<string, number>();
  const labels = drawFrameLabels(anns, pose, {
    grid: GRID,
    filterInvisible: true,
    inPred: false,
    ...options,
    instanceMap,
  });
  return { ...labels, instanceMap };
}

describe('BEV footprints', () => {
  it('puts a 4 m × 2 m car 10 m ahead on rows 116..124 (x forward) and columns 98..102 (y left)', () => {
    // Corners x ∈ {8, 12} → (x + 50) / 0.5 = 116, 124; y ∈ {−1, 1} → 98, 102; cv2 fills the edges too.
    const { segmentation, instance } = draw([annotation('car', 'vehicle.car', 10, 0)]);
    expect(nonZeroCells(segmentation)).toEqual(rectangleCells(116, 124, 98, 102));
    expect(nonZeroCells(instance)).toEqual(rectangleCells(116, 124, 98, 102));
    expect(instance[120 * 200 + 100]).toBe(1);
  });

  it('lands a box on the same cells whatever the ego pose, using only its yaw (pitch and roll are flattened)', () => {
    const yaw = 1.1;
    const c = Math.cos(yaw);
    const s = Math.sin(yaw);
    // Ego at (300, −40) facing `yaw`, pitched and rolled; the car 10 m ahead of it, same heading.
    const pitchRoll = [Math.cos(0.05), Math.sin(0.05) * 0.6, Math.sin(0.05) * 0.8, 0];
    const yawQ = [Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)];
    // q = yaw ⊗ (pitch/roll): w, x, y, z of the Hamilton product.
    const [w1, , , z1] = yawQ;
    const [w2, x2, y2] = pitchRoll;
    const rotation = [w1 * w2, w1 * x2 - z1 * y2, w1 * y2 + z1 * x2, z1 * w2];
    const pose = { translation: [300, -40, 0.7], rotation };
    const car = annotation('car', 'vehicle.car', 300 + 10 * c, -40 + 10 * s, { yaw });
    const moved = draw([car], {}, pose);
    expect(nonZeroCells(moved.segmentation)).toEqual(rectangleCells(116, 124, 98, 102));
  });

  it('rounds cell coordinates half to even, as np.round', () => {
    // A 1 m × 1 m box centred at (0.75, 0.25): corners x 0.25 → 100.5 → 100 (even), 1.25 → 102.5 → 102;
    // y −0.25 → 99.5 → 100, 0.75 → 101.5 → 102.
    const cells = footprintCells(
      { translation: [0.75, 0.25, 0], size: [1, 1, 1], rotation: [1, 0, 0, 0] },
      IDENTITY_POSE,
      GRID,
    );
    const rows = sorted(cells.map(([, r]) => r));
    const cols = sorted(cells.map(([c]) => c));
    expect([rows[0], rows[3]]).toEqual([100, 102]);
    expect([cols[0], cols[3]]).toEqual([100, 102]);
  });

  it('fills a rotated box as cv2.fillPoly does (a diamond, edges included)', () => {
    // A 2√2 m square rotated 45°: corners at (±2, 0), (0, ±2) m → cells (row, col) (96|104, 100) and (100, 96|104).
    const cells = footprintCells(
      {
        translation: [0, 0, 0],
        size: [2 * Math.SQRT2, 2 * Math.SQRT2, 1],
        rotation: [Math.cos(Math.PI / 8), 0, 0, Math.sin(Math.PI / 8)],
      },
      IDENTITY_POSE,
      GRID,
    );
    expect(sorted(cells.map(([c, r]) => r * 1000 + c))).toEqual([96100, 100096, 100104, 104100]);
    const filled = polygonCells(cells, createRaster(200, 200));
    // |row − 100| + |col − 100| ≤ 4: 41 cells.
    const expected = rectangleCells(96, 104, 96, 104).filter(
      (i) => Math.abs(Math.floor(i / 200) - 100) + Math.abs((i % 200) - 100) <= 4,
    );
    expect(sorted(filled)).toEqual(expected);
  });

  it('clips boxes partly outside the grid and ignores boxes fully outside', () => {
    const { segmentation } = draw([
      annotation('edge', 'vehicle.car', 49, 0),
      annotation('far', 'vehicle.car', 80, 0),
    ]);
    // x ∈ [47, 51] → rows 194..202 → 194..199 kept.
    expect(nonZeroCells(segmentation)).toEqual(rectangleCells(194, 199, 98, 102));
  });
});

describe('category, instance and visibility rules', () => {
  it("draws 'vehicle' categories (bicycles too) into segmentation and instances, 'human' into pedestrian only", () => {
    const { segmentation, pedestrian, instance, instanceMap } = draw([
      annotation('bike', 'vehicle.bicycle', 10, 10, { size: [0.6, 1.8, 1.2] }),
      annotation('walker', 'human.pedestrian.adult', -10, 0, { size: [0.6, 0.6, 1.7] }),
      annotation('car', 'vehicle.car', 20, -20),
      annotation('rack', 'static_object.bicycle_rack', 0, 20),
      annotation('dog', 'animal', 5, 5),
      annotation('barrier', 'movable_object.barrier', -5, -5),
    ]);
    expect([...instanceMap.entries()]).toEqual([
      ['bike', 1],
      ['walker', 2],
      ['car', 3],
    ]);
    expect(instance[120 * 200 + 120]).toBe(1);
    expect(instance[140 * 200 + 60]).toBe(3);
    // The pedestrian took id 2 but is drawn only in the pedestrian map.
    expect(new Set(instance)).toEqual(new Set([0, 1, 3]));
    expect(pedestrian[80 * 200 + 100]).toBe(1);
    expect(segmentation[80 * 200 + 100]).toBe(0);
    // Ignored categories draw nothing anywhere.
    for (const cell of [140 * 200 + 100, 110 * 200 + 110, 90 * 200 + 90]) {
      expect([segmentation[cell], pedestrian[cell], instance[cell]]).toEqual([0, 0, 0]);
    }
  });

  it('skips visibility 1 in past/present frames when filtering, keeps it otherwise', () => {
    const hidden = annotation('hidden', 'vehicle.car', 10, 0, { visibility: '1' });
    expect(nonZeroCells(draw([hidden]).segmentation)).toEqual([]);
    expect(draw([hidden]).instanceMap.size).toBe(0);
    expect(nonZeroCells(draw([hidden], { filterInvisible: false }).segmentation)).toHaveLength(45);
  });

  it('keeps only instances already seen in future frames, whatever their visibility', () => {
    const instanceMap = new Map([['seen', 1]]);
    const { segmentation, instance } = draw(
      [
        annotation('seen', 'vehicle.car', 10, 0, { visibility: '1' }),
        annotation('new', 'vehicle.car', -10, 0),
      ],
      { inPred: true, instanceMap },
    );
    expect(nonZeroCells(segmentation)).toEqual(rectangleCells(116, 124, 98, 102));
    expect(instance[120 * 200 + 100]).toBe(1);
    expect(instanceMap.size).toBe(1);
  });

  it('lets the later annotation win where footprints overlap, and writes ids above 255 exactly', () => {
    const instanceMap = new Map(
      Array.from({ length: 299 }, (_, i) => [`old-${i}`, i + 1] as [string, number]),
    );
    const { instance } = draw(
      [annotation('a', 'vehicle.car', 10, 0), annotation('b', 'vehicle.car', 12, 0)],
      {
        instanceMap,
      },
    );
    expect(instance[116 * 200 + 100]).toBe(300); // only a
    expect(instance[120 * 200 + 100]).toBe(301); // overlap: b drawn last
    expect(instance[128 * 200 + 100]).toBe(301); // only b
  });

  it('names the annotation when a visibility token is missing', () => {
    try {
      draw([{ ...annotation('x', 'vehicle.car', 0, 0), visibilityToken: '' }], { subject: 'sample#abc' });
      expect.unreachable();
    } catch (error) {
      expect(isSpikedriveError(error)).toBe(true);
      expect((error as Error).message).toContain("visibility_token ''");
      expect((error as { fix: string }).fix).toContain('filterInvisibleVehicles');
    }
  });
});
