// The synthetic world's camera: a deterministic CPU rasteriser (ground plane, sky, shaded cuboids, depth
// buffer, per-cuboid occlusion counts) seen through a real nuScenes calibration, and JPEG encoding.
export { encodeJpeg } from './jpeg.ts';
export { renderCamera } from './render.ts';
export type {
  CameraRender,
  CameraView,
  Cuboid,
  GroundRaster,
  RenderOptions,
  RenderWorld,
} from './types.ts';
