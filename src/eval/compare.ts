// `spikedrive compare RUN_A RUN_B`: metric, energy and latency deltas between two runs, with a verdict per metric
// only where the difference exceeds the noise. The rule (docs/evaluation.md, "Comparing runs"):
//  - metrics and energy are compared on the samples both runs scored (paired by sample token); a seeded paired
//    bootstrap over those samples gives a 95 % interval of B − A (ratios such as IoU and PQ are resampled from their
//    per-sample counts, so the interval is that of the dataset-level number);
//  - latency and throughput are resampled per run (unpaired: timing noise is not tied to the sample);
//  - with `--repeat RUN_A2` (RUN_A run again with the same seed and settings), the measured run-to-run difference
//    |A2 − A| is a second floor the difference must exceed;
//  - a verdict (better / worse, for B relative to A) is given only when the interval excludes 0 and the difference
//    exceeds the repeat floor; otherwise "within noise". Identical per-sample values give "same".
import { SpikedriveError } from '../util/index.ts';
import type { RunFolder } from './run-folder.ts';
import type { FrameIndexEntry, MetricEntry } from './run-format.ts';
import { bootstrap, bootstrapTwo, type Interval, mean, meanOver, median } from './stats.ts';
import { alignColumns, type OutputFormat } from './summary.ts';

export type Verdict = 'better' | 'worse' | 'within noise' | 'same' | 'too few samples' | 'not comparable';

export interface MetricComparison {
  section: 'perception' | 'prediction' | 'planning' | 'energy' | 'latency' | 'throughput';
  /** e.g. `l2`, `iou`, `pq`, `energy`, `latency`. */
  metric: string;
  /** What the row shows, e.g. `L2 @ 2 s (st-p3)`. */
  label: string;
  unit: string;
  class?: string;
  module?: string;
  horizonS?: number;
  convention?: string;
  better: 'lower' | 'higher';
  /** Each run's value over all its samples (metrics.json where it has the number). */
  a: number | null;
  b: number | null;
  delta: number | null;
  /** B − A on the shared samples (paired) or per run (unpaired), with its bootstrap interval. */
  difference: Interval | null;
  pairing: 'paired' | 'unpaired';
  /** Samples the interval rests on (paired: shared samples; unpaired: the smaller run). */
  samples: number;
  /** |A2 − A| measured from a repeat of RUN_A, when given. */
  repeatNoise: number | null;
  verdict: Verdict;
}

export interface RunComparison {
  a: { dir: string; label: string | undefined; samples: number };
  b: { dir: string; label: string | undefined; samples: number };
  repeat: { dir: string } | null;
  sharedSamples: number;
  bootstrap: { resamples: number; confidence: number; seed: number; minSamples: number };
  warnings: string[];
  rows: MetricComparison[];
}

export interface CompareOptions {
  /** RUN_A run again with the same seed and settings: measures run-to-run noise directly. */
  repeat?: RunFolder;
  resamples?: number;
  confidence?: number;
  seed?: number;
  /** Fewer shared (or, unpaired, per-run) samples than this give no better/worse verdict (default 10). */
  minSamples?: number;
}

interface PerStep {
  l2M: number[];
  objCol: number[];
  objBoxCol: number[];
}

type Extractor = (e: FrameIndexEntry) => number[] | null;

/** A per-sample quantity: the numbers each sample contributes, and how they combine into the run's value. */
interface Quantity {
  row: Omit<
    MetricComparison,
    'a' | 'b' | 'delta' | 'difference' | 'pairing' | 'samples' | 'repeatNoise' | 'verdict'
  >;
  /** The sample's components (null: the sample has none, e.g. a failed plan). */
  extract: Extractor;
  /** Combines the components of the chosen samples. */
  combine: (columns: Columns, indices: Int32Array | null) => number;
  pairing: 'paired' | 'unpaired';
  /** The run-level value from metrics.json, when it has it. */
  fromMetrics?: (entries: MetricEntry[]) => number | null;
}

/** Per-sample components stored column-wise (component k of sample i is `columns[k][i]`). */
type Columns = Float64Array[];

const meanOfFirst = (columns: Columns, indices: Int32Array | null) => meanOver(columns[0], indices);

function medianCombine(columns: Columns, indices: Int32Array | null): number {
  if (!indices) return median(columns[0]);
  return median(Array.from(indices, (i) => columns[0][i]));
}

