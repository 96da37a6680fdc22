// The viewer's end-to-end checks (browser mode, Debian chromium via playwright-core). Each check is a named step;
// later steps build on the state the earlier ones leave (one page, like a user's session).
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { decodeFrame, frameArray } from '../../src/eval/run-format.ts';
import { startApp } from '../../src/viewer/app.ts';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-dev-shm-usage',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

export interface E2eResult {
  name: string;
  ok: boolean;
  error?: string;
  /** The first attempt's error when the step was run a second time. */
  retried?: string;
}

interface Ctx {
  page: Page;
  runA: string;
  runB: string;
  /** A checkpoint for live compute (the app's default); absent: the compute step is skipped. */
  checkpoint?: string;
}

type ViewerWindow = {
  __spikedrive: {
    store: { getState(): Record<string, unknown> & { layers: Record<string, boolean> } };
    currentToken(): string | null;
  };
};

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function token(page: Page): Promise<string> {
  return page.evaluate(() => (window as unknown as ViewerWindow).__spikedrive.currentToken() ?? '');
}

/**
 * Types a path into the open folder dialog once its first listing has arrived. The listing fills in its folder; one
 * arriving between fill()'s select-all and its typing ran the two paths together (`/listed/folder/typed/run`, no
 * run: the step timed out). The page now selects the listed path when the input has focus; this waits as well.
 */
async function fillBrowsePath(page: Page, path: string): Promise<void> {
  await page.waitForFunction(
    () => (document.querySelector('[data-testid=browse-path]') as HTMLInputElement | null)?.value !== '',
    null,
    { timeout: 20_000 },
  );
  await page.locator('[data-testid=browse-path]').fill(path);
}

async function waitRendered(page: Page): Promise<string> {
  const t = await token(page);
  await page.waitForFunction((want) => document.body.dataset.renderedToken === want, t, { timeout: 30_000 });
  return t;
}

/** The BEV canvas as RGBA with its metres-per-pixel (top view: up = forward, left = left). */
async function bevPixels(page: Page) {
  const canvas = page.locator('[data-testid=bev-canvas]');
  const png = PNG.sync.read(await canvas.screenshot());
  const mpp = Number(await canvas.getAttribute('data-metres-per-pixel'));
  const at = (xFwd: number, yLeft: number): [number, number, number] => {
    const px = Math.round(png.width / 2 - yLeft / mpp);
    const py = Math.round(png.height / 2 - xFwd / mpp);
    const o = (py * png.width + px) * 4;
    return [png.data[o], png.data[o + 1], png.data[o + 2]];
  };
  return { png, mpp, at };
}

const near = (a: [number, number, number], b: [number, number, number], tol = 60) =>
  Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) <= tol;

async function setLayers(page: Page, on: string[]) {
  await page.evaluate((keep) => {
    const s = (window as unknown as ViewerWindow).__spikedrive.store as unknown as {
      getState(): { layers: Record<string, boolean> };
      setState(x: unknown): void;
    };
    const layers = Object.fromEntries(Object.keys(s.getState().layers).map((k) => [k, keep.includes(k)]));
    s.setState({ layers });
  }, on);
  await page.waitForTimeout(300);
}

function frameOf(runDir: string, tok: string) {
  return decodeFrame(new Uint8Array(readFileSync(`${runDir}/frames/${tok}.sdf`)), tok);
}

