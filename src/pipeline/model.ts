import * as tf from '@tensorflow/tfjs';
import { type PerceptionInput, SadPerception } from '../perception/index.ts';
import {
  occupancyFromLogits,
  type PlanningCommand,
  type PlanningOutput,
  SadPlanning,
  type SamplerInputs,
} from '../planning/index.ts';
import type { UniformSource } from '../planning/numpy.ts';
import { SadDecoder, SadPrediction } from '../prediction/index.ts';
import {
  type ForwardContext,
  type LoadReport,
  type ParameterInfo,
  SnnModule,
  type StateTensor,
} from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { createRng, type Rng } from '../util/rng.ts';
import { type SadConfig, sadGeometry } from './config.ts';
import { decoderOptions, perceptionOptions, planningOptions, predictionOptions } from './stages.ts';

/** What the model reads: the perception stage's input (batch-major, channels-last). */
export type SadModelInput = PerceptionInput;

export interface SadForwardOptions {
  /** Draw the latent with noise ε ~ N(0, 1) (training); default: the model's training mode. ε = 0 otherwise. */
  sample?: boolean;
  /** Seeded source of ε (required when sampling). */
  rng?: Rng;
  /** Keep the BEV features [B, S, X, Y, C′] in the output (default false: freed). */
  keepBev?: boolean;
  /** Keep the depth logits in the output (default false: freed; GT_DEPTH is off in SAD). */
  keepDepth?: boolean;
  /** Filled with wall milliseconds per stage (host back ends run synchronously, so these are the stages' times). */
  timings?: Partial<Record<'perception' | 'prediction' | 'decoder', number>>;
}

/** Named outputs of one forward (reference `SAD.forward` output dict, channels-last). The caller owns them. */
export interface SadOutput {
  /** [B, S′, X, Y, 2] vehicle logits over the S past/present and F future frames. */
  segmentation: tf.Tensor;
  pedestrian?: tf.Tensor;
  /** [B, X, Y, 4] present-frame HD-map logits [lane bg, lane fg, drivable bg, drivable fg]. */
  hdmap?: tf.Tensor;
  instanceCenter?: tf.Tensor;
  instanceOffset?: tf.Tensor;
  instanceFlow?: tf.Tensor;
  /** [B, S′, X, Y, 1] the planner's cost volume. */
  costvolume?: tf.Tensor;
  /** [B, h, w, C] present CAM_FRONT encoder feature (the planner's GRU state source). */
  camFront: tf.Tensor | null;
  /** [B, L] present distribution mean / log σ (null at F = 0 or without PROBABILISTIC). */
  mu: tf.Tensor | null;
  logSigma: tf.Tensor | null;
  bev?: tf.Tensor;
  depth?: tf.Tensor;
}

/** Frees every tensor of an output. */
export function disposeSadOutput(output: SadOutput): void {
  for (const value of Object.values(output)) if (value instanceof tf.Tensor) value.dispose();
}

export interface SadPlanOptions {
  commands: readonly PlanningCommand[];
  samplerInputs: readonly SamplerInputs[];
  /** Seeded uniform source for the 1800-candidate sampler. */
  rng: UniformSource;
  targetPoints?: readonly (readonly [number, number])[];
}

export interface SadModelOptions {
  /** Seeds the initial weights (default `SEED` of the config). */
  rng?: Rng;
  /** Initialise the encoder as the reference (timm trunc_normal); false is cheaper before loading weights. */
  referenceInit?: boolean;
}

/**
 * The SAD model (reference `sad/models/sad.py` `SAD`): perception → prediction (distribution, dual pathway,
 * temporal mixing; F > 0 only) → decoder heads, plus the planner (`planning.*`, PLANNING.ENABLED) that the trainer
 * and evaluator call on the outputs. Tensor names equal the reference state_dict (`sad-state-dict.tsv` at the paper
 * config): buffers `bev_resolution`, `bev_start_position`, `bev_dimension`, then the stages' names. Membranes are
 * reset after every forward (the reference trainer's `reset_net`).
 */
export class SadModel extends SnnModule {
  readonly kind = 'sad';
  readonly config: SadConfig;
  readonly perception: SadPerception;
  readonly prediction: SadPrediction;
  readonly decoder: SadDecoder;
  readonly planning: SadPlanning | null;
  readonly receptiveField: number;
  readonly nFuture: number;
  private readonly bevDimension: [number, number, number];

