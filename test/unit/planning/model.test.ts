// SadPlanning: reference names, h0 validation, shapes and memory, command-third selection, the loss on a hand case.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  commandFromFinalOffset,
  commandThird,
  occupancyFromLogits,
  type PlanningCommand,
  type PlanningOptions,
  reducedStateSize,
  SadPlanning,
} from '../../../src/planning/index.ts';
import { Instrument } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectNear, expectSpikedriveError, useCpu } from './_helpers.ts';

beforeAll(useCpu);

const here = dirname(fileURLToPath(import.meta.url));

function referenceRows(): Map<string, number[]> {
  const text = readFileSync(
    join(here, '../../fixtures/model-golden/planning/sad-state-dict-planning.tsv'),
    'utf8',
  );
  const rows = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const [name, shape] = line.split('\t');
    rows.set(name, shape === '' ? [] : shape.split('x').map(Number));
  }
  return rows;
}

/** A tiny planner: 8-channel 16 × 16 feature → 1·2·2 = 4 state values; 6 candidates, 2 steps, ±4 m grid. */
function tinyOptions(): PlanningOptions {
  return {
    featureChannels: 8,
    featureHeight: 16,
    featureWidth: 16,
    gruStateSize: 4,
    sampleNum: 6,
    nFutureFrames: 2,
    xBound: [-4, 4, 0.5],
    yBound: [-4, 4, 0.5],
    rng: createRng('tiny-planner'),
  };
}
const tinyPlanner = () => new SadPlanning(tinyOptions());

const G = 16;
/** Empty scene on the ±4 m grid: no occupancy, all drivable, no lanes, zero cost volume. */
function emptyScene(B: number, F: number) {
  const hd = new Float32Array(B * G * G * 2);
  for (let i = 0; i < B * G * G; i++) hd[i * 2 + 1] = 1;
  return {
    occupancy: Array.from({ length: B }, () => new Float32Array(F * G * G)),
    hdmap: tf.tensor4d(hd, [B, G, G, 2]),
    costVolume: tf.zeros([B, F, G, G]),
  };
}

// Thirds of 6: LEFT [0, 2), FORWARD [2, 4), RIGHT [4, 6); within each, the second reaches further forward except
// in RIGHT, where the first does. No comfort cost (constant velocities), so the furthest one wins (progress).
const CANDIDATES = [
  [-1, 1, 0, -2, 2, 0],
  [-1, 2, 0, -2, 4, 0],
  [0, 1, 0, 0, 2, 0],
  [0, 3, 0, 0, 6, 0],
  [1, 2, 0, 2, 4, 0],
  [1, 1, 0, 2, 2, 0],
].flat();

