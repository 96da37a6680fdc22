import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ATAN_SURROGATE,
  detach,
  FAST_SIGMOID_SURROGATE,
  heaviside,
  SIGMOID_SURROGATE,
  spike,
  surrogateGradient,
} from '../../../src/snn/index.ts';
import { expectClose, expectSpikedriveError, sigmoid, useCpu, values } from './_helpers.ts';

beforeAll(useCpu);

const points = [-1.5, -0.3, 0, 0.05, 0.4, 2];

describe('surrogate gradients', () => {
  it('Sigmoid(α=4): forward Θ(x ≥ 0), gradient α·σ(αx)(1 − σ(αx))', () => {
    const x = tf.tensor1d(points);
    expect(values(spike(x, SIGMOID_SURROGATE))).toEqual([0, 0, 1, 1, 1, 1]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(spike(v, SIGMOID_SURROGATE)))(x);
    expectClose(
      values(g),
      points.map((p) => 4 * sigmoid(4 * p) * (1 - sigmoid(4 * p))),
      1e-6,
    );
    // At the threshold the sigmoid surrogate peaks at α/4 = 1.
    expect(surrogateGradient(SIGMOID_SURROGATE, 0)).toBeCloseTo(1, 12);
  });

  it('ATan(α=2): gradient (α/2)/(1 + (π/2·α·x)²)', () => {
    const x = tf.tensor1d(points);
    const g = tf.grad((v: tf.Tensor) => tf.sum(spike(v, ATAN_SURROGATE)))(x);
    expectClose(
      values(g),
      points.map((p) => 1 / (1 + (Math.PI * p) ** 2)),
      1e-6,
    );
    expect(surrogateGradient(ATAN_SURROGATE, 0)).toBe(1);
    // At x = 1/π: 1 / (1 + 1) = 0.5.
    expect(surrogateGradient(ATAN_SURROGATE, 1 / Math.PI)).toBeCloseTo(0.5, 12);
  });

  it('fast sigmoid (k=25): gradient 1/(k|x| + 1)²', () => {
    const x = tf.tensor1d(points);
    const g = tf.grad((v: tf.Tensor) => tf.sum(spike(v, FAST_SIGMOID_SURROGATE)))(x);
    expectClose(
      values(g),
      points.map((p) => 1 / (25 * Math.abs(p) + 1) ** 2),
      1e-7,
    );
    // x = 0.04: 1/(1 + 1)² = 0.25.
    expect(surrogateGradient(FAST_SIGMOID_SURROGATE, 0.04)).toBeCloseTo(0.25, 12);
  });

  it('fires at exactly zero for ≥ (SpikingJelly) but not for > (snnTorch/NIR)', () => {
    const x = tf.tensor1d([-1e-7, 0, 1e-7]);
    expect(values(heaviside(x, 'geq'))).toEqual([0, 1, 1]);
    expect(values(heaviside(x, 'gt'))).toEqual([0, 0, 1]);
    expect(values(spike(x, ATAN_SURROGATE, 'gt'))).toEqual([0, 0, 1]);
  });

  it('detach passes values and stops gradients', () => {
    const x = tf.tensor1d([0.5, -2]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(detach(v), 3), v)))(x);
    expect(values(g)).toEqual([1, 1]);
    expect(values(detach(x))).toEqual([0.5, -2]);
  });

  it('rejects a non-positive constant with a clear error', () => {
    expectSpikedriveError(
      () => spike(tf.tensor1d([1]), { kind: 'atan', alpha: 0 }),
      /positive finite/,
      /alpha > 0/,
    );
  });

  it('leaves no tensors behind in forward and backward', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d(points);
    const g = tf.grad((v: tf.Tensor) => tf.sum(spike(v, SIGMOID_SURROGATE)))(x);
    tf.dispose([x, g]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