/** Σ numerator / Σ denominator over the chosen samples (denominator floored at `floor` when > 0, else NaN at 0). */
function sumRatio(
  columns: Columns,
  indices: Int32Array | null,
  numerator: (c: Columns, i: number) => number,
  denominator: (c: Columns, i: number) => number,
  floor: number,
): number {
  let n = 0;
  let d = 0;
  const count = indices ? indices.length : columns[0].length;
  for (let k = 0; k < count; k++) {
    const i = indices ? indices[k] : k;
    n += numerator(columns, i);
    d += denominator(columns, i);
  }
  return floor > 0 ? n / Math.max(d, floor) : d > 0 ? n / d : Number.NaN;
}

function entry(entries: MetricEntry[], predicate: (e: MetricEntry) => boolean): number | null {
  return entries.find(predicate)?.value ?? null;
}

function planningQuantities(nFuture: number): Quantity[] {
  const out: Quantity[] = [];
  const names = { l2: 'l2M', obj_box_col: 'objBoxCol', obj_col: 'objCol' } as const;
  const labels = { l2: 'L2', obj_box_col: 'collision (box)', obj_col: 'collision (point)' } as const;
  for (const convention of ['st-p3', 'uniad'] as const) {
    for (let h = 1; 2 * h <= nFuture; h++) {
      for (const metric of ['l2', 'obj_box_col', 'obj_col'] as const) {
        const steps = 2 * h;
        const scale = metric === 'l2' ? 1 : 100;
        out.push({
          row: {
            section: 'planning',
            metric,
            label: `${labels[metric]} @ ${h} s (${convention})`,
            unit: metric === 'l2' ? 'm' : '%',
            horizonS: h,
            convention,
            better: 'lower',
          },
          extract: (e) => {
            const per = e.scalars.perStep as PerStep | undefined;
            const values = per?.[names[metric]];
            if (!values || values.length < steps) return null;
            const v = convention === 'st-p3' ? mean(values.slice(0, steps)) : values[steps - 1];
            return [v * scale];
          },
          combine: meanOfFirst,
          pairing: 'paired',
          fromMetrics: (entries) => {
            const v = entry(
              entries,
              (x) => x.metric === metric && x.convention === convention && x.horizonS === h,
            );
            return v === null ? null : v * scale;
          },
        });
      }
    }
  }
  return out;
}

function countQuantities(): Quantity[] {
  const out: Quantity[] = [];
  for (const [key, cls, section, horizon] of [
    ['vehicle@present', 'vehicle', 'perception', 0],
    ['pedestrian@present', 'pedestrian', 'perception', 0],
    ['drivable@present', 'drivable', 'perception', 0],
    ['lane@present', 'lane', 'perception', 0],
    ['vehicle', 'vehicle', 'prediction', 1],
    ['pedestrian', 'pedestrian', 'prediction', 1],
  ] as const) {
    out.push({
      row: {
        section,
        metric: 'iou',
        label: `IoU ${cls} (${section === 'perception' ? 'present' : 'present + future'})`,
        unit: '%',
        class: cls,
        better: 'higher',
      },
      extract: (e) => {
        const c = (e.scalars.counts as Record<string, number[]> | undefined)?.[key];
        return c ? c.map((v) => v) : null;
      },
      combine: (c, indices) =>
        100 *
        sumRatio(
          c,
          indices,
          (x, i) => x[0][i],
          (x, i) => x[0][i] + x[1][i] + x[2][i],
          0,
        ),
      pairing: 'paired',
      fromMetrics: (entries) => {
        const v = entry(
          entries,
          (x) =>
            x.metric === 'iou' &&
            x.class === cls &&
            (horizon === 0 ? x.horizonS === 0 : (x.horizonS ?? 0) > 0),
        );
        return v === null ? null : 100 * v;
      },
    });
  }
  // Panoptic sums per sample: [ΣIoU, TP, FP, FN] of the vehicle class; the reference floors denominators at 1.
  const pqDen = (x: Columns, i: number) => x[1][i] + x[2][i] / 2 + x[3][i] / 2;
  const ratios = {
    pq: [(x: Columns, i: number) => x[0][i], pqDen],
    sq: [(x: Columns, i: number) => x[0][i], (x: Columns, i: number) => x[1][i]],
    rq: [(x: Columns, i: number) => x[1][i], pqDen],
  } as const;
  for (const name of ['pq', 'sq', 'rq'] as const) {
    const [numerator, denominator] = ratios[name];
    out.push({
      row: {
        section: 'prediction',
        metric: name,
        label: `${name.toUpperCase()} vehicle`,
        unit: '%',
        class: 'vehicle',
        better: 'higher',
      },
      extract: (e) => (e.scalars.counts as Record<string, number[]> | undefined)?.panopticVehicle ?? null,
      combine: (c, indices) => 100 * sumRatio(c, indices, numerator, denominator, 1),
      pairing: 'paired',
      fromMetrics: (entries) => {
        const v = entry(entries, (x) => x.metric === name);
        return v === null ? null : 100 * v;
      },
    });
  }
  return out;
}

