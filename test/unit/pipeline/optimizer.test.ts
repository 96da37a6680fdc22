// Adam with L2 weight decay and global-norm clipping against torch.optim.Adam + clip_grad_norm_ (torch 1.13, run
// here: lr 0.1, weight decay 0.01, max norm 5, the gradients below; results in the comments).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, clipGradientsByGlobalNorm } from '../../../src/pipeline/index.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Adam + clip_grad_norm_', () => {
  it('reproduces three torch steps (decay added to the gradient, eps outside the bias-corrected root)', () => {
    const p = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const q = tf.variable(tf.tensor2d([[3, 4]]));
    const variables = new Map<string, tf.Variable>([
      ['p', p],
      ['q', q],
    ]);
    const adam = new Adam({ learningRate: 0.1, weightDecay: 0.01 });
    const steps: [number[], number[][]][] = [
      [[0.5, -1, 0], [[30, 40]]],
      [[0.5, 2, -0.25], [[-3, 4]]],
      [[0.1, 0.1, 0.1], [[0, 1]]],
    ];
    const torchNorms = [50.01249694824219, 5.414102077484131, 1.014889121055603];
    const torchP = [
      [0.9000000357627869, -1.899999976158142, 0.4000002145767212],
      [0.8177168965339661, -1.9698680639266968, 0.4729202389717102],
      [0.741499662399292, -2.026623249053955, 0.49731677770614624],
    ];
    const torchQ = [
      [2.9000000953674316, 3.9000000953674316],
      [2.9002773761749268, 3.8002824783325195],
      [2.9000377655029297, 3.71268367767334],
    ];
    const before = tf.memory().numTensors;
    steps.forEach(([gp, gq], k) => {
      const grads = { p: tf.tensor1d(gp), q: tf.tensor2d(gq) };
      const clipped = clipGradientsByGlobalNorm(grads, 5);
      expect(clipped.norm).toBeCloseTo(torchNorms[k], 4);
      adam.apply(variables, clipped.grads);
      tf.dispose([...Object.values(grads), ...Object.values(clipped.grads)]);
      const pv = p.dataSync();
      const qv = q.dataSync();
      for (let i = 0; i < 3; i++) expect(pv[i]).toBeCloseTo(torchP[k][i], 5);
      for (let i = 0; i < 2; i++) expect(qv[i]).toBeCloseTo(torchQ[k][i], 5);
    });
    // Two moment buffers per parameter are the only tensors the optimiser keeps.
    expect(tf.memory().numTensors).toBe(before + 4);
    adam.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([p, q]);
  });

  it('round-trips its state (resume continues identically)', () => {
    const run = (resumeAt: number | null) => {
      const p = tf.variable(tf.tensor1d([1, 2]));
      const vars = new Map([['p', p]]);
      let adam = new Adam({ learningRate: 0.05 });
      for (let k = 0; k < 4; k++) {
        if (k === resumeAt) {
          const state = adam.getState();
          adam.dispose();
          adam = new Adam({ learningRate: 0.05 });
          adam.setState(state, new Map([['p', [2]]]));
        }
        const g = { p: tf.tensor1d([0.3 * (k + 1), -0.2]) };
        adam.apply(vars, g);
        tf.dispose(Object.values(g));
      }
      const out = Array.from(p.dataSync());
      adam.dispose();
      p.dispose();
      return out;
    };
    expect(run(2)).toEqual(run(null));
  });

  it('leaves small gradients unclipped and names a bad learning rate', () => {
    const g = { a: tf.tensor1d([1.5, 2]) };
    const c = clipGradientsByGlobalNorm(g, 5);
    expect(c.norm).toBeCloseTo(2.5, 6);
    expect(Array.from(c.grads.a.dataSync())).toEqual([1.5, 2]);
    tf.dispose([g.a, c.grads.a]);
    expect(() => new Adam({ learningRate: 0 })).toThrow(/OPTIMIZER.LR|learning rate/);
  });
});
