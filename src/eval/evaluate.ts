// The evaluator: SAD samples → predictions (the model, or ground-truth inputs) → a planner (built-in, or an isolated
// plugin) or trajectories from a file → metrics, energy and per-sample frames in a run folder. Resumable: the metric
// accumulators and the done tokens are checkpointed atomically in state.json together with the frame index, so a
// run killed at any point continues where its last checkpoint left it and ends with the same numbers.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { SadSplitMode } from '../../data-loaders/nuscenes/index.ts';
import {
  openSadDataset,
  type SadDataOptions,
  SadLoader,
  type SadSample,
} from '../../data-loaders/sad/index.ts';
import {
  computeEnergy,
  type EnergyMethod,
  energyReportToJson,
  type HardwareProfile,
  sumActivityRecords,
} from '../energy/index.ts';
import {
  CostFunction,
  type CostWeights,
  commandThird,
  type HostObservation,
  numpyRandomState,
  PLANNER_API_VERSION,
  PLANNING_COMMANDS,
  type PlannerInputName,
  type SadPlanning,
  sampleTrajectories,
  withoutOrigin,
} from '../planning/index.ts';
import {
  type HostedPlanner,
  isPluginPath,
  openPlanner,
  type PlanOutcome,
  resolvePluginPath,
} from '../planning/plugins/index.ts';
import type { ActivityRecord } from '../snn/activity.ts';
import { SpikedriveError } from '../util/index.ts';
import { costVolumeArray, horizonMeans, instanceArray, probabilityBytes } from './frames.ts';
import { type ClassCounts, MetricSet } from './metric-set.ts';
import { GroundTruthInputs, type Prediction, type Predictor } from './predictor.ts';
import { type RunFolder, RunWriter, readJsonFile, readRunFolder } from './run-folder.ts';
import type { FrameArrayInput, FrameScalars, MetricsFile, RunManifest } from './run-format.ts';
import { checkTrajectory, readTrajectoriesFile, type TrajectoriesFile } from './trajectories.ts';
import { gtFuture, type SampleTruth, sampleTruth } from './truth.ts';

export type EvaluationInputs = 'model' | 'ground-truth';

/** The network side of a model evaluation, built by the caller from `src/pipeline` (see model-predictor.ts). */
export interface EvaluationModel {
  predictor: Predictor;
  /** The SadConfig as plain JSON (recorded in the manifest), its hash and preset name. */
  config: Record<string, unknown>;
  configHash: string;
  preset?: string;
  checkpoint: { path: string; sha256: string } | null;
  backend: { name: string; version: string; threads: number } & Record<string, unknown>;
  /** What the data loader must produce for this model (S, F, grid, image size, cameras). */
  dataOptions: Partial<SadDataOptions>;
  /** `PLANNING.SAMPLE_NUM`. */
  sampleNum: number;
  costWeights?: CostWeights;
  /** The model's planning module, for the `sad` planner. */
  planning?: SadPlanning;
  energy?: { profile: HardwareProfile; method: EnergyMethod };
  /** Modules running on an offload back end (`--offload`): recorded in the manifest and the settings. */
  offload?: Record<string, unknown>;
}

export interface EvaluationProgress {
  /** Samples done (including those of earlier sessions of a resumed run). */
  done: number;
  total: number;
  failed: number;
  /** Done in this session. */
  sessionDone: number;
  elapsedMs: number;
  /** Estimated time left at this session's rate; null until one sample is done. */
  etaMs: number | null;
}

export interface EvaluationOptions {
  /** The run folder (created, resumed, or refused when it holds a run of other settings). */
  out: string;
  dataset: { dataroot: string; version: string; split?: SadSplitMode; sceneNames?: readonly string[] };
  /** `model` (the default when a model is given) or `ground-truth` (labels stand in for the network's outputs). */
  inputs?: EvaluationInputs;
  model?: EvaluationModel;
  /** A built-in planner name or a plugin module path (default `sad` with a model, else `expert`). */
  planner?: string;
  /** Free-form options handed to the planner's context (`--planner-option key=value`). */
  plannerOptions?: Record<string, unknown>;
  /** Score trajectories from this file instead of running a planner. */
  trajectories?: string;
  /** Evaluate the first N samples of the split only. */
  limit?: number;
  /** Seeds the candidate sampler (numpy seed = seed + dataset index); default 0. */
  seed?: number;
  /** Without a model: future frames F (default 6, the planning horizon) and past/present frames S (default 3). */
  nFutureFrames?: number;
  receptiveField?: number;
  /** Without a model: candidates per sample (default 1800). */
  sampleNum?: number;
  /** Per-call limit for plugin planners, ms (default 10 000). */
  planTimeoutMs?: number;
  pluginInitTimeoutMs?: number;
  /** Start afresh even if `out` holds a run (its run files are removed). */
  overwrite?: boolean;
  /** Minimum time between checkpoints, ms (default 2000; 0 = after every sample). */
  checkpointEveryMs?: number;
  /** Label-loading threads (default 1; 0 loads on this thread). */
  loaderWorkers?: number;
  onProgress?: (progress: EvaluationProgress) => void;
  onPluginOutput?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Stops the run at the next sample boundary (after a checkpoint); resume later with the same options. */
  signal?: AbortSignal;
  /** Stop after this many samples in this session (tests of resume). */
  stopAfter?: number;
}

