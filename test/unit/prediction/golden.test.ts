// Golden parity with the reference PyTorch modules (ridgerchu/SAD d948477 DistributionModule, FuturePrediction with
// Dual_LIF_temporal_mixer, Decoder; spikingjelly 1171f524), recorded by
// test/fixtures/model-golden/prediction/make_golden.py at small sizes (BEV 16×16, C′ = 22, latent 8, S = 3, F = 2,
// B = 2; the reference's hard-coded 384 hidden channels and 64/128/256 decoder widths kept). Both sides fill every
// weight and input from the same integer hash, so only outputs are stored.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_DECODER_HEADS,
  type FrameSchedule,
  SadDecoder,
  SadPrediction,
} from '../../../src/prediction/index.ts';
import { expectClose, hashInput, hashStateDict, setFolding, useCpu } from './_helpers.ts';

beforeAll(useCpu);

interface Packed {
  shape: number[];
  f32?: string;
  bits?: string;
}
const here = dirname(fileURLToPath(import.meta.url));
const golden = JSON.parse(
  readFileSync(join(here, '../../fixtures/model-golden/prediction/golden.json'), 'utf8'),
) as {
  cases: {
    sizes: { B: number; S: number; F: number; C: number; L: number; X: number; gain: number };
    prediction: Record<'mu' | 'log_sigma' | 'future_spikes' | 'states', Packed>;
    decoder: Record<string, Packed>;
    firing_rates: Record<string, number>;
  };
};
const { B, S, F, C, L, X, gain } = golden.cases.sizes;

function floats(p: Packed): Float32Array {
  const bytes = Buffer.from(p.f32 as string, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function bits(p: Packed): Uint8Array {
  const bytes = Buffer.from(p.bits as string, 'base64');
  const n = p.shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) n++;
  return n;
}

describe('prediction against the reference', () => {
  function runPrediction(schedule: FrameSchedule, fold: boolean) {
    const before = tf.memory().numTensors;
    const prediction = new SadPrediction({ inChannels: C, latentDim: L, nFuture: F, hiddenChannels: 384 });
    prediction.loadStateDict(hashStateDict(prediction, gain));
    prediction.schedule = schedule;
    prediction.keepFutureSpikes = true;
    expect(setFolding(prediction, fold)).toBeGreaterThan(0);
    const bev = hashInput([B, S, C, X, X], 'input.bev');
    const out = prediction.forward(bev, { training: false });
    const g = golden.cases.prediction;
    expect(out.mu?.shape).toEqual(g.mu.shape);
    expectClose(out.mu?.dataSync() as Float32Array, floats(g.mu), 1e-5);
    expectClose(out.logSigma?.dataSync() as Float32Array, floats(g.log_sigma), 1e-5);
    // Evaluation takes the distribution mean: ε = 0.
    expect(Array.from(out.sample?.dataSync() as Float32Array)).toEqual(Array.from(out.mu?.dataSync() ?? []));
    const spikes = out.futureSpikes as tf.Tensor;
    expect(spikes.shape).toEqual(g.future_spikes.shape);
    const expectedSpikes = bits(g.future_spikes);
    // x̂ is exact; the fixture has ~9 % of its 22.5k entries on.
    expect(mismatches(spikes.dataSync(), expectedSpikes)).toBe(0);
    expect(expectedSpikes.reduce((a, b) => a + b, 0)).toBeGreaterThan(1000);
    expect(out.states.shape).toEqual(g.states.shape);
    const states = Float32Array.from(out.states.dataSync());
    prediction.reset();
    tf.dispose([out.states, out.mu, out.logSigma, out.sample, spikes] as tf.Tensor[]);
    bev.dispose();
    prediction.dispose();
    // Everything allocated (outputs, membranes, folded-BN caches, parameters) is gone again.
    expect(tf.memory().numTensors).toBe(before);
    return { states, expected: floats(g.states) };
  }

  it('distribution, dual pathway and temporal mixing match with the reference arithmetic (conv → BN)', () => {
    const { states, expected } = runPrediction('layers', false);
    expectClose(states, expected, 1e-4);
  });

  it('the production path (BN folded, frame streaming) differs only by threshold ties', () => {
    // Folding BN into the conv changes the last bits of the charge; at this fixture one LIF input lands within
    // 1e-6 of the threshold (2.0000007 vs < 2 in the reference, future_prediction.layer2.0.sn1), and the flipped
    // spike spreads through the later blocks of that frame sequence. Every other value is exact, and every
    // difference is a whole number of spikes (states = input + Σ spikes).
    const { states, expected } = runPrediction('frames', true);
    let flips = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = states[i] - expected[i];
      if (Math.abs(d) <= 1e-4) continue;
      flips++;
      expect(Math.abs(d - Math.round(d))).toBeLessThan(1e-4);
    }
    expect(flips / expected.length).toBeLessThan(0.02);
  });

  it('the BEV decoder and every head match (production path: folded, fused heads, frame streaming)', () => {
    const before = tf.memory().numTensors;
    const decoder = new SadDecoder({ inChannels: C, nPresent: S, heads: ALL_DECODER_HEADS });
    decoder.loadStateDict(hashStateDict(decoder, gain));
    const input = hashInput([B, S + F, C, X, X], 'input.decoder', 2.0, 0.8);
    const out = decoder.forward(input);
    const g = golden.cases.decoder;
    const pairs: [tf.Tensor | undefined, Packed][] = [
      [out.segmentation, g.segmentation],
      [out.pedestrian, g.pedestrian],
      [out.hdmap, g.hdmap],
      [out.instanceCenter, g.instance_center],
      [out.instanceOffset, g.instance_offset],
      [out.instanceFlow, g.instance_flow],
      [out.costvolume, g.costvolume],
    ];
    for (const [actual, expected] of pairs) {
      expect(actual?.shape).toEqual(expected.shape);
      expectClose((actual as tf.Tensor).dataSync(), floats(expected), 1e-4);
    }
    decoder.reset();
    tf.dispose(Object.values(out));
    input.dispose();
    decoder.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the fixture exercises the spiking layers (reference firing rates 5–45 %)', () => {
    const rates = golden.cases.firing_rates;
    for (const key of [
      'future_prediction.dual_lif.lif1',
      'future_prediction.dual_lif.lif2',
      'future_prediction.dual_lif.conv_decoder_lif.2',
      'future_prediction.layer3.1.sn2',
      'decoder.up1_lif',
      'decoder.layer3.1.sn2',
    ]) {
      expect(rates[key]).toBeGreaterThan(0.05);
      expect(rates[key]).toBeLessThan(0.45);
    }
  });
});
