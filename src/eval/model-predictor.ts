// The model side of an evaluation: the SAD network (`src/pipeline`) on each sample, in eval mode (ε = 0, membranes
// reset after every forward), instrumented for spike activity, timed per module, its outputs turned into the
// evaluator's host arrays; and the `sad` planner run through the model (`SadModel.plan`, the reference evaluation
// path) so the planning module's activity counts too. With no checkpoint given: the shipped model.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { type SadSample, sadDataOptionsFromConfig } from '../../data-loaders/sad/index.ts';
import {
  DEFAULT_PROFILE_ID,
  ENERGY_METHODS,
  type EnergyMethod,
  resolveHardwareProfile,
} from '../energy/index.ts';
import {
  configHash,
  disposeSadOutput,
  openModel,
  prepareBatch,
  type SadConfig,
  type SadModel,
  type SadOutput,
} from '../pipeline/index.ts';
import { numpyRandomState, type PlannerInputs } from '../planning/index.ts';
import type { PlanOutcome } from '../planning/plugins/index.ts';
import { backendInfo, Instrument, parsePreference, selectBackend } from '../snn/index.ts';
import { SpikedriveError } from '../util/index.ts';
import type { EvaluationModel } from './evaluate.ts';
import { predictInstanceSegmentation } from './metrics/index.ts';
import type { Prediction, PredictOptions, Predictor } from './predictor.ts';
import type { SampleTruth } from './truth.ts';

export interface LoadEvaluationModelOptions {
  /** Checkpoint (`.safetensors`, with its JSON beside it); default the shipped model. */
  checkpoint?: string | null;
  /** Config (preset name or YAML) for a bare checkpoint exported from the reference. */
  config?: string | null;
  /** Tensor back end: auto (default), tensorflow, wasm, cpu. */
  backend?: string;
  /** Hardware profile id or file (default cmos-45nm). */
  energyProfile?: string;
  /** sad-paper (default), memory-aware or ann-equivalent. */
  energyMethod?: string;
  /** Count spike activity for energy and firing rates (default true; counting costs a little time). */
  instrument?: boolean;
  log?: (line: string) => void;
  /** Called once the model is open (`--offload` installs its back ends here); what it returns runs at `dispose`. */
  prepareModel?: (model: SadModel) => Promise<(() => void) | undefined>;
  /** What ran where (`--offload`), recorded in the run manifest. */
  offload?: Record<string, unknown>;
}

/** Softmax foreground probability of a [bg, fg] logit pair and its argmax (torch: the first of tied maxima). */
function pairClass(bg: number, fg: number): [cls: number, prob: number] {
  return [fg > bg ? 1 : 0, 1 / (1 + Math.exp(bg - fg))];
}

/**
 * Channels-last logits [frames, X, Y, 2] (frames `from`..`from + count`) → argmax class and foreground probability,
 * [count, X, Y] each.
 */
function classesOf(
  data: Float32Array,
  from: number,
  count: number,
  cells: number,
): { cls: Uint8Array; prob: Float32Array } {
  const cls = new Uint8Array(count * cells);
  const prob = new Float32Array(count * cells);
  for (let t = 0; t < count; t++) {
    const base = (from + t) * cells * 2;
    for (let i = 0; i < cells; i++) {
      const [c, p] = pairClass(data[base + 2 * i], data[base + 2 * i + 1]);
      cls[t * cells + i] = c;
      prob[t * cells + i] = p;
    }
  }
  return { cls, prob };
}

/** Channels-last [frames, X, Y, C] → frame-major [frames, C, X, Y] (what the instance post-processing reads). */
function framesChannelsFirst(
  data: Float32Array,
  frames: number,
  cells: number,
  channels: number,
): Float32Array {
  const out = new Float32Array(data.length);
  for (let t = 0; t < frames; t++) {
    for (let i = 0; i < cells; i++) {
      for (let c = 0; c < channels; c++)
        out[(t * channels + c) * cells + i] = data[(t * cells + i) * channels + c];
    }
  }
  return out;
}

/** The SAD network as an evaluation predictor. */
export class ModelPredictor implements Predictor {
  readonly kind = 'model';
  readonly needsImages = true;
  readonly needsInstances: boolean;
  readonly model: SadModel;
  readonly config: SadConfig;
  readonly instrumented: boolean;

  readonly #release: (() => void) | undefined;

  constructor(
    model: SadModel,
    config: SadConfig,
    options: { instrument?: boolean; release?: () => void } = {},
  ) {
    this.model = model;
    this.config = config;
    this.instrumented = options.instrument ?? true;
    this.#release = options.release;
    this.needsInstances = config.INSTANCE_SEG.ENABLED;
    model.eval();
  }

  get canPlan(): boolean {
    return this.model.planning !== null;
  }