export interface SampleFailure {
  token: string;
  kind: string;
  message: string;
}

export interface EvaluationResult {
  dir: string;
  status: 'complete' | 'interrupted';
  /** The run was complete before this call: nothing was recomputed. */
  alreadyComplete: boolean;
  /** Samples done in earlier sessions (resume). */
  resumedFrom: number;
  /** Samples processed in this session. */
  processed: number;
  total: number;
  failures: SampleFailure[];
  run: RunFolder;
}

const STATE_SCHEMA = 'spikedrive-eval-state';
const stateSchema = z.object({
  schema: z.literal(STATE_SCHEMA),
  version: z.literal(1),
  fingerprint: z.string(),
  settings: z.record(z.string(), z.unknown()),
  done: z.array(z.string()),
  failures: z.array(z.object({ token: z.string(), kind: z.string(), message: z.string() })),
  metrics: z.unknown(),
  activity: z.unknown().nullable(),
  activityFrames: z.number().int().nonnegative(),
  elapsedMs: z.number().nonnegative(),
  sessions: z.number().int().nonnegative(),
});
type EvalState = z.infer<typeof stateSchema>;

function sha256(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex');
}

/** JSON with sorted keys, so equal settings hash equally. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function badOption(option: string, message: string, fix: string): SpikedriveError {
  return new SpikedriveError(`${option}: ${message}`, { subject: option, fix });
}

/** What differs between two settings objects (top-level keys), for the "other settings" error. */
function settingsDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => canonical(a[k]) !== canonical(b[k])).sort();
}

interface PlannedSample {
  datasetIndex: number;
  token: string;
}

