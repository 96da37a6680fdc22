import * as tf from '@tensorflow/tfjs';
import {
  ATAN_SURROGATE,
  detach,
  type ForwardContext,
  Linear,
  layerRng,
  SnnModule,
  SpikingBottleneck,
  SpikingGruCell,
} from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import { PLANNING_COMMANDS, type PlanningCommand } from './commands.ts';
import {
  type CostBreakdown,
  CostFunction,
  type CostMaps,
  type CostWeights,
  gatherFlat,
  SAD_COST_WEIGHTS,
} from './cost.ts';
import type { BoundM, EgoSize } from './geometry.ts';
import type { UniformSource } from './numpy.ts';
import { type SamplerInputs, sampleTrajectories } from './sampler.ts';

export { PLANNING_COMMANDS, type PlanningCommand };

/** Lateral offset of the GT's last waypoint (m, x right) beyond which the command turns (`get_gt_trajectory`). */
export const COMMAND_THRESHOLD_M = 2;

/** The command the reference loader derives from the GT trajectory's final lateral offset x (m, right positive). */
export function commandFromFinalOffset(finalXM: number): PlanningCommand {
  if (finalXM >= COMMAND_THRESHOLD_M) return 'RIGHT';
  if (finalXM <= -COMMAND_THRESHOLD_M) return 'LEFT';
  return 'FORWARD';
}

/** [start, end) of a command's third of `sampleNum` sorted candidates (`planning_model.py:104-116`). */
export function commandThird(command: PlanningCommand, sampleNum: number): [number, number] {
  const third = Math.trunc(sampleNum / 3);
  const k = PLANNING_COMMANDS.indexOf(command);
  if (k < 0) {
    throw new SpikedriveError(`Unknown driving command "${String(command)}"`, {
      subject: 'command',
      fix: `Use one of ${PLANNING_COMMANDS.join(', ')} (the loader derives it from the GT trajectory).`,
    });
  }
  return k === 2 ? [2 * third, sampleNum] : [k * third, (k + 1) * third];
}

/** Sizes of the SAD planner, filled by the pipeline from `SadConfig` (keys named in each field). */
export interface PlanningOptions {
  /** `MODEL.ENCODER.OUT_CHANNELS` (64): channels of the CAM_FRONT feature. */
  featureChannels: number;
  /** Encoder feature map size (`IMAGE.FINAL_DIM` / `MODEL.ENCODER.DOWNSAMPLE`: 28 × 60). */
  featureHeight: number;
  featureWidth: number;
  /** `PLANNING.GRU_STATE_SIZE` (256); must equal (C/8)·⌈h/8⌉·⌈w/8⌉ (with the reference's three downsamples). */
  gruStateSize: number;
  /**
   * spikedrive `PLANNING.REDUCER_DOWNSAMPLE`: which of the four reducer blocks halve the feature map. The reference
   * is [true, true, true, false]; a small feature map (cpu-small's 8×16) keeps more state with fewer.
   */
  reducerDownsample?: readonly [boolean, boolean, boolean, boolean];
  /** `PLANNING.SAMPLE_NUM` (1800 in Planning.yml). */
  sampleNum: number;
  /** `N_FUTURE_FRAMES` (6). */
  nFutureFrames: number;
  /** `LIFT.X_BOUND`, `LIFT.Y_BOUND`. */
  xBound: BoundM;
  yBound: BoundM;
  /** `EGO.HEIGHT` (length) and `EGO.WIDTH`. */
  ego?: EgoSize;
  /** `COST_FUNCTION`. */
  costWeights?: CostWeights;
  /** `MODEL.BN_MOMENTUM`. */
  bnMomentum?: number;
  rng?: Rng;
}

/** GRU input: [previous output (2), selected waypoint (2), target point (2)]. */
export const PLANNING_GRU_INPUT_SIZE = 6;

/** The reference reducer: the first three blocks halve the feature map, the last does not. */
export const SAD_REDUCER_DOWNSAMPLE: readonly [boolean, boolean, boolean, boolean] = [
  true,
  true,
  true,
  false,
];

/**
 * The hidden size the reducer produces for a feature map: ⌊C/8⌋ channels × h × w after each downsampling block
 * halves (rounding up, as the padded stride-2 conv does): ⌊C/8⌋·⌈h/8⌉·⌈w/8⌉ for the reference.
 */
