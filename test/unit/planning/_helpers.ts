// Shared set-up for the planning tests: the cpu back end and closeness checks with a useful failure message.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { SpikedriveError } from '../../../src/util/errors.ts';

export async function useCpu(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

/** |a − b| ≤ tol · max(1, |b|) element-wise; names the first offending element. */
export function expectNear(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what = '',
): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`${what} element ${i}: ${actual[i]} vs ${expected[i]} (|diff| ${diff} > ${tol})`);
    }
  }
}

/** Runs `fn`, expects a SpikedriveError whose message (and fix, when given) match. */
export function expectSpikedriveError(fn: () => unknown, message: RegExp, fix?: RegExp): SpikedriveError {
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
  return e;
}
