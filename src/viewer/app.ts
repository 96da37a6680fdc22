// Starting the app: Electron where its binary is installed, otherwise browser mode (the same renderer served on
// localhost by the viewer server). With no folders named, it opens the demo world and the shipped model's run on it
// (computed once in a worker, cached beside the demo world under the checkpoint's sha256, shown while it grows); a
// checkout without the model replays a ground-truth ("expert") run instead.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type DemoOptions, demoCacheFolder, ensureDemoDataset } from '../../data-loaders/synthetic/index.ts';
import { createViewerBackend, type ViewerBackend } from './backend/backend.ts';
import { checkpointSha256 } from './backend/model-job.ts';
import { openPreferences } from './backend/prefs.ts';
import { ensureRendererBuild, REPO_ROOT } from './server/build.ts';
import { startViewerServer, type ViewerServer } from './server/server.ts';

export interface AppOptions {
  datasets: string[];
  runs: string[];
  browser: boolean;
  port?: number;
  open: boolean;
  demo: boolean;
  /** Checkpoint for live compute and the demo's model run (default: the shipped model). */
  checkpoint?: string | null;
  /** Offload specs for model runs (`--offload perception=nir-sim`, `prediction=ws://HOST:PORT`). */
  offload?: string[];
  offloadFallback?: 'error' | 'host';
  /** Folder for the runs the app computes (default: `runs/` beside the demo world's cache). */
  cacheDir?: string;
  /** Preferences file; null keeps them in memory. */
  preferencesPath?: string | null;
  log?: (line: string) => void;
}

/** The Electron executable when its binary is installed (never triggers electron's lazy download). */
export function electronBinary(root = REPO_ROOT): string | null {
  const pkg = join(root, 'node_modules', 'electron');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile))
    return override && existsSync(join(override, 'electron')) ? join(override, 'electron') : null;
  const executable = readFileSync(pathFile, 'utf8').trim();
  const full = override ? join(override, executable) : join(pkg, 'dist', executable);
  return existsSync(full) ? full : null;
}

function openBrowser(url: string): boolean {
  const candidates = process.env.BROWSER ? [process.env.BROWSER] : ['xdg-open', 'open'];
  if (
    !process.env.BROWSER &&
    !process.env.DISPLAY &&
    !process.env.WAYLAND_DISPLAY &&
    process.platform === 'linux'
  )
    return false;
  for (const cmd of candidates) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) continue;
    spawn(cmd, [url], { detached: true, stdio: 'ignore' }).unref();
    return true;
  }
  return false;
}

/** The demo's ground-truth run folder (beside the demo world). */
export function demoRunFolder(): string {
  return join(dirname(demoCacheFolder()), 'runs', `${demoCacheFolder().split('/').pop()}-expert`);
}

/** The demo's model run folder: keyed by the checkpoint's sha256 (and the offload specs, when any). */
export function demoModelRunFolder(checkpointSha256: string, offload: readonly string[] = []): string {
  const off = offload.length
    ? `-offload-${createHash('sha256').update(offload.join(',')).digest('hex').slice(0, 8)}`
    : '';
  return join(
    dirname(demoCacheFolder()),
    'runs',
    `${demoCacheFolder().split('/').pop()}-model-${checkpointSha256.slice(0, 16)}${off}`,
  );
}

function isComplete(runDir: string): boolean {
  const manifest = join(runDir, 'manifest.json');
  try {
    return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).status === 'complete';
  } catch {
    return false;
  }
}

async function openExpertRun(
  backend: ViewerBackend,
  datasetId: string,
  log: (line: string) => void,
  worldComplete: Promise<void>,
) {
  const runDir = demoRunFolder();
  if (isComplete(runDir)) {
    await backend.openRunFolder(runDir);
    return;
  }
  // The expert run covers every scene of the world (and is cached as complete): not before the world is.
  await worldComplete;
  log('computing the demo run from ground truth (once; frames appear as they are written)…');
  await backend.startGroundTruthRun(datasetId, 'expert', runDir);
}

/** Opens the expert run in the background (it may wait for the world), saying so when it cannot. */
function expertRun(...args: Parameters<typeof openExpertRun>): void {
  openExpertRun(...args).catch((error: unknown) => {
    const e = error as { message?: string; fix?: string };
    args[0].notices.push(`the demo's expert run could not start: ${e.message}${e.fix ? ` → ${e.fix}` : ''}`);
  });
}

