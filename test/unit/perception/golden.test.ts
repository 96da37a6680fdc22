// Perception against the SAD reference itself: ridgerchu/SAD d948477 `SAD.forward` in eval mode (spikingjelly
// 1171f524) at a small size, weights by formula, recorded by test/fixtures/model-golden/perception/make_golden.py.
// The encoder there is the reference CoinMLP at a reduced width (embed 64, heads 16, C 16, D 24); inputs were
// chosen so that no charged membrane lies within 5e-7 of the threshold, so every spike must match.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFrustum, SadPerception } from '../../../src/perception/index.ts';
import { selectBackend } from '../../../src/snn/index.ts';
import { formulaStateDict, lcgImages, loadGolden, type Packed, unpack } from './_golden.ts';

const golden = loadGolden();
const c = golden.config;

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await selectBackend({ preferred: 'cpu' });
});

/** NCHW-style reference tensor → our channels-last layout. */
function channelsLast(p: Packed, perm: number[]): Float32Array {
  return tf.tidy(() => tf.transpose(tf.tensor(unpack(p), p.shape), perm).dataSync() as Float32Array);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

describe('perception golden parity with the reference', () => {
  it('builds the frustum bit for bit (small size, and the paper linspace grids)', () => {
    const small = createFrustum([c.H, c.W], 8, c.D_BOUND);
    expect(small.shape).toEqual(golden.frustum.shape);
    expect(Array.from(small.data)).toEqual(Array.from(unpack(golden.frustum)));
    const paper = createFrustum([224, 480], 8, [2, 50, 1]);
    const [, h, w] = paper.shape;
    const xs = Array.from({ length: w }, (_, j) => paper.data[j * 3]);
    const ys = Array.from({ length: h }, (_, i) => paper.data[i * w * 3 + 1]);
    const ds = Array.from({ length: 48 }, (_, k) => paper.data[k * h * w * 3 + 2]);
    expect(xs).toEqual(Array.from(unpack(golden.paper_linspace.x)));
    expect(ys).toEqual(Array.from(unpack(golden.paper_linspace.y)));
    expect(ds).toEqual(Array.from(unpack(golden.paper_linspace.depth)));
  });

  it('matches the reference feature, depth, CAM_FRONT feature and BEV (with ego channels) to 1e-4', () => {
    const perception = new SadPerception({
      imageSize: [c.H, c.W],
      receptiveField: c.S,
      xBound: c.X_BOUND,
      yBound: c.Y_BOUND,
      zBound: c.Z_BOUND,
      dBound: c.D_BOUND,
      discount: c.DISCOUNT,
      embedDims: c.EMBED_DIMS,
      timeSteps: c.T,
      outChannels: c.OUT_CHANNELS,
      headHiddenChannels: c.HEAD_HIDDEN_CHANNELS,
      inputEgopose: true,
      referenceInit: false,
    });
    const encoderParams = perception.namedParameters().filter((p) => p.name.startsWith('encoder.'));
    const weights = formulaStateDict(encoderParams);
    let checksum = 0;
    for (const t of weights.values())
      if (t.data instanceof Float32Array) for (const v of t.data) checksum += v;
    expect(checksum).toBeCloseTo(golden.weight_checksum, 6);
    perception.loadStateDict(weights, { strict: false });

    const { B, S, N, H, W } = c;
    const before = tf.memory().numTensors;
    const images = tf.tidy(() =>
      tf.transpose(
        tf.tensor(lcgImages(B * S * N * 3 * H * W, c.image_seed), [B, S, N, 3, H, W]),
        [0, 1, 2, 4, 5, 3],
      ),
    );
    const input = {
      images,
      intrinsics: tf.tensor(unpack(golden.inputs.intrinsics), golden.inputs.intrinsics.shape),
      extrinsics: tf.tensor(unpack(golden.inputs.extrinsics), golden.inputs.extrinsics.shape),
      futureEgomotion: tf.tensor(
        unpack(golden.inputs.future_egomotion),
        golden.inputs.future_egomotion.shape,
      ),
    };
    const out = perception.forward(input);
    expect(out.pointsKept).toBe(golden.checks.points_kept);
    // Truncation toward zero matters here: this many kept points lie up to one cell below a lower bound.
    expect(golden.checks.points_truncated_into_cell_0).toBeGreaterThan(100);

    expect(maxAbsDiff(out.depth.dataSync(), channelsLast(golden.outputs.depth, [0, 2, 3, 1]))).toBeLessThan(
      1e-4,
    );
    const camFront = out.camFront as tf.Tensor;
    expect(
      maxAbsDiff(camFront.dataSync(), channelsLast(golden.outputs.cam_front, [0, 2, 3, 1])),
    ).toBeLessThan(1e-4);
    expect(out.bev.shape).toEqual([B, S, 16, 16, c.OUT_CHANNELS + 6]);
    // The reference sums voxels by cumsum differences (its own rounding: checks.cumsum_error); ours adds directly.
    const bevDiff = maxAbsDiff(out.bev.dataSync(), channelsLast(golden.outputs.bev, [0, 1, 3, 4, 2]));
    expect(bevDiff).toBeLessThan(1e-4);
    expect(golden.checks.cumsum_error).toBeLessThan(1e-4);

    // The full feature map, through the encoder alone (the same weights, all 12 images).
    const flat = tf.reshape(images, [B * S * N, H, W, 3]);
    const enc = perception.encoder.forward(flat);
    expect(
      maxAbsDiff(enc.feature.dataSync(), channelsLast(golden.outputs.feature, [0, 2, 3, 1])),
    ).toBeLessThan(1e-4);
    tf.dispose([flat, enc.feature, enc.depth, out.bev, out.depth, camFront, ...Object.values(input)]);
    perception.reset();
    // Only the folded-BatchNorm caches (two tensors per conv+BN pair) outlive the forward.
    const folded = perception.encoder.modules().filter((m) => m.kind === 'batchnorm').length * 2;
    expect(tf.memory().numTensors - before).toBe(folded);
    perception.dispose();
  });
});