export function reducedStateSize(
  channels: number,
  height: number,
  width: number,
  downsample: readonly boolean[] = SAD_REDUCER_DOWNSAMPLE,
): number {
  const down = (n: number) => downsample.reduce((size, halve) => (halve ? Math.ceil(size / 2) : size), n);
  return Math.trunc(channels / 8) * down(height) * down(width);
}

export interface PlanningInput {
  /** [B, h, w, C] present CAM_FRONT encoder feature (detached here, as the reference). */
  frontFeature: tf.Tensor;
  /**
   * Candidates [B, N, F, 3] without the origin (sampler waypoints 1..F), N = `sampleNum`, x right / y forward /
   * θ. When absent, `samplerInputs` and `rng` draw them with `sampleTrajectories`.
   */
  candidates?: { data: Float32Array; shape: [number, number, number, number] };
  samplerInputs?: readonly SamplerInputs[];
  rng?: UniformSource;
  commands: readonly PlanningCommand[];
  /** [B, F, X, Y] (or [B, F, X, Y, 1]) `costvolume` head over the future frames. */
  costVolume: tf.Tensor;
  /** [B, F, X, Y] occupancy: GT vehicle ∨ pedestrian (training) or predicted argmax (evaluation). */
  occupancy: tf.Tensor | readonly Float32Array[];
  /** [B, X, Y, 2] GT masks [lane, drivable] or [B, X, Y, 4] decoder logits (present frame). */
  hdmap: tf.Tensor;
  /** [B, 2] progress targets; the reference loader always gives (0, 0) (the default). */
  targetPoints?: readonly (readonly [number, number])[];
  /** [B, F, 3] GT trajectory without the origin; required in training (the loss). */
  gtTrajectory?: tf.Tensor;
}

export interface PlanningLoss {
  /** 0.5 · maxMargin + imitation. */
  total: tf.Scalar;
  /** mean_B max_N ReLU(Σ_t ReLU(fo_gt − fo_i) + (fc_gt − fc_i) + mean_t ‖τ_i − τ_gt‖²). */
  maxMargin: tf.Scalar;
  /** mean of smooth-L1(output − GT) with axis weights [10 (x), 1 (y)]. */
  imitation: tf.Scalar;
}

export interface PlanningOutput {
  /** [B, F, 3] the SGRU-refined trajectory (θ = 0), LIDAR frame. */
  trajectory: tf.Tensor3D;
  /** [B, F, 3] the lowest-cost candidate of the command's third. */
  selected: tf.Tensor3D;
  /** Index of the selected candidate among all N. */
  selectedIndex: number[];
  /** Per batch item: the cost terms of the command's third (N/3 candidates, indices offset by `thirdStart`). */
  costs: CostBreakdown[];
  thirdStart: number[];
  /** Training only. */
  loss?: PlanningLoss;
}

/**
 * SAD's planner (`sad/models/planning_model.py` `Planning`): keep the command's third of the sorted candidates,
 * score them with the cost function, select the cheapest, and refine it with a spiking GRU whose state starts from
 * the present CAM_FRONT feature (4 `SpikingBottleneck`s → (C/8)·⌈h/8⌉·⌈w/8⌉ = 256). Names `planning.*`.
 *
 * The reference `repeat(3)`s the kept third back to N candidates; that changes no output (argmin and the
 * max-margin max pick the same trajectory, the gradient reaches one copy in both), so it is scored once here.
 * In training (`train()`), `forward` also returns the loss: 0.5·max-margin + smooth-L1 with axis weights [10, 1].
 */
export class SadPlanning extends SnnModule {
  readonly kind = 'sad_planning';
  readonly options: Required<Omit<PlanningOptions, 'rng' | 'bnMomentum'>> & { bnMomentum?: number };
  readonly costFunction: CostFunction;
  private readonly reduce: SpikingBottleneck[];
  readonly gru: SpikingGruCell;
  private readonly decoder: [Linear, Linear];

