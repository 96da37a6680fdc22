// SadPerception end to end at a tiny size: shapes, the extra-frame slice, tensor hygiene, chunking exactness,
// instrumentation, gradients through lift-splat, bad input, and the reference parameter names at the paper size.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PerceptionInput, SadPerception } from '../../../src/perception/index.ts';
import { loadSadConfig, perceptionOptions } from '../../../src/pipeline/index.ts';
import { Instrument } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import {
  BACKWARD_ROTATION,
  expectClose,
  expectSpikedriveError,
  extrinsic,
  FORWARD_ROTATION,
  intrinsic,
  paperOptions,
  tinyOptions,
  useFastCpu,
} from './_helpers.ts';

beforeAll(useFastCpu);

const B = 2;
const N = 2;
const FRAMES_IN = 3; // one more than the receptive field: perception must use the first two only

/** Two cameras (forward, backward) per frame, a little ego motion, random images; [B, 3, N, …]. */
function makeInput(seed = 1, frames = FRAMES_IN): PerceptionInput {
  const rng = createRng(seed);
  const images = Float32Array.from({ length: B * frames * N * 32 * 48 * 3 }, () => rng.normal());
  const cams = B * frames;
  return {
    images: tf.tensor(images, [B, frames, N, 32, 48, 3]),
    intrinsics: tf.tensor(Array.from({ length: cams * N }, () => intrinsic(12, 23.5, 15.5)).flat(), [
      B,
      frames,
      N,
      3,
      3,
    ]),
    extrinsics: tf.tensor(
      Array.from({ length: cams }, () => [
        ...extrinsic(FORWARD_ROTATION, [1, 0, 1.5]),
        ...extrinsic(BACKWARD_ROTATION, [-1, 0, 1.5]),
      ]).flat(),
      [B, frames, N, 4, 4],
    ),
    futureEgomotion: tf.tensor(
      Array.from({ length: cams }, (_, i) => [0.5 + 0.1 * i, 0.05, 0, 0, 0, 0.02 * i]).flat(),
      [B, frames, 6],
    ),
  };
}

function disposeInput(input: PerceptionInput): void {
  tf.dispose([input.images, input.intrinsics, input.extrinsics, input.futureEgomotion]);
}

