// SadPrediction as the pipeline uses it: the latent sample (ε = 0 in evaluation, seeded ε in training), log σ
// clamping, F = 0 pass-through, PROBABILISTIC off, names against the reference state dict, shapes, frame
// schedules, memory, training gradients.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { frameChunks, type PredictionOutput, SadPrediction } from '../../../src/prediction/index.ts';
import { Instrument } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import {
  expectClose,
  expectSpikedriveError,
  hashInput,
  hashStateDict,
  referenceRows,
  setParams,
  useCpu,
  values,
} from './_helpers.ts';

beforeAll(useCpu);

/** A tiny predictor; `active` loads the golden fixture's hash weights (gain 6: 10–35 % firing, unlike PyTorch's
 * default initialisation, with which the dual pathway stays silent). */
function tiny(
  overrides: Partial<ConstructorParameters<typeof SadPrediction>[0]> = {},
  active = false,
): SadPrediction {
  const prediction = new SadPrediction({
    inChannels: 6,
    latentDim: 3,
    nFuture: 2,
    hiddenChannels: 8,
    rng: createRng('tiny-prediction'),
    ...overrides,
  });
  if (active) prediction.loadStateDict(hashStateDict(prediction, 6));
  return prediction;
}

function disposeOutput(out: PredictionOutput): void {
  tf.dispose(
    [out.states, out.mu, out.logSigma, out.sample, out.futureSpikes].filter((t) => t) as tf.Tensor[],
  );
}

describe('SadPrediction parameter names', () => {
  it('equal the reference state dict rows present_distribution.* and future_prediction.* at the paper size', () => {
    const prediction = new SadPrediction({ inChannels: 70, latentDim: 32, nFuture: 6, hiddenChannels: 384 });
    const ours = prediction.namedParameters().map((p) => [p.name, p.shape] as const);
    const reference = referenceRows(['present_distribution.', 'future_prediction.']);
    expect(reference.size).toBe(191);
    expect(new Set(ours.map(([n]) => n))).toEqual(new Set(reference.keys()));
    for (const [name, shape] of ours) expect(shape, name).toEqual(reference.get(name));
    // Same order as the reference registration, too (state-dict order).
    expect(ours.map(([n]) => n)).toEqual([...reference.keys()]);
    prediction.dispose();
  });

  it('are absent for F = 0 and without a distribution (as the reference builds neither)', () => {
    const none = tiny({ nFuture: 0 });
    expect(none.namedParameters()).toEqual([]);
    none.dispose();
    const deterministic = tiny({ probabilistic: false });
    const names = deterministic.namedParameters().map((p) => p.name);
    expect(names.some((n) => n.startsWith('present_distribution.'))).toBe(false);
    expect(names.some((n) => n.startsWith('future_prediction.dual_lif.'))).toBe(true);
    deterministic.dispose();
  });
});

