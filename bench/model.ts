// `npm run bench -- model [--presets cpu-small,paper] [--backends wasm,cpu] [--runs 3] [--train-steps 3]`:
// the whole SAD model (planning stage: perception → prediction → decoder → planner), B = 1, eval mode, one JSON
// line per case:
//   model-<preset>          per-module forward latency (medians over --runs after one warm-up), total and frames/s,
//                           with the process's CPU time; cpu-small uses the shipped checkpoint when present
//   model-train-<preset>    training samples/s (forward + all losses + backward + Adam) on cpu-small
//   model-load              the machine's load average at start and end (other work shares the 2 cores)
// The goal (issue 5): cpu-small faster than real time (2 Hz keyframes: total < 500 ms); paper within 2× of the
// reference PyTorch forward on this CPU (sad.md §14: ~131 s with 2 threads, ~265 s with one, F = 6).
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  Adam,
  applyStage,
  clipGradientsByGlobalNorm,
  disposeSadOutput,
  LossWeights,
  loadSadConfig,
  openModel,
  randomModelInput,
  randomTrainingBatch,
  type SadConfig,
  SadModel,
  SHIPPED_MODEL_PATH,
  trainingObjective,
} from '../src/pipeline/index.ts';
import { type BackendName, selectBackend } from '../src/snn/index.ts';
import { createRng } from '../src/util/rng.ts';
import { benchOption, median } from './_util.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => benchOption(name, fallback, args);
const presets = option('presets', 'cpu-small,paper').split(',');
const backends = option('backends', 'wasm,cpu').split(',') as BackendName[];
const runs = Number(option('runs', '3'));
const trainSteps = Number(option('train-steps', '3'));
const round = (v: number) => Math.round(v * 10) / 10;
const roundedMedian = (v: number[]) => round(median(v));

console.log(
  JSON.stringify({ bench: 'model-load', backend: 'host', phase: 'start', loadavg: loadavg().map(round) }),
);

function buildModel(preset: string): { model: SadModel; config: SadConfig; weights: string } {
  if (preset === 'cpu-small' && existsSync(SHIPPED_MODEL_PATH)) {
    const opened = openModel();
    return { model: opened.model, config: opened.config, weights: 'shipped' };
  }
  const config = applyStage(loadSadConfig(preset), 'planning');
  const model = new SadModel(config, { referenceInit: preset !== 'paper' });
  model.eval();
  return { model, config, weights: 'random' };
}

for (const backendName of backends) {
  let selected: Awaited<ReturnType<typeof selectBackend>>;
  try {
    selected = await selectBackend({ preferred: backendName });
  } catch (error) {
    console.log(
      JSON.stringify({ bench: 'model-skip', backend: backendName, reason: (error as Error).message }),
    );
    continue;
  }
  const backend = selected.name;
  for (const preset of presets) {
    const { model, config, weights } = buildModel(preset);
    const input = randomModelInput(config, 1, 7);
    const laps: Record<string, number[]> = {
      perception: [],
      prediction: [],
      decoder: [],
      planning: [],
      total: [],
    };
    const cpu: number[] = [];
    for (let run = 0; run <= runs; run++) {
      const timings: Record<string, number> = {};
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const out = model.forward(input, { timings });
      const t1 = performance.now();
      const plan = model.planning
        ? model.plan(out, {
            commands: ['FORWARD'],
            samplerInputs: [{ v0Mps: 5, steeringRad: 0 }],
            rng: createRng(run),
          })
        : null;
      const t2 = performance.now();
      const c = process.cpuUsage(c0);
      if (plan) tf.dispose([plan.trajectory, plan.selected]);
      disposeSadOutput(out);
      if (run === 0) continue; // warm-up: builds folded-BN and fused-head caches
      for (const k of ['perception', 'prediction', 'decoder']) laps[k].push(timings[k]);
      laps.planning.push(t2 - t1);
      laps.total.push(t2 - t0);
      cpu.push((c.user + c.system) / 1000);
    }
    const total = roundedMedian(laps.total);
    console.log(
      JSON.stringify({
        bench: `model-${preset}`,
        backend,
        threads: selected.threads,
        weights,
        image: config.IMAGE.FINAL_DIM,
        bev: [config.LIFT.X_BOUND, config.LIFT.Y_BOUND].map((b) => Math.round((b[1] - b[0]) / b[2])),
        frames: config.TIME_RECEPTIVE_FIELD + config.N_FUTURE_FRAMES,
        perception_ms: roundedMedian(laps.perception),
        prediction_ms: roundedMedian(laps.prediction),
        decoder_ms: roundedMedian(laps.decoder),
        planning_ms: roundedMedian(laps.planning),
        total_ms: total,
        total_ms_min: round(Math.min(...laps.total)),
        cpu_ms: roundedMedian(cpu),
        frames_per_s: Math.round((1000 / total) * 1000) / 1000,
        runs,
      }),
    );
    tf.dispose(Object.values(input));
    model.dispose();

    if (preset === 'cpu-small' && trainSteps > 0) {
      const train = new SadModel(config);
      train.train();
      const lossWeights = new LossWeights(config);
      const named = new Map<string, tf.Variable>();
      const params = [...train.namedParameters(), ...lossWeights.namedParameters()].filter(
        (p) => p.trainable,
      );
      const vars = [...train.trainableVariables(), ...lossWeights.trainableVariables()];
      for (let i = 0; i < params.length; i++) named.set(params[i].name, vars[i]);
      const adam = new Adam({ learningRate: 1e-4 });
      const batch = randomTrainingBatch(config, 3);
      const times: number[] = [];
      for (let step = 0; step <= trainSteps; step++) {
        const t0 = performance.now();
        const { value, grads } = tf.variableGrads(() => {
          const out = train.forward(batch.input, { sample: true, rng: createRng(step) });
          const objective = trainingObjective(train, out, batch, lossWeights, createRng(`s${step}`));
          disposeSadOutput(out);
          tf.dispose(Object.values(objective.terms));
          return objective.total;
        }, vars);
        const byName: Record<string, tf.Tensor> = {};
        for (const [name, v] of named) if (grads[v.name]) byName[name] = grads[v.name];
        const clipped = clipGradientsByGlobalNorm(byName, config.GRAD_NORM_CLIP);
        adam.apply(named, clipped.grads);
        tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
        if (step > 0) times.push(performance.now() - t0);
      }
      const step = roundedMedian(times);
      console.log(
        JSON.stringify({
          bench: `model-train-${preset}`,
          backend,
          threads: selected.threads,
          batch: batch.size,
          step_ms: step,
          samples_per_s: Math.round((1000 / step) * 1000) / 1000,
          steps: trainSteps,
          note: 'one fixed batch (no data loading)',
        }),
      );
      batch.dispose();
      adam.dispose();
      train.dispose();
      lossWeights.dispose();
    }
  }
}
console.log(
  JSON.stringify({ bench: 'model-load', backend: 'host', phase: 'end', loadavg: loadavg().map(round) }),
);