describe('SadPerception (tiny)', () => {
  it('returns BEV [B, S, X, Y, C + 6], depth logits [B·S·N, h, w, D] and the CAM_FRONT feature, and frees everything', () => {
    const perception = new SadPerception(tinyOptions({ rng: createRng(3) }));
    const input = makeInput();
    // The first forward folds each conv's BatchNorm into cached weights (kept until the weights change).
    const warm = perception.forward(input);
    tf.dispose([warm.bev, warm.depth, warm.camFront as tf.Tensor]);
    const before = tf.memory().numTensors;
    const out = perception.forward(input);
    expect(out.bev.shape).toEqual([B, 2, 16, 16, 10]);
    expect(out.depth.shape).toEqual([B * 2 * N, 4, 6, 3]);
    expect(out.camFront?.shape).toEqual([B, 4, 6, 4]);
    expect(out.pointsKept).toBeGreaterThan(0);
    const bev = out.bev.arraySync() as number[][][][][];
    // Ego channels: frame 0 zeros, frame 1 = E_0 of its batch item (frames beyond S ignored).
    expectClose(bev[0][0][5][7].slice(4), [0, 0, 0, 0, 0, 0]);
    expectClose(bev[1][1][9][3].slice(4), [0.8, 0.05, 0, 0, 0, 0.06], 1e-6);
    expect(bev.flat(4).every(Number.isFinite)).toBe(true);
    tf.dispose([out.bev, out.depth, out.camFront as tf.Tensor]);
    expect(tf.memory().numTensors).toBe(before);
    perception.reset();
    expect(tf.memory().numTensors).toBe(before);
    disposeInput(input);
    perception.dispose();
  });

  it('gives the same output whatever the encoder chunk size (images are independent in eval)', () => {
    const whole = new SadPerception(tinyOptions({ rng: createRng(5), imagesPerChunk: 64 }));
    const chunked = new SadPerception(tinyOptions({ rng: createRng(5), imagesPerChunk: 3 }));
    const input = makeInput(2);
    const a = whole.forward(input);
    const b = chunked.forward(input);
    expectClose(a.bev.dataSync(), b.bev.dataSync(), 1e-6);
    expectClose(a.depth.dataSync(), b.depth.dataSync(), 1e-6);
    tf.dispose([a.bev, a.depth, a.camFront as tf.Tensor, b.bev, b.depth, b.camFront as tf.Tensor]);
    disposeInput(input);
    whole.dispose();
    chunked.dispose();
  });

  it('reports its layers and the lift-splat to an instrument under "perception"', () => {
    const perception = new SadPerception(tinyOptions({ rng: createRng(7) }));
    const input = makeInput(3);
    const instrument = new Instrument();
    const out = perception.forward(input, { instrument });
    const record = instrument.finishSync();
    const names = record.layers.map((l) => l.name);
    expect(names).toContain('encoder.patch_embed.downsample1_1.encode_conv');
    expect(names).toContain('encoder.head_lif_2');
    const lift = record.layers.find((l) => l.kind === 'lift_splat');
    expect(lift?.name).toBe('lift_splat');
    expect(lift?.equivalentMacs).toBe(out.pointsKept * 4);
    expect(new Set(record.layers.map((l) => l.module))).toEqual(new Set(['perception']));
    const stem = record.layers.find((l) => l.name === 'encoder.patch_embed.downsample1_1.encode_conv');
    expect(stem?.inputRepeatedOverTime).toBe(true);
    tf.dispose([out.bev, out.depth, out.camFront as tf.Tensor]);
    disposeInput(input);
    perception.dispose();
  });

  it('backpropagates through lift-splat into the encoder in training mode, without leaking tensors', () => {
    const perception = new SadPerception(tinyOptions({ rng: createRng(11) }));
    perception.train();
    const input = makeInput(4);
    const weights = tf.randomNormal([B, 2, 16, 16, 10], 0, 1, 'float32', 9);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const out = perception.forward(input);
      const loss = tf.sum(tf.mul(out.bev, weights)) as tf.Scalar;
      return loss;
    });
    const gradOf = (layerName: string) => {
      const v =
        perception.trainableVariables()[
          perception
            .namedParameters()
            .filter((p) => p.trainable)
            .findIndex((p) => p.name === layerName)
        ];
      return grads[v.name];
    };
    for (const name of [
      'encoder.feature_layer_2.conv.2.weight',
      'encoder.depth_layer_2.conv.2.weight',
      'encoder.patch_embed.downsample3.encode_conv.weight',
    ]) {
      const g = gradOf(name).dataSync();
      expect(g.every(Number.isFinite)).toBe(true);
      expect(g.some((x) => x !== 0)).toBe(true);
    }
    value.dispose();
    tf.dispose(Object.values(grads));
    perception.reset();
    // Training updates BN running statistics in place; no tensor is left behind.
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(weights);
    disposeInput(input);
    perception.dispose();
  });

  it('rejects bad input with the record and the fix named', () => {
    const perception = new SadPerception(tinyOptions());
    const input = makeInput(6, 1);
    expectSpikedriveError(
      () => perception.forward(input),
      /hold 1 frames but TIME_RECEPTIVE_FIELD is 2/,
      /at least 2/,
    );
    disposeInput(input);
    const good = makeInput(6);
    const small = tf.zeros([B, 3, N, 16, 48, 3]);
    expectSpikedriveError(
      () => perception.forward({ ...good, images: small }),
      /16×48 but perception was built for 32×48/,
    );
    const badK = tf.zeros([B, 3, N, 3, 4]);
    expectSpikedriveError(
      () => perception.forward({ ...good, intrinsics: badK }),
      /intrinsics must be \[2, ≥2, 2, 3, 3\]/,
    );
    const nanExtrinsics = Float32Array.from(good.extrinsics.dataSync());
    nanExtrinsics[((1 * 3 + 1) * N + 0) * 16 + 3] = Number.NaN;
    const nan = tf.tensor(nanExtrinsics, good.extrinsics.shape);
    expectSpikedriveError(
      () => perception.forward({ ...good, extrinsics: nan }),
      /extrinsics of batch item 1, frame 1 holds a non-finite value/,
    );
    const singular = tf.zeros([B, 3, N, 3, 3]);
    expectSpikedriveError(() => perception.forward({ ...good, intrinsics: singular }), /singular/);
    tf.dispose([small, badK, nan, singular]);
    disposeInput(good);
    perception.dispose();
  });

  it('rejects options the reference cannot run, naming the option', () => {
    expectSpikedriveError(
      () => new SadPerception(tinyOptions({ imageSize: [40, 48] })),
      /imageSize: \[40, 48\] must be multiples of 16/,
    );
    expectSpikedriveError(
      () => new SadPerception(tinyOptions({ zBound: [-10, 10, 10] })),
      /zBound.*2 height cells/,
      /one height cell/,
    );
    expectSpikedriveError(
      () => new SadPerception(tinyOptions({ discount: 1.5 })),
      /discount: must be in \[0, 1\]/,
    );
    expectSpikedriveError(
      () => new SadPerception(tinyOptions({ embedDims: 12 })),
      /embedDims: 12 is not a multiple of 8/,
    );
  });
});