  constructor(config: SadConfig, options: SadModelOptions = {}) {
    super();
    this.config = config;
    const rng = options.rng ?? createRng(config.SEED);
    const g = sadGeometry(config);
    this.receptiveField = config.TIME_RECEPTIVE_FIELD;
    this.nFuture = config.N_FUTURE_FRAMES;
    const f32 = Math.fround;
    const bounds = [config.LIFT.X_BOUND, config.LIFT.Y_BOUND, config.LIFT.Z_BOUND];
    // calculate_birds_eye_view_parameters: float32 resolution and start, int64 dimension (truncated).
    this.addParam('bev_resolution', tf.tensor1d(bounds.map((b) => f32(b[2]))), 'plain', false);
    this.addParam('bev_start_position', tf.tensor1d(bounds.map((b) => f32(b[0] + b[2] / 2))), 'plain', false);
    this.bevDimension = bounds.map((b) => Math.trunc((b[1] - b[0]) / b[2])) as [number, number, number];
    if (this.bevDimension[0] !== g.bevRows || this.bevDimension[1] !== g.bevCols) {
      throw new SpikedriveError('LIFT bounds do not divide into whole BEV cells', {
        subject: 'LIFT.X_BOUND',
        fix: 'Use bounds whose extent is a multiple of the resolution, e.g. [-50, 50, 0.5].',
      });
    }
    // The stages name themselves from the root (their reference names are top level): register, then re-root.
    this.perception = this.register(
      'perception',
      new SadPerception({
        ...perceptionOptions(config, rng.fork('perception')),
        referenceInit: options.referenceInit,
      }),
    );
    this.perception.setPath('');
    this.prediction = this.register(
      'prediction',
      new SadPrediction(predictionOptions(config, rng.fork('prediction'))),
    );
    this.prediction.setPath('');
    this.decoder = this.register('decoder', new SadDecoder(decoderOptions(config, rng.fork('decoder'))));
    this.planning = config.PLANNING.ENABLED
      ? this.register('planning', new SadPlanning(planningOptions(config, rng.fork('planning'))))
      : null;
  }

  /** The stages keep their reference (top-level) names whatever the root is called. */
  override setPath(path: string): void {
    if (path !== '') {
      throw new SpikedriveError(
        'SadModel is a root module; its tensor names are the reference top-level names',
        {
          subject: 'SadModel',
          fix: 'Do not nest SadModel under another module.',
        },
      );
    }
  }

  override namedParameters(): ParameterInfo[] {
    const out = super.namedParameters();
    const dim: ParameterInfo = { name: 'bev_dimension', shape: [3], dtype: 'int64', trainable: false };
    out.splice(2, 0, dim);
    return out;
  }

  override stateDict(): Map<string, StateTensor> {
    const inner = super.stateDict();
    const out = new Map<string, StateTensor>();
    let i = 0;
    for (const [name, value] of inner) {
      if (i++ === 2) out.set('bev_dimension', this.bevDimensionTensor());
      out.set(name, value);
    }
    return out;
  }

  private bevDimensionTensor(): StateTensor {
    return { shape: [3], dtype: 'int64', data: BigInt64Array.from(this.bevDimension.map((d) => BigInt(d))) };
  }

  /**
   * Loads reference-named tensors. `bev_dimension` must match this config's grid (a checkpoint of another BEV
   * size is an error naming it). `strict` (default) rejects missing tensors.
   */
  override loadStateDict(
    entries: Map<string, StateTensor> | Record<string, StateTensor>,
    options: { strict?: boolean; source?: string } = {},
  ): LoadReport {
    const map = new Map(entries instanceof Map ? entries : Object.entries(entries));
    const dim = map.get('bev_dimension');
    map.delete('bev_dimension');
    if (dim !== undefined) {
      const values = Array.from(dim.data as ArrayLike<number | bigint>, (v) => Number(v));
      if (values.length !== 3 || values.some((v, k) => v !== this.bevDimension[k])) {
        throw new SpikedriveError(
          `${options.source ?? 'checkpoint'} has bev_dimension [${values.join(', ')}] but this config's grid is [${this.bevDimension.join(', ')}]`,
          { subject: 'bev_dimension', fix: 'Load it with the config (LIFT bounds) it was trained with.' },
        );
      }
    }
    const report = super.loadStateDict(map, options);
    if (dim === undefined) {
      if (options.strict ?? true) {
        throw new SpikedriveError(`${options.source ?? 'checkpoint'} lacks bev_dimension`, {
          subject: 'bev_dimension',
          fix: 'Export the whole SAD state_dict, or load with strict: false.',
        });
      }
      report.missing.unshift('bev_dimension');
    } else report.loaded.unshift('bev_dimension');
    return report;
  }

