/**
 * One model replica in one thread: gradients of a shard, optimizer updates, weights in and out as plain memory.
 * Shared by the single-thread trainer and the worker threads, so both compute exactly the same way.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../../util/errors.ts';
import type { SelectedBackend } from '../select.ts';
import type { HostTensor, HostTensors, OptimizerSpec, TrainableModel, TrainModule } from './types.ts';

export function moduleUrl(module: string): string {
  if (module.startsWith('file:')) return module;
  return pathToFileURL(isAbsolute(module) ? module : resolve(module)).href;
}

/** Imports a training module and checks its shape. */
export async function importTrainModule<Config>(module: string): Promise<TrainModule<Config>> {
  let mod: Partial<TrainModule<Config>>;
  try {
    mod = (await import(/* @vite-ignore */ moduleUrl(module))) as Partial<TrainModule<Config>>;
  } catch (error) {
    throw new SpikedriveError(`Cannot import training module ${module}: ${String(error)}`, {
      subject: module,
      fix: 'pass the path of an ES module (TS or JS) that exports buildModel(config, ctx)',
      cause: error,
    });
  }
  if (typeof mod.buildModel !== 'function') {
    throw new SpikedriveError(`Training module ${module} does not export a buildModel function`, {
      subject: module,
      fix: 'export function buildModel(config, ctx) returning { variables, loss(batch) }',
    });
  }
  return mod as TrainModule<Config>;
}

export function createOptimizer(spec: OptimizerSpec | undefined): tf.Optimizer | null {
  if (!spec) return null;
  switch (spec.name) {
    case 'sgd':
      return tf.train.sgd(spec.learningRate);
    case 'momentum':
      return tf.train.momentum(spec.learningRate, spec.momentum, spec.useNesterov ?? false);
    case 'adam':
      return tf.train.adam(spec.learningRate, spec.beta1, spec.beta2, spec.epsilon);
    case 'rmsprop':
      return tf.train.rmsprop(spec.learningRate, spec.decay, spec.momentum, spec.epsilon);
    default:
      throw new SpikedriveError(`Unknown optimizer '${(spec as { name: string }).name}'`, {
        subject: 'optimizer',
        fix: 'use one of sgd, momentum, adam, rmsprop',
      });
  }
}

/**
 * Copies a tensor's values out, into memory the caller owns (it may be transferred to another thread). wasm's
 * dataSync already returns a fresh copy; the cpu back end returns the tensor's own array, so that one is copied.
 */
function toHost(t: tf.Tensor): HostTensor {
  const synced = t.dataSync();
  const data = tf.getBackend() === 'wasm' ? synced : synced.slice();
  if (t.dtype === 'int32') return { shape: [...t.shape], dtype: 'int32', data: data as Int32Array };
  return { shape: [...t.shape], dtype: 'float32', data: data as Float32Array };
}

function fromHost(h: HostTensor): tf.Tensor {
  return tf.tensor(h.data, h.shape, h.dtype);
}

export class Replica {
  private readonly names: string[];

  constructor(
    readonly model: TrainableModel,
    private readonly optimizer: tf.Optimizer | null,
  ) {
    this.names = Object.keys(model.variables).sort();
    if (this.names.length === 0) {
      throw new SpikedriveError('The training module built a model without variables', {
        subject: 'buildModel',
        fix: 'return { variables: { name: tf.variable(...) }, loss }',
      });
    }
  }

  static async build<Config>(
    mod: TrainModule<Config>,
    config: Config,
    optimizer: OptimizerSpec | undefined,
    backend: SelectedBackend,
  ): Promise<Replica> {
    const model = await mod.buildModel(config, { tf, backend });
    return new Replica(model, createOptimizer(optimizer));
  }

  /** Mean loss and its gradients over one shard. */
  lossAndGrads(batch: HostTensors): { loss: number; grads: HostTensors } {
    const inputs: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(batch)) inputs[k] = fromHost(v);
    const vars = this.names.map((n) => this.model.variables[n]);
    let loss = 0;
    const grads: HostTensors = {};
    try {
      const { value, grads: g } = tf.variableGrads(() => this.model.loss(inputs), vars);
      loss = value.dataSync()[0];
      value.dispose();
      for (const n of this.names) {
        const key = this.model.variables[n].name;
        const t = g[key];
        if (t) {
          grads[n] = toHost(t);
          t.dispose();
        } else {
          const v = this.model.variables[n];
          grads[n] = { shape: [...v.shape], dtype: 'float32', data: new Float32Array(v.size) };
        }
      }
    } finally {
      for (const t of Object.values(inputs)) t.dispose();
    }
    return { loss, grads };
  }

  evaluate(batch: HostTensors): number {
    const inputs: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(batch)) inputs[k] = fromHost(v);
    try {
      const value = tf.tidy(() => this.model.loss(inputs));
      const loss = value.dataSync()[0];
      value.dispose();
      return loss;
    } finally {
      for (const t of Object.values(inputs)) t.dispose();
    }
  }

  /** Applies gradients (of the whole batch) with this replica's optimizer. */
  applyGrads(grads: HostTensors): void {
    if (!this.optimizer) {
      throw new SpikedriveError('step() needs an optimizer', {
        subject: 'optimizer',
        fix: "pass optimizer: { name: 'adam', learningRate: 1e-3 } (or sgd/momentum/rmsprop) to the trainer",
      });
    }
    const named: tf.NamedTensorMap = {};
    for (const n of this.names) {
      const h = grads[n];
      if (!h) continue;
      named[this.model.variables[n].name] = fromHost(h);
    }
    try {
      this.optimizer.applyGradients(named);
    } finally {
      for (const t of Object.values(named)) t.dispose();
    }
  }

  getWeights(): HostTensors {
    const out: HostTensors = {};
    for (const n of this.names) out[n] = toHost(this.model.variables[n]);
    return out;
  }

  setWeights(weights: HostTensors): void {
    for (const n of this.names) {
      const h = weights[n];
      const v = this.model.variables[n];
      if (!h) {
        throw new SpikedriveError(`setWeights: no values for variable '${n}'`, {
          subject: n,
          fix: 'pass every variable the model has (as returned by getWeights)',
        });
      }
      if (h.shape.length !== v.shape.length || h.shape.some((d, i) => d !== v.shape[i])) {
        throw new SpikedriveError(`setWeights: '${n}' has shape [${h.shape}], the model has [${v.shape}]`, {
          subject: n,
          fix: 'load weights saved from a model built with the same config',
        });
      }
      tf.tidy(() => v.assign(fromHost(h)));
    }
  }

  dispose(): void {
    this.model.dispose?.();
    for (const v of Object.values(this.model.variables)) if (!v.isDisposed) v.dispose();
    if (this.optimizer) {
      this.optimizer.dispose();
      // tfjs 4.22's MomentumOptimizer.dispose() skips SGD's kept learning-rate scalar `c`.
      const c = (this.optimizer as unknown as { c?: tf.Tensor }).c;
      if (c instanceof tf.Tensor && !c.isDisposed) c.dispose();
    }
  }
}