  async predict(sample: SadSample, truth: SampleTruth, options: PredictOptions = {}): Promise<Prediction> {
    const config = this.config;
    const S = config.TIME_RECEPTIVE_FIELD;
    const F = config.N_FUTURE_FRAMES;
    const { rows, cols } = truth;
    const cells = rows * cols;
    const batch = prepareBatch([sample], config, { labels: false });
    const instrument = this.instrumented ? new Instrument() : null;
    const timings: Partial<Record<'perception' | 'prediction' | 'decoder', number>> = {};
    let output: SadOutput | null = null;
    try {
      output = this.model.forward(batch.input, { sample: false, timings }, { instrument });
      const frames = output.segmentation.shape[1] as number;
      if (frames !== S + F) {
        throw new SpikedriveError(`the model predicted ${frames} frames, expected S + F = ${S + F}`, {
          subject: 'N_FUTURE_FRAMES',
          fix: 'Evaluate with the config the checkpoint was trained with.',
        });
      }
      const seg = classesOf(output.segmentation.dataSync() as Float32Array, S - 1, F + 1, cells);
      const ped = output.pedestrian
        ? classesOf(output.pedestrian.dataSync() as Float32Array, S - 1, F + 1, cells)
        : null;
      const prediction: Prediction = {
        vehicleClass: seg.cls,
        vehicleProb: seg.prob,
        plannerInputs: {},
        latencyMs: {
          perception: timings.perception ?? 0,
          prediction: (timings.prediction ?? 0) + (timings.decoder ?? 0),
        },
      };
      if (ped) {
        prediction.pedestrianClass = ped.cls;
        prediction.pedestrianProb = ped.prob;
      }
      // The planner's occupancy: argmax vehicle ∨ argmax pedestrian in the future frames (reference evaluation).
      const occupancy = new Float32Array(F * cells);
      for (let i = 0; i < F * cells; i++) {
        occupancy[i] = seg.cls[cells + i] || (ped ? ped.cls[cells + i] : 0) ? 1 : 0;
      }
      const inputs: Partial<PlannerInputs> = { occupancy: { data: occupancy, shape: [F, rows, cols] } };
      if (output.hdmap) {
        const logits = output.hdmap.dataSync() as Float32Array;
        const cls = new Uint8Array(2 * cells);
        const prob = new Float32Array(2 * cells);
        for (let i = 0; i < cells; i++) {
          for (let e = 0; e < 2; e++) {
            const [c, p] = pairClass(logits[i * 4 + 2 * e], logits[i * 4 + 2 * e + 1]);
            cls[e * cells + i] = c;
            prob[e * cells + i] = p;
          }
        }
        prediction.hdmapClass = cls;
        prediction.hdmapProb = prob;
        inputs.hdmap = { data: Float32Array.from(logits), shape: [rows, cols, 4], channels: 'logits' };
      }
      if (output.costvolume) {
        const all = output.costvolume.dataSync() as Float32Array;
        const costVolume = all.slice(S * cells, (S + F) * cells);
        prediction.costVolume = costVolume;
        inputs.costVolume = { data: costVolume, shape: [F, rows, cols] };
      }
      if (output.camFront) {
        const [, h, w, c] = output.camFront.shape as number[];
        inputs.frontFeature = {
          data: Float32Array.from(output.camFront.dataSync() as Float32Array),
          shape: [h, w, c],
        };
      }
      if (this.needsInstances && output.instanceCenter && output.instanceOffset) {
        const total = S + F;
        const ids = predictInstanceSegmentation(
          {
            segmentation: framesChannelsFirst(
              output.segmentation.dataSync() as Float32Array,
              total,
              cells,
              2,
            ),
            instanceCenter: output.instanceCenter.dataSync() as Float32Array,
            instanceOffset: framesChannelsFirst(
              output.instanceOffset.dataSync() as Float32Array,
              total,
              cells,
              2,
            ),
            instanceFlow: output.instanceFlow
              ? framesChannelsFirst(output.instanceFlow.dataSync() as Float32Array, total, cells, 2)
              : null,
          },
          { frames: total, height: rows, width: cols },
        );
        prediction.instances = ids.slice((S - 1) * cells);
      }
      prediction.plannerInputs = inputs;
      if (options.plan) prediction.modelPlan = this.#plan(output, truth, options.plan.seed, instrument);
      if (instrument) prediction.activity = await instrument.finish();
      return prediction;
    } finally {
      if (output) disposeSadOutput(output);
      batch.dispose();
      instrument?.dispose();
    }
  }

