/**
 * Tensor back ends: selection (tfjs-node-gpu, tfjs-node, wasm, cpu), fast conv kernels and gradients registered
 * into tfjs for the CPU back ends, and the data-parallel trainer.
 */
export {
  buildModel as buildConvStackModel,
  type ConvStackConfig,
  convStackForward,
  createConvStack,
  spikeSigmoid,
} from './conv-stack.ts';
export { conv2dFilterGradOps, conv2dInputGradOps } from './kernels/composite.ts';
export { type ConvGeometry, convGeometry } from './kernels/geometry.ts';
export {
  builtinKernel,
  type KernelImplementation,
  kernelThreads,
  type PatchedKernel,
  type PatchOptions,
  patchBackendKernels,
  patchedKernels,
  setKernelThreads,
  unpatchBackendKernels,
} from './kernels/register.ts';
export {
  registerSpikeKernels,
  SPIKE_KERNEL,
  type SpikeOptions,
  type SpikeSurrogate,
  SURROGATE_GRAD_KERNEL,
  spikeOp,
  unregisterSpikeKernels,
} from './kernels/spike.ts';
export { buildNativeKernels, type NativeBuildResult, nativeCacheDir } from './native/build.ts';
export {
  loadNativeKernels,
  type NativeKernels,
  type NativeLoad,
  nativeDisabledByEnv,
} from './native/load.ts';
export { createLocalTrainer } from './parallel/local.ts';
export { createWorkerTrainer, type WorkerTrainer } from './parallel/pool.ts';
export { averageGradients, shardSizes, splitBatch } from './parallel/shard.ts';
export type {
  GradientResult,
  HostTensor,
  HostTensors,
  LocalTrainerOptions,
  OptimizerSpec,
  StepResult,
  TrainableModel,
  Trainer,
  TrainerOptions,
  TrainModule,
  TrainModuleContext,
  WorkerTrainerOptions,
} from './parallel/types.ts';
export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type BackendPreference,
  backendInfo,
  parsePreference,
  type SelectBackendOptions,
  type SelectedBackend,
  selectBackend,
  type TfModule,
} from './select.ts';
