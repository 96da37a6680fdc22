// SAD prediction (sad.md §3–4): the present distribution, the dual-pathway spiking predictor, temporal mixing, and
// the MS-ResNet-18 BEV decoder with every head. Parameter names are the reference state_dict's
// (`present_distribution.*`, `future_prediction.*`, `decoder.*`).
export {
  ALL_DECODER_HEADS,
  DecoderHead,
  type DecoderHeadGates,
  type DecoderOptions,
  type DecoderOutput,
  SadDecoder,
} from './decoder.ts';
export {
  checkDistributionMethod,
  type DistributionMethod,
  DistributionModule,
  type DistributionOptions,
  distributionWidth,
} from './distribution.ts';
export { type DualLifOptions, DualLifTemporalMixer, fuseSpikes, softmaxOverRows } from './dual-lif.ts';
export {
  batchFirst,
  DEFAULT_CHUNK_BYTES,
  type FrameSchedule,
  frameAt,
  frameChunks,
  frameSlice,
  framesFirst,
} from './frames.ts';
export { FuturePrediction, type FuturePredictionOptions } from './future.ts';
export {
  type PredictionForwardOptions,
  type PredictionOptions,
  type PredictionOutput,
  SadPrediction,
} from './prediction.ts';