/** Runs (or resumes) an evaluation. See docs/evaluation.md. */
export async function evaluate(options: EvaluationOptions): Promise<EvaluationResult> {
  const out = resolve(options.out);
  const model = options.model;
  const inputs: EvaluationInputs = options.inputs ?? (model ? 'model' : 'ground-truth');
  if (inputs === 'model' && !model) {
    throw badOption(
      '--inputs',
      'a model evaluation needs a model',
      'Give a checkpoint, or use --inputs ground-truth.',
    );
  }
  const trajectoriesMode = options.trajectories !== undefined;
  if (trajectoriesMode && options.planner !== undefined) {
    throw badOption(
      '--trajectories',
      'scores trajectories from a file, so --planner has nothing to do',
      'Pass either --trajectories FILE or --planner NAME|PATH.',
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) {
    throw badOption('--seed', `must be a non-negative integer, got ${seed}`, 'e.g. --seed 0');
  }
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw badOption('--limit', `must be a positive integer, got ${options.limit}`, 'e.g. --limit 20');
  }
  const useModel = inputs === 'model' && !trajectoriesMode;
  const plannerSpec = trajectoriesMode ? null : (options.planner ?? (useModel ? 'sad' : 'expert'));
  if (plannerSpec === 'sad' && !useModel) {
    throw badOption(
      '--planner',
      'the sad planner is part of the model, which does not run with ground-truth inputs',
      'Use cost-only, constant-velocity, expert or a plugin, or evaluate the model.',
    );
  }

  // --- dataset and the samples to evaluate
  const dataOptions: Partial<SadDataOptions> = useModel
    ? { ...model?.dataOptions }
    : {
        ...(model?.dataOptions ?? {}),
        nFutureFrames: options.nFutureFrames ?? model?.dataOptions.nFutureFrames ?? 6,
        timeReceptiveField: options.receptiveField ?? model?.dataOptions.timeReceptiveField ?? 3,
      };
  if ((dataOptions.nFutureFrames ?? 0) < 1) {
    throw badOption(
      'N_FUTURE_FRAMES',
      'planning metrics need at least one future frame',
      'Evaluate a planning-stage model (N_FUTURE_FRAMES 6), or pass nFutureFrames.',
    );
  }
  const split = options.dataset.sceneNames ? undefined : (options.dataset.split ?? 'val');
  const spec = {
    dataroot: resolve(options.dataset.dataroot),
    version: options.dataset.version,
    split,
    sceneNames: options.dataset.sceneNames,
    options: dataOptions,
    hdmapFrames: 'present' as const,
    // The collision metric reads vehicles and pedestrians only; planners and metrics read the map otherwise.
    maps: !trajectoriesMode,
    images: useModel && (model?.predictor.needsImages ?? false),
    canBus: existsSync(join(options.dataset.dataroot, 'can_bus')),
  };
  const dataset = openSadDataset(spec);
  const S = dataset.options.timeReceptiveField;
  const F = dataset.options.nFutureFrames;
  let planned: PlannedSample[] = Array.from({ length: dataset.length }, (_, i) => ({
    datasetIndex: i,
    token: dataset.windowTokens(i)[S - 1],
  }));
  if (planned.length === 0) {
    throw new SpikedriveError(
      `${options.dataset.version} ${split ?? 'scenes'} of ${spec.dataroot} has no sample with ${S} past and ${F} future keyframes in one scene`,
      { subject: spec.dataroot, fix: 'Use a split with longer scenes, or fewer future frames.' },
    );
  }
  let trajectories: TrajectoriesFile | null = null;
  let missing = 0;
  let unknownTokens: string[] = [];
  if (trajectoriesMode) {
    trajectories = readTrajectoriesFile(options.trajectories as string);
    const inSplit = new Set(planned.map((p) => p.token));
    unknownTokens = [...trajectories.trajectories.keys()].filter((t) => !inSplit.has(t));
    const covered = planned.filter((p) => trajectories?.trajectories.has(p.token));
    if (covered.length === 0) {
      throw new SpikedriveError(
        `none of the ${trajectories.trajectories.size} tokens in ${trajectories.path} is the present frame of a sample of ${options.dataset.version} ${split ?? 'scenes'} (S = ${S}, F = ${F})`,
        {
          subject: trajectories.path,
          fix: 'Key each trajectory by the sample token of its present keyframe, and evaluate the split it came from (--split, --version, --dataroot).',
        },
      );
    }
    missing = planned.length - covered.length;
    planned = covered;
  }
  if (options.limit !== undefined) planned = planned.slice(0, options.limit);
  const total = planned.length;

  // --- settings, fingerprint, manifest
  const sampleNum = model?.sampleNum ?? options.sampleNum ?? 1800;
  const pluginPath = plannerSpec && isPluginPath(plannerSpec) ? resolvePluginPath(plannerSpec) : null;
  const plannerSha = pluginPath ? sha256(readFileSync(pluginPath)) : undefined;
  const xBound = [...dataset.options.xBound] as [number, number, number];
  const yBound = [...dataset.options.yBound] as [number, number, number];
  const settings: Record<string, unknown> = {
    inputs: trajectoriesMode ? 'trajectories' : inputs,
    dataset: {
      dataroot: spec.dataroot,
      version: spec.version,
      split: split ?? null,
      sceneNames: spec.sceneNames ?? null,
    },
    samples: sha256(planned.map((p) => p.token).join(',')),
    planner: trajectoriesMode
      ? { trajectories: trajectories?.sha256 }
      : {
          spec: pluginPath ?? plannerSpec,
          sha256: plannerSha ?? null,
          options: options.plannerOptions ?? {},
        },
    seed,
    S,
    F,
    grid: [xBound, yBound],
    sampleNum,
    model: useModel ? { configHash: model?.configHash, checkpoint: model?.checkpoint?.sha256 ?? null } : null,
    backend: useModel ? model?.backend.name : null,
    energy:
      useModel && model?.energy ? { profile: model.energy.profile.id, method: model.energy.method } : null,
    ...(useModel && model?.offload ? { offload: model.offload } : {}),
  };
  const fingerprint = sha256(canonical(settings)).slice(0, 32);

  // --- an existing run: resume, report as complete, or refuse
  let state: EvalState | null = null;
  const manifestExists = existsSync(join(out, 'manifest.json'));
  if (manifestExists && !options.overwrite) {
    const existing = await readRunFolder(out);
    const statePath = join(out, 'state.json');
    if (existsSync(statePath)) {
      const parsed = stateSchema.safeParse(await readJsonFile(statePath));
      if (!parsed.success) {
        throw new SpikedriveError(`${statePath} is not an evaluator state this spikedrive can resume`, {
          subject: statePath,
          fix: 'Start the run afresh with --overwrite (its run files are removed), or choose another --out.',
        });
      }
      state = parsed.data;
    } else if (existing.manifest.status === 'complete') {
      throw new SpikedriveError(
        `${out} holds a complete run that was not written by the evaluator (no state.json)`,
        {
          subject: out,
          fix: 'Choose another --out, or pass --overwrite to replace it.',
        },
      );
    }
    if (state && state.fingerprint !== fingerprint) {
      const differs = settingsDiff(state.settings, settings);
      throw new SpikedriveError(
        `${out} holds a run with other settings (${differs.join(', ') || 'settings'} differ${differs.length === 1 ? 's' : ''})`,
        {
          subject: out,
          fix: 'Resume it with the same options, choose another --out, or pass --overwrite to start afresh there.',
        },
      );
    }
    if (state && existing.manifest.status === 'complete') {
      return {
        dir: out,
        status: 'complete',
        alreadyComplete: true,
        resumedFrom: state.done.length,
        processed: 0,
        total,
        failures: state.failures,
        run: existing,
      };
    }
  }

  // --- the planner (not needed for trajectories)
  const plannerContext = {
    xBound,
    yBound,
    nFutureFrames: F,
    frameIntervalS: 0.5,
    sampleNum,
    options: options.plannerOptions ?? {},
  };
  const predictor: Predictor | null = trajectoriesMode
    ? null
    : useModel
      ? (model?.predictor ?? null)
      : new GroundTruthInputs();
  // The `sad` planner of a model evaluation runs through the model itself (instrumented, as the reference evaluates).
  const modelPlans = plannerSpec === 'sad' && useModel && (predictor?.canPlan ?? false);
  const planner: HostedPlanner | null =
    plannerSpec && !modelPlans
      ? await openPlanner(plannerSpec, {
          context: plannerContext,
          sad: model?.planning,
          costWeights: model?.costWeights,
          timeoutMs: options.planTimeoutMs,
          initTimeoutMs: options.pluginInitTimeoutMs,
          onOutput: options.onPluginOutput,
        })
      : null;

  const metrics = new MetricSet({
    nFuture: F,
    xBound,
    yBound,
    panoptic: useModel && (predictor?.needsInstances ?? false),
  });
  const costFunction = new CostFunction({ xBound, yBound, weights: model?.costWeights });
  let loader: SadLoader | null = null;
  try {
    const plannerLabel = trajectoriesMode
      ? (trajectories?.model ?? 'trajectories')
      : (planner?.name ?? plannerSpec ?? 'planner');
    const manifestBase = {
      label: `${plannerLabel} · ${trajectoriesMode ? 'trajectories' : inputs} · ${spec.version} ${split ?? 'scenes'}`,
      spikedrive: { version: '0.1.0', ...(gitCommit() ? { gitCommit: gitCommit() as string } : {}) },
      config: useModel
        ? (model?.config ?? {})
        : {
            producer: 'spikedrive eval',
            inputs: trajectoriesMode ? 'trajectories' : inputs,
            TIME_RECEPTIVE_FIELD: S,
            N_FUTURE_FRAMES: F,
            LIFT: { X_BOUND: xBound, Y_BOUND: yBound },
            PLANNING: { SAMPLE_NUM: sampleNum },
          },
      configHash: useModel ? (model?.configHash ?? '') : fingerprint.slice(0, 16),
      ...(useModel && model?.preset ? { preset: model.preset } : {}),
      seed,
      backend: useModel
        ? (model?.backend ?? { name: 'none', version: '-', threads: 1 })
        : { name: 'none', version: process.version, threads: 1, note: 'no network ran' },
      dataset: {
        dataroot: spec.dataroot,
        version: spec.version,
        split: split ?? 'scenes',
        sampleTokens: planned.map((p) => p.token),
      },
      checkpoint: useModel ? (model?.checkpoint ?? null) : null,
      planner: trajectoriesMode
        ? {
            name: plannerLabel,
            source: resolve(options.trajectories as string),
            apiVersion: PLANNER_API_VERSION,
          }
        : {
            name: planner?.name ?? String(plannerSpec),
            source: planner?.source ?? 'builtin',
            apiVersion: PLANNER_API_VERSION,
            ...(planner?.version ? { version: planner.version } : {}),
            ...(planner?.sha256 ? { sha256: planner.sha256 } : {}),
          },
      energyProfile: useModel && model?.energy ? model.energy.profile.id : 'none',
      ...(useModel && model?.offload ? { offload: model.offload } : {}),
      bev: { xBound, yBound, rows: dataset.grid.rows, cols: dataset.grid.cols },
      nFuture: F,
      receptiveField: S,
      evaluation: {
        inputs: trajectoriesMode ? 'trajectories' : inputs,
        fingerprint,
        limit: options.limit ?? null,
        sampleNum,
        samplerSeed: 'numpy seed = seed + dataset index',
        ...(trajectories
          ? { trajectoriesSha256: trajectories.sha256, missing, unknownTokens: unknownTokens.length }
          : {}),
        ...(planner?.isolated ? { planTimeoutMs: options.planTimeoutMs ?? 10_000, isolated: true } : {}),
        ...(planner ? { plannerInputs: planner.inputs ? [...planner.inputs] : ('all' as const) } : {}),
      },
    } as Omit<RunManifest, 'schema' | 'version' | 'status' | 'createdAt' | 'finishedAt'>;

    const writer = state
      ? await RunWriter.resume(out, { keep: new Set(state.done), manifest: manifestBase })
      : await RunWriter.create(out, manifestBase, { overwrite: options.overwrite || manifestExists });
    const done = new Set<string>(state?.done ?? []);
    const failures: SampleFailure[] = [...(state?.failures ?? [])];
    if (state) metrics.restore(state.metrics);
    let activity: ActivityRecord | null = (state?.activity as ActivityRecord | null) ?? null;
    let activityFrames = state?.activityFrames ?? 0;
    const previousMs = state?.elapsedMs ?? 0;
    const sessions = (state?.sessions ?? 0) + 1;
    const resumedFrom = done.size;
    const sessionStart = performance.now();
    const elapsed = () => previousMs + (performance.now() - sessionStart);

    const checkpoint = async (final: boolean) => {
      await writer.flush();
      const next: EvalState = {
        schema: STATE_SCHEMA,
        version: 1,
        fingerprint,
        settings,
        done: planned.filter((p) => done.has(p.token)).map((p) => p.token),
        failures,
        metrics: metrics.toJSON(),
        activity,
        activityFrames,
        elapsedMs: elapsed(),
        sessions,
      };
      await writer.writeState(next);
      await writer.writeMetrics(
        metricsFile(metrics, done.size, !final, failures.length, trajectoriesMode ? missing : undefined),
      );
    };

    const todo = planned.filter((p) => !done.has(p.token));
    const workers = options.loaderWorkers ?? 1;
    if (workers > 0 && todo.length > 1)
      loader = await SadLoader.open(spec, { workers, prefetch: 2 * workers });
    const needsInstances = predictor?.needsInstances ?? false;
    const load = (p: PlannedSample): Promise<SadSample> =>
      loader
        ? loader.load(p.datasetIndex)
        : spec.images
          ? dataset.getSample(p.datasetIndex)
          : Promise.resolve(dataset.getLabels(p.datasetIndex));
    // Prefetch: keep the next samples loading while this one is evaluated.
    const ahead = Math.max(1, workers * 2);
    const pending: Promise<SadSample>[] = [];
    let next = 0;
    const fill = () => {
      while (pending.length < ahead && next < todo.length) {
        const promise = load(todo[next++]);
        promise.catch(() => undefined);
        pending.push(promise);
      }
    };
    let processed = 0;
    let lastCheckpoint = performance.now();
    const checkpointEveryMs = options.checkpointEveryMs ?? 2000;
    const report = () =>
      options.onProgress?.({
        done: done.size,
        total,
        failed: failures.length,
        sessionDone: processed,
        elapsedMs: elapsed(),
        etaMs: processed > 0 ? ((performance.now() - sessionStart) / processed) * (total - done.size) : null,
      });
    report();
    fill();
    for (let k = 0; k < todo.length; k++) {
      if (options.signal?.aborted || (options.stopAfter !== undefined && processed >= options.stopAfter))
        break;
      const item = todo[k];
      const sampleStart = performance.now();
      const sample = await (pending.shift() as Promise<SadSample>);
      fill();
      const loadMs = performance.now() - sampleStart;
      const truth = sampleTruth(dataset, sample, { instance: needsInstances });
      const result = await evaluateSample({
        truth,
        sample,
        predictor,
        planner,
        modelPlans,
        trajectory: trajectories
          ? checkTrajectory(
              trajectories,
              item.token,
              trajectories.trajectories.get(item.token) as number[][],
              F,
            )
          : null,
        metrics,
        costFunction,
        seed,
        sampleNum,
        energy: useModel ? (model?.energy ?? null) : null,
      });
      if (result.activity) {
        activity = activity ? sumActivityRecords([activity, result.activity]) : result.activity;
        activityFrames += 1;
      }
      if (result.failure) failures.push({ token: item.token, ...result.failure });
      result.scalars.timingMs = {
        ...(result.scalars.timingMs as object),
        load: loadMs,
        sample: performance.now() - sampleStart,
      };
      await writer.addFrame(
        {
          token: truth.token,
          sceneToken: truth.sceneToken,
          sceneName: truth.sceneName,
          timestampUs: truth.timestampUs,
          scalars: result.scalars,
        },
        result.frame,
        { deferIndex: true },
      );
      done.add(item.token);
      processed += 1;
      if (performance.now() - lastCheckpoint >= checkpointEveryMs) {
        await checkpoint(false);
        lastCheckpoint = performance.now();
      }
      report();
    }
    const complete = done.size === total;
    await checkpoint(complete);
    if (complete) {
      if (activity && model?.energy) {
        const energy = computeEnergy(activity, {
          method: model.energy.method,
          profile: model.energy.profile,
          frames: activityFrames,
        });
        await writer.writeEnergy(energyReportToJson(energy) as unknown as Record<string, unknown>);
      }
      const { writeReport } = await import('./report.ts');
      await writeReport(out, { complete: true });
      await writer.complete();
    }
    report();
    return {
      dir: out,
      status: complete ? 'complete' : 'interrupted',
      alreadyComplete: false,
      resumedFrom,
      processed,
      total,
      failures,
      run: await readRunFolder(out),
    };
  } finally {
    await loader?.close();
    await planner?.dispose();
    costFunction.dispose();
  }
}

