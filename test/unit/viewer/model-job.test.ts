// Live compute: a model run job in the worker thread (a randomly initialised cpu-tiny checkpoint made here, the
// small synthetic world the evaluator's tests share) writes a run through the evaluator's model path that the viewer
// opens while it grows; cancelling stops it after a frame, leaving a valid resumable run; a missing or broken
// checkpoint and a bad offload spec are refused with a message naming them and the fix; offload specs reach the model.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOverride, loadSadConfig, SadModel, saveCheckpoint } from '../../../src/pipeline/index.ts';
import { validateRequest } from '../../../src/viewer/api/protocol.ts';
import { demoModelRunFolder } from '../../../src/viewer/app.ts';
import { createViewerBackend, type ViewerBackend } from '../../../src/viewer/backend/backend.ts';
import {
  checkModelCheckpoint,
  checkpointSha256,
  runModelJob,
} from '../../../src/viewer/backend/model-job.ts';
import { openPreferences } from '../../../src/viewer/backend/prefs.ts';
import { type EvalWorld, evalWorld } from '../../integration/eval-world.ts';

const root = mkdtempSync(join(tmpdir(), 'viewer-model-job-'));
let world: EvalWorld;
let checkpoint: string;
let backend: ViewerBackend;
let datasetId: string;

beforeAll(async () => {
  world = await evalWorld();
  // cpu-tiny reads 32×64 crops of 1600×900 images at scale 0.04; the test world's images are 80×45.
  let config = loadSadConfig('cpu-tiny');
  for (const o of ['IMAGE.ORIGINAL_WIDTH=80', 'IMAGE.ORIGINAL_HEIGHT=45', 'IMAGE.RESIZE_SCALE=0.8'])
    config = applyOverride(config, o);
  const sad = new SadModel(config);
  checkpoint = join(root, 'tiny.safetensors');
  await saveCheckpoint(checkpoint, {
    tensors: sad.stateDict(),
    config,
    stage: 'planning',
    step: 0,
    epoch: 0,
  });
  sad.dispose();
  backend = createViewerBackend({
    mode: 'browser',
    preferences: openPreferences(null),
    rendererOpensPaths: true,
    cacheDir: join(root, 'runs'),
    live: { checkpoint, backend: 'cpu' },
  });
  datasetId = (await backend.openDatasetFolder(world.dataroot, world.version)).datasetId;
});

afterAll(async () => {
  await backend?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('model run job', () => {
  it('computes frames in the worker, opens the run while it grows, and stops on cancel', async () => {
    const seen: number[] = [];
    const job = await backend.startModelRun(datasetId, { limit: 4, split: 'train' });
    expect(job).toMatchObject({ kind: 'model-run', state: 'running' });
    // Cancel as soon as the first frame is in the run the viewer opened.
    const runId = await backend.jobRunOpened(job.jobId);
    expect(runId).toMatch(/^run-/);
    for (;;) {
      const info = await backend.runSummary({ runId: runId as string });
      seen.push(info.frames.length);
      if (info.frames.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    backend.cancelJob({ jobId: job.jobId });
    const end = await backend.jobManager.finished(job.jobId);
    expect(end?.state).toBe('cancelled');
    const run = await backend.runSummary({ runId: runId as string });
    // The evaluator's model path wrote it: the checkpoint's hash, the sad planner, model-sized BEV.
    expect(run.manifest.planner.name).toBe('sad');
    expect((run.manifest.checkpoint as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.manifest.bev).toMatchObject({ rows: 32, cols: 32 });
    expect(run.status).toBe('running');
    expect(run.frames.length).toBeGreaterThanOrEqual(1);
    expect(run.frames.length).toBeLessThan(4);
    expect(existsSync(join(run.dir, 'state.json'))).toBe(true);
    // The frame the renderer asks for carries the model's outputs and the plan.
    const bytes = await backend.runFrame({ runId: runId as string, token: run.frames[0].token });
    expect(bytes.byteLength).toBeGreaterThan(1000);
  });

  it('runs to completion in-thread with an offload spec installed on the model', async () => {
    const out = join(root, 'offload-run');
    const lines: string[] = [];
    const progress: number[] = [];
    const result = await runModelJob(
      {
        kind: 'model-run',
        dataroot: world.dataroot,
        version: world.version,
        out,
        checkpoint,
        planner: 'sad',
        offload: ['planning=nir-sim'],
        split: 'train',
        limit: 1,
        backend: 'cpu',
      },
      { onProgress: (done) => progress.push(done), log: (l) => lines.push(l) },
    );
    expect(result).toEqual({ frames: 1, complete: true });
    expect(progress.at(-1)).toBe(1);
    expect(lines.some((l) => l.includes('offload: planning on nir-sim'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.status).toBe('complete');
  });

  it('refuses a missing or broken checkpoint and a bad offload spec, naming them and the fix', async () => {
    const missing = join(root, 'nope.safetensors');
    await expect(backend.startModelRun(datasetId, { checkpoint: missing })).rejects.toMatchObject({
      message: expect.stringContaining(missing),
      fix: expect.stringContaining('spikedrive train'),
    });
    // Through the API, as the renderer asks.
    await expect(
      backend.startJob({ kind: 'model-run', datasetId, checkpoint: missing }),
    ).rejects.toMatchObject({ message: expect.stringContaining('nope.safetensors') });
    const garbage = join(root, 'garbage.safetensors');
    writeFileSync(garbage, 'not a checkpoint at all');
    expect(() => checkModelCheckpoint(garbage)).toThrow(/garbage\.safetensors is not a readable safetensors/);
    const badJson = join(root, 'tiny-copy.safetensors');
    writeFileSync(badJson, readFileSync(checkpoint));
    writeFileSync(join(root, 'tiny-copy.json'), '{ half');
    expect(() => checkModelCheckpoint(badJson)).toThrow(/tiny-copy\.json is not valid JSON/);
    await expect(backend.startModelRun(datasetId, { offload: ['brain=nir-sim'] })).rejects.toMatchObject({
      fix: expect.stringContaining('perception=nir-sim'),
    });
    expect(
      validateRequest('startJob', { kind: 'model-run', datasetId, offload: ['perception=fpga'] }).ok,
    ).toBe(false);
    expect(validateRequest('startJob', { kind: 'model-run', datasetId, checkpoint: 3 }).ok).toBe(false);
    // No job was started by any of these.
    expect(backend.jobManager.list().length).toBe(1);
  });

  it('caches the demo’s model run under the checkpoint’s sha256 (and the offload specs)', () => {
    const sha = checkpointSha256(checkpoint);
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    const plain = demoModelRunFolder(sha);
    expect(plain).toContain(`-model-${sha.slice(0, 16)}`);
    expect(demoModelRunFolder('0'.repeat(64))).not.toBe(plain);
    expect(demoModelRunFolder(sha, ['perception=nir-sim'])).not.toBe(plain);
  });

  it('lists the host’s own work (the demo world being generated) as a job with progress and no cancel', async () => {
    const world = backend.jobManager.track('demo-world', 'generating the demo world');
    world.progress(48, 160);
    const listed = (await backend.jobs({})).find((j) => j.kind === 'demo-world');
    expect(listed).toMatchObject({ state: 'running', done: 48, total: 160, cancellable: false });
    await backend.cancelJob({ jobId: listed?.jobId as string });
    expect(backend.jobManager.get(listed?.jobId as string)?.state).toBe('running');
    world.end('done');
    expect(backend.jobManager.get(listed?.jobId as string)?.state).toBe('done');
  });
});
