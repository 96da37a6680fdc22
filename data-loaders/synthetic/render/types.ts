import type { Matrix, Quaternion } from '../../nuscenes/geometry/index.ts';
import type { Vec3 } from '../../nuscenes/types.ts';

/** A top-down colour raster of the ground plane z = 0 in the global frame (x east, y north). */
export interface GroundRaster {
  originXM: number;
  originYM: number;
  resolutionM: number;
  width: number;
  height: number;
  /** RGB per cell, row 0 at originYM (south), col 0 at originXM (west); cell (r,c) covers x∈[ox+c·res, …), y∈[oy+r·res, …) */
  rgb: Uint8Array;
}

/** One agent as a solid box in the global frame, as a nuScenes annotation: centre, (w, l, h), rotation. */
export interface Cuboid {
  id: number;
  center: Vec3;
  /** width (box y), length (box x), height (box z) in metres, as nuScenes `size`. */
  wlh: Vec3;
  rotation: Quaternion;
  colorRgb: [number, number, number];
}

/** A pinhole camera: K (3×3, undistorted as nuScenes images) and its pose in the global frame (OpenCV axes). */
export interface CameraView {
  width: number;
  height: number;
  intrinsic: Matrix /*3×3*/;
  cameraToGlobal: Matrix /*4×4*/;
}

export interface RenderWorld {
  ground: GroundRaster;
  cuboids: Cuboid[];
}

export interface CameraRender {
  /** width × height × 3 bytes, row-major, RGB (HWC). */
  rgb: Uint8Array;
  /** visible pixel count per cuboid id */
  visiblePixels: Map<number, number>;
  /** pixels each cuboid would cover with nothing in front of it */
  unoccludedPixels: Map<number, number>;
}

/** Look of the render; every field has a default, so `renderCamera(view, world)` is the usual call. */
export interface RenderOptions {
  /** Distance (m) over which fog takes 63 % of the contrast (1 − e⁻¹); default 180. */
  fogDistanceM?: number;
  /** Direction towards the sun in the global frame (normalised here); default from the south-west, 50° up. */
  sunDirection?: Vec3;
  /** Soft contact shadows under the cuboids; default true. */
  shadows?: boolean;
  /** Peak-to-peak amplitude (0–255 levels) of fixed per-pixel sensor noise; default 6, 0 for flat images. */
  noiseAmplitude?: number;
  /** Ground colour beyond the raster's edges; default the raster's mean colour. */
  outsideGroundRgb?: [number, number, number];
}
