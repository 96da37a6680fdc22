/**
 * Typed CAN bus messages, field for field as in the expansion's JSON files (snake_case, as the devkit's
 * README documents them), and zod schemas that check a file before anyone reads a field of it. Unknown
 * extra keys pass through untouched.
 */
import { z } from 'zod';
import type { QuaternionWxyz, Vec3 } from '../types.ts';

/** Every timed CAN message carries `utime`: microseconds since the epoch of the measurement. */
export interface CanTimedMessage {
  utime: number;
}

/** `pose` (50 Hz): the ego pose at a higher rate than the ego_pose table. */
export interface CanPoseMessage extends CanTimedMessage {
  /** Position (x, y, z) in metres in the global (map) frame. */
  pos: Vec3;
  /** Rotation [w, x, y, z] of the ego vehicle. */
  orientation: QuaternionWxyz;
  /** Velocity in m/s in the ego frame; vel[0] is the forward speed (SAD's v0). */
  vel: Vec3;
  /** Acceleration in m/s² in the ego frame. */
  accel: Vec3;
  /** Angular velocity in rad/s in the ego frame. */
  rotation_rate: Vec3;
}

/** `steeranglefeedback` (100 Hz). */
export interface CanSteerAngleFeedbackMessage extends CanTimedMessage {
  /** Steering angle in radians in [−7.7, 6.3]; positive turns left. */
  value: number;
}

/** `ms_imu` (100 Hz). */
export interface CanImuMessage extends CanTimedMessage {
  /** Acceleration (x, y, z) in m/s² in the IMU frame. */
  linear_accel: Vec3;
  /** IMU → a gravity-aligned reference frame of arbitrary yaw, [w, x, y, z]. */
  q: QuaternionWxyz;
  /** Angular velocity in rad/s about the IMU's x, y, z. */
  rotation_rate: Vec3;
}

/** `vehicle_monitor` (2 Hz). */
export interface CanVehicleMonitorMessage extends CanTimedMessage {
  /** Remaining range in km. */
  available_distance: number;
  /** Battery level in [0, 100]. */
  battery_level: number;
  /** Braking pressure in bar, an integer in [0, 126]. */
  brake: number;
  /** 1 pedal not pressed, 2 pressed, 3 confirmed pressed. */
  brake_switch: number;
  /** Typically 0 (parked) or 7 (driving). */
  gear_position: number;
  /** 0 inactive, 1 active. */
  left_signal: number;
  /** Rear-left wheel speed in rpm. */
  rear_left_rpm: number;
  /** Rear-right wheel speed in rpm. */
  rear_right_rpm: number;
  /** 0 inactive, 1 active. */
  right_signal: number;
  /** Steering angle in degrees (0.1° resolution). */
  steering: number;
  /** Steering speed in degrees per second. */
  steering_speed: number;
  /** Throttle pedal position in [0, 1000]. */
  throttle: number;
  /** Speed in km/h. */
  vehicle_speed: number;
  /** Yaw rate in degrees per second. */
  yaw_rate: number;
}

/** `zoesensors` (~800–970 Hz); `utime` is the reception time. */
export interface CanZoeSensorsMessage extends CanTimedMessage {
  brake_sensor: number;
  steering_sensor: number;
  throttle_sensor: number;
}

/** `zoe_veh_info` (100 Hz); `utime` is the reception time. */
export interface CanZoeVehicleInfoMessage extends CanTimedMessage {
  FL_wheel_speed: number;
  FR_wheel_speed: number;
  RL_wheel_speed: number;
  RR_wheel_speed: number;
  left_solar: number;
  longitudinal_accel: number;
  meanEffTorque: number;
  odom: number;
  odom_speed: number;
  pedal_cc: number;
  regen: number;
  requestedTorqueAfterProc: number;
  right_solar: number;
  steer_corrected: number;
  steer_offset_can: number;
  steer_raw: number;
  transversal_accel: number;
}

/** One `route` point: (x, y) in metres on the scene's map. */
export type CanRoutePoint = [number, number];

