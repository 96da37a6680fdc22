import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyQuantConfig,
  Conv2d,
  createStateQuantizer,
  dequantizeWeightArray,
  exportQuantizedWeights,
  fakeQuantActivation,
  fakeQuantWeight,
  globToRegExp,
  hwioToOihw,
  LifNode,
  Linear,
  postTrainingQuantize,
  quantizeWeightArray,
  roundHalfEven,
  SnnModule,
  squatLevels,
} from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectClose, expectSpikedriveError, useCpu, values } from './_helpers.ts';

beforeAll(useCpu);

describe('SQUAT membrane levels (snnTorch state_quant)', () => {
  it('threshold-centred 2-bit levels crowd below θ: [−1, 0.8018, 0.9820, 1.2]', () => {
    // θ = 1, range [−1, 1.2]; floor(4·2/2.2) = 3 levels below θ, 1 above; m = 0.1, room = (1 + 0.1 + 0.01)/2:
    // −1, −1 + 1/0.555 = 0.8018, 0.8018 + 0.1/0.555 = 0.9820; above: 1 + 1/(1/0.2) = 1.2.
    expectClose(squatLevels({ bits: 2, uniform: false }), [-1, 0.801801802, 0.981981982, 1.2], 1e-7);
  });

  it('uniform levels are linspace(−θ(1 + lower), θ(1 + upper), 2^bits)', () => {
    expectClose(squatLevels({ bits: 2 }), [-1, -0.266666667, 0.466666667, 1.2], 1e-7);
    const eight = squatLevels({ bits: 8, threshold: 2, lowerLimit: 0.5 });
    expect(eight.length).toBe(256);
    expect(eight[0]).toBe(-3);
    expect(eight[255]).toBeCloseTo(2.4, 6);
  });

  it('zero-centred non-uniform levels crowd around 0', () => {
    // One level below 0 (floor(4·1/2.2)); above: steps 0.01, 0.1, 1 over room 1.11/1.2.
    expectClose(
      squatLevels({ bits: 2, uniform: false, thresholdCentered: false }),
      [-1, 0.010810811, 0.118918919, 1.2],
      1e-7,
    );
  });

  it('matches the reference construction with custom limits (values from running snnTorch state_quant)', () => {
    const levels = squatLevels({ bits: 4, uniform: false, threshold: 0.5, lowerLimit: 0.1, upperLimit: 0.3 });
    expectClose(
      levels,
      [
        -0.55, -0.024935905, 0.237596142, 0.368862166, 0.434495178, 0.467311684, 0.483719937, 0.491924063,
        0.496026126, 0.498077158, 0.499102674, 0.499615432, 0.499871811, 0.521428571, 0.564285714, 0.65,
      ],
      1e-7,
    );
    // Default multipliers by bit width, as snnTorch: 3 bits → 0.3.
    expectClose(
      squatLevels({ bits: 3, uniform: false }),
      [-1, 0.400306247, 0.820398121, 0.946425683, 0.984233952, 0.995576433, 0.998979177, 1.2],
      1e-7,
    );
  });

  it('snaps to the nearest level, ties to the lower one, with a straight-through gradient', () => {
    const q = createStateQuantizer({ bits: 2 }); // [−1, −0.2667, 0.4667, 1.2]
    // 0.1 is the midpoint of −0.2667 and 0.4667: the tie goes to the lower level (torch.min's first index).
    const x = tf.tensor1d([-5, -0.7, 0.05, 0.1, 0.2, 0.9, 3]);
    const snapped = values(q.apply(x));
    expectClose(snapped, [-1, -1, -0.2666667, -0.2666667, 0.4666667, 1.2, 1.2], 1e-6);
    // Scalar and tensor paths agree element by element.
    expect(snapped).toEqual(values(x).map((v) => q.snap(v)));
    // The midpoint of −1 and 1.2 (in a 1-bit table) goes to the lower level, as torch.min's first index.
    const one = createStateQuantizer({ bits: 1, uniform: false });
    expect(Array.from(one.levels)).toEqual([-1, Math.fround(1.2)]);
    expect(one.snap(0.1)).toBe(-1);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(q.apply(v), 3)))(x);
    expect(values(g)).toEqual([3, 3, 3, 3, 3, 3, 3]);
  });
});

