// The numbers of a run in one structure (from metrics.json, energy.json, the frame index and the resume state),
// and its renderings: the terminal table, JSON, CSV and Markdown (`spikedrive eval --format`).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunFolder } from './run-folder.ts';
import type { FrameIndexEntry, MetricEntry } from './run-format.ts';

export const OUTPUT_FORMATS = ['table', 'json', 'csv', 'md'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface LatencyStat {
  module: string;
  medianMs: number;
  meanMs: number;
  p90Ms: number;
  samples: number;
}

export interface EvaluationSummary {
  run: {
    dir: string;
    label: string | undefined;
    status: 'running' | 'complete';
    inputs: string;
    planner: { name: string; source: string; version?: string };
    /** The inputs the planner declared (absent: not recorded; 'all': a plain plugin given everything but the GT). */
    plannerInputs?: string[] | 'all';
    dataset: { dataroot: string; version: string; split: string };
    seed: number;
    backend: string;
    checkpoint: string | null;
    configHash: string;
    createdAt: string;
    finishedAt?: string;
  };
  samples: {
    /** Samples the run covers (its sample list). */
    total: number;
    /** Samples with a frame. */
    evaluated: number;
    /** Samples in the planning metrics. */
    planned: number;
    failed: number;
    /** Samples of the split without a trajectory in the file (--trajectories). */
    missing?: number;
  };
  /** Present-frame IoU per class (the paper's perception table); empty without a model. */
  perception: { class: string; iou: number | null }[];
  /** Vehicle IoU and PQ/SQ/RQ over the present and future frames; null without a model. */
  prediction: {
    horizonS: number;
    iou: number | null;
    pedestrianIou: number | null;
    pq: number | null;
    sq: number | null;
    rq: number | null;
  } | null;
  /** L2 (m) and collision rates (%) per horizon, labelled with the convention. */
  planning: {
    convention: string;
    horizonS: number;
    l2M: number | null;
    objBoxColPct: number | null;
    objColPct: number | null;
  }[];
  energy: {
    profile: string;
    method: string;
    /** mJ per frame by module (SNN), and the ANN equivalent. */
    modules: { module: string; mj: number; annMj: number }[];
    totalMj: number;
    annMj: number;
    annToSnnRatio: number | null;
  } | null;
  latency: LatencyStat[];
  throughput: { framesPerS: number | null; modelFramesPerS: number | null; wallS: number | null };
  failures: { byKind: Record<string, number>; examples: { token: string; kind: string; message: string }[] };
}

interface PlannerFailureScalar {
  kind: string;
  message: string;
}

function value(entries: MetricEntry[], predicate: (e: MetricEntry) => boolean): number | null {
  const e = entries.find(predicate);
  return e ? e.value : null;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Median, mean and p90 of the per-sample latencies by module; with `isolated` (a plugin planner) also the host's
 * share of each plan call (transfer to the worker and back).
 */
export function latencyStats(index: readonly FrameIndexEntry[], isolated = false): LatencyStat[] {
  const modules = ['perception', 'prediction', 'planning', 'total'];
  const out: LatencyStat[] = [];
  for (const module of modules) {
    const values = index
      .map((e) => (e.scalars.latencyMs as Record<string, number> | undefined)?.[module])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (values.length === 0 || (module === 'total' && out.length <= 1)) continue;
    values.sort((a, b) => a - b);
    out.push({
      module,
      medianMs: quantile(values, 0.5),
      meanMs: values.reduce((a, b) => a + b, 0) / values.length,
      p90Ms: quantile(values, 0.9),
      samples: values.length,
    });
  }
  const calls = index
    .map((e) => (e.scalars.timingMs as Record<string, number> | undefined)?.planCall)
    .filter((v): v is number => typeof v === 'number');
  const plans = index
    .map((e) => (e.scalars.latencyMs as Record<string, number> | undefined)?.planning)
    .filter((v): v is number => typeof v === 'number');
  if (isolated && calls.length > 0 && calls.length === plans.length) {
    // The host's share of a plan call: transfer to the plugin worker and back (≈ 0 for built-ins).
    const overhead = calls.map((c, i) => Math.max(0, c - plans[i])).sort((a, b) => a - b);
    out.push({
      module: 'plan-call overhead',
      medianMs: quantile(overhead, 0.5),
      meanMs: overhead.reduce((a, b) => a + b, 0) / overhead.length,
      p90Ms: quantile(overhead, 0.9),
      samples: overhead.length,
    });
  }
  return out;
}

/** Reads the evaluator's private state for the run time (absent for runs written by other tools). */
function elapsedMsOf(dir: string): number | null {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) return null;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as { elapsedMs?: unknown };
    return typeof state.elapsedMs === 'number' ? state.elapsedMs : null;
  } catch {
    return null;
  }
}

