// The viewer's state in one zustand store (vanilla: no framework). UI parts subscribe to what they draw; actions
// change state only through `set`, so every view stays in sync with the timeline cursor.
import { createStore } from 'zustand/vanilla';
import type {
  DatasetInfo,
  JobInfo,
  LiveInfo,
  PlannerChoice,
  PlannerInfo,
  Preferences,
  RunInfo,
  RunSeries,
} from '../api/protocol.ts';

export const LAYERS = [
  { id: 'hdmap', label: 'HD map', swatch: '#5a6472' },
  { id: 'gtBoxes', label: 'GT boxes', swatch: '#ff9e00' },
  { id: 'occupancy', label: 'Predicted occupancy (present)', swatch: '#3d8bff' },
  { id: 'futureOccupancy', label: 'Predicted occupancy (future step)', swatch: '#ff5e3a' },
  { id: 'gtOccupancy', label: 'GT occupancy outline', swatch: '#f2f2f2' },
  {
    id: 'costVolume',
    label: 'Cost volume (future step)',
    swatch: 'linear-gradient(90deg,#30123b,#28bceb,#a4fc3c,#fb8022,#7a0403)',
  },
  {
    id: 'candidates',
    label: 'Candidates (by cost)',
    swatch: 'linear-gradient(90deg,#2ecc71,#f1c40f,#e74c3c)',
  },
  { id: 'planned', label: 'Chosen trajectory', swatch: '#ff2fd0' },
  { id: 'gtTrajectory', label: 'GT trajectory', swatch: '#19e68c' },
  { id: 'egoPath', label: 'Ego path (scene)', swatch: '#8e8e8e' },
] as const;
export type LayerId = (typeof LAYERS)[number]['id'];

export interface TimelineScene {
  sceneToken: string;
  name: string;
  description: string;
  samples: { token: string; timestampUs: number }[];
}

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  message: string;
  fix?: string;
}

export interface ViewerState {
  mode: 'electron' | 'browser' | 'loading';
  profiles: { id: string; name: string }[];
  preferences: Preferences;
  notices: Notice[];
  datasets: DatasetInfo[];
  runs: RunInfo[];
  series: Record<string, RunSeries>;
  primaryRunId: string | null;
  compareRunId: string | null;
  compareMode: 'side' | 'overlay';
  scenes: TimelineScene[];
  sceneIndex: number;
  frameIndex: number;
  playing: boolean;
  speed: number;
  loop: boolean;
  layers: Record<LayerId, boolean>;
  futureStep: number;
  cameraMode: 'top' | 'chase' | 'orbit';
  energyProfile: string | null;
  planners: PlannerInfo[];
  planner: PlannerChoice | { builtin: 'run' };
  jobs: JobInfo[];
  /** Live compute defaults from the host (checkpoint, offload). */
  live: LiveInfo | null;
  /** Sample token whose data is fully drawn (e2e tests and playback wait on it). */
  renderedToken: string | null;
}

export const SPEEDS = [0.25, 0.5, 1, 2, 4];

export function initialState(): ViewerState {
  return {
    mode: 'loading',
    profiles: [],
    preferences: {},
    notices: [],
    datasets: [],
    runs: [],
    series: {},
    primaryRunId: null,
    compareRunId: null,
    compareMode: 'side',
    scenes: [],
    sceneIndex: 0,
    frameIndex: 0,
    playing: false,
    speed: 1,
    loop: true,
    layers: Object.fromEntries(LAYERS.map((l) => [l.id, l.id !== 'gtOccupancy'])) as Record<LayerId, boolean>,
    futureStep: 1,
    cameraMode: 'top',
    energyProfile: null,
    planners: [],
    planner: { builtin: 'run' },
    jobs: [],
    live: null,
    renderedToken: null,
  };
}

export const store = createStore<ViewerState>(() => initialState());

export function primaryRun(s: ViewerState = store.getState()): RunInfo | undefined {
  return s.runs.find((r) => r.runId === s.primaryRunId);
}

