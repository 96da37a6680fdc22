import { describe, expect, it } from 'vitest';
import {
  findInstanceCenters,
  groupPixels,
  instanceCenterTracks,
  instanceSegmentationFromCenters,
  makeInstanceIdsTemporallyConsistent,
  makeInstanceSegConsecutive,
  PanopticMetric,
  predictInstanceSegmentation,
} from '../../../src/eval/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { decode, type EncodedArray, expectClose, loadGolden } from './_golden.ts';

describe('instance centres, grouping and ids (hand-computed)', () => {
  it('keeps cells above 0.1 that are the maximum of their 3×3 window, in raster order', () => {
    // 4×5: peak 0.9 at (1,1) suppresses its neighbour 0.5 at (1,2); 0.3 at (3,4) is a separate peak;
    // 0.1 at (0,4) is not above the threshold.
    const c = new Float32Array(20);
    c[1 * 5 + 1] = 0.9;
    c[1 * 5 + 2] = 0.5;
    c[3 * 5 + 4] = 0.3;
    c[0 * 5 + 4] = 0.1;
    expect(Array.from(findInstanceCenters(c, { height: 4, width: 5 }))).toEqual([1, 1, 3, 4]);
  });

  it('caps the centres at the first N in raster order, not the strongest', () => {
    const c = new Float32Array([0.2, 0, 0.3, 0, 0.9]); // 1×5, three separate peaks
    const { centers } = instanceSegmentationFromCenters(
      c,
      new Float32Array(10),
      new Uint8Array(5).fill(1),
      { height: 1, width: 5 },
      { maxInstanceCenters: 2 },
    );
    expect(Array.from(centers)).toEqual([0, 0, 0, 2]); // the 0.9 peak at col 4 is dropped
  });

  it('assigns each cell to the centre nearest to cell + offset, the first centre on a tie', () => {
    const centers = Int32Array.from([0, 0, 0, 4]);
    // 1×5, no offsets: col 2 is 2 from both centres → centre 1.
    expect(Array.from(groupPixels(centers, new Float32Array(10), { height: 1, width: 5 }))).toEqual([
      1, 1, 1, 2, 2,
    ]);
    // An offset of +3 columns at col 0 points it at col 3 → centre 2; background cells get 0.
    const offset = new Float32Array(10);
    offset[5] = 3;
    const fg = Uint8Array.from([1, 1, 0, 1, 1]);
    expect(Array.from(groupPixels(centers, offset, { height: 1, width: 5 }, fg))).toEqual([2, 1, 0, 2, 2]);
  });

  it('renumbers ids consecutively (and, as the reference, turns the smallest id into 0 without background)', () => {
    expect(Array.from(makeInstanceSegConsecutive([0, 5, 5, 9]))).toEqual([0, 1, 1, 2]);
    expect(Array.from(makeInstanceSegConsecutive([3, 3, 7]))).toEqual([0, 0, 1]);
    expect(Array.from(makeInstanceSegConsecutive([0, 3_000_000, 3_000_000, 12]))).toEqual([0, 2, 2, 1]);
  });

  it('links ids over time through flow-warped centres, with the 3 px gate', () => {
    const width = 12;
    const raw = Int32Array.from([
      ...[1, 1, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0], // frame 0
      ...[0, 2, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0], // frame 1: both moved one cell right, raw ids swapped
      ...[0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2], // frame 2: id 2 jumped 3.5 cells past its warped centre
    ]);
    const flow = new Float32Array(3 * 2 * width);
    for (let t = 0; t < 3; t++) flow.fill(1, (2 * t + 1) * width, (2 * t + 2) * width); // +1 column
    const consistent = makeInstanceIdsTemporallyConsistent(raw, flow, { frames: 3, height: 1, width });
    expect(Array.from(consistent.subarray(width, 2 * width))).toEqual([0, 1, 1, 0, 0, 0, 2, 2, 0, 0, 0, 0]);
    // Warped centres 2.5 and 7.5 vs new centres 2.5 and 11: distances 0 (kept) and 3.5 (≥ 3: a new id 3).
    expect(Array.from(consistent.subarray(2 * width))).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 3]);
  });

  it('keeps raw ids after a frame without instances (reference behaviour)', () => {
    const raw = Int32Array.from([...[1, 0, 0, 2], ...[0, 0, 0, 0], ...[0, 0, 1, 0]]);
    const consistent = makeInstanceIdsTemporallyConsistent(raw, new Float32Array(24), {
      frames: 3,
      height: 1,
      width: 4,
    });
    expect(Array.from(consistent)).toEqual(Array.from(raw));
  });

  it('predicts ids from the decoder heads end to end', () => {
    // 2 frames of 1×6: vehicles at cols 0-1 and 4-5 (logit 1 > logit 0), centres at cols 0 and 5.
    const plane = 6;
    const segmentation = new Float32Array(2 * 2 * plane);
    const center = new Float32Array(2 * plane);
    for (let t = 0; t < 2; t++) {
      for (const col of [0, 1, 4, 5]) segmentation[t * 2 * plane + plane + col] = 1;
      center[t * plane] = 0.9;
      center[t * plane + 5] = 0.8;
    }
    const ids = predictInstanceSegmentation(
      { segmentation, instanceCenter: center, instanceOffset: new Float32Array(2 * 2 * plane) },
      { frames: 2, height: 1, width: 6 },
    );
    expect(Array.from(ids)).toEqual([1, 1, 0, 0, 2, 2, 1, 1, 0, 0, 2, 2]);
    const tracks = instanceCenterTracks(ids, { frames: 2, height: 1, width: 6 });
    expect(tracks.get(2)).toEqual([
      { frame: 0, row: 0, col: 4.5 },
      { frame: 1, row: 0, col: 4.5 },
    ]);
  });

  it('rejects bad shapes and ids with a SpikedriveError', () => {
    expect(() => findInstanceCenters(new Float32Array(5), { height: 2, width: 3 })).toThrow(
      /instanceCenter has 5/,
    );
    expect(() =>
      findInstanceCenters(new Float32Array(6), { height: 2, width: 3 }, { nmsKernelSize: 2 }),
    ).toThrow(SpikedriveError);
    // Frame 1 uses id 2 without id 1: its mean position is undefined.
    const raw = Int32Array.from([1, 0, 0, 2]);
    expect(() =>
      makeInstanceIdsTemporallyConsistent(raw, new Float32Array(8), { frames: 2, height: 1, width: 2 }),
    ).toThrow(/no cells/);
  });
});

