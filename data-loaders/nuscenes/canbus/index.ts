// The nuScenes CAN bus expansion: per-scene message files under <dataroot>/can_bus/, the devkit's
// blacklists and checks, and SAD's nearest-message look-up.
export {
  CAN_BLACKLIST,
  canBusSceneName,
  DEFAULT_MAX_MISALIGNMENT_M,
  isCanBlacklisted,
  isCanBusSceneName,
  NO_VEHICLE_MONITOR_SCENES,
  ROUTE_BLACKLIST,
  sceneNumber,
} from './blacklist.ts';
export {
  type CanBusBlacklists,
  type CanMessageSeries,
  type GetMessagesOptions,
  NuScenesCanBus,
  type NuScenesCanBusOptions,
  type SadEgoState,
} from './can-bus.ts';
export { locateMessage } from './locate.ts';
export {
  ALL_MESSAGES,
  CAN_MESSAGE_SCHEMAS,
  CAN_MESSAGES,
  type CanImuMessage,
  type CanMessageName,
  type CanMessageStats,
  type CanMessageTypes,
  type CanMeta,
  type CanPoseMessage,
  type CanRoutePoint,
  type CanSteerAngleFeedbackMessage,
  type CanTimedMessage,
  type CanTimedMessageName,
  type CanVehicleMonitorMessage,
  type CanZoeSensorsMessage,
  type CanZoeVehicleInfoMessage,
  DERIVED_MESSAGES,
  isCanMessageName,
} from './messages.ts';
export {
  type CanBusFromEgoPosesOptions,
  canBusFromEgoPoses,
  type EgoPoseSample,
  type SynthesizedCanBus,
} from './synthesize.ts';