describe('SadPlanning', () => {
  it('has exactly the reference planning.* parameters and buffers at the paper size', () => {
    const planning = new SadPlanning({
      featureChannels: 64,
      featureHeight: 28,
      featureWidth: 60,
      gruStateSize: 256,
      sampleNum: 1800,
      nFutureFrames: 6,
      xBound: [-50, 50, 0.5],
      yBound: [-50, 50, 0.5],
    });
    const ours = new Map(planning.namedParameters().map((p) => [p.name, p.shape]));
    const reference = referenceRows();
    expect([...ours.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [name, shape] of reference) expect(ours.get(name), name).toEqual(shape);
    expect(planning.pipelineModule).toBe('planning');
    // The cost function's geometry buffers hold the reference values.
    const sd = planning.stateDict();
    expect(Array.from(sd.get('planning.cost_function.safetycost.dx')?.data as Float32Array)).toEqual([
      0.5, 0.5,
    ]);
    expect(Array.from(sd.get('planning.cost_function.rulecost.bx')?.data as Float32Array)).toEqual([
      -49.75, -49.75,
    ]);
    expect(Array.from(sd.get('planning.cost_function.safetycost.w')?.data as Float32Array)).toEqual([1, 1]);
    planning.dispose();
  });

  it('validates the SGRU state size against the reduced CAM_FRONT feature, naming both keys', () => {
    expect(reducedStateSize(64, 28, 60)).toBe(256);
    const e = expectSpikedriveError(
      () =>
        new SadPlanning({
          featureChannels: 64,
          featureHeight: 28,
          featureWidth: 60,
          gruStateSize: 128,
          sampleNum: 1800,
          nFutureFrames: 6,
          xBound: [-50, 50, 0.5],
          yBound: [-50, 50, 0.5],
        }),
      /PLANNING\.GRU_STATE_SIZE is 128 .*MODEL\.ENCODER\.OUT_CHANNELS 64.* = 256/,
      /Set PLANNING\.GRU_STATE_SIZE to 256/,
    );
    expect(e.subject).toBe('PLANNING.GRU_STATE_SIZE');
    expectSpikedriveError(
      () => new SadPlanning({ ...tinyOptions(), sampleNum: 7 }),
      /SAMPLE_NUM must be a positive multiple of 3/,
    );
  });

  it('keeps a wider SGRU state when PLANNING.REDUCER_DOWNSAMPLE skips the halvings (cpu-small: 2·8·16 = 256)', () => {
    expect(reducedStateSize(16, 8, 16)).toBe(4); // the reference's three halvings: 2·⌈8/8⌉·⌈16/8⌉
    expect(reducedStateSize(16, 8, 16, [false, false, false, false])).toBe(256);
    expect(reducedStateSize(16, 8, 16, [true, false, false, false])).toBe(2 * 4 * 8);
    const planner = new SadPlanning({
      ...tinyOptions(),
      gruStateSize: 1 * 16 * 16,
      reducerDownsample: [false, false, false, false],
    });
    const h0 = tf.tidy(() => planner.initialState(tf.randomUniform([1, 16, 16, 8], 0, 1, 'float32', 3)));
    expect(h0.shape).toEqual([1, 256]);
    h0.dispose();
    expectSpikedriveError(
      () => new SadPlanning({ ...tinyOptions(), reducerDownsample: [false, false, false, false] }),
      /GRU_STATE_SIZE is 4 .*REDUCER_DOWNSAMPLE \[false, false, false, false\]\) reduces to 1·16·16 = 256/,
      /Set PLANNING\.GRU_STATE_SIZE to 256/,
    );
    planner.dispose();
  });

  it('picks the cheapest candidate of each command’s third and refines it into [B, F, 3] with zero heading', () => {
    const planning = tinyPlanner();
    const B = 3;
    const scene = emptyScene(B, 2);
    const front = tf.randomNormal([B, 16, 16, 8], 0, 1, 'float32', 5);
    const commands: PlanningCommand[] = ['LEFT', 'FORWARD', 'RIGHT'];
    const input = {
      frontFeature: front,
      candidates: {
        data: Float32Array.from([...CANDIDATES, ...CANDIDATES, ...CANDIDATES]),
        shape: [B, 6, 2, 3] as [number, number, number, number],
      },
      commands,
      ...scene,
    };
    // A first pass builds the folded conv+BN weights the layers cache; everything else must be freed.
    const warm = planning.forward(input);
    tf.dispose([warm.trajectory, warm.selected]);
    const before = tf.memory().numTensors;
    const instrument = new Instrument();
    const out = planning.forward(input, { instrument });
    expect(out.selectedIndex).toEqual([1, 3, 4]);
    expect(out.thirdStart).toEqual([0, 2, 4]);
    expectNear(
      out.selected.dataSync(),
      [...CANDIDATES.slice(6, 12), ...CANDIDATES.slice(18, 24), ...CANDIDATES.slice(24, 30)],
      0,
    );
    expect(out.trajectory.shape).toEqual([B, 2, 3]);
    const traj = out.trajectory.dataSync();
    for (let i = 2; i < traj.length; i += 3) expect(traj[i]).toBe(0);
    // Costs of the kept third: progress −0.5 × max forward.
    expect(Array.from(out.costs[0].progress)).toEqual([-1, -2]);
    expect(out.loss).toBeUndefined();
    expect(instrument.finishSync().layers.some((l) => l.name.startsWith('planning.GRU'))).toBe(true);
    tf.dispose([out.trajectory, out.selected]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([front, scene.hdmap, scene.costVolume]);
    planning.dispose();
  });

  it('samples its own candidates from sampler inputs and a seeded rng, deterministically', () => {
    const planning = new SadPlanning({ ...tinyOptions(), sampleNum: 30 });
    const scene = emptyScene(1, 2);
    const front = tf.randomNormal([1, 16, 16, 8], 0, 1, 'float32', 6);
    const run = () => {
      const out = planning.forward({
        frontFeature: front,
        samplerInputs: [{ v0Mps: 4, steeringRad: 0.05 }],
        rng: createRng(12),
        commands: ['FORWARD'],
        ...scene,
      });
      const r = { index: out.selectedIndex[0], traj: Array.from(out.trajectory.dataSync()) };
      tf.dispose([out.trajectory, out.selected]);
      planning.reset();
      return r;
    };
    const a = run();
    expect(a.index).toBeGreaterThanOrEqual(10);
    expect(a.index).toBeLessThan(20);
    expect(run()).toEqual(a);
    tf.dispose([front, scene.hdmap, scene.costVolume]);
    planning.dispose();
  });

  it('computes the training loss: 0.5 · max-margin + smooth-L1 with axis weights [10, 1] (hand case)', () => {
    const planning = tinyPlanner().train();
    const scene = emptyScene(1, 2);
    const front = tf.randomNormal([1, 16, 16, 8], 0, 1, 'float32', 7);
    const gt = [-1, 1.5, 0, -2, 3, 0];
    const gtTrajectory = tf.tensor3d(gt, [1, 2, 3]);
    const before = tf.memory().numTensors;
    const out = planning.forward({
      frontFeature: front,
      candidates: { data: Float32Array.from(CANDIDATES), shape: [1, 6, 2, 3] },
      commands: ['LEFT'],
      gtTrajectory,
      ...scene,
    });
    const loss = out.loss as NonNullable<typeof out.loss>;
    // fo = 0 everywhere; fc = −0.5 × max forward (GT −1.5, A −1, B −2); mean_t ‖τ − τ_gt‖² = (0.25 + 1)/2 for both:
    // A: −1.5 + 1 + 0.625 = 0.125; B: −1.5 + 2 + 0.625 = 1.125 → max-margin 1.125.
    expect(loss.maxMargin.dataSync()[0]).toBeCloseTo(1.125, 5);
    const o = out.trajectory.dataSync();
    const smooth = (d: number) => (Math.abs(d) < 1 ? 0.5 * d * d : Math.abs(d) - 0.5);
    let imitation = 0;
    for (let t = 0; t < 2; t++) {
      imitation += 10 * smooth(o[t * 3] - gt[t * 3]) + smooth(o[t * 3 + 1] - gt[t * 3 + 1]);
    }
    imitation /= 4;
    expect(loss.imitation.dataSync()[0]).toBeCloseTo(imitation, 5);
    expect(loss.total.dataSync()[0]).toBeCloseTo(0.5 * 1.125 + imitation, 5);
    tf.dispose([out.trajectory, out.selected, loss.total, loss.maxMargin, loss.imitation]);
    expect(tf.memory().numTensors).toBe(before);
    // Without the GT the training forward refuses.
    expectSpikedriveError(
      () =>
        planning.forward({
          frontFeature: front,
          candidates: { data: Float32Array.from(CANDIDATES), shape: [1, 6, 2, 3] },
          commands: ['LEFT'],
          ...scene,
        }),
      /needs the GT trajectory/,
    );
    tf.dispose([front, gtTrajectory, scene.hdmap, scene.costVolume]);
    planning.dispose();
  });

  it('sends the max-margin gradient to the cost volume cells the candidates and the GT visit', () => {
    const planning = tinyPlanner().train();
    const scene = emptyScene(1, 2);
    const front = tf.randomNormal([1, 16, 16, 8], 0, 1, 'float32', 8);
    const gtTrajectory = tf.tensor3d([-1, 1.5, 0, -2, 3, 0], [1, 2, 3]);
    // 0.01 everywhere (cost 1 per step), 0.5 under the GT's first waypoint (cost 50): Σ_t ReLU(fo_gt − fo_i) = 49.
    const cv = new Float32Array(2 * G * G).fill(0.01);
    cv[10 * G + 9] = 0.5; // GT (−1, 1.5) at t = 0 → row trunc((1.5 + 3.75)/0.5) = 10, col trunc((1 + 3.75)/0.5) = 9
    const volume = tf.variable(tf.tensor4d(cv, [1, 2, G, G]));
    const { value, grads } = tf.variableGrads(() => {
      const out = planning.forward({
        frontFeature: front,
        candidates: { data: Float32Array.from(CANDIDATES), shape: [1, 6, 2, 3] },
        commands: ['LEFT'],
        gtTrajectory,
        ...scene,
        costVolume: volume,
      });
      tf.dispose([out.trajectory, out.selected]);
      return (out.loss as NonNullable<typeof out.loss>).maxMargin;
    }, [volume]);
    // Margins: A 49 − 0.5 + 0.625, B 49 + 0.5 + 0.625 = 50.125 (the max). d/dC of ReLU(100·C_gt − 100·C_B) at t = 0:
    // +100 at the GT's cell, −100 at B's (−1, 2) → row trunc((2 + 3.75)/0.5) = 11; t = 1 ties (ReLU(0): no gradient).
    expect(value.dataSync()[0]).toBeCloseTo(50.125, 3);
    const g = grads[volume.name].dataSync() as Float32Array;
    const at = (t: number, r: number, c: number) => g[(t * G + r) * G + c];
    expect(at(0, 10, 9)).toBeCloseTo(100, 3);
    expect(at(0, 11, 9)).toBeCloseTo(-100, 3);
    expect(g.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0)).toBe(2);
    tf.dispose([value, ...Object.values(grads), volume, front, gtTrajectory, scene.hdmap, scene.costVolume]);
    planning.dispose();
  });

  it('rejects malformed inputs with errors naming the input', () => {
    const planning = tinyPlanner();
    const scene = emptyScene(1, 2);
    const front = tf.zeros([1, 16, 16, 8]);
    const base = {
      frontFeature: front,
      candidates: {
        data: Float32Array.from(CANDIDATES),
        shape: [1, 6, 2, 3] as [number, number, number, number],
      },
      commands: ['LEFT'] as PlanningCommand[],
      ...scene,
    };
    expectSpikedriveError(
      () => planning.forward({ ...base, candidates: { data: new Float32Array(60), shape: [1, 10, 2, 3] } }),
      /candidates have shape \[1, 10, 2, 3\], expected \[1, 6, 2, 3\]/,
    );
    expectSpikedriveError(
      () => planning.forward({ ...base, commands: ['UP' as PlanningCommand] }),
      /Unknown driving command "UP"/,
    );
    const badFront = tf.zeros([1, 8, 8, 8]);
    expectSpikedriveError(
      () => planning.forward({ ...base, frontFeature: badFront }),
      /CAM_FRONT feature has shape/,
    );
    const badHd = tf.zeros([1, G, G, 3]);
    expectSpikedriveError(
      () => planning.forward({ ...base, hdmap: badHd }),
      /HD map has shape \[1, 16, 16, 3\]/,
    );
    const badCv = tf.zeros([1, 3, G, G]);
    expectSpikedriveError(() => planning.forward({ ...base, costVolume: badCv }), /costVolume has shape/);
    expectSpikedriveError(
      () => planning.forward({ ...base, candidates: undefined }),
      /needs candidates, or sampler inputs/,
    );
    tf.dispose([front, badFront, badHd, badCv, scene.hdmap, scene.costVolume]);
    planning.dispose();
  });
});