interface InstanceCase {
  name: string;
  batch: number;
  frames: number;
  height: number;
  width: number;
  nPresent: number;
  outputs: {
    segmentation: EncodedArray;
    instance_center: EncodedArray;
    instance_offset: EncodedArray;
    instance_flow: EncodedArray | null;
  };
  gtInstance: EncodedArray;
  rawInstance: EncodedArray;
  consistentInstance: EncodedArray;
  tracks: Record<string, number[][]>[];
  panoptic: { iou: number[]; true_positive: number[]; false_positive: number[]; false_negative: number[] };
  scores: { pq: number[]; sq: number[]; rq: number[] };
  scoresNotConsistent: { pq: number[]; sq: number[]; rq: number[] };
}

interface InstanceGolden {
  cases: InstanceCase[];
  manyCentres: {
    height: number;
    width: number;
    centerness: EncodedArray;
    offset: EncodedArray;
    foreground: EncodedArray;
    allCentres: number[][];
    keptCentres: number[][];
    instance: EncodedArray;
  };
  plateau: { height: number; width: number; centerness: EncodedArray; centres: number[][] };
}

/** Ours → reference id map, asserting it is one-to-one over the whole sequence and keeps 0 as 0. */
function idBijection(ours: ArrayLike<number>, reference: ArrayLike<number>): Map<number, number> {
  const forward = new Map<number, number>();
  const backward = new Map<number, number>();
  for (let k = 0; k < ours.length; k++) {
    const a = ours[k];
    const b = reference[k];
    if ((forward.get(a) ?? b) !== b || (backward.get(b) ?? a) !== a) {
      throw new Error(`cell ${k}: id ${a} vs reference ${b} breaks the one-to-one relabelling`);
    }
    forward.set(a, b);
    backward.set(b, a);
  }
  if ((forward.get(0) ?? 0) !== 0) throw new Error('background is not background in the reference');
  return forward;
}

