// `npm run bench -- viewer [--checkpoint FILE] [--only start]`: frame time of the BEV view with every layer on
// (medians over a replay), the time from starting the app server in-process to the first rendered frame with
// predictions and trajectories, and the time from `spikedrive app` (what `npm start` runs, browser mode) to that
// frame in headless Debian chromium (SwiftShader WebGL). Uses the demo world and its run from the cache when they
// exist (run `npm start` once first); with `--only start` it measures the command's start only, once. `--only cold`
// times a new user's first start: the command with SPIKEDRIVE_CACHE on a fresh temporary folder (the demo world is
// generated, val scene first, and the model run computed), to the first frame with predictions, then on until the
// whole world is in the scene list (`--repeat N` for N starts, medians; the renderer build is the checkout's).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { DEMO_ARGUMENTS, demoCacheFolder } from '../data-loaders/synthetic/index.ts';
import { startApp } from '../src/viewer/app.ts';
import { REPO_ROOT } from '../src/viewer/server/build.ts';
import { CHROMIUM_FLAGS } from '../test/e2e/viewer.e2e.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const arg = (flag: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const checkpoint = arg('--checkpoint') ?? null;
const only = arg('--only');

/** Waits until the page shows a run frame (predictions and the planned trajectory) fully drawn. */
async function waitModelFrame(page: Page, timeoutMs: number): Promise<string> {
  await page.waitForFunction(
    () => {
      type W = {
        __spikedrive: {
          loader: { current: { token: string; primary: { arrays: Map<string, unknown> } | null } | null };
          currentToken(): string | null;
        };
      };
      const v = (window as unknown as W).__spikedrive;
      const current = v?.loader.current;
      return (
        current?.primary?.arrays.has('plannedTrajectory') === true &&
        current.token === v.currentToken() &&
        document.body.dataset.renderedToken === current.token
      );
    },
    null,
    { timeout: timeoutMs, polling: 100 },
  );
  return page.evaluate(() =>
    (
      window as unknown as { __spikedrive: { store: { getState(): { runs: { label: string }[] } } } }
    ).__spikedrive.store
      .getState()
      .runs.map((r) => r.label)
      .join(' | '),
  );
}

/**
 * `node bin/spikedrive.js app --browser --no-open` → first frame with predictions and trajectories in the page. With
 * `cache`, the app runs on that cache folder and the page is watched on until the scene list holds `waitScenes`.
 */
async function cliStart(
  cache?: string,
  waitScenes?: number,
): Promise<Record<string, number | string | null>> {
  const t0 = performance.now();
  const args = ['bin/spikedrive.js', 'app', '--browser', '--no-open', '--no-preferences'];
  if (checkpoint) args.push('--checkpoint', checkpoint);
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: cache ? { ...process.env, SPIKEDRIVE_CACHE: cache } : process.env,
  });
  let log = '';
  let previewMs: number | null = null;
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (previewMs === null && /ready; opening it while/.test(log))
        previewMs = Math.round(performance.now() - t0);
      const m = /spikedrive viewer: (http\S+)/.exec(log);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`spikedrive app exited with ${code}:\n${log}`)));
  });
  const urlMs = performance.now() - t0;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(url);
    await page.waitForFunction(() => Boolean(document.body.dataset.renderedToken), null, {
      timeout: 900_000,
    });
    const anyFrameMs = performance.now() - t0;
    const runs = await waitModelFrame(page, 900_000);
    const firstFrameMs = Math.round(performance.now() - t0);
    let worldMs: number | null = null;
    if (waitScenes) {
      await page.waitForFunction(
        (n) =>
          (
            window as unknown as { __spikedrive: { store: { getState(): { scenes: unknown[] } } } }
          ).__spikedrive.store.getState().scenes.length >= n,
        waitScenes,
        { timeout: 900_000, polling: 250 },
      );
      worldMs = Math.round(performance.now() - t0);
    }
    return {
      url_ms: Math.round(urlMs),
      ...(cache ? { preview_ms: previewMs } : {}),
      first_view_ms: Math.round(anyFrameMs),
      first_frame_ms: firstFrameMs,
      ...(waitScenes ? { whole_world_ms: worldMs } : {}),
      runs,
    };
  } finally {
    await browser.close();
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
}

