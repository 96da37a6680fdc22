// `npm run bench -- viewer`: frame time of the BEV view with every layer on (medians over a replay), and the time
// from starting the app server to the first rendered frame, in headless Debian chromium (SwiftShader WebGL).
// Uses the demo world and its expert run from the cache (run `npm start` once first to make them).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { demoCacheFolder } from '../data-loaders/synthetic/index.ts';
import { demoRunFolder, startApp } from '../src/viewer/app.ts';
import { CHROMIUM_FLAGS } from '../test/e2e/viewer.e2e.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
if (!existsSync(demoCacheFolder()) || !existsSync(`${demoRunFolder()}/manifest.json`)) {
  console.error('bench viewer: run `npm start` once first (it makes the demo world and its run)');
  process.exit(2);
}
const startups: number[] = [];
const frameTimes: number[] = [];
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  const app = await startApp({
    datasets: [],
    runs: [],
    browser: true,
    open: false,
    demo: true,
    preferencesPath: null,
    log: () => {},
  });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(app.server?.openUrl ?? '');
  await page.waitForFunction(
    () =>
      document.body.dataset.renderedToken &&
      document.querySelector('[data-testid=position]')?.textContent?.includes('no run frame') === false,
    null,
    { timeout: 120_000 },
  );
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
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      v.bev.refresh();
      await new Promise((r) => requestAnimationFrame(r));
      out.push(performance.now() - t);
    }
    return out;
  });
  frameTimes.push(...times);
  await browser.close();
  await app.close();
}
console.log(
  JSON.stringify({
    bench: 'viewer-bev-frame-all-layers',
    backend: 'chromium-swiftshader',
    frame_ms: median(frameTimes),
    frames: frameTimes.length,
    note: 'rebuild of every layer from the frame + render + rAF; 2 shared cores',
  }),
);
console.log(
  JSON.stringify({
    bench: 'viewer-start-to-first-frame',
    backend: 'chromium-swiftshader',
    first_frame_ms: median(startups),
    runs: startups.length,
    note: 'demo world and run cached, renderer built',
  }),
);
