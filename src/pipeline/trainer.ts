// The training loop (reference train.py + PyTorch Lightning's fit): seeded shuffling, Adam with L2 weight decay,
// global-norm gradient clipping, a progress bar (loss, samples/s, ETA), validation every epoch, atomic checkpoints
// every N steps and at each epoch end, `--resume` after an interruption (Ctrl-C saves before stopping), and
// stage-to-stage initialisation that drops every tensor whose name contains "decoder" (train.py:25-33).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SingleBar } from 'cli-progress';
import {
  type SadDatasetSpec,
  SadLoader,
  type SadSample,
  sadDataOptionsFromConfig,
} from '../../data-loaders/sad/index.ts';
import { backendInfo, type StateTensor } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { createRng } from '../util/rng.ts';
import { type PreparedBatch, prepareBatch } from './batch.ts';
import './tf-fixes.ts';
import { checkpointPaths, loadCheckpoint, saveCheckpoint } from './checkpoint.ts';
import type { SadConfig } from './config.ts';
import { disposeSadOutput, SadModel } from './model.ts';
import { LossWeights, trainingObjective } from './objective.ts';
import { Adam, clipGradientsByGlobalNorm } from './optimizer.ts';
import type { TrainingStage } from './stages.ts';
import { ValidationAccumulator, type ValidationMetrics } from './validate.ts';

export interface TrainOptions {
  /** The config with the stage's switches applied (`applyStage`). */
  config: SadConfig;
  stage: TrainingStage;
  dataroot: string;
  version: string;
  /** Folder for `<stage>.safetensors` (+ .json, .optim.safetensors). */
  outDir: string;
  /** Continue from `<outDir>/<stage>.safetensors` (weights, optimiser, step, epoch). */
  resume?: boolean;
  /** Previous stage's checkpoint to start from (PRETRAINED.PATH). */
  init?: string | null;
  /** Drop tensors whose name contains "decoder" when initialising from `init` (the reference; default true). */
  dropDecoderKeys?: boolean;
  /** Loader worker threads (default: N_WORKERS capped at 2; 0 = this thread). */
  workers?: number;
  /** Preprocessed-image cache root (default `$SPIKEDRIVE_CACHE/images`); null disables it. */
  imageCache?: string | null;
  /** Progress bar on stderr (default: when stderr is a TTY; otherwise a line per 10 %). */
  progress?: boolean;
  log?: (line: string) => void;
  /** Stops after the step in progress, with a checkpoint (Ctrl-C sets it). */
  signal?: AbortSignal;
  /** Restrict the scenes (tests). */
  sceneNames?: { train?: readonly string[]; val?: readonly string[] };
}

export interface TrainResult {
  checkpoint: string;
  steps: number;
  epochs: number;
  metrics: ValidationMetrics;
  /** Loss of each step run in this call. */
  losses: number[];
  samplesPerSecond: number;
  interrupted: boolean;
}

export function defaultImageCacheRoot(): string {
  const cache =
    process.env.SPIKEDRIVE_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'spikedrive');
  return join(cache, 'images');
}

/** Keeps the tensors `keep` accepts (by name) from a checkpoint; the reference's stage loading drops "decoder". */
export function filterStageTensors(
  tensors: Map<string, StateTensor>,
  dropDecoderKeys: boolean,
): Map<string, StateTensor> {
  if (!dropDecoderKeys) return tensors;
  return new Map([...tensors].filter(([name]) => !name.includes('decoder')));
}

/** All trainable variables by checkpoint name (model and loss weights). */
function trainableByName(model: SadModel, weights: LossWeights): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const module of [model, weights]) {
    const names = module.namedParameters().filter((p) => p.trainable);
    const vars = module.trainableVariables();
    if (names.length !== vars.length) throw new Error('parameter bookkeeping mismatch');
    for (let i = 0; i < names.length; i++) out.set(names[i].name, vars[i]);
  }
  return out;
}

function allTensors(model: SadModel, weights: LossWeights): Map<string, StateTensor> {
  const out = model.stateDict();
  for (const [k, v] of weights.stateDict()) out.set(k, v);
  return out;
}