const steps: [string, (c: Ctx) => Promise<void>][] = [
  [
    'opens with the dataset and run, draws a frame with predictions and trajectories',
    async ({ page }) => {
      await page.waitForFunction(() => document.body.dataset.renderedToken, null, { timeout: 30_000 });
      const t = await waitRendered(page);
      assert(t.length > 0, 'no sample under the cursor');
      const scenes = await page.locator('[data-testid=scene-list] .scene').count();
      assert(scenes === 1, `expected 1 scene, got ${scenes}`);
      const position = await page.locator('[data-testid=position]').textContent();
      assert(position && !position.includes('no run frame'), `cursor is not on a run frame: ${position}`);
    },
  ],
  [
    'plays and pauses, steps and scrubs',
    async ({ page }) => {
      const before = await token(page);
      await page.locator('[data-testid=speed]').selectOption('4');
      await page.keyboard.press('Space');
      await page.waitForFunction(
        (b) => (window as unknown as ViewerWindow).__spikedrive.currentToken() !== b,
        before,
        { timeout: 15_000 },
      );
      await page.keyboard.press('Space');
      assert(
        (await page.locator('[data-testid=play]').getAttribute('data-state')) === 'paused',
        'did not pause',
      );
      await page.locator('[data-testid=scrub]').fill('4');
      const scrubbed = await waitRendered(page);
      await page.keyboard.press('ArrowRight');
      const stepped = await waitRendered(page);
      assert(scrubbed !== stepped, 'step did not move the cursor');
      await page.keyboard.press('ArrowLeft');
      assert((await waitRendered(page)) === scrubbed, 'step back did not return');
    },
  ],
  [
    'pixel check: predicted occupancy is drawn where the frame says',
    async ({ page, runA }) => {
      await page.locator('[data-testid=camera-mode]').selectOption('top');
      await setLayers(page, ['occupancy']);
      // A frame with an occupied cell whose 3×3 neighbourhood is occupied too (antialiasing cannot hide it).
      const tokens = JSON.parse(readFileSync(`${runA}/frames/index.json`, 'utf8')) as { token: string }[];
      let target: { token: string; r: number; c: number } | null = null;
      for (const { token: tok } of tokens) {
        const seg = frameArray<Uint8Array>(frameOf(runA, tok), 'segmentation', 'uint8');
        if (!seg) continue;
        const Y = seg.shape[2];
        for (let r = 45; r < 155 && !target; r++) {
          for (let c = 70; c < 130 && !target; c++) {
            let all = true;
            for (let dr = -1; dr <= 1; dr++)
              for (let dc = -1; dc <= 1; dc++) all &&= seg.data[(r + dr) * Y + c + dc] > 127;
            if (all && !(r >= 94 && r <= 106 && c >= 95 && c <= 105)) target = { token: tok, r, c };
          }
        }
        if (target) break;
      }
      assert(target, 'no run frame has an occupied cell in view');
      const goal = target;
      await page.evaluate((want) => {
        const s = (window as unknown as ViewerWindow).__spikedrive.store as unknown as {
          getState(): { scenes: { samples: { token: string }[] }[] };
          setState(x: unknown): void;
        };
        s.getState().scenes.forEach((scene, si) => {
          const fi = scene.samples.findIndex((x) => x.token === want);
          if (fi >= 0) s.setState({ sceneIndex: si, frameIndex: fi });
        });
      }, goal.token);
      await waitRendered(page);
      const { at } = await bevPixels(page);
      const rgb = at(-50 + (goal.r + 0.5) * 0.5, -50 + (goal.c + 0.5) * 0.5);
      assert(rgb[2] > rgb[0] + 60, `cell (${goal.r}, ${goal.c}) should be blue, got ${rgb}`);
      const checked = 1;
      assert(checked > 0, 'no occupied cell near the ego to check in this frame');
    },
  ],
  [
    'pixel check: the chosen and GT trajectories are drawn at their waypoints',
    async ({ page, runA }) => {
      await setLayers(page, ['planned']);
      const t = await waitRendered(page);
      const planned = frameArray<Float32Array>(frameOf(runA, t), 'plannedTrajectory', 'float32');
      assert(planned, 'no planned trajectory');
      const magenta: [number, number, number] = [0xff, 0x2f, 0xd0]; // the legend's chosen-trajectory colour
      const { at } = await bevPixels(page);
      // Waypoint 2 (1.0 s): lidar (x right, y fwd) → BEV (fwd = y, left = −x), the planner convention.
      const rgb = at(planned.data[4], -planned.data[3]);
      assert(near(rgb, magenta, 90), `planned waypoint pixel should be magenta, got ${rgb}`);
      await setLayers(page, ['gtTrajectory']);
      const gt = await bevPixels(page);
      const rgbGt = gt.at(planned.data[4], -planned.data[3]);
      assert(
        near(rgbGt, [0x19, 0xe6, 0x8c], 90),
        `GT waypoint pixel should be green (expert plan = GT), got ${rgbGt}`,
      );
      // On top of the see-through rasters too (they were once drawn after the ribbons, hiding them).
      await setLayers(page, ['hdmap', 'costVolume', 'occupancy', 'futureOccupancy', 'planned']);
      const layered = await bevPixels(page);
      const rgbTop = layered.at(planned.data[4], -planned.data[3]);
      assert(
        near(rgbTop, magenta, 90),
        `the chosen trajectory should be drawn over the map and cost layers, got ${rgbTop}`,
      );
    },
  ],
  [
    'toggles each layer (checkbox and the drawing both change)',
    async ({ page }) => {
      await setLayers(page, [
        'hdmap',
        'gtBoxes',
        'occupancy',
        'futureOccupancy',
        'costVolume',
        'candidates',
        'planned',
        'gtTrajectory',
        'egoPath',
      ]);
      const ids = await page
        .locator('[data-testid^=layer-]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid') ?? ''));
      assert(ids.length >= 10, `expected 10 layer toggles, got ${ids.length}`);
      for (const id of ids) {
        const box = page.locator(`[data-testid=${id}]`);
        const before = await box.isChecked();
        const shotBefore = await page.locator('[data-testid=bev-canvas]').screenshot();
        await box.click();
        await page.waitForTimeout(150);
        assert((await box.isChecked()) !== before, `${id} did not toggle`);
        const shotAfter = await page.locator('[data-testid=bev-canvas]').screenshot();
        if (id !== 'layer-gtOccupancy' && id !== 'layer-egoPath') {
          assert(!shotBefore.equals(shotAfter), `${id}: the BEV did not change`);
        }
        await box.click();
      }
      await page.locator('[data-testid=future-step]').fill('4');
      assert(
        (await page.locator('[data-testid=future-label]').textContent()) === '+2.0 s',
        'future slider label',
      );
    },
  ],
  [
    'switches the planner and re-plans the frame live',
    async ({ page }) => {
      const t = await token(page);
      await page.locator('[data-testid=planner]').selectOption('cost-only');
      await page.waitForFunction((want) => document.body.dataset.replanned === `cost-only:${want}`, t, {
        timeout: 20_000,
      });
      await page.locator('[data-testid=planner]').selectOption('constant-velocity');
      await page.waitForFunction(
        (want) => document.body.dataset.replanned === `constant-velocity:${want}`,
        t,
        { timeout: 20_000 },
      );
      await page.locator('[data-testid=planner]').selectOption('run');
    },
  ],
  [
    'opens a second run from the folder dialog and compares side by side and overlaid',
    async ({ page, runB }) => {
      await page.locator('[data-testid=open-run]').click();
      await fillBrowsePath(page, runB);
      await page.locator('[data-testid=browse-open]').click();
      await page.waitForFunction(
        () => (document.querySelector('[data-testid=run-b]') as HTMLSelectElement)?.value !== '',
        null,
        // Generous: on a loaded 2-core machine opening a run (index, dataset link, summary) has taken over 20 s.
        { timeout: 45_000 },
      );
      await waitRendered(page);
      await page.waitForFunction(() => document.querySelectorAll('.bev-tag').length === 2, null, {
        timeout: 10_000,
      });
      const header = await page.locator('[data-testid=metrics-current] tr').first().textContent();
      assert(header?.includes('cost-only'), `metrics table does not show run B: ${header}`);
      await page.locator('[data-testid=compare-mode]').selectOption('overlay');
      await page.waitForFunction(() => document.querySelectorAll('.bev-tag').length === 0);
      const legend = await page.locator('[data-testid=legend]').textContent();
      assert(legend?.includes('run B plan'), 'overlay legend missing');
    },
  ],
  [
    'refuses a folder that is not a run, with the fix',
    async ({ page, runB }) => {
      // The e2e root holds the runs and the dataset but no manifest.json (a system folder such as /proc may be
      // unreadable or huge on a CI machine).
      await page.locator('[data-testid=open-run]').click();
      await fillBrowsePath(page, dirname(runB));
      await page.locator('[data-testid=browse-open]').click();
      await page.waitForSelector('.notice.error', { timeout: 10_000 });
      const text = await page.locator('.notice.error').last().textContent();
      assert(text?.includes('not a run folder'), `unexpected error: ${text}`);
    },
  ],
  [
    'exports a PNG screenshot',
    async ({ page }) => {
      const download = page.waitForEvent('download', { timeout: 20_000 });
      await page.locator('[data-testid=screenshot]').click();
      const file = await (await download).path();
      const png = PNG.sync.read(readFileSync(file));
      assert(png.width > 800 && png.height > 500, `screenshot is ${png.width}×${png.height}`);
    },
  ],
  [
    'computes a run with the model (Compute…): a missing checkpoint is named, frames appear as they arrive',
    async ({ page, checkpoint }) => {
      if (!checkpoint) return;
      const before = await page.locator('.notice.error').count();
      await page.locator('[data-testid=compute]').click();
      await page.locator('[data-testid=compute-checkpoint]').fill('/nowhere/missing.safetensors');
      await page.locator('[data-testid=compute-start]').click();
      await page.waitForFunction((n) => document.querySelectorAll('.notice.error').length > n, before, {
        timeout: 10_000,
      });
      const text = await page.locator('.notice.error').last().textContent();
      assert(text?.includes('missing.safetensors'), `unexpected error: ${text}`);
      // The app's checkpoint (the default, left empty), over the world's only scene (a train scene).
      await page.locator('[data-testid=compute-checkpoint]').fill('');
      await page.locator('[data-testid=compute-split]').selectOption('train');
      await page.locator('[data-testid=compute-start]').click();
      // The job's run opens as run A while it grows; its first frame is drawn with the plan.
      await page.waitForFunction(
        () => {
          const s = (window as unknown as ViewerWindow).__spikedrive.store.getState() as unknown as {
            primaryRunId: string;
            runs: { runId: string; frames: unknown[]; manifest: { checkpoint: unknown } }[];
          };
          const a = s.runs.find((r) => r.runId === s.primaryRunId);
          return a !== undefined && a.manifest.checkpoint !== null && a.frames.length > 0;
        },
        null,
        { timeout: 90_000 },
      );
      await page.waitForFunction(
        () => {
          const v = (
            window as unknown as { __spikedrive: { loader: { current: { primary: unknown } | null } } }
          ).__spikedrive;
          return v.loader.current?.primary != null;
        },
        null,
        { timeout: 30_000 },
      );
      await waitRendered(page);
      // Cancel while it runs (it may already be done: the tiny model is quick).
      const cancel = page.locator('[data-testid^=cancel-job-]');
      if (await cancel.count())
        await cancel
          .first()
          .click()
          .catch(() => {});
      await page.waitForFunction(
        () =>
          (
            (window as unknown as ViewerWindow).__spikedrive.store.getState().jobs as { state: string }[]
          ).every((j) => j.state !== 'running'),
        null,
        { timeout: 60_000 },
      );
    },
  ],
];

