// The SAD losses against hand-computed values and against the reference sad/losses.py (ridgerchu/SAD d948477, run
// here with torch 1.13 on the formula inputs below; values in the comments).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  futureDiscounts,
  hdmapLoss,
  segmentationLoss,
  spatialRegressionLoss,
  topKMean,
  uncertaintyWeighted,
  weightedCrossEntropy,
} from '../../../src/pipeline/index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Builds a channels-last tensor from a formula over the reference's channels-first indices. */
function fromIndex(shape: number[], valueAt: (idx: number[]) => number, channelAxis = -1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < size; i++) {
    let r = i;
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d] = r % shape[d];
      r = Math.floor(r / shape[d]);
    }
    data[i] = valueAt(idx);
  }
  void channelAxis;
  return tf.tensor(data, shape);
}

describe('weightedCrossEntropy', () => {
  it('is −w[y]·log softmax(x)[y] per pixel and 0 at the ignore index (PyTorch reduction none)', () => {
    const logits = tf.tensor2d([
      [2, 0.5],
      [0, 1],
      [1, 1],
      [-1, 3],
    ]);
    const target = tf.tensor1d([0, 1, 1, 255], 'int32');
    const before = tf.memory().numTensors;
    const ce = weightedCrossEntropy(logits, target, [1, 2]);
    // By hand: log(1 + e^-1.5) = 0.20141; 2·log(1 + e^-1) = 0.62652; 2·log 2 = 1.38629; ignored → 0.
    // torch: [0.2014133, 0.6265233, 1.3862944, 0.0]
    const v = Array.from(ce.dataSync());
    expect(v[0]).toBeCloseTo(0.2014133, 6);
    expect(v[1]).toBeCloseTo(0.6265233, 6);
    expect(v[2]).toBeCloseTo(1.3862944, 6);
    expect(Math.abs(v[3])).toBe(0); // −0 from the negation: same value
    ce.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, target]);
  });
});

describe('futureDiscounts and topKMean', () => {
  it('weights past/present frames 1 and future frame t by 0.95^t', () => {
    expect(Array.from(futureDiscounts(5, 3, 0.95))).toEqual([
      1,
      1,
      1,
      Math.fround(0.95),
      Math.fround(0.9025),
    ]);
  });

  it('averages exactly k largest values per row, ties included once', () => {
    const v = tf.tensor2d([
      [1, 5, 3, 5],
      [0, 0, 0, 0],
    ]);
    const m = topKMean(v, 2);
    // Row 0: 5 + 5; row 1: 0 + 0 → 10 / 4.
    expect(m.dataSync()[0]).toBeCloseTo(2.5, 6);
    tf.dispose([v, m]);
  });

  it('passes the gradient to the selected elements only', () => {
    const v = tf.tensor2d([[1, 4, 2, 3]]);
    const g = tf.grad((x: tf.Tensor) => topKMean(x as tf.Tensor2D, 2))(v);
    expect(Array.from(g.dataSync())).toEqual([0, 0.5, 0, 0.5]);
    tf.dispose([v, g]);
  });
});

// Inputs of the reference run: b = 2, s = 4 (3 present + 1 future), 2 classes, 3 × 4 cells.
const B = 2;
const S = 4;
const H = 3;
const W = 4;
const segLogits = () =>
  fromIndex(
    [B, S, H, W, 2],
    ([b, s, h, w, c]) => 2 * Math.sin(0.7 * (b * 97 + s * 31 + c * 13 + h * 5 + w) + 0.3),
  );
const segTarget = () =>
  tf.cast(
    fromIndex([B, S, H, W], ([b, s, h, w]) => ([0, 2].includes((b * 17 + s * 7 + h * 3 + w) % 5) ? 1 : 0)),
    'int32',
  );

