// The first start of the app on an empty cache: the demo world's val scene opens as soon as it is on disk (a preview,
// while the other scenes are still generated), under the dataset id it keeps when the whole world is read again; the
// generation shows as a job until the world is complete, with a notice meanwhile; without a model the expert run is
// computed once the whole world exists (it covers every scene). A tiny world with a stand-in renderer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sceneNames } from '../../../data-loaders/synthetic/index.ts';
import { demoRunFolder, openDemo } from '../../../src/viewer/app.ts';
import { createViewerBackend } from '../../../src/viewer/backend/backend.ts';
import { openPreferences } from '../../../src/viewer/backend/prefs.ts';

const root = mkdtempSync(join(tmpdir(), 'viewer-demo-start-'));
const cacheBefore = process.env.SPIKEDRIVE_CACHE;
process.env.SPIKEDRIVE_CACHE = join(root, 'cache');

afterAll(() => {
  if (cacheBefore === undefined) delete process.env.SPIKEDRIVE_CACHE;
  else process.env.SPIKEDRIVE_CACHE = cacheBefore;
  rmSync(root, { recursive: true, force: true });
});

describe('openDemo on an empty cache', () => {
  it('opens the val scene first, then the whole world under the same dataset id', async () => {
    const backend = createViewerBackend({
      mode: 'browser',
      preferences: openPreferences(null),
      rendererOpensPaths: true,
      cacheDir: join(root, 'runs'),
      live: { checkpoint: join(root, 'no-model.safetensors') },
    });
    // What the backend held each time the demo opened a dataset, and what the job list said then.
    const opened: Array<{ scenes: string[]; worldJob: string | undefined; notices: string[] }> = [];
    const open = backend.openDatasetFolder;
    backend.openDatasetFolder = async (path, version) => {
      const info = await open(path, version);
      const job = (await backend.jobs({})).find((j) => j.kind === 'demo-world');
      opened.push({
        scenes: info.scenes.map((s) => s.name),
        worldJob: job?.state,
        notices: [...backend.notices],
      });
      return info;
    };
    const lines: string[] = [];
    try {
      await openDemo(backend, (line) => lines.push(line), {
        folder: join(root, 'cache', 'demo'),
        arguments: { version: 'v1.0-mini', scenes: 2, seed: 3, samplesPerScene: 12, imageScale: 0.05 },
        rendererModule: new URL('../synthetic/fake-renderer.ts', import.meta.url).href,
        workers: 0,
      });
      const names = sceneNames('v1.0-mini', 2);
      const val = names.filter((s) => s.split === 'val').map((s) => s.name);
      // Opened once, at the preview: the val scene only, while the world job still ran, with the notice saying so.
      expect(opened.map((o) => o.scenes)).toEqual([val]);
      expect(opened[0].worldJob).toBe('running');
      expect(opened[0].notices.some((n) => /still being generated/.test(n))).toBe(true);
      // Now: the same dataset with every scene, the job done, the notice gone.
      const startup = await backend.startup({});
      expect(startup.datasets).toHaveLength(1);
      expect(startup.datasets[0].scenes.map((s) => s.name).sort()).toEqual(names.map((s) => s.name).sort());
      expect(startup.jobs.find((j) => j.kind === 'demo-world')?.state).toBe('done');
      expect(startup.notices.some((n) => /still being generated|Preparing/.test(n))).toBe(false);
      expect(startup.notices.some((n) => /No trained model/.test(n))).toBe(true);
      // The expert run (no model here) starts once the world is complete and covers both scenes.
      let gt = (await backend.jobs({})).find((j) => j.kind === 'ground-truth-run');
      for (let i = 0; i < 100 && !gt; i++) {
        await new Promise((r) => setTimeout(r, 50));
        gt = (await backend.jobs({})).find((j) => j.kind === 'ground-truth-run');
      }
      expect(gt).toBeDefined();
      const end = await backend.jobManager.finished(gt!.jobId);
      expect(end?.state).toBe('done');
      const runId = await backend.jobRunOpened(gt!.jobId);
      const run = await backend.runSummary({ runId: runId! });
      expect(run.datasetId).toBe(startup.datasets[0].datasetId);
      expect(new Set(run.frames.map((f) => f.sceneName)).size).toBe(2);
      expect(run.dir).toBe(demoRunFolder());
    } finally {
      await backend.close();
    }
  });
});
