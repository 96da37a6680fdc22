// The fused spike op (registered kernels SpikedriveSpike / SpikedriveSurrogateGrad): forward Θ and backward
// dy·g′ against the float64 formulas of SpikingJelly's surrogates, on wasm and cpu with native and composite
// kernels and through the customGrad fallback; firing at ≥ vs > exactly at threshold; no tensors left behind.
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadNativeKernels,
  type NativeKernels,
  patchBackendKernels,
  SPIKE_KERNEL,
  type SpikeSurrogate,
  spikeOp,
  unpatchBackendKernels,
} from '../../../src/snn/backend/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

const SURROGATES: SpikeSurrogate[] = [
  { kind: 'sigmoid', alpha: 4 },
  { kind: 'atan', alpha: 2 },
  { kind: 'fast-sigmoid', slope: 25 },
];

function g(s: SpikeSurrogate, u: number): number {
  if (s.kind === 'sigmoid') {
    const sg = 1 / (1 + Math.exp(-s.alpha * u));
    return s.alpha * sg * (1 - sg);
  }
  if (s.kind === 'atan') {
    const w = (Math.PI / 2) * s.alpha * u;
    return s.alpha / 2 / (1 + w * w);
  }
  const d = s.slope * Math.abs(u) + 1;
  return 1 / (d * d);
}

// Membrane values around a threshold of 1, including exactly 1 and far tails; 70 001 values so the native
// kernels take their vector loop, their scalar tail and (above 2^17 elements … not here) one thread.
const N = 70_001;
const V = new Float32Array(N);
for (let i = 0; i < N; i++) V[i] = -6 + (14 * i) / N;
V[0] = 1;
V[1] = 1e30;
V[2] = -1e30;
const DY = new Float32Array(N).map((_, i) => ((i % 7) - 3) / 3);

function check(s: SpikeSurrogate, firing: 'geq' | 'gt'): void {
  const before = tf.memory().numTensors;
  const v = tf.tensor1d(V);
  const dy = tf.tensor1d(DY);
  const y = spikeOp(v, { threshold: 1, surrogate: s, firing });
  const grad = tf.grad((x: tf.Tensor) =>
    tf.sum(tf.mul(spikeOp(x, { threshold: 1, surrogate: s, firing }), dy)),
  )(v);
  const ys = y.dataSync();
  const gs = grad.dataSync();
  for (let i = 0; i < N; i++) {
    const u = Math.fround(V[i] - 1);
    const fired = (firing === 'geq' ? u >= 0 : u > 0) ? 1 : 0;
    if (ys[i] !== fired) throw new Error(`Θ at v=${V[i]}: ${ys[i]}, want ${fired}`);
    const want = DY[i] * g(s, u);
    if (!(Math.abs(gs[i] - want) <= 1e-6)) throw new Error(`${s.kind} at v=${V[i]}: ${gs[i]} vs ${want}`);
  }
  tf.dispose([v, dy, y, grad]);
  expect(tf.memory().numTensors).toBe(before);
}

const native: NativeKernels | null = (await loadNativeKernels()).kernels;
beforeAll(() => {
  tf.env().set('IS_TEST', true);
});
afterAll(() => {
  unpatchBackendKernels('cpu');
  unpatchBackendKernels('wasm');
});

const SPIKE_CONFIGS = [
  { backend: 'wasm', impl: 'native' },
  { backend: 'wasm', impl: 'composite' },
  { backend: 'cpu', impl: 'native' },
  { backend: 'cpu', impl: 'fallback' },
] as const;

describe.each(SPIKE_CONFIGS.filter((c) => c.impl !== 'native' || native))(
  'spikeOp on $backend ($impl)',
  ({ backend, impl }) => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      if (impl === 'fallback') unpatchBackendKernels(backend);
      else patchBackendKernels(backend, { native: impl === 'native' ? native : null, threads: 2 });
    });

    it('uses the path under test', () => {
      expect(tf.getKernel(SPIKE_KERNEL, backend) !== undefined).toBe(impl !== 'fallback');
    });

    for (const s of SURROGATES) {
      for (const firing of ['geq', 'gt'] as const) {
        it(`${s.kind} surrogate, firing ${firing}: Θ exact, gradient within 1e-6 of the float64 formula`, () => {
          check(s, firing);
        });
      }
    }
  },
);

describe('spikeOp inputs', () => {
  it('rejects a non-positive surrogate constant with a SpikedriveError', () => {
    const v = tf.zeros([2]);
    expect(() => spikeOp(v, { surrogate: { kind: 'atan', alpha: 0 } })).toThrow(SpikedriveError);
    expect(() => spikeOp(v, { surrogate: { kind: 'atan', alpha: 0 } })).toThrow(/positive finite constant/);
    v.dispose();
  });

  it('accepts int32 input (cast to float32) without leaking', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const v = tf.tensor1d([0, 1, 2], 'int32');
    const y = spikeOp(v, { threshold: 1, surrogate: { kind: 'sigmoid', alpha: 4 } });
    expect(Array.from(y.dataSync())).toEqual([0, 1, 1]);
    tf.dispose([v, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
