/**
 * The data-parallel training interface. A training module is any ES module (TS or JS) that exports
 *
 *   export function buildModel(config, ctx): TrainableModel | Promise<TrainableModel>
 *
 * The trainer (one thread or a pool of worker threads, same interface) builds one replica per thread, splits
 * each batch along axis 0, runs `variableGrads(loss)` on every shard, averages the gradients weighted by shard
 * size (so the result is the gradient of the whole-batch mean loss), and applies the same update to every replica
 * with the same optimizer, which keeps the weights identical without shipping them each step.
 */
import type * as tf from '@tensorflow/tfjs';
import type { BackendInfo, BackendPreference, SelectedBackend, TfModule } from '../select.ts';

/** A tensor as plain memory, for crossing threads (tensors cannot). Leading axis of batch tensors = examples. */
export interface HostTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

export type HostTensors = Record<string, HostTensor>;

export interface TrainModuleContext {
  tf: TfModule;
  backend: SelectedBackend;
}

export interface TrainableModel {
  /** Trainable variables by stable (checkpoint) name; the same names in every replica. */
  variables: Record<string, tf.Variable>;
  /**
   * Mean loss over the examples of `batch` (one shard). Called inside `tf.variableGrads`; tensors made here are
   * freed by the trainer. Must be a mean over examples for the shard weighting to be exact.
   */
  loss(batch: Record<string, tf.Tensor>): tf.Scalar;
  /** Frees anything besides `variables` that the model holds. Variables are disposed by the trainer. */
  dispose?(): void;
}

export interface TrainModule<Config> {
  buildModel(config: Config, ctx: TrainModuleContext): TrainableModel | Promise<TrainableModel>;
}

/** Optimizer built identically in every replica (tf.train.*). */
export type OptimizerSpec =
  | { name: 'sgd'; learningRate: number }
  | { name: 'momentum'; learningRate: number; momentum: number; useNesterov?: boolean }
  | { name: 'adam'; learningRate: number; beta1?: number; beta2?: number; epsilon?: number }
  | { name: 'rmsprop'; learningRate: number; decay?: number; momentum?: number; epsilon?: number };

export interface TrainerOptions<Config> {
  /** Path or file: URL of the training module. */
  module: string;
  /** Passed to `buildModel` in every replica; must survive structured cloning. */
  config: Config;
  optimizer?: OptimizerSpec;
  /** Back end of every replica (default: SPIKEDRIVE_BACKEND, else auto). */
  backend?: BackendPreference;
  /** Native kernels on/off (default on where they build). */
  nativeKernels?: boolean;
  log?: (message: string) => void;
}

export interface WorkerTrainerOptions<Config> extends TrainerOptions<Config> {
  /** Worker threads (default: one per core). */
  workers?: number;
  /** Kernel threads inside each worker (default 1: the workers already fill the cores). */
  threadsPerWorker?: number;
}

export interface LocalTrainerOptions<Config> extends TrainerOptions<Config> {
  /** Kernel threads (default: all cores). */
  threads?: number;
}

export interface GradientResult {
  /** Whole-batch mean loss. */
  loss: number;
  /** Gradients of the whole-batch mean loss, by variable name. */
  grads: HostTensors;
  examples: number;
}

export interface StepResult {
  loss: number;
  examples: number;
}

/** One interface for the single-thread and the worker-pool trainer. */
export interface Trainer {
  /** Replicas computing in parallel (1 for the local trainer). */
  readonly replicas: number;
  /** Back end of the replicas (as in run manifests). */
  readonly backend: BackendInfo;
  /** Averaged gradients of a batch; weights unchanged. */
  lossAndGrads(batch: HostTensors): Promise<GradientResult>;
  /** Gradients, then one optimizer update applied identically in every replica. */
  step(batch: HostTensors): Promise<StepResult>;
  /** Forward-only loss of a batch (no gradients), averaged like the gradients. */
  evaluate(batch: HostTensors): Promise<number>;
  getWeights(): Promise<HostTensors>;
  setWeights(weights: HostTensors): Promise<void>;
  /** Frees every replica (terminates the workers). */
  dispose(): Promise<void>;
}