/** Everything `spikedrive eval` prints, from a run folder. */
export function summarizeRun(run: RunFolder): EvaluationSummary {
  const m = run.manifest;
  const entries = run.metrics?.entries ?? [];
  const evaluation = m.evaluation;
  const perception = ['vehicle', 'pedestrian', 'drivable', 'lane']
    .map((cls) => ({
      cls,
      e: entries.find((x) => x.metric === 'iou' && x.class === cls && x.horizonS === 0),
    }))
    .filter((x) => x.e)
    .map((x) => ({ class: x.cls, iou: x.e?.value ?? null }));
  const futureIou = entries.find((x) => x.metric === 'iou' && x.class === 'vehicle' && (x.horizonS ?? 0) > 0);
  const prediction = futureIou
    ? {
        horizonS: futureIou.horizonS ?? 0,
        iou: futureIou.value,
        pedestrianIou: value(
          entries,
          (x) => x.metric === 'iou' && x.class === 'pedestrian' && (x.horizonS ?? 0) > 0,
        ),
        pq: value(entries, (x) => x.metric === 'pq'),
        sq: value(entries, (x) => x.metric === 'sq'),
        rq: value(entries, (x) => x.metric === 'rq'),
      }
    : null;
  const pct = (v: number | null) => (v === null ? null : v * 100);
  const planning: EvaluationSummary['planning'] = [];
  for (const convention of ['st-p3', 'uniad']) {
    const horizons = [
      ...new Set(
        entries.filter((x) => x.metric === 'l2' && x.convention === convention).map((x) => x.horizonS),
      ),
    ];
    for (const h of horizons) {
      if (h === undefined) continue;
      const at = (metric: string) =>
        value(entries, (x) => x.metric === metric && x.convention === convention && x.horizonS === h);
      planning.push({
        convention,
        horizonS: h,
        l2M: at('l2'),
        objBoxColPct: pct(at('obj_box_col')),
        objColPct: pct(at('obj_col')),
      });
    }
  }
  const energy = run.energy
    ? {
        profile: `${run.energy.profile.name} (${run.energy.profile.id})`,
        method: run.energy.method,
        modules: run.energy.modules.map((x) => ({
          module: x.module,
          mj: x.energyJ * 1e3,
          annMj: x.annEquivalentJ * 1e3,
        })),
        totalMj: run.energy.totalJ * 1e3,
        annMj: run.energy.annEquivalentJ * 1e3,
        annToSnnRatio: run.energy.annToSnnRatio,
      }
    : null;
  const latency = latencyStats(run.index, m.evaluation?.isolated === true);
  const elapsedMs = elapsedMsOf(run.dir);
  const model = latency.filter(
    (l) => l.module === 'perception' || l.module === 'prediction' || l.module === 'planning',
  );
  const modelMs = model.reduce((a, l) => a + l.meanMs, 0);
  const failures = run.index
    .map((e) => ({ token: e.token, f: e.scalars.plannerFailure as PlannerFailureScalar | undefined }))
    .filter((x) => x.f);
  const byKind: Record<string, number> = {};
  for (const x of failures) byKind[x.f?.kind ?? '?'] = (byKind[x.f?.kind ?? '?'] ?? 0) + 1;
  const planned = value(entries, (x) => x.metric === 'planned_samples');
  return {
    run: {
      dir: run.dir,
      label: m.label,
      status: m.status,
      inputs: evaluation?.inputs ?? 'model',
      planner: {
        name: m.planner.name,
        source: m.planner.source,
        ...(m.planner.version ? { version: m.planner.version } : {}),
      },
      ...(evaluation?.plannerInputs ? { plannerInputs: evaluation.plannerInputs } : {}),
      dataset: { dataroot: m.dataset.dataroot, version: m.dataset.version, split: m.dataset.split },
      seed: m.seed,
      backend: m.backend.name,
      checkpoint: m.checkpoint?.path ?? null,
      configHash: m.configHash,
      createdAt: m.createdAt,
      ...(m.finishedAt ? { finishedAt: m.finishedAt } : {}),
    },
    samples: {
      total: m.dataset.sampleTokens.length,
      evaluated: run.index.length,
      planned: planned ?? 0,
      failed: failures.length,
      ...(evaluation?.missing !== undefined ? { missing: evaluation.missing } : {}),
    },
    perception,
    prediction,
    planning,
    energy,
    latency,
    throughput: {
      framesPerS: elapsedMs && run.index.length > 0 ? run.index.length / (elapsedMs / 1000) : null,
      modelFramesPerS: modelMs > 0 && latency.some((l) => l.module === 'perception') ? 1000 / modelMs : null,
      wallS: elapsedMs === null ? null : elapsedMs / 1000,
    },
    failures: {
      byKind,
      examples: failures.slice(0, 5).map((x) => ({
        token: x.token,
        kind: x.f?.kind ?? '?',
        message: x.f?.message ?? '',
      })),
    },
  };
}

