// `spikedrive compare`: deltas with a verdict only where the difference exceeds the noise (paired bootstrap over
// shared samples, unpaired for latency, the |A2 − A| floor of a repeat run, no verdict from a handful of samples).
import { describe, expect, it } from 'vitest';
import { compareRuns, formatComparison, type MetricComparison } from '../../../src/eval/compare.ts';
import { bootstrap, bootstrapTwo, mean, median } from '../../../src/eval/stats.ts';
import { createRng } from '../../../src/util/index.ts';
import { type FakeSample, fakeRun } from './fake-run.ts';

const rng = createRng('compare-test');
/** 40 samples with per-step L2 growing over the horizon and some spread between samples. */
const baseL2 = Array.from({ length: 40 }, () => {
  const scale = 0.5 + rng.next();
  return Array.from({ length: 6 }, (_, k) => scale * 0.3 * (k + 1));
});

function row(rows: MetricComparison[], label: string): MetricComparison {
  const r = rows.find((x) => x.label === label);
  if (!r) throw new Error(`no row ${label}: ${rows.map((x) => x.label).join(', ')}`);
  return r;
}

describe('stats', () => {
  it('mean, median and a seeded bootstrap interval around the estimate', () => {
    expect(mean([1, 2, 3, 10])).toBe(4);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const values = Array.from({ length: 200 }, (_, i) => (i % 10) / 10);
    const stat = (idx: Int32Array | null) => mean(idx ? Array.from(idx, (i) => values[i]) : values);
    const a = bootstrap(values.length, stat, { seed: 1 });
    expect(bootstrap(values.length, stat, { seed: 1 })).toEqual(a);
    expect(a.estimate).toBeCloseTo(0.45, 12);
    expect(a.low).toBeLessThan(0.45);
    expect(a.high).toBeGreaterThan(0.45);
    // Standard error of the mean ≈ 0.287/√200 = 0.0203: the 95 % interval is about ±0.04.
    expect(a.high - a.low).toBeGreaterThan(0.06);
    expect(a.high - a.low).toBeLessThan(0.1);
    const constant = bootstrapTwo(5, 5, () => 2);
    expect(constant).toEqual({ estimate: 2, low: 2, high: 2 });
  });
});