const cached = existsSync(join(demoCacheFolder(), 'v1.0-mini', 'sample.json'));
if (only === 'cold') {
  const repeat = Number(arg('--repeat') ?? 1);
  const results: Array<Record<string, number | string | null>> = [];
  const loads: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const cache = mkdtempSync(join(tmpdir(), 'spikedrive-cold-cache-'));
    loads.push(loadavg()[0]);
    try {
      results.push(await cliStart(cache, DEMO_ARGUMENTS.scenes));
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }
  const med = (key: string) => Math.round(median(results.map((r) => Number(r[key]))));
  console.log(
    JSON.stringify({
      bench: 'viewer-npm-start-first-frame-cold-cache',
      backend: 'chromium-swiftshader',
      first_frame_ms: med('first_frame_ms'),
      preview_ms: med('preview_ms'),
      url_ms: med('url_ms'),
      whole_world_ms: med('whole_world_ms'),
      first_frame_each_ms: results.map((r) => r.first_frame_ms),
      runs: results.length,
      run: results[0]?.runs,
      load_avg_1m_before: loads.map((l) => Number(l.toFixed(2))),
      load_avg_1m: Number(loadavg()[0].toFixed(2)),
      note: 'spikedrive app --browser --no-open with SPIKEDRIVE_CACHE on an empty folder → first frame with predictions and trajectories drawn (preview_ms: the val scene opened; whole_world_ms: all 4 scenes listed); renderer already built; 2 shared cores',
    }),
  );
  process.exit(0);
}
if (only === 'start') {
  const r = await cliStart();
  console.log(
    JSON.stringify({
      bench: 'viewer-npm-start-first-frame',
      backend: 'chromium-swiftshader',
      ...r,
      demo_world_cached_before: cached,
      load_avg_1m: Number(loadavg()[0].toFixed(2)),
      note: 'spikedrive app --browser --no-open → first frame with predictions and trajectories drawn; 2 shared cores',
    }),
  );
  process.exit(0);
}
if (!cached) {
  console.error('bench viewer: run `npm start` once first (it makes the demo world and its run)');
  process.exit(2);
}
const startups: number[] = [];
const frameTimes: number[] = [];
const refreshTimes: number[] = [];
let runLabels = '';
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  const app = await startApp({
    datasets: [],
    runs: [],
    browser: true,
    open: false,
    demo: true,
    preferencesPath: null,
    checkpoint,
    log: () => {},
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(app.server?.openUrl ?? '');
  runLabels = await waitModelFrame(page, 600_000);
  startups.push(performance.now() - t0);
  const times = await page.evaluate(async () => {
    type W = {
      __spikedrive: {
        bev: { refresh(): void; lastFrameMs: number };
        store: { setState(x: unknown): void; getState(): { layers: Record<string, boolean> } };
      };
    };
    const v = (window as unknown as W).__spikedrive;
    v.store.setState({
      layers: Object.fromEntries(Object.keys(v.store.getState().layers).map((k) => [k, true])),
    });
    const out: number[] = [];
    const sync: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      v.bev.refresh();
      sync.push(performance.now() - t);
      await new Promise((r) => requestAnimationFrame(r));
      out.push(performance.now() - t);
    }
    return { out, sync };
  });
  frameTimes.push(...times.out);
  refreshTimes.push(...times.sync);
  await browser.close();
  await app.close();
}
console.log(
  JSON.stringify({
    bench: 'viewer-bev-frame-all-layers',
    backend: 'chromium-swiftshader',
    frame_ms: Number(median(frameTimes).toFixed(1)),
    refresh_call_ms: Number(median(refreshTimes).toFixed(1)),
    frames: frameTimes.length,
    run: runLabels,
    load_avg_1m: Number(loadavg()[0].toFixed(2)),
    note: 'frame_ms: rebuild of every layer from the frame + render + next rAF (page composited); refresh_call_ms: the rebuild + render call alone; SwiftShader (software WebGL) on 2 shared cores',
  }),
);
console.log(
  JSON.stringify({
    bench: 'viewer-start-to-first-frame',
    backend: 'chromium-swiftshader',
    first_frame_ms: Math.round(median(startups)),
    runs: startups.length,
    run: runLabels,
    load_avg_1m: Number(loadavg()[0].toFixed(2)),
    note: 'in-process app server → first frame with predictions and trajectories; demo world and run cached, renderer built',
  }),
);
const cli = await cliStart();
console.log(
  JSON.stringify({
    bench: 'viewer-npm-start-first-frame',
    backend: 'chromium-swiftshader',
    ...cli,
    demo_world_cached_before: true,
    load_avg_1m: Number(loadavg()[0].toFixed(2)),
    note: 'spikedrive app --browser --no-open → first frame with predictions and trajectories drawn; 2 shared cores',
  }),
);
process.exit(0);
