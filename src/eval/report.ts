// report.html: one self-contained page per run (inline CSS and SVG, no scripts, no network): the summary tables,
// planning metrics by horizon, energy per module (stacked, per frame), firing rate per layer and the per-sample L2
// distribution. The charts are hand-written SVG: four plain charts, and no chart library renders static SVG in Node
// without a DOM.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SPIKING_KINDS } from '../energy/index.ts';
import type { ActivityRecord } from '../snn/activity.ts';
import { writeFileAtomic } from '../util/index.ts';
import { readRunFolder } from './run-folder.ts';
import type { FrameIndexEntry } from './run-format.ts';
import {
  type EvaluationSummary,
  summarizeRun,
  summaryBlocks,
  summaryHeadline,
  throughputLine,
} from './summary.ts';

const COLORS = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5'];

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

/** A "nice" axis maximum ≥ value (1, 2, 2.5, 5 × 10^k). */
function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= value) return m * p;
  return 10 * p;
}

interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}

function axisTicks(max: number, count = 4): number[] {
  return Array.from({ length: count + 1 }, (_, i) => (max * i) / count);
}

/** A line chart of series over x (horizons), with a legend. */
export function lineChart(
  title: string,
  yLabel: string,
  series: Series[],
  width = 420,
  height = 260,
): string {
  const pad = { left: 52, right: 16, top: 28, bottom: 56 };
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  if (xs.length === 0 || ys.length === 0) return emptyChart(title, 'no data', width);
  const yMax = niceMax(Math.max(...ys));
  const xMin = xs[0];
  const xMax = xs[xs.length - 1] === xMin ? xMin + 1 : xs[xs.length - 1];
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const X = (x: number) => pad.left + ((x - xMin) / (xMax - xMin)) * w;
  const Y = (y: number) => pad.top + h - (y / yMax) * h;
  const parts: string[] = [];
  parts.push(`<text x="${pad.left}" y="16" class="title">${escapeHtml(title)}</text>`);
  for (const t of axisTicks(yMax)) {
    parts.push(`<line x1="${pad.left}" x2="${pad.left + w}" y1="${Y(t)}" y2="${Y(t)}" class="grid"/>`);
    parts.push(
      `<text x="${pad.left - 6}" y="${Y(t) + 4}" class="tick" text-anchor="end">${fmt(t, t < 1 ? 2 : 1)}</text>`,
    );
  }
  for (const x of xs) {
    parts.push(`<text x="${X(x)}" y="${pad.top + h + 16}" class="tick" text-anchor="middle">${x} s</text>`);
  }
  parts.push(
    `<text x="14" y="${pad.top + h / 2}" class="tick" transform="rotate(-90 14 ${pad.top + h / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) return;
    const d = pts
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`)
      .join(' ');
    parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
    );
    for (const p of pts) {
      parts.push(
        `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3" fill="${color}"><title>${escapeHtml(s.name)} @ ${p[0]} s: ${fmt(p[1], 3)}</title></circle>`,
      );
    }
    const lx = pad.left + (i % 2) * (w / 2);
    const ly = height - 22 + Math.floor(i / 2) * 14;
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>`,
    );
    parts.push(`<text x="${lx + 24}" y="${ly}" class="tick">${escapeHtml(s.name)}</text>`);
  });
  return svg(width, height + Math.max(0, Math.ceil(series.length / 2) - 2) * 14, parts);
}

/** Stacked bars: one bar per item, one stacked segment per key. */
export function stackedBars(
  title: string,
  yLabel: string,
  bars: { label: string; values: Record<string, number> }[],
  keys: string[],
  width = 640,
  height = 280,
): string {
  if (bars.length === 0 || keys.length === 0) return emptyChart(title, 'no data', width);
  const pad = { left: 56, right: 16, top: 28, bottom: 56 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const totals = bars.map((b) => keys.reduce((a, k) => a + (b.values[k] ?? 0), 0));
  const yMax = niceMax(Math.max(...totals));
  const Y = (y: number) => pad.top + h - (y / yMax) * h;
  const step = w / bars.length;
  const barW = Math.max(1, Math.min(48, step * 0.8));
  const parts: string[] = [`<text x="${pad.left}" y="16" class="title">${escapeHtml(title)}</text>`];
  for (const t of axisTicks(yMax)) {
    parts.push(`<line x1="${pad.left}" x2="${pad.left + w}" y1="${Y(t)}" y2="${Y(t)}" class="grid"/>`);
    parts.push(
      `<text x="${pad.left - 6}" y="${Y(t) + 4}" class="tick" text-anchor="end">${fmt(t, t < 10 ? 2 : 0)}</text>`,
    );
  }
  parts.push(
    `<text x="14" y="${pad.top + h / 2}" class="tick" transform="rotate(-90 14 ${pad.top + h / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
  );
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12));
  bars.forEach((b, i) => {
    const x = pad.left + i * step + (step - barW) / 2;
    let acc = 0;
    keys.forEach((k, j) => {
      const v = b.values[k] ?? 0;
      if (v <= 0) return;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${Y(acc + v).toFixed(1)}" width="${barW.toFixed(1)}" height="${(Y(acc) - Y(acc + v)).toFixed(1)}" fill="${COLORS[j % COLORS.length]}"><title>${escapeHtml(b.label)} · ${escapeHtml(k)}: ${fmt(v, 4)}</title></rect>`,
      );
      acc += v;
    });
    if (i % labelEvery === 0) {
      parts.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${pad.top + h + 14}" class="tick" text-anchor="middle">${escapeHtml(b.label)}</text>`,
      );
    }
  });
  keys.forEach((k, j) => {
    const lx = pad.left + j * 130;
    parts.push(
      `<rect x="${lx}" y="${height - 18}" width="12" height="12" fill="${COLORS[j % COLORS.length]}"/>`,
    );
    parts.push(`<text x="${lx + 16}" y="${height - 8}" class="tick">${escapeHtml(k)}</text>`);
  });
  return svg(width, height, parts);
}