export async function runViewerE2e(options: {
  chromium: string;
  dataroot: string;
  runA: string;
  runB: string;
  outDir: string;
  checkpoint?: string;
}): Promise<E2eResult[]> {
  const app = await startApp({
    datasets: [],
    runs: [options.runA],
    browser: true,
    open: false,
    demo: false,
    preferencesPath: null,
    checkpoint: options.checkpoint ?? null,
    // Runs computed by the compute step stay in the test's folder, not the user's cache.
    cacheDir: `${options.outDir}-runs`,
    log: () => {},
  });
  let browser: Browser | null = null;
  const results: E2eResult[] = [];
  try {
    browser = await chromium.launch({
      executablePath: options.chromium,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    const context = await browser.newContext({
      viewport: { width: 1600, height: 1000 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(app.server?.openUrl ?? '');
    const ctx: Ctx = { page, runA: options.runA, runB: options.runB, checkpoint: options.checkpoint };
    // The page's notices say what the app thought went wrong; they go into the failure message.
    const notices = async () =>
      (
        await page
          .locator('.notice')
          .allTextContents()
          .catch(() => [] as string[])
      )
        .slice(-3)
        .join(' | ');
    for (const [name, fn] of steps) {
      let firstError: string | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await fn(ctx);
          const pageErrors = errors.splice(0).join('; ');
          results.push({ name, ok: pageErrors === '', error: pageErrors || undefined, retried: firstError });
          break;
        } catch (error) {
          const message = `${(error as Error).message.split('\n')[0]} (notices: ${await notices()})`;
          await page.screenshot({ path: `${options.outDir}-failure.png` }).catch(() => {});
          // One retry, reported: a step that only passes the second time is a flake to fix, not a pass to hide.
          if (attempt === 1 || firstError !== undefined) {
            results.push({ name, ok: false, error: message, retried: firstError });
            break;
          }
          firstError = message;
          await page.keyboard.press('Escape').catch(() => {});
        }
      }
    }
  } finally {
    await browser?.close();
    await app.close();
  }
  return results;
}
