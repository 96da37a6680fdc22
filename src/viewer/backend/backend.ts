// The viewer's host side, one implementation for both shells: the Electron main process answers IPC with it and the
// browser-mode server answers HTTP with it. Every request has been validated against `api/protocol.ts` before it
// arrives here; file access goes through the FolderGuard.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { listHardwareProfiles } from '../../energy/index.ts';
import { SHIPPED_MODEL_PATH } from '../../pipeline/shipped.ts';
import {
  BUILTIN_PLANNERS,
  builtinPlanner,
  createPlanner,
  type PlannerDefinition,
  type PlannerInstance,
  validatePlannerDefinition,
} from '../../planning/index.ts';
import { SpikedriveError } from '../../util/index.ts';
import type {
  ApiMethod,
  ApiRequest,
  ApiResponses,
  BrowseResult,
  LiveInfo,
  PlannerInfo,
  StartupInfo,
  ViewerApi,
} from '../api/protocol.ts';
import { observationFromFrame } from '../run/observation.ts';
import { DatasetSession, findVersions } from './datasets.ts';
import { JobManager } from './jobs.ts';
import { checkModelCheckpoint } from './model-job.ts';
import type { PreferencesStore } from './prefs.ts';
import { FolderGuard } from './roots.ts';
import { RunSession } from './runs.ts';

export interface BackendOptions {
  mode: 'electron' | 'browser';
  preferences: PreferencesStore;
  /**
   * Whether the renderer may open a folder by naming its path. Browser mode: yes (the page holds the session
   * token, so it is the user, and it has no native dialog). Electron: no, folders come from dialogs (`hostHooks`).
   */
  rendererOpensPaths: boolean;
  /** Folder for runs the app computes (ground-truth runs, live frames). */
  cacheDir: string;
  guard?: FolderGuard;
  notices?: string[];
  hooks?: HostHooks;
  /** Live compute defaults (`spikedrive app --checkpoint/--offload`). */
  live?: LiveOptions;
  log?: (line: string) => void;
}

export interface LiveOptions {
  /** Checkpoint model jobs read by default; null/absent = the shipped model. */
  checkpoint?: string | null;
  /** Offload specs applied to model jobs by default (perception=nir-sim, prediction=ws://HOST:PORT). */
  offload?: string[];
  offloadFallback?: 'error' | 'host';
  /** Tensor back end of model jobs (default auto). */
  backend?: string;
}

export interface ModelRunOptions {
  /** Checkpoint; absent = the live default. */
  checkpoint?: string | null;
  planner?: string;
  /** Offload specs; absent = the live default. */
  offload?: string[];
  out?: string;
  /** Continue a partial run of the same settings in `out` (the demo's cached run). */
  resume?: boolean;
  split?: 'train' | 'val';
  limit?: number;
  label?: string;
}

const OFFLOAD_MODULES = ['perception', 'prediction', 'planning'];

/** What only a shell can do (native dialogs); the browser answers these in the page instead. */
export interface HostHooks {
  chooseFolder?(purpose: 'dataset' | 'run' | 'plugin' | 'checkpoint'): Promise<string | null>;
  saveFile?(name: string, bytes: Uint8Array): Promise<string | null>;
}

