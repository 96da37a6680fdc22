// Built-in planners run in the caller's thread (they are part of spikedrive and trusted), behind the same outcome
// interface as isolated plugins, so the evaluator treats every planner alike: a throw or a malformed trajectory
// fails the call with a report instead of stopping the run.
import { isSpikedriveError } from '../../util/errors.ts';
import {
  type HostObservation,
  type PlannerContext,
  type PlannerContextInit,
  type PlannerDefinition,
  type PlannerInputName,
  plannerContext,
  selectInputs,
  validatePlanResult,
} from '../planner.ts';
import type { PlanOutcome } from './host.ts';

/** A planner the evaluator can call: a built-in in this thread, or a plugin in its worker. */
export interface HostedPlanner {
  readonly name: string;
  readonly version: string | undefined;
  readonly description: string | undefined;
  /** `builtin`, or the plugin module's absolute path. */
  readonly source: string;
  /** SHA-256 of the plugin module (plugins only). */
  readonly sha256?: string;
  /** Declared inputs; null: every input the run has (plain-object plugins without `inputs`). */
  readonly inputs: readonly PlannerInputName[] | null;
  readonly isolated: boolean;
  readonly context: PlannerContext;
  /** Worker restarts so far (plugins: one after each timeout or crash). */
  readonly restarts?: number;
  plan(observation: HostObservation): Promise<PlanOutcome>;
  dispose(): Promise<void>;
}

function message(error: unknown): { message: string; fix?: string; stack?: string } {
  if (isSpikedriveError(error)) return { message: error.message, fix: error.fix };
  if (error instanceof Error) return { message: `${error.name}: ${error.message}`, stack: error.stack };
  return { message: String(error) };
}

/** Initialises a planner definition in this thread and wraps it in the outcome interface. */
export async function hostInProcess(
  definition: PlannerDefinition,
  init: PlannerContextInit = {},
): Promise<HostedPlanner> {
  const ctx = plannerContext(init);
  const state = definition.init ? await definition.init(ctx) : undefined;
  let disposed = false;
  return {
    name: definition.name,
    version: definition.version,
    description: definition.description,
    source: 'builtin',
    inputs: definition.inputs,
    isolated: false,
    context: ctx,
    async plan(observation) {
      const start = performance.now();
      let restricted: ReturnType<typeof selectInputs>;
      try {
        restricted = selectInputs({ grid: ctx.grid, ...observation }, definition.inputs, definition.name);
      } catch (error) {
        return { ok: false, kind: 'missing-input', ...message(error), callMs: performance.now() - start };
      }
      let result: unknown;
      try {
        result = await definition.plan(restricted as never, state, ctx);
      } catch (error) {
        const planMs = performance.now() - start;
        const m = message(error);
        return {
          ok: false,
          kind: 'threw',
          ...m,
          message: `planner "${definition.name}" threw: ${m.message}`,
          planMs,
          callMs: planMs,
        };
      }
      const planMs = performance.now() - start;
      try {
        const plan = validatePlanResult(result, definition.name, ctx.nFutureFrames);
        return { ok: true, ...plan, planMs, callMs: performance.now() - start };
      } catch (error) {
        return { ok: false, kind: 'malformed', ...message(error), planMs, callMs: performance.now() - start };
      }
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (definition.dispose) await definition.dispose(state);
    },
  };
}
