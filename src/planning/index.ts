// SAD's planner: the seeded trajectory sampler (circles, clothoids, lines), the reference cost function, the spiking
// GRU refiner and its loss (`SadPlanning`, names `planning.*`), and the versioned `Planner` interface with the
// built-in planners `sad`, `cost-only`, `constant-velocity` and `expert`.

export {
  BUILTIN_PLANNERS,
  type BuiltinPlannerName,
  builtinPlanner,
  constantVelocityPlanner,
  costOnlyPlanner,
  expertPlanner,
  sadPlanner,
} from './builtins.ts';
export {
  COST_CONSTANTS,
  type CostBreakdown,
  CostFunction,
  type CostFunctionOptions,
  type CostMaps,
  type CostWeights,
  comfortCost,
  type HdMapInput,
  laneDistanceCosts,
  processHdMap,
  progressCost,
  SAD_COST_WEIGHTS,
  safetyLambdaCells,
  softmaxForeground,
} from './cost.ts';
export { fresnel } from './fresnel.ts';
export {
  type BevGrid,
  type BoundM,
  bevGrid,
  clampCell,
  type EgoSize,
  egoFootprint,
  type Footprint,
  rasterisePolygon,
  SAD_EGO,
} from './geometry.ts';
export {
  COMMAND_THRESHOLD_M,
  commandFromFinalOffset,
  commandThird,
  occupancyFromLogits,
  PLANNING_COMMANDS,
  PLANNING_GRU_INPUT_SIZE,
  type PlanningCommand,
  type PlanningInput,
  type PlanningLoss,
  type PlanningOptions,
  type PlanningOutput,
  reducedStateSize,
  SAD_REDUCER_DOWNSAMPLE,
  SadPlanning,
  withoutOrigin,
} from './model.ts';
export { numpyArgsort, numpyRandomState, pyMod, type UniformSource } from './numpy.ts';
export {
  createPlanner,
  type DenseArray,
  definePlanner,
  type EgoState,
  type HostObservation,
  hdmapProbabilities,
  type ObservationBase,
  PLANNER_API_VERSION,
  PLANNER_INPUTS,
  type PlannerContext,
  type PlannerContextInit,
  type PlannerDefinition,
  type PlannerInputName,
  type PlannerInputs,
  type PlannerInstance,
  type PlannerObservation,
  type PlannerSpec,
  type PlanResult,
  plannerContext,
  selectInputs,
  type Trajectory,
  type ValidatedPlan,
  validatePlannerDefinition,
  validatePlanResult,
  type Waypoint,
} from './planner.ts';
export {
  type CandidateSet,
  curvatureFromSteering,
  type SamplerInputs,
  type SamplerOptions,
  sampleTrajectories,
} from './sampler.ts';
