import { Quaternion, quaternionYaw, transformMatrix } from '../nuscenes/index.ts';
import { type Mat4, multiply4, rigid4 } from './pose.ts';

/**
 * The reference frames of SAD's loader (`NuscenesData.py`): the "lidar" frame (the LIDAR_TOP ego pose
 * flattened to translation + yaw: x forward, y left, z up), camera → lidar extrinsics, the GT trajectory
 * in the LIDAR_TOP *sensor* frame (x right, y forward) and the driving command.
 */

export interface PoseRecord {
  translation: readonly number[];
  rotation: readonly number[];
}

export interface CalibrationRecord {
  translation: readonly number[];
  rotation: readonly number[];
}

/** The planner's three commands, in the order of its trajectory thirds. */
export const SAD_COMMANDS = ['LEFT', 'FORWARD', 'RIGHT'] as const;
export type SadCommand = (typeof SAD_COMMANDS)[number];

/** Lateral offset of the last GT waypoint beyond which the command turns (metres, lidar x = right). */
export const COMMAND_THRESHOLD_M = 2;

/** The flattened lidar frame → world: translation of the ego pose, rotation about z by its yaw only. */
export function lidarToWorld(lidarEgoPose: PoseRecord): Mat4 {
  const yaw = Quaternion.fromArray(lidarEgoPose.rotation).yawPitchRoll[0];
  const rotation = new Quaternion(Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)).rotationMatrix;
  return rigid4(rotation, lidarEgoPose.translation);
}

/**
 * Camera → flattened lidar frame (the reference's `sensor_to_lidar`): inv(ego→camera · world→ego(t_cam)
 * · lidar→world), in float64 like numpy; callers store it as float32.
 */
export function cameraToLidar(
  lidarEgoPose: PoseRecord,
  cameraEgoPose: PoseRecord,
  cameraCalibration: CalibrationRecord,
): Mat4 {
  const worldToEgo = transformMatrix(
    cameraEgoPose.translation,
    Quaternion.fromArray(cameraEgoPose.rotation),
    true,
  );
  const egoToSensor = transformMatrix(
    cameraCalibration.translation,
    Quaternion.fromArray(cameraCalibration.rotation),
    true,
  );
  const lidarToSensor = multiply4(
    multiply4(egoToSensor.flat(), worldToEgo.flat()),
    lidarToWorld(lidarEgoPose),
  );
  return invertAffine4(lidarToSensor);
}

/** General 4×4 inverse (Gauss–Jordan, partial pivoting), as `np.linalg.inv` for these well-conditioned transforms. */
export function invertAffine4(m: ArrayLike<number>): Mat4 {
  const a = Array.from({ length: 4 }, (_, r) => [
    m[4 * r],
    m[4 * r + 1],
    m[4 * r + 2],
    m[4 * r + 3],
    r === 0 ? 1 : 0,
    r === 1 ? 1 : 0,
    r === 2 ? 1 : 0,
    r === 3 ? 1 : 0,
  ]);
  for (let col = 0; col < 4; col++) {
    let pivot = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    if (a[pivot][col] === 0) throw new RangeError('singular 4×4 transform');
    [a[col], a[pivot]] = [a[pivot], a[col]];
    const p = a[col][col];
    for (let k = 0; k < 8; k++) a[col][k] /= p;
    for (let r = 0; r < 4; r++) {
      if (r === col) continue;
      const factor = a[r][col];
      if (factor === 0) continue;
      for (let k = 0; k < 8; k++) a[r][k] -= factor * a[col][k];
    }
  }
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) out[4 * r + c] = a[r][4 + c];
  return out;
}

/** `get_global_pose(rec, inverse=False)`: LIDAR_TOP sensor → global at the sample (float64). */
export function lidarSensorToGlobal(lidarEgoPose: PoseRecord, lidarCalibration: CalibrationRecord): Mat4 {
  const globalFromEgo = transformMatrix(
    lidarEgoPose.translation,
    Quaternion.fromArray(lidarEgoPose.rotation),
  );
  const egoFromSensor = transformMatrix(
    lidarCalibration.translation,
    Quaternion.fromArray(lidarCalibration.rotation),
  );
  return multiply4(globalFromEgo.flat(), egoFromSensor.flat());
}

/** `get_global_pose(rec, inverse=True)`: global → LIDAR_TOP sensor (float64). */
export function globalToLidarSensor(lidarEgoPose: PoseRecord, lidarCalibration: CalibrationRecord): Mat4 {
  const sensorFromEgo = transformMatrix(
    lidarCalibration.translation,
    Quaternion.fromArray(lidarCalibration.rotation),
    true,
  );
  const egoFromGlobal = transformMatrix(
    lidarEgoPose.translation,
    Quaternion.fromArray(lidarEgoPose.rotation),
    true,
  );
  return multiply4(sensorFromEgo.flat(), egoFromGlobal.flat());
}

/**
 * The GT trajectory of `get_gt_trajectory`: for the present frame and each future frame, the LIDAR_TOP
 * sensor pose relative to the present one, [x (right), y (forward), yaw], float64 (the caller casts).
 * `poses[0]` is the present frame.
 */
export function gtTrajectory(
  poses: readonly { egoPose: PoseRecord; calibration: CalibrationRecord }[],
): number[][] {
  const current = globalToLidarSensor(poses[0].egoPose, poses[0].calibration);
  return poses.map(({ egoPose, calibration }) => {
    const m = multiply4(current, lidarSensorToGlobal(egoPose, calibration));
    const nested = [0, 1, 2].map((r) => [m[4 * r], m[4 * r + 1], m[4 * r + 2]]);
    // quaternion_yaw(Quaternion(matrix=…)): through pyquaternion's matrix → quaternion, as the reference.
    const theta = quaternionYaw(Quaternion.fromMatrix(nested));
    return [m[3], m[7], theta];
  });
}

/** RIGHT if the last waypoint is ≥ 2 m to the right (lidar x), LEFT if ≤ −2 m, else FORWARD. */
export function commandFromTrajectory(trajectory: readonly (readonly number[])[]): SadCommand {
  const x = trajectory[trajectory.length - 1][0];
  if (x >= COMMAND_THRESHOLD_M) return 'RIGHT';
  if (x <= -COMMAND_THRESHOLD_M) return 'LEFT';
  return 'FORWARD';
}
