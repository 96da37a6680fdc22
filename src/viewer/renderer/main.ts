// The viewer's renderer: layout, toolbar, scene list, timeline with keyboard shortcuts, legend with layer toggles,
// and the wiring between the store, the frame loader and the views.
import type { PlannerChoice, ReplanResult, RunInfo } from '../api/protocol.ts';
import { createClient } from './client.ts';
import { FrameLoader } from './data.ts';
import {
  compareRun,
  currentToken,
  dismiss,
  LAYERS,
  type LayerId,
  notify,
  primaryRun,
  refreshScenes,
  SPEEDS,
  seek,
  selectPrimaryRun,
  setSpeed,
  step,
  store,
} from './store.ts';
import { BevView } from './ui/bev.ts';
import { CameraGrid } from './ui/cameras.ts';
import { EnergyPanel, MetricsPanel } from './ui/panels.ts';

const client = createClient();
const loader = new FrameLoader(client);

const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e.setAttribute(k, v);
  }
  if (text !== undefined) e.textContent = text;
  return e;
};
const button = (label: string, testid: string, title: string, onClick: () => void) => {
  const b = el('button', { 'data-testid': testid, title }, label);
  b.addEventListener('click', onClick);
  return b;
};

// ------------------------------------------------------------------------------------------------ layout
const app = document.getElementById('app') as HTMLElement;
const toolbar = el('header', { class: 'toolbar' });
const sidebar = el('nav', { class: 'sidebar', 'data-testid': 'scene-list' });
const main = el('main', { class: 'main' });
const side = el('aside', { class: 'panels' });
const timeline = el('footer', { class: 'timeline' });
const notices = el('div', { class: 'notices', 'data-testid': 'notices' });
app.append(toolbar, sidebar, main, side, timeline, notices);

const camerasEl = el('section', { class: 'cameras', 'data-testid': 'cameras' });
const bevEl = el('section', { class: 'bev', 'data-testid': 'bev' });
const legend = el('div', { class: 'legend', 'data-testid': 'legend' });
main.append(camerasEl, bevEl);
bevEl.append(legend);
const cameras = new CameraGrid(camerasEl);
const bev = new BevView(bevEl);
const energy = new EnergyPanel(side, client);
const metrics = new MetricsPanel(side, client);

// ------------------------------------------------------------------------------------------------ toolbar
const brand = el('strong', { class: 'brand' }, 'spikedrive');
const runA = el('select', { 'data-testid': 'run-a', title: 'Run shown (A)' });
const runB = el('select', { 'data-testid': 'run-b', title: 'Run to compare (B)' });
const compareMode = el('select', {
  'data-testid': 'compare-mode',
  title: 'Compare side by side or overlaid',
});
compareMode.append(new Option('side by side', 'side'), new Option('overlay', 'overlay'));
const plannerSelect = el('select', {
  'data-testid': 'planner',
  title: 'Planner (re-plans the shown frame live)',
});
const cameraMode = el('select', { 'data-testid': 'camera-mode', title: 'BEV camera (C)' });
cameraMode.append(
  new Option('top (follow ego)', 'top'),
  new Option('chase (follow ego)', 'chase'),
  new Option('orbit', 'orbit'),
);
const jobsEl = el('span', { class: 'jobs', 'data-testid': 'jobs' });
toolbar.append(
  brand,
  button('Open dataset…', 'open-dataset', 'Open a nuScenes dataroot', () => openFolder('dataset')),
  button('Open run…', 'open-run', 'Open a run folder from spikedrive eval', () => openFolder('run')),
  button('Compute…', 'compute', 'Compute a run with the SAD model (live, in a worker)', () =>
    computeDialog(),
  ),
  el('label', {}, 'A'),
  runA,
  el('label', {}, 'B'),
  runB,
  compareMode,
  el('label', {}, 'planner'),
  plannerSelect,
  cameraMode,
  button('Screenshot', 'screenshot', 'Export a PNG of the view (P)', () => void screenshot()),
  button('Preferences', 'preferences', 'Preferences', () => preferencesDialog()),
  jobsEl,
);
runA.addEventListener('change', () => selectPrimaryRun(runA.value || null));
runB.addEventListener('change', () => store.setState({ compareRunId: runB.value || null }));
compareMode.addEventListener('change', () =>
  store.setState({ compareMode: compareMode.value as 'side' | 'overlay' }),
);
cameraMode.addEventListener('change', () => store.setState({ cameraMode: cameraMode.value as 'top' }));
plannerSelect.addEventListener('change', () => {
  const v = plannerSelect.value;
  if (v === '__plugin__') {
    void choosePlugin();
    return;
  }
  store.setState({ planner: v.startsWith('plugin:') ? { plugin: v.slice(7) } : { builtin: v } });
});

