// The Planner API: definition and result validation, input restriction, versioning, and the built-in planners.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BUILTIN_PLANNERS,
  builtinPlanner,
  constantVelocityPlanner,
  costOnlyPlanner,
  createPlanner,
  definePlanner,
  expertPlanner,
  hdmapProbabilities,
  PLANNER_API_VERSION,
  type PlannerDefinition,
  type PlannerInputs,
  SadPlanning,
  sadPlanner,
  validatePlannerDefinition,
  validatePlanResult,
} from '../../../src/planning/index.ts';
import { SpikedriveError } from '../../../src/util/errors.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectSpikedriveError, useCpu } from './_helpers.ts';

beforeAll(useCpu);

const straight = (F: number) => Array.from({ length: F }, (_, k) => [0, k + 1, 0] as const);

async function expectRejects(p: Promise<unknown>, message: RegExp): Promise<SpikedriveError> {
  let caught: unknown;
  try {
    await p;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(SpikedriveError);
  expect((caught as Error).message).toMatch(message);
  return caught as SpikedriveError;
}

describe('definePlanner', () => {
  it('returns a frozen, versioned definition', () => {
    const def = definePlanner({
      name: 'straight',
      inputs: ['egoState'],
      plan: (_o, _s, ctx) => straight(ctx.nFutureFrames),
    });
    expect(def.apiVersion).toBe(PLANNER_API_VERSION);
    expect(Object.isFrozen(def)).toBe(true);
    expect(def.inputs).toEqual(['egoState']);
  });

  it('rejects malformed specs, naming the problem', () => {
    const plan = () => straight(6);
    expectSpikedriveError(
      () => definePlanner({ name: 'Bad Name', inputs: [], plan }),
      /Planner "Bad Name" is malformed: name/,
    );
    expectSpikedriveError(
      () => definePlanner({ name: 'x', inputs: ['lidar' as 'egoState'], plan }),
      /inputs\.0/,
      /inputs from occupancy, hdmap/,
    );
    expectSpikedriveError(
      () => definePlanner({ name: 'x', inputs: ['command', 'command'], plan }),
      /each input at most once/,
    );
    expectSpikedriveError(
      () => definePlanner({ name: 'x', inputs: [], plan: 3 as unknown as typeof plan }),
      /plan/,
    );
  });

  it('refuses definitions built for another API version (plugin loaders)', () => {
    const def = definePlanner({ name: 'x', inputs: [], plan: () => straight(6) });
    expectSpikedriveError(
      () => validatePlannerDefinition({ ...def, apiVersion: 2 }, 'plugin ./p.js'),
      /plugin \.\/p\.js was built for planner API version 2/,
      /Rebuild the plugin/,
    );
    expectSpikedriveError(
      () => validatePlannerDefinition({ default: 1 }, 'plugin ./q.js'),
      /does not export a planner/,
    );
    expect(validatePlannerDefinition(def, 'ok')).toBe(def);
  });
});

describe('validatePlanResult', () => {
  it('accepts F waypoints or { trajectory, meta }', () => {
    expect(validatePlanResult(straight(2), 'p', 2).trajectory).toEqual([
      [0, 1, 0],
      [0, 2, 0],
    ]);
    const r = validatePlanResult({ trajectory: straight(2), meta: { selectedIndex: 4 } }, 'p', 2);
    expect(r.meta).toEqual({ selectedIndex: 4 });
  });

  it('rejects malformed output with a clear error', () => {
    expectSpikedriveError(
      () => validatePlanResult(straight(5), 'p', 6),
      /returned 5 waypoints, expected 6/,
      /one waypoint per future frame/,
    );
    expectSpikedriveError(
      () => validatePlanResult([[0, 1]], 'p', 1),
      /malformed trajectory: waypoint 0: Too small/,
    );
    expectSpikedriveError(
      () => validatePlanResult([[0, Number.NaN, 0]], 'p', 1),
      /waypoint 0 element 1: .*NaN/,
    );
    expectSpikedriveError(
      () => validatePlanResult([[0, Number.POSITIVE_INFINITY, 0]], 'p', 1),
      /waypoint 0 element 1/,
    );
    expectSpikedriveError(
      () => validatePlanResult({ trajectory: [[0, 0]] }, 'p', 1),
      /waypoint 0: Too small/,
    );
    expectSpikedriveError(
      () => validatePlanResult('left', 'p', 1),
      /Planner "p" returned a malformed trajectory/,
    );
  });
});

describe('createPlanner', () => {
  it('hands the planner only its declared inputs and validates what it returns', async () => {
    let seen: string[] = [];
    const def = definePlanner({
      name: 'peek',
      inputs: ['egoState', 'command'],
      plan: (obs, _s, ctx) => {
        seen = Object.keys(obs).sort();
        return straight(ctx.nFutureFrames);
      },
    });
    const planner = await createPlanner(def, { nFutureFrames: 3 });
    const plan = await planner.plan({
      sampleToken: 'tok',
      egoState: { v0Mps: 1, history: [] },
      command: 'LEFT',
      gtTrajectory: straight(3),
    });
    expect(seen).toEqual(['command', 'egoState', 'grid', 'sampleToken']);
    expect(plan.trajectory.length).toBe(3);
    await planner.dispose();
    await expectRejects(planner.plan({ sampleToken: 'tok' }), /used after dispose/);
  });

  it('errors when the run lacks a declared input, or the planner returns garbage', async () => {
    const expert = await createPlanner(expertPlanner());
    const e = await expectRejects(expert.plan({ sampleToken: 't' }), /needs input "gtTrajectory"/);
    expect(e.fix).toMatch(/labelled data/);
    const broken = await createPlanner(
      definePlanner({ name: 'broken', inputs: [], plan: () => [[1, 2, 3]] }),
    );
    await expectRejects(broken.plan({ sampleToken: 't' }), /"broken" returned 1 waypoints, expected 6/);
    const cmd = await createPlanner(
      definePlanner({ name: 'cmd', inputs: ['command'], plan: () => straight(6) }),
    );
    await expectRejects(
      cmd.plan({ sampleToken: 't', command: 'UP' as 'LEFT' }),
      /Unknown driving command "UP"/,
    );
  });

  it('runs init once and dispose at the end', async () => {
    const calls: string[] = [];
    const def = definePlanner({
      name: 'stateful',
      inputs: [],
      init: () => {
        calls.push('init');
        return { n: 0 };
      },
      plan: (_o, state) => {
        state.n++;
        return straight(6);
      },
      dispose: (state) => {
        calls.push(`dispose after ${state.n}`);
      },
    });
    const p = await createPlanner(def);
    await p.plan({ sampleToken: 'a' });
    await p.plan({ sampleToken: 'b' });
    await p.dispose();
    await p.dispose();
    expect(calls).toEqual(['init', 'dispose after 2']);
  });
});

describe('built-in planners', () => {
  it('are listed and found by name; unknown names and a missing SAD module are errors', () => {
    expect([...BUILTIN_PLANNERS]).toEqual(['sad', 'cost-only', 'constant-velocity', 'expert']);
    expect(builtinPlanner('expert').name).toBe('expert');
    expectSpikedriveError(
      () => builtinPlanner('magic'),
      /Unknown planner "magic"/,
      /sad, cost-only, constant-velocity, expert/,
    );
    expectSpikedriveError(() => builtinPlanner('sad'), /needs the model’s planning module/);
  });

  it('expert returns the GT trajectory', async () => {
    const p = await createPlanner(expertPlanner());
    const gt = straight(6).map(([x, y]) => [x + 0.5, y * 2, 0.1] as const);
    expect((await p.plan({ sampleToken: 't', gtTrajectory: gt })).trajectory).toEqual(gt);
  });

  it('constant-velocity keeps the CAN speed (or the last history step) along +y', async () => {
    const p = await createPlanner(constantVelocityPlanner());
    const fromCan = await p.plan({ sampleToken: 't', egoState: { v0Mps: 5, history: [] } });
    expect(fromCan.trajectory).toEqual([
      [0, 2.5, 0],
      [0, 5, 0],
      [0, 7.5, 0],
      [0, 10, 0],
      [0, 12.5, 0],
      [0, 15, 0],
    ]);
    const fromHistory = await p.plan({
      sampleToken: 't',
      egoState: {
        history: [
          [0, -3, 0],
          [0, 0, 0],
        ],
      },
    });
    expect(fromHistory.trajectory[0]).toEqual([0, 3, 0]); // 3 m per 0.5 s
    await expectRejects(
      p.plan({ sampleToken: 't', egoState: { history: [] } }),
      /needs the CAN speed or at least two past poses/,
    );
  });

  // A ±4 m grid, 2 future steps, 6 candidates in thirds (the same scene as the model tests).
  const G = 16;
  const ctx = {
    xBound: [-4, 4, 0.5] as const,
    yBound: [-4, 4, 0.5] as const,
    nFutureFrames: 2,
    sampleNum: 6,
  };
  const candidates = Float32Array.from(
    [
      [-1, 1, 0.1, -2, 2, 0.2],
      [-1, 2, 0.1, -2, 4, 0.2],
      [0, 1, 0, 0, 2, 0],
      [0, 3, 0, 0, 6, 0],
      [1, 2, -0.1, 2, 4, -0.2],
      [1, 1, -0.1, 2, 2, -0.2],
    ].flat(),
  );
  const hd = new Float32Array(G * G * 2);
  for (let i = 0; i < G * G; i++) hd[i * 2 + 1] = 1;
  const observation = (command: 'LEFT' | 'FORWARD' | 'RIGHT') => ({
    sampleToken: 't',
    occupancy: { data: new Float32Array(2 * G * G), shape: [2, G, G] as [number, number, number] },
    hdmap: { data: hd, shape: [G, G, 2] as [number, number, number], channels: 'masks' as const },
    costVolume: { data: new Float32Array(2 * G * G), shape: [2, G, G] as [number, number, number] },
    command,
    candidates: { data: candidates, shape: [6, 2, 3] as [number, number, number] },
  });

  it('cost-only returns the cheapest candidate of the command’s third, headings included', async () => {
    const p = await createPlanner(costOnlyPlanner(), ctx);
    const left = await p.plan(observation('LEFT'));
    expect(left.meta.selectedIndex).toBe(1);
    expect(left.trajectory.map((w) => w.map((v) => Math.round(v * 10) / 10))).toEqual([
      [-1, 2, 0.1],
      [-2, 4, 0.2],
    ]);
    expect(left.meta.selectedCost).toBeCloseTo(-2, 5);
    expect((await p.plan(observation('FORWARD'))).meta.selectedIndex).toBe(3);
    expect((await p.plan(observation('RIGHT'))).meta.selectedIndex).toBe(4);
    await p.dispose();
  });

  it('sad runs the spiking planner and agrees with cost-only on the selection', async () => {
    const module = new SadPlanning({
      featureChannels: 8,
      featureHeight: 16,
      featureWidth: 16,
      gruStateSize: 4,
      sampleNum: 6,
      nFutureFrames: 2,
      xBound: [-4, 4, 0.5],
      yBound: [-4, 4, 0.5],
      rng: createRng('sad-planner'),
    });
    const before = tf.memory().numTensors;
    const p = await createPlanner(sadPlanner(module), ctx);
    const front = {
      data: new Float32Array(16 * 16 * 8).fill(0.3),
      shape: [16, 16, 8] as [number, number, number],
    };
    const plan = await p.plan({ ...observation('RIGHT'), frontFeature: front });
    expect(plan.meta.selectedIndex).toBe(4);
    // It plans in eval mode and leaves a training module training.
    module.train();
    const again = await p.plan({ ...observation('RIGHT'), frontFeature: front });
    expect(module.training).toBe(true);
    expect(again.trajectory).toEqual(plan.trajectory);
    module.eval();
    expect(plan.trajectory.length).toBe(2);
    expect(plan.trajectory.every((w) => w[2] === 0)).toBe(true);
    await p.dispose();
    module.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  it('hdmapProbabilities gives foreground probabilities for masks and logits', () => {
    const masks: PlannerInputs['hdmap'] = {
      data: Float32Array.of(1, 0),
      shape: [1, 1, 2],
      channels: 'masks',
    };
    expect(hdmapProbabilities(masks)).toEqual({ lane: Float32Array.of(1), drivable: Float32Array.of(0) });
    const logits: PlannerInputs['hdmap'] = {
      data: Float32Array.of(0, Math.log(3), Math.log(4), 0),
      shape: [1, 1, 4],
      channels: 'logits',
    };
    const p = hdmapProbabilities(logits);
    expect(p.lane[0]).toBeCloseTo(0.75, 6);
    expect(p.drivable[0]).toBeCloseTo(0.2, 6);
  });

  it('every built-in is a valid definition for this API version', () => {
    const module = new SadPlanning({
      featureChannels: 8,
      featureHeight: 8,
      featureWidth: 8,
      gruStateSize: 1,
      sampleNum: 6,
      nFutureFrames: 2,
      xBound: [-4, 4, 0.5],
      yBound: [-4, 4, 0.5],
    });
    for (const name of BUILTIN_PLANNERS) {
      const def = builtinPlanner(name, { sad: module }) as PlannerDefinition;
      expect(validatePlannerDefinition(def, name).apiVersion).toBe(PLANNER_API_VERSION);
    }
    module.dispose();
  });
});
