// The SAD pipeline: SadConfig (reference YAML keys) and the presets, the model assembled from the stages, the
// losses, Adam with clipping, the resumable trainer with validation, safetensors checkpoints under the reference
// names, inference, and the shipped model.
export { type HostLabels, type LabelTensors, type PreparedBatch, prepareBatch } from './batch.ts';
export {
  CHECKPOINT_FORMAT,
  type CheckpointMeta,
  type CheckpointPaths,
  checkpointPaths,
  gitCommit,
  type LoadedCheckpoint,
  loadCheckpoint,
  type SaveCheckpointInput,
  saveCheckpoint,
  toStateTensors,
} from './checkpoint.ts';
export {
  applyOverride,
  configHash,
  defaultSadConfig,
  listPresets,
  loadSadConfig,
  PRESETS_DIR,
  type SadConfig,
  type SadGeometry,
  sadConfigFromYaml,
  sadGeometry,
  validateSadConfig,
} from './config.ts';
export {
  formatInferReport,
  type InferOptions,
  type InferReport,
  type ModuleActivity,
  runInference,
} from './infer.ts';
export {
  futureDiscounts,
  type HdmapLossOptions,
  hdmapLoss,
  type RegressionLossOptions,
  type SegmentationLossOptions,
  segmentationLoss,
  spatialRegressionLoss,
  topKMean,
  uncertaintyWeighted,
  weightedCrossEntropy,
} from './losses.ts';
export {
  disposeSadOutput,
  type SadForwardOptions,
  SadModel,
  type SadModelInput,
  type SadModelOptions,
  type SadOutput,
  type SadPlanOptions,
} from './model.ts';
export {
  LOSS_WEIGHT_NAMES,
  type LossWeightName,
  LossWeights,
  type ObjectiveResult,
  trainingObjective,
} from './objective.ts';
export { Adam, type AdamOptions, type AdamState, clipGradientsByGlobalNorm } from './optimizer.ts';
export { randomModelInput, randomTrainingBatch } from './random-batch.ts';
export {
  parseSafetensors,
  readSafetensors,
  type SafeTensor,
  type SafetensorsDtype,
  type SafetensorsFile,
  serializeSafetensors,
  type TensorToWrite,
  writeSafetensors,
} from './safetensors.ts';
export {
  type OpenedModel,
  type OpenModelOptions,
  openModel,
  SHIPPED_MODEL_PATH,
  shippedModelPath,
} from './shipped.ts';
export {
  applyStage,
  dataOptions,
  decoderOptions,
  parseStage,
  perceptionOptions,
  planningOptions,
  predictionOptions,
  stageOf,
  TRAINING_STAGES,
  type TrainingStage,
} from './stages.ts';
export { registerGradientFixes } from './tf-fixes.ts';
export {
  defaultImageCacheRoot,
  filterStageTensors,
  loadModelTensors,
  type TrainOptions,
  type TrainResult,
  train,
  validate,
} from './trainer.ts';
export { ValidationAccumulator, type ValidationMetrics } from './validate.ts';
