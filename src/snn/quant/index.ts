// Quantisers: weight QAT (symmetric n-bit per channel), ternary absmean with 8-bit activations, SQUAT membrane
// levels, straight-through gradients, post-training export, and per-layer selection by name pattern.
export {
  type AppliedQuant,
  applyQuantConfig,
  globToRegExp,
  type LayerQuantSpec,
  parseQuantConfig,
  type QuantConfig,
  type QuantConfigEntry,
} from './config.ts';
export {
  exportQuantizedWeights,
  postTrainingQuantize,
  type QuantizedWeightExport,
  quantizedWeightBytes,
} from './ptq.ts';
export {
  createStateQuantizer,
  defaultSquatMultiplier,
  type StateQuantizer,
  type StateQuantSpec,
  squatLevels,
} from './state.ts';
export { straightThrough } from './ste.ts';
export {
  type ActivationQuantSpec,
  dequantizeWeightArray,
  fakeQuantActivation,
  fakeQuantWeight,
  type IntegerWeights,
  quantizeWeightArray,
  roundHalfEven,
  symmetricMax,
  symmetricScale,
  ternaryScale,
  type WeightQuantSpec,
} from './weight.ts';