  constructor(options: PlanningOptions) {
    super();
    const C = options.featureChannels;
    const reducerDownsample = options.reducerDownsample ?? SAD_REDUCER_DOWNSAMPLE;
    const stateSize = reducedStateSize(C, options.featureHeight, options.featureWidth, reducerDownsample);
    const halvings = reducerDownsample.filter(Boolean).length;
    const cells = (n: number) => (halvings === 0 ? `${n}` : `⌈${n}/${2 ** halvings}⌉`);
    if (!Number.isInteger(C) || C < 8) {
      throw new SpikedriveError(`The planner needs at least 8 feature channels, got ${C}`, {
        subject: 'MODEL.ENCODER.OUT_CHANNELS',
        fix: 'Its reducer ends at C/8 channels; SAD uses 64.',
      });
    }
    if (stateSize !== options.gruStateSize) {
      throw new SpikedriveError(
        `PLANNING.GRU_STATE_SIZE is ${options.gruStateSize} but the CAM_FRONT feature (MODEL.ENCODER.OUT_CHANNELS ${C}, ${options.featureHeight}×${options.featureWidth} from IMAGE.FINAL_DIM / MODEL.ENCODER.DOWNSAMPLE, PLANNING.REDUCER_DOWNSAMPLE [${reducerDownsample.join(', ')}]) reduces to ${Math.trunc(C / 8)}·${cells(options.featureHeight)}·${cells(options.featureWidth)} = ${stateSize}`,
        {
          subject: 'PLANNING.GRU_STATE_SIZE',
          fix: `Set PLANNING.GRU_STATE_SIZE to ${stateSize}, or change MODEL.ENCODER.OUT_CHANNELS / IMAGE.FINAL_DIM / PLANNING.REDUCER_DOWNSAMPLE so the reduced feature has ${options.gruStateSize} values.`,
        },
      );
    }
    if (!Number.isInteger(options.sampleNum) || options.sampleNum % 3 !== 0 || options.sampleNum < 3) {
      throw new SpikedriveError(
        `PLANNING.SAMPLE_NUM must be a positive multiple of 3, got ${options.sampleNum}`,
        {
          subject: 'PLANNING.SAMPLE_NUM',
          fix: 'SAD uses 1800 (one third per command).',
        },
      );
    }
    if (!Number.isInteger(options.nFutureFrames) || options.nFutureFrames < 1) {
      throw new SpikedriveError(
        `Planning needs future frames, got N_FUTURE_FRAMES ${options.nFutureFrames}`,
        {
          subject: 'N_FUTURE_FRAMES',
          fix: 'Set N_FUTURE_FRAMES to 6 (3 s) with PLANNING.ENABLED.',
        },
      );
    }
    this.options = {
      featureChannels: C,
      featureHeight: options.featureHeight,
      featureWidth: options.featureWidth,
      gruStateSize: options.gruStateSize,
      reducerDownsample,
      sampleNum: options.sampleNum,
      nFutureFrames: options.nFutureFrames,
      xBound: options.xBound,
      yBound: options.yBound,
      ego: options.ego ?? { lengthM: 4.084, widthM: 1.85 },
      costWeights: options.costWeights ?? { ...SAD_COST_WEIGHTS },
      bnMomentum: options.bnMomentum,
    };
    const rng = layerRng(options.rng, 'planning');
    this.costFunction = this.register(
      'cost_function',
      new CostFunction({
        xBound: options.xBound,
        yBound: options.yBound,
        ego: this.options.ego,
        weights: this.options.costWeights,
      }),
    );
    const half = Math.trunc(C / 2);
    const channels: [number, number, boolean][] = [
      [C, C, reducerDownsample[0]],
      [C, half, reducerDownsample[1]],
      [half, half, reducerDownsample[2]],
      [half, Math.trunc(C / 8), reducerDownsample[3]],
    ];
    this.reduce = channels.map(([inC, outC, downsample], i) =>
      this.register(
        `reduce_channel.${i}`,
        new SpikingBottleneck({
          inChannels: inC,
          outChannels: outC,
          downsample,
          surrogate: ATAN_SURROGATE,
          bnMomentum: options.bnMomentum,
          rng: rng.fork(`reduce_channel.${i}`),
        }),
      ),
    );
    this.gru = this.register(
      'GRU',
      new SpikingGruCell({
        inputSize: PLANNING_GRU_INPUT_SIZE,
        hiddenSize: options.gruStateSize,
        surrogate1: ATAN_SURROGATE,
        surrogate2: ATAN_SURROGATE,
        rng: rng.fork('GRU'),
      }),
    );
    this.decoder = [
      this.register(
        'decoder.0',
        new Linear({
          inFeatures: options.gruStateSize,
          outFeatures: options.gruStateSize,
          rng: rng.fork('decoder.0'),
        }),
      ),
      this.register(
        'decoder.1',
        new Linear({ inFeatures: options.gruStateSize, outFeatures: 2, rng: rng.fork('decoder.1') }),
      ),
    ];
    this.setPath('planning');
    this.setPipelineModule('planning');
  }