describe('the latent sample', () => {
  it('is the distribution mean in evaluation (ε = 0): repeated forwards agree exactly', () => {
    const prediction = tiny();
    const bev = hashInput([2, 3, 6, 8, 8], 'eval');
    const a = prediction.forward(bev, { training: false });
    prediction.reset();
    const b = prediction.forward(bev);
    prediction.reset();
    expect(a.states.shape).toEqual([2, 5, 8, 8, 6]);
    expect(a.mu?.shape).toEqual([2, 3]);
    expect(values(a.sample as tf.Tensor)).toEqual(values(a.mu as tf.Tensor));
    expect(values(b.states)).toEqual(values(a.states));
    expect(values(b.sample as tf.Tensor)).toEqual(values(a.sample as tf.Tensor));
    disposeOutput(a);
    disposeOutput(b);
    bev.dispose();
    prediction.dispose();
  });

  it('in training is μ + e^{log σ}·ε with ε from the seeded source, log σ clamped to [MIN, MAX]', () => {
    const prediction = tiny({ minLogSigma: -2, maxLogSigma: 0.5 });
    // Zero the distribution head's weights so μ and log σ are its biases: μ = (0.5, −1, 2), log σ = (3, −4, 0.1)
    // → clamped (0.5, −2, 0.1).
    setParams(prediction, {
      'present_distribution.decoder.1.weight': 0,
      'present_distribution.decoder.1.bias': [0.5, -1, 2, 3, -4, 0.1],
    });
    const bev = hashInput([1, 2, 6, 8, 8], 'train');
    const out = prediction.forward(bev, { training: true, rng: createRng(7) });
    prediction.reset();
    const eps = createRng(7);
    const e = [eps.normal(), eps.normal(), eps.normal()];
    expectClose(values(out.mu as tf.Tensor), [0.5, -1, 2], 1e-6);
    expectClose(values(out.logSigma as tf.Tensor), [0.5, -2, 0.1], 1e-6);
    expectClose(
      values(out.sample as tf.Tensor),
      [0.5 + Math.exp(0.5) * e[0], -1 + Math.exp(-2) * e[1], 2 + Math.exp(0.1) * e[2]],
      1e-5,
    );
    // The same seed gives the same numbers; another seed another sample.
    const again = prediction.forward(bev, { training: true, rng: createRng(7) });
    prediction.reset();
    const other = prediction.forward(bev, { training: true, rng: createRng(8) });
    prediction.reset();
    expect(values(again.sample as tf.Tensor)).toEqual(values(out.sample as tf.Tensor));
    expect(values(again.states)).toEqual(values(out.states));
    expect(values(other.sample as tf.Tensor)).not.toEqual(values(out.sample as tf.Tensor));
    for (const o of [out, again, other]) disposeOutput(o);
    bev.dispose();
    prediction.dispose();
  });

  it('needs a seeded source to sample, and says how to give one', () => {
    const prediction = tiny();
    const bev = tf.zeros([1, 2, 8, 8, 6]);
    expectSpikedriveError(() => prediction.forward(bev, { training: true }), /no rng was given/, /createRng/);
    bev.dispose();
    prediction.dispose();
  });

  it('is zero without a distribution (PROBABILISTIC.ENABLED false)', () => {
    const prediction = tiny({ probabilistic: false });
    const bev = hashInput([1, 2, 6, 8, 8], 'zero');
    const out = prediction.forward(bev, { training: true });
    prediction.reset();
    expect(out.mu).toBeNull();
    expect(values(out.sample as tf.Tensor)).toEqual([0, 0, 0]);
    disposeOutput(out);
    bev.dispose();
    prediction.dispose();
  });

  it('mixes three Gaussians with softmax weights for MIXGAUSSIAN', () => {
    const prediction = tiny({ method: 'MIXGAUSSIAN' });
    // 6L + 3 = 21 outputs: three [μ, log σ] pairs, then the mixture logits (0, ln 2, ln 3) → (1, 2, 3)/6.
    const bias = [
      ...[1, 1, 1, 0, 0, 0],
      ...[2, 2, 2, 0, 0, 0],
      ...[3, 3, 3, 0, 0, 0],
      ...[0, Math.log(2), Math.log(3)],
    ];
    setParams(prediction, {
      'present_distribution.decoder.1.weight': 0,
      'present_distribution.decoder.1.bias': bias,
    });
    const bev = hashInput([1, 2, 6, 8, 8], 'mix');
    const out = prediction.forward(bev, { training: false });
    prediction.reset();
    const mean = (1 * 1 + 2 * 2 + 3 * 3) / 6;
    expectClose(values(out.sample as tf.Tensor), [mean, mean, mean], 1e-5);
    expect(out.mu?.shape).toEqual([1, 9]);
    disposeOutput(out);
    bev.dispose();
    prediction.dispose();
  });
});