describe('commands and occupancy', () => {
  it('derives the command from the GT’s final lateral offset (±2 m) and maps it to a third', () => {
    expect([commandFromFinalOffset(2), commandFromFinalOffset(-2), commandFromFinalOffset(1.99)]).toEqual([
      'RIGHT',
      'LEFT',
      'FORWARD',
    ]);
    expect(commandThird('LEFT', 1800)).toEqual([0, 600]);
    expect(commandThird('FORWARD', 1800)).toEqual([600, 1200]);
    expect(commandThird('RIGHT', 1800)).toEqual([1200, 1800]);
  });

  it('builds predicted occupancy as argmax(vehicle) ∨ argmax(pedestrian), ties to background', () => {
    const veh = tf.tensor([0, 1, 1, 0, 0.5, 0.5], [1, 1, 1, 3, 2]);
    const ped = tf.tensor([2, 1, 0, 0, 0, 0], [1, 1, 1, 3, 2]);
    const occ = occupancyFromLogits(veh, ped);
    expect(Array.from(occ.dataSync())).toEqual([1, 0, 0]);
    const vehicleOnly = occupancyFromLogits(veh);
    expect(Array.from(vehicleOnly.dataSync())).toEqual([1, 0, 0]);
    tf.dispose([veh, ped, occ, vehicleOnly]);
  });
});