  /** h0 [B, gruStateSize]: the reducer over the (detached) feature, flattened in PyTorch's (C, h, w) order. */
  initialState(frontFeature: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor2D {
    const { featureChannels: C, featureHeight: h, featureWidth: w } = this.options;
    const s = frontFeature.shape;
    if (s.length !== 4 || s[1] !== h || s[2] !== w || s[3] !== C) {
      throw new SpikedriveError(
        `The planner's CAM_FRONT feature has shape [${s.join(', ')}], expected [B, ${h}, ${w}, ${C}]`,
        {
          subject: 'frontFeature',
          fix: 'Pass the present CAM_FRONT encoder feature (NHWC) of the configuration the planner was built for.',
        },
      );
    }
    let x = detach(frontFeature);
    for (const block of this.reduce) {
      const y = block.forward(x, ctx);
      x.dispose();
      x = y;
    }
    const out = tf.tidy(() => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [s[0], -1]) as tf.Tensor2D);
    x.dispose();
    return out;
  }

  /**
   * The SGRU refinement: for each future step, x = [previous output (0 at first), selected waypoint (x, y),
   * target], h = GRU(x, h), output = Linear(Linear(h)) (no activation); heading 0. Returns [B, F, 3].
   */
  refine(h0: tf.Tensor2D, selected: tf.Tensor, targets: tf.Tensor2D, ctx: ForwardContext = {}): tf.Tensor3D {
    const [B, F] = selected.shape;
    const outputs: tf.Tensor[] = [];
    let h: tf.Tensor = h0;
    let x: tf.Tensor = tf.zeros([B, 2]);
    for (let t = 0; t < F; t++) {
      const input = tf.tidy(() =>
        tf.concat([x, tf.reshape(tf.slice(selected, [0, t, 0], [B, 1, 2]), [B, 2]), targets], 1),
      );
      if (t === 0) x.dispose(); // the initial zeros; later x are kept in `outputs`
      const hNext = this.gru.forward(input, h, ctx);
      input.dispose();
      if (h !== h0) h.dispose();
      h = hNext;
      const hidden = this.decoder[0].forward(h, ctx);
      x = this.decoder[1].forward(hidden, ctx);
      hidden.dispose();
      outputs.push(x);
    }
    if (h !== h0) h.dispose();
    const out = tf.tidy(() => {
      const xy = tf.stack(outputs, 1);
      return tf.concat([xy, tf.zeros([B, F, 1])], 2) as tf.Tensor3D;
    });
    tf.dispose(outputs);
    return out;
  }