// ------------------------------------------------------------------------------------------------ timeline
const play = button('▶', 'play', 'Play / pause (Space)', () =>
  store.setState((s) => ({ playing: !s.playing })),
);
const prev = button('‹', 'step-back', 'Previous frame (←)', () => step(-1));
const next = button('›', 'step-forward', 'Next frame (→)', () => step(1));
const scrub = el('input', {
  type: 'range',
  min: '0',
  max: '0',
  value: '0',
  'data-testid': 'scrub',
  title: 'Scrub (Home/End)',
}) as HTMLInputElement;
const speed = el('select', { 'data-testid': 'speed', title: 'Speed ([ and ])' });
for (const v of SPEEDS) speed.append(new Option(`${v}×`, String(v)));
const loop = el('input', { type: 'checkbox', 'data-testid': 'loop' }) as HTMLInputElement;
const future = el('input', {
  type: 'range',
  min: '1',
  max: '6',
  value: '1',
  'data-testid': 'future-step',
  title: 'Future step (F / Shift+F)',
}) as HTMLInputElement;
const futureLabel = el('span', { 'data-testid': 'future-label' });
const position = el('span', { class: 'position', 'data-testid': 'position' });
const loopLabel = el('label', {}, ' loop');
loopLabel.prepend(loop);
timeline.append(
  prev,
  play,
  next,
  scrub,
  speed,
  loopLabel,
  el('label', {}, 'future'),
  future,
  futureLabel,
  position,
);
scrub.addEventListener('input', () => seek(store.getState().sceneIndex, Number(scrub.value)));
speed.addEventListener('change', () => store.setState({ speed: Number(speed.value) }));
loop.addEventListener('change', () => store.setState({ loop: loop.checked }));
future.addEventListener('input', () => store.setState({ futureStep: Number(future.value) }));

// ------------------------------------------------------------------------------------------------ legend
function renderLegend() {
  const s = store.getState();
  legend.replaceChildren();
  for (const layer of LAYERS) {
    const row = el('label', { class: 'legend-row' });
    const box = el('input', { type: 'checkbox', 'data-testid': `layer-${layer.id}` }) as HTMLInputElement;
    box.checked = s.layers[layer.id];
    box.addEventListener('change', () =>
      store.setState((st) => ({ layers: { ...st.layers, [layer.id]: box.checked } })),
    );
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = layer.swatch;
    row.append(box, swatch, document.createTextNode(layer.label));
    legend.append(row);
  }
  const extra: [string, string][] = [['#ffe14d', 're-planned (planner selector)']];
  if (compareRun(s) && s.compareMode === 'overlay')
    extra.push(['#27d3ff', 'run B plan'], ['#aa5aff', 'run B occupancy']);
  for (const [color, label] of extra) {
    const row = el('div', { class: 'legend-row' });
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = color;
    row.append(swatch, document.createTextNode(label));
    legend.append(row);
  }
}