describe('weight and activation quantisers', () => {
  it('symmetric 4-bit per-channel fake quant: scale = absmax/7, round half to even', () => {
    // [in = 3, out = 2]: channel 0 = [1.25, −3.5, 0.6] (scale 3.5/7 = 0.5), channel 1 = [1.75, 0.3, −0.375]
    // (scale 0.25). 1.25/0.5 = 2.5 → 2 (half to even); 0.6/0.5 = 1.2 → 1; −0.375/0.25 = −1.5 → −2.
    const w = tf.tensor2d([1.25, 1.75, -3.5, 0.3, 0.6, -0.375], [3, 2]);
    const q = values(fakeQuantWeight(w, { scheme: 'symmetric', bits: 4, perChannel: true }));
    expectClose(q, [1, 1.75, -3.5, 0.25, 0.5, -0.5], 1e-7);
    // One scale for the tensor (0.5): 1.75/0.5 = 3.5 → 4, 0.3/0.5 = 0.6 → 1, −0.75 → −1.
    const perTensor = values(fakeQuantWeight(w, { scheme: 'symmetric', bits: 4, perChannel: false }));
    expectClose(perTensor, [1, 2, -3.5, 0.5, 0.5, -0.5], 1e-7);
  });

  it('ternary absmean: γ = mean|W|, values in {−γ, 0, γ}', () => {
    const w = tf.tensor1d([0.9, -0.05, 0.4, -1.2]);
    // γ = 2.55/4 = 0.6375; W/γ = 1.41, −0.08, 0.63, −1.88 → 1, 0, 1, −1.
    expectClose(values(fakeQuantWeight(w, { scheme: 'ternary' })), [0.6375, 0, 0.6375, -0.6375], 1e-6);
  });

  it('8-bit per-token activations: s = 127/max|x| over channels; binary spikes pass unchanged', () => {
    const x = tf.tensor2d([0.5, -1, 0.25, 2, 0.01, -0.02], [2, 3]);
    const q = values(fakeQuantActivation(x, { bits: 8 }));
    // Row 0: s = 127; 0.5·127 = 63.5 → 64 (half to even); 0.25·127 = 31.75 → 32. Row 1: s = 63.5.
    expectClose(q, [64 / 127, -1, 32 / 127, 2, 1 / 63.5, -1 / 63.5], 1e-6);
    const spikes = tf.tensor2d([0, 1, 1, 0, 0, 1], [2, 3]);
    expect(values(fakeQuantActivation(spikes, { bits: 8 }))).toEqual([0, 1, 1, 0, 0, 1]);
  });

  it('straight-through: the gradient of a quantised weight is the identity', () => {
    const w = tf.tensor1d([0.9, -0.05, 0.4, -1.2]);
    const g = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.mul(fakeQuantWeight(v, { scheme: 'ternary' }), tf.tensor1d([1, 2, 3, 4]))),
    )(w);
    expect(values(g)).toEqual([1, 2, 3, 4]);
  });

  it('post-training export: integers × scales give back exactly the fake-quantised weights', () => {
    const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, rng: createRng(5) });
    for (const spec of [
      { scheme: 'symmetric', bits: 8, perChannel: true },
      { scheme: 'symmetric', bits: 4, perChannel: false },
      { scheme: 'ternary' },
    ] as const) {
      conv.applyQuant({ weights: spec });
      const [exported] = exportQuantizedWeights(conv);
      expect(exported.shape).toEqual([4, 3, 3, 3]);
      const limit = spec.scheme === 'ternary' ? 1 : 2 ** (spec.bits - 1) - 1;
      expect(Math.max(...Array.from(exported.values).map(Math.abs))).toBeLessThanOrEqual(limit);
      const fake = hwioToOihw(conv.effectiveWeight());
      expectClose(dequantizeWeightArray(exported, exported.shape), values(fake), 1e-7);
    }
    conv.dispose();
  });

  it('array quantiser handles per-channel axes in either layout and rounds half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2]);
    const q = quantizeWeightArray(
      Float32Array.of(1, -2, 0.5, 4),
      [2, 2],
      { scheme: 'symmetric', bits: 8, perChannel: true },
      1,
    );
    // Columns are channels: [1, 0.5] → scale 1/127, [−2, 4] → 4/127.
    expect(Array.from(q.values)).toEqual([127, -64, 64, 127]);
    expectSpikedriveError(
      () => quantizeWeightArray(Float32Array.of(1, 2), [3], { scheme: 'ternary' }, 0),
      /2 values but shape \[3\]/,
    );
  });
});

