// Checkpoints: a cpu-tiny model saved and loaded into a differently seeded one gives the same outputs; the JSON
// carries config, stage, step, seed and metrics; interrupted saves, other grids and PyTorch Lightning prefixes.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyStage,
  checkpointPaths,
  disposeSadOutput,
  filterStageTensors,
  loadCheckpoint,
  loadSadConfig,
  openModel,
  randomModelInput,
  SadModel,
  saveCheckpoint,
  serializeSafetensors,
} from '../../../src/pipeline/index.ts';
import { createRng, SpikedriveError } from '../../../src/util/index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const config = applyStage(loadSadConfig('cpu-tiny'), 'perception');

describe('checkpoints', () => {
  it('save → open reproduces the model exactly, with the JSON beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const a = new SadModel(config, { rng: createRng('a') });
    const meta = await saveCheckpoint(join(dir, 'perception.safetensors'), {
      tensors: a.stateDict(),
      config,
      stage: 'perception',
      step: 12,
      epoch: 1,
      metrics: { iou_vehicle: 0.25 },
    });
    expect(meta.step).toBe(12);
    expect(meta.configHash).toMatch(/^[0-9a-f]{16}$/);
    const opened = openModel({ checkpoint: join(dir, 'perception.safetensors') });
    expect(opened.meta?.metrics).toEqual({ iou_vehicle: 0.25 });
    expect(opened.meta?.stage).toBe('perception');
    expect(opened.config).toEqual(config);
    const input = randomModelInput(config);
    a.eval();
    const x = a.forward(input);
    const y = opened.model.forward(input);
    expect(Array.from(y.segmentation.dataSync())).toEqual(Array.from(x.segmentation.dataSync()));
    disposeSadOutput(x);
    disposeSadOutput(y);
    tf.dispose(Object.values(input));
    a.dispose();
    opened.model.dispose();
  });

  it('detects a save interrupted between the tensors and the JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const path = join(dir, 'm.safetensors');
    const model = new SadModel(config);
    await saveCheckpoint(path, {
      tensors: model.stateDict(),
      config,
      stage: 'perception',
      step: 5,
      epoch: 0,
    });
    const paths = checkpointPaths(path);
    const { writeSafetensors } = await import('../../../src/pipeline/index.ts');
    // Tensors of a later step without their JSON.
    await writeSafetensors(
      paths.tensors,
      new Map([...model.stateDict()].map(([k, v]) => [k, { shape: v.shape, data: v.data }])),
      { 'spikedrive.step': '6' },
    );
    expect(() => loadCheckpoint(path)).toThrow(/step 6 .* step 5/);
    model.dispose();
  });

  it('loads a checkpoint written before a config key existed with its default, and still names a bad key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const path = join(dir, 'old.safetensors');
    const model = new SadModel(config);
    await saveCheckpoint(path, {
      tensors: model.stateDict(),
      config,
      stage: 'perception',
      step: 1,
      epoch: 0,
    });
    model.dispose();
    const json = checkpointPaths(path).json;
    const meta = JSON.parse(readFileSync(json, 'utf8'));
    delete meta.config.TRAIN.FREEZE;
    writeFileSync(json, JSON.stringify(meta));
    expect(loadCheckpoint(path).meta?.config.TRAIN.FREEZE).toEqual([]);
    meta.config.TRAIN.FREEZ = [];
    writeFileSync(json, JSON.stringify(meta));
    expect(() => loadCheckpoint(path)).toThrow(/unknown config key TRAIN\.FREEZ /);
  });

  it('rejects a checkpoint of another BEV grid, naming bev_dimension', () => {
    const other = new SadModel(loadSadConfig('cpu-tiny', ['LIFT.X_BOUND=[-16.0, 16.0, 0.5]']));
    const model = new SadModel(config);
    let error: unknown;
    try {
      model.loadStateDict(other.stateDict());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).subject).toBe('bev_dimension');
    other.dispose();
    model.dispose();
  });

  it('loads a bare reference export (PyTorch Lightning `model.` prefix stripped) with --config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    const model = new SadModel(config, { rng: createRng('ref') });
    const state = model.stateDict();
    const prefixed = new Map([...state].map(([k, v]) => [`model.${k}`, { shape: v.shape, data: v.data }]));
    prefixed.set('model.segmentation_weight', { shape: [], data: Float32Array.of(0.3) });
    writeFileSync(join(dir, 'export.safetensors'), serializeSafetensors(prefixed));
    const opened = openModel({ checkpoint: join(dir, 'export.safetensors'), config });
    expect(opened.meta).toBeNull();
    expect(opened.unexpected).toEqual([]);
    const got = opened.model.stateDict();
    const values = (d: ArrayLike<number | bigint> | undefined) => Array.from(d ?? []);
    for (const [name, v] of state) expect(values(got.get(name)?.data), name).toEqual(values(v.data));
    opened.model.dispose();
    model.dispose();
  });

  it('stage-to-stage loading drops every tensor whose name contains "decoder" (train.py)', () => {
    const model = new SadModel(applyStage(loadSadConfig('cpu-tiny'), 'planning'));
    const all = model.stateDict();
    const kept = filterStageTensors(all, true);
    const dropped = [...all.keys()].filter((k) => !kept.has(k));
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((k) => k.includes('decoder'))).toBe(true);
    // The planner's own decoder and the BEV decoder go; the encoder stays.
    expect(dropped.some((k) => k.startsWith('planning.decoder.'))).toBe(true);
    expect(dropped.some((k) => k.startsWith('decoder.layer1.'))).toBe(true);
    expect([...kept.keys()].some((k) => k.startsWith('encoder.'))).toBe(true);
    expect(filterStageTensors(all, false).size).toBe(all.size);
    model.dispose();
  });
});