// ------------------------------------------------------------------------------------------------ store → views
let lastJobsKey = '';
function renderToolbar() {
  const s = store.getState();
  const options = (select: HTMLSelectElement, runs: RunInfo[], none: string | null, value: string | null) => {
    const wanted = [
      ...(none !== null ? [['', none]] : []),
      ...runs.map((r) => [r.runId, `${r.label}${r.status === 'running' ? ' (running)' : ''}`]),
    ];
    if (
      select.options.length !== wanted.length ||
      wanted.some(([v, t], i) => select.options[i].value !== v || select.options[i].text !== t)
    ) {
      select.replaceChildren(...wanted.map(([v, t]) => new Option(t, v)));
    }
    select.value = value ?? '';
  };
  options(runA, s.runs, s.runs.length ? null : '(no run)', s.primaryRunId);
  options(
    runB,
    s.runs.filter((r) => r.runId !== s.primaryRunId),
    '(none)',
    s.compareRunId,
  );
  compareMode.value = s.compareMode;
  cameraMode.value = s.cameraMode;
  const plannerValue = 'builtin' in s.planner ? s.planner.builtin : `plugin:${s.planner.plugin}`;
  const wanted = [
    ...s.planners.map((p) => [p.name, `${p.name}${p.available ? '' : ' (needs model)'}`, p.available]),
    ...('plugin' in s.planner ? [[plannerValue, `plugin: ${s.planner.plugin.split('/').pop()}`, true]] : []),
    ['__plugin__', 'plugin file…', true],
  ] as [string, string, boolean][];
  if (
    plannerSelect.options.length !== wanted.length ||
    wanted.some(([v], i) => plannerSelect.options[i].value !== v)
  ) {
    plannerSelect.replaceChildren(
      ...wanted.map(([v, t, ok]) => {
        const o = new Option(t, v);
        o.disabled = !ok;
        return o;
      }),
    );
  }
  plannerSelect.value = plannerValue;
  // Rebuilt only when a running job changed: every store update lands here (the Cancel buttons keep their nodes).
  const running = s.jobs.filter((j) => j.state === 'running');
  const jobsKey = JSON.stringify(running.map((j) => [j.jobId, j.label, j.done, j.total, j.cancellable]));
  if (jobsKey === lastJobsKey) return;
  lastJobsKey = jobsKey;
  jobsEl.replaceChildren(
    ...running.map((j) => {
      const span = el('span', { class: 'job' }, `${j.label}: ${j.done}/${j.total || '?'} `);
      const progress = el('progress', { max: String(j.total || 1), value: String(j.done) });
      span.append(progress);
      if (j.cancellable !== false)
        span.append(
          button('✕', `cancel-${j.jobId}`, 'Cancel', () => void client.cancelJob({ jobId: j.jobId })),
        );
      return span;
    }),
  );
}

function renderTimeline() {
  const s = store.getState();
  const scene = s.scenes[s.sceneIndex];
  const n = scene?.samples.length ?? 0;
  scrub.max = String(Math.max(0, n - 1));
  scrub.value = String(s.frameIndex);
  play.textContent = s.playing ? '⏸' : '▶';
  play.dataset.state = s.playing ? 'playing' : 'paused';
  speed.value = String(s.speed);
  loop.checked = s.loop;
  const run = primaryRun(s);
  future.max = String(Math.max(1, run?.manifest.nFuture ?? 6));
  future.value = String(s.futureStep);
  futureLabel.textContent = `+${(s.futureStep * 0.5).toFixed(1)} s`;
  const token = currentToken(s);
  const t0 = scene?.samples[0]?.timestampUs ?? 0;
  const t = scene?.samples[s.frameIndex]?.timestampUs ?? 0;
  position.textContent = scene
    ? `${scene.name} · ${s.frameIndex + 1}/${n} · ${((t - t0) / 1e6).toFixed(1)} s${run && !run.frames.some((f) => f.token === token) ? ' · no run frame' : ''}`
    : 'no scene';
}

function renderSidebar() {
  const s = store.getState();
  const items = s.scenes.map((scene, i) => {
    const item = el('button', {
      class: `scene${i === s.sceneIndex ? ' active' : ''}`,
      'data-testid': `scene-${i}`,
      title: scene.description,
    });
    item.append(
      el('strong', {}, scene.name),
      el('small', {}, `${scene.samples.length} samples · ${scene.description}`),
    );
    item.addEventListener('click', () => seek(i, 0));
    return item;
  });
  sidebar.replaceChildren(el('h3', {}, 'Scenes'), ...items);
}

function renderNotices() {
  const s = store.getState();
  notices.replaceChildren(
    ...s.notices.map((n) => {
      const div = el('div', { class: `notice ${n.kind}` });
      div.append(el('span', {}, n.message));
      if (n.fix) div.append(el('small', {}, `→ ${n.fix}`));
      div.append(button('✕', 'dismiss', 'Dismiss', () => dismiss(n.id)));
      return div;
    }),
  );
}