describe('segmentationLoss (SegmentationLoss)', () => {
  it('matches the reference with top-k 25 % per frame and the 0.95 future discount', () => {
    const logits = segLogits();
    const target = segTarget();
    const before = tf.memory().numTensors;
    const options = { classWeights: [1, 2], topKRatio: 0.25, futureDiscount: 0.95, nPresent: 3 };
    const topK = segmentationLoss(logits, target, { ...options, useTopK: true });
    const all = segmentationLoss(logits, target, { ...options, useTopK: false });
    expect(topK.dataSync()[0]).toBeCloseTo(5.5625482, 5); // reference 5.5625481605529785
    expect(all.dataSync()[0]).toBeCloseTo(2.0705063, 5); // reference 2.0705063343048096
    tf.dispose([topK, all]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, target]);
  });
});

describe('hdmapLoss (HDmapLoss)', () => {
  it('matches the reference: lane CE [1, 5] top-k 25 % + drivable CE [1, 1] over all cells', () => {
    const logits = fromIndex(
      [B, H, W, 4],
      ([b, h, w, c]) => 1.5 * Math.cos(0.45 * (b * 53 + c * 11 + h * 4 + w) + 0.1),
    );
    const target = tf.cast(
      fromIndex([B, H, W, 2], ([b, h, w, c]) => ((b + c * 3 + h * 2 + w) % 3 === 0 ? 1 : 0)),
      'int32',
    );
    const loss = hdmapLoss(logits, target, {
      classWeights: [
        [1, 5],
        [1, 1],
      ],
      trainWeights: [1, 1],
      useTopK: [true, false],
      topKRatio: [0.25, 0.25],
    });
    expect(loss.dataSync()[0]).toBeCloseTo(6.0045304, 5); // reference 6.004530429840088
    tf.dispose([logits, target, loss]);
  });
});

describe('spatialRegressionLoss (SpatialRegressionLoss)', () => {
  const pred = () =>
    fromIndex([B, S, H, W, 2], ([b, s, h, w, c]) => Math.sin(0.3 * (b * 41 + s * 19 + c * 7 + h * 3 + w)));
  const target = () =>
    fromIndex([B, S, H, W, 2], ([b, s, h, w, c]) =>
      (b + s + h + w) % 4 === 0 ? 255 : Math.cos(0.2 * (b * 41 + s * 19 + c * 7 + h * 3 + w)),
    );

  it('L1 (offset, flow) and MSE (centerness) match the reference, ignoring 255 cells', () => {
    const p = pred();
    const t = target();
    const l1 = spatialRegressionLoss(p, t, { norm: 1, ignoreIndex: 255, futureDiscount: 0.95, nPresent: 3 });
    const l2 = spatialRegressionLoss(p, t, { norm: 2, ignoreIndex: 255, futureDiscount: 0.95, nPresent: 3 });
    expect(l1.dataSync()[0]).toBeCloseTo(1.6305608, 5); // reference 1.6305607557296753
    expect(l2.dataSync()[0]).toBeCloseTo(2.0220065, 5); // reference 2.0220065116882324
    tf.dispose([p, t, l1, l2]);
  });

  it('is 0 (with a zero gradient) when every cell is ignored', () => {
    const p = tf.ones([1, 3, 2, 2, 2]);
    const t = tf.fill([1, 3, 2, 2, 2], 255);
    const g = tf.grad((x: tf.Tensor) =>
      spatialRegressionLoss(x, t, { norm: 1, ignoreIndex: 255, futureDiscount: 1, nPresent: 3 }),
    )(p);
    expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([p, t, g]);
  });
});

describe('uncertaintyWeighted', () => {
  it('is L / (2·e^w) + 0.5·w, with dL/dw = −L/(2e^w) + 0.5', () => {
    const loss = tf.scalar(3);
    const w = tf.variable(tf.scalar(0.4));
    const value = uncertaintyWeighted(loss, w);
    expect(value.dataSync()[0]).toBeCloseTo(3 / (2 * Math.exp(0.4)) + 0.2, 6);
    const { grads } = tf.variableGrads(() => uncertaintyWeighted(loss, w), [w]);
    expect(grads[w.name].dataSync()[0]).toBeCloseTo(-3 / (2 * Math.exp(0.4)) + 0.5, 6);
    tf.dispose([loss, w, value, ...Object.values(grads)]);
  });
});