function metricsFile(
  metrics: MetricSet,
  samples: number,
  partial: boolean,
  failures: number,
  missing: number | undefined,
): MetricsFile {
  return {
    schema: 'spikedrive-metrics',
    version: 1,
    samples,
    ...(partial ? { partial: true } : {}),
    entries: metrics.entries({ failures, missing }),
  };
}

let commit: string | null | undefined;
function gitCommit(): string | null {
  if (commit !== undefined) return commit;
  commit = null;
  try {
    // Read .git/HEAD by hand: no subprocess per run, and no git needed on the machine.
    const root = resolve(new URL('../..', import.meta.url).pathname);
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) commit = head;
    else if (head.startsWith('ref: ')) {
      const ref = join(root, '.git', head.slice(5));
      if (existsSync(ref)) commit = readFileSync(ref, 'utf8').trim();
    }
  } catch {
    commit = null;
  }
  return commit;
}

interface SampleEvaluation {
  scalars: FrameScalars & Record<string, unknown>;
  frame: { arrays: Record<string, FrameArrayInput>; layerNames?: string[]; layerModules?: string[] };
  failure: { kind: string; message: string } | null;
  activity: ActivityRecord | null;
}

/** One sample: predictions, candidates, the plan, metric updates, the frame and its scalars. */
async function evaluateSample(args: {
  truth: SampleTruth;
  sample: SadSample;
  predictor: Predictor | null;
  planner: HostedPlanner | null;
  /** Plan with the predictor's model (the `sad` planner of a model evaluation). */
  modelPlans: boolean;
  trajectory: Float32Array | null;
  metrics: MetricSet;
  costFunction: CostFunction;
  seed: number;
  sampleNum: number;
  energy: EvaluationModel['energy'] | null;
}): Promise<SampleEvaluation> {
  const { truth, predictor, planner, metrics } = args;
  const { rows, cols, nFuture: F } = truth;
  const cells = rows * cols;
  const frames = F + 1;
  const arrays: Record<string, FrameArrayInput> = {
    gtSegmentation: { dtype: 'uint8', shape: [frames, rows, cols], data: truth.segmentation },
    gtPedestrian: { dtype: 'uint8', shape: [frames, rows, cols], data: truth.pedestrian },
    gtTrajectory: { dtype: 'float32', shape: [F + 1, 3], data: truth.gtTrajectory },
    command: { dtype: 'int32', shape: [1], data: Int32Array.of(PLANNING_COMMANDS.indexOf(truth.command)) },
  };
  if (truth.hdmap) arrays.gtHdmap = { dtype: 'uint8', shape: [2, rows, cols], data: truth.hdmap };
  const scalars: FrameScalars & Record<string, unknown> = { command: truth.command };
  const counts: Record<string, ClassCounts | number[]> = {};
  let layerNames: string[] | undefined;
  let layerModules: string[] | undefined;

  // Predictions (model or ground-truth inputs).
  let prediction: Prediction | null = null;
  if (predictor) {
    prediction = await predictor.predict(
      args.sample,
      truth,
      args.modelPlans ? { plan: { seed: args.seed } } : {},
    );
    const note = predictor.kind === 'ground-truth' ? ' (ground-truth input, no network)' : '';
    if (prediction.vehicleProb) {
      arrays.segmentation = {
        dtype: 'uint8',
        shape: [frames, rows, cols],
        data: probabilityBytes(prediction.vehicleProb),
        meaning: `vehicle probability ×255, frames present…present+F, [S′, X, Y]${note}`,
      };
    }
    if (prediction.pedestrianProb) {
      arrays.pedestrian = {
        dtype: 'uint8',
        shape: [frames, rows, cols],
        data: probabilityBytes(prediction.pedestrianProb),
        meaning: `pedestrian probability ×255, [S′, X, Y]${note}`,
      };
    }
    if (prediction.hdmapProb) {
      arrays.hdmap = {
        dtype: 'uint8',
        shape: [2, rows, cols],
        data: probabilityBytes(prediction.hdmapProb),
        meaning: `present HD map [lane divider, drivable area] foreground probability ×255, [2, X, Y]${note}`,
      };
    }
    if (prediction.costVolume) arrays.costVolume = costVolumeArray(prediction.costVolume, [F, rows, cols]);
    if (prediction.instances) arrays.instances = instanceArray(prediction.instances, [frames, rows, cols]);
    // Perception (present frame) and prediction (present + future) metrics: model predictions only.
    if (predictor.kind === 'model') {
      const present = (a: Uint8Array) => a.subarray(0, cells);
      if (prediction.vehicleClass) {
        counts['vehicle@present'] = metrics.updateIou(
          'vehicle@present',
          present(prediction.vehicleClass),
          present(truth.segmentation),
        );
        counts.vehicle = metrics.updateIou('vehicle', prediction.vehicleClass, truth.segmentation);
      }
      if (prediction.pedestrianClass) {
        counts['pedestrian@present'] = metrics.updateIou(
          'pedestrian@present',
          present(prediction.pedestrianClass),
          present(truth.pedestrian),
        );
        counts.pedestrian = metrics.updateIou('pedestrian', prediction.pedestrianClass, truth.pedestrian);
      }
      if (prediction.hdmapClass && truth.hdmap) {
        counts['lane@present'] = metrics.updateIou(
          'lane@present',
          prediction.hdmapClass.subarray(0, cells),
          truth.hdmap.subarray(0, cells),
        );
        counts['drivable@present'] = metrics.updateIou(
          'drivable@present',
          prediction.hdmapClass.subarray(cells),
          truth.hdmap.subarray(cells),
        );
      }
      if (prediction.instances && truth.instance) {
        const pq = metrics.updatePanoptic(prediction.instances, truth.instance, {
          frames,
          height: rows,
          width: cols,
        });
        if (pq) counts.panopticVehicle = pq;
      }
    }
  }
  if (Object.keys(counts).length > 0) scalars.counts = counts;

  // Energy and firing rates of this frame.
  let activity: ActivityRecord | null = null;
  if (prediction?.activity) {
    activity = prediction.activity;
    const layers = activity.layers;
    layerNames = layers.map((l) => l.name);
    layerModules = layers.map((l) => l.module);
    arrays.firingRates = {
      dtype: 'float32',
      shape: [layers.length],
      data: Float32Array.from(layers, (l) => (l.outputElements > 0 ? l.outputSpikes / l.outputElements : 0)),
    };
    if (args.energy) {
      const report = computeEnergy(activity, {
        method: args.energy.method,
        profile: args.energy.profile,
        frames: 1,
      });
      arrays.energyJ = {
        dtype: 'float32',
        shape: [layers.length],
        data: Float32Array.from(report.layers, (l) => l.energyJ),
      };
      scalars.energyMj = Object.fromEntries(report.modules.map((m) => [m.module, m.energyJ * 1e3]));
    }
  }

  // Candidates from SAD's sampler (seeded by the sample's dataset index), scored by the reference cost function.
  const observation: HostObservation = { sampleToken: truth.token, ...(prediction?.plannerInputs ?? {}) };
  const wants = (input: PlannerInputName) =>
    args.modelPlans || (planner !== null && (planner.inputs === null || planner.inputs.includes(input)));
  let thirdStart = 0;
  if (truth.samplerInputs && (planner || args.modelPlans) && (wants('candidates') || predictor)) {
    const set = sampleTrajectories(
      truth.samplerInputs,
      numpyRandomState((args.seed + truth.datasetIndex) >>> 0),
      {
        sampleNum: args.sampleNum,
        nFutureFrames: F,
      },
    );
    const all = withoutOrigin(set.data, args.sampleNum, F + 1);
    observation.candidates = { data: all, shape: [args.sampleNum, F, 3] };
    const [start, end] = commandThird(truth.command, args.sampleNum);
    thirdStart = start;
    const third = all.slice(start * F * 3, end * F * 3);
    arrays.candidates = { dtype: 'float32', shape: [end - start, F, 3], data: third };
    const inputs = prediction?.plannerInputs;
    if (inputs?.occupancy && inputs.hdmap) {
      const scored = args.costFunction.score(third, end - start, F, {
        occupancy: inputs.occupancy.data,
        hdmap: { data: inputs.hdmap.data, channels: inputs.hdmap.channels },
        costVolume: inputs.costVolume?.data ?? new Float32Array(F * cells),
      });
      if (scored.total)
        arrays.candidateCosts = { dtype: 'float32', shape: [end - start], data: scored.total };
    }
  }
  if (truth.samplerInputs) {
    observation.egoState = {
      v0Mps: truth.samplerInputs.v0Mps,
      steeringRad: truth.samplerInputs.steeringRad,
      history: [],
    };
  } else observation.egoState = { history: [] };
  observation.command = truth.command;
  observation.gtTrajectory = Array.from({ length: F }, (_, t) => {
    const o = 3 * (t + 1);
    return [truth.gtTrajectory[o], truth.gtTrajectory[o + 1], truth.gtTrajectory[o + 2]] as const;
  });

  // The plan.
  let plannedTrajectory: Float32Array | null = args.trajectory;
  let failure: SampleEvaluation['failure'] = null;
  const latency: Record<string, number> = { ...(prediction?.latencyMs ?? {}) };
  const outcome: PlanOutcome | null = args.modelPlans
    ? (prediction?.modelPlan ?? null)
    : planner
      ? await planner.plan(observation)
      : null;
  if (outcome) {
    latency.planning = outcome.planMs ?? outcome.callMs;
    scalars.timingMs = { planCall: outcome.callMs };
    if (outcome.ok) {
      plannedTrajectory = Float32Array.from(outcome.trajectory.flat());
      if (Object.keys(outcome.meta).length > 0) scalars.plannerMeta = outcome.meta;
      const selected = outcome.meta.selectedIndex;
      if (typeof selected === 'number' && arrays.candidates) {
        arrays.selectedIndex = { dtype: 'int32', shape: [1], data: Int32Array.of(selected - thirdStart) };
      }
    } else {
      failure = { kind: outcome.kind, message: outcome.message };
      scalars.plannerFailure = {
        kind: outcome.kind,
        message: outcome.message,
        ...(outcome.fix ? { fix: outcome.fix } : {}),
        ...(outcome.stack ? { stack: outcome.stack.split('\n').slice(0, 8).join('\n') } : {}),
      };
    }
  }
  const moduleLatency = ['perception', 'prediction', 'planning'].map((m) => latency[m] ?? 0);
  scalars.latencyMs = { ...latency, total: moduleLatency.reduce((a, b) => a + b, 0) };

  if (plannedTrajectory) {
    arrays.plannedTrajectory = { dtype: 'float32', shape: [F, 3], data: plannedTrajectory };
    const r = metrics.updatePlanning({
      plannedTrajectory,
      gtTrajectory: gtFuture(truth),
      gtOccupancy: truth.occupancy,
      pointDims: 3,
    });
    scalars.l2M = horizonMeans(r.l2M);
    scalars.objCol = horizonMeans(r.objCol);
    scalars.objBoxCol = horizonMeans(r.objBoxCol);
    scalars.perStep = {
      l2M: r.l2M,
      objCol: r.objCol.map(Number),
      objBoxCol: r.objBoxCol.map(Number),
      gtBoxCol: r.gtBoxCol.map(Number),
    };
  }
  return { scalars, frame: { arrays, layerNames, layerModules }, failure, activity };
}
