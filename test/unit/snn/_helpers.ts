// Shared set-up for the spiking-core tests: the cpu back end (small shapes only) and closeness checks.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { SpikedriveError } from '../../../src/util/errors.ts';

export async function useCpu(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Element-wise |a − b| ≤ tol. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tol)) {
      throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]} (|diff| ${diff} > ${tol})`);
    }
  }
}

/** σ(x) in float64 for hand computations. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Runs `fn`, expects a SpikedriveError whose message (and fix, when given) match. */
export function expectSpikedriveError(fn: () => unknown, message: RegExp, fix?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SpikedriveError);
  const e = caught as SpikedriveError;
  expect(e.message).toMatch(message);
  if (fix) expect(e.fix).toMatch(fix);
}
