import { describe, expect, it } from 'vitest';
import { egomotionMatrix, instanceLabels, matrixToPoseVec } from '../../../data-loaders/sad/index.ts';

const N = 200 * 200;
const at = (r: number, c: number) => r * 200 + c;

function instanceMaps(
  frames: number,
  boxes: { t: number; id: number; r0: number; r1: number; c0: number; c1: number }[],
) {
  const instance = new Int32Array(frames * N);
  for (const b of boxes)
    for (let r = b.r0; r <= b.r1; r++) for (let c = b.c0; c <= b.c1; c++) instance[b.t * N + at(r, c)] = b.id;
  return instance;
}

const still = (frames: number) => new Float32Array(frames * 6);
const options = (frames: number, numInstances: number) => ({
  frames,
  rows: 200,
  cols: 200,
  numInstances,
  ignoreIndex: 255,
  spatialExtent: [50, 50] as [number, number],
});

describe('centerness and offsets', () => {
  it('peaks at the instance centre with exp(−d²/9) around it, offsets pointing to the centre, 255 elsewhere', () => {
    const instance = instanceMaps(1, [{ t: 0, id: 1, r0: 100, r1: 104, c0: 50, c1: 54 }]);
    const { centerness, offset, flow } = instanceLabels(instance, still(1), options(1, 1));
    expect(centerness[at(102, 52)]).toBe(1);
    expect(centerness[at(103, 52)]).toBeCloseTo(Math.exp(-1 / 9), 7);
    expect(centerness[at(104, 54)]).toBeCloseTo(Math.exp(-8 / 9), 7);
    expect(centerness[at(102, 62)]).toBeCloseTo(Math.exp(-100 / 9), 9);
    // Offsets are centre − cell (row, then column), on the instance only.
    expect([offset[at(100, 50)], offset[N + at(100, 50)]]).toEqual([2, 2]);
    expect([offset[at(104, 53)], offset[N + at(104, 53)]]).toEqual([-2, -1]);
    expect([offset[at(99, 50)], offset[N + at(99, 50)]]).toEqual([255, 255]);
    // One frame: no flow anywhere.
    expect(flow.every((v) => v === 255)).toBe(true);
  });

  it('rounds the mean cell half to even (a 4-cell-wide instance centres on the even side)', () => {
    // Rows 100..103 → mean 101.5 → 102; columns 11..14 → 12.5 → 12.
    const instance = instanceMaps(1, [{ t: 0, id: 1, r0: 100, r1: 103, c0: 11, c1: 14 }]);
    const { centerness } = instanceLabels(instance, still(1), options(1, 1));
    expect(centerness[at(102, 12)]).toBe(1);
  });

  it('takes the maximum where two instances’ centerness overlap, and skips ids that are not drawn', () => {
    const instance = instanceMaps(1, [
      { t: 0, id: 1, r0: 100, r1: 100, c0: 100, c1: 100 },
      { t: 0, id: 3, r0: 100, r1: 100, c0: 104, c1: 104 },
    ]);
    const { centerness } = instanceLabels(instance, still(1), options(1, 3));
    expect(centerness[at(100, 102)]).toBeCloseTo(Math.exp(-4 / 9), 7);
    expect(centerness[at(100, 103)]).toBeCloseTo(Math.exp(-1 / 9), 7);
  });
});

describe('flow', () => {
  it('is the centre displacement to the next frame, written on the earlier frame; the last frame is ignored', () => {
    // Still ego; the object moves 2 rows forward and 1 column left per frame.
    const instance = instanceMaps(3, [
      { t: 0, id: 1, r0: 100, r1: 102, c0: 50, c1: 52 },
      { t: 1, id: 1, r0: 102, r1: 104, c0: 51, c1: 53 },
      { t: 2, id: 1, r0: 104, r1: 106, c0: 52, c1: 54 },
    ]);
    const { flow } = instanceLabels(instance, still(3), options(3, 1));
    expect([flow[at(100, 50)], flow[N + at(100, 50)]]).toEqual([2, 1]);
    expect([flow[2 * N + at(102, 51)], flow[3 * N + at(102, 51)]]).toEqual([2, 1]);
    expect(flow.subarray(4 * N).every((v) => v === 255)).toBe(true);
    expect(flow[at(99, 50)]).toBe(255);
  });

  it('subtracts the ego motion: a parked car seen from a car driving 1 m forward has zero flow', () => {
    // Ego moves +1 m along x between frames, so the parked car moves 2 rows back in the ego frame.
    const motion = matrixToPoseVec(
      egomotionMatrix(
        { translation: [0, 0, 0], rotation: [1, 0, 0, 0] },
        { translation: [1, 0, 0], rotation: [1, 0, 0, 0] },
      ),
    );
    expect(motion.slice(0, 3)).toEqual([-1, 0, 0]);
    const egomotion = new Float32Array(12);
    egomotion.set(motion, 0);
    const instance = instanceMaps(2, [
      { t: 0, id: 1, r0: 120, r1: 124, c0: 98, c1: 102 },
      { t: 1, id: 1, r0: 118, r1: 122, c0: 98, c1: 102 },
    ]);
    const { flow } = instanceLabels(instance, egomotion, options(2, 1));
    expect([flow[at(122, 100)], flow[N + at(122, 100)]]).toEqual([0, 0]);
    // Without the ego motion the same pair would read as 2 rows backwards.
    const naive = instanceLabels(instance, still(2), options(2, 1));
    expect(naive.flow[at(122, 100)]).toBe(-2);
  });

  it('restarts after a frame where the instance is missing', () => {
    const instance = instanceMaps(3, [
      { t: 0, id: 1, r0: 100, r1: 100, c0: 100, c1: 100 },
      { t: 2, id: 1, r0: 110, r1: 110, c0: 100, c1: 100 },
    ]);
    const { flow } = instanceLabels(instance, still(3), options(3, 1));
    expect(flow.every((v) => v === 255)).toBe(true);
  });
});
