// The deterministic inputs of test/fixtures/model-golden/planning/make_golden.py, recomputed here: a 32-bit LCG
// for BEV grids and the CAM_FRONT feature, numpy's MT19937 (numpyRandomState) for candidates, a formula for weights.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  type CostMaps,
  numpyRandomState,
  sampleTrajectories,
  withoutOrigin,
} from '../../../src/planning/index.ts';
import type { SnnModule, StateTensor } from '../../../src/snn/index.ts';

export interface Packed {
  shape: number[];
  f32: string;
}

export function floats(p: Packed): Float32Array {
  const bytes = Buffer.from(p.f32, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

const here = dirname(fileURLToPath(import.meta.url));
export const GOLDEN_PATH = join(here, '../../fixtures/model-golden/planning/golden.json');

export function loadGolden<T>(): T {
  return JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as T;
}

export class Lcg {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  step(): number {
    this.s = (Math.imul(1664525, this.s) + 1013904223) >>> 0;
    return this.s;
  }
  u(): number {
    return this.step() / 4294967296;
  }
  below(n: number): number {
    return Math.floor(this.u() * n);
  }
}

/** [F, X, Y] 0/1: 14 boxes per frame. */
export function occupancyGrid(lcg: Lcg, F: number, X: number, Y: number): Float32Array {
  const occ = new Float32Array(F * X * Y);
  for (let t = 0; t < F; t++) {
    for (let k = 0; k < 14; k++) {
      const r0 = lcg.below(X);
      const c0 = lcg.below(Y);
      const h = 2 + lcg.below(8);
      const w = 2 + lcg.below(4);
      for (let r = r0; r < Math.min(X, r0 + h); r++) {
        for (let c = c0; c < Math.min(Y, c0 + w); c++) occ[(t * X + r) * Y + c] = 1;
      }
    }
  }
  return occ;
}

/** [2, X, Y] channels-first [lane, drivable] masks, as the script's hd_masks. */
function hdMasksFirst(lcg: Lcg, X: number, Y: number): Float32Array {
  const out = new Float32Array(2 * X * Y);
  const lane = (r: number, c: number) => r * Y + c;
  const drv = (r: number, c: number) => X * Y + r * Y + c;
  const mid = Math.floor(Y / 2);
  const band = Math.floor(Y / 8);
  for (let r = 0; r < X; r++) for (let c = mid - band; c < mid + band; c++) out[drv(r, c)] = 1;
  for (let k = 0; k < 6; k++) {
    const r0 = lcg.below(X);
    const c0 = lcg.below(Y);
    const r1 = r0 + 1 + lcg.below(Math.floor(X / 4));
    const c1 = c0 + 1 + lcg.below(Math.floor(Y / 4));
    for (let r = r0; r < Math.min(X, r1); r++) for (let c = c0; c < Math.min(Y, c1); c++) out[drv(r, c)] = 1;
  }
  const gap = Math.floor(Y / 16);
  for (let r = 0; r < X; r++) {
    out[lane(r, mid - gap)] = 1;
    out[lane(r, mid + gap)] = 1;
  }
  for (let k = 0; k < X; k++) {
    const r = lcg.below(X);
    const c = lcg.below(Y);
    out[lane(r, c)] = 1;
  }
  return out;
}

/** Channels-last HD map [X, Y, 2] (masks) or [X, Y, 4] (logits), as the script's hd_masks / hd_logits. */
export function hdMap(lcg: Lcg, X: number, Y: number, kind: 'masks' | 'logits'): Float32Array {
  const masks = hdMasksFirst(lcg, X, Y);
  if (kind === 'masks') {
    const out = new Float32Array(X * Y * 2);
    for (let i = 0; i < X * Y; i++) {
      out[i * 2] = masks[i];
      out[i * 2 + 1] = masks[X * Y + i];
    }
    return out;
  }
  const out = new Float32Array(X * Y * 4);
  for (let k = 0; k < 2; k++) {
    for (let i = 0; i < X * Y; i++) {
      const bg = 2 * lcg.u() - 1;
      const fg = 2 * lcg.u() - 1 + (masks[k * X * Y + i] > 0 ? 0.8 : -0.8);
      out[i * 4 + 2 * k] = bg;
      out[i * 4 + 2 * k + 1] = fg;
    }
  }
  return out;
}

export function costVolume(lcg: Lcg, F: number, X: number, Y: number): Float32Array {
  const out = new Float32Array(F * X * Y);
  for (let i = 0; i < out.length; i++) {
    const u = lcg.u();
    out[i] = u < 0.01 ? 1100 : (u - 0.15) * 1.5;
  }
  return out;
}

/** The script's lcg_feature in NCHW, returned NHWC [B, h, w, C]. */
export function lcgFeature(seed: number, B: number, C: number, h: number, w: number): tf.Tensor4D {
  const lcg = new Lcg(seed);
  const n = B * C * h * w;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((lcg.step() >>> 8) / 16777216 - 0.5) * 4;
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [B, C, h, w]), [0, 2, 3, 1]) as tf.Tensor4D);
}

