// The spiking core: neurons (LIF/IF) with surrogate gradients, SAD's spiking layers under the reference checkpoint
// names, the two time schemes, quantisers, and per-layer activity instrumentation. Knows nothing of driving.
export { type ActivityRecord, firingRates, type LayerActivity } from './activity.ts';
export * from './backend/index.ts';
export * from './instrument/index.ts';
export * from './layers/index.ts';
export * from './neurons/index.ts';
export * from './quant/index.ts';
export {
  ATAN_SURROGATE,
  describeSurrogate,
  detach,
  FAST_SIGMOID_SURROGATE,
  type Firing,
  heaviside,
  isRecordingGradients,
  SIGMOID_SURROGATE,
  type SurrogateSpec,
  spike,
  spikeFunction,
  surrogateGradient,
  surrogateGradientTensor,
  validateSurrogate,
} from './surrogate.ts';
export {
  broadcastTo,
  flattenTime,
  meanOverTime,
  repeatOverTime,
  seqToAnn,
  toBatchMajor,
  toFrameMajor,
  unflattenTime,
} from './time.ts';