/**
 * Opens the demo: the world (generated on first use, val scene first) and the model's run on its val scenes
 * (computed once in the job worker, replayed after; resumed if an earlier start stopped it). On a first start the
 * val scene opens as soon as it is on disk (a preview) and the model run starts on it while the other scenes are
 * generated on one render worker; the scene list then grows to the whole world. Without the model, or when the
 * model run fails, the expert run (ground truth) with a notice saying so.
 */
export async function openDemo(
  backend: ViewerBackend,
  log: (line: string) => void,
  /** Another demo world (tests: a tiny one in a temp folder, with a stand-in renderer). */
  world: Pick<DemoOptions, 'folder' | 'arguments' | 'rendererModule' | 'workers'> = {},
): Promise<void> {
  const preparing = 'Preparing the demo world (the first start generates it; its val scene shows first)…';
  const generating =
    'The demo shows its val scene; the other scenes of the demo world are still being generated (see the job list).';
  const drop = (text: string) => {
    const i = backend.notices.indexOf(text);
    if (i >= 0) backend.notices.splice(i, 1);
  };
  backend.notices.push(preparing);
  let completeWorld: () => void = () => {};
  const worldComplete = new Promise<void>((resolve) => {
    completeWorld = resolve;
  });
  // On a first start the world is generated here: its progress shows in the job list, like a job's.
  let tracked: ReturnType<ViewerBackend['jobManager']['track']> | null = null;
  let preview: Promise<DemoOpened | null> | null = null;
  let demo: Awaited<ReturnType<typeof ensureDemoDataset>>;
  try {
    demo = await ensureDemoDataset({
      ...world,
      onProgress: (p) => {
        tracked ??= backend.jobManager.track('demo-world', 'generating the demo world (first start only)');
        if (p.phase === 'keyframes') {
          tracked.progress(p.done, p.total);
          if (p.done % 20 === 0) log(`demo world: ${p.done}/${p.total} keyframes`);
        }
      },
      onPreview: ({ dataroot, sceneNames }) => {
        log(`demo world: ${sceneNames.join(', ')} ready; opening it while the other scenes are generated`);
        drop(preparing);
        backend.notices.push(generating);
        preview = openDemoRuns(backend, dataroot, log, worldComplete).catch((error: unknown) => {
          log(`the demo's preview could not be opened (${(error as Error).message}); retrying when complete`);
          return null;
        });
        // The other scenes wait (up to a minute) for the model run's first frames: they, not the rest of the world,
        // are what a new user waits for. The full tables are written after that too, so the preview reads its own.
        return preview.then((opened) =>
          opened?.jobId ? jobFrames(backend, opened.jobId, 2, 60_000) : undefined,
        );
      },
      // The model's first frames are computed meanwhile: the rest of the world renders on one core.
      workersAfterPreview: 1,
    });
  } catch (error) {
    (tracked as ReturnType<ViewerBackend['jobManager']['track']> | null)?.end(
      'failed',
      (error as Error).message,
    );
    drop(generating);
    throw error;
  }
  completeWorld();
  drop(preparing);
  const opened = (await (preview as Promise<DemoOpened | null> | null))?.datasetId;
  if (opened) {
    // The whole world: the scene list gains the other scenes (the renderer reads it when the job below ends).
    await backend.reloadDataset(opened);
    drop(generating);
    (tracked as ReturnType<ViewerBackend['jobManager']['track']> | null)?.end('done');
    return;
  }
  drop(generating);
  (tracked as ReturnType<ViewerBackend['jobManager']['track']> | null)?.end('done');
  await openDemoRuns(backend, demo.dataroot, log, worldComplete);
}

interface DemoOpened {
  datasetId: string;
  /** The model run's job, when one was started. */
  jobId?: string;
}

