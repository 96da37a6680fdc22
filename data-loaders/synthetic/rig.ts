// The sensor rig of the synthetic ego car: the real nuScenes layout (the calibration of the n015 Singapore
// car, as published in the dataset's calibrated_sensor table): six cameras with their intrinsics and
// extrinsics, and LIDAR_TOP rotated about −90° in yaw (x right, y forward) as on the real car.
import type { CameraChannel, Matrix3, QuaternionWxyz, SensorChannel, Vec3 } from '../nuscenes/types.ts';

export interface RigSensor {
  channel: SensorChannel;
  modality: 'camera' | 'lidar';
  /** Sensor → ego: translation (m) and rotation [w, x, y, z]. */
  translation: Vec3;
  rotation: QuaternionWxyz;
  /** 3×3 for cameras (1600×900 images), empty for the lidar. */
  intrinsic: Matrix3 | [];
  /** Capture time relative to the LIDAR_TOP keyframe (µs): the cameras fire as the lidar sweeps past them. */
  offsetUs: number;
}

const K = (f: number, cx: number, cy: number): Matrix3 => [
  [f, 0, cx],
  [0, f, cy],
  [0, 0, 1],
];

/** Channels in the order nuScenes lists the cameras. */
export const RIG_CAMERAS: ReadonlyArray<RigSensor & { channel: CameraChannel }> = [
  {
    channel: 'CAM_FRONT',
    modality: 'camera',
    translation: [1.70079118954, 0.0159456324149, 1.51095763913],
    rotation: [0.4998015430569128, -0.5030316162024876, 0.4997798114386805, -0.49737083824542755],
    intrinsic: K(1266.417203046554, 816.2670197447984, 491.50706579294757),
    offsetUs: -35491,
  },
  {
    channel: 'CAM_FRONT_RIGHT',
    modality: 'camera',
    translation: [1.5508477543, -0.493404796419, 1.49574800619],
    rotation: [0.2060347966337182, -0.2026940577919598, 0.6824507824531167, -0.6713610884174485],
    intrinsic: K(1260.8474446004698, 807.968244525554, 495.3344268742088),
    offsetUs: -27612,
  },
  {
    channel: 'CAM_BACK_RIGHT',
    modality: 'camera',
    translation: [1.0148780988, -0.480568219723, 1.56239545128],
    rotation: [0.12280980120078765, -0.132400842670559, -0.7004305821388234, 0.690496031265798],
    intrinsic: K(1259.5137405846733, 807.2529053838625, 501.19579884916527),
    offsetUs: -20058,
  },
  {
    channel: 'CAM_BACK',
    modality: 'camera',
    translation: [0.0283260309358, 0.00345136761476, 1.57910346144],
    rotation: [0.5037872666382278, -0.49740249788611096, -0.4941850223835201, 0.5045496097725578],
    intrinsic: K(809.2209905677063, 829.2196003259838, 481.77842384512485),
    offsetUs: -10426,
  },
  {
    channel: 'CAM_BACK_LEFT',
    modality: 'camera',
    translation: [1.03569100218, 0.484795032713, 1.59097014818],
    rotation: [0.6924185592174665, -0.7031619420114925, -0.11648342771943819, 0.11203317912370753],
    intrinsic: K(1256.7414812095406, 792.1125740759628, 492.7757465151356),
    offsetUs: -528,
  },
  {
    channel: 'CAM_FRONT_LEFT',
    modality: 'camera',
    translation: [1.52387798135, 0.494631336551, 1.50932822144],
    rotation: [0.6757265034669446, -0.6736266522251881, 0.21214015046209478, -0.21122827103904068],
    intrinsic: K(1272.5979470598488, 826.6154927353808, 479.75165386361925),
    offsetUs: -43107,
  },
];

export const RIG_LIDAR: RigSensor = {
  channel: 'LIDAR_TOP',
  modality: 'lidar',
  translation: [0.943713, 0.0, 1.84023],
  rotation: [0.7077955119163518, -0.006492242056004365, 0.010646214713995808, -0.7063073142877817],
  intrinsic: [],
  offsetUs: 0,
};

/** Every sensor the synthetic car carries, in table order. */
export const RIG_SENSORS: readonly RigSensor[] = [...RIG_CAMERAS, RIG_LIDAR];

export const IMAGE_WIDTH = 1600;
export const IMAGE_HEIGHT = 900;

/** An intrinsic for images scaled by `scale` (pixel centres kept consistent: u' = s·u). */
export function scaledIntrinsic(intrinsic: Matrix3 | [], scale: number): Matrix3 {
  if (intrinsic.length === 0) throw new RangeError('only cameras have an intrinsic');
  if (scale === 1) return intrinsic;
  return [
    [intrinsic[0][0] * scale, 0, intrinsic[0][2] * scale],
    [0, intrinsic[1][1] * scale, intrinsic[1][2] * scale],
    [0, 0, 1],
  ];
}