/** Statistics of one message type in `meta`. */
export interface CanMessageStats {
  /** How many messages of this type were logged. */
  message_count: number;
  /** Messages per second. */
  message_freq: number;
  /** Seconds from the first to the last message. */
  timespan: number;
  /** Per key: max, mean, min and std of the values and of consecutive differences. */
  var_stats: Record<string, unknown>;
}

/** `meta`: message name (lower-cased, as the devkit does) → its statistics. */
export type CanMeta = Record<string, CanMessageStats>;

/** What `getMessages(scene, name)` returns for each message name. */
export interface CanMessageTypes {
  ms_imu: CanImuMessage[];
  pose: CanPoseMessage[];
  steeranglefeedback: CanSteerAngleFeedbackMessage[];
  vehicle_monitor: CanVehicleMonitorMessage[];
  zoesensors: CanZoeSensorsMessage[];
  zoe_veh_info: CanZoeVehicleInfoMessage[];
  route: CanRoutePoint[];
  meta: CanMeta;
}
export type CanMessageName = keyof CanMessageTypes;

/** The raw CAN messages, in the devkit's order. */
export const CAN_MESSAGES = [
  'ms_imu',
  'pose',
  'steeranglefeedback',
  'vehicle_monitor',
  'zoesensors',
  'zoe_veh_info',
] as const;
export type CanTimedMessageName = (typeof CAN_MESSAGES)[number];
/** Messages the nuScenes team derived from the others (no `utime`). */
export const DERIVED_MESSAGES = ['meta', 'route'] as const;
export const ALL_MESSAGES: readonly CanMessageName[] = [...CAN_MESSAGES, ...DERIVED_MESSAGES];

export function isCanMessageName(name: string): name is CanMessageName {
  return (ALL_MESSAGES as readonly string[]).includes(name);
}

const num = z.number();
const utime = z.number().int().nonnegative();
const vec3 = z.tuple([num, num, num]);
const quat = z.tuple([num, num, num, num]);
const timed = <T extends z.ZodRawShape>(shape: T) => z.array(z.looseObject({ utime, ...shape }));
const numbers = (keys: readonly string[]) => Object.fromEntries(keys.map((k) => [k, num]));

/** A schema per message file; each checks the fields its TypeScript type promises. */
export const CAN_MESSAGE_SCHEMAS: Readonly<Record<CanMessageName, z.ZodType>> = {
  pose: timed({ pos: vec3, orientation: quat, vel: vec3, accel: vec3, rotation_rate: vec3 }),
  steeranglefeedback: timed({ value: num }),
  ms_imu: timed({ linear_accel: vec3, q: quat, rotation_rate: vec3 }),
  vehicle_monitor: timed(
    numbers([
      'available_distance',
      'battery_level',
      'brake',
      'brake_switch',
      'gear_position',
      'left_signal',
      'rear_left_rpm',
      'rear_right_rpm',
      'right_signal',
      'steering',
      'steering_speed',
      'throttle',
      'vehicle_speed',
      'yaw_rate',
    ]),
  ),
  zoesensors: timed(numbers(['brake_sensor', 'steering_sensor', 'throttle_sensor'])),
  zoe_veh_info: timed(
    numbers([
      'FL_wheel_speed',
      'FR_wheel_speed',
      'RL_wheel_speed',
      'RR_wheel_speed',
      'left_solar',
      'longitudinal_accel',
      'meanEffTorque',
      'odom',
      'odom_speed',
      'pedal_cc',
      'regen',
      'requestedTorqueAfterProc',
      'right_solar',
      'steer_corrected',
      'steer_offset_can',
      'steer_raw',
      'transversal_accel',
    ]),
  ),
  route: z.array(z.tuple([num, num])),
  meta: z.record(
    z.string(),
    z.looseObject({
      message_count: num,
      message_freq: num,
      timespan: num,
      var_stats: z.record(z.string(), z.unknown()),
    }),
  ),
};
