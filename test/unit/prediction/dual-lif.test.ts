// The dual-pathway predictor (sad.md §3, temporal_snn.py:62-141) on hand-checkable cases: the softmax-over-H
// membrane initialisation, the multiplicative fusion, and the mixture feedback.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DualLifTemporalMixer, fuseSpikes, softmaxOverRows } from '../../../src/prediction/index.ts';
import { expectClose, expectSpikedriveError, setParams, useCpu, values, zeroParams } from './_helpers.ts';

beforeAll(useCpu);

/** A 3×3 conv weight (OIHW, flat) whose only non-zero taps are the centres given per [out][in]. */
function centreTaps(outC: number, inC: number, taps: [number, number, number][]): number[] {
  const w = new Array(outC * inC * 9).fill(0);
  for (const [o, i, v] of taps) w[(o * inC + i) * 9 + 4] = v;
  return w;
}

describe('softmaxOverRows', () => {
  it('normalises over H (BEV rows) for every column and channel, as torch.softmax(dim=2) on NCHW', () => {
    // [B=1, H=3, W=2, C=1]: column 0 holds (0, ln 2, ln 5) → (1, 2, 5)/8; column 1 is constant → 1/3 each.
    const x = tf.tensor4d([0, 0, Math.log(2), 0, Math.log(5), 0], [1, 3, 2, 1]);
    const m = softmaxOverRows(x);
    expectClose(values(m), [1 / 8, 1 / 3, 2 / 8, 1 / 3, 5 / 8, 1 / 3], 1e-6);
    tf.dispose([x, m]);
  });

  it('rejects a sequence', () => {
    const x = tf.zeros([1, 1, 3, 2, 1]);
    expectSpikedriveError(() => softmaxOverRows(x), /expects \[B, H, W, C\]/);
    x.dispose();
  });
});

describe('fusion x̂ = r₂ ⊙ r₁', () => {
  it('is a spike AND (truth table)', () => {
    const r1 = tf.tensor1d([0, 0, 1, 1]);
    const r2 = tf.tensor1d([0, 1, 0, 1]);
    const x = fuseSpikes(r1, r2);
    expect(values(x)).toEqual([0, 0, 0, 1]);
    tf.dispose([r1, r2, x]);
  });

  it('ANDs the two pathways inside the mixer, per channel', () => {
    // 4 channels, 1×1 grid, S = 1, F = 1, every conv weight zero. Pathway a fires where its bias is 3
    // (v = (m + 3)/2 ≥ 1.5 from the softmax membrane m = 1), pathway b's decoder LIF (from rest) where its bias
    // is 3 (v = 1.5): channels (a, b) = (0,0), (0,1), (1,0), (1,1).
    const mixer = new DualLifTemporalMixer({ inputChannels: 1, hiddenChannels: 4, nFuture: 1 });
    zeroParams(mixer);
    setParams(mixer, { 'conv_update_1.0.bias': [0, 0, 3, 3], 'conv_decoder_lif.0.bias': [0, 3, 0, 3] });
    const states = tf.zeros([1, 1, 1, 1, 4]);
    const sample = tf.zeros([1, 1, 1, 1]);
    const out = mixer.forward(sample, states);
    expect(out.shape).toEqual([1, 1, 1, 1, 4]);
    expect(values(out)).toEqual([0, 0, 0, 1]);
    mixer.reset();
    tf.dispose([states, sample, out]);
    mixer.dispose();
  });
});

describe('softmax-over-H membrane initialisation', () => {
  it('starts both LIFs at softmax(state_{S−1}) over rows, overriding the warm-up membrane', () => {
    // Grid H = 3, W = 2, one channel; S = 2 (one warm-up step), F = 1. All conv weights zero, biases 1.4, so each
    // LIF sees u = 1.4 (× the BN's 1/√(1 + 1e-5)). From the softmax membrane m: v = (m + 1.4)/2 ≥ 1 ⇔ m ≥ 0.6,
    // true only at column 0, row 2 (m = 5/8). Warm-up alone would have left LIF₂ at 0.7 and fired everywhere
    // ((0.7 + 1.4)/2 = 1.05); a zero membrane would fire nowhere (0.7). The decoder conv copies h (centre tap 4:
    // v = 2h from rest) so x̂ = LIF₁ ∧ LIF₂.
    const mixer = new DualLifTemporalMixer({ inputChannels: 1, hiddenChannels: 1, nFuture: 1 });
    zeroParams(mixer);
    setParams(mixer, {
      'conv_update_1.0.bias': [1.4],
      'conv_update_2.0.bias': [1.4],
      'conv_decoder_lif.0.weight': centreTaps(1, 1, [[0, 0, 4]]),
    });
    const present = [0, 0, Math.log(2), 0, Math.log(5), 0]; // rows × columns
    const states = tf.tensor5d([0, 0, 0, 0, 0, 0, ...present], [2, 1, 3, 2, 1]);
    const sample = tf.zeros([1, 3, 2, 1]);
    const out = mixer.forward(sample, states);
    expect(values(out)).toEqual([0, 0, 0, 0, 1, 0]);
    // After firing, both membranes were reset to 0 at that position; elsewhere they hold (m + 1.4)/2.
    const m = [1 / 8, 1 / 3, 2 / 8, 1 / 3, 5 / 8, 1 / 3];
    const u = 1.4 / Math.sqrt(1 + 1e-5);
    const expected = m.map((mi, i) => (i === 4 ? 0 : (mi + u) / 2));
    expectClose(values(mixer.lif1.membrane as tf.Tensor), expected, 1e-6);
    expectClose(values(mixer.lif2.membrane as tf.Tensor), expected, 1e-6);
    mixer.reset();
    expect(mixer.lif1.membrane).toBeNull();
    tf.dispose([states, sample, out]);
    mixer.dispose();
  });
});

