// The nuScenes devkit port: typed tables and indexes (`NuScenes`), geometry (Quaternion w,x,y,z, Box),
// legacy map masks, camera image decoding, the dataset summary, and the other parts of the port (splits,
// CAN bus, point clouds, map expansion, rendering). Biome keeps the export lines sorted.

export * from './canbus/index.ts';
export * from './geometry/index.ts';
export {
  type CameraImage,
  type CameraImageOptions,
  decodeCameraImage,
  decodeCameraImageRgb,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalizeRgb,
  type RgbImage,
  SAD_IMAGE_OPTIONS,
  sadImageOptions,
  updateIntrinsics,
} from './image.ts';
export { type DatasetSummary, formatSummary, summarizeDataset } from './info.ts';
export * from './map/index.ts';
export { MapMask, type MaskImage } from './map-mask.ts';
export {
  type GetSampleDataOptions,
  NuScenes,
  type NuScenesOptions,
  type SampleDataResult,
} from './nuscenes.ts';
export * from './pointcloud/index.ts';
export * from './render/index.ts';
export * from './splits.ts';
export {
  type JsonArrayReadOptions,
  JsonArrayScanner,
  readJsonArray,
  readJsonArraySync,
} from './tables/json-array.ts';
export * from './types.ts';
