// The data-parallel trainer: two workers give the same gradients as one thread (to 1e-6) on a tiny spiking conv
// net, shards are weighted by size (an odd batch splits 3 + 2), replicas stay in sync over optimizer steps, and
// no tensors are left behind in the main thread or the workers.
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  averageGradients,
  type ConvStackConfig,
  createLocalTrainer,
  createWorkerTrainer,
  type HostTensors,
  shardSizes,
  splitBatch,
  type Trainer,
  type WorkerTrainer,
} from '../../../src/snn/backend/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';

const MODULE = fileURLToPath(new URL('../../../src/snn/backend/conv-stack.ts', import.meta.url));
const CONFIG: ConvStackConfig = { height: 12, width: 20, channels: 3, filters: [4, 6, 6], seed: 5 };
const OPTIMIZER = { name: 'momentum', learningRate: 0.5, momentum: 0.9 } as const;

function batchOf(examples: number, seed: number): HostTensors {
  const data = new Float32Array(examples * 12 * 20 * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = (s / 2147483648) * 12;
  }
  return { x: { shape: [examples, 12, 20, 3], dtype: 'float32', data } };
}

function maxDiff(a: HostTensors, b: HostTensors): number {
  let m = 0;
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    expect(a[k].shape).toEqual(b[k].shape);
    for (let i = 0; i < a[k].data.length; i++) m = Math.max(m, Math.abs(a[k].data[i] - b[k].data[i]));
  }
  return m;
}

let local: Trainer;
let pool: WorkerTrainer;
let baseline: number;

beforeAll(async () => {
  await tf.setBackend('wasm').catch(() => false);
  baseline = tf.memory().numTensors;
  [local, pool] = await Promise.all([
    createLocalTrainer({ module: MODULE, config: CONFIG, backend: 'wasm', optimizer: OPTIMIZER }),
    createWorkerTrainer({
      module: MODULE,
      config: CONFIG,
      backend: 'wasm',
      workers: 2,
      optimizer: OPTIMIZER,
    }),
  ]);
  await local.setWeights(await pool.getWeights());
});

afterAll(async () => {
  await pool?.dispose();
  await local?.dispose();
});

describe('data-parallel trainer', () => {
  it('2 workers give the single-thread gradients to 1e-6 (odd batch: shards of 3 and 2)', async () => {
    expect(pool.replicas).toBe(2);
    const batch = batchOf(5, 1);
    const one = await local.lossAndGrads(batch);
    const two = await pool.lossAndGrads(batch);
    expect(two.examples).toBe(5);
    expect(Math.abs(one.loss - two.loss)).toBeLessThan(1e-6);
    expect(maxDiff(one.grads, two.grads)).toBeLessThan(1e-6);
    // Not vacuous: the spikes fire and the surrogate passes gradient to every layer.
    expect(one.loss).toBeGreaterThan(0);
    for (const g of Object.values(one.grads)) expect(g.data.some((v) => v !== 0)).toBe(true);
  });

  it('optimizer steps keep every replica equal to the single-thread model', async () => {
    const losses: number[][] = [[], []];
    for (let step = 0; step < 3; step++) {
      const batch = batchOf(4, 10 + step);
      losses[0].push((await local.step(batch)).loss);
      losses[1].push((await pool.step(batch)).loss);
    }
    for (let i = 0; i < 3; i++) expect(Math.abs(losses[0][i] - losses[1][i])).toBeLessThan(1e-6);
    const reference = await local.getWeights();
    const replicas = await pool.replicaWeights();
    expect(replicas).toHaveLength(2);
    for (const w of replicas) expect(maxDiff(w, reference)).toBeLessThan(1e-6);
    expect(
      Math.abs((await local.evaluate(batchOf(3, 99))) - (await pool.evaluate(batchOf(3, 99)))),
    ).toBeLessThan(1e-6);
  });

  it('frees every tensor a step makes, in the workers and in the main thread', async () => {
    const before = await pool.replicaTensorCounts();
    const mainBefore = tf.memory().numTensors;
    await pool.step(batchOf(6, 3));
    await local.step(batchOf(6, 3));
    await pool.lossAndGrads(batchOf(2, 4));
    expect(await pool.replicaTensorCounts()).toEqual(before);
    expect(tf.memory().numTensors).toBe(mainBefore);
    await local.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a batch smaller than the pool uses only as many workers as examples', async () => {
    const g = await pool.lossAndGrads(batchOf(1, 8));
    expect(g.examples).toBe(1);
  });

  it('reports a bad training module as a SpikedriveError, in the main thread and from a worker', async () => {
    const error = await createLocalTrainer({ module: '/nonexistent/model.ts', config: {} }).catch((e) => e);
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).fix).toMatch(/buildModel/);
    const fromWorker = await createWorkerTrainer({
      module: '/nonexistent/model.ts',
      config: {},
      workers: 1,
    }).catch((e) => e);
    expect(fromWorker).toBeInstanceOf(SpikedriveError);
    expect((fromWorker as SpikedriveError).message).toMatch(/Cannot import training module/);
  });
});

describe('batch sharding', () => {
  it('splits near-equally, larger shards first, and drops empty ones', () => {
    expect(shardSizes(5, 2)).toEqual([3, 2]);
    expect(shardSizes(6, 4)).toEqual([2, 2, 1, 1]);
    expect(shardSizes(1, 3)).toEqual([1]);
    const shards = splitBatch(batchOf(5, 2), 2);
    expect(shards.map((s) => s.batch.x.shape[0])).toEqual([3, 2]);
    expect(shards[1].batch.x.data[0]).toBe(batchOf(5, 2).x.data[3 * 12 * 20 * 3]);
  });

  it('weights shard gradients by examples', () => {
    const g = (v: number) => ({ w: { shape: [1], dtype: 'float32' as const, data: Float32Array.of(v) } });
    const avg = averageGradients([
      { grads: g(1), examples: 3 },
      { grads: g(4), examples: 1 },
    ]);
    expect(avg.w.data[0]).toBeCloseTo(1.75, 6);
  });

  it('rejects batches whose tensors disagree on the example count', () => {
    const bad: HostTensors = {
      x: { shape: [2, 2], dtype: 'float32', data: new Float32Array(4) },
      y: { shape: [3], dtype: 'int32', data: new Int32Array(3) },
    };
    expect(() => splitBatch(bad, 2)).toThrow(SpikedriveError);
    expect(() => splitBatch(bad, 2)).toThrow(/'y' has 3 examples, others have 2/);
  });
});