  forward(input: PlanningInput, ctx: ForwardContext = {}): PlanningOutput {
    const { sampleNum, nFutureFrames: F } = this.options;
    const { rows: X, cols: Y } = this.costFunction.grid;
    const B = input.commands.length;
    const candidates = this.resolveCandidates(input, B);
    const N = candidates.shape[1];
    const third = sampleNum / 3;
    const targets = input.targetPoints ?? Array.from({ length: B }, () => [0, 0] as const);
    if (targets.length !== B) {
      throw new SpikedriveError(`${targets.length} target points for ${B} commands`, {
        subject: 'targetPoints',
        fix: 'Give one target point per batch item (the reference uses (0, 0)).',
      });
    }
    const maps = this.hostMaps(input, B, F, X, Y);
    // Command thirds, copied out as [B, N/3, F, 3].
    const starts: number[] = [];
    const kept = new Float32Array(B * third * F * 3);
    for (let b = 0; b < B; b++) {
      const [start, end] = commandThird(input.commands[b], N);
      if (end - start !== third) {
        throw new SpikedriveError(`The command third has ${end - start} candidates, expected ${third}`, {
          subject: 'candidates',
          fix: `Pass PLANNING.SAMPLE_NUM = ${sampleNum} candidates per batch item.`,
        });
      }
      starts.push(start);
      kept.set(candidates.data.subarray((b * N + start) * F * 3, (b * N + end) * F * 3), b * third * F * 3);
    }

    let costs: CostBreakdown[];
    let maxMargin: tf.Scalar | null = null;
    const totals: Float32Array[] = [];
    if (this.training) {
      if (input.gtTrajectory === undefined) {
        throw new SpikedriveError('Planning in training mode needs the GT trajectory for its loss', {
          subject: 'gtTrajectory',
          fix: 'Pass gtTrajectory [B, F, 3] (without the origin), or call eval() for inference.',
        });
      }
      const scored = this.trainingLoss(kept, [B, third, F], maps, input, targets);
      costs = scored.costs;
      maxMargin = scored.maxMargin;
      totals.push(...scored.totals);
    } else {
      const cv = input.costVolume;
      checkShape(cv, [B, F, X, Y], 'costVolume');
      const cvData = cv.dataSync() as Float32Array;
      const targetSum = targets.reduce((s, t) => s + t[0] + t[1], 0);
      costs = [];
      for (let b = 0; b < B; b++) {
        const r = this.costFunction.score(
          kept.subarray(b * third * F * 3, (b + 1) * third * F * 3),
          third,
          F,
          { ...maps[b], costVolume: cvData.subarray(b * F * X * Y, (b + 1) * F * X * Y) },
          { target: targets[b] as [number, number], targetSumBatch: targetSum, item: b },
        );
        costs.push(r);
        totals.push(r.total as Float32Array);
      }
    }

    const selectedIndex: number[] = [];
    const selectedData = new Float32Array(B * F * 3);
    for (let b = 0; b < B; b++) {
      const k = argminFirst(totals[b]);
      selectedIndex.push(starts[b] + k);
      selectedData.set(kept.subarray((b * third + k) * F * 3, (b * third + k + 1) * F * 3), b * F * 3);
    }
    const selected = tf.tensor3d(selectedData, [B, F, 3]);
    const targetTensor = tf.tensor2d(
      targets.flatMap((t) => [t[0], t[1]]),
      [B, 2],
    );
    const h0 = this.initialState(input.frontFeature, ctx);
    const trajectory = this.refine(h0, selected, targetTensor, ctx);
    h0.dispose();
    targetTensor.dispose();
    let loss: PlanningLoss | undefined;
    if (maxMargin !== null && input.gtTrajectory !== undefined) {
      const gt = input.gtTrajectory;
      const margin = maxMargin;
      const imitation = tf.tidy(() => {
        const diff = tf.sub(tf.slice(trajectory, [0, 0, 0], [B, F, 2]), tf.slice(gt, [0, 0, 0], [B, F, 2]));
        const a = tf.abs(diff);
        // smooth_l1 (β = 1): 0.5·d² where |d| < 1, else |d| − 0.5, written as 0.5·m² + (|d| − m) with m = min(|d|, 1)
        // (same values and gradients; tfjs has no gradient through the comparison a `where` would need).
        const m = tf.minimum(a, 1);
        const l = tf.add(tf.mul(0.5, tf.square(m)), tf.sub(a, m));
        return tf.mean(tf.mul(l, tf.tensor1d([10, 1]))) as tf.Scalar;
      });
      const total = tf.tidy(() => tf.add(tf.mul(margin, 0.5), imitation) as tf.Scalar);
      loss = { total, maxMargin: margin, imitation };
    }
    return { trajectory, selected, selectedIndex, costs, thirdStart: starts, loss };
  }