describe('instance post-processing and panoptic metric against the reference (golden)', () => {
  const golden = loadGolden<InstanceGolden>('instance-panoptic.json');

  for (const c of golden.cases) {
    it(c.name, () => {
      const { batch, frames, height, width } = c;
      const plane = height * width;
      const seg = decode(c.outputs.segmentation);
      const center = decode(c.outputs.instance_center);
      const offset = decode(c.outputs.instance_offset);
      const flow = c.outputs.instance_flow ? decode(c.outputs.instance_flow) : null;
      const rawRef = decode(c.rawInstance);
      const consistentRef = decode(c.consistentInstance);
      const gt = decode(c.gtInstance);
      const shape = { frames, height, width };
      const consistentAll = new Int32Array(batch * frames * plane);
      for (let b = 0; b < batch; b++) {
        const outputs = {
          segmentation: seg.subarray(b * frames * 2 * plane, (b + 1) * frames * 2 * plane),
          instanceCenter: center.subarray(b * frames * plane, (b + 1) * frames * plane),
          instanceOffset: offset.subarray(b * frames * 2 * plane, (b + 1) * frames * 2 * plane),
          instanceFlow: flow ? flow.subarray(b * frames * 2 * plane, (b + 1) * frames * 2 * plane) : null,
        };
        const sample = (values: ArrayLike<number> & { subarray?: unknown }) =>
          Array.from(values as ArrayLike<number>).slice(b * frames * plane, (b + 1) * frames * plane);
        const raw = predictInstanceSegmentation(outputs, shape, { makeConsistent: false });
        expect(Array.from(raw)).toEqual(sample(rawRef));
        const consistent = predictInstanceSegmentation(outputs, shape);
        consistentAll.set(consistent, b * frames * plane);
        // Same cells share an id, across all frames, as in the reference (only fresh-id numbering may differ).
        const toReference = idBijection(consistent, sample(consistentRef));
        const tracks = instanceCenterTracks(consistent, shape);
        expect(tracks.size).toBe(Object.keys(c.tracks[b]).length);
        for (const [id, points] of tracks) {
          const reference = c.tracks[b][String(toReference.get(id))];
          // The reference lists [col, row] per frame where the instance appears.
          expectClose(
            points.flatMap((p) => [p.col, p.row]),
            reference.flat(),
            1e-5,
          );
        }
      }
      // PanopticMetric from the present frame on, as evaluate.py.
      const from = c.nPresent - 1;
      const kept = frames - from;
      const slice = (values: ArrayLike<number>) => {
        const out = new Int32Array(batch * kept * plane);
        for (let b = 0; b < batch; b++) {
          for (let t = 0; t < kept; t++) {
            for (let k = 0; k < plane; k++)
              out[(b * kept + t) * plane + k] = values[(b * frames + from + t) * plane + k];
          }
        }
        return out;
      };
      const metric = new PanopticMetric(2);
      metric.update(slice(consistentAll), slice(gt), { batch, frames: kept, height, width });
      const counts = metric.counts();
      expect(counts.truePositive).toEqual(c.panoptic.true_positive);
      expect(counts.falsePositive).toEqual(c.panoptic.false_positive);
      expect(counts.falseNegative).toEqual(c.panoptic.false_negative);
      expectClose(counts.iou, c.panoptic.iou, 1e-5);
      const scores = metric.compute();
      expectClose(scores.pq, c.scores.pq);
      expectClose(scores.sq, c.scores.sq);
      expectClose(scores.rq, c.scores.rq);
      const plain = new PanopticMetric(2, false);
      plain.update(slice(consistentAll), slice(gt), { batch, frames: kept, height, width });
      expectClose(plain.compute().pq, c.scoresNotConsistent.pq);
    });
  }

  it('more than 100 centres: all found, the first 100 in raster order kept, same instance map', () => {
    const g = golden.manyCentres;
    const shape = { height: g.height, width: g.width };
    const centerness = decode(g.centerness);
    expect(Array.from(findInstanceCenters(centerness, shape))).toEqual(g.allCentres.flat());
    const { instanceIds, centers } = instanceSegmentationFromCenters(
      centerness,
      decode(g.offset),
      decode(g.foreground),
      shape,
    );
    expect(Array.from(centers)).toEqual(g.keptCentres.flat());
    expect(Array.from(instanceIds)).toEqual(Array.from(decode(g.instance)));
  });

  it('a plateau of equal maxima gives one centre per plateau cell', () => {
    const g = golden.plateau;
    expect(
      Array.from(findInstanceCenters(decode(g.centerness), { height: g.height, width: g.width })),
    ).toEqual(g.centres.flat());
  });
});