/** Horizontal bars, one per row (long layer names fit on the left). */
export function horizontalBars(
  title: string,
  rows: { label: string; value: number; group: string }[],
  xLabel: string,
  width = 760,
): string {
  if (rows.length === 0) return emptyChart(title, 'no spiking layers recorded', width);
  const rowH = 14;
  const pad = { left: 330, right: 60, top: 28, bottom: 52 };
  const h = rows.length * rowH;
  const height = pad.top + h + pad.bottom;
  const w = width - pad.left - pad.right;
  const xMax = niceMax(Math.max(...rows.map((r) => r.value)));
  const X = (x: number) => pad.left + (x / xMax) * w;
  const groups = [...new Set(rows.map((r) => r.group))];
  const parts: string[] = [`<text x="8" y="16" class="title">${escapeHtml(title)}</text>`];
  for (const t of axisTicks(xMax)) {
    parts.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${pad.top}" y2="${pad.top + h}" class="grid"/>`);
    parts.push(
      `<text x="${X(t)}" y="${pad.top + h + 14}" class="tick" text-anchor="middle">${fmt(t, 2)}</text>`,
    );
  }
  parts.push(
    `<text x="${pad.left + w / 2}" y="${pad.top + h + 30}" class="tick" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
  );
  groups.forEach((g, j) => {
    const lx = pad.left + j * 120;
    parts.push(
      `<rect x="${lx}" y="${height - 12}" width="10" height="10" fill="${COLORS[j % COLORS.length]}"/>`,
    );
    parts.push(`<text x="${lx + 14}" y="${height - 3}" class="tick">${escapeHtml(g)}</text>`);
  });
  rows.forEach((r, i) => {
    const y = pad.top + i * rowH;
    const color = COLORS[groups.indexOf(r.group) % COLORS.length];
    const label = r.label.length > 52 ? `…${r.label.slice(-51)}` : r.label;
    parts.push(
      `<text x="${pad.left - 6}" y="${y + 10}" class="tick small" text-anchor="end">${escapeHtml(label)}</text>`,
    );
    parts.push(
      `<rect x="${pad.left}" y="${y + 2}" width="${Math.max(0.5, X(r.value) - pad.left).toFixed(1)}" height="${rowH - 4}" fill="${color}"><title>${escapeHtml(r.label)} (${escapeHtml(r.group)}): ${fmt(r.value * 100, 2)} %</title></rect>`,
    );
    parts.push(
      `<text x="${(X(r.value) + 4).toFixed(1)}" y="${y + 10}" class="tick small">${fmt(r.value * 100, 1)}%</text>`,
    );
  });
  return svg(width, height, parts);
}

/** A histogram of values in `bins` equal bins from 0 to the maximum. */
export function histogram(
  title: string,
  values: number[],
  xLabel: string,
  bins = 20,
  width = 520,
  height = 260,
): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return emptyChart(title, 'no planned samples', width);
  const max = Math.max(...finite);
  const top = max > 0 ? max : 1;
  const counts = new Array(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.floor((v / top) * bins))] += 1;
  const pad = { left: 44, right: 16, top: 28, bottom: 44 };
  const w = width - pad.left - pad.right;
  const h = height - pad.top - pad.bottom;
  const yMax = niceMax(Math.max(...counts));
  const Y = (y: number) => pad.top + h - (y / yMax) * h;
  const bw = w / bins;
  const parts: string[] = [`<text x="${pad.left}" y="16" class="title">${escapeHtml(title)}</text>`];
  // Counts are whole numbers: no fractional ticks on a small axis.
  for (const t of axisTicks(yMax, Math.min(4, Math.max(1, Math.round(yMax))))) {
    parts.push(`<line x1="${pad.left}" x2="${pad.left + w}" y1="${Y(t)}" y2="${Y(t)}" class="grid"/>`);
    parts.push(
      `<text x="${pad.left - 6}" y="${Y(t) + 4}" class="tick" text-anchor="end">${fmt(t, 0)}</text>`,
    );
  }
  counts.forEach((c, i) => {
    if (c === 0) return;
    const lo = (i / bins) * top;
    const hi = ((i + 1) / bins) * top;
    parts.push(
      `<rect x="${(pad.left + i * bw + 1).toFixed(1)}" y="${Y(c).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(Y(0) - Y(c)).toFixed(1)}" fill="${COLORS[0]}"><title>${fmt(lo)}–${fmt(hi)} m: ${c} samples</title></rect>`,
    );
  });
  for (const t of axisTicks(top, 4)) {
    parts.push(
      `<text x="${(pad.left + (t / top) * w).toFixed(1)}" y="${pad.top + h + 16}" class="tick" text-anchor="middle">${fmt(t, 1)}</text>`,
    );
  }
  parts.push(
    `<text x="${pad.left + w / 2}" y="${height - 6}" class="tick" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
  );
  return svg(width, height, parts);
}