/** Loads model + loss-weight tensors; unexpected names are reported back. */
export function loadModelTensors(
  model: SadModel,
  weights: LossWeights | null,
  tensors: Map<string, StateTensor>,
  options: { strict: boolean; source: string },
): { missing: string[]; unexpected: string[] } {
  const report = model.loadStateDict(tensors, options);
  let unexpected = report.unexpected;
  const missing = [...report.missing];
  if (weights) {
    const w = weights.loadStateDict(new Map([...tensors].filter(([k]) => unexpected.includes(k))), {
      strict: false,
      source: options.source,
    });
    missing.push(...w.missing);
    unexpected = w.unexpected;
  }
  return { missing, unexpected };
}

/** Async batches of an epoch with one batch prefetched. */
async function* epochBatches(
  loader: SadLoader,
  order: number[],
  batchSize: number,
  skip: number,
  config: SadConfig,
): AsyncGenerator<PreparedBatch> {
  const groups: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) groups.push(order.slice(i, i + batchSize));
  const load = (g: number[]) => {
    const p = Promise.all(g.map((i) => loader.load(i)));
    p.catch(() => {});
    return p;
  };
  let next: Promise<SadSample[]> | null = skip < groups.length ? load(groups[skip]) : null;
  for (let k = skip; k < groups.length; k++) {
    const samples = await (next as Promise<SadSample[]>);
    next = k + 1 < groups.length ? load(groups[k + 1]) : null;
    yield prepareBatch(samples, config);
  }
}

/** Runs validation over (at most `maxSamples` of) a loader; eval mode, ε = 0, seeded sampler. */
export async function validate(
  model: SadModel,
  loader: SadLoader,
  options: {
    maxSamples?: number;
    seed?: number | string;
    onBatch?: (done: number, total: number) => void;
  } = {},
): Promise<ValidationMetrics> {
  const config = model.config;
  const wasTraining = model.training;
  model.eval();
  const acc = new ValidationAccumulator(config);
  const total =
    options.maxSamples && options.maxSamples > 0
      ? Math.min(options.maxSamples, loader.length)
      : loader.length;
  const order = Array.from({ length: total }, (_, i) => i);
  let done = 0;
  try {
    for await (const batch of epochBatches(loader, order, config.BATCHSIZE, 0, config)) {
      try {
        const output = model.forward(batch.input, { sample: false });
        const plan = model.planning
          ? model.plan(output, {
              commands: batch.commands,
              samplerInputs: batch.samplerInputs,
              rng: createRng(`${options.seed ?? config.SEED}/val-sampler/${done}`),
              targetPoints: batch.targetPoints,
            })
          : null;
        acc.update(batch, output, plan);
        if (plan) tf.dispose([plan.trajectory, plan.selected]);
        disposeSadOutput(output);
      } finally {
        batch.dispose();
      }
      done += batch.size;
      options.onBatch?.(done, total);
    }
  } finally {
    if (wasTraining) model.train();
  }
  return acc.compute();
}

