// The neuron paths on the wasm back end, where 'auto' switches between the fused loop (inference) and op-by-op
// tensor kernels (training): both must give the same spikes, membranes and gradients as on the cpu back end.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autoPrefersFused, LifNode, type LifNodeOptions } from '../../../src/snn/index.ts';
import { expectClose, values } from './_helpers.ts';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('LIF on wasm', () => {
  const variants: LifNodeOptions[] = [
    {},
    { detachReset: true },
    { vReset: null },
    { stateQuant: { bits: 4, uniform: false } },
  ];

  it('fused and op-by-op paths agree bit for bit, and auto picks fused for inference only', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(autoPrefersFused()).toBe(true);
    tf.grad((x: tf.Tensor) => {
      expect(autoPrefersFused()).toBe(false);
      return tf.sum(x);
    })(tf.scalar(1));
    const x = tf.randomNormal([5, 2, 3, 4], 0.7, 1.2, 'float32', 7);
    for (const options of variants) {
      const a = new LifNode({ ...options, impl: 'fused' });
      const b = new LifNode({ ...options, impl: 'composed' });
      expect(values(a.forward(x))).toEqual(values(b.forward(x)));
      expect(values(a.membrane as tf.Tensor)).toEqual(values(b.membrane as tf.Tensor));
      a.reset();
      b.reset();
      const ga = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(a.forward(v), v)))(x);
      const gb = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(b.forward(v), v)))(x);
      expectClose(values(ga), values(gb), 1e-5);
      a.dispose();
      b.dispose();
    }
  });
});
