// SAD perception: the spiking image encoder with its feature and depth heads, the frustum, lift-splat with the
// reference's truncating voxel indices and sum pooling, ego-motion alignment of past frames, the discounted
// accumulation and the six ego-motion channels → BEV [B, S, X, Y, C + 6].
export { type BevProjectionInput, projectToBev, type ReportingLayer } from './bev.ts';
export { ENCODER_CHUNK_BYTES, type EncoderOutput, SadEncoder, type SadEncoderOptions } from './encoder.ts';
export { createFrustum, type Frustum, torchArange, torchLinspace } from './frustum.ts';
export {
  alignedPoints,
  assignVoxels,
  eulerToMatrix,
  invert3x3,
  type LiftInputs,
  type Matrix,
  poseVecToMatrix,
  type VoxelAssignment,
} from './geometry.ts';
export {
  type Bound,
  cellsOf,
  depthBinsOf,
  type PerceptionGeometry,
  type PerceptionOptions,
  perceptionGeometry,
} from './options.ts';
export { type PerceptionInput, type PerceptionOutput, SadPerception } from './perception.ts';
export { type AccumulateOptions, type SplatPlan, splat, splatToBev } from './splat.ts';