function formatMetrics(m: ValidationMetrics): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${k === 'samples' ? v : v.toFixed(4)}`)
    .join(', ');
}

/** Trains one stage. Resolves when EPOCHS (or TRAIN.MAX_STEPS) are done or the signal stops it. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const config = options.config;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const paths = checkpointPaths(join(options.outDir, `${options.stage}.safetensors`));
  const dataOptions = sadDataOptionsFromConfig(config);
  const imageCache =
    options.imageCache === null ? undefined : (options.imageCache ?? defaultImageCacheRoot());
  const spec = (split: 'train' | 'val'): SadDatasetSpec => ({
    dataroot: options.dataroot,
    version: options.version,
    split,
    sceneNames: options.sceneNames?.[split],
    options: dataOptions,
    imageCache,
    hdmapFrames: 'present',
  });
  const workers = options.workers ?? Math.min(2, config.N_WORKERS);
  const trainLoader = await SadLoader.open(spec('train'), { workers, shuffle: true, seed: config.SEED });
  const valLoader = await SadLoader.open(spec('val'), { workers });
  if (trainLoader.length === 0) {
    await Promise.all([trainLoader.close(), valLoader.close()]);
    throw new SpikedriveError(`${options.dataroot} (${options.version}) has no training samples`, {
      subject: options.dataroot,
      fix: `Each scene needs ${config.TIME_RECEPTIVE_FIELD + config.N_FUTURE_FRAMES} consecutive keyframes; generate a larger world (spikedrive data synth).`,
    });
  }
  const model = new SadModel(config);
  const weights = new LossWeights(config);
  const adam = new Adam({ learningRate: config.OPTIMIZER.LR, weightDecay: config.OPTIMIZER.WEIGHT_DECAY });
  const frozen = config.TRAIN.FREEZE;
  const trainable = trainableByName(model, weights);
  const variables = new Map(
    [...trainable].filter(([name]) => !frozen.some((prefix) => name.startsWith(prefix))),
  );
  if (frozen.length > 0 && variables.size === trainable.size) {
    throw new SpikedriveError(`TRAIN.FREEZE ${JSON.stringify(frozen)} matches no parameter`, {
      subject: 'TRAIN.FREEZE',
      fix: 'use prefixes of checkpoint names, e.g. "encoder." (see the .safetensors header)',
    });
  }
  let step = 0;
  let completedEpochs = 0;
  let metrics: ValidationMetrics = {};

  if (options.resume && existsSync(paths.tensors)) {
    const ckpt = loadCheckpoint(paths.tensors, { withOptimizer: true });
    if (ckpt.meta === null || ckpt.meta.stage !== options.stage) {
      throw new SpikedriveError(
        `${paths.tensors} is not a ${options.stage}-stage checkpoint of spikedrive train`,
        {
          subject: paths.tensors,
          fix: 'Resume with the stage it was trained for, or choose another --out folder.',
        },
      );
    }
    loadModelTensors(model, weights, ckpt.tensors, { strict: true, source: paths.tensors });
    if (ckpt.optimizer) {
      adam.setState(ckpt.optimizer, new Map([...variables].map(([k, v]) => [k, [...v.shape]])));
    }
    step = ckpt.meta.step;
    completedEpochs = ckpt.meta.epoch;
    metrics = ckpt.meta.metrics;
    log(`resuming ${options.stage} from step ${step} (epoch ${completedEpochs} done): ${paths.tensors}`);
  } else if (options.init) {
    const init = loadCheckpoint(options.init);
    const kept = filterStageTensors(init.tensors, options.dropDecoderKeys ?? true);
    const r = loadModelTensors(model, weights, kept, { strict: false, source: options.init });
    log(
      `initialised from ${options.init}: ${kept.size - r.unexpected.length} tensors loaded, ` +
        `${init.tensors.size - kept.size} decoder tensors dropped, ${r.missing.length} new (initialised fresh)`,
    );
  }
  model.train();
  adam.learningRate = config.OPTIMIZER.LR;

  const batchSize = config.BATCHSIZE;
  const perEpoch = Math.ceil(trainLoader.length / batchSize);
  const maxSteps = config.TRAIN.MAX_STEPS > 0 ? config.TRAIN.MAX_STEPS : config.EPOCHS * perEpoch;
  const totalSteps = Math.min(maxSteps, config.EPOCHS * perEpoch);
  const backend = backendInfo();

  const save = async (epochs: number) => {
    await saveCheckpoint(paths.tensors, {
      tensors: allTensors(model, weights),
      config,
      stage: options.stage,
      step,
      epoch: epochs,
      backend,
      metrics,
      optimizer: adam.getState(),
      notes: { dataroot: options.dataroot, version: options.version },
    });
  };
  const runValidation = async (epoch: number) => {
    const start = performance.now();
    metrics = await validate(model, valLoader, {
      maxSamples: config.TRAIN.VAL_MAX_SAMPLES,
      seed: config.SEED,
    });
    log(
      `epoch ${epoch + 1} validation (${((performance.now() - start) / 1000).toFixed(0)} s): ${formatMetrics(metrics)}`,
    );
  };

  const losses: number[] = [];
  let interrupted = false;
  let samplesDone = 0;
  const started = performance.now();
  const tty = options.progress ?? process.stderr.isTTY === true;
  let bar: SingleBar | null = null;
  if (tty) {
    bar = new SingleBar({
      format: `${options.stage} |{bar}| {value}/{total} steps | loss {loss} | {rate} samples/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 20,
    });
    bar.start(totalSteps, step, { loss: '-', rate: '-' });
  }
  try {
    let startEpoch = Math.floor(step / perEpoch);
    if (completedEpochs < startEpoch) {
      // Interrupted between the epoch's last step and its validation.
      await runValidation(startEpoch - 1);
      completedEpochs = startEpoch;
      await save(completedEpochs);
    }
    startEpoch = completedEpochs;
    outer: for (let epoch = startEpoch; epoch < config.EPOCHS && step < maxSteps; epoch++) {
      const order = trainLoader.order(epoch);
      const skip = step - epoch * perEpoch;
      for await (const batch of epochBatches(trainLoader, order, batchSize, Math.max(0, skip), config)) {
        const stepRng = createRng(`${config.SEED}/train/step-${step}`);
        let lossValue = Number.NaN;
        try {
          const varList = [...variables.values()];
          const { value, grads } = tf.variableGrads(() => {
            const output = model.forward(batch.input, { sample: true, rng: stepRng.fork('latent') });
            const objective = trainingObjective(model, output, batch, weights, stepRng.fork('sampler'));
            disposeSadOutput(output);
            tf.dispose(Object.values(objective.terms));
            return objective.total;
          }, varList);
          lossValue = value.dataSync()[0];
          value.dispose();
          if (!Number.isFinite(lossValue)) {
            tf.dispose(Object.values(grads));
            throw new SpikedriveError(`the training loss became ${lossValue} at step ${step}`, {
              subject: 'OPTIMIZER.LR',
              fix: `Lower OPTIMIZER.LR (now ${config.OPTIMIZER.LR}) and resume from the last checkpoint (--resume).`,
            });
          }
          // variableGrads keys gradients by tf.Variable name; the optimiser by checkpoint name.
          const byName: Record<string, tf.Tensor> = {};
          for (const [name, v] of variables) if (grads[v.name]) byName[name] = grads[v.name];
          const clipped = clipGradientsByGlobalNorm(byName, config.GRAD_NORM_CLIP);
          tf.dispose(Object.values(grads));
          adam.apply(variables, clipped.grads);
          tf.dispose(Object.values(clipped.grads));
        } finally {
          batch.dispose();
        }
        step++;
        samplesDone += batch.size;
        losses.push(lossValue);
        const rate = samplesDone / ((performance.now() - started) / 1000);
        if (bar) bar.update(step, { loss: lossValue.toFixed(4), rate: rate.toFixed(2) });
        else {
          // Without a terminal: a line every ~5 % of the run (at least every 10 steps), for logs.
          const every = Math.max(1, Math.min(10, Math.floor(totalSteps / 20)));
          if (step % every === 0 || step === 1 || step === totalSteps) {
            log(
              `${options.stage} step ${step}/${totalSteps} loss ${lossValue.toFixed(4)} ${rate.toFixed(2)} samples/s`,
            );
          }
        }
        if (step % config.TRAIN.CHECKPOINT_EVERY_STEPS === 0) await save(completedEpochs);
        if (options.signal?.aborted) {
          interrupted = true;
          break outer;
        }
        if (step >= maxSteps) break;
      }
      if (step >= (epoch + 1) * perEpoch || step >= maxSteps) {
        bar?.stop();
        await runValidation(epoch);
        completedEpochs = epoch + 1;
        await save(completedEpochs);
        bar?.start(totalSteps, step, { loss: losses.at(-1)?.toFixed(4) ?? '-', rate: '-' });
      }
    }
    if (interrupted) {
      await save(completedEpochs);
      log(`stopped at step ${step}; checkpoint saved: ${paths.tensors} (continue with --resume)`);
    }
  } finally {
    bar?.stop();
    await Promise.all([trainLoader.close(), valLoader.close()]);
    adam.dispose();
    model.dispose();
    weights.dispose();
  }
  return {
    checkpoint: paths.tensors,
    steps: step,
    epochs: completedEpochs,
    metrics,
    losses,
    samplesPerSecond: samplesDone / ((performance.now() - started) / 1000),
    interrupted,
  };
}