// ------------------------------------------------------------------------------------------------ rendering

/** One number of the summary as a flat row (CSV, and the JSON `rows`). */
export interface SummaryRow {
  section: string;
  metric: string;
  class?: string;
  module?: string;
  horizonS?: number;
  convention?: string;
  value: number | null;
  unit: string;
}

export function summaryRows(s: EvaluationSummary): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const p of s.perception) {
    rows.push({
      section: 'perception',
      metric: 'iou',
      class: p.class,
      horizonS: 0,
      value: p.iou,
      unit: 'fraction',
    });
  }
  if (s.prediction) {
    const h = s.prediction.horizonS;
    rows.push({
      section: 'prediction',
      metric: 'iou',
      class: 'vehicle',
      horizonS: h,
      value: s.prediction.iou,
      unit: 'fraction',
    });
    if (s.prediction.pedestrianIou !== null) {
      rows.push({
        section: 'prediction',
        metric: 'iou',
        class: 'pedestrian',
        horizonS: h,
        value: s.prediction.pedestrianIou,
        unit: 'fraction',
      });
    }
    for (const k of ['pq', 'sq', 'rq'] as const) {
      if (s.prediction[k] !== null) {
        rows.push({
          section: 'prediction',
          metric: k,
          class: 'vehicle',
          horizonS: h,
          value: s.prediction[k],
          unit: 'fraction',
        });
      }
    }
  }
  for (const p of s.planning) {
    const base = { section: 'planning', horizonS: p.horizonS, convention: p.convention };
    rows.push({ ...base, metric: 'l2', value: p.l2M, unit: 'm' });
    rows.push({ ...base, metric: 'obj_box_col', value: p.objBoxColPct, unit: '%' });
    rows.push({ ...base, metric: 'obj_col', value: p.objColPct, unit: '%' });
  }
  if (s.energy) {
    for (const e of s.energy.modules) {
      rows.push({ section: 'energy', metric: 'energy', module: e.module, value: e.mj, unit: 'mJ/frame' });
    }
    rows.push({
      section: 'energy',
      metric: 'energy',
      module: 'total',
      value: s.energy.totalMj,
      unit: 'mJ/frame',
    });
    rows.push({
      section: 'energy',
      metric: 'ann_equivalent',
      module: 'total',
      value: s.energy.annMj,
      unit: 'mJ/frame',
    });
  }
  for (const l of s.latency) {
    rows.push({ section: 'latency', metric: 'median', module: l.module, value: l.medianMs, unit: 'ms' });
  }
  rows.push({ section: 'throughput', metric: 'frames_per_s', value: s.throughput.framesPerS, unit: '1/s' });
  if (s.throughput.modelFramesPerS !== null) {
    rows.push({
      section: 'throughput',
      metric: 'model_frames_per_s',
      value: s.throughput.modelFramesPerS,
      unit: '1/s',
    });
  }
  rows.push({ section: 'samples', metric: 'evaluated', value: s.samples.evaluated, unit: 'samples' });
  rows.push({ section: 'samples', metric: 'planned', value: s.samples.planned, unit: 'samples' });
  rows.push({ section: 'samples', metric: 'failed', value: s.samples.failed, unit: 'samples' });
  if (s.samples.missing !== undefined) {
    rows.push({ section: 'samples', metric: 'missing', value: s.samples.missing, unit: 'samples' });
  }
  return rows;
}