export interface ViewerBackend extends ViewerApi {
  readonly guard: FolderGuard;
  readonly jobManager: JobManager;
  /** Opens a folder on the user's behalf (command-line argument, dialog result, demo). */
  openDatasetFolder(path: string, version?: string): Promise<ApiResponses['openDataset']>;
  openRunFolder(path: string): Promise<ApiResponses['openRun']>;
  /**
   * Reads an open dataset's tables again under the same id (its folder grew: the demo's preview became the whole
   * world); runs linked to it stay linked. The renderer sees the new scene list in `startup`.
   */
  reloadDataset(datasetId: string): Promise<ApiResponses['openDataset']>;
  /** Starts a ground-truth run job over an opened dataset; the run opens as it grows. */
  startGroundTruthRun(
    datasetId: string,
    planner: 'expert' | 'cost-only' | 'constant-velocity',
    out?: string,
  ): Promise<ApiResponses['startJob']>;
  /**
   * Starts a model run job (the SAD model through the evaluator, in a worker) over an opened dataset. A missing or
   * unreadable checkpoint, or a bad offload spec, is refused here with a SpikedriveError naming it; the run opens
   * (in the background) as soon as its manifest exists.
   */
  startModelRun(datasetId: string, options?: ModelRunOptions): Promise<ApiResponses['startJob']>;
  /** Resolves once a job's run is open in this backend (or the job ended without one). */
  jobRunOpened(jobId: string): Promise<string | null>;
  readonly live: LiveInfo;
  notices: string[];
  close(): Promise<void>;
}