describe('the cpu-tiny preset', () => {
  it('builds from configs/cpu-tiny.yml as the pipeline fills it and gives BEV [1, 3, 32, 32, 22]', () => {
    const config = loadSadConfig('cpu-tiny');
    const perception = new SadPerception(perceptionOptions(config, createRng(1)));
    const [h, w] = config.IMAGE.FINAL_DIM;
    const n = config.IMAGE.NAMES.length;
    const s = config.TIME_RECEPTIVE_FIELD + config.N_FUTURE_FRAMES; // a full sample; perception takes the first S
    const input: PerceptionInput = {
      images: tf.randomNormal([1, s, n, h, w, 3], 0, 1, 'float32', 5),
      intrinsics: tf.tensor(Array.from({ length: s * n }, () => intrinsic(40, w / 2, h / 2)).flat(), [
        1,
        s,
        n,
        3,
        3,
      ]),
      extrinsics: tf.tensor(
        Array.from({ length: s * n }, (_, i) =>
          extrinsic(i % 2 ? FORWARD_ROTATION : BACKWARD_ROTATION, [0, 0, 1.5]),
        ).flat(),
        [1, s, n, 4, 4],
      ),
      futureEgomotion: tf.zeros([1, s, 6]),
    };
    const out = perception.forward(input);
    expect(out.bev.shape).toEqual([1, 3, 32, 32, 22]);
    expect(out.depth.shape).toEqual([18, 4, 8, 4]);
    expect(out.camFront?.shape).toEqual([1, 4, 8, 16]);
    tf.dispose([out.bev, out.depth, out.camFront as tf.Tensor]);
    disposeInput(input);
    perception.dispose();
  });
});

describe('reference parameter names at the paper size', () => {
  it('equals the TSV rows of encoder.* and frustum exactly (names, shapes, dtypes)', () => {
    const paper = new SadPerception(paperOptions({ referenceInit: false }));
    const tsv = readFileSync(new URL('../../fixtures/sad-state-dict.tsv', import.meta.url), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'))
      .filter(([name]) => name.startsWith('encoder.') || name === 'frustum')
      .map(([name, shape, dtype]) => `${name} ${shape} ${dtype}`);
    const ours = paper.namedParameters().map((p) => `${p.name} ${p.shape.join('x')} ${p.dtype}`);
    expect(ours.length).toBe(tsv.length);
    expect(new Set(ours)).toEqual(new Set(tsv));
    // Same order too: frustum, then the encoder as the reference registers it.
    expect(ours).toEqual(tsv);
    expect(paper.parameterCount() - 48 * 28 * 60 * 3).toBeGreaterThan(10e6);
    paper.dispose();
  });
});
