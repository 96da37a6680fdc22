// The energy panel (per-module energy per frame under a chosen hardware profile, the current frame's per-layer
// firing-rate heat map, SNN versus ANN equivalent) and the metrics panel (per-sample L2 and collision, running IoU,
// plots over the timeline linked to the cursor, the run's aggregate metrics).

import { type DecodedFrame, frameArray } from '../../../eval/run-format.ts';
import type { EnergyBreakdown, RunInfo } from '../../api/protocol.ts';
import type { Client } from '../client.ts';
import { hex, turbo } from '../colors.ts';
import { compareRun, currentToken, primaryRun, seek, store } from '../store.ts';
import { Chart } from './chart.ts';

const MODULE_COLORS: Record<string, string> = {
  perception: '#3d8bff',
  prediction: '#ff9e00',
  planning: '#ff2fd0',
};
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const fmtJ = (j: number) =>
  j >= 1 ? `${j.toFixed(2)} J` : j >= 1e-3 ? `${(j * 1e3).toFixed(2)} mJ` : `${(j * 1e6).toFixed(2)} µJ`;
const fmt = (v: unknown, digits = 2) =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–';

function seekRunFrame(run: RunInfo | undefined, i: number) {
  const token = run?.frames[i]?.token;
  if (!token) return;
  const s = store.getState();
  s.scenes.forEach((scene, si) => {
    const fi = scene.samples.findIndex((x) => x.token === token);
    if (fi >= 0) seek(si, fi);
  });
}

export class EnergyPanel {
  readonly root: HTMLElement;
  readonly #select = el('select');
  readonly #chart: Chart;
  readonly #heat = el('canvas', 'heatmap');
  readonly #table = el('div', 'energy-table');
  readonly #status = el('p', 'muted');
  #request = 0;
  #layers: EnergyBreakdown['layers'] = [];

