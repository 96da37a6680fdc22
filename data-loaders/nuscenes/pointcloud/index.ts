// Lidar (.pcd.bin) and radar (binary PCD v0.7) point clouds as the devkit's data_classes: readers,
// in-place operations, multisweep aggregation, and writers for making nuScenes-format files.
export { encodeLidarPcdBin, LIDAR_FILE_DIMS, LidarPointCloud } from './lidar.ts';
export {
  fromFileMultisweep,
  type MultisweepResult,
  type MultisweepSample,
  type PointCloudKind,
  type SweepSource,
  type SweepTable,
} from './multisweep.ts';
export {
  encodePcd,
  type PcdCloud,
  type PcdField,
  type PcdFieldType,
  type PcdHeader,
  parsePcd,
  parsePcdHeader,
} from './pcd.ts';
export { PointCloud } from './point-cloud.ts';
export { encodeRadarPcd, RADAR_PCD_FIELDS, RADAR_ROW, type RadarFilters, RadarPointCloud } from './radar.ts';