describe('mixture feedback', () => {
  // One channel, 1×1 grid, S = 1 (h = state = 1, membranes start at softmax over one row = 1), F = 3.
  // Pathway a: u₁ = 2.2·r₁. Pathway b: u₂ = 2.2·r₂ + 2.2·h, decoder u_d = 1.5·h (LIF_d from rest).
  //   step 1: v₁ = 1 + (2.2 − 1)/2 = 1.6 → r₁ = 1; v₂ = 1 + (4.4 − 1)/2 = 2.7 → h = 1; v_d = 0.75 → r₂ = 0; x̂ = 0
  //   mixture (r₁ = r₂ = x̂ = 0):
  //   step 2: v₁ = 0 → 0; v₂ = 1.1 → h = 1; v_d = 0.75 + (1.5 − 0.75)/2 = 1.125 → 1; x̂ = 0·1 = 0
  //   step 3: v₁ = 0 → 0; v₂ = 1.1 → 1; v_d = 0.75 → 0; x̂ = 0                                → (0, 0, 0)
  //   without mixture (r₁ = 1, r₂ = 0 carry on):
  //   step 2: v₁ = 1.1 → 1; v₂ = 1.1 → h = 1; v_d = 1.125 → 1; x̂ = 1
  //   step 3: v₁ = 1.1 → 1; v₂ = 2.2 → 1; v_d = 0.75 → 0; x̂ = 0                             → (0, 1, 0)
  function run(mixture: boolean): number[] {
    const mixer = new DualLifTemporalMixer({ inputChannels: 1, hiddenChannels: 1, nFuture: 3, mixture });
    zeroParams(mixer);
    setParams(mixer, {
      // conv_update_1 input channels: [sample, r₁]; conv_update_2: [r₂, h].
      'conv_update_1.0.weight': centreTaps(1, 2, [[0, 1, 2.2]]),
      'conv_update_2.0.weight': centreTaps(1, 2, [
        [0, 0, 2.2],
        [0, 1, 2.2],
      ]),
      'conv_decoder_lif.0.weight': centreTaps(1, 1, [[0, 0, 1.5]]),
    });
    const states = tf.ones([1, 1, 1, 1, 1]);
    const sample = tf.zeros([1, 1, 1, 1]);
    const out = mixer.forward(sample, states);
    expect(out.shape).toEqual([3, 1, 1, 1, 1]);
    const v = values(out);
    mixer.reset();
    tf.dispose([states, sample, out]);
    mixer.dispose();
    return v;
  }

  it('feeds the fused spikes back into both pathways (MIXTURE true, the SAD default)', () => {
    expect(run(true)).toEqual([0, 0, 0]);
  });

  it('lets each pathway keep its own output with MIXTURE false', () => {
    expect(run(false)).toEqual([0, 1, 0]);
  });
});

describe('dual pathway input checks', () => {
  it('names what is wrong with the inputs', () => {
    const mixer = new DualLifTemporalMixer({ inputChannels: 2, hiddenChannels: 3, nFuture: 1 });
    const states = tf.zeros([1, 1, 4, 4, 5]);
    const sample = tf.zeros([1, 4, 4, 2]);
    expectSpikedriveError(() => mixer.forward(sample, states), /states must be \[S, B, X, Y, 3\]/);
    const good = tf.zeros([1, 1, 4, 4, 3]);
    const badSample = tf.zeros([1, 4, 4, 3]);
    expectSpikedriveError(() => mixer.forward(badSample, good), /sample must be \[B, X, Y, 2\]/);
    expectSpikedriveError(
      () => new DualLifTemporalMixer({ inputChannels: 2, hiddenChannels: 3, nFuture: 0 }),
      /N_FUTURE_FRAMES ≥ 1/,
    );
    tf.dispose([states, sample, good, badSample]);
    mixer.dispose();
  });
});
