import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../util/errors.ts';
import { CostFunction, type CostWeights } from './cost.ts';
import { commandThird, type SadPlanning } from './model.ts';
import { definePlanner, type PlannerDefinition, type PlannerInputName, type Waypoint } from './planner.ts';

/**
 * `sad`: the spiking planner itself (`SadPlanning` in eval mode): the command's third of the candidates, the
 * reference cost function on the predicted occupancy, HD map and cost volume, argmin, SGRU refinement from the
 * CAM_FRONT feature. Meta: `selectedIndex`, `selectedCost`.
 */
export function sadPlanner(module: SadPlanning) {
  return definePlanner({
    name: 'sad',
    description: 'SAD spiking planner: sampled candidates, reference cost function, spiking GRU refinement',
    inputs: ['occupancy', 'hdmap', 'costVolume', 'command', 'frontFeature', 'candidates'],
    plan: (obs) => {
      // Plan in eval mode (running BN statistics) and leave a module that was training as it was.
      const wasTraining = module.training;
      if (wasTraining) module.eval();
      const F = module.options.nFutureFrames;
      const [X, Y] = [module.costFunction.grid.rows, module.costFunction.grid.cols];
      const [h, w, C] = obs.frontFeature.shape;
      const [N] = obs.candidates.shape;
      const inputs = tf.tidy(() => ({
        frontFeature: tf.tensor4d(obs.frontFeature.data, [1, h, w, C]),
        costVolume: tf.tensor4d(obs.costVolume.data, [1, ...obs.costVolume.shape]),
        hdmap: tf.tensor4d(obs.hdmap.data, [1, ...obs.hdmap.shape]),
      }));
      try {
        if (obs.occupancy.shape[0] !== F || obs.occupancy.shape[1] !== X || obs.occupancy.shape[2] !== Y) {
          throw new SpikedriveError(
            `The sad planner got occupancy [${obs.occupancy.shape.join(', ')}], expected [${F}, ${X}, ${Y}]`,
            { subject: 'occupancy', fix: 'Pass the future frames on the planner’s LIFT grid.' },
          );
        }
        const out = module.forward({
          ...inputs,
          candidates: { data: obs.candidates.data, shape: [1, N, obs.candidates.shape[1], 3] },
          commands: [obs.command],
          occupancy: [obs.occupancy.data],
        });
        const data = out.trajectory.dataSync();
        tf.dispose([out.trajectory, out.selected]);
        const k = out.selectedIndex[0] - out.thirdStart[0];
        const trajectory: Waypoint[] = [];
        for (let t = 0; t < F; t++) trajectory.push([data[t * 3], data[t * 3 + 1], data[t * 3 + 2]]);
        return {
          trajectory,
          meta: {
            selectedIndex: out.selectedIndex[0],
            selectedCost: (out.costs[0].total as Float32Array)[k],
          },
        };
      } finally {
        tf.dispose([inputs.frontFeature, inputs.costVolume, inputs.hdmap]);
        module.reset();
        if (wasTraining) module.train();
      }
    },
  });
}

/**
 * `cost-only`: the reference cost function without the SGRU: the cheapest candidate of the command's third, as
 * sampled (headings included). Meta: `selectedIndex`, `selectedCost`.
 */
