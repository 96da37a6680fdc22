// Planner hosting: a module path whose default export is a planner (definePlanner, or a plain { name, plan }
// object) runs isolated in a worker thread with a per-call time limit; throws, hangs, crashes and malformed
// trajectories come back as per-call failure reports. Built-ins run in this thread behind the same interface.
// The Planner API itself is `src/planning/planner.ts`.
export {
  type PlanFailure,
  type PlanFailureKind,
  type PlanOutcome,
  type PlanSuccess,
  PluginPlanner,
  type PluginPlannerOptions,
  resolvePluginPath,
} from './host.ts';
export { type HostedPlanner, hostInProcess } from './in-process.ts';
export { isBuiltinPlanner, isPluginPath, type OpenPlannerOptions, openPlanner } from './open.ts';
export type { PlannerDescription } from './protocol.ts';
