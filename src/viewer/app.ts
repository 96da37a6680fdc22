// Starting the app: Electron where its binary is installed, otherwise browser mode (the same renderer served on
// localhost by the viewer server). With no folders named, it opens the demo world and replays a ground-truth run
// (generated once, in a worker, while the page already shows what exists).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { demoCacheFolder, ensureDemoDataset } from '../../data-loaders/synthetic/index.ts';
import { createViewerBackend, type ViewerBackend } from './backend/backend.ts';
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

/** Opens the demo: the world (generated on first use) and its expert run (computed once, replayed after). */
export async function openDemo(backend: ViewerBackend, log: (line: string) => void): Promise<void> {
  const notice = 'Preparing the demo world (the first start generates it: a few minutes on two cores)…';
  backend.notices.push(notice);
  const demo = await ensureDemoDataset({
    onProgress: (p) => {
      if (p.phase === 'keyframes' && p.done % 20 === 0) log(`demo world: ${p.done}/${p.total} keyframes`);
    },
  });
  backend.notices.splice(backend.notices.indexOf(notice), 1);
  const info = await backend.openDatasetFolder(demo.dataroot);
  const runDir = demoRunFolder();
  const manifest = join(runDir, 'manifest.json');
  const complete = existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).status === 'complete';
  if (complete) await backend.openRunFolder(runDir);
  else {
    log('computing the demo run from ground truth (once; frames appear as they are written)…');
    backend.notices.push('No trained model ships yet: the demo replays a ground-truth ("expert") run.');
    await backend.startGroundTruthRun(info.datasetId, 'expert', runDir);
  }
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
    const child = spawn(electron, args, { stdio: 'inherit' });
    return { mode: 'electron', close: async () => void child.kill() };
  }
  if (!options.browser)
    log('Electron’s binary is not installed (`npx install-electron` fetches it); starting in browser mode.');
  const build = await ensureRendererBuild({ onBuild: () => log('building the viewer (first start only)…') });
  const backend = createViewerBackend({
    mode: 'browser',
    preferences: openPreferences(options.preferencesPath === undefined ? undefined : options.preferencesPath),
    rendererOpensPaths: true,
    cacheDir: join(dirname(demoCacheFolder()), 'runs'),
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