export function compareRun(s: ViewerState = store.getState()): RunInfo | undefined {
  return s.runs.find((r) => r.runId === s.compareRunId);
}

/** The dataset the timeline follows: the primary run's, else the first one open. */
export function activeDataset(s: ViewerState = store.getState()): DatasetInfo | undefined {
  const run = primaryRun(s);
  if (run?.datasetId) return s.datasets.find((d) => d.datasetId === run.datasetId);
  return s.datasets[0];
}

/** Scenes from the active dataset, or from the primary run's frames when no dataset is open. */
export function timelineScenes(s: ViewerState): TimelineScene[] {
  const dataset = activeDataset(s);
  if (dataset) return dataset.scenes;
  const run = primaryRun(s);
  if (!run) return [];
  const byScene = new Map<string, TimelineScene>();
  for (const f of run.frames) {
    let scene = byScene.get(f.sceneToken);
    if (!scene) {
      scene = { sceneToken: f.sceneToken, name: f.sceneName, description: '', samples: [] };
      byScene.set(f.sceneToken, scene);
    }
    scene.samples.push({ token: f.token, timestampUs: f.timestampUs });
  }
  for (const scene of byScene.values()) scene.samples.sort((a, b) => a.timestampUs - b.timestampUs);
  return [...byScene.values()];
}

export function currentToken(s: ViewerState = store.getState()): string | null {
  return s.scenes[s.sceneIndex]?.samples[s.frameIndex]?.token ?? null;
}

let noticeId = 1;
export function notify(kind: Notice['kind'], message: string, fix?: string): void {
  const notice: Notice = { id: noticeId++, kind, message, fix };
  store.setState((s) => ({ notices: [...s.notices.slice(-4), notice] }));
  if (kind === 'info') setTimeout(() => dismiss(notice.id), 6000);
}

export function dismiss(id: number): void {
  store.setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

/** Moves the cursor (clamped; wraps across scenes when stepping past an end, loops if `loop`). */
export function seek(sceneIndex: number, frameIndex: number): void {
  const s = store.getState();
  if (s.scenes.length === 0) return;
  const si = Math.max(0, Math.min(s.scenes.length - 1, sceneIndex));
  const n = s.scenes[si].samples.length;
  store.setState({ sceneIndex: si, frameIndex: Math.max(0, Math.min(n - 1, frameIndex)) });
}

export function step(delta: number): void {
  const s = store.getState();
  const scene = s.scenes[s.sceneIndex];
  if (!scene) return;
  let next = s.frameIndex + delta;
  if (next >= scene.samples.length) {
    if (!s.loop) {
      store.setState({ playing: false });
      next = scene.samples.length - 1;
    } else next = 0;
  } else if (next < 0) next = s.loop ? scene.samples.length - 1 : 0;
  store.setState({ frameIndex: next });
}

export function setSpeed(direction: 1 | -1): void {
  const s = store.getState();
  const i = SPEEDS.indexOf(s.speed);
  store.setState({ speed: SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + direction))] });
}

/** Sets the primary run and re-derives the timeline (keeping the sample under the cursor where possible). */
export function selectPrimaryRun(runId: string | null): void {
  const before = currentToken();
  store.setState({ primaryRunId: runId });
  refreshScenes(before);
}

export function refreshScenes(keepToken: string | null = currentToken()): void {
  const s = store.getState();
  const scenes = timelineScenes(s);
  let sceneIndex = Math.min(s.sceneIndex, Math.max(0, scenes.length - 1));
  let frameIndex = s.frameIndex;
  if (keepToken) {
    scenes.forEach((scene, si) => {
      const fi = scene.samples.findIndex((x) => x.token === keepToken);
      if (fi >= 0) {
        sceneIndex = si;
        frameIndex = fi;
      }
    });
  }
  const n = scenes[sceneIndex]?.samples.length ?? 1;
  store.setState({ scenes, sceneIndex, frameIndex: Math.min(frameIndex, n - 1) });
}
