// One entry point for "--planner NAME|PATH": a built-in by name (in this thread) or a plugin module (in a worker).
import { BUILTIN_PLANNERS, builtinPlanner } from '../builtins.ts';
import type { CostWeights } from '../cost.ts';
import type { SadPlanning } from '../model.ts';
import type { PlannerContextInit } from '../planner.ts';
import { PluginPlanner, type PluginPlannerOptions } from './host.ts';
import { type HostedPlanner, hostInProcess } from './in-process.ts';

export interface OpenPlannerOptions extends Omit<PluginPlannerOptions, 'context'> {
  context?: PlannerContextInit;
  /** The model's planning module (the `sad` built-in needs it). */
  sad?: SadPlanning;
  costWeights?: CostWeights;
}

/** Whether `spec` names a built-in planner (anything else is taken as a module path). */
export function isBuiltinPlanner(spec: string): boolean {
  return (BUILTIN_PLANNERS as readonly string[]).includes(spec);
}

/** Whether `spec` is taken as a plugin module path (it has a folder separator or a module extension). */
export function isPluginPath(spec: string): boolean {
  return !isBuiltinPlanner(spec) && (/[/\\]/.test(spec) || /\.(c|m)?(j|t)s$/.test(spec));
}

/**
 * Opens a planner: a built-in name (`sad`, `cost-only`, `constant-velocity`, `expert`) runs in this thread; a module
 * path is loaded as an isolated plugin. Unknown names are a SpikedriveError listing the built-ins.
 */
export async function openPlanner(spec: string, options: OpenPlannerOptions = {}): Promise<HostedPlanner> {
  if (!isPluginPath(spec)) {
    // builtinPlanner throws the "Unknown planner" error (listing the built-ins) for other plain names.
    const definition = builtinPlanner(spec, { sad: options.sad, costWeights: options.costWeights });
    return hostInProcess(definition, options.context);
  }
  const plugin = await PluginPlanner.load(spec, options);
  const hosted: HostedPlanner = {
    name: plugin.name,
    version: plugin.version,
    description: plugin.description,
    source: plugin.modulePath,
    sha256: plugin.sha256,
    inputs: plugin.inputs,
    isolated: true,
    context: plugin.context,
    plan: (observation) => plugin.plan(observation),
    dispose: () => plugin.dispose(),
    get restarts() {
      return plugin.restarts;
    },
  };
  return hosted;
}
