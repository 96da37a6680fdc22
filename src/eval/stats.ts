// Seeded bootstrap statistics for comparing runs (hand-written: a percentile bootstrap over per-sample values is a
// few lines, and the statistics packages on npm are unmaintained or far larger than this).
import { createRng } from '../util/index.ts';

export interface Interval {
  /** The statistic on the full sample. */
  estimate: number;
  /** Percentile bootstrap interval. */
  low: number;
  high: number;
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return values.length > 0 ? sum / values.length : Number.NaN;
}

export function median(values: ArrayLike<number>): number {
  const sorted = Array.from(values).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Percentile bootstrap of a statistic over n items: `statistic(indices)` is evaluated on `resamples` draws of n
 * indices with replacement (seeded), and the central `confidence` interval of those values is returned.
 */
export function bootstrap(
  n: number,
  statistic: (indices: Int32Array | null) => number,
  options: { resamples?: number; confidence?: number; seed?: number | string } = {},
): Interval {
  const estimate = statistic(null);
  const resamples = options.resamples ?? 2000;
  const confidence = options.confidence ?? 0.95;
  if (n < 2 || !Number.isFinite(estimate)) return { estimate, low: estimate, high: estimate };
  const rng = createRng(options.seed ?? 0);
  const values = new Float64Array(resamples);
  const indices = new Int32Array(n);
  let kept = 0;
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = Math.floor(rng.next() * n);
    const v = statistic(indices);
    if (Number.isFinite(v)) values[kept++] = v;
  }
  if (kept === 0) return { estimate, low: Number.NaN, high: Number.NaN };
  const sorted = values.subarray(0, kept).sort();
  const tail = (1 - confidence) / 2;
  return { estimate, low: percentile(sorted, tail), high: percentile(sorted, 1 - tail) };
}

/**
 * Percentile bootstrap of a two-sample statistic (unpaired): both groups are resampled independently (seeded), e.g.
 * the difference of two runs' median latencies.
 */
export function bootstrapTwo(
  nA: number,
  nB: number,
  statistic: (a: Int32Array | null, b: Int32Array | null) => number,
  options: { resamples?: number; confidence?: number; seed?: number | string } = {},
): Interval {
  const estimate = statistic(null, null);
  const resamples = options.resamples ?? 2000;
  const confidence = options.confidence ?? 0.95;
  if (nA < 2 || nB < 2 || !Number.isFinite(estimate)) return { estimate, low: estimate, high: estimate };
  const rng = createRng(options.seed ?? 0);
  const values = new Float64Array(resamples);
  const ia = new Int32Array(nA);
  const ib = new Int32Array(nB);
  let kept = 0;
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < nA; i++) ia[i] = Math.floor(rng.next() * nA);
    for (let i = 0; i < nB; i++) ib[i] = Math.floor(rng.next() * nB);
    const v = statistic(ia, ib);
    if (Number.isFinite(v)) values[kept++] = v;
  }
  if (kept === 0) return { estimate, low: Number.NaN, high: Number.NaN };
  const sorted = values.subarray(0, kept).sort();
  const tail = (1 - confidence) / 2;
  return { estimate, low: percentile(sorted, tail), high: percentile(sorted, 1 - tail) };
}

/** Mean of `values` over `indices` (all when null). */
export function meanOver(values: ArrayLike<number>, indices: Int32Array | null): number {
  if (!indices) return mean(values);
  let sum = 0;
  for (let i = 0; i < indices.length; i++) sum += values[indices[i]];
  return sum / indices.length;
}

/** Σ numerator / Σ denominator over `indices` (all when null): IoU-style ratios of summed counts. */
export function ratioOver(
  numerator: ArrayLike<number>,
  denominator: ArrayLike<number>,
  indices: Int32Array | null,
): number {
  let num = 0;
  let den = 0;
  const n = indices ? indices.length : numerator.length;
  for (let i = 0; i < n; i++) {
    const k = indices ? indices[i] : i;
    num += numerator[k];
    den += denominator[k];
  }
  return den > 0 ? num / den : Number.NaN;
}