function energyQuantities(modules: string[]): Quantity[] {
  return [...modules, 'total'].map((module) => ({
    row: {
      section: 'energy',
      metric: 'energy',
      label: `energy ${module}`,
      unit: 'mJ/frame',
      module,
      better: 'lower',
    },
    extract: (e) => {
      const m = e.scalars.energyMj as Record<string, number> | undefined;
      if (!m) return null;
      if (module === 'total') return [Object.values(m).reduce((a, b) => a + b, 0)];
      return typeof m[module] === 'number' ? [m[module]] : null;
    },
    combine: meanOfFirst,
    pairing: 'paired',
  }));
}

function latencyQuantities(modules: string[]): Quantity[] {
  const out: Quantity[] = modules.map((module) => ({
    row: {
      section: 'latency',
      metric: 'latency',
      label: `latency ${module} (median)`,
      unit: 'ms',
      module,
      better: 'lower',
    },
    extract: (e) => {
      const v = (e.scalars.latencyMs as Record<string, number> | undefined)?.[module];
      return typeof v === 'number' ? [v] : null;
    },
    combine: medianCombine,
    pairing: 'unpaired',
  }));
  out.push({
    row: {
      section: 'throughput',
      metric: 'frames_per_s',
      label: 'frames/s (end to end)',
      unit: '1/s',
      better: 'higher',
    },
    extract: (e) => {
      const v = (e.scalars.timingMs as Record<string, number> | undefined)?.sample;
      return typeof v === 'number' && v > 0 ? [v] : null;
    },
    combine: (c, indices) => 1000 / meanOver(c[0], indices),
    pairing: 'unpaired',
  });
  return out;
}

function keysOf(index: readonly FrameIndexEntry[], field: string): string[] {
  const keys: string[] = [];
  for (const e of index) {
    const o = e.scalars[field] as Record<string, unknown> | undefined;
    if (!o) continue;
    for (const k of Object.keys(o)) if (!keys.includes(k)) keys.push(k);
  }
  return keys;
}

function toColumns(rows: number[][]): Columns {
  const width = rows.length > 0 ? rows[0].length : 1;
  return Array.from({ length: width }, (_, k) => Float64Array.from(rows, (r) => r[k] ?? 0));
}

function parts(
  index: readonly FrameIndexEntry[],
  extract: Extractor,
): { tokens: string[]; rows: number[][] } {
  const tokens: string[] = [];
  const rows: number[][] = [];
  for (const e of index) {
    const v = extract(e);
    if (v?.every(Number.isFinite)) {
      tokens.push(e.token);
      rows.push(v);
    }
  }
  return { tokens, rows };
}

/** Paired values of two runs on their shared tokens, in A's order. */
function pairUp(a: { tokens: string[]; rows: number[][] }, b: { tokens: string[]; rows: number[][] }) {
  const inB = new Map(b.tokens.map((t, i) => [t, i]));
  const pa: number[][] = [];
  const pb: number[][] = [];
  a.tokens.forEach((t, i) => {
    const j = inB.get(t);
    if (j !== undefined) {
      pa.push(a.rows[i]);
      pb.push(b.rows[j]);
    }
  });
  return { a: pa, b: pb };
}

function decide(
  q: Quantity,
  difference: Interval | null,
  repeatNoise: number | null,
  identical: boolean,
  samples: number,
  minSamples: number,
): Verdict {
  if (!difference || !Number.isFinite(difference.estimate)) return 'not comparable';
  if (identical) return 'same';
  // A percentile bootstrap over a handful of samples understates the spread: no verdict from so little.
  if (samples < minSamples) return 'too few samples';
  const excludesZero = difference.low > 0 || difference.high < 0;
  const beyondRepeat = repeatNoise === null || Math.abs(difference.estimate) > repeatNoise;
  if (!excludesZero || !beyondRepeat) return 'within noise';
  const lower = difference.estimate < 0;
  return lower === (q.row.better === 'lower') ? 'better' : 'worse';
}

