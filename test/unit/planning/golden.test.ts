// The planner against the SAD reference itself (ridgerchu/SAD d948477, spikingjelly 1171f524), recorded by
// test/fixtures/model-golden/planning/make_golden.py: the sampler given numpy's own draws (np.random.seed replayed
// with numpyRandomState), every cost term, and the Planning module (selection, SGRU output, loss and gradients).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CostFunction,
  numpyRandomState,
  type PlanningCommand,
  SadPlanning,
  sampleTrajectories,
} from '../../../src/planning/index.ts';
import type { Linear } from '../../../src/snn/index.ts';
import {
  candidates,
  caseMaps,
  fillWeights,
  floats,
  gtTrajectory,
  lcgFeature,
  loadGolden,
  type Packed,
} from './_golden-inputs.ts';
import { expectNear, useCpu } from './_helpers.ts';

interface SamplerCase {
  seed: number;
  v0: number;
  steering: number;
  M: number;
  F: number;
  trajectories: Packed;
}
interface CostCase {
  name: string;
  bound: number;
  N: number;
  F: number;
  lcg_seed: number;
  hd_kind: 'masks' | 'logits';
  seeds: number[][];
  targets: [number, number][];
  fc: Packed;
  fo: Packed;
  terms?: Record<string, Packed>;
}
interface PlanningCase {
  name: string;
  train: boolean;
  commands: PlanningCommand[];
  hd_kind: 'masks' | 'logits';
  targets: [number, number][];
  lcg_seed: number;
  seeds: number[][];
  bound: number;
  N: number;
  F: number;
  weight_names: string[];
  selected: Packed;
  output: Packed;
  loss?: number;
  max_margin?: number;
  grad_cost_volume?: Packed;
  grad_decoder_1_weight?: Packed;
  grad_gru_linear_ih_bias?: Packed;
}

const golden = loadGolden<{ sampler: SamplerCase[]; cost: CostCase[]; planning: PlanningCase[] }>();

beforeAll(useCpu);

describe('sampler vs the reference (numpy draws replayed)', () => {
  for (const c of golden.sampler) {
    it(`seed ${c.seed}: v0 ${c.v0} m/s, steering ${c.steering} rad, M ${c.M}, F ${c.F}`, () => {
      const out = sampleTrajectories({ v0Mps: c.v0, steeringRad: c.steering }, numpyRandomState(c.seed), {
        sampleNum: c.M,
        nFutureFrames: c.F,
      });
      expect(out.shape).toEqual(c.trajectories.shape);
      // Bit-identical when recorded; the tolerance only allows last-place differences of libm sin/cos.
      expectNear(out.data, floats(c.trajectories), 1e-5, 'trajectories');
    });
  }
});

describe('cost function vs the reference', () => {
  for (const c of golden.cost) {
    it(`${c.name}: fc, fo${c.terms ? ' and every term' : ''}`, () => {
      const X = (2 * c.bound) / 0.5;
      const B = c.seeds.length;
      const cf = new CostFunction({ xBound: [-c.bound, c.bound, 0.5], yBound: [-c.bound, c.bound, 0.5] });
      const { maps } = caseMaps(c.lcg_seed, B, c.F, X, X, c.hd_kind);
      const cand = candidates(c.seeds, c.N, c.F);
      const targetSum = c.targets.reduce((s, t) => s + t[0] + t[1], 0);
      const fo = floats(c.fo);
      const fc = floats(c.fc);
      for (let b = 0; b < B; b++) {
        const r = cf.score(cand.subarray(b * c.N * c.F * 3, (b + 1) * c.N * c.F * 3), c.N, c.F, maps[b], {
          target: c.targets[b],
          targetSumBatch: targetSum,
        });
        const nf = c.N * c.F;
        expectNear(r.fo, fo.subarray(b * nf, (b + 1) * nf), 1e-4, `fo[${b}]`);
        expectNear(r.fc, fc.subarray(b * c.N, (b + 1) * c.N), 1e-4, `fc[${b}]`);
        if (c.terms) {
          const perStep = ['safety', 'headway', 'laneDivider', 'rule', 'costVolume'] as const;
          for (const term of perStep) {
            const ref = floats(c.terms[term]).subarray(b * nf, (b + 1) * nf);
            expectNear(r[term] as Float32Array, ref, 1e-4, `${term}[${b}]`);
          }
          for (const term of ['comfort', 'progress'] as const) {
            expectNear(
              r[term],
              floats(c.terms[term]).subarray(b * c.N, (b + 1) * c.N),
              1e-4,
              `${term}[${b}]`,
            );
          }
        }
      }
      cf.dispose();
    });
  }

  it('the recorded cases exercise every term and clamp', () => {
    const c = golden.cost.find((k) => k.terms !== undefined) as CostCase;
    const terms = Object.fromEntries(Object.entries(c.terms ?? {}).map(([k, v]) => [k, floats(v)]));
    const max = (a: Float32Array) => a.reduce((m, v) => Math.max(m, v), -Infinity);
    const min = (a: Float32Array) => a.reduce((m, v) => Math.min(m, v), Infinity);
    expect(max(terms.safety)).toBe(100); // clamped
    expect(max(terms.headway)).toBeGreaterThan(0);
    expect(max(terms.laneDivider)).toBe(10); // on a lane pixel: (1 − 0)² × 10
    expect(max(terms.rule)).toBeGreaterThan(0);
    expect(max(terms.costVolume)).toBe(100);
    expect(min(terms.costVolume)).toBe(0);
    expect(max(terms.comfort)).toBeGreaterThan(0);
    expect(min(terms.progress)).toBeLessThan(0);
  });
});