describe('SadPrediction forward', () => {
  it('passes the input through unchanged with F = 0', () => {
    const prediction = tiny({ nFuture: 0 });
    const bev = hashInput([1, 3, 6, 8, 8], 'f0');
    const out = prediction.forward(bev);
    expect(out.states).not.toBe(bev);
    expect(values(out.states)).toEqual(values(bev));
    expect(out.mu).toBeNull();
    expect(out.sample).toBeNull();
    disposeOutput(out);
    bev.dispose();
    prediction.dispose();
  });

  it('keeps the past frames as SNN time per batch item (batch items do not mix)', () => {
    // Batch item 1 alone must give what it gives inside a batch of 2 (the reference's reshape would mix them).
    const prediction = tiny({}, true);
    const bev = hashInput([2, 3, 6, 8, 8], 'batch');
    const both = prediction.forward(bev);
    prediction.reset();
    const second = tf.slice(bev, [1], [1]);
    const alone = prediction.forward(second);
    prediction.reset();
    const fromBoth = tf.slice(both.states, [1], [1]);
    expect(values(fromBoth)).toEqual(values(alone.states));
    disposeOutput(both);
    disposeOutput(alone);
    tf.dispose([bev, second, fromBoth]);
    prediction.dispose();
  });

  it('gives the same numbers layer by layer and frame by frame, and frees everything it allocates', () => {
    const prediction = tiny({}, true);
    prediction.keepFutureSpikes = true;
    const bev = hashInput([2, 3, 6, 8, 8], 'schedules');
    // Warm-up builds the folded-BN caches, which persist by design.
    disposeOutput(prediction.forward(bev));
    prediction.reset();
    const baseline = tf.memory().numTensors;
    prediction.schedule = 'layers';
    const a = prediction.forward(bev);
    prediction.reset();
    prediction.schedule = 'frames';
    const b = prediction.forward(bev);
    prediction.reset();
    expect(values(b.states)).toEqual(values(a.states));
    // auto with a budget of two frames: chunks 2 + 2 + 1, the middle one half past, half predicted.
    prediction.schedule = 'auto';
    prediction.chunkBytes = 2 * (2 * 8 * 8 * 8 * 4);
    expect(prediction.futurePrediction?.chunks(5, 2, 8, 8)).toEqual([2, 2, 1]);
    const c = prediction.forward(bev);
    prediction.reset();
    expect(values(c.states)).toEqual(values(a.states));
    disposeOutput(c);
    expect(a.futureSpikes?.shape).toEqual([2, 2, 8, 8, 6]);
    expect(new Set(values(a.futureSpikes as tf.Tensor))).toEqual(new Set([0, 1]));
    disposeOutput(a);
    disposeOutput(b);
    expect(tf.memory().numTensors).toBe(baseline);
    bev.dispose();
    prediction.dispose();
  });

  it('records its layers under the prediction module when instrumented', () => {
    const prediction = tiny();
    const bev = hashInput([1, 3, 6, 8, 8], 'instrument');
    const instrument = new Instrument();
    const out = prediction.forward(bev, {}, { instrument });
    prediction.reset();
    const record = instrument.finishSync();
    const names = record.layers.map((l) => l.name);
    expect(names).toContain('future_prediction.dual_lif.lif1');
    expect(names).toContain('future_prediction.layer3.1.sn2');
    expect(names).toContain('present_distribution.encoder.model.0.layers.conv');
    expect(new Set(record.layers.map((l) => l.module))).toEqual(new Set(['prediction']));
    // lif1 runs once per future frame.
    expect(record.layers.find((l) => l.name === 'future_prediction.dual_lif.lif1')?.calls).toBe(2);
    disposeOutput(out);
    bev.dispose();
    prediction.dispose();
  });

  it('trains: batch statistics, gradients through the spikes to the distribution and the mixer', () => {
    const prediction = tiny({}, true).train();
    const bev = hashInput([2, 2, 6, 8, 8], 'grad');
    const rng = createRng(3);
    const { value, grads } = tf.variableGrads(() => {
      const out = prediction.forward(bev, { training: true, rng });
      prediction.reset();
      const loss = tf.sum(tf.mul(out.states, out.states)) as tf.Scalar;
      disposeOutput(out);
      return loss;
    });
    const byName = new Map<string, tf.Tensor>();
    const vars = prediction.trainableVariables();
    const names = prediction.namedParameters().filter((p) => p.trainable);
    names.forEach((p, i) => {
      const g = grads[vars[i].name];
      if (g) byName.set(p.name, g);
    });
    for (const name of [
      'future_prediction.layer1.0.conv1.weight',
      'future_prediction.dual_lif.conv_update_1.0.weight',
      'present_distribution.decoder.1.bias',
    ]) {
      const g = byName.get(name);
      expect(g, name).toBeDefined();
      const v = values(g as tf.Tensor);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(
        v.some((x) => x !== 0),
        name,
      ).toBe(true);
    }
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    bev.dispose();
    prediction.dispose();
  });

  it('rejects bad input with the stage named', () => {
    const prediction = tiny();
    const flat = tf.zeros([1, 8, 8, 6]);
    expectSpikedriveError(() => prediction.forward(flat), /prediction expects a BEV sequence/);
    const wrong = tf.zeros([1, 2, 8, 8, 5]);
    expectSpikedriveError(() => prediction.forward(wrong), /built for 6 BEV channels, got 5/, /ego-motion/);
    expectSpikedriveError(() => tiny({ method: 'BERNOULLI' as 'GAUSSIAN' }), /BERNOULLI is not supported/);
    expectSpikedriveError(() => tiny({ nFuture: -1 }), /N_FUTURE_FRAMES must be an integer/);
    expectSpikedriveError(() => tiny({ minLogSigma: 2, maxLogSigma: 1 }), /exceeds MAX_LOG_SIGMA/);
    tf.dispose([flat, wrong]);
    prediction.dispose();
  });

  it('starts stage 3 of temporal mixing from stage 2 initial weights (reference deepcopy)', () => {
    const prediction = tiny();
    const state = prediction.stateDict();
    const w2 = state.get('future_prediction.layer2.0.conv1.weight')?.data;
    const w3 = state.get('future_prediction.layer3.0.conv1.weight')?.data;
    const w1 = state.get('future_prediction.layer1.0.conv1.weight')?.data;
    expect(Array.from(w3 as Float32Array)).toEqual(Array.from(w2 as Float32Array));
    expect(w1?.length).not.toBe(w2?.length);
    prediction.dispose();
  });
});

describe('frameChunks', () => {
  it('splits frames by the memory budget, balanced; layers, frames and training as named', () => {
    const perFrame = 200 * 200 * 384 * 4; // one 384-channel BEV frame, 61 MB
    expect(frameChunks(9, perFrame, 'auto', false)).toEqual([3, 3, 3]); // 256 MiB holds 4 → 3 + 3 + 3
    expect(frameChunks(9, perFrame, 'auto', false, 2 ** 40)).toEqual([9]);
    expect(frameChunks(9, perFrame, 'layers', false)).toEqual([9]);
    expect(frameChunks(3, perFrame, 'frames', false)).toEqual([1, 1, 1]);
    expect(frameChunks(9, perFrame, 'frames', true)).toEqual([9]);
    expect(frameChunks(5, 2 * perFrame, 'auto', false, 2 * perFrame)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('hash fill', () => {
  it('covers every parameter of the paper-size state dict', () => {
    const prediction = tiny();
    const sd = hashStateDict(prediction, 1);
    expect(sd.size).toBe(prediction.namedParameters().length);
    prediction.dispose();
  });
});