let replanKey = '';
async function replan() {
  const s = store.getState();
  const run = primaryRun(s);
  const token = currentToken(s);
  const choice = s.planner;
  const key = `${run?.runId}|${token}|${JSON.stringify(choice)}`;
  if (key === replanKey) return;
  replanKey = key;
  if (
    !run ||
    !token ||
    ('builtin' in choice && choice.builtin === 'run') ||
    !run.frames.some((f) => f.token === token)
  ) {
    bev.setReplan(null);
    cameras.setReplan(null);
    return;
  }
  try {
    const result: ReplanResult = await client.replan({
      runId: run.runId,
      token,
      planner: choice as PlannerChoice,
    });
    if (replanKey !== key) return;
    bev.setReplan(result);
    cameras.setReplan(result);
    document.body.dataset.replanned = `${result.planner}:${token}`;
  } catch (error) {
    bev.setReplan(null);
    cameras.setReplan(null);
    const e = error as Error & { fix?: string };
    notify('error', e.message, e.fix);
  }
}

let lastToken: string | null = null;
let lastRuns = '';
store.subscribe((s, prevState) => {
  renderToolbar();
  renderTimeline();
  if (s.scenes !== prevState.scenes || s.sceneIndex !== prevState.sceneIndex) renderSidebar();
  if (s.notices !== prevState.notices) renderNotices();
  if (
    s.layers !== prevState.layers ||
    s.compareRunId !== prevState.compareRunId ||
    s.compareMode !== prevState.compareMode
  )
    renderLegend();
  const token = currentToken(s);
  const runsKey = `${s.primaryRunId}|${s.compareRunId}|${s.runs.map((r) => `${r.runId}:${r.frames.length}`).join(',')}|${s.datasets.length}`;
  if (token !== lastToken || runsKey !== lastRuns) {
    lastToken = token;
    lastRuns = runsKey;
    void loader.load();
  } else if (
    s.layers !== prevState.layers ||
    s.futureStep !== prevState.futureStep ||
    s.cameraMode !== prevState.cameraMode ||
    s.compareMode !== prevState.compareMode ||
    s.preferences !== prevState.preferences
  ) {
    bev.refresh();
    cameras.draw();
    metrics.update(loader.current?.primary ?? null);
  }
  if (s.energyProfile !== prevState.energyProfile || s.profiles !== prevState.profiles) energy.update();
  if (s.planner !== prevState.planner || token !== currentToken(prevState)) void replan();
  if (s.series !== prevState.series) metrics.update(loader.current?.primary ?? null);
});
loader.subscribe((bundle) => {
  bev.update(bundle);
  cameras.update(bundle);
  metrics.update(bundle.primary);
  energy.update();
  document.body.dataset.renderedToken = bundle.token;
});

// ------------------------------------------------------------------------------------------------ playback
let playTimer: ReturnType<typeof setTimeout> | null = null;
function schedule() {
  if (playTimer) clearTimeout(playTimer);
  const s = store.getState();
  if (!s.playing) return;
  // nuScenes keyframes are 0.5 s apart; wait for the frame to be drawn before moving on.
  playTimer = setTimeout(() => {
    const st = store.getState();
    if (st.playing && st.renderedToken === currentToken(st)) step(1);
    schedule();
  }, 500 / s.speed);
}
store.subscribe((s, p) => {
  if (s.playing !== p.playing || s.speed !== p.speed) schedule();
});

// ------------------------------------------------------------------------------------------------ keyboard
window.addEventListener('keydown', (e) => {
  const target = e.target as HTMLElement;
  if (target.tagName === 'INPUT' && (target as HTMLInputElement).type === 'text') return;
  if (target.tagName === 'SELECT') return;
  const s = store.getState();
  const layerKeys = LAYERS.map((l) => l.id);
  switch (e.key) {
    case ' ':
      store.setState({ playing: !s.playing });
      break;
    case 'ArrowRight':
      step(e.shiftKey ? 10 : 1);
      break;
    case 'ArrowLeft':
      step(e.shiftKey ? -10 : -1);
      break;
    case 'ArrowDown':
      seek(s.sceneIndex + 1, 0);
      break;
    case 'ArrowUp':
      seek(s.sceneIndex - 1, 0);
      break;
    case 'Home':
      seek(s.sceneIndex, 0);
      break;
    case 'End':
      seek(s.sceneIndex, Number.MAX_SAFE_INTEGER);
      break;
    case '[':
      setSpeed(-1);
      break;
    case ']':
      setSpeed(1);
      break;
    case 'l':
      store.setState({ loop: !s.loop });
      break;
    case 'f':
      store.setState({ futureStep: Math.min(Number(future.max), s.futureStep + 1) });
      break;
    case 'F':
      store.setState({ futureStep: Math.max(1, s.futureStep - 1) });
      break;
    case 'c':
      store.setState({
        cameraMode: s.cameraMode === 'top' ? 'chase' : s.cameraMode === 'chase' ? 'orbit' : 'top',
      });
      break;
    case 'p':
      void screenshot();
      break;
    default:
      if (/^[0-9]$/.test(e.key)) {
        const id = layerKeys[(Number(e.key) + 9) % 10] as LayerId | undefined;
        if (id) store.setState({ layers: { ...s.layers, [id]: !s.layers[id] } });
        else return;
      } else return;
  }
  e.preventDefault();
});