/** Three significant digits (energies span µJ to J between modules and models). */
const significant = (v: number) =>
  !Number.isFinite(v) ? '—' : Math.abs(v) >= 100 ? v.toFixed(1) : String(Number(v.toPrecision(3)));

const fixed = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);

/** Rows of cells → aligned text (first column left, the rest right). */
export function alignColumns(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
          .join('   ')
          .trimEnd(),
    )
    .join('\n');
}

export interface SummaryBlock {
  title: string;
  header?: string[];
  rows: string[][];
}

/** The summary as titled tables (the terminal, Markdown and HTML renderings share them). */
export function summaryBlocks(s: EvaluationSummary): SummaryBlock[] {
  const out: SummaryBlock[] = [];
  if (s.perception.length > 0) {
    out.push({
      title: 'Perception: BEV IoU, present frame',
      header: ['', ...s.perception.map((p) => p.class)],
      rows: [['IoU (%)', ...s.perception.map((p) => fixed(p.iou === null ? null : p.iou * 100, 2))]],
    });
  }
  if (s.prediction) {
    const p = s.prediction;
    const pct = (v: number | null) => fixed(v === null ? null : v * 100, 2);
    const columns: [string, number | null][] = [['vehicle IoU', p.iou]];
    if (p.pedestrianIou !== null) columns.push(['pedestrian IoU', p.pedestrianIou]);
    if (p.pq !== null) columns.push(['PQ', p.pq], ['SQ', p.sq], ['RQ', p.rq]);
    out.push({
      title: `Prediction: present + future frames (up to ${p.horizonS} s)${p.pq === null ? '; no instance head, so no PQ' : ''}`,
      header: ['', ...columns.map((c) => c[0])],
      rows: [['%', ...columns.map((c) => pct(c[1]))]],
    });
  }
  for (const convention of ['st-p3', 'uniad']) {
    const rows = s.planning.filter((p) => p.convention === convention);
    if (rows.length === 0) continue;
    out.push({
      title:
        convention === 'st-p3'
          ? 'Planning, ST-P3 convention (mean over the steps up to t; what SAD reports)'
          : 'Planning, UniAD convention (value at t)',
      header: ['', ...rows.map((r) => `${r.horizonS} s`)],
      rows: [
        ['L2 (m)', ...rows.map((r) => fixed(r.l2M, 3))],
        ['collision, ego box (%)', ...rows.map((r) => fixed(r.objBoxColPct, 2))],
        ['collision, centre point (%)', ...rows.map((r) => fixed(r.objColPct, 2))],
      ],
    });
  }
  if (s.energy) {
    const e = s.energy;
    out.push({
      title: `Energy per frame (${e.profile}, ${e.method})`,
      header: ['', ...e.modules.map((m) => m.module), 'total', 'ANN equiv.', 'ANN/SNN'],
      rows: [
        [
          'mJ',
          ...e.modules.map((m) => significant(m.mj)),
          significant(e.totalMj),
          significant(e.annMj),
          e.annToSnnRatio === null ? '—' : `${e.annToSnnRatio.toFixed(1)}×`,
        ],
      ],
    });
  }
  if (s.latency.length > 0) {
    out.push({
      title: 'Latency per sample (ms)',
      header: ['', 'median', 'mean', 'p90'],
      rows: s.latency.map((l) => [l.module, fixed(l.medianMs, 2), fixed(l.meanMs, 2), fixed(l.p90Ms, 2)]),
    });
  }
  return out;
}

