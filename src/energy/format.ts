import {
  ENERGY_GROUPS,
  type EnergyMethod,
  type EnergyReport,
  type EnergySettings,
  type LayerEnergy,
} from './methods.ts';
import { citedConstants, type HardwareProfile } from './profile.ts';
import type { ActivityRollUp, ModuleRollUp } from './rollup.ts';
import { formatCount, formatJoules, formatPercent } from './units.ts';

/** Version of the JSON written by energyReportToJson / activityRollUpToJson (bump on breaking change). */
export const ENERGY_JSON_VERSION = 1;

// Hand-written because no table library is in the dependency set and this is a dozen lines.
function renderTable(headers: string[], rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

function range(from: number, to: number): Set<number> {
  const out = new Set<number>();
  for (let i = from; i < to; i++) out.add(i);
  return out;
}

function share(part: number, total: number): string {
  return total > 0 ? formatPercent(part / total, 1) : '–';
}

/** The method's formula and settings in one line each, as printed above every table. */
export function describeSettings(method: EnergyMethod, settings: EnergySettings): string[] {
  switch (method) {
    case 'sad-paper':
      return [
        'E = E_MAC · MACs(first layer) + E_AC · Σ SOPs(other conv/fc layers)   [SAD App. F, after Yao et al.]',
        `first layer: ${settings.firstLayer ?? '(none found)'}, MACs ${settings.firstLayerTimesT ? '×T (every step)' : 'counted once (÷T)'}; later real-input layers ${settings.realInputLayers === 'as-sops' ? 'as SOPs at E_AC' : 'as MACs at E_MAC'}`,
      ];
    case 'memory-aware':
      return [
        'E = E_AC·ACs + E_MAC·MACs + E_neuron·updates + Σ bits·E_bit(params, state, activations) + E_link·boundary bits',
        `placement: params ${settings.placement.params}, state ${settings.placement.state}, activations ${settings.placement.activations}`,
      ];
    case 'ann-equivalent':
      return [
        'E = E_MAC · Σ equivalent MACs (the same network run densely as an ANN)',
        `layers run once per input (÷T): ${settings.repeatedInputPrefixes.length > 0 ? settings.repeatedInputPrefixes.join(', ') : 'none'}`,
      ];
  }
}

export interface EnergyTableOptions {
  /** Add a per-layer table: true for every layer, a number for the most energetic N. */
  layers?: boolean | number;
}

/** A text report: header, settings, per-module table with the component breakdown, totals, notes. */
export function formatEnergyReport(report: EnergyReport, options: EnergyTableOptions = {}): string {
  const out: string[] = [];
  const p = report.profile;
  out.push(
    `Energy per frame — method ${report.method}, profile ${p.id} (${p.name}; ${p.technology}${p.estimate ? '; contains estimates' : ''}), ${report.frames} frame(s)`,
  );
  out.push(...describeSettings(report.method, report.settings));
  out.push('');
  const groupHeaders = ENERGY_GROUPS.map((g) => g);
  const rows = report.modules.map((m) => [
    m.module,
    String(m.layerCount),
    ...ENERGY_GROUPS.map((g) => formatJoules(m.groups[g])),
    formatJoules(m.energyJ),
    share(m.energyJ, report.totalJ),
    formatJoules(m.annEquivalentJ),
  ]);
  rows.push([
    'total',
    String(report.layers.length),
    ...ENERGY_GROUPS.map((g) => formatJoules(report.groups[g])),
    formatJoules(report.totalJ),
    share(report.totalJ, report.totalJ),
    formatJoules(report.annEquivalentJ),
  ]);
  out.push(
    renderTable(
      ['module', 'layers', ...groupHeaders, 'total', 'share', 'ANN equiv.'],
      rows,
      range(1, 5 + groupHeaders.length),
    ),
  );
  if (report.boundaries.length > 0) {
    out.push('');
    out.push(
      renderTable(
        ['boundary', 'bits', 'pJ/bit', 'energy'],
        report.boundaries.map((b) => [
          b.link,
          formatCount(b.bits),
          String(b.pjPerBit),
          formatJoules(b.energyJ),
        ]),
        range(1, 4),
      ),
    );
  }
  if (options.layers) {
    const limit = options.layers === true ? report.layers.length : options.layers;
    const chosen: LayerEnergy[] =
      limit >= report.layers.length
        ? report.layers
        : [...report.layers].sort((a, b) => b.energyJ - a.energyJ).slice(0, limit);
    out.push('');
    if (chosen.length < report.layers.length) out.push(`the ${chosen.length} most energetic layers:`);
    out.push(
      renderTable(
        ['#', 'layer', 'module', 'kind', 'treatment', 'MACs', 'ACs', 'energy', 'share'],
        chosen.map((l) => [
          String(l.index),
          l.name,
          l.module,
          l.kind,
          l.treatment,
          formatCount(l.counted.macs),
          formatCount(l.counted.acs),
          formatJoules(l.energyJ),
          share(l.energyJ, report.totalJ),
        ]),
        new Set([0, 5, 6, 7, 8]),
      ),
    );
  }
  out.push('');
  let ratioText = '';
  if (report.annToSnnRatio !== null) {
    const computeOnly =
      report.method === 'memory-aware' && report.annToSnnComputeRatio !== null
        ? `; compute only ${report.annToSnnComputeRatio.toFixed(2)}×`
        : '';
    ratioText = ` (ANN/SNN = ${report.annToSnnRatio.toFixed(2)}×${computeOnly})`;
  }
  out.push(
    `total ${formatJoules(report.totalJ)} per frame; ANN equivalent on ${report.annProfileId} ${formatJoules(report.annEquivalentJ)}${ratioText}`,
  );
  if (report.notes.length > 0) {
    out.push('notes:');
    for (const note of report.notes) out.push(`  - ${note}`);
  }
  return out.join('\n');
}

/** Several reports (e.g. the three methods, or one method on several profiles) side by side, per module. */
export function formatEnergyComparison(reports: readonly EnergyReport[]): string {
  const modules: string[] = [];
  for (const r of reports) for (const m of r.modules) if (!modules.includes(m.module)) modules.push(m.module);
  const headers = ['module', ...reports.map((r) => `${r.method} @ ${r.profile.id}`)];
  const rows = modules.map((name) => [
    name,
    ...reports.map((r) => {
      const m = r.modules.find((x) => x.module === name);
      return m === undefined ? '–' : formatJoules(m.energyJ);
    }),
  ]);
  rows.push(['total', ...reports.map((r) => formatJoules(r.totalJ))]);
  rows.push([
    'ANN/SNN',
    ...reports.map((r) =>
      r.annToSnnRatio === null || r.method === 'ann-equivalent' ? '–' : `${r.annToSnnRatio.toFixed(2)}×`,
    ),
  ]);
  return renderTable(headers, rows, range(1, headers.length));
}

/** The report as JSON-ready data, tagged with a schema name and version (energy in joules per frame). */
export function energyReportToJson(report: EnergyReport): {
  schema: 'spikedrive.energy-report';
  version: number;
  unit: 'J per frame';
} & EnergyReport {
  return {
    schema: 'spikedrive.energy-report',
    version: ENERGY_JSON_VERSION,
    unit: 'J per frame',
    ...structuredClone(report),
  };
}

function activityRow(m: ModuleRollUp): string[] {
  return [
    m.module,
    String(m.layerCount),
    String(m.spikingLayerCount),
    formatPercent(m.inputFiringRate),
    formatPercent(m.outputFiringRate),
    formatCount(m.synapticOps),
    formatCount(m.denseMacs),
    formatCount(m.equivalentMacs),
    formatPercent(m.workRatio, 1),
    formatCount(m.neuronUpdates),
    formatCount(m.paramBytesRead),
    formatCount(m.stateBytesRead + m.stateBytesWritten),
    formatCount(m.outputBits),
    formatCount(m.boundaryBitsOut),
  ];
}

/** Per-module (and optionally per-layer) activity table: firing rates, ops, bytes and bits per frame. */
export function formatActivityRollUp(rollup: ActivityRollUp, options: { layers?: boolean } = {}): string {
  const headers = [
    'module',
    'layers',
    'spiking',
    'fr in',
    'fr out',
    'SOPs',
    'dense MACs',
    'equiv. MACs',
    'work',
    'neuron upd.',
    'param B',
    'state B',
    'out bits',
    'bits out',
  ];
  const out = [
    `Activity per frame (${rollup.frames} frame(s)); fr = firing rate, work = (SOPs + dense MACs) / equivalent MACs`,
    renderTable(
      headers,
      [...rollup.modules.map(activityRow), activityRow(rollup.total)],
      range(1, headers.length),
    ),
  ];
  if (options.layers) {
    out.push('');
    out.push(
      renderTable(
        [
          '#',
          'layer',
          'module',
          'kind',
          'T',
          'fr in',
          'fr out',
          'SOPs',
          'dense MACs',
          'equiv. MACs',
          'neuron upd.',
        ],
        rollup.layers.map((l) => [
          String(l.index),
          l.name,
          l.module,
          l.kind,
          String(l.timeSteps),
          formatPercent(l.inputFiringRate),
          formatPercent(l.outputFiringRate),
          formatCount(l.synapticOps),
          formatCount(l.denseMacs),
          formatCount(l.equivalentMacs),
          formatCount(l.neuronUpdates),
        ]),
        new Set([0, 4, 5, 6, 7, 8, 9, 10]),
      ),
    );
  }
  return out.join('\n');
}

/** The roll-up as JSON-ready data, tagged with a schema name and version. */
export function activityRollUpToJson(rollup: ActivityRollUp): {
  schema: 'spikedrive.activity-rollup';
  version: number;
  unit: 'per frame';
} & ActivityRollUp {
  return {
    schema: 'spikedrive.activity-rollup',
    version: ENERGY_JSON_VERSION,
    unit: 'per frame',
    ...structuredClone(rollup),
  };
}

/** Every constant of a profile with its value, estimate flag and source, one per line. */
export function formatHardwareProfile(profile: HardwareProfile): string {
  const rows = citedConstants(profile).map(({ key, constant }) => [
    key,
    `${Number(constant.pj.toPrecision(4))} pJ${key.endsWith('PerBit') ? '/bit' : ''}`,
    constant.estimate ? 'estimate' : 'cited',
    constant.note ?? '',
  ]);
  const sources = [...new Set(citedConstants(profile).map((c) => c.constant.source))];
  return [
    `${profile.id}: ${profile.name} (${profile.technology})${profile.estimate ? ' — contains estimates' : ''}`,
    profile.description,
    `event-driven: ${profile.eventDriven ? 'yes' : 'no'}; placement: params ${profile.placement.params}, state ${profile.placement.state}, activations ${profile.placement.activations}`,
    ...(profile.note ? [`note: ${profile.note}`] : []),
    '',
    renderTable(['constant', 'value', 'status', 'note'], rows, new Set([1])),
    '',
    'sources:',
    ...sources.map((s) => `  - ${s}`),
  ].join('\n');
}