// ------------------------------------------------------------------------------------------------ dialogs
function dialog(title: string, testid: string): { box: HTMLDialogElement; body: HTMLElement } {
  const box = el('dialog', { 'data-testid': testid }) as HTMLDialogElement;
  const body = el('div', { class: 'dialog-body' });
  box.append(el('h3', {}, title), body);
  document.body.append(box);
  box.addEventListener('close', () => box.remove());
  box.showModal();
  return { box, body };
}

async function openPath(kind: 'dataset' | 'run', path: string) {
  try {
    if (kind === 'dataset') {
      const info = await client.openDataset({ path });
      store.setState((s) => ({
        datasets: [...s.datasets.filter((d) => d.datasetId !== info.datasetId), info],
      }));
      refreshScenes();
      notify('info', `opened dataset ${info.dataroot} (${info.version}, ${info.scenes.length} scenes)`);
    } else {
      const info = await client.openRun({ path });
      await addRun(info);
      notify('info', `opened run ${info.label}`);
    }
  } catch (error) {
    const e = error as Error & { fix?: string };
    notify('error', e.message, e.fix);
  }
}

function seekToken(token: string) {
  store.getState().scenes.forEach((scene, si) => {
    const fi = scene.samples.findIndex((x) => x.token === token);
    if (fi >= 0) seek(si, fi);
  });
}

async function addRun(info: RunInfo) {
  const startup = info.datasetId ? await client.startup({}) : null;
  store.setState((s) => ({
    runs: [...s.runs.filter((r) => r.runId !== info.runId), info],
    datasets: startup ? startup.datasets : s.datasets,
    primaryRunId: s.primaryRunId ?? info.runId,
    compareRunId:
      s.primaryRunId && s.primaryRunId !== info.runId && !s.compareRunId ? info.runId : s.compareRunId,
  }));
  refreshScenes();
  // Start on the run's first frame (the first S − 1 samples of a scene have no SAD window).
  const st = store.getState();
  if (
    st.primaryRunId === info.runId &&
    info.frames.length > 0 &&
    !info.frames.some((f) => f.token === currentToken(st))
  ) {
    const first = info.frames[0].token;
    st.scenes.forEach((scene, si) => {
      const fi = scene.samples.findIndex((x) => x.token === first);
      if (fi >= 0) seek(si, fi);
    });
  }
  void loadSeries(info.runId);
}

async function loadSeries(runId: string) {
  try {
    const series = await client.runSeries({ runId });
    store.setState((s) => ({ series: { ...s.series, [runId]: series } }));
  } catch {
    // The plot stays empty; the frames still show.
  }
}

async function openFolder(kind: 'dataset' | 'run') {
  if (client.transport === 'electron') {
    const { path } = await client.chooseFolder({ purpose: kind });
    if (path) await openPath(kind, path);
    return;
  }
  browseDialog(kind, null);
}