export function costOnlyPlanner(options: { weights?: CostWeights } = {}) {
  return definePlanner({
    name: 'cost-only',
    description: 'The SAD/ST-P3 cost function over sampled candidates, without the spiking GRU refinement',
    inputs: ['occupancy', 'hdmap', 'costVolume', 'command', 'candidates'],
    init: (ctx) =>
      new CostFunction({ xBound: ctx.xBound, yBound: ctx.yBound, ego: ctx.ego, weights: options.weights }),
    plan: (obs, cost) => {
      const [N, F] = obs.candidates.shape;
      const [start, end] = commandThird(obs.command, N);
      const third = obs.candidates.data.subarray(start * F * 3, end * F * 3);
      const r = cost.score(third, end - start, F, {
        occupancy: obs.occupancy.data,
        hdmap: { data: obs.hdmap.data, channels: obs.hdmap.channels },
        costVolume: obs.costVolume.data,
      });
      const total = r.total as Float32Array;
      let k = 0;
      for (let i = 1; i < total.length; i++) if (total[i] < total[k]) k = i;
      const trajectory: Waypoint[] = [];
      for (let t = 0; t < F; t++) {
        const o = ((start + k) * F + t) * 3;
        trajectory.push([obs.candidates.data[o], obs.candidates.data[o + 1], obs.candidates.data[o + 2]]);
      }
      return { trajectory, meta: { selectedIndex: start + k, selectedCost: total[k] } };
    },
    dispose: (cost) => cost.dispose(),
  });
}

/**
 * `constant-velocity`: keeps the present speed and heading. Speed is the CAN `v0` when present, else the last
 * history displacement ÷ 0.5 s; the heading is the present one (θ = 0, straight along +y in the LIDAR frame).
 */
export function constantVelocityPlanner() {
  return definePlanner({
    name: 'constant-velocity',
    description: 'Constant speed along the present heading (CAN speed, or the last history displacement)',
    inputs: ['egoState'],
    plan: (obs, _state, ctx) => {
      const { v0Mps, history } = obs.egoState;
      let speed = v0Mps;
      if (speed === undefined || !Number.isFinite(speed)) {
        if (history.length < 2) {
          throw new SpikedriveError('constant-velocity needs the CAN speed or at least two past poses', {
            subject: 'egoState',
            fix: 'Load a dataset with the CAN bus expansion, or give the ego history (past poses) in the observation.',
          });
        }
        const a = history[history.length - 2];
        const b = history[history.length - 1];
        speed = Math.hypot(b[0] - a[0], b[1] - a[1]) / ctx.frameIntervalS;
      }
      return Array.from(
        { length: ctx.nFutureFrames },
        (_, k) => [0, speed * ctx.frameIntervalS * (k + 1), 0] as const,
      );
    },
  });
}

/** `expert`: the GT trajectory itself, the upper bound of every metric (privileged; evaluation only). */
export function expertPlanner() {
  return definePlanner({
    name: 'expert',
    description: 'The ground-truth future trajectory (an upper bound)',
    inputs: ['gtTrajectory'],
    plan: (obs) => obs.gtTrajectory,
  });
}

export const BUILTIN_PLANNERS = ['sad', 'cost-only', 'constant-velocity', 'expert'] as const;
export type BuiltinPlannerName = (typeof BUILTIN_PLANNERS)[number];

/** A built-in planner by name; `sad` needs the (trained) `SadPlanning` module. */
export function builtinPlanner(
  name: string,
  deps: { sad?: SadPlanning; costWeights?: CostWeights } = {},
): PlannerDefinition<PlannerInputName, unknown> {
  switch (name) {
    case 'sad':
      if (deps.sad === undefined) {
        throw new SpikedriveError('The sad planner needs the model’s planning module', {
          subject: 'planner sad',
          fix: 'Load a checkpoint trained with PLANNING.ENABLED (the Planning stage), or choose another planner.',
        });
      }
      return sadPlanner(deps.sad) as PlannerDefinition<PlannerInputName, unknown>;
    case 'cost-only':
      return costOnlyPlanner({ weights: deps.costWeights }) as PlannerDefinition<PlannerInputName, unknown>;
    case 'constant-velocity':
      return constantVelocityPlanner() as PlannerDefinition<PlannerInputName, unknown>;
    case 'expert':
      return expertPlanner() as PlannerDefinition<PlannerInputName, unknown>;
    default:
      throw new SpikedriveError(`Unknown planner "${name}"`, {
        subject: '--planner',
        fix: `Use one of ${BUILTIN_PLANNERS.join(', ')}, or a plugin module path.`,
      });
  }
}