/** Compares two runs (B relative to A). */
export function compareRuns(runA: RunFolder, runB: RunFolder, options: CompareOptions = {}): RunComparison {
  const resamples = options.resamples ?? 2000;
  const confidence = options.confidence ?? 0.95;
  const seed = options.seed ?? 0;
  if (!(Number.isInteger(resamples) && resamples >= 100)) {
    throw new SpikedriveError(`--bootstrap must be an integer ≥ 100, got ${resamples}`, {
      subject: '--bootstrap',
      fix: 'Use e.g. --bootstrap 2000.',
    });
  }
  const warnings: string[] = [];
  const ma = runA.manifest;
  const mb = runB.manifest;
  if (ma.dataset.version !== mb.dataset.version || ma.dataset.split !== mb.dataset.split) {
    warnings.push(
      `the runs cover different data (${ma.dataset.version} ${ma.dataset.split} vs ${mb.dataset.version} ${mb.dataset.split}); metrics are compared on shared samples only`,
    );
  }
  if (ma.nFuture !== mb.nFuture)
    warnings.push(`the runs plan different horizons (F = ${ma.nFuture} vs ${mb.nFuture})`);
  if (ma.seed !== mb.seed) {
    warnings.push(
      `the runs use different seeds (${ma.seed} vs ${mb.seed}): candidate sampling differs, a noise source the bootstrap does not cover (give --repeat to measure it)`,
    );
  }
  if (ma.backend.name !== mb.backend.name) {
    warnings.push(
      `the runs ran on different back ends (${ma.backend.name} vs ${mb.backend.name}): latency is not like for like`,
    );
  }
  for (const run of [runA, runB]) {
    if (run.manifest.status !== 'complete')
      warnings.push(`${run.dir} is still running (${run.index.length} samples so far)`);
  }
  const shared = new Set(runA.index.map((e) => e.token));
  const sharedSamples = runB.index.filter((e) => shared.has(e.token)).length;
  if (sharedSamples === 0) warnings.push('the runs share no sample: metric differences get no verdict');

  const quantities: Quantity[] = [
    ...countQuantities(),
    ...planningQuantities(Math.min(ma.nFuture, mb.nFuture)),
    ...energyQuantities(keysOf([...runA.index, ...runB.index], 'energyMj')),
    ...latencyQuantities(keysOf([...runA.index, ...runB.index], 'latencyMs')),
  ];
  const rows: MetricComparison[] = [];
  quantities.forEach((q, k) => {
    const pa = parts(runA.index, q.extract);
    const pb = parts(runB.index, q.extract);
    if (pa.rows.length === 0 && pb.rows.length === 0) return;
    const ca = toColumns(pa.rows);
    const cb = toColumns(pb.rows);
    const value = (run: RunFolder, rows: number[][], columns: Columns) =>
      (q.fromMetrics && run.metrics ? q.fromMetrics(run.metrics.entries) : null) ??
      (rows.length ? q.combine(columns, null) : null);
    const a = value(runA, pa.rows, ca);
    const b = value(runB, pb.rows, cb);
    const bootOptions = { resamples, confidence, seed: `${seed}/${k}` };
    let difference: Interval | null = null;
    let samples = 0;
    let identical = false;
    if (q.pairing === 'paired') {
      const paired = pairUp(pa, pb);
      samples = paired.a.length;
      if (samples > 0) {
        identical = paired.a.every((v, i) => v.every((x, j) => x === paired.b[i][j]));
        const xa = toColumns(paired.a);
        const xb = toColumns(paired.b);
        difference = bootstrap(
          samples,
          (indices) => q.combine(xb, indices) - q.combine(xa, indices),
          bootOptions,
        );
      }
    } else if (pa.rows.length > 0 && pb.rows.length > 0) {
      samples = Math.min(pa.rows.length, pb.rows.length);
      difference = bootstrapTwo(
        pa.rows.length,
        pb.rows.length,
        (ia, ib) => q.combine(cb, ib) - q.combine(ca, ia),
        bootOptions,
      );
    }
    let repeatNoise: number | null = null;
    if (options.repeat) {
      const pr = parts(options.repeat.index, q.extract);
      if (q.pairing === 'paired') {
        const paired = pairUp(pa, pr);
        if (paired.a.length > 0) {
          repeatNoise = Math.abs(q.combine(toColumns(paired.b), null) - q.combine(toColumns(paired.a), null));
        }
      } else if (pr.rows.length > 0 && pa.rows.length > 0) {
        repeatNoise = Math.abs(q.combine(toColumns(pr.rows), null) - q.combine(ca, null));
      }
    }
    rows.push({
      ...q.row,
      a,
      b,
      delta: a !== null && b !== null ? b - a : null,
      difference,
      pairing: q.pairing,
      samples,
      repeatNoise,
      verdict: decide(q, difference, repeatNoise, identical, samples, options.minSamples ?? 10),
    });
  });
  return {
    a: { dir: runA.dir, label: ma.label, samples: runA.index.length },
    b: { dir: runB.dir, label: mb.label, samples: runB.index.length },
    repeat: options.repeat ? { dir: options.repeat.dir } : null,
    sharedSamples,
    bootstrap: { resamples, confidence, seed, minSamples: options.minSamples ?? 10 },
    warnings,
    rows,
  };
}