  private resolveCandidates(input: PlanningInput, B: number): { data: Float32Array; shape: number[] } {
    const { sampleNum, nFutureFrames: F } = this.options;
    if (input.candidates !== undefined) {
      const s = input.candidates.shape;
      if (s.length !== 4 || s[0] !== B || s[1] !== sampleNum || s[2] !== F || s[3] !== 3) {
        throw new SpikedriveError(
          `Planner candidates have shape [${s.join(', ')}], expected [${B}, ${sampleNum}, ${F}, 3]`,
          {
            subject: 'candidates',
            fix: 'Pass PLANNING.SAMPLE_NUM sampler trajectories per batch item without the origin waypoint.',
          },
        );
      }
      if (input.candidates.data.length !== B * sampleNum * F * 3) {
        throw new SpikedriveError('Planner candidate data does not match its shape', {
          subject: 'candidates',
          fix: 'Check the candidate array length (B·N·F·3).',
        });
      }
      return input.candidates;
    }
    if (input.samplerInputs === undefined || input.rng === undefined || input.samplerInputs.length !== B) {
      throw new SpikedriveError(
        'The planner needs candidates, or sampler inputs (one per batch item) and an rng',
        {
          subject: 'candidates',
          fix: 'Pass candidates [B, N, F, 3], or samplerInputs (v0, steering) with a seeded rng.',
        },
      );
    }
    const data = new Float32Array(B * sampleNum * F * 3);
    for (let b = 0; b < B; b++) {
      const set = sampleTrajectories(input.samplerInputs[b], input.rng, { sampleNum, nFutureFrames: F });
      data.set(withoutOrigin(set.data, sampleNum, F + 1), b * sampleNum * F * 3);
    }
    return { data, shape: [B, sampleNum, F, 3] };
  }

  private hostMaps(input: PlanningInput, B: number, F: number, X: number, Y: number): CostMaps[] {
    const hd = input.hdmap;
    const C = hd.rank === 4 ? (hd.shape[3] as number) : 0;
    if (
      hd.rank !== 4 ||
      hd.shape[0] !== B ||
      hd.shape[1] !== X ||
      hd.shape[2] !== Y ||
      (C !== 2 && C !== 4)
    ) {
      throw new SpikedriveError(
        `The planner's HD map has shape [${hd.shape.join(', ')}], expected [${B}, ${X}, ${Y}, 2 or 4]`,
        {
          subject: 'hdmap',
          fix: 'Pass GT masks [lane, drivable] (2 channels) or the decoder hdmap logits (4 channels), channels last.',
        },
      );
    }
    const channels = C === 2 ? 'masks' : 'logits';
    const hdData = hd.dataSync() as Float32Array;
    const per = X * Y * C;
    let occupancy: Float32Array[];
    if (input.occupancy instanceof tf.Tensor) {
      checkShape(input.occupancy, [B, F, X, Y], 'occupancy');
      const o = tf.tidy(() => tf.cast(input.occupancy as tf.Tensor, 'float32'));
      const data = o.dataSync() as Float32Array;
      o.dispose();
      occupancy = Array.from({ length: B }, (_, b) => data.subarray(b * F * X * Y, (b + 1) * F * X * Y));
    } else {
      occupancy = [...input.occupancy];
      if (occupancy.length !== B) {
        throw new SpikedriveError(`${occupancy.length} occupancy grids for ${B} batch items`, {
          subject: 'occupancy',
          fix: 'Give one [F, X, Y] occupancy grid per batch item.',
        });
      }
    }
    return Array.from({ length: B }, (_, b) => ({
      occupancy: occupancy[b],
      hdmap: { data: hdData.subarray(b * per, (b + 1) * per), channels },
    }));
  }