  /**
   * One forward (`SAD.forward`): perception over the S past/present frames, the six ego-motion channels, prediction
   * of the F future states (F > 0), the decoder heads on all S + F frames. Membranes are reset afterwards.
   */
  forward(input: SadModelInput, options: SadForwardOptions = {}, ctx: ForwardContext = {}): SadOutput {
    const instrument = ctx.instrument ?? null;
    const s = this.receptiveField;
    const timings = options.timings;
    let t0 = performance.now();
    const lap = (stage: 'perception' | 'prediction' | 'decoder') => {
      const now = performance.now();
      if (timings) timings[stage] = now - t0;
      t0 = now;
    };
    try {
      const perceived = this.perception.forward(input, ctx);
      lap('perception');
      // Every boundary tensor here is real-valued by construction (features, mixed states, logits), whatever its values.
      instrument?.boundary('perception', 'prediction', perceived.bev, { timeSteps: s, spiking: false });
      if (perceived.camFront !== null) {
        instrument?.boundary('perception', 'planning', perceived.camFront, { timeSteps: 1, spiking: false });
      }
      const sample = options.sample ?? this.training;
      const predicted = this.prediction.forward(perceived.bev, { training: sample, rng: options.rng }, ctx);
      lap('prediction');
      const bev = perceived.bev;
      if (options.keepBev !== true) bev.dispose();
      instrument?.boundary('prediction', 'decoder', predicted.states, {
        timeSteps: predicted.states.shape[1] as number,
        spiking: false,
      });
      const decoded = this.decoder.forward(predicted.states, ctx);
      lap('decoder');
      predicted.states.dispose();
      predicted.sample?.dispose();
      predicted.futureSpikes?.dispose();
      if (instrument && this.planning && decoded.costvolume) {
        // What the planner reads: future cost volume and occupancy logits, and the present HD map.
        for (const t of [decoded.costvolume, decoded.segmentation, decoded.pedestrian, decoded.hdmap]) {
          if (t) instrument.boundary('decoder', 'planning', t, { timeSteps: 1, spiking: false });
        }
      }
      const out: SadOutput = {
        ...decoded,
        camFront: perceived.camFront,
        mu: predicted.mu,
        logSigma: predicted.logSigma,
      };
      if (options.keepBev === true) out.bev = bev;
      if (options.keepDepth === true) out.depth = perceived.depth;
      else perceived.depth.dispose();
      return out;
    } finally {
      this.reset();
    }
  }

  /**
   * The planner in evaluation (trainer.py validation branch): predicted argmax occupancy (vehicle ∨ pedestrian)
   * and cost volume over the future frames, the decoder's HD-map logits, the detached CAM_FRONT feature.
   */
  plan(output: SadOutput, options: SadPlanOptions, ctx: ForwardContext = {}): PlanningOutput {
    const planning = this.requirePlanning();
    const { costvolume, hdmap, camFront } = output;
    if (!costvolume || !hdmap || camFront === null) {
      throw new SpikedriveError('planning needs the cost-volume and HD-map heads and the CAM_FRONT feature', {
        subject: 'PLANNING.ENABLED',
        fix: 'Use a planning-stage config (heads on, CAM_FRONT in IMAGE.NAMES).',
      });
    }
    const [b, frames, x, y] = costvolume.shape as number[];
    const s = this.receptiveField;
    const f = frames - s;
    const future = (t: tf.Tensor) => tf.slice(t, [0, s, 0, 0, 0], [b, f, x, y, t.shape[4] as number]);
    const costVolume = tf.tidy(() => future(costvolume));
    const occupancy = tf.tidy(() =>
      occupancyFromLogits(future(output.segmentation), output.pedestrian ? future(output.pedestrian) : null),
    );
    const wasTraining = planning.training;
    if (wasTraining) planning.eval();
    try {
      return planning.forward(
        {
          frontFeature: camFront,
          samplerInputs: options.samplerInputs,
          rng: options.rng,
          commands: options.commands,
          costVolume,
          occupancy,
          hdmap,
          targetPoints: options.targetPoints,
        },
        ctx,
      );
    } finally {
      if (wasTraining) planning.train();
      costVolume.dispose();
      occupancy.dispose();
    }
  }

  requirePlanning(): SadPlanning {
    if (this.planning === null) {
      throw new SpikedriveError('this model has no planner (PLANNING.ENABLED is false)', {
        subject: 'PLANNING.ENABLED',
        fix: 'Use a planning-stage checkpoint/config (e.g. --stage planning).',
      });
    }
    return this.planning;
  }
}