describe('Planning module vs the reference', () => {
  for (const c of golden.planning) {
    it(`${c.name}: selection, SGRU output${c.train ? ', loss and gradients' : ''}`, () => {
      const before = tf.memory().numTensors;
      const X = (2 * c.bound) / 0.5;
      const B = c.commands.length;
      const planning = new SadPlanning({
        featureChannels: 64,
        featureHeight: 28,
        featureWidth: 60,
        gruStateSize: 256,
        sampleNum: c.N,
        nFutureFrames: c.F,
        xBound: [-c.bound, c.bound, 0.5],
        yBound: [-c.bound, c.bound, 0.5],
      });
      fillWeights(planning, c.weight_names);
      planning.train(c.train);
      const { occupancy, hdmap, costVolume } = caseMaps(c.lcg_seed, B, c.F, X, X, c.hd_kind);
      const cand = candidates(c.seeds, c.N, c.F);
      const channels = c.hd_kind === 'masks' ? 2 : 4;
      const cvData = new Float32Array(B * c.F * X * X);
      for (const [b, v] of costVolume.entries()) cvData.set(v, b * v.length);
      const hdData = new Float32Array(B * X * X * channels);
      for (const [b, v] of hdmap.entries()) hdData.set(v, b * v.length);
      const front = lcgFeature(c.lcg_seed + 7, B, 64, 28, 60);
      const hd = tf.tensor4d(hdData, [B, X, X, channels]);
      const gt = tf.tensor3d(gtTrajectory(B, c.F), [B, c.F, 3]);
      const cv = tf.tensor4d(cvData, [B, c.F, X, X]);
      const run = (costVolumeTensor: tf.Tensor) =>
        planning.forward({
          frontFeature: front,
          candidates: { data: cand, shape: [B, c.N, c.F, 3] },
          commands: c.commands,
          costVolume: costVolumeTensor,
          occupancy,
          hdmap: hd,
          targetPoints: c.targets,
          gtTrajectory: gt,
        });
      if (!c.train) {
        const out = run(cv);
        expectNear(out.selected.dataSync(), floats(c.selected), 1e-6, 'selected');
        expectNear(out.trajectory.dataSync(), floats(c.output), 1e-4, 'output');
        tf.dispose([out.trajectory, out.selected]);
      } else {
        const volume = tf.variable(cv, true, 'golden-cost-volume');
        const decoder1 = planning.modules().find((m) => m.name === 'planning.decoder.1') as Linear;
        const gruIh = planning.gru.linearIh;
        let got: { selected: Float32Array; output: Float32Array; maxMargin: number } | null = null;
        const { value, grads } = tf.variableGrads(() => {
          const out = run(volume);
          const loss = out.loss as NonNullable<typeof out.loss>;
          got = {
            selected: out.selected.dataSync() as Float32Array,
            output: out.trajectory.dataSync() as Float32Array,
            maxMargin: loss.maxMargin.dataSync()[0],
          };
          return loss.total;
        }, [volume, decoder1.weight, gruIh.bias as tf.Variable]);
        const r = got as unknown as { selected: Float32Array; output: Float32Array; maxMargin: number };
        expectNear(r.selected, floats(c.selected), 1e-6, 'selected');
        expectNear(r.output, floats(c.output), 1e-4, 'output');
        expectNear([r.maxMargin], [c.max_margin as number], 1e-4, 'max margin');
        expectNear(value.dataSync(), [c.loss as number], 1e-4, 'loss');
        expectNear(
          grads[volume.name].dataSync(),
          floats(c.grad_cost_volume as Packed),
          1e-4,
          'd loss / d cost volume',
        );
        // Linear weights are kept [in, out]; the reference gradient is [out, in].
        const dW = tf.transpose(grads[decoder1.weight.name]);
        expectNear(
          dW.dataSync(),
          floats(c.grad_decoder_1_weight as Packed),
          1e-4,
          'd loss / d decoder.1.weight',
        );
        expectNear(
          grads[(gruIh.bias as tf.Variable).name].dataSync(),
          floats(c.grad_gru_linear_ih_bias as Packed),
          1e-4,
          'd loss / d GRU.linear_ih.bias',
        );
        tf.dispose([value, dW, volume, ...Object.values(grads)]);
      }
      tf.dispose([front, hd, gt, cv]);
      planning.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