  /** The `sad` planner through the model, instrumented: candidates seeded as the evaluator seeds them. */
  #plan(output: SadOutput, truth: SampleTruth, seed: number, instrument: Instrument | null): PlanOutcome {
    const start = performance.now();
    if (!this.model.planning) {
      return {
        ok: false,
        kind: 'unavailable',
        message: 'the model has no planner (PLANNING.ENABLED is false)',
        fix: 'Evaluate a planning-stage checkpoint, or choose another --planner.',
        callMs: 0,
      };
    }
    if (!truth.samplerInputs) {
      return {
        ok: false,
        kind: 'missing-input',
        message: `sample ${truth.token} has no CAN bus speed and steering for the candidate sampler`,
        fix: 'Evaluate a dataset with the CAN bus expansion (can_bus/), or choose a planner without candidates.',
        callMs: 0,
      };
    }
    try {
      const plan = this.model.plan(
        output,
        {
          commands: [truth.command],
          samplerInputs: [{ v0Mps: truth.samplerInputs.v0Mps, steeringRad: truth.samplerInputs.steeringRad }],
          rng: numpyRandomState((seed + truth.datasetIndex) >>> 0),
          targetPoints: [[0, 0]],
        },
        { instrument },
      );
      const data = plan.trajectory.dataSync() as Float32Array;
      const k = plan.selectedIndex[0] - plan.thirdStart[0];
      const selectedCost = (plan.costs[0].total as Float32Array | null)?.[k];
      tf.dispose([plan.trajectory, plan.selected]);
      const trajectory = Array.from(
        { length: truth.nFuture },
        (_, t) => [data[3 * t], data[3 * t + 1], data[3 * t + 2]] as const,
      );
      const planMs = performance.now() - start;
      if (!trajectory.flat().every(Number.isFinite)) {
        return {
          ok: false,
          kind: 'malformed',
          message: 'the sad planner produced non-finite waypoints',
          planMs,
          callMs: planMs,
        };
      }
      return {
        ok: true,
        trajectory: trajectory.map((w) => [w[0], w[1], w[2]]),
        meta: {
          selectedIndex: plan.selectedIndex[0],
          ...(selectedCost !== undefined ? { selectedCost } : {}),
        },
        planMs,
        callMs: planMs,
      };
    } catch (error) {
      const ms = performance.now() - start;
      return {
        ok: false,
        kind: 'threw',
        message: `the sad planner threw: ${(error as Error).message}`,
        planMs: ms,
        callMs: ms,
      };
    }
  }

  dispose(): void {
    this.#release?.();
    this.model.dispose();
  }
}

/**
 * Opens a model for evaluation: selects the tensor back end, loads the checkpoint (default: the shipped model) in
 * eval mode, resolves the energy profile, and returns what `evaluate` needs.
 */
export async function loadEvaluationModel(
  options: LoadEvaluationModelOptions = {},
): Promise<EvaluationModel> {
  const log = options.log ?? (() => {});
  const preferred = options.backend ? parsePreference(options.backend) : undefined;
  await selectBackend({ preferred, log });
  const method = (options.energyMethod ?? 'sad-paper') as EnergyMethod;
  if (!ENERGY_METHODS.includes(method)) {
    throw new SpikedriveError(`unknown energy method "${options.energyMethod}"`, {
      subject: '--energy-method',
      fix: `Use one of ${ENERGY_METHODS.join(', ')}.`,
    });
  }
  const profile = await resolveHardwareProfile(options.energyProfile ?? DEFAULT_PROFILE_ID);
  const opened = openModel({ checkpoint: options.checkpoint ?? null, config: options.config ?? null });
  const { model, config } = opened;
  if (opened.unexpected.length > 0) {
    log(
      `note: ${opened.unexpected.length} tensors of ${opened.source} were not used (e.g. ${opened.unexpected[0]})`,
    );
  }
  let release: (() => void) | undefined;
  try {
    release = await options.prepareModel?.(model);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const info = backendInfo();
  const predictor = new ModelPredictor(model, config, { instrument: options.instrument, release });
  const sha256 = createHash('sha256').update(readFileSync(opened.source)).digest('hex');
  const preset = opened.meta?.notes?.preset;
  return {
    predictor,
    config: JSON.parse(JSON.stringify(config)) as Record<string, unknown>,
    configHash: await configHash(config),
    ...(preset ? { preset } : {}),
    checkpoint: { path: opened.source, sha256 },
    backend: {
      name: info.name,
      version: info.backendVersion,
      threads: info.threads,
      tfjsVersion: info.tfjsVersion,
      simd: info.simd,
      kernelsPatched: info.kernelsPatched,
    },
    dataOptions: sadDataOptionsFromConfig(config),
    sampleNum: config.PLANNING.SAMPLE_NUM,
    costWeights: { ...config.COST_FUNCTION },
    planning: model.planning ?? undefined,
    energy: { profile, method },
    ...(options.offload ? { offload: options.offload } : {}),
  };
}
