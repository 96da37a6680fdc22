// Shared set-up for the perception tests: small options, a forward-facing test camera, and closeness checks.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { PerceptionOptions } from '../../../src/perception/index.ts';
import { loadSadConfig, perceptionOptions } from '../../../src/pipeline/index.ts';
import { selectBackend } from '../../../src/snn/index.ts';
import { SpikedriveError } from '../../../src/util/errors.ts';

export async function useCpu(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

/** The cpu back end as a user's CPU run gets it: conv kernels patched (native where they build). */
export async function useFastCpu(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await selectBackend({ preferred: 'cpu' });
}

/** A tiny but complete configuration: 32×48 images (4×6 features), BEV ±4 m at 0.5 m (16×16), depth 2, 3, 4 m. */
export function tinyOptions(over: Partial<PerceptionOptions> = {}): PerceptionOptions {
  return {
    imageSize: [32, 48],
    receptiveField: 2,
    xBound: [-4, 4, 0.5],
    yBound: [-4, 4, 0.5],
    zBound: [-1, 3, 4],
    dBound: [2, 5, 1],
    discount: 0.5,
    embedDims: 16,
    timeSteps: 2,
    outChannels: 4,
    headHiddenChannels: 4,
    inputEgopose: true,
    ...over,
  };
}

/** Camera (x right, y down, z forward) → lidar frame (x forward, y left, z up), looking forward. */
export const FORWARD_ROTATION = [0, 0, 1, -1, 0, 0, 0, -1, 0];
/** The same camera turned to look backward (z → −x, x → +y). */
export const BACKWARD_ROTATION = [0, 0, -1, 1, 0, 0, 0, -1, 0];

/** The reference shapes (the `paper` preset): 224×480 images, S = 3, BEV ±50 m at 0.5 m, width 384, T = 4. */
export function paperOptions(over: Partial<PerceptionOptions> = {}): PerceptionOptions {
  return { ...perceptionOptions(loadSadConfig('paper')), ...over };
}

/** Row-major 4×4 [R | t]. */
export function extrinsic(rotation: number[], t: [number, number, number]): number[] {
  return [
    ...rotation.slice(0, 3),
    t[0],
    ...rotation.slice(3, 6),
    t[1],
    ...rotation.slice(6, 9),
    t[2],
    0,
    0,
    0,
    1,
  ];
}

/** Pinhole intrinsics [[f, 0, cx], [0, f, cy], [0, 0, 1]]. */
export function intrinsic(f: number, cx: number, cy: number): number[] {
  return [f, 0, cx, 0, f, cy, 0, 0, 1];
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tol))
      throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]} (|diff| ${diff} > ${tol})`);
  }
}

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
