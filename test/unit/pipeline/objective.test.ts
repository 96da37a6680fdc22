// The training objective on cpu-tiny: every enabled term present, uncertainty weights named as the reference's,
// gradients reaching every stage, and the loss going down over a few Adam steps on one batch.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  applyStage,
  clipGradientsByGlobalNorm,
  disposeSadOutput,
  LossWeights,
  loadSadConfig,
  randomTrainingBatch,
  SadModel,
  trainingObjective,
} from '../../../src/pipeline/index.ts';
import { selectBackend } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/index.ts';

beforeAll(async () => {
  // The conv gradients of the plain cpu back end take minutes even at cpu-tiny; the patched kernels take seconds.
  tf.env().set('IS_TEST', true);
  await selectBackend({ preferred: 'cpu' });
});

describe('trainingObjective', () => {
  it('planning stage: weighted vehicle, pedestrian, HD-map and planning terms; gradients reach every stage', () => {
    const config = applyStage(loadSadConfig('cpu-tiny'), 'planning');
    const model = new SadModel(config);
    model.train();
    const weights = new LossWeights(config);
    expect(weights.namedParameters().map((p) => p.name)).toEqual([
      'segmentation_weight',
      'pedestrian_weight',
      'hdmap_weight',
      'planning_weight',
    ]);
    const batch = randomTrainingBatch(config);
    let termNames: string[] = [];
    const vars = [...model.trainableVariables(), ...weights.trainableVariables()];
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(batch.input, { sample: true, rng: createRng(1) });
      const objective = trainingObjective(model, out, batch, weights, createRng(2));
      termNames = Object.keys(objective.terms).sort();
      disposeSadOutput(out);
      tf.dispose(Object.values(objective.terms));
      return objective.total;
    }, vars);
    expect(termNames).toEqual([
      'hdmap',
      'hdmap_weighted',
      'pedestrian',
      'pedestrian_weighted',
      'planning',
      'planning_imitation',
      'planning_max_margin',
      'planning_weighted',
      'segmentation',
      'segmentation_weighted',
    ]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const names = new Map(
      [...model.namedParameters(), ...weights.namedParameters()]
        .filter((p) => p.trainable)
        .map((p, i) => [vars[i].name, p.name]),
    );
    const reached = Object.keys(grads).map((k) => names.get(k) ?? k);
    for (const prefix of [
      'encoder.',
      'present_distribution.',
      'future_prediction.',
      'decoder.',
      'planning.',
      'planning_weight',
    ]) {
      expect(
        reached.some((n) => n.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    batch.dispose();
    model.dispose();
    weights.dispose();
  });

  it('perception stage: the loss decreases over a few Adam steps on one batch', () => {
    const config = applyStage(loadSadConfig('cpu-tiny'), 'perception');
    const model = new SadModel(config);
    model.train();
    const weights = new LossWeights(config);
    const batch = randomTrainingBatch(config);
    const named = new Map<string, tf.Variable>();
    const params = [...model.namedParameters(), ...weights.namedParameters()].filter((p) => p.trainable);
    const vars = [...model.trainableVariables(), ...weights.trainableVariables()];
    params.forEach((p, i) => {
      named.set(p.name, vars[i]);
    });
    const adam = new Adam({ learningRate: 3e-3, weightDecay: 1e-7 });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(batch.input);
        const objective = trainingObjective(model, out, batch, weights, createRng(step));
        disposeSadOutput(out);
        tf.dispose(Object.values(objective.terms));
        return objective.total;
      }, vars);
      losses.push(value.dataSync()[0]);
      const byName: Record<string, tf.Tensor> = {};
      for (const [name, v] of named) if (grads[v.name]) byName[name] = grads[v.name];
      const clipped = clipGradientsByGlobalNorm(byName, 5);
      adam.apply(named, clipped.grads);
      tf.dispose([value, ...Object.values(grads), ...Object.values(clipped.grads)]);
    }
    expect(losses[4]).toBeLessThan(losses[0]);
    adam.dispose();
    batch.dispose();
    model.dispose();
    weights.dispose();
  });
});
