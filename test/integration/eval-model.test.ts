// The evaluator with the SAD network (a randomly initialised cpu-tiny checkpoint, sized for the test world's small
// images): perception and prediction IoUs from argmax predictions agree with the per-sample counts the frames carry,
// energy per module from the instrumented forward (energy.json and per-frame values agree), latency per module,
// firing rates and per-layer energy in the frames, the `sad` planner through the model, a plugin planner fed by the
// model's outputs, and no tensors left behind.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EvaluationModel, evaluate } from '../../src/eval/evaluate.ts';
import { loadEvaluationModel } from '../../src/eval/model-predictor.ts';
import { readFrameBytes } from '../../src/eval/run-folder.ts';
import { decodeFrame } from '../../src/eval/run-format.ts';
import { formatSummary, summarizeRun } from '../../src/eval/summary.ts';
import { applyOverride, loadSadConfig, SadModel, saveCheckpoint } from '../../src/pipeline/index.ts';
import { type EvalWorld, evalWorld } from './eval-world.ts';

const root = mkdtempSync(join(tmpdir(), 'spikedrive-eval-model-'));
let world: EvalWorld;
let model: EvaluationModel;

beforeAll(async () => {
  world = await evalWorld();
  // cpu-tiny reads 32×64 crops of 1600×900 images at scale 0.04; the test world's images are 80×45.
  let config = loadSadConfig('cpu-tiny');
  for (const o of ['IMAGE.ORIGINAL_WIDTH=80', 'IMAGE.ORIGINAL_HEIGHT=45', 'IMAGE.RESIZE_SCALE=0.8']) {
    config = applyOverride(config, o);
  }
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
  model = await loadEvaluationModel({ checkpoint, backend: 'cpu' });
});

afterAll(() => model?.predictor.dispose());

const dataset = () => ({ dataroot: world.dataroot, version: world.version, sceneNames: world.sceneNames });

describe('model evaluation', () => {
  it('reports perception, prediction, planning, energy and latency, consistent with the frames', async () => {
    const result = await evaluate({
      out: join(root, 'sad'),
      dataset: dataset(),
      model,
      limit: 3,
      loaderWorkers: 0,
    });
    expect(result.status).toBe('complete');
    const run = result.run;
    expect(run.manifest.planner.name).toBe('sad');
    expect(run.manifest.checkpoint?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.manifest.energyProfile).toBe('cmos-45nm');
    expect(run.manifest.bev).toMatchObject({ rows: 32, cols: 32 });
    const entries = run.metrics?.entries ?? [];
    // Vehicle IoU over present + future frames equals Σtp / Σ(tp + fp + fn) of the per-sample counts.
    const sums = [0, 0, 0];
    for (const e of run.index) {
      const c = (e.scalars.counts as Record<string, number[]>).vehicle;
      for (let k = 0; k < 3; k++) sums[k] += c[k];
    }
    const iou = entries.find((e) => e.metric === 'iou' && e.class === 'vehicle' && (e.horizonS ?? 0) > 0);
    const expected = sums[0] + sums[1] + sums[2] === 0 ? 0 : sums[0] / (sums[0] + sums[1] + sums[2]);
    expect(iou?.value).toBeCloseTo(expected, 12);
    for (const cls of ['vehicle', 'pedestrian', 'drivable', 'lane']) {
      expect(entries.some((e) => e.metric === 'iou' && e.class === cls && e.horizonS === 0)).toBe(true);
    }
    expect(entries.find((e) => e.metric === 'planned_samples')?.value).toBe(3);
    // Energy: energy.json's per-module mJ/frame equal the mean of the frames' per-module values.
    const energy = run.energy;
    expect(energy?.frames).toBe(3);
    for (const m of energy?.modules ?? []) {
      const perFrame = run.index.map((e) => (e.scalars.energyMj as Record<string, number>)[m.module] ?? 0);
      expect(m.energyJ * 1e3).toBeCloseTo(perFrame.reduce((a, b) => a + b, 0) / perFrame.length, 6);
    }
    expect(energy?.modules.map((m) => m.module)).toEqual(
      expect.arrayContaining(['perception', 'prediction', 'planning']),
    );
    // Latency per module, and the frame's arrays.
    const latency = run.index[0].scalars.latencyMs as Record<string, number>;
    expect(latency.perception).toBeGreaterThan(0);
    expect(latency.prediction).toBeGreaterThan(0);
    expect(latency.planning).toBeGreaterThan(0);
    const frame = decodeFrame(await readFrameBytes(run.dir, run.index[0]), 'f');
    for (const name of [
      'segmentation',
      'pedestrian',
      'hdmap',
      'costVolume',
      'plannedTrajectory',
      'firingRates',
      'energyJ',
    ]) {
      expect(frame.arrays.has(name)).toBe(true);
    }
    expect(frame.arrays.get('segmentation')?.shape).toEqual([7, 32, 32]);
    expect(frame.header.layerNames?.length).toBe(frame.arrays.get('firingRates')?.shape[0]);
    expect(frame.arrays.get('candidates')?.shape).toEqual([100, 6, 3]);
    const table = formatSummary(summarizeRun(run), 'table');
    for (const text of [
      'Perception: BEV IoU',
      'Prediction: present + future',
      'Energy per frame',
      'perception',
      'frames/s',
    ]) {
      expect(table).toContain(text);
    }
  });

  it('a plugin planner reads the model outputs; no tensors are left behind', async () => {
    const before = tf.memory().numTensors;
    const result = await evaluate({
      out: join(root, 'plugin'),
      dataset: dataset(),
      model,
      planner: new URL('../../examples/planners/cautious-cruise.ts', import.meta.url).pathname,
      limit: 2,
      loaderWorkers: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.failures).toEqual([]);
    expect(result.run.manifest.planner).toMatchObject({ name: 'cautious-cruise', version: '1.0.0' });
    expect(result.run.index[0].scalars.plannerMeta).toHaveProperty('braking');
  });
});