function browseDialog(
  kind: 'dataset' | 'run' | 'plugin' | 'checkpoint',
  start: string | null,
  onFile?: (path: string) => void,
) {
  const { box, body } = dialog(
    kind === 'plugin'
      ? 'Choose a planner plugin file'
      : kind === 'checkpoint'
        ? 'Choose a model checkpoint (.safetensors)'
        : `Open ${kind}`,
    `browse-${kind}`,
  );
  const input = el('input', {
    type: 'text',
    'data-testid': 'browse-path',
    placeholder: 'folder path',
  }) as HTMLInputElement;
  const list = el('ul', { class: 'browse-list' });
  // A path the user typed is never overwritten by a listing that arrives later.
  let typed = false;
  input.addEventListener('input', () => {
    typed = true;
  });
  const openBtn = button('Open', 'browse-open', 'Open the path typed above', () => {
    box.close();
    if (onFile) onFile(input.value);
    else if (kind === 'plugin') store.setState({ planner: { plugin: input.value } });
    else if (kind === 'dataset' || kind === 'run') void openPath(kind, input.value);
  });
  body.append(
    input,
    openBtn,
    button('Cancel', 'browse-cancel', 'Cancel', () => box.close()),
    list,
  );
  const show = async (path: string | null) => {
    try {
      const r = await client.browse(path ? { path } : {});
      if (!typed) {
        input.value = r.path;
        // Focused (a dialog focuses its input; typing may be about to start): selected, so what is typed replaces
        // the listed path instead of being appended to it.
        if (document.activeElement === input) input.select();
      }
      list.replaceChildren();
      if (r.parent) {
        const up = el('li', { class: 'folder' }, '..');
        up.addEventListener('click', () => {
          typed = false;
          void show(r.parent);
        });
        list.append(up);
      }
      for (const entry of r.entries) {
        const li = el(
          'li',
          { class: entry.kind },
          `${entry.name}${entry.kind === 'run' ? '  (run)' : entry.kind === 'dataset' ? '  (dataset)' : ''}`,
        );
        const full = `${r.path.replace(/\/$/, '')}/${entry.name}`;
        li.addEventListener('click', () => {
          if (entry.kind === 'file') input.value = full;
          else {
            typed = false;
            void show(full);
          }
        });
        list.append(li);
      }
    } catch (error) {
      notify('error', (error as Error).message);
    }
  };
  void show(start);
}

async function choosePlugin() {
  if (client.transport === 'electron') {
    const { path } = await client.chooseFolder({ purpose: 'plugin' });
    if (path) store.setState({ planner: { plugin: path } });
    else renderToolbar();
    return;
  }
  browseDialog('plugin', null);
}

/** Jobs started from this page (their runs become run A when they open). */
const startedHere = new Set<string>();

/** Live compute: the SAD model over the open dataset in the job worker; the run opens while it grows. */
function computeDialog() {
  const s = store.getState();
  const dataset = s.datasets.find((d) => d.datasetId === primaryRun(s)?.datasetId) ?? s.datasets[0];
  const { box, body } = dialog('Compute a run with the model', 'compute-dialog');
  if (!dataset) {
    body.append(
      el('p', {}, 'Open a dataset first (Open dataset…): the model computes frames of its samples.'),
      button('Close', 'compute-cancel', 'Close', () => box.close()),
    );
    return;
  }
  const checkpoint = el('input', {
    type: 'text',
    'data-testid': 'compute-checkpoint',
    placeholder: s.live?.checkpoint ?? 'models/sad-cpu-small.safetensors',
    title: 'Empty: the default model (shipped, or spikedrive app --checkpoint)',
  }) as HTMLInputElement;
  const pick = button('…', 'compute-browse', 'Choose a checkpoint file', async () => {
    if (client.transport === 'electron') {
      const { path } = await client.chooseFolder({ purpose: 'checkpoint' });
      if (path) checkpoint.value = path;
    } else {
      const start = (checkpoint.value || s.live?.checkpoint || '').replace(/\/[^/]*$/, '') || null;
      browseDialog('checkpoint', start, (path) => {
        checkpoint.value = path;
      });
    }
  });
  const planner = el('select', { 'data-testid': 'compute-planner' });
  planner.append(
    new Option('sad (through the model)', 'sad'),
    new Option('cost-only', 'cost-only'),
    new Option('constant-velocity', 'constant-velocity'),
    new Option('expert (GT future)', 'expert'),
  );
  const split = el('select', { 'data-testid': 'compute-split' });
  split.append(new Option('val scenes', 'val'), new Option('train scenes', 'train'));
  const offload = el('input', {
    type: 'text',
    'data-testid': 'compute-offload',
    placeholder: 'none (e.g. perception=nir-sim, prediction=ws://127.0.0.1:7300)',
  }) as HTMLInputElement;
  offload.value = (s.live?.offload ?? []).join(', ');
  const start = button('Start', 'compute-start', 'Start computing (cancel from the job list)', async () => {
    try {
      const specs = offload.value
        .split(/[,\s]+/)
        .map((x) => x.trim())
        .filter(Boolean);
      const job = await client.startJob({
        kind: 'model-run',
        datasetId: dataset.datasetId,
        ...(checkpoint.value.trim() ? { checkpoint: checkpoint.value.trim() } : {}),
        planner: { builtin: planner.value },
        offload: specs,
        split: split.value as 'val',
      });
      box.close();
      startedHere.add(job.jobId);
      notify('info', `computing: ${job.label} (frames appear as they are written)`);
    } catch (error) {
      const e = error as Error & { fix?: string };
      notify('error', e.message, e.fix);
    }
  });
  const live = s.live;
  body.append(
    el('label', {}, 'Checkpoint'),
    el('div', { class: 'row' }),
    el('label', {}, 'Planner'),
    planner,
    el('label', {}, 'Samples'),
    split,
    el('label', {}, 'Offload (MODULE=BACKEND, comma-separated)'),
    offload,
    el(
      'p',
      { class: 'hint' },
      live && !live.available
        ? `The default model ${live.checkpoint} is missing: name a checkpoint above.`
        : `Runs on ${dataset.version} of ${dataset.dataroot}; a worker computes frames, this view shows them as they arrive.`,
    ),
    start,
    button('Cancel', 'compute-cancel', 'Close', () => box.close()),
  );
  body.querySelector('.row')?.append(checkpoint, pick);
}