  constructor(
    parent: HTMLElement,
    readonly client: Client,
  ) {
    this.root = el('section', 'panel energy');
    this.root.dataset.testid = 'energy-panel';
    const head = el('header');
    head.append(el('h3', '', 'Energy'), this.#select);
    this.#select.dataset.testid = 'energy-profile';
    this.#select.title = 'Hardware profile';
    this.#select.addEventListener('change', () => store.setState({ energyProfile: this.#select.value }));
    this.#chart = new Chart(
      this.root,
      { kind: 'stacked', unit: 'mJ', onSeek: (i) => seekRunFrame(primaryRun(), i) },
      'energy-chart',
    );
    this.#heat.width = 520;
    this.#heat.height = 60;
    this.#heat.dataset.testid = 'firing-heatmap';
    this.#heat.addEventListener('mousemove', (e) => {
      const rect = this.#heat.getBoundingClientRect();
      const i = Math.floor(((e.clientX - rect.left) / rect.width) * this.#layers.length);
      const layer = this.#layers[i];
      this.#heat.title = layer
        ? `${layer.name} (${layer.module}): firing rate ${(layer.firingRate * 100).toFixed(2)} %, ${fmtJ(layer.energyJ)}`
        : '';
    });
    this.root.prepend(head);
    this.root.append(
      el('h4', '', 'Per-layer firing rate (this frame)'),
      this.#heat,
      this.#table,
      this.#status,
    );
    parent.append(this.root);
  }

  update() {
    const s = store.getState();
    const run = primaryRun(s);
    if (this.#select.options.length !== s.profiles.length) {
      this.#select.replaceChildren(...s.profiles.map((p) => new Option(p.name, p.id)));
    }
    const profile = s.energyProfile ?? run?.manifest.energyProfile ?? s.profiles[0]?.id ?? '';
    if (this.#select.value !== profile) this.#select.value = profile;
    const frames = run?.frames ?? [];
    const modules = ['perception', 'prediction', 'planning'];
    const token = currentToken(s);
    const cursor = frames.findIndex((f) => f.token === token);
    this.#chart.set(
      modules.map((m) => ({
        label: m,
        color: MODULE_COLORS[m],
        values: frames.map((f) => {
          const e = (f.scalars as { energyMj?: Record<string, number> }).energyMj;
          return e && typeof e[m] === 'number' ? e[m] : null;
        }),
      })),
      cursor,
    );
    if (!run || !token || cursor < 0) {
      this.#render(null, run ? 'No frame of this run at the cursor.' : 'Open a run to see its energy.');
      return;
    }
    const request = ++this.#request;
    this.client
      .frameEnergy({ runId: run.runId, token, profile })
      .then((b) => request === this.#request && this.#render(b, ''))
      .catch(
        (e: Error & { fix?: string }) =>
          request === this.#request && this.#render(null, `${e.message}${e.fix ? ` → ${e.fix}` : ''}`),
      );
  }

  #render(b: EnergyBreakdown | null, message: string) {
    this.#status.textContent = message;
    this.#layers = b?.layers ?? [];
    const ctx = this.#heat.getContext('2d');
    if (ctx) {
      ctx.fillStyle = '#16191f';
      ctx.fillRect(0, 0, this.#heat.width, this.#heat.height);
      const n = this.#layers.length;
      const w = n > 0 ? this.#heat.width / n : 0;
      this.#layers.forEach((l, i) => {
        ctx.fillStyle = hex(turbo(Math.min(1, l.firingRate / 0.5)));
        ctx.fillRect(i * w, 14, Math.ceil(w), this.#heat.height - 14);
        ctx.fillStyle = MODULE_COLORS[l.module] ?? '#888';
        ctx.fillRect(i * w, 4, Math.ceil(w), 8);
      });
    }
    this.#table.replaceChildren();
    if (!b) return;
    const table = el('table');
    table.dataset.testid = 'energy-modules';
    table.append(
      el(
        'caption',
        '',
        `${b.profile.name} · ${b.method} · ${b.source}${b.profile.estimate ? ' · contains estimates' : ''}`,
      ),
    );
    const head = el('tr');
    for (const h of ['module', 'SNN', 'ANN equiv.', 'ANN/SNN']) head.append(el('th', '', h));
    table.append(head);
    // A run still being written has no aggregate yet to scale the ANN equivalent from: the host sends null.
    const known = (j: number | null) => typeof j === 'number' && Number.isFinite(j);
    for (const m of [
      ...b.modules,
      { module: 'total', energyJ: b.totalJ, annEquivalentJ: b.annEquivalentJ },
    ]) {
      const tr = el('tr');
      const bar = el('span', 'bar');
      const scale = Math.max(b.totalJ, known(b.annEquivalentJ) ? b.annEquivalentJ : 0, 1e-30);
      bar.style.width = `${Math.round((100 * m.energyJ) / scale)}%`;
      bar.style.background = MODULE_COLORS[m.module] ?? '#aaa';
      const snn = el('td', '', fmtJ(m.energyJ));
      snn.prepend(bar);
      tr.append(
        el('td', '', m.module),
        snn,
        el('td', '', known(m.annEquivalentJ) ? fmtJ(m.annEquivalentJ) : '–'),
        el(
          'td',
          '',
          m.energyJ > 0 && known(m.annEquivalentJ) ? `${(m.annEquivalentJ / m.energyJ).toFixed(1)}×` : '–',
        ),
      );
      table.append(tr);
    }
    this.#table.append(table);
  }
}

export class MetricsPanel {
  readonly root: HTMLElement;
  readonly #current = el('div', 'metric-current');
  readonly #l2: Chart;
  readonly #iou: Chart;
  readonly #aggregate = el('div', 'metric-aggregate');

  constructor(
    parent: HTMLElement,
    readonly client: Client,
  ) {
    this.root = el('section', 'panel metrics');
    this.root.dataset.testid = 'metrics-panel';
    this.root.append(el('h3', '', 'Metrics'), this.#current);
    this.root.append(el('h4', '', 'L2 @3 s and box collision over the run'));
    this.#l2 = new Chart(
      this.root,
      { kind: 'lines', unit: 'm', onSeek: (i) => seekRunFrame(primaryRun(), i) },
      'metrics-chart',
    );
    this.root.append(
      el('h4', '', 'Running IoU over the present and future frames (first frame to the cursor)'),
    );
    this.#iou = new Chart(
      this.root,
      { kind: 'lines', unit: '', onSeek: (i) => seekRunFrame(primaryRun(), i) },
      'iou-chart',
    );
    this.root.append(this.#aggregate);
    parent.append(this.root);
  }

