// Energy accounting: hardware profiles with cited constants, and the energy of an ActivityRecord (what
// `snn` layers count on a forward) under the SAD paper's convention, a memory-aware model and the ANN
// equivalent, per layer, per module and per frame. Reads `snn` activity only; knows no driving stage.

export {
  activityRollUpToJson,
  describeSettings,
  ENERGY_JSON_VERSION,
  type EnergyTableOptions,
  energyReportToJson,
  formatActivityRollUp,
  formatEnergyComparison,
  formatEnergyReport,
  formatHardwareProfile,
} from './format.ts';
export {
  type BoundaryEnergy,
  COMPONENT_GROUP,
  type ComponentEnergies,
  type CountedOps,
  computeEnergy,
  computeEnergyMethods,
  DEFAULT_SYNAPTIC_KINDS,
  ENERGY_COMPONENTS,
  ENERGY_GROUPS,
  ENERGY_METHODS,
  type EnergyComponent,
  type EnergyGroup,
  type EnergyMethod,
  type EnergyOptions,
  type EnergyReport,
  type EnergySettings,
  type GroupEnergies,
  groupComponents,
  type LayerEnergy,
  type ModuleEnergy,
} from './methods.ts';
export {
  type CitedEnergy,
  citedConstants,
  type HardwareProfile,
  type MemoryCost,
  type MemoryPlacement,
  type MemoryPlacements,
  type SramBank,
} from './profile.ts';
export {
  BUILT_IN_PROFILES,
  DEFAULT_PROFILE_ID,
  getHardwareProfile,
  hardwareProfileFrom,
  listHardwareProfiles,
  loadHardwareProfile,
  parseHardwareProfileText,
  resolveHardwareProfile,
  SOURCES,
} from './profiles.ts';
export {
  COUNT_FIELDS,
  parseBoundaryKey,
  type RecordedLayer,
  recorded,
  sumActivityRecords,
  validateActivityRecord,
} from './records.ts';
export {
  type ActivityCounts,
  type ActivityRollUp,
  DEFAULT_SPIKING_KINDS,
  type LayerRollUp,
  type ModuleRollUp,
  type RollUpOptions,
  rollUpActivity,
} from './rollup.ts';
export { formatCount, formatJoules, formatPercent, toMillijoules } from './units.ts';
