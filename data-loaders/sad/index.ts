// SAD samples and labels: a nuScenes sample token → `SadSample` (camera tensors, intrinsics/extrinsics,
// ego motion, every BEV label, GT trajectory and command) exactly as the reference loader
// (`reference/sad.md` §8), the trainer's label warping to the present frame, a preprocessed-image cache
// and a prefetching worker loader.
export { collateSadSamples } from './collate.ts';
export { type GetSampleOptions, SadDataset, type SadDatasetInit, type SadMapProvider } from './dataset.ts';
export {
  COMMAND_THRESHOLD_M,
  cameraToLidar,
  commandFromTrajectory,
  gtTrajectory,
  lidarToWorld,
  type PoseRecord,
  SAD_COMMANDS,
  type SadCommand,
} from './frames.ts';
export {
  type FutureLabelOptions,
  type FutureLabelSource,
  type FutureLabels,
  prepareFutureLabels,
  prepareFutureLabelsBatch,
} from './future-labels.ts';
export { type HdmapFrame, hdmapFrame, type SadMapSource } from './hdmap.ts';
export { type ImageCacheStats, imageCacheFolderName, SadImageCache } from './image-cache.ts';
export { type InstanceLabelOptions, type InstanceLabels, instanceLabels } from './instance.ts';
export {
  drawFrameLabels,
  type FrameLabelOptions,
  type FrameLabels,
  footprintCells,
  type LabelAnnotation,
  polygonCells,
} from './labels.ts';
export { SadLoader, type SadLoaderOptions } from './loader.ts';
export {
  type BevGrid,
  bevGrid,
  DEFAULT_SAD_DATA_OPTIONS,
  type ImageGeometry,
  imageGeometry,
  type SadDataOptions,
  type SadReferenceConfigSubset,
  sadDataOptions,
  sadDataOptionsFromConfig,
} from './options.ts';
export {
  egomotionMatrix,
  invertPoseVec,
  type Mat4,
  matrixToPoseVec,
  type PoseVec,
  poseVecToMatrix,
} from './pose.ts';
export { fma64, pyquaternionRotationMatrix } from './reference-math.ts';
export { openSadDataset, type SadDatasetSpec } from './spec.ts';
export { fma32, torchAtan2f, torchCosf, torchSinf } from './torch-trig.ts';
export type { SadArray, SadBatch, SadSample, SadSamplerInputs, SadTypedArray } from './types.ts';
export {
  applyFrameWarps,
  cumulativeWarpFeatures,
  cumulativeWarpFeaturesReverse,
  cumulativeWarps,
  cumulativeWarpsReverse,
  type FrameWarps,
  type MapSequence,
  presentFrameWarps,
  warpFeatures,
  warpSourceIndex,
  warpToPresent,
} from './warp.ts';
