import type { MapLocation } from '../nuscenes/index.ts';
import type { SadCommand } from './frames.ts';

/** The typed arrays a sample is made of. */
export type SadTypedArray = Float32Array | Int32Array | Uint8Array;

/** A dense array with its shape (row-major, last axis fastest), like a tensor without a back end. */
export interface SadArray<T extends SadTypedArray = Float32Array> {
  data: T;
  shape: number[];
}

/** The planner's sampler inputs (`get_trajectory_sampling`), from the CAN bus at the present frame. */
export interface SadSamplerInputs {
  /** CAN `pose.vel[0]`: forward speed, m/s. */
  v0Mps: number;
  /** CAN `steeranglefeedback.value`, negated in Singapore (left-hand traffic), radians. */
  steeringRad: number;
  /** κ = 2·steering / 2.588, as the reference passes to the sampler (positive = left). */
  curvature: number;
  /** Whether the steering was negated (the scene is in Singapore). */
  flipped: boolean;
}

/**
 * One SAD training/evaluation sample (the reference's `FuturePredictionDataset.__getitem__`), for a window
 * of S = TIME_RECEPTIVE_FIELD past/present keyframes and F = N_FUTURE_FRAMES future ones. Shapes are the
 * reference's; BEV maps are [row = x forward, col = y left], row 0 = the rear edge.
 */
export interface SadSample {
  /** Position in the dataset. */
  index: number;
  /** Sample tokens of the S + F frames, oldest first; the present frame is `sampleTokens[S − 1]`. */
  sampleTokens: string[];
  sceneName: string;
  location: MapLocation;
  receptiveField: number;
  nFutureFrames: number;
  /** (X_BOUND[1], Y_BOUND[1]) in metres: what label warping divides translations by. */
  spatialExtent: [number, number];
  /** [S, N, 3, H, W] normalised camera images (absent when loaded without images). */
  images?: SadArray<Float32Array>;
  /** [S, N, 3, 3] intrinsics after the resize and crop. */
  intrinsics: SadArray<Float32Array>;
  /** [S, N, 4, 4] camera → flattened LIDAR_TOP-time ego frame. */
  extrinsics: SadArray<Float32Array>;
  /** [S + F, 6] ego motion t → t+1 as [tx, ty, tz, rx, ry, rz]; identity at the end of a scene. */
  futureEgomotion: SadArray<Float32Array>;
  /** [S + F, 1, H, W] vehicle occupancy 0/1. */
  segmentation: SadArray<Uint8Array>;
  /** [S + F, 1, H, W] pedestrian occupancy 0/1. */
  pedestrian: SadArray<Uint8Array>;
  /** [S + F, H, W] vehicle instance ids (0 background). */
  instance: SadArray<Int32Array>;
  /** [S + F, 1, H, W]. */
  centerness: SadArray<Float32Array>;
  /** [S + F, 2, H, W] (ignore index off instances). */
  offset: SadArray<Float32Array>;
  /** [S + F, 2, H, W] (ignore index off instances and on the last frame). */
  flow: SadArray<Float32Array>;
  /** [S + F, C, H, W] HD map (C = the hdmapElements, e.g. lane divider, drivable area); absent without maps. */
  hdmap?: SadArray<Uint8Array>;
  /** [F + 1, 3] GT trajectory [x right, y forward, yaw] in the present LIDAR_TOP sensor frame; row 0 = origin. */
  gtTrajectory: SadArray<Float32Array>;
  command: SadCommand;
  /** Absent when the dataset has no CAN bus. */
  samplerInputs?: SadSamplerInputs;
  /** Always (0, 0), as the reference (`NuscenesData.py` sets it so). */
  targetPoint: [number, number];
  /** Instance tokens by id − 1 (vehicles and pedestrians: both take ids). */
  instanceTokens: string[];
}

/** Samples stacked on a leading batch axis (the reference's default collate). */
export interface SadBatch {
  indices: number[];
  /** S, shared by the batch's samples. */
  receptiveField: number;
  /** (X_BOUND[1], Y_BOUND[1]), shared by the batch's samples. */
  spatialExtent: [number, number];
  sampleTokens: string[][];
  images?: SadArray<Float32Array>;
  intrinsics: SadArray<Float32Array>;
  extrinsics: SadArray<Float32Array>;
  futureEgomotion: SadArray<Float32Array>;
  segmentation: SadArray<Uint8Array>;
  pedestrian: SadArray<Uint8Array>;
  instance: SadArray<Int32Array>;
  centerness: SadArray<Float32Array>;
  offset: SadArray<Float32Array>;
  flow: SadArray<Float32Array>;
  hdmap?: SadArray<Uint8Array>;
  gtTrajectory: SadArray<Float32Array>;
  commands: SadCommand[];
  samplerInputs: (SadSamplerInputs | undefined)[];
  targetPoint: SadArray<Float32Array>;
}