  private trainingLoss(
    kept: Float32Array,
    shape: [number, number, number],
    maps: CostMaps[],
    input: PlanningInput,
    targets: readonly (readonly [number, number])[],
  ): { costs: CostBreakdown[]; totals: Float32Array[]; maxMargin: tf.Scalar } {
    const [B, N, F] = shape;
    const gt = input.gtTrajectory as tf.Tensor;
    checkShape(gt, [B, F, 3], 'gtTrajectory');
    const gtData = gt.dataSync() as Float32Array;
    const cand = this.costFunction.scoreTensors(kept, [B, N, F], maps, input.costVolume, targets);
    const gtCost = this.costFunction.scoreTensors(gtData, [B, 1, F], maps, input.costVolume, targets);
    // mean_t ‖τ_i − τ_gt‖² (compute_L2), a constant.
    const l2 = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let t = 0; t < F; t++) {
          const o = ((b * N + n) * F + t) * 3;
          const g = (b * F + t) * 3;
          const dx = Math.fround(kept[o] - gtData[g]);
          const dy = Math.fround(kept[o + 1] - gtData[g + 1]);
          s = Math.fround(s + Math.fround(Math.fround(dx * dx) + Math.fround(dy * dy)));
        }
        l2[b * N + n] = Math.fround(s / F);
      }
    }
    const foData = cand.fo.dataSync() as Float32Array;
    const totals: Float32Array[] = [];
    for (let b = 0; b < B; b++) {
      const t = new Float32Array(N);
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < F; k++) s = Math.fround(s + foData[(b * N + n) * F + k]);
        t[n] = Math.fround(cand.breakdowns[b].fc[n] + s);
      }
      totals.push(t);
    }
    const maxMargin = tf.tidy(() => {
      const over = tf.sum(tf.relu(tf.sub(gtCost.fo, cand.fo)), 2); // [B, N]
      const margin = tf.relu(tf.add(tf.add(over, tf.sub(gtCost.fc, cand.fc)), tf.tensor2d(l2, [B, N])));
      // max over N with the gradient on one element, as torch's max(dim) (tfjs's max would split it over ties).
      // The argmax is read back, so the gather's indices are no tape node.
      const best = tf.argMax(margin, 1).dataSync();
      return tf.mean(
        gatherFlat(
          margin,
          Int32Array.from(best, (k, b) => b * N + k),
        ),
      ) as tf.Scalar;
    });
    tf.dispose([cand.fo, cand.fc, gtCost.fo, gtCost.fc]);
    // The loss's costs are the cost-volume-free host breakdowns; give callers the full fo per candidate.
    const costs = cand.breakdowns.map((r, b) => ({
      ...r,
      fo: foData.slice(b * N * F, (b + 1) * N * F),
      total: totals[b],
    }));
    return { costs, totals, maxMargin };
  }
}

/**
 * Predicted occupancy as the reference evaluator builds it: argmax of the vehicle logits ∨ argmax of the pedestrian
 * logits (class 1 only when its logit is strictly larger: torch's argmax takes the first of tied maxima).
 * Logits [B, F, X, Y, 2] → [B, F, X, Y] of 0/1 (float32).
 */
export function occupancyFromLogits(segmentation: tf.Tensor, pedestrian?: tf.Tensor | null): tf.Tensor {
  const occupied = (logits: tf.Tensor) => {
    const s = logits.shape;
    if (s[s.length - 1] !== 2) {
      throw new SpikedriveError(`Segmentation logits must have 2 classes last, got [${s.join(', ')}]`, {
        subject: 'segmentation',
        fix: 'Pass the decoder head output [B, F, X, Y, 2] (background, foreground).',
      });
    }
    const [bg, fg] = tf.split(logits, 2, -1);
    return tf.squeeze(tf.greater(fg, bg), [s.length - 1]);
  };
  return tf.tidy(() => {
    const vehicle = occupied(segmentation);
    const any = pedestrian ? tf.logicalOr(vehicle, occupied(pedestrian)) : vehicle;
    return tf.cast(any, 'float32');
  });
}

/** Index of the first smallest value (torch.topk(k=1, largest=False) on distinct values). */
function argminFirst(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] < values[best]) best = i;
  return best;
}

/** Drops waypoint 0 (the origin) of [N, P, 3] sampler output → [N, P − 1, 3] (the trainer's `trajs[:, :, 1:]`). */
export function withoutOrigin(data: Float32Array, n: number, points: number): Float32Array {
  const out = new Float32Array(n * (points - 1) * 3);
  for (let i = 0; i < n; i++)
    out.set(data.subarray((i * points + 1) * 3, (i + 1) * points * 3), i * (points - 1) * 3);
  return out;
}

function checkShape(t: tf.Tensor, expected: number[], name: string): void {
  const s = t.shape;
  const ok =
    (s.length === expected.length || (s.length === expected.length + 1 && s[s.length - 1] === 1)) &&
    expected.every((d, i) => s[i] === d);
  if (!ok) {
    throw new SpikedriveError(
      `Planner input ${name} has shape [${s.join(', ')}], expected [${expected.join(', ')}]`,
      {
        subject: name,
        fix: 'Pass future-frame BEV maps on the LIFT grid, batch first, one per future frame.',
      },
    );
  }
}