/** The run's one-line description and notes (failures, missing trajectories, ground-truth inputs). */
export function summaryHeadline(s: EvaluationSummary): string[] {
  const r = s.run;
  const planner = `${r.planner.name}${r.planner.version ? ` ${r.planner.version}` : ''}${r.planner.source === 'builtin' ? '' : ` (${r.planner.source})`}`;
  const lines = [
    `spikedrive eval — ${r.dataset.version} ${r.dataset.split}, ${s.samples.evaluated}/${s.samples.total} samples${r.status === 'complete' ? '' : ' (running)'}`,
    `  inputs: ${r.inputs}   planner: ${planner}   seed: ${r.seed}   back end: ${r.backend}`,
  ];
  if (r.checkpoint) lines.push(`  checkpoint: ${r.checkpoint}`);
  const notes: string[] = [];
  if (s.samples.failed > 0) {
    const kinds = Object.entries(s.failures.byKind)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    notes.push(
      `planner failed on ${s.samples.failed} sample(s) (${kinds}); they are left out of the planning metrics`,
    );
  }
  if (s.samples.missing)
    notes.push(`${s.samples.missing} sample(s) of the split have no trajectory in the file`);
  if (s.run.plannerInputs?.includes('gtTrajectory')) {
    notes.push(
      'the planner read the ground-truth trajectory (a privileged input): an upper bound, not a driving result',
    );
  }
  if (r.inputs === 'ground-truth') {
    notes.push(
      'ground-truth inputs: planners saw GT occupancy and HD map; no network ran, so no perception metrics',
    );
  }
  return [...lines, ...notes.map((n) => `  note: ${n}`)];
}

export function throughputLine(s: EvaluationSummary): string {
  const t = s.throughput;
  const parts = [`${fixed(t.framesPerS, 2)} frames/s end to end (loading, planning and writing included)`];
  if (t.modelFramesPerS !== null) {
    parts.push(`${fixed(t.modelFramesPerS, 2)} frames/s for the model's modules`);
  }
  return `Throughput: ${parts.join('; ')}`;
}

export function formatSummaryTable(s: EvaluationSummary): string {
  const out = [...summaryHeadline(s), ''];
  for (const b of summaryBlocks(s)) {
    out.push(b.title);
    out.push(alignColumns(b.header ? [b.header, ...b.rows] : b.rows));
    out.push('');
  }
  out.push(throughputLine(s));
  for (const f of s.failures.examples) out.push(`  failed ${f.token}: ${f.message}`);
  return `${out.join('\n')}\n`;
}

export function formatSummaryMarkdown(s: EvaluationSummary): string {
  const out = summaryHeadline(s).map((l, i) => (i === 0 ? `### ${l}` : `- ${l.trim()}`));
  out.push('');
  for (const b of summaryBlocks(s)) {
    out.push(`**${b.title}**`, '');
    const header = b.header ?? b.rows[0].map(() => '');
    out.push(`| ${header.join(' | ')} |`);
    out.push(`|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of b.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
  }
  out.push(throughputLine(s));
  return `${out.join('\n')}\n`;
}

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const text = String(v);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function formatSummaryCsv(s: EvaluationSummary): string {
  const header = ['section', 'metric', 'class', 'module', 'horizon_s', 'convention', 'value', 'unit'];
  const lines = [header.join(',')];
  for (const r of summaryRows(s)) {
    lines.push(
      [r.section, r.metric, r.class, r.module, r.horizonS, r.convention, r.value, r.unit]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

export function formatSummary(s: EvaluationSummary, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify({ ...s, rows: summaryRows(s) }, null, 2)}\n`;
    case 'csv':
      return formatSummaryCsv(s);
    case 'md':
      return formatSummaryMarkdown(s);
    default:
      return formatSummaryTable(s);
  }
}
