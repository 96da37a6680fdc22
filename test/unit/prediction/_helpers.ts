// Shared set-up for the prediction tests: the cpu back end, the hash fill both this side and the reference's
// make_golden.py compute (no weights are stored), and hand-settable parameters.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { ConvBn, type SnnModule, type StateTensor } from '../../../src/snn/index.ts';
import { SpikedriveError } from '../../../src/util/errors.ts';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The reference state-dict rows (name → PyTorch shape) whose names start with one of the prefixes, from this stage's
 * copy of /work/shared/reference/sad-state-dict.tsv (the paper config, all heads on).
 */
export function referenceRows(prefixes: string[]): Map<string, number[]> {
  const text = readFileSync(
    join(here, '../../fixtures/model-golden/prediction/sad-state-dict-prediction.tsv'),
    'utf8',
  );
  const rows = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, shape] = line.split('\t');
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    rows.set(name, shape === '' ? [] : shape.split('x').map(Number));
  }
  return rows;
}

export async function useCpu(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

/** FNV-1a of a tensor name (ASCII), the fill's per-tensor salt. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** u ∈ [−1, 1) per flat index: the murmur-style finaliser of make_golden.py `hash_uniform` (exact integer maths). */
export function hashUniform(n: number, salt: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 0x9e3779b1) + salt) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 0x2c1b3c6d) >>> 0;
    x = (x ^ (x >>> 12)) >>> 0;
    x = Math.imul(x, 0x297a2d39) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    out[i] = x / 2 ** 31 - 1;
  }
  return out;
}

/** make_golden.py `fill`: every parameter and buffer from its full name, in PyTorch layout. */
export function hashStateDict(module: SnnModule, gain: number): Map<string, StateTensor> {
  const params = module.namedParameters();
  const names = new Set(params.map((p) => p.name));
  const out = new Map<string, StateTensor>();
  for (const p of params) {
    if (p.dtype === 'int64') {
      out.set(p.name, { shape: p.shape, dtype: 'int64', data: BigInt64Array.of(0n) });
      continue;
    }
    const n = p.shape.reduce((a, b) => a * b, 1);
    const u = hashUniform(n, fnv1a(p.name));
    const dot = p.name.lastIndexOf('.');
    const stem = p.name.slice(0, dot);
    const leaf = p.name.slice(dot + 1);
    const bn = names.has(`${stem}.running_mean`);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let v: number;
      if (p.shape.length >= 2) {
        const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
        v = u[i] * gain * Math.sqrt(3 / fanIn);
      } else if (bn && leaf === 'weight') v = 1 + 0.3 * u[i];
      else if (bn && leaf === 'bias') v = 0.2 * u[i];
      else if (leaf === 'running_mean') v = 0.1 * u[i];
      else if (leaf === 'running_var') v = 1 + 0.2 * (u[i] + 1);
      else v = 0.1 * u[i];
      data[i] = v;
    }
    out.set(p.name, { shape: p.shape, dtype: 'float32', data });
  }
  return out;
}

/** make_golden.py `input_tensor`, in the reference layout (…, C, H, W) then moved to channels last. */
export function hashInput(shape: number[], salt: string, scale = 1.5, offset = 0.3): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = hashUniform(n, fnv1a(salt));
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = scale * u[i] + offset;
  return tf.tidy(() => {
    const t = tf.tensor(data, shape);
    const r = shape.length;
    const perm = [...Array.from({ length: r - 3 }, (_, i) => i), r - 2, r - 1, r - 3];
    return tf.transpose(t, perm);
  });
}

/**
 * Switches BN folding on or off in every conv+BN pair of a model (test-only reflection: the pairs are private to
 * the layers). Off, eval-mode arithmetic is the reference's conv → BN, operation for operation.
 */
export function setFolding(root: SnnModule, on: boolean): number {
  let n = 0;
  const visit = (value: unknown, depth: number): void => {
    if (value instanceof ConvBn) {
      value.fold = on;
      n++;
    } else if (depth < 2 && value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
      for (const v of Object.values(value)) visit(v, depth + 1);
    }
  };
  for (const module of root.modules()) {
    for (const v of Object.values(module)) visit(v, 0);
  }
  return n;
}

/** Sets named parameters (PyTorch layout, flat values) and leaves the rest as they are. */
export function setParams(module: SnnModule, values: Record<string, number[] | number>): void {
  const shapes = new Map(module.namedParameters().map((p) => [p.name, p.shape]));
  const entries = new Map<string, StateTensor>();
  for (const [name, v] of Object.entries(values)) {
    const shape = shapes.get(name);
    if (shape === undefined) throw new Error(`no parameter ${name}`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = typeof v === 'number' ? new Float32Array(n).fill(v) : Float32Array.from(v);
    if (data.length !== n) throw new Error(`${name}: ${data.length} values for shape [${shape}]`);
    entries.set(name, { shape, dtype: 'float32', data });
  }
  module.loadStateDict(entries, { strict: false });
}

/** Zeroes every float parameter (and sets running variances to 1) so a test can set only what it needs. */
export function zeroParams(module: SnnModule): void {
  const values: Record<string, number> = {};
  for (const p of module.namedParameters()) {
    if (p.dtype !== 'float32') continue;
    values[p.name] = p.name.endsWith('running_var') || isBnWeight(module, p.name) ? 1 : 0;
  }
  setParams(module, values);
}

function isBnWeight(module: SnnModule, name: string): boolean {
  if (!name.endsWith('.weight')) return false;
  const stem = name.slice(0, -'.weight'.length);
  return module.namedParameters().some((p) => p.name === `${stem}.running_mean`);
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

/** Element-wise |a − b| ≤ tol·max(1, |b|). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!(diff <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`element ${i}: ${actual[i]} vs ${expected[i]} (|diff| ${diff} > ${tol})`);
    }
  }
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