class TinyNet extends SnnModule {
  readonly kind = 'tiny';
  readonly conv: Conv2d;
  readonly lif: LifNode;
  readonly head: Linear;
  constructor() {
    super();
    const rng = createRng(2);
    this.conv = this.register(
      'encoder.conv',
      new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 1, rng }),
    );
    this.lif = this.register('encoder.lif', new LifNode());
    this.head = this.register('planning.fc', new Linear({ inFeatures: 3, outFeatures: 2, rng }));
  }
}

describe('per-layer quantisation config', () => {
  it('selects layers by glob over checkpoint names; later patterns override field by field', () => {
    const net = new TinyNet();
    const applied = applyQuantConfig(net, {
      '*': { weights: 'int8' },
      'planning.*': { weights: 'ternary' },
      'encoder.lif': { state: { bits: 4, uniform: false } },
    });
    expect(net.conv.weightQuant).toEqual({ scheme: 'symmetric', bits: 8, perChannel: true });
    expect(net.head.weightQuant).toEqual({ scheme: 'ternary' });
    // Ternary weights bring the MatMul-free recipe's 8-bit activations.
    expect(net.head.activationQuant).toEqual({ bits: 8 });
    expect(net.conv.activationQuant).toBeNull();
    expect(net.lif.params.stateQuant?.bits).toBe(4);
    expect(applied.map((a) => [a.name, a.patterns])).toEqual([
      ['encoder.conv', ['*']],
      ['encoder.lif', ['*', 'encoder.lif']],
      ['planning.fc', ['*', 'planning.*']],
    ]);
    // float32 switches quantisation off again.
    applyQuantConfig(net, { 'planning.fc': { weights: 'float32', activations: 'float32' } });
    expect(net.head.weightQuant).toBeNull();
    expect(net.head.activationQuant).toBeNull();
    net.dispose();
  });

  it('rejects unknown settings and patterns that match nothing, naming them', () => {
    const net = new TinyNet();
    expectSpikedriveError(
      () => applyQuantConfig(net, { 'encoder.*': { weights: 'int3' } }),
      /"encoder\.\*"\.weights is invalid/,
    );
    expectSpikedriveError(
      () => applyQuantConfig(net, { 'encoder.*': { wieghts: 'int8' } }),
      /"encoder\.\*" is invalid/,
    );
    expectSpikedriveError(
      () => applyQuantConfig(net, { 'decoder.*': { weights: 'int8' } }),
      /"decoder\.\*" match no layer/,
    );
    expectSpikedriveError(() => applyQuantConfig(net, ['int8']), /must be a mapping/);
    expect(globToRegExp('encoder.*.conv?').test('encoder.block.1.conv2')).toBe(true);
    expect(globToRegExp('encoder.*').test('encoderx')).toBe(false);
    net.dispose();
  });

  it('post-training quantisation applies the config and exports every quantised weight', () => {
    const net = new TinyNet();
    const { applied, weights } = postTrainingQuantize(net, {
      'encoder.*': { weights: 'int8' },
      'planning.*': { weights: 'int4' },
    });
    expect(applied.length).toBe(3);
    expect(weights.map((w) => [w.name, w.bits, w.shape])).toEqual([
      ['encoder.conv.weight', 8, [3, 2, 1, 1]],
      ['planning.fc.weight', 4, [2, 3]],
    ]);
    expect(weights[1].bias?.length).toBe(2);
    net.dispose();
  });

  it('quantised layers still train: the tensor count returns to baseline after forward and backward', () => {
    const net = new TinyNet();
    applyQuantConfig(net, { '*': { weights: 'int4', activations: 'int8', state: { bits: 4 } } });
    net.train();
    const x = tf.randomNormal([3, 2, 4, 4, 2], 1, 1, 'float32', 1);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const c = net.conv.forward(x);
      const s = net.lif.forward(c);
      return tf.sum(net.head.forward(tf.mean(s, [2, 3])));
    }, net.trainableVariables());
    expect(Object.keys(grads).length).toBe(4);
    for (const g of Object.values(grads))
      expect(Number.isFinite(values(g).reduce((a, b) => a + Math.abs(b), 0))).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    net.reset();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    net.dispose();
  });
});