describe('compareRuns', () => {
  it('identical runs: every metric "same"', async () => {
    const samples: FakeSample[] = baseL2.map((l2) => ({ l2 }));
    const a = await fakeRun('same-a', samples);
    const b = await fakeRun('same-b', samples);
    const c = compareRuns(a, b);
    expect(c.sharedSamples).toBe(40);
    for (const r of c.rows.filter((x) => x.section === 'planning')) {
      expect(r.verdict).toBe('same');
      expect(r.delta).toBe(0);
    }
  });

  it('a clear shift gets a verdict; a shift inside the spread does not', async () => {
    const a = await fakeRun(
      'shift-a',
      baseL2.map((l2) => ({ l2 })),
    );
    const shifted = baseL2.map((l2) => l2.map((v) => v + 0.5 + 0.05 * rng.normal()));
    const worse = await fakeRun(
      'shift-b',
      shifted.map((l2) => ({ l2 })),
    );
    const c = compareRuns(a, worse);
    const l2At3 = row(c.rows, 'L2 @ 3 s (st-p3)');
    expect(l2At3.verdict).toBe('worse');
    expect(l2At3.delta).toBeCloseTo(mean(shifted.map((l2, i) => mean(l2) - mean(baseL2[i]))), 9);
    expect(l2At3.difference?.low).toBeGreaterThan(0.4);
    expect(l2At3.difference?.high).toBeLessThan(0.6);
    // Noise only: ± 0.3 m per sample around the same values.
    const noisy = await fakeRun(
      'noisy-b',
      baseL2.map((l2) => ({ l2: l2.map((v) => v + 0.3 * rng.normal()) })),
    );
    const n = compareRuns(a, noisy);
    const stillWithin = n.rows
      .filter((r) => r.metric === 'l2')
      .filter((r) => r.verdict === 'within noise').length;
    expect(stillWithin).toBeGreaterThanOrEqual(5); // of 6 (a 95 % interval misses about one time in twenty)
    const better = compareRuns(worse, a);
    expect(row(better.rows, 'L2 @ 3 s (st-p3)').verdict).toBe('better');
  });

  it('a repeat run of A sets a floor: a difference smaller than |A2 − A| is within noise', async () => {
    const a = await fakeRun(
      'rep-a',
      baseL2.map((l2) => ({ l2 })),
    );
    const b = await fakeRun(
      'rep-b',
      baseL2.map((l2) => ({ l2: l2.map((v) => v + 0.2) })),
    );
    const a2 = await fakeRun(
      'rep-a2',
      baseL2.map((l2) => ({ l2: l2.map((v) => v + 0.3) })),
    );
    expect(row(compareRuns(a, b).rows, 'L2 @ 2 s (uniad)').verdict).toBe('worse');
    const withRepeat = compareRuns(a, b, { repeat: a2 });
    const r = row(withRepeat.rows, 'L2 @ 2 s (uniad)');
    expect(r.repeatNoise).toBeCloseTo(0.3, 9);
    expect(r.verdict).toBe('within noise');
    expect(formatComparison(withRepeat, 'table')).toContain('|A2 − A|');
  });

  it('IoU from per-sample counts: the dataset-level ratio, with a verdict when the counts differ clearly', async () => {
    const counts = (tp: number) => ({ 'vehicle@present': [tp, 10, 10], vehicle: [tp, 20, 20] });
    const a = await fakeRun(
      'iou-a',
      baseL2.map((l2, i) => ({ l2, counts: counts(20 + (i % 5)) })),
    );
    const b = await fakeRun(
      'iou-b',
      baseL2.map((l2, i) => ({ l2, counts: counts(40 + (i % 5)) })),
    );
    const c = compareRuns(a, b);
    const iou = row(c.rows, 'IoU vehicle (present)');
    // Σtp / Σ(tp + fp + fn): A = 880 / (880 + 800), B = 1680 / (1680 + 800).
    expect(iou.a).toBeCloseTo((100 * 880) / 1680, 9);
    expect(iou.b).toBeCloseTo((100 * 1680) / 2480, 9);
    expect(iou.verdict).toBe('better');
  });

  it('latency is compared unpaired; failed samples and short runs get no verdict', async () => {
    const a = await fakeRun(
      'lat-a',
      baseL2.map((l2, i) => ({ l2, latencyMs: { planning: 10 + (i % 3), total: 10 } })),
    );
    const b = await fakeRun(
      'lat-b',
      baseL2.map((l2, i) => ({ l2, latencyMs: { planning: 20 + (i % 3), total: 20 } })),
    );
    const lat = row(compareRuns(a, b).rows, 'latency planning (median)');
    expect(lat.pairing).toBe('unpaired');
    expect(lat.delta).toBe(10);
    expect(lat.verdict).toBe('worse');
    const few = await fakeRun(
      'few',
      baseL2.slice(0, 5).map((l2) => ({ l2: l2.map((v) => v + 1) })),
    );
    const fewA = await fakeRun(
      'few-a',
      baseL2.slice(0, 5).map((l2) => ({ l2 })),
    );
    expect(row(compareRuns(fewA, few).rows, 'L2 @ 1 s (st-p3)').verdict).toBe('too few samples');
    const failed = await fakeRun('failed', [
      ...baseL2.slice(0, 20).map((l2) => ({ l2 })),
      ...baseL2.slice(20).map(() => ({ l2: [], failure: { kind: 'threw', message: 'x' } })),
    ]);
    expect(row(compareRuns(a, failed).rows, 'L2 @ 1 s (st-p3)').samples).toBe(20);
  });

  it('renders csv, markdown and json, and warns about unlike runs', async () => {
    const a = await fakeRun(
      'fmt-a',
      baseL2.map((l2) => ({ l2 })),
    );
    const b = await fakeRun(
      'fmt-b',
      baseL2.map((l2) => ({ l2 })),
      { manifest: { seed: 7 } },
    );
    const c = compareRuns(a, b);
    expect(c.warnings.join(' ')).toContain('different seeds (0 vs 7)');
    const csv = formatComparison(c, 'csv').split('\n');
    expect(csv[0]).toBe(
      'section,metric,class,module,horizon_s,convention,unit,a,b,delta,low,high,pairing,samples,repeat_noise,verdict',
    );
    expect(csv.some((l) => l.startsWith('planning,l2,,,3,st-p3,m,'))).toBe(true);
    expect(formatComparison(c, 'md')).toContain('| L2 @ 1 s (st-p3) (m) |');
    expect(JSON.parse(formatComparison(c, 'json')).rows.length).toBe(c.rows.length);
  });
});
