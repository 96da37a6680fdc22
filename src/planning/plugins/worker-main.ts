// The planner worker: imports one plugin module, checks its default export against the Planner API, runs `init`
// once, then answers `plan` calls one at a time. Any failure is reported to the host as data; the host owns the
// time limits (it stops a worker that does not answer).
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { isSpikedriveError } from '../../util/errors.ts';
import {
  definePlanner,
  type HostObservation,
  PLANNER_API_VERSION,
  PLANNER_INPUTS,
  type PlannerContext,
  type PlannerDefinition,
  type PlannerInputName,
  plannerContext,
  selectInputs,
  validatePlannerDefinition,
} from '../planner.ts';
import type { HostMessage, PlannerDescription, WorkerData, WorkerMessage } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('worker-main.ts runs only as a worker thread');
const { modulePath, context } = workerData as WorkerData;

let definition: PlannerDefinition | null = null;
/** null: a plain object without `inputs`, which gets every input the run provides. */
let declared: readonly PlannerInputName[] | null = null;
let ctx: PlannerContext | null = null;
let state: unknown;

function send(message: WorkerMessage): void {
  port?.postMessage(message);
}

function errorText(error: unknown): { message: string; fix?: string; stack?: string } {
  if (isSpikedriveError(error)) return { message: error.message, fix: error.fix };
  if (error instanceof Error) return { message: `${error.name}: ${error.message}`, stack: error.stack };
  return { message: `threw ${typeof error === 'string' ? JSON.stringify(error) : String(error)}` };
}

/** A definePlanner result, or a plain object with `name` and `plan` (inputs optional). */
function asDefinition(value: unknown): { definition: PlannerDefinition; inputs: PlannerInputName[] | null } {
  const candidate = value as {
    apiVersion?: unknown;
    inputs?: unknown;
    name?: unknown;
    plan?: unknown;
  } | null;
  if (candidate !== null && typeof candidate === 'object' && candidate.apiVersion !== undefined) {
    const definition = validatePlannerDefinition(value, modulePath);
    return { definition, inputs: [...definition.inputs] };
  }
  if (candidate === null || typeof candidate !== 'object' || typeof candidate.plan !== 'function') {
    validatePlannerDefinition(value, modulePath); // throws the API's "does not export a planner" error
  }
  const plain = candidate as Record<string, unknown>;
  const hasInputs = plain.inputs !== undefined;
  const spec = { ...plain, inputs: hasInputs ? plain.inputs : [] } as unknown as Parameters<
    typeof definePlanner
  >[0];
  const definition = definePlanner(spec) as unknown as PlannerDefinition;
  return { definition, inputs: hasInputs ? [...definition.inputs] : null };
}

async function init(): Promise<void> {
  const started = performance.now();
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(modulePath).href)) as { default?: unknown };
  } catch (error) {
    send({ type: 'init-failed', stage: 'import', ...errorText(error) });
    return;
  }
  try {
    // A CommonJS module's exports arrive as `default`; an ES module must export the planner as default.
    const loaded = asDefinition(module.default);
    definition = loaded.definition;
    declared = loaded.inputs;
  } catch (error) {
    send({ type: 'init-failed', stage: 'validate', ...errorText(error) });
    return;
  }
  try {
    ctx = plannerContext(context);
    state = definition.init ? await definition.init(ctx) : undefined;
  } catch (error) {
    send({ type: 'init-failed', stage: 'init', ...errorText(error) });
    return;
  }
  const planner: PlannerDescription = {
    name: definition.name,
    inputs: declared ? [...declared] : null,
    apiVersion: PLANNER_API_VERSION,
  };
  if (definition.version !== undefined) planner.version = String(definition.version);
  if (definition.description !== undefined) planner.description = String(definition.description);
  send({ type: 'ready', planner, initMs: performance.now() - started });
}

async function plan(id: number, observation: HostObservation): Promise<void> {
  if (!definition || !ctx) return;
  const started = performance.now();
  let restricted: ReturnType<typeof selectInputs>;
  try {
    // A plain object without `inputs` gets every input the run has, except the privileged GT trajectory.
    const inputs =
      declared ??
      PLANNER_INPUTS.filter(
        (key) => key !== 'gtTrajectory' && (observation as Record<string, unknown>)[key] !== undefined,
      );
    restricted = selectInputs({ grid: ctx.grid, ...observation }, inputs, definition.name);
  } catch (error) {
    send({ type: 'error', id, kind: 'missing-input', planMs: 0, ...errorText(error) });
    return;
  }
  let result: unknown;
  try {
    result = await definition.plan(restricted as never, state, ctx);
  } catch (error) {
    send({ type: 'error', id, kind: 'threw', planMs: performance.now() - started, ...errorText(error) });
    return;
  }
  const planMs = performance.now() - started;
  try {
    send({ type: 'result', id, result, planMs });
  } catch (error) {
    // DataCloneError: functions, symbols or class instances that do not survive structured clone.
    send({
      type: 'error',
      id,
      kind: 'malformed',
      planMs,
      message: `returned a value that cannot be passed between threads (${(error as Error).message})`,
    });
  }
}

async function dispose(): Promise<void> {
  let error: string | undefined;
  try {
    if (definition?.dispose) await definition.dispose(state);
  } catch (e) {
    error = errorText(e).message;
  }
  send(error === undefined ? { type: 'disposed' } : { type: 'disposed', error });
}

port.on('message', (message: HostMessage) => {
  if (message.type === 'init') void init();
  else if (message.type === 'plan') void plan(message.id, message.observation);
  else if (message.type === 'dispose') void dispose();
});