  update(frameA: DecodedFrame | null) {
    const s = store.getState();
    const runs = [primaryRun(s), compareRun(s)].filter((r): r is RunInfo => r !== undefined);
    const token = currentToken(s);
    const table = el('table');
    table.dataset.testid = 'metrics-current';
    const head = el('tr');
    head.append(el('th', '', 'this sample'));
    for (const r of runs) head.append(el('th', '', r.label));
    table.append(head);
    const rows: [string, (r: RunInfo) => string][] = [];
    for (const h of ['1', '2', '3']) {
      rows.push([
        `L2 @${h} s (m)`,
        (r) =>
          fmt(
            (r.frames.find((f) => f.token === token)?.scalars as { l2M?: Record<string, number> })?.l2M?.[h],
          ),
      ]);
    }
    for (const h of ['1', '2', '3']) {
      rows.push([
        `box collision @${h} s`,
        (r) =>
          fmt(
            (r.frames.find((f) => f.token === token)?.scalars as { objBoxCol?: Record<string, number> })
              ?.objBoxCol?.[h],
          ),
      ]);
    }
    rows.push(['running IoU vehicle (present + future)', (r) => this.#runningIou(r, token, 'vehicle')]);
    rows.push(['running IoU pedestrian (present + future)', (r) => this.#runningIou(r, token, 'pedestrian')]);
    for (const [label, get] of rows) {
      const tr = el('tr');
      tr.append(el('td', '', label));
      for (const r of runs) tr.append(el('td', '', get(r)));
      table.append(tr);
    }
    const command = frameA ? frameArray<Int32Array>(frameA, 'command', 'int32') : undefined;
    this.#current.replaceChildren(table);
    if (command)
      this.#current.append(
        el('p', 'muted', `command: ${['LEFT', 'FORWARD', 'RIGHT'][command.data[0]] ?? '?'}`),
      );
    const run = runs[0];
    const cursor = run ? run.frames.findIndex((f) => f.token === token) : -1;
    const palette = ['#ff2fd0', '#27d3ff'];
    this.#l2.set(
      runs.flatMap((r, k) => [
        {
          label: `L2@3s ${k ? 'B' : 'A'}`,
          color: palette[k],
          values: r.frames.map(
            (f) => (f.scalars as { l2M?: Record<string, number | null> }).l2M?.['3'] ?? null,
          ),
        },
        {
          label: `col ${k ? 'B' : 'A'}`,
          color: k ? '#8fe3ff' : '#ffb3ef',
          values: r.frames.map(
            (f) => (f.scalars as { objBoxCol?: Record<string, number | null> }).objBoxCol?.['3'] ?? null,
          ),
        },
      ]),
      cursor,
    );
    const series = run ? s.series[run.runId] : undefined;
    const cumulative = (cls: 'vehicle' | 'pedestrian') => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      return (series?.iouCounts[cls] ?? []).map(([a, b, c]) => {
        tp += a;
        fp += b;
        fn += c;
        return tp + fp + fn > 0 ? tp / (tp + fp + fn) : null;
      });
    };
    this.#iou.set(
      [
        { label: 'vehicle', color: '#3d8bff', values: cumulative('vehicle') },
        { label: 'pedestrian', color: '#78c8ff', values: cumulative('pedestrian') },
      ],
      cursor,
    );
    this.#aggregate.replaceChildren();
    for (const r of runs) {
      if (!r.metrics) continue;
      const t = el('table');
      t.append(el('caption', '', `${r.label}: ${r.metrics.samples} samples`));
      for (const e of r.metrics.entries.slice(0, 24)) {
        const tr = el('tr');
        tr.append(
          el('td', '', `${e.metric}${e.class ? ` ${e.class}` : ''}${e.horizonS ? ` @${e.horizonS}s` : ''}`),
          el('td', '', fmt(e.value, 3)),
          el('td', 'muted', `${e.unit} · ${e.convention}`),
        );
        t.append(tr);
      }
      this.#aggregate.append(t);
    }
  }

  #runningIou(run: RunInfo, token: string | null, cls: 'vehicle' | 'pedestrian'): string {
    const series = store.getState().series[run.runId];
    if (!series || !token) return '–';
    const end = series.tokens.indexOf(token);
    if (end < 0) return '–';
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i <= end; i++) {
      const [a, b, c] = series.iouCounts[cls][i];
      tp += a;
      fp += b;
      fn += c;
    }
    return tp + fp + fn > 0 ? (tp / (tp + fp + fn)).toFixed(3) : '–';
  }
}