export function createViewerBackend(options: BackendOptions): ViewerBackend {
  const guard = options.guard ?? new FolderGuard();
  const prefs = options.preferences;
  const datasets = new Map<string, DatasetSession>();
  const runs = new Map<string, RunSession>();
  const jobs = new JobManager({ log: options.log });
  const runOpened = new Map<string, Promise<string | null>>();
  const live: LiveInfo = {
    checkpoint: resolve(options.live?.checkpoint ?? SHIPPED_MODEL_PATH),
    get available() {
      return existsSync(this.checkpoint);
    },
    offload: [...(options.live?.offload ?? [])],
  };
  const planners = new Map<string, Promise<PlannerInstance>>();
  const notices = [...(options.notices ?? []), ...prefs.warnings];
  let nextId = 1;

  const dataset = (id: string): DatasetSession => {
    const d = datasets.get(id);
    if (!d)
      throw new SpikedriveError(`no open dataset ${id}`, { subject: id, fix: 'Open the dataset first.' });
    return d;
  };
  const run = (id: string): RunSession => {
    const r = runs.get(id);
    if (!r) throw new SpikedriveError(`no open run ${id}`, { subject: id, fix: 'Open the run first.' });
    return r;
  };
  /** A path the renderer named: allowed if the renderer may open paths, else it must already be inside a root. */
  const admit = (path: string): string =>
    options.rendererOpensPaths ? guard.allow(path) : guard.resolveInside(path);

  async function openDatasetFolder(path: string, version?: string) {
    const root = guard.allow(path);
    for (const d of datasets.values())
      if (d.dataroot === root && (!version || d.nusc.version === version)) return d.info;
    const session = await DatasetSession.open(`dataset-${nextId++}`, root, version);
    datasets.set(session.datasetId, session);
    await prefs.remember('recentDatasets', root);
    return session.info;
  }

  async function reloadDataset(datasetId: string) {
    const old = dataset(datasetId);
    const session = await DatasetSession.open(datasetId, old.dataroot, old.nusc.version);
    datasets.set(datasetId, session);
    return session.info;
  }

  async function linkDataset(session: RunSession): Promise<void> {
    const { dataroot, version } = session.folder.manifest.dataset;
    for (const d of datasets.values()) {
      if (d.dataroot === resolve(dataroot) && d.nusc.version === version) {
        session.datasetId = d.datasetId;
        return;
      }
    }
    // A run's own dataset opens with it (it names it); only a real nuScenes dataroot qualifies.
    if (findVersions(dataroot).includes(version)) {
      const info = await openDatasetFolder(dataroot, version);
      session.datasetId = info.datasetId;
    }
  }

  async function openRunFolder(path: string) {
    const root = guard.allow(path);
    for (const r of runs.values()) if (r.dir === root) return r.info();
    const session = await RunSession.open(`run-${nextId++}`, root);
    await linkDataset(session).catch((error: unknown) => {
      notices.push(`run ${root}: its dataset could not be opened (${(error as Error).message})`);
    });
    runs.set(session.runId, session);
    await prefs.remember('recentRuns', root);
    return session.info();
  }

  /** Opens the run a job writes as soon as its manifest exists (polling while the job runs). */
  function watchJobRun(jobId: string, dir: string): Promise<string | null> {
    const opened = (async () => {
      while (!existsSync(join(dir, 'manifest.json')) && jobs.get(jobId)?.state === 'running')
        await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(join(dir, 'manifest.json'))) return null;
      try {
        const r = await openRunFolder(dir);
        jobs.setRun(jobId, r.runId);
        return r.runId;
      } catch (error) {
        notices.push(`the run ${dir} could not be opened: ${(error as Error).message}`);
        return null;
      }
    })();
    runOpened.set(jobId, opened);
    return opened;
  }

  async function startGroundTruthRun(
    datasetId: string,
    planner: 'expert' | 'cost-only' | 'constant-velocity',
    out?: string,
  ) {
    const d = dataset(datasetId);
    const dir = out ?? join(options.cacheDir, `gt-run-${planner}-${Date.now().toString(36)}`);
    const info = jobs.start(
      { kind: 'ground-truth-run', dataroot: d.dataroot, version: d.nusc.version, out: dir, planner },
      `${planner} run on ${d.nusc.version}`,
    );
    // Open the run as soon as its manifest exists, so frames show while they are written.
    await watchJobRun(info.jobId, dir);
    return jobs.get(info.jobId) ?? info;
  }

  async function startModelRun(datasetId: string, run: ModelRunOptions = {}) {
    const d = dataset(datasetId);
    const checkpoint = checkModelCheckpoint(
      run.checkpoint === undefined
        ? live.checkpoint
        : run.checkpoint === null
          ? null
          : resolve(run.checkpoint),
    );
    const offload = run.offload ?? live.offload;
    for (const spec of offload) {
      const module = spec.split('=')[0];
      if (!/^[a-z_]+=(nir-sim|wss?:\/\/\S+)$/.test(spec) || !OFFLOAD_MODULES.includes(module)) {
        throw new SpikedriveError(`offload "${spec}" is not MODULE=BACKEND`, {
          subject: '--offload',
          fix: 'Use e.g. perception=nir-sim or prediction=ws://127.0.0.1:7300 (modules: perception, prediction, planning).',
        });
      }
    }
    const planner = run.planner ?? 'sad';
    const dir =
      run.out ??
      join(
        options.cacheDir,
        `model-run-${planner.replace(/[^a-z0-9-]/gi, '_').slice(-40)}-${Date.now().toString(36)}`,
      );
    const name = checkpoint.split('/').pop() ?? checkpoint;
    const info = jobs.start(
      {
        kind: 'model-run',
        dataroot: d.dataroot,
        version: d.nusc.version,
        out: dir,
        checkpoint,
        planner,
        offload,
        offloadFallback: options.live?.offloadFallback,
        split: run.split,
        limit: run.limit,
        backend: options.live?.backend,
        resume: run.resume,
      },
      run.label ??
        `${name} · ${planner}${offload.length ? ` · ${offload.join(', ')}` : ''} on ${d.nusc.version}`,
    );
    void watchJobRun(info.jobId, dir);
    return info;
  }

  function plannerList(): PlannerInfo[] {
    const out: PlannerInfo[] = [
      { name: 'run', description: 'The plan stored in the run', source: 'run', available: true },
    ];
    for (const name of BUILTIN_PLANNERS) {
      const needsModel = name === 'sad';
      out.push({
        name,
        description:
          name === 'sad'
            ? 'SAD spiking planner (cost function + spiking GRU)'
            : name === 'cost-only'
              ? 'SAD cost function over the run’s candidates, no GRU'
              : name === 'constant-velocity'
                ? 'Constant speed along the present heading'
                : 'The ground-truth future (upper bound)',
        source: 'builtin',
        available: !needsModel,
        ...(needsModel
          ? {
              reason:
                're-planning a stored frame needs the model’s features: compute a model run (Compute…), whose plan is the sad planner’s',
            }
          : {}),
      });
    }
    return out;
  }

  async function plannerFor(
    choice: ApiRequest<'replan'>['planner'],
    F: number,
    rows: number,
    xBound: [number, number, number],
    yBound: [number, number, number],
    sampleNum: number,
  ) {
    const key = `${'builtin' in choice ? choice.builtin : `plugin:${choice.plugin}`}|${F}|${rows}|${sampleNum}`;
    let instance = planners.get(key);
    if (!instance) {
      instance = (async () => {
        let definition: PlannerDefinition;
        if ('builtin' in choice) definition = builtinPlanner(choice.builtin);
        else {
          const file = admit(choice.plugin);
          const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
          definition = validatePlannerDefinition(module.default, file);
        }
        return createPlanner(definition, { nFutureFrames: F, xBound, yBound, sampleNum });
      })();
      planners.set(key, instance);
      instance.catch(() => planners.delete(key));
    }
    return instance;
  }

  function egoHistory(session: RunSession, token: string) {
    // Past LIDAR positions in the present lidar frame (x right = −left, y forward), from the dataset when open.
    const d = session.datasetId ? datasets.get(session.datasetId) : undefined;
    if (!d) return { history: [] };
    const view = d.sampleView(token);
    const start = Math.max(0, view.egoPathIndex - (session.folder.manifest.receptiveField - 1));
    const history = view.egoPath.slice(start, view.egoPathIndex + 1).map(([x, y]) => [-y, x, 0] as const);
    return { history };
  }

  const api: ViewerApi = {
    async startup(): Promise<StartupInfo> {
      return {
        mode: options.mode,
        version: '0.1.0',
        datasets: [...datasets.values()].map((d) => d.info),
        runs: await Promise.all(
          [...runs.values()].map(async (r) => {
            await r.refresh();
            return r.info();
          }),
        ),
        jobs: jobs.list(),
        profiles: listHardwareProfiles().map((p) => ({ id: p.id, name: p.name })),
        preferences: prefs.get(),
        notices: [...notices],
        live: { checkpoint: live.checkpoint, available: live.available, offload: [...live.offload] },
      };
    },
    async openDataset({ path, version }) {
      return openDatasetFolder(admit(path), version);
    },
    async openRun({ path }) {
      return openRunFolder(admit(path));
    },
    async closeRun({ runId }) {
      run(runId);
      runs.delete(runId);
      return { closed: true };
    },
    async runSummary({ runId }) {
      const r = run(runId);
      await r.refresh();
      if (r.datasetId === null) await linkDataset(r).catch(() => {});
      return r.info();
    },
    async runSeries({ runId }) {
      return run(runId).series();
    },
    async runFrame({ runId, token }) {
      return run(runId).frameBytes(token);
    },
    async frameEnergy({ runId, token, profile }) {
      return run(runId).frameEnergy(token, profile);
    },
    async sampleView({ datasetId, token }) {
      return dataset(datasetId).sampleView(token);
    },
    async sampleMap({ datasetId, token }) {
      return dataset(datasetId).sampleMap(token);
    },
    async cameraImage({ datasetId, sampleDataToken, maxWidth }) {
      const d = dataset(datasetId);
      return d.cameraImage(
        d.cameraPath(sampleDataToken, (p) => guard.resolveInside(p)),
        maxWidth,
      );
    },
    async listPlanners() {
      return plannerList();
    },
    async replan({ runId, token, planner }) {
      const r = run(runId);
      const m = r.folder.manifest;
      const frame = await r.frame(token);
      const cands = frame.arrays.get('candidates');
      const sampleNum = cands ? cands.shape[0] * 3 : 1800;
      const started = performance.now();
      const instance = await plannerFor(
        planner,
        m.nFuture,
        m.bev.rows,
        m.bev.xBound,
        m.bev.yBound,
        sampleNum,
      );
      const observation = observationFromFrame(frame, {
        nFuture: m.nFuture,
        rows: m.bev.rows,
        cols: m.bev.cols,
        egoState: egoHistory(r, token),
      });
      const plan = await instance.plan(observation);
      return {
        planner: instance.name,
        trajectory: plan.trajectory.map((w) => [w[0], w[1], w[2]] as [number, number, number]),
        meta: plan.meta,
        elapsedMs: performance.now() - started,
      };
    },
    async startJob(request) {
      if (request.kind === 'ground-truth-run') return startGroundTruthRun(request.datasetId, request.planner);
      const planner = request.planner
        ? 'builtin' in request.planner
          ? request.planner.builtin
          : admit(request.planner.plugin)
        : undefined;
      let checkpoint: string | undefined;
      if (request.checkpoint !== undefined) {
        // Named by the renderer: it must exist (a clear notice) and lie where the user may read.
        checkModelCheckpoint(resolve(request.checkpoint));
        checkpoint = admit(request.checkpoint);
      }
      return startModelRun(request.datasetId, {
        checkpoint,
        planner,
        offload: request.offload,
        split: request.split,
        limit: request.limit,
      });
    },
    async jobs() {
      return jobs.list();
    },
    async cancelJob({ jobId }) {
      const info = jobs.cancel(jobId);
      if (!info)
        throw new SpikedriveError(`no job ${jobId}`, { subject: jobId, fix: 'List jobs to see their ids.' });
      return info;
    },
    async browse({ path }): Promise<BrowseResult> {
      if (!options.rendererOpensPaths) {
        throw new SpikedriveError('folder browsing is for browser mode', {
          subject: 'browse',
          fix: 'Use File → Open… (a native dialog) in the desktop app.',
        });
      }
      const dir = resolve(path ?? prefs.get().recentRuns?.[0] ?? options.cacheDir);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        throw new SpikedriveError(`${dir} is not a folder`, {
          subject: dir,
          fix: 'Type the path of a folder.',
        });
      }
      const entries = readdirSync(dir, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.'))
        .map((e) => {
          const full = join(dir, e.name);
          if (!e.isDirectory()) return { name: e.name, kind: 'file' as const };
          if (existsSync(join(full, 'manifest.json')) && existsSync(join(full, 'frames')))
            return { name: e.name, kind: 'run' as const };
          if (findVersions(full).length > 0) return { name: e.name, kind: 'dataset' as const };
          return { name: e.name, kind: 'folder' as const };
        })
        .sort(
          (a, b) => (a.kind === 'file' ? 1 : 0) - (b.kind === 'file' ? 1 : 0) || a.name.localeCompare(b.name),
        );
      const parent = resolve(dir, '..');
      return { path: dir, parent: parent === dir ? null : parent, entries };
    },
    async chooseFolder({ purpose }) {
      if (!options.hooks?.chooseFolder) return { path: null };
      const chosen = await options.hooks.chooseFolder(purpose);
      if (chosen) guard.allow(chosen);
      return { path: chosen };
    },
    async getPreferences() {
      return prefs.get();
    },
    async setPreferences({ preferences }) {
      return prefs.set(preferences);
    },
    async saveFile({ name, bytes }) {
      if (!options.hooks?.saveFile) return { path: null };
      return { path: await options.hooks.saveFile(name, bytes) };
    },
  };

  return {
    ...api,
    guard,
    jobManager: jobs,
    notices,
    openDatasetFolder,
    openRunFolder,
    reloadDataset,
    startGroundTruthRun,
    startModelRun,
    jobRunOpened: (jobId: string) => runOpened.get(jobId) ?? Promise.resolve(null),
    live,
    async close() {
      await jobs.close();
      for (const p of planners.values()) await (await p.catch(() => null))?.dispose();
    },
  };
}

/** Calls a backend method by name with an already-validated request. */
export function dispatch<M extends ApiMethod>(
  backend: ViewerApi,
  method: M,
  request: ApiRequest<M>,
): Promise<ApiResponses[M]> {
  return (backend[method] as (r: ApiRequest<M>) => Promise<ApiResponses[M]>)(request);
}