// ------------------------------------------------------------------------------------------------ rendering

const num = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);

function digitsFor(unit: string): number {
  return unit === 'm' ? 3 : unit === 'ms' || unit === '%' ? 2 : 3;
}

function signed(v: number | null, digits: number): string {
  if (v === null || !Number.isFinite(v)) return '—';
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;
}

function noiseText(r: MetricComparison): string {
  if (!r.difference) return '—';
  const d = digitsFor(r.unit);
  return `[${signed(r.difference.low, d)}, ${signed(r.difference.high, d)}]`;
}

function table(c: RunComparison): string[][] {
  const header = [
    '',
    'A',
    'B',
    'B − A',
    `${Math.round(c.bootstrap.confidence * 100)} % interval of B − A`,
    'n',
    'verdict',
  ];
  if (c.repeat) header.splice(5, 0, '|A2 − A|');
  const rows = c.rows.map((r) => {
    const d = digitsFor(r.unit);
    const row = [
      `${r.label} (${r.unit})`,
      num(r.a, d),
      num(r.b, d),
      signed(r.delta, d),
      noiseText(r),
      `${r.samples}${r.pairing === 'paired' ? '' : '*'}`,
      r.verdict === 'better' || r.verdict === 'worse' ? `B ${r.verdict}` : r.verdict,
    ];
    if (c.repeat) row.splice(5, 0, num(r.repeatNoise, d));
    return row;
  });
  return [header, ...rows];
}

function heading(c: RunComparison): string[] {
  return [
    `spikedrive compare — A: ${c.a.label ?? c.a.dir} (${c.a.samples} samples)`,
    `                     B: ${c.b.label ?? c.b.dir} (${c.b.samples} samples)`,
    `  ${c.sharedSamples} shared samples; seeded bootstrap, ${c.bootstrap.resamples} resamples; n* = unpaired (latency)`,
    ...c.warnings.map((w) => `  warning: ${w}`),
  ];
}

export function formatComparison(c: RunComparison, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(c, null, 2)}\n`;
  if (format === 'csv') {
    const header =
      'section,metric,class,module,horizon_s,convention,unit,a,b,delta,low,high,pairing,samples,repeat_noise,verdict';
    const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
    const lines = c.rows.map((r) =>
      [
        r.section,
        r.metric,
        r.class,
        r.module,
        r.horizonS,
        r.convention,
        r.unit,
        r.a,
        r.b,
        r.delta,
        r.difference?.low,
        r.difference?.high,
        r.pairing,
        r.samples,
        r.repeatNoise,
        r.verdict,
      ]
        .map(cell)
        .join(','),
    );
    return `${[header, ...lines].join('\n')}\n`;
  }
  const rows = table(c);
  if (format === 'md') {
    const out = [
      `### ${heading(c)[0].trim()}`,
      ...heading(c)
        .slice(1)
        .map((l) => `- ${l.trim()}`),
      '',
    ];
    out.push(`| ${rows[0].join(' | ')} |`);
    out.push(`|${rows[0].map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of rows.slice(1)) out.push(`| ${row.join(' | ')} |`);
    return `${out.join('\n')}\n`;
  }
  return `${[...heading(c), '', alignColumns(rows)].join('\n')}\n`;
}
