// SadModel as assembled from the stages: reference names at the paper preset, cpu-tiny shapes per training stage,
// membrane reset after every forward (eval is deterministic), memory, module boundaries, stage switches.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyStage,
  disposeSadOutput,
  loadSadConfig,
  randomModelInput,
  SadModel,
  type SadOutput,
  stageOf,
} from '../../../src/pipeline/index.ts';
import { Instrument } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function shapes(out: SadOutput): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(out)
      .filter(([, v]) => v instanceof tf.Tensor)
      .map(([k, v]) => [k, (v as tf.Tensor).shape]),
  );
}

describe('SadModel names', () => {
  it('equal the reference state_dict (sad-state-dict.tsv, 697 rows) at the paper preset: names, shapes, order', () => {
    const rows = readFileSync(new URL('../../fixtures/sad-state-dict.tsv', import.meta.url), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'));
    // The TSV lists every head (instance heads included), as SAD builds with INSTANCE_SEG/FLOW on.
    const config = loadSadConfig('paper', ['INSTANCE_SEG.ENABLED=true', 'INSTANCE_FLOW.ENABLED=true']);
    const model = new SadModel(config, { referenceInit: false });
    const ours = model.namedParameters();
    expect(rows.length).toBe(697);
    expect(ours.map((p) => p.name)).toEqual(rows.map((r) => r[0]));
    for (let i = 0; i < rows.length; i++) {
      const [name, shape, dtype] = rows[i];
      const expected = shape === '' ? [] : shape.split('x').map(Number);
      expect(ours[i].shape, name).toEqual(expected);
      expect(ours[i].dtype, name).toBe(dtype);
    }
    const state = model.stateDict();
    expect(Array.from(state.get('bev_dimension')?.data as BigInt64Array)).toEqual([200n, 200n, 1n]);
    expect(Array.from(state.get('bev_start_position')?.data as Float32Array)).toEqual([-49.75, -49.75, 0]);
    model.dispose();
  });
});

describe('SadModel forward (cpu-tiny)', () => {
  const cases = [
    { stage: 'perception', frames: 3, heads: ['segmentation', 'pedestrian', 'hdmap'] },
    {
      stage: 'prediction',
      frames: 7,
      heads: ['segmentation', 'instanceCenter', 'instanceOffset', 'instanceFlow'],
    },
    { stage: 'planning', frames: 9, heads: ['segmentation', 'pedestrian', 'hdmap', 'costvolume'] },
  ] as const;
  for (const { stage, frames, heads } of cases) {
    it(`${stage}: heads over ${frames} frames of a 32×32 BEV, then a plan; memory back to baseline`, () => {
      const config = applyStage(loadSadConfig('cpu-tiny'), stage);
      expect(stageOf(config)).toBe(stage);
      const model = new SadModel(config);
      const input = randomModelInput(config);
      const run = (check: boolean) => {
        const out = model.forward(input);
        const got = shapes(out);
        if (check) {
          expect(got.segmentation).toEqual([1, frames, 32, 32, 2]);
          for (const h of heads) expect(got[h], h).toBeDefined();
          if (got.hdmap) expect(got.hdmap).toEqual([1, 32, 32, 4]);
          if (got.costvolume) expect(got.costvolume).toEqual([1, frames, 32, 32, 1]);
          if (got.instanceOffset) expect(got.instanceOffset).toEqual([1, frames, 32, 32, 2]);
          expect(got.camFront).toEqual([1, 4, 8, 16]);
          if (stage !== 'perception') expect(got.mu).toEqual([1, 8]);
        }
        if (model.planning) {
          const plan = model.plan(out, {
            commands: ['LEFT'],
            samplerInputs: [{ v0Mps: 5, steeringRad: 0.1 }],
            rng: createRng(3),
          });
          if (check) {
            expect(plan.trajectory.shape).toEqual([1, 6, 3]);
            // The LEFT third of the 300 sorted candidates.
            expect(plan.selectedIndex[0]).toBeGreaterThanOrEqual(0);
            expect(plan.selectedIndex[0]).toBeLessThan(100);
          }
          tf.dispose([plan.trajectory, plan.selected]);
        }
        disposeSadOutput(out);
      };
      // The first calls build weight caches kept with the model (folded BN, fused heads, cost-function grids).
      run(false);
      run(false);
      const before = tf.memory().numTensors;
      run(true);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(Object.values(input));
      model.dispose();
    });
  }

  it('resets every membrane after a forward, so evaluation is deterministic', () => {
    const config = applyStage(loadSadConfig('cpu-tiny'), 'planning');
    const model = new SadModel(config);
    const input = randomModelInput(config);
    const a = model.forward(input);
    const b = model.forward(input);
    expect(Array.from(b.segmentation.dataSync())).toEqual(Array.from(a.segmentation.dataSync()));
    expect(Array.from(b.costvolume?.dataSync() ?? [])).toEqual(Array.from(a.costvolume?.dataSync() ?? []));
    disposeSadOutput(a);
    disposeSadOutput(b);
    tf.dispose(Object.values(input));
    model.dispose();
  });

  it('reports per-stage timings and the bits crossing module boundaries', () => {
    const config = applyStage(loadSadConfig('cpu-tiny'), 'planning');
    const model = new SadModel(config);
    const input = randomModelInput(config);
    const instrument = new Instrument();
    const timings: Record<string, number> = {};
    const out = model.forward(input, { timings }, { instrument });
    const record = instrument.finishSync();
    expect(Object.keys(timings).sort()).toEqual(['decoder', 'perception', 'prediction']);
    // BEV [1, 3, 32, 32, 22] real-valued: 67 584 values × 32 bits.
    expect(record.boundaryBits['perception->prediction']).toBe(3 * 32 * 32 * 22 * 32);
    expect(record.boundaryBits['prediction->decoder']).toBe(9 * 32 * 32 * 22 * 32);
    expect(record.boundaryBits['decoder->planning']).toBeGreaterThan(0);
    expect(record.boundaryBits['perception->planning']).toBe(4 * 8 * 16 * 32);
    const modules = new Set(record.layers.map((l) => l.module));
    for (const m of ['perception', 'prediction', 'decoder']) expect(modules.has(m), m).toBe(true);
    disposeSadOutput(out);
    tf.dispose(Object.values(input));
    model.dispose();
  });
});

describe('applyStage', () => {
  it('applies the reference stage files: F, heads, distribution, planner, learning rate', () => {
    const base = loadSadConfig('paper');
    const p = applyStage(base, 'perception');
    expect([p.N_FUTURE_FRAMES, p.PROBABILISTIC.ENABLED, p.PLANNING.ENABLED, p.OPTIMIZER.LR]).toEqual([
      0,
      false,
      false,
      1e-3,
    ]);
    const q = applyStage(base, 'prediction');
    expect([q.N_FUTURE_FRAMES, q.SEMANTIC_SEG.PEDESTRIAN.ENABLED, q.SEMANTIC_SEG.HDMAP.ENABLED]).toEqual([
      4,
      false,
      false,
    ]);
    expect([q.INSTANCE_SEG.ENABLED, q.INSTANCE_FLOW.ENABLED, q.OPTIMIZER.LR]).toEqual([true, true, 2e-4]);
    const r = applyStage(base, 'planning');
    expect([r.N_FUTURE_FRAMES, r.PLANNING.ENABLED, r.INSTANCE_SEG.ENABLED, r.OPTIMIZER.LR]).toEqual([
      6,
      true,
      false,
      1e-4,
    ]);
    // Sizes stay the preset's.
    expect(r.IMAGE.FINAL_DIM).toEqual(base.IMAGE.FINAL_DIM);
  });
});
