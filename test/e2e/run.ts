// `npm run test:e2e`: Playwright (playwright-core) end-to-end tests of the viewer in browser mode, in Debian's
// chromium. Makes a small synthetic world and two ground-truth runs, serves the app, and drives the page: open the
// demo-like dataset, play, scrub, toggle each layer, switch planner, open a run, compare two runs, export a
// screenshot, and pixel checks that occupancy and trajectories are drawn where the frame data says.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSyntheticDataset } from '../../data-loaders/synthetic/index.ts';
import { writeGroundTruthRun } from '../../src/viewer/run/expert.ts';
import { runViewerE2e } from './viewer.e2e.ts';

const CHROMIUM = process.env.SPIKEDRIVE_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.log(`e2e: skipped — ${CHROMIUM} is absent (apt-get install chromium; .ci/run installs it)`);
  process.exit(0);
}
const started = performance.now();
const root = mkdtempSync(join(tmpdir(), 'spikedrive-e2e-'));
let failed = false;
try {
  const dataroot = join(root, 'world');
  await generateSyntheticDataset({
    out: dataroot,
    scenes: 1,
    seed: 7,
    samplesPerScene: 12,
    version: 'v1.0-mini',
    imageScale: 0.25,
  });
  const runA = join(root, 'run-expert');
  const runB = join(root, 'run-cost-only');
  await writeGroundTruthRun({ dataroot, version: 'v1.0-mini', out: runA, planner: 'expert' });
  await writeGroundTruthRun({ dataroot, version: 'v1.0-mini', out: runB, planner: 'cost-only' });
  // A randomly initialised cpu-tiny checkpoint sized for the world's 400×225 images (live compute step).
  const { applyOverride, loadSadConfig, SadModel, saveCheckpoint } = await import(
    '../../src/pipeline/index.ts'
  );
  let config = loadSadConfig('cpu-tiny');
  for (const o of ['IMAGE.ORIGINAL_WIDTH=400', 'IMAGE.ORIGINAL_HEIGHT=225', 'IMAGE.RESIZE_SCALE=0.16'])
    config = applyOverride(config, o);
  const sad = new SadModel(config);
  const checkpoint = join(root, 'tiny.safetensors');
  await saveCheckpoint(checkpoint, {
    tensors: sad.stateDict(),
    config,
    stage: 'planning',
    step: 0,
    epoch: 0,
  });
  sad.dispose();
  console.log(`e2e: fixtures ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const results = await runViewerE2e({
    chromium: CHROMIUM,
    dataroot,
    runA,
    runB,
    outDir: join(root, 'out'),
    checkpoint,
  });
  for (const r of results) {
    console.log(`${r.ok ? '✓' : '✗'} ${r.name}${r.ok ? '' : `\n    ${r.error}`}`);
    if (r.retried) console.log(`    (run twice; the first attempt failed: ${r.retried})`);
    if (!r.ok) failed = true;
  }
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  rmSync(root, { recursive: true, force: true });
}
console.log(`e2e: ${failed ? 'FAILED' : 'passed'} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