function emptyChart(title: string, note: string, width: number): string {
  return svg(width, 60, [
    `<text x="8" y="16" class="title">${escapeHtml(title)}</text>`,
    `<text x="8" y="40" class="tick">${escapeHtml(note)}</text>`,
  ]);
}

function svg(width: number, height: number, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join('')}</svg>`;
}

/** Per-layer output firing rates of the spiking layers, from the run's summed activity (evaluator state). */
export function layerFiringRates(
  activity: ActivityRecord | null,
): { label: string; value: number; group: string }[] {
  if (!activity) return [];
  const spiking = new Set(DEFAULT_SPIKING_KINDS);
  return activity.layers
    .filter((l) => spiking.has(l.kind) && l.outputElements > 0)
    .map((l) => ({ label: l.name, value: l.outputSpikes / l.outputElements, group: l.module }));
}

function readActivity(dir: string): ActivityRecord | null {
  const path = join(dir, 'state.json');
  if (!existsSync(path)) return null;
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as { activity?: ActivityRecord | null };
    return state.activity ?? null;
  } catch {
    return null;
  }
}

function perFrameEnergy(index: readonly FrameIndexEntry[]): {
  bars: { label: string; values: Record<string, number> }[];
  keys: string[];
} {
  const keys: string[] = [];
  const bars = index
    .filter((e) => e.scalars.energyMj)
    .map((e, i) => {
      const values = { ...(e.scalars.energyMj as Record<string, number>) };
      for (const k of Object.keys(values)) if (!keys.includes(k)) keys.push(k);
      return { label: String(i + 1), values };
    });
  return { bars, keys };
}

function summaryTablesHtml(s: EvaluationSummary): string {
  return summaryBlocks(s)
    .map((b) => {
      const header = b.header ? `<tr>${b.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>` : '';
      const rows = b.rows.map(
        (r) =>
          `<tr>${r.map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`,
      );
      return `<h3>${escapeHtml(b.title)}</h3><table>${header}${rows.join('')}</table>`;
    })
    .join('\n');
}

/** The report of a run folder as an HTML string. */
export function renderReport(
  s: EvaluationSummary,
  index: readonly FrameIndexEntry[],
  activity: ActivityRecord | null,
): string {
  const stp3 = s.planning.filter((p) => p.convention === 'st-p3');
  const uniad = s.planning.filter((p) => p.convention === 'uniad');
  const l2Chart = lineChart('L2 error by horizon', 'L2 (m)', [
    { name: 'ST-P3 (mean up to t)', points: stp3.map((p) => [p.horizonS, p.l2M ?? Number.NaN]) },
    { name: 'UniAD (at t)', points: uniad.map((p) => [p.horizonS, p.l2M ?? Number.NaN]), dashed: true },
  ]);
  const colChart = lineChart('Collision rate by horizon', 'collision (%)', [
    { name: 'box, ST-P3', points: stp3.map((p) => [p.horizonS, p.objBoxColPct ?? Number.NaN]) },
    {
      name: 'box, UniAD',
      points: uniad.map((p) => [p.horizonS, p.objBoxColPct ?? Number.NaN]),
      dashed: true,
    },
    { name: 'point, ST-P3', points: stp3.map((p) => [p.horizonS, p.objColPct ?? Number.NaN]) },
    { name: 'point, UniAD', points: uniad.map((p) => [p.horizonS, p.objColPct ?? Number.NaN]), dashed: true },
  ]);
  const frameEnergy = perFrameEnergy(index);
  const energyCharts = s.energy
    ? [
        stackedBars(
          `Energy per module per frame (mJ, ${s.energy.profile})`,
          'mJ',
          frameEnergy.bars,
          frameEnergy.keys,
        ),
        stackedBars(
          'SNN vs ANN equivalent (mJ per frame)',
          'mJ',
          [
            { label: 'SNN', values: Object.fromEntries(s.energy.modules.map((m) => [m.module, m.mj])) },
            {
              label: 'ANN equivalent',
              values: Object.fromEntries(s.energy.modules.map((m) => [m.module, m.annMj])),
            },
          ],
          s.energy.modules.map((m) => m.module),
          420,
        ),
      ].join('')
    : emptyChart('Energy per module', 'no network ran in this run (no spike activity to account)', 640);
  const rates = layerFiringRates(activity);
  const lastHorizon = stp3.at(-1)?.horizonS ?? 3;
  const l2Values = index
    .map((e) => (e.scalars.l2M as Record<string, number | null> | undefined)?.[String(lastHorizon)])
    .filter((v): v is number => typeof v === 'number');
  const failures = index.filter((e) => e.scalars.plannerFailure);
  const headline = summaryHeadline(s);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(s.run.label ?? 'spikedrive run')}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:16px 0 6px}
table{border-collapse:collapse;margin:4px 0 8px}th,td{padding:3px 10px;border-bottom:1px solid #eee}td{text-align:right;font-variant-numeric:tabular-nums}
th{text-align:left;font-weight:600}.meta{color:#555;margin:2px 0}.charts{display:flex;flex-wrap:wrap;gap:16px}
svg{background:#fff;border:1px solid #eee}svg .title{font-weight:600;font-size:13px}svg .tick{font-size:11px;fill:#444}
svg .small{font-size:10px}svg .grid{stroke:#eee}code{background:#f4f4f4;padding:1px 4px}
</style></head><body>
<h1>${escapeHtml(headline[0])}</h1>
${headline
  .slice(1)
  .map((l) => `<p class="meta">${escapeHtml(l.trim())}</p>`)
  .join('\n')}
<p class="meta">run folder <code>${escapeHtml(s.run.dir)}</code>, config ${escapeHtml(s.run.configHash)}, created ${escapeHtml(s.run.createdAt)}${s.run.finishedAt ? `, finished ${escapeHtml(s.run.finishedAt)}` : ''}</p>
<h2>Summary</h2>
${summaryTablesHtml(s)}
<p>${escapeHtml(throughputLine(s))}</p>
<h2>Planning metrics by horizon</h2>
<div class="charts">${l2Chart}${colChart}</div>
<h2>Energy per module</h2>
<div class="charts">${energyCharts}</div>
<h2>Firing rate per layer</h2>
${horizontalBars('Output firing rate of each spiking layer (mean over the run)', rates, 'spikes per neuron per time step')}
<h2>Per-sample L2 distribution</h2>
${histogram(`L2 at ${lastHorizon} s (ST-P3 mean over the steps), per sample`, l2Values, 'L2 (m)')}
${
  failures.length > 0
    ? `<h2>Planner failures (${failures.length})</h2><table><tr><th>sample</th><th>kind</th><th>message</th></tr>${failures
        .slice(0, 50)
        .map((e) => {
          const f = e.scalars.plannerFailure as { kind: string; message: string };
          return `<tr><th><code>${escapeHtml(e.token)}</code></th><td>${escapeHtml(f.kind)}</td><td style="text-align:left">${escapeHtml(f.message)}</td></tr>`;
        })
        .join('')}</table>`
    : ''
}
</body></html>
`;
}

/**
 * Writes `report.html` into a run folder (atomically) from its files. The evaluator writes it just before it marks the
 * run complete (`complete: true` reports it as such).
 */
export async function writeReport(dir: string, options: { complete?: boolean } = {}): Promise<string> {
  const run = await readRunFolder(dir);
  if (options.complete) {
    run.manifest = { ...run.manifest, status: 'complete', finishedAt: new Date().toISOString() };
  }
  const html = renderReport(summarizeRun(run), run.index, readActivity(dir));
  const path = join(dir, 'report.html');
  await writeFileAtomic(path, html);
  return path;
}
