// Shared set-up for the offload tests: the cpu back end, seeded blocks with non-trivial BN statistics.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { BatchNorm2d, type SnnModule } from '../../../src/snn/index.ts';
import { SpikedriveError } from '../../../src/util/errors.ts';

export async function useCpu(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

/** Gives every BN of a module seeded, non-trivial running statistics and affine parameters. */
export function randomiseBatchNorms(module: SnnModule, seed = 1): void {
  let k = seed;
  for (const m of module.modules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const c = m.numFeatures;
    tf.tidy(() => {
      m.runningMean.assign(tf.randomUniform([c], -0.3, 0.3, 'float32', k++));
      m.runningVar.assign(tf.randomUniform([c], 0.4, 1.6, 'float32', k++));
      m.weight.assign(tf.randomUniform([c], 0.6, 2.2, 'float32', k++));
      m.bias.assign(tf.randomUniform([c], -0.3, 0.5, 'float32', k++));
    });
    m.version++;
  }
}

/** Counts positions where two float arrays differ (bit for bit) and the largest difference. */
export function compareArrays(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): { unequal: number; maxDiff: number } {
  expect(a.length).toBe(b.length);
  let unequal = 0;
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) unequal++;
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  }
  return { unequal, maxDiff };
}

/** Runs `fn` (sync or async), expects a SpikedriveError whose message (and fix, when given) match. */
export async function expectSpikedriveError(
  fn: () => unknown,
  message: RegExp,
  fix?: RegExp,
): Promise<SpikedriveError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SpikedriveError);
  const e = caught as SpikedriveError;
  expect(e.message).toMatch(message);
  if (fix) expect(e.fix).toMatch(fix);
  return e;
}

/** Graphs written by Norse, Rockpool, Sinabs and snnTorch (see fixtures/README.md). */
export const NIR_EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
