// Prediction and decoder on the wasm back end, where inference takes frames by gather (the wasm slice kernel copies
// its whole input) and streams frame by frame: the same spikes and outputs as on the cpu back end.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_DECODER_HEADS, SadDecoder, SadPrediction } from '../../../src/prediction/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectClose, hashInput, hashStateDict } from './_helpers.ts';

afterAll(async () => {
  await tf.setBackend('cpu');
});

async function runOn(backend: string): Promise<Record<string, number[]>> {
  await tf.setBackend(backend);
  await tf.ready();
  const prediction = new SadPrediction({
    inChannels: 6,
    latentDim: 3,
    nFuture: 2,
    hiddenChannels: 8,
    rng: createRng('wasm'),
  });
  const decoder = new SadDecoder({
    inChannels: 6,
    nPresent: 2,
    channels: [4, 6, 8],
    heads: ALL_DECODER_HEADS,
    rng: createRng('wasm'),
  });
  prediction.loadStateDict(hashStateDict(prediction, 6));
  decoder.loadStateDict(hashStateDict(decoder, 6));
  prediction.keepFutureSpikes = true;
  const bev = hashInput([2, 2, 6, 8, 8], 'wasm-parity');
  const out = prediction.forward(bev);
  const heads = decoder.forward(out.states);
  prediction.reset();
  decoder.reset();
  const result: Record<string, number[]> = {
    states: Array.from(out.states.dataSync()),
    futureSpikes: Array.from((out.futureSpikes as tf.Tensor).dataSync()),
  };
  for (const [k, v] of Object.entries(heads)) result[k] = Array.from(v.dataSync());
  tf.dispose([bev, out.states, out.mu, out.logSigma, out.sample, out.futureSpikes] as tf.Tensor[]);
  tf.dispose(Object.values(heads));
  prediction.dispose();
  decoder.dispose();
  return result;
}

describe('prediction on wasm', () => {
  it('matches the cpu back end (frame gathering and streaming)', async () => {
    const cpu = await runOn('cpu');
    const wasm = await runOn('wasm');
    expect(wasm.futureSpikes).toEqual(cpu.futureSpikes);
    expect(cpu.futureSpikes.some((v) => v === 1)).toBe(true);
    for (const key of Object.keys(cpu)) expectClose(wasm[key], cpu[key], 1e-4);
  });
});