export function gtTrajectory(B: number, F: number): Float32Array {
  const out = new Float32Array(B * F * 3);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < F; t++) {
      const o = (b * F + t) * 3;
      out[o] = (0.15 + 0.1 * b) * (t + 1) ** 2 * (b % 2 === 0 ? 1 : -1);
      out[o + 1] = 1.7 * (t + 1) + 0.3 * b;
      out[o + 2] = 0.01 * t;
    }
  }
  return out;
}

/** Candidates [B, N, F, 3] without the origin, from numpy seeds as the script's sample_candidates. */
export function candidates(seeds: number[][], N: number, F: number): Float32Array {
  const out = new Float32Array(seeds.length * N * F * 3);
  seeds.forEach(([seed, v0, steering], b) => {
    const set = sampleTrajectories({ v0Mps: v0, steeringRad: steering }, numpyRandomState(seed), {
      sampleNum: N,
      nFutureFrames: F,
    });
    out.set(withoutOrigin(set.data, N, F + 1), b * N * F * 3);
  });
  return out;
}

/** The BEV inputs of one cost/planning case, in the script's draw order (all occupancy, all maps, all volumes). */
export function caseMaps(
  lcgSeed: number,
  B: number,
  F: number,
  X: number,
  Y: number,
  kind: 'masks' | 'logits',
): { maps: CostMaps[]; occupancy: Float32Array[]; hdmap: Float32Array[]; costVolume: Float32Array[] } {
  const lcg = new Lcg(lcgSeed);
  const occupancy = Array.from({ length: B }, () => occupancyGrid(lcg, F, X, Y));
  const hdmap = Array.from({ length: B }, () => hdMap(lcg, X, Y, kind));
  const cv = Array.from({ length: B }, () => costVolume(lcg, F, X, Y));
  const maps = occupancy.map((occ, b) => ({
    occupancy: occ,
    hdmap: { data: hdmap[b], channels: kind },
    costVolume: cv[b],
  }));
  return { maps, occupancy, hdmap, costVolume: cv };
}

/** Fills a planning module by the script's fill_weights formula (k = position in `names`). */
export function fillWeights(module: SnnModule, names: string[]): void {
  const current = module.stateDict();
  const all = new Set(current.keys());
  const out = new Map<string, StateTensor>(current);
  names.forEach((name, k) => {
    const leaf = name.slice(name.lastIndexOf('.') + 1);
    if (leaf === 'num_batches_tracked') return;
    const entry = current.get(name);
    if (entry === undefined) throw new Error(`no parameter ${name}`);
    const n = entry.shape.reduce((a, b) => a * b, 1);
    const base = name.slice(0, name.lastIndexOf('.'));
    const isBn = all.has(`${base}.running_mean`);
    const data = new Float32Array(n);
    const fanIn = entry.shape.slice(1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      const s = Math.sin(0.37 * i + 0.11 * k);
      let v: number;
      if (isBn) {
        v = { weight: 1 + 0.2 * s, bias: 0.1 * s, running_mean: 0.1 * s, running_var: 1 + 0.5 * s * s }[
          leaf as 'weight'
        ];
      } else if (leaf === 'weight') v = (1.5 / Math.sqrt(fanIn)) * s;
      else v = 0.05 * s;
      data[i] = v;
    }
    out.set(name, { shape: entry.shape, dtype: 'float32', data });
  });
  module.loadStateDict(out);
}