function preferencesDialog() {
  const s = store.getState();
  const { box, body } = dialog('Preferences', 'preferences-dialog');
  const frame = el('select', { 'data-testid': 'pref-trajectory-frame' });
  frame.append(
    new Option('planner convention (lidar x/y as BEV, as SAD scores)', 'planner'),
    new Option('geometric (lidar → ego transform)', 'geometric'),
  );
  frame.value = s.preferences.trajectoryFrame ?? 'planner';
  const profile = el('select', { 'data-testid': 'pref-profile' });
  profile.append(...s.profiles.map((p) => new Option(p.name, p.id)));
  profile.value = s.preferences.energyProfile ?? s.energyProfile ?? s.profiles[0]?.id ?? '';
  const save = button('Save', 'pref-save', 'Save preferences', async () => {
    const preferences = await client.setPreferences({
      preferences: {
        ...s.preferences,
        trajectoryFrame: frame.value as 'planner',
        energyProfile: profile.value,
        playbackSpeed: store.getState().speed,
        loop: store.getState().loop,
      },
    });
    store.setState({ preferences, energyProfile: profile.value });
    box.close();
  });
  body.append(
    el('label', {}, 'Trajectories drawn in'),
    frame,
    el('label', {}, 'Default energy profile'),
    profile,
    save,
    button('Cancel', 'pref-cancel', 'Cancel', () => box.close()),
  );
}

// ------------------------------------------------------------------------------------------------ screenshot
/** Composes the visible canvases (cameras, BEV, charts) at their page positions into one PNG. */
export async function composeScreenshot(): Promise<Uint8Array<ArrayBuffer>> {
  bev.render();
  const width = document.documentElement.clientWidth;
  const height = document.documentElement.clientHeight;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.fillStyle = '#101216';
  ctx.fillRect(0, 0, width, height);
  for (const c of document.querySelectorAll('canvas')) {
    const r = c.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) ctx.drawImage(c, r.left, r.top, r.width, r.height);
  }
  ctx.fillStyle = '#fff';
  ctx.font = '13px sans-serif';
  ctx.fillText(
    `spikedrive · ${document.querySelector('[data-testid=position]')?.textContent ?? ''}`,
    8,
    height - 8,
  );
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  return new Uint8Array(await (blob as Blob).arrayBuffer());
}

async function screenshot() {
  try {
    const bytes = await composeScreenshot();
    const token = currentToken() ?? 'frame';
    const { path } = await client.saveFile({ name: `spikedrive-${token.slice(0, 8)}.png`, bytes });
    if (path) notify('info', `screenshot saved: ${path}`);
  } catch (error) {
    notify('error', `screenshot failed: ${(error as Error).message}`);
  }
}

