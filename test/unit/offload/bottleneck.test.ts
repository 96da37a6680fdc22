import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BoundaryBottleneck,
  fitBottleneck,
  formatSweep,
  spikeBits,
  sweepBottleneck,
} from '../../../src/offload/bottleneck.ts';
import { Instrument } from '../../../src/snn/index.ts';
import { expectSpikedriveError, useCpu } from './_helpers.ts';

beforeAll(useCpu);

/** A boundary tensor with low-rank channel structure: [T, B, H, W, C] = basis (rank 3) mixed per position. */
function boundaryTensor(seed: number): tf.Tensor {
  return tf.tidy(() => {
    const codes = tf.randomUniform([3, 2, 6, 6, 3], 0, 2, 'float32', seed);
    const mix = tf.randomNormal([3, 16], 0, 1, 'float32', 99);
    return tf.reshape(tf.matMul(tf.reshape(codes, [-1, 3]), mix), [3, 2, 6, 6, 16]);
  });
}

describe('spike traffic', () => {
  it('takes the cheaper of a bitmap and address events', () => {
    // 1000 slots, 10 spikes over 100 neurons per step: AER 10·7 = 70 bits < 1000.
    expect(spikeBits(1000, 10, 100)).toEqual({ bits: 70, encoding: 'address-events' });
    // 500 spikes: AER 3500 > bitmap 1000.
    expect(spikeBits(1000, 500, 100)).toEqual({ bits: 1000, encoding: 'bitmap' });
  });
});

describe('boundary bottleneck', () => {
  it('narrows C to round(ratio·C) spiking channels, widens back, and counts what crosses', () => {
    const b = new BoundaryBottleneck({ channels: 16, ratio: 0.25, boundary: 'perception->prediction' });
    expect(b.width).toBe(4);
    const x = boundaryTensor(1);
    const instrument = new Instrument();
    const y = b.forward(x, { instrument });
    expect(y.shape).toEqual(x.shape);
    const t = b.lastTraffic;
    expect(t?.denseBits).toBe(3 * 2 * 6 * 6 * 16 * 32);
    expect(t?.spikeSlots).toBe(3 * 2 * 6 * 6 * 4);
    expect(t?.bits).toBeLessThanOrEqual(t?.spikeSlots ?? 0);
    expect(t?.trafficRatio).toBeLessThan(1 / 32 / 4 + 1e-9);
    expect(instrument.finishSync().boundaryBits['perception->prediction']).toBeGreaterThan(0);
    tf.dispose([x, y]);
    b.dispose();
  });

  it('learns to reconstruct its boundary tensor (reconstruction error falls)', () => {
    const b = new BoundaryBottleneck({ channels: 16, ratio: 0.5, boundary: 'x->y' });
    const samples = [boundaryTensor(2), boundaryTensor(3)];
    const before = tf.tidy(() => {
      const y = b.forward(samples[0]);
      return tf.mean(tf.square(tf.sub(y, samples[0]))).dataSync()[0];
    });
    const fit = fitBottleneck(b, samples, { steps: 40, learningRate: 0.03 });
    expect(fit.losses).toHaveLength(40);
    expect(fit.finalMse).toBeLessThan(before);
    tf.dispose(samples);
    b.dispose();
  });

  it('sweeps ratios: traffic grows with the width; metrics come from the caller', async () => {
    const samples = [boundaryTensor(4)];
    const points = await sweepBottleneck({
      boundary: 'a->b',
      channels: 16,
      ratios: [0.125, 0.5, 1],
      trainSamples: samples,
      fitSteps: 5,
      evaluate: async (bottleneck) => {
        const y = bottleneck.forward(samples[0]);
        const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(y, samples[0]))).dataSync()[0]);
        y.dispose();
        return {
          metrics: { mse },
          traffic: bottleneck.lastTraffic as NonNullable<typeof bottleneck.lastTraffic>,
        };
      },
    });
    expect(points.map((p) => p.width)).toEqual([2, 8, 16]);
    expect(points[0].traffic.spikeSlots).toBeLessThan(points[2].traffic.spikeSlots);
    expect(formatSweep(points, { metrics: { mse: 0 }, denseBits: points[0].traffic.denseBits })).toMatch(
      /\| none \(dense\) \|/,
    );
    tf.dispose(samples);
  });

  it('rejects a ratio outside (0, 1] and a tensor of another width', async () => {
    await expectSpikedriveError(
      () => new BoundaryBottleneck({ channels: 8, ratio: 0, boundary: 'a->b' }),
      /ratio must be in \(0, 1\]/,
    );
    const b = new BoundaryBottleneck({ channels: 8, ratio: 0.5, boundary: 'a->b' });
    const x = tf.zeros([1, 1, 2, 2, 4]);
    await expectSpikedriveError(() => b.forward(x), /expects 8 channels/);
    x.dispose();
    b.dispose();
  });
});
