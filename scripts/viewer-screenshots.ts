// Screenshots of each viewer panel for docs/ (`node bin/run-ts.js scripts/viewer-screenshots.ts [--checkpoint FILE]
// [--out docs]`): the demo world with the model's run (the shipped model unless --checkpoint), in headless Debian
// chromium with the e2e flags, beside an expert run (ground truth) of the same scenes for the comparison view. Each
// PNG is kept under 400 KB (palette-quantised by sharp when the plain PNG is larger).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startApp } from '../src/viewer/app.ts';
import { writeGroundTruthRun } from '../src/viewer/run/expert.ts';
import { CHROMIUM_FLAGS } from '../test/e2e/viewer.e2e.ts';

const arg = (flag: string) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const out = resolve(arg('--out') ?? 'docs');
const checkpoint = arg('--checkpoint') ?? null;
const MAX_BYTES = 400 * 1024;
mkdirSync(out, { recursive: true });
const log = (line: string) => process.stderr.write(`${line}\n`);

async function save(name: string, png: Buffer): Promise<void> {
  let bytes = png;
  if (bytes.length > MAX_BYTES)
    bytes = await sharp(png).png({ palette: true, quality: 90, effort: 8 }).toBuffer();
  for (let colours = 128; bytes.length > MAX_BYTES && colours >= 16; colours /= 2)
    bytes = await sharp(png).png({ palette: true, colours, effort: 8 }).toBuffer();
  writeFileSync(join(out, name), bytes);
  log(`${name}: ${(bytes.length / 1024).toFixed(0)} KB`);
}

type W = {
  __spikedrive: {
    store: { getState(): Record<string, unknown>; setState(x: unknown): void };
    loader: { current: { token: string; primary: { arrays: Map<string, unknown> } | null } | null };
    currentToken(): string | null;
  };
};

async function waitDrawn(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const v = (window as unknown as W).__spikedrive;
      const c = v?.loader.current;
      return (
        c?.primary?.arrays.has('plannedTrajectory') === true &&
        c.token === v.currentToken() &&
        document.body.dataset.renderedToken === c.token
      );
    },
    null,
    { timeout: 600_000, polling: 200 },
  );
  await page.waitForTimeout(800); // panels drawn after the frame (energy, metrics plot)
}

const shot = async (locator: Locator) => Buffer.from(await locator.screenshot());

const app = await startApp({
  datasets: [],
  runs: [],
  browser: true,
  open: false,
  demo: true,
  preferencesPath: null,
  checkpoint,
  log,
});
const backend = app.backend;
if (!backend) throw new Error('the app did not start in browser mode');
const scratch = mkdtempSync(join(tmpdir(), 'spikedrive-shots-'));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: CHROMIUM_FLAGS,
});
try {
  // The model run: wait until it is complete (computed now if the cache lacks it).
  let modelRun: Awaited<ReturnType<typeof backend.runSummary>> | undefined;
  for (;;) {
    const startup = await backend.startup({});
    modelRun = startup.runs.find((r) => r.manifest.checkpoint !== null);
    if (modelRun?.status === 'complete') break;
    if (startup.runs.length > 0 && !modelRun)
      throw new Error(`no model run opened: ${startup.notices.join(' / ') || startup.runs[0].label}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  log(`model run: ${modelRun.label} (${modelRun.frames.length} frames)`);
  const sceneNames = [...new Set(modelRun.frames.map((f) => f.sceneName))];
  const expertDir = join(scratch, 'expert');
  await writeGroundTruthRun({
    dataroot: modelRun.manifest.dataset.dataroot,
    version: modelRun.manifest.dataset.version,
    out: expertDir,
    planner: 'expert',
    sceneNames,
  });

  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(app.server?.openUrl ?? '');
  await waitDrawn(page);
  // A frame in the middle of the first scene the model ran on, all layers but the GT outline.
  const middle = modelRun.frames[Math.min(modelRun.frames.length - 1, 12)].token;
  await page.evaluate((token) => {
    const v = (window as unknown as W).__spikedrive;
    const s = v.store.getState() as { scenes: { samples: { token: string }[] }[] };
    s.scenes.forEach((scene, si) => {
      const fi = scene.samples.findIndex((x) => x.token === token);
      if (fi >= 0) v.store.setState({ sceneIndex: si, frameIndex: fi });
    });
  }, middle);
  await waitDrawn(page);
  await page.evaluate(() => {
    for (const n of document.querySelectorAll('.notice')) n.remove();
  });
  await save('viewer-overview.png', Buffer.from(await page.screenshot()));
  await save('viewer-cameras.png', await shot(page.locator('[data-testid=cameras]')));
  await save('viewer-bev.png', await shot(page.locator('[data-testid=bev]')));
  await save('viewer-energy.png', await shot(page.locator('.panel.energy')));
  await save('viewer-metrics.png', await shot(page.locator('.panel.metrics')));
  // Compare: the expert run as B, side by side.
  await page.locator('[data-testid=open-run]').click();
  await page.locator('[data-testid=browse-path]').fill(expertDir);
  await page.locator('[data-testid=browse-open]').click();
  await page.waitForFunction(
    () => ((window as unknown as W).__spikedrive.store.getState().runs as unknown[]).length >= 2,
    null,
    { timeout: 60_000 },
  );
  await page.evaluate(() => {
    const v = (window as unknown as W).__spikedrive;
    const runs = v.store.getState().runs as { runId: string; manifest: { checkpoint: unknown } }[];
    const a = runs.find((r) => r.manifest.checkpoint !== null);
    const b = runs.find((r) => r.manifest.checkpoint === null);
    v.store.setState({ primaryRunId: a?.runId, compareRunId: b?.runId, compareMode: 'side' });
  });
  await page.waitForTimeout(500);
  await waitDrawn(page);
  await page.evaluate(() => {
    for (const n of document.querySelectorAll('.notice')) n.remove();
  });
  await save('viewer-compare.png', Buffer.from(await page.screenshot()));
} finally {
  await browser.close();
  await app.close();
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(0);
