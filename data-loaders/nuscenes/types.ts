/**
 * Typed records of the 13 nuScenes tables, field for field as in the JSON (snake_case, as the devkit and
 * every nuScenes user know them), plus the fields the devkit derives at load time (marked "derived").
 * Quaternions are [w, x, y, z]; translations in metres; timestamps in microseconds since the epoch.
 */

export type Vec3 = [number, number, number];
/** A quaternion as nuScenes stores it: [w, x, y, z]. */
export type QuaternionWxyz = [number, number, number, number];
export type Matrix3 = [[number, number, number], [number, number, number], [number, number, number]];

export const TABLE_NAMES = [
  'category',
  'attribute',
  'visibility',
  'instance',
  'sensor',
  'calibrated_sensor',
  'ego_pose',
  'log',
  'scene',
  'sample',
  'sample_data',
  'sample_annotation',
  'map',
] as const;
export type TableName = (typeof TABLE_NAMES)[number];

export const RELEASE_VERSIONS = ['v1.0-mini', 'v1.0-trainval', 'v1.0-test'] as const;
export type ReleaseVersion = (typeof RELEASE_VERSIONS)[number];

export const CAMERA_CHANNELS = [
  'CAM_FRONT',
  'CAM_FRONT_RIGHT',
  'CAM_BACK_RIGHT',
  'CAM_BACK',
  'CAM_BACK_LEFT',
  'CAM_FRONT_LEFT',
] as const;
export type CameraChannel = (typeof CAMERA_CHANNELS)[number];
export const RADAR_CHANNELS = [
  'RADAR_FRONT',
  'RADAR_FRONT_LEFT',
  'RADAR_FRONT_RIGHT',
  'RADAR_BACK_LEFT',
  'RADAR_BACK_RIGHT',
] as const;
export type RadarChannel = (typeof RADAR_CHANNELS)[number];
export type LidarChannel = 'LIDAR_TOP';
export type SensorChannel = CameraChannel | RadarChannel | LidarChannel;
export type SensorModality = 'camera' | 'lidar' | 'radar';

export const MAP_LOCATIONS = [
  'singapore-onenorth',
  'singapore-hollandvillage',
  'singapore-queenstown',
  'boston-seaport',
] as const;
export type MapLocation = (typeof MAP_LOCATIONS)[number];

/** The visibility tokens are literally the strings '1'..'4'. */
export type VisibilityToken = '1' | '2' | '3' | '4';

export interface Category {
  token: string;
  name: string;
  description: string;
  /** Present in releases with lidarseg/panoptic. */
  index?: number;
}

export interface Attribute {
  token: string;
  name: string;
  description: string;
}

export interface Visibility {
  token: VisibilityToken;
  level: 'v0-40' | 'v40-60' | 'v60-80' | 'v80-100';
  description: string;
}

export interface Instance {
  token: string;
  category_token: string;
  nbr_annotations: number;
  first_annotation_token: string;
  last_annotation_token: string;
}

export interface Sensor {
  token: string;
  channel: SensorChannel;
  modality: SensorModality;
}

export interface CalibratedSensor {
  token: string;
  sensor_token: string;
  translation: Vec3;
  rotation: QuaternionWxyz;
  /** 3×3 for cameras, [] for lidar and radar. */
  camera_intrinsic: Matrix3 | [];
}

export interface EgoPose {
  token: string;
  translation: Vec3;
  rotation: QuaternionWxyz;
  timestamp: number;
}

export interface Log {
  token: string;
  logfile: string;
  vehicle: string;
  date_captured: string;
  location: MapLocation;
  /** derived: the map record whose log_tokens list this log. */
  map_token?: string;
}

export interface MapRecord {
  token: string;
  log_tokens: string[];
  category: string;
  filename: string;
}

export interface Scene {
  token: string;
  name: string;
  description: string;
  log_token: string;
  nbr_samples: number;
  first_sample_token: string;
  last_sample_token: string;
}

export interface Sample {
  token: string;
  timestamp: number;
  scene_token: string;
  prev: string;
  next: string;
  /** derived: channel → keyframe sample_data token. */
  data?: Partial<Record<SensorChannel, string>>;
  /** derived: annotation tokens, in table order. */
  anns?: string[];
}

export interface SampleData {
  token: string;
  sample_token: string;
  ego_pose_token: string;
  calibrated_sensor_token: string;
  filename: string;
  fileformat: string;
  width: number;
  height: number;
  timestamp: number;
  is_key_frame: boolean;
  prev: string;
  next: string;
  /** derived from the sensor. */
  sensor_modality?: SensorModality;
  /** derived from the sensor. */
  channel?: SensorChannel;
}

export interface SampleAnnotation {
  token: string;
  sample_token: string;
  instance_token: string;
  attribute_tokens: string[];
  visibility_token: VisibilityToken | '';
  translation: Vec3;
  /** width, length, height in metres. */
  size: Vec3;
  rotation: QuaternionWxyz;
  num_lidar_pts: number;
  num_radar_pts: number;
  prev: string;
  next: string;
  /** derived from the instance's category. */
  category_name?: string;
}

/** nuScenes-lidarseg / -panoptic: one label file per keyframe LIDAR_TOP sample_data. */
export interface LidarsegRecord {
  token: string;
  sample_data_token: string;
  /** lidarseg/<version>/<sd_token>_lidarseg.bin or panoptic/<version>/<sd_token>_panoptic.npz */
  filename: string;
}

/** A row of `image_annotations.json` (written by the devkit's export_2d_annotations_as_json; no token). */
export interface ImageAnnotation {
  sample_annotation_token: string;
  sample_data_token: string;
  instance_token: string;
  category_name: string;
  attribute_tokens: string[];
  visibility_token: string;
  /** [xmin, ymin, xmax, ymax] in pixels. */
  bbox_corners: [number, number, number, number];
  filename: string;
  [field: string]: unknown;
}

/** Record type of each table. */
export interface TableRecords {
  category: Category;
  attribute: Attribute;
  visibility: Visibility;
  instance: Instance;
  sensor: Sensor;
  calibrated_sensor: CalibratedSensor;
  ego_pose: EgoPose;
  log: Log;
  scene: Scene;
  sample: Sample;
  sample_data: SampleData;
  sample_annotation: SampleAnnotation;
  map: MapRecord;
}

/**
 * Tables that exist only in some releases, loaded and indexed when their JSON file is present.
 * (`image_annotations.json` is loaded too when present, but has no `token` and is not indexed, as in the devkit.)
 */
export const OPTIONAL_TABLE_NAMES = ['lidarseg', 'panoptic'] as const;
export type OptionalTableName = (typeof OPTIONAL_TABLE_NAMES)[number];
export type LoadedTableName = TableName | OptionalTableName;

/**
 * Records as the loaded `NuScenes` returns them: the JSON fields plus the fields the devkit derives at
 * load time, which are always present after loading.
 */
export interface NuScenesRecords
  extends Omit<TableRecords, 'log' | 'sample' | 'sample_data' | 'sample_annotation'> {
  log: Log & { map_token: string };
  sample: Sample & { data: Partial<Record<SensorChannel, string>>; anns: string[] };
  sample_data: SampleData & { sensor_modality: SensorModality; channel: SensorChannel };
  sample_annotation: SampleAnnotation & { category_name: string };
  lidarseg: LidarsegRecord;
  panoptic: LidarsegRecord;
}
