// Loads the reference perception golden (test/fixtures/model-golden/perception/make_golden.py) and rebuilds the
// formula weights and LCG images it was made with.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StateTensor } from '../../../src/snn/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const GOLDEN_PATH = join(here, '../../fixtures/model-golden/perception/golden.json');

export interface Packed {
  shape: number[];
  f32: string;
}

export interface PerceptionGolden {
  config: {
    B: number;
    S: number;
    N: number;
    H: number;
    W: number;
    T: number;
    X_BOUND: [number, number, number];
    Y_BOUND: [number, number, number];
    Z_BOUND: [number, number, number];
    D_BOUND: [number, number, number];
    EMBED_DIMS: number;
    OUT_CHANNELS: number;
    DEPTH_BINS: number;
    HEAD_HIDDEN_CHANNELS: number;
    DISCOUNT: number;
    image_seed: number;
  };
  checks: {
    cumsum_error: number;
    geometry_flips_f32_vs_f64: number;
    points_kept: number;
    points_truncated_into_cell_0: number;
  };
  weight_checksum: number;
  inputs: { intrinsics: Packed; extrinsics: Packed; future_egomotion: Packed };
  frustum: Packed;
  paper_linspace: { x: Packed; y: Packed; depth: Packed };
  outputs: { bev: Packed; feature: Packed; depth: Packed; cam_front: Packed };
}

export function loadGolden(): PerceptionGolden {
  return JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as PerceptionGolden;
}

export function unpack(p: Packed): Float32Array {
  const bytes = Buffer.from(p.f32, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The LCG of make_golden.py: s ← 1664525·s + 1013904223 mod 2^32, value ((s >> 8)/2^24 − 0.5)·4. */
export function lcgImages(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(1664525, s) + 1013904223) >>> 0;
    out[i] = ((s >>> 8) / 16777216 - 0.5) * 4;
  }
  return out;
}

/** make_golden.py `formula`: every encoder tensor from its name, shape and position k in the sorted names. */
export function formulaStateDict(
  names: { name: string; shape: number[]; dtype: string }[],
): Map<string, StateTensor> {
  const sorted = names.map((p) => p.name).sort();
  const all = new Set(sorted);
  const out = new Map<string, StateTensor>();
  for (const p of names) {
    const k = sorted.indexOf(p.name);
    const leaf = p.name.slice(p.name.lastIndexOf('.') + 1);
    const base = p.name.slice(0, p.name.lastIndexOf('.'));
    if (leaf === 'num_batches_tracked') {
      out.set(p.name, { shape: [], dtype: 'int64', data: BigInt64Array.of(0n) });
      continue;
    }
    const n = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isBn = all.has(`${base}.running_mean`);
    const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      const s = Math.sin(0.37 * i + 0.11 * k);
      let v: number;
      if (isBn) {
        if (leaf === 'weight') v = 1.0 + 0.2 * s;
        else if (leaf === 'bias') v = 0.9 + 0.8 * s;
        else if (leaf === 'running_mean') v = 0.1 * s;
        else v = 1.0 + 0.5 * s * s;
      } else if (leaf === 'weight') v = (2.5 / Math.sqrt(fanIn)) * s;
      else v = 0.05 * s;
      data[i] = v;
    }
    out.set(p.name, { shape: p.shape, dtype: 'float32', data });
  }
  return out;
}