client.onMenu((command) => {
  if (command === 'open-dataset') void openFolder('dataset');
  else if (command === 'open-run') void openFolder('run');
  else if (command === 'export-screenshot') void screenshot();
  else if (command === 'preferences') preferencesDialog();
});

// ------------------------------------------------------------------------------------------------ start-up and polling
const shownNotices = new Set<string>();
/** Host notices (demo preparing, no model, fall-backs), each shown once. */
function showNotices(list: readonly string[]) {
  for (const n of list) {
    if (shownNotices.has(n)) continue;
    shownNotices.add(n);
    notify('info', n);
  }
}

async function poll() {
  const s = store.getState();
  try {
    if (s.mode === 'loading' || (s.datasets.length === 0 && s.runs.length === 0)) {
      const startup = await client.startup({});
      const known = new Set(s.runs.map((r) => r.runId));
      store.setState({
        mode: startup.mode,
        profiles: startup.profiles,
        preferences: startup.preferences,
        datasets: startup.datasets,
        jobs: startup.jobs,
        live: startup.live,
        speed: startup.preferences.playbackSpeed ?? s.speed,
        loop: startup.preferences.loop ?? s.loop,
        energyProfile: s.energyProfile ?? startup.preferences.energyProfile ?? null,
      });
      showNotices(startup.notices);
      if (s.planners.length === 0) store.setState({ planners: await client.listPlanners({}) });
      for (const run of startup.runs) if (!known.has(run.runId)) await addRun(run);
      refreshScenes();
    }
    const running = store.getState().runs.filter((r) => r.status === 'running');
    // Jobs are asked for on every tick (one small request): a job the host started on its own (the demo's model
    // run) shows up here even when the page loaded before it began.
    const jobs = store.getState().mode === 'loading' ? [] : await client.jobs({});
    const before = store.getState();
    const jobsChanged = JSON.stringify(jobs) !== JSON.stringify(before.jobs);
    if (running.length > 0 || jobsChanged) {
      // A job that failed since the last poll: say why (a missing checkpoint, an offload device that is gone…).
      let ended = false;
      for (const j of jobs) {
        const was = before.jobs.find((b) => b.jobId === j.jobId);
        if (j.state !== 'running' && (!was || was.state === 'running')) ended = true;
        if (j.state === 'failed' && (!was || was.state === 'running'))
          notify('error', `${j.label} failed: ${j.error ?? 'unknown error'}`);
      }
      // The host may have said more when a job ended (e.g. the demo fell back to the expert run), and a dataset may
      // have grown (the demo world, opened at its val scene while the rest was generated).
      if (ended) {
        const startup = await client.startup({});
        showNotices(startup.notices);
        store.setState({ datasets: startup.datasets });
      }
      // Runs that jobs opened since (a live model run): add them; one the user started here becomes run A.
      for (const j of jobs) {
        if (j.runId && !store.getState().runs.some((r) => r.runId === j.runId)) {
          await addRun(await client.runSummary({ runId: j.runId }));
          if (startedHere.has(j.jobId)) {
            const previous = store.getState().primaryRunId;
            selectPrimaryRun(j.runId);
            if (previous && previous !== j.runId) store.setState({ compareRunId: previous });
          }
        }
      }
      const updated = await Promise.all(running.map((r) => client.runSummary({ runId: r.runId })));
      store.setState((st) => ({
        jobs,
        runs: st.runs.map((r) => updated.find((u) => u.runId === r.runId) ?? r),
      }));
      refreshScenes();
      for (const u of updated) void loadSeries(u.runId);
      // The shown run got its first frames while the cursor is on a sample it has none for: go to its first frame.
      const st = store.getState();
      const primary = primaryRun(st);
      const had = before.runs.find((r) => r.runId === primary?.runId)?.frames.length ?? 0;
      if (primary && had === 0 && primary.frames.length > 0) {
        const token = currentToken(st);
        if (!primary.frames.some((f) => f.token === token)) seekToken(primary.frames[0].token);
      }
    }
  } catch (error) {
    notify('error', (error as Error).message);
  }
  setTimeout(poll, 1000);
}

// Tests read state through this (no private APIs: the same store the UI renders).
(window as unknown as { __spikedrive: unknown }).__spikedrive = {
  store,
  bev,
  currentToken,
  loader,
  composeScreenshot,
};
renderLegend();
renderToolbar();
renderTimeline();
void poll();
