// Lift-splat sum pooling, its gradient, the discounted accumulation and the ego-motion channels, on hand-made
// features where every number is computed by hand.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  alignedPoints,
  assignVoxels,
  createFrustum,
  perceptionGeometry,
  projectToBev,
  type SplatPlan,
  splat,
  splatToBev,
} from '../../../src/perception/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import {
  expectClose,
  expectSpikedriveError,
  extrinsic,
  FORWARD_ROTATION,
  intrinsic,
  tinyOptions,
  useCpu,
} from './_helpers.ts';

beforeAll(useCpu);

// Two cameras of one frame, one pixel, two depth bins, a 2×2 grid, three channels.
const plan: SplatPlan = {
  cell: Int32Array.of(0, 3, 0, -1),
  images: 2,
  camerasPerFrame: 2,
  pixels: 1,
  depthBins: 2,
  rows: 2,
  cols: 2,
};
const prob = () => tf.tensor([0.25, 0.75, 0.5, 0.5], [2, 1, 1, 2]);
const feature = () => tf.tensor([1, 2, 3, 10, 20, 30], [2, 1, 1, 3]);

describe('splat (sum pooling)', () => {
  it('sums prob·feature of every point in a cell, across the cameras of a frame', () => {
    const before = tf.memory().numTensors;
    const [p, f] = [prob(), feature()];
    const out = splat(p, f, plan);
    expect(out.shape).toEqual([1, 2, 2, 3]);
    // cell 0: 0.25·f0 + 0.5·f1; cell 3: 0.75·f0; the dropped point (cell −1) adds nothing.
    expectClose(out.dataSync(), [5.25, 10.5, 15.75, 0, 0, 0, 0, 0, 0, 0.75, 1.5, 2.25]);
    tf.dispose([p, f, out]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps frames apart: image m goes to frame ⌊m / cameras⌋', () => {
    const [p, f] = [prob(), feature()];
    const out = splat(p, f, { ...plan, camerasPerFrame: 1 });
    expect(out.shape).toEqual([2, 2, 2, 3]);
    const v = out.dataSync();
    expectClose(v.slice(0, 12), [0.25, 0.5, 0.75, 0, 0, 0, 0, 0, 0, 0.75, 1.5, 2.25]);
    expectClose(v.slice(12), [5, 10, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    tf.dispose([p, f, out]);
  });

  it('has the hand-derived gradient: dFeature = Σ_k prob·W[cell], dProb = ⟨W[cell], feature⟩', () => {
    const [p, f] = [prob(), feature()];
    const weights = tf.tensor(
      Array.from({ length: 12 }, (_, i) => i + 1),
      [1, 2, 2, 3],
    );
    const before = tf.memory().numTensors;
    const [gp, gf] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(splat(a, b, plan), weights)))([
      p,
      f,
    ]);
    // W[cell 0] = [1, 2, 3], W[cell 3] = [10, 11, 12].
    expectClose(gf.dataSync(), [
      0.25 * 1 + 0.75 * 10,
      0.25 * 2 + 0.75 * 11,
      0.25 * 3 + 0.75 * 12,
      0.5,
      1,
      1.5,
    ]);
    expectClose(gp.dataSync(), [1 + 4 + 9, 10 + 22 + 36, 10 + 40 + 90, 0]);
    tf.dispose([gp, gf]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([p, f, weights]);
  });

  it('rejects inputs that do not fit the plan', () => {
    const [p, f] = [prob(), tf.zeros([3, 1, 1, 3])];
    expectSpikedriveError(() => splat(p, f, plan), /do not fit the plan/);
    tf.dispose([p, f]);
  });
});

describe('BEV projection: discount and ego-motion channels', () => {
  // One camera, one pixel, one depth bin (softmax over one bin = 1 exactly), 2×2 grid, 2 channels.
  const onePoint = (cells: number[], frames: number): SplatPlan => ({
    cell: Int32Array.from(cells),
    images: frames,
    camerasPerFrame: 1,
    pixels: 1,
    depthBins: 1,
    rows: 2,
    cols: 2,
  });

  it('accumulates bev_t = 0.5·bev_{t−1} + pooled_t and appends E_{t−1} (zeros at t = 0)', () => {
    const before = tf.memory().numTensors;
    const feat = tf.tensor([1, 2, 4, 8, 16, 32], [3, 1, 1, 2]);
    const depth = tf.zeros([3, 1, 1, 1]);
    const ego = Float32Array.from({ length: 18 }, (_, i) => 0.1 * (i + 1));
    const bev = projectToBev({
      feature: feat,
      depth,
      plan: onePoint([0, 3, 0], 3),
      batch: 1,
      frames: 3,
      discount: 0.5,
      egomotion: ego,
    });
    expect(bev.shape).toEqual([1, 3, 2, 2, 8]);
    const v = bev.arraySync() as number[][][][][];
    const features = (t: number, x: number, y: number) => v[0][t][x][y].slice(0, 2);
    expectClose(features(0, 0, 0), [1, 2]);
    expectClose(features(1, 0, 0), [0.5, 1]);
    expectClose(features(1, 1, 1), [4, 8]);
    // t = 2: 0.25·f0 + f2 in cell 0, 0.5·f1 in cell 3.
    expectClose(features(2, 0, 0), [0.25 + 16, 0.5 + 32]);
    expectClose(features(2, 1, 1), [2, 4]);
    expectClose(features(2, 0, 1), [0, 0]);
    for (const [x, y] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]) {
      expectClose(v[0][0][x][y].slice(2), [0, 0, 0, 0, 0, 0]);
      expectClose(v[0][1][x][y].slice(2), [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 1e-6);
      expectClose(v[0][2][x][y].slice(2), [0.7, 0.8, 0.9, 1.0, 1.1, 1.2], 1e-6);
    }
    tf.dispose([feat, depth, bev]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('weights depth bins by softmax (or spreads unweighted without the distribution)', () => {
    const feat = tf.tensor([2, 4], [1, 1, 1, 2]);
    const depth = tf.tensor([0, Math.log(3)], [1, 1, 1, 2]); // softmax → [0.25, 0.75]
    const twoBins: SplatPlan = { ...onePoint([0, 3], 1), depthBins: 2 };
    const args = { feature: feat, depth, plan: twoBins, batch: 1, frames: 1, discount: 0.5, egomotion: null };
    const weighted = projectToBev(args);
    expectClose(weighted.dataSync(), [0.5, 1, 0, 0, 0, 0, 1.5, 3], 1e-6);
    const flat = projectToBev({ ...args, useDepthDistribution: false });
    expectClose(flat.dataSync(), [2, 4, 0, 0, 0, 0, 2, 4]);
    tf.dispose([feat, depth, weighted, flat]);
  });

  it('aligns a past frame by the known ego motion before discounting (two frames)', () => {
    // The same pixel seen in two frames by a forward camera; between them the ego drove 1 m forward, so the
    // frame-0 point (x = 3 m, row 14) appears 1 m closer in the present frame (x = 2 m, row 12).
    const options = tinyOptions({ dBound: [2, 3, 1] });
    const geometry = perceptionGeometry(options);
    const frustum = createFrustum(options.imageSize, 8, options.dBound);
    const [, h, w] = frustum.shape;
    const camera = extrinsic(FORWARD_ROTATION, [1, 0.25, 1.5]);
    const points = alignedPoints(frustum.data, frustum.shape, {
      batch: 1,
      frames: 2,
      cameras: 1,
      intrinsics: [
        ...intrinsic(10, frustum.data[6], frustum.data[19]),
        ...intrinsic(10, frustum.data[6], frustum.data[19]),
      ],
      extrinsics: [...camera, ...camera],
      futureEgomotion: [-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    });
    const { cell } = assignVoxels(points, geometry);
    const pixel = 1 * w + 2; // row 1, column 2: the principal point
    expect(cell[pixel]).toBe(12 * 16 + 8);
    expect(cell[h * w + pixel]).toBe(14 * 16 + 8);
    // Only that pixel carries a feature: [1, 0, 0, 0] in frame 0, [0, 2, 0, 0] in frame 1.
    const data = new Float32Array(2 * h * w * 4);
    data[pixel * 4] = 1;
    data[(h * w + pixel) * 4 + 1] = 2;
    const feat = tf.tensor(data, [2, h, w, 4]);
    const depth = tf.zeros([2, h, w, 1]);
    const plan2: SplatPlan = {
      cell,
      images: 2,
      camerasPerFrame: 1,
      pixels: h * w,
      depthBins: 1,
      rows: 16,
      cols: 16,
    };
    const bev = projectToBev({
      feature: feat,
      depth,
      plan: plan2,
      batch: 1,
      frames: 2,
      discount: 0.5,
      egomotion: null,
    });
    const v = bev.arraySync() as number[][][][][];
    expect(v[0][0][12][8]).toEqual([1, 0, 0, 0]);
    expect(v[0][1][12][8]).toEqual([0.5, 0, 0, 0]);
    expect(v[0][1][14][8]).toEqual([0, 2, 0, 0]);
    const total = (t: number) => v[0][t].flat(2).reduce((a, b) => a + b, 0);
    expect(total(1)).toBeCloseTo(2.5, 6);
    tf.dispose([feat, depth, bev]);
  });
});

describe('splatToBev (splat, discount and ego channels as one host op)', () => {
  it('equals splat followed by tensor-op accumulation, in value and in both gradients', () => {
    // B = 2, S = 3, N = 2 cameras, 3 pixels, 2 depth bins, a 2×3 grid, 4 channels; random cells with drops.
    const [batch, frames, cameras, pixels, bins, rows, cols, channels] = [2, 3, 2, 3, 2, 2, 3, 4];
    const images = batch * frames * cameras;
    const rng = createRng(8);
    const cell = Int32Array.from({ length: images * pixels * bins }, () => rng.int(-2, rows * cols));
    const plan: SplatPlan = { cell, images, camerasPerFrame: cameras, pixels, depthBins: bins, rows, cols };
    const ego = Float32Array.from({ length: batch * frames * 6 }, () => rng.uniform(-1, 1));
    const logits = tf.tensor(
      Float32Array.from({ length: images * pixels * bins }, () => rng.normal()),
      [images, 1, pixels, bins],
    );
    const feat = tf.tensor(
      Float32Array.from({ length: images * pixels * channels }, () => rng.normal()),
      [images, 1, pixels, channels],
    );
    const weights = tf.tensor(
      Float32Array.from({ length: batch * frames * rows * cols * 10 }, () => rng.normal()),
      [batch, frames, rows, cols, 10],
    );
    const viaOps = (p: tf.Tensor, f: tf.Tensor) => {
      const pooled = tf.reshape(splat(p, f, plan), [batch, frames, rows, cols, channels]);
      const perFrame = tf.unstack(pooled, 1);
      const acc = [perFrame[0]];
      for (let t = 1; t < frames; t++) acc.push(tf.add(tf.mul(acc[t - 1], 0.5), perFrame[t]));
      const shifted = new Float32Array(ego.length);
      for (let b = 0; b < batch; b++)
        for (let t = 1; t < frames; t++)
          shifted.set(ego.subarray((b * frames + t - 1) * 6, (b * frames + t) * 6), (b * frames + t) * 6);
      const egoMaps = tf.tile(tf.tensor(shifted, [batch, frames, 1, 1, 6]), [1, 1, rows, cols, 1]);
      return tf.concat([tf.stack(acc, 1), egoMaps], 4);
    };
    const fused = (p: tf.Tensor, f: tf.Tensor) =>
      splatToBev(p, f, plan, { batch, frames, discount: 0.5, egomotion: ego });
    const prob = tf.softmax(logits, -1);
    const a = fused(prob, feat);
    const b = viaOps(prob, feat);
    expect(a.shape).toEqual([batch, frames, rows, cols, 10]);
    expectClose(a.dataSync(), b.dataSync(), 1e-6);
    const loss = (fn: typeof fused) => (p: tf.Tensor, f: tf.Tensor) =>
      tf.sum(tf.mul(fn(tf.softmax(p, -1), f), weights));
    const [ga, gfa] = tf.grads(loss(fused))([logits, feat]);
    const [gb, gfb] = tf.grads(loss(viaOps))([logits, feat]);
    expectClose(ga.dataSync(), gb.dataSync(), 1e-5);
    expectClose(gfa.dataSync(), gfb.dataSync(), 1e-5);
    expect(Math.max(...Array.from(gfa.dataSync(), Math.abs))).toBeGreaterThan(0);
    tf.dispose([logits, feat, weights, prob, a, b, ga, gfa, gb, gfb]);
  });
});