/** Resolves once a job has done `frames` frames, ended, or `timeoutMs` passed. */
async function jobFrames(
  backend: ViewerBackend,
  jobId: string,
  frames: number,
  timeoutMs: number,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = backend.jobManager.get(jobId);
    if (job?.state !== 'running' || job.done >= frames || Date.now() > until) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Opens the demo world and its model run (computed, resumed or replayed), or the expert run. */
async function openDemoRuns(
  backend: ViewerBackend,
  dataroot: string,
  log: (line: string) => void,
  worldComplete: Promise<void>,
): Promise<DemoOpened> {
  const info = await backend.openDatasetFolder(dataroot);
  const live = backend.live;
  if (!live.available) {
    backend.notices.push(
      `No trained model at ${live.checkpoint}: the demo replays a ground-truth ("expert") run.`,
    );
    expertRun(backend, info.datasetId, log, worldComplete);
    return { datasetId: info.datasetId };
  }
  const runDir = demoModelRunFolder(checkpointSha256(live.checkpoint), live.offload);
  if (isComplete(runDir)) {
    await backend.openRunFolder(runDir);
    return { datasetId: info.datasetId };
  }
  log(`computing the demo's model run with ${live.checkpoint} (once; frames appear as they are written)…`);
  let job: Awaited<ReturnType<ViewerBackend['startModelRun']>>;
  try {
    job = await backend.startModelRun(info.datasetId, {
      out: runDir,
      resume: true,
      label: `demo: ${live.checkpoint.split('/').pop()} (computed once)`,
    });
  } catch (error) {
    const e = error as { message?: string; fix?: string };
    backend.notices.push(
      `The model could not run (${e.message}${e.fix ? ` → ${e.fix}` : ''}); the demo replays a ground-truth ("expert") run.`,
    );
    expertRun(backend, info.datasetId, log, worldComplete);
    return { datasetId: info.datasetId };
  }
  void backend.jobManager.finished(job.jobId)?.then(async (end) => {
    if (end.state !== 'failed') return;
    log(`the demo's model run failed: ${end.error}`);
    // Frames already written stay on show (the failure is in the job list); none: fall back to the expert run.
    if (end.runId && (await backend.runSummary({ runId: end.runId })).frames.length > 0) return;
    backend.notices.push(
      `The model run failed (${end.error}); the demo replays a ground-truth ("expert") run.`,
    );
    await openExpertRun(backend, info.datasetId, log, worldComplete);
  });
  return { datasetId: info.datasetId, jobId: job.jobId };
}

export interface RunningApp {
  mode: 'electron' | 'browser';
  server?: ViewerServer;
  backend?: ViewerBackend;
  close(): Promise<void>;
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const electron = options.browser ? null : electronBinary();
  if (electron) {
    const args = [
      join(REPO_ROOT, 'electron', 'entry.mjs'),
      ...options.datasets.flatMap((d) => ['--dataset', d]),
      ...options.runs.flatMap((r) => ['--run', r]),
    ];
    if (!options.demo) args.push('--no-demo');
    if (options.checkpoint) args.push('--checkpoint', options.checkpoint);
    for (const o of options.offload ?? []) args.push('--offload', o);
    const child = spawn(electron, args, { stdio: 'inherit' });
    return { mode: 'electron', close: async () => void child.kill() };
  }
  if (!options.browser)
    log('Electron’s binary is not installed (`npx install-electron` fetches it); starting in browser mode.');
  const build = await ensureRendererBuild({ onBuild: () => log('building the viewer (first start only)…') });
  const cacheDir = options.cacheDir ?? join(dirname(demoCacheFolder()), 'runs');
  mkdirSync(cacheDir, { recursive: true });
  const backend = createViewerBackend({
    mode: 'browser',
    preferences: openPreferences(options.preferencesPath === undefined ? undefined : options.preferencesPath),
    rendererOpensPaths: true,
    cacheDir,
    live: {
      checkpoint: options.checkpoint ?? null,
      offload: options.offload ?? [],
      offloadFallback: options.offloadFallback,
    },
    log,
  });
  const server = await startViewerServer({ backend, staticDir: build.dir, port: options.port });
  log(`spikedrive viewer: ${server.openUrl}`);
  if (options.open && !openBrowser(server.openUrl)) log('(no browser found here: open the URL above in one)');
  for (const d of options.datasets) await backend.openDatasetFolder(d);
  for (const r of options.runs) await backend.openRunFolder(r);
  if (options.demo && options.datasets.length === 0 && options.runs.length === 0) {
    openDemo(backend, log).catch((error: unknown) => {
      const e = error as { message?: string; fix?: string };
      backend.notices.push(`the demo could not be opened: ${e.message}${e.fix ? ` → ${e.fix}` : ''}`);
      log(`error: ${e.message}`);
    });
  }
  return {
    mode: 'browser',
    server,
    backend,
    async close() {
      await server.close();
      await backend.close();
    },
  };
}
