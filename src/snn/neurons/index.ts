// Spiking neurons: pure step functions (Norse style) and the layer objects that hold their state.
export {
  autoPrefersFused,
  type FusedLifResult,
  fusedAvailable,
  ifParams,
  ifStep,
  initialMembrane,
  lifBackwardArrays,
  lifForwardArrays,
  lifMultiStep,
  lifMultiStepFused,
  lifParams,
  lifStep,
  type NeuronParams,
  type NeuronState,
  neuronCharge,
  validateNeuronParams,
} from './lif.ts';
export { HeavisideActivation, LifNode, type LifNodeOptions, type NeuronImpl, type StepMode } from './node.ts';
export { SAD_NEURONS } from './presets.ts';
