import { z } from 'zod';
import { SpikedriveError } from '../util/errors.ts';
import { PLANNING_COMMANDS, type PlanningCommand } from './commands.ts';
import { type BevGrid, type BoundM, bevGrid, type EgoSize, SAD_EGO } from './geometry.ts';

/**
 * The planner plugin interface. Bump on any incompatible change to `PlannerObservation`, `PlannerContext`,
 * `Trajectory` or the definition shape; hosts refuse definitions built for another version.
 */
export const PLANNER_API_VERSION = 1;

/** Everything a planner may declare as an input (it receives exactly what it declares). */
export const PLANNER_INPUTS = [
  'occupancy',
  'hdmap',
  'costVolume',
  'egoState',
  'command',
  'frontFeature',
  'candidates',
  'gtTrajectory',
] as const;
export type PlannerInputName = (typeof PLANNER_INPUTS)[number];

/**
 * One waypoint [x, y, θ] in the present LIDAR_TOP sensor frame: x metres to the right, y metres forward, θ radians
 * counter-clockwise from +y (the frame of nuScenes GT trajectories and SAD's sampler).
 */
export type Waypoint = readonly [xRightM: number, yForwardM: number, headingRad: number];

/** F waypoints at 0.5 s, 1.0 s, … (the origin at t = 0 is not included). */
export type Trajectory = readonly Waypoint[];

/** A dense row-major array with its shape. */
export interface DenseArray<S extends readonly number[] = number[]> {
  data: Float32Array;
  shape: S;
}

export interface EgoState {
  /** Forward speed from the CAN bus (`pose.vel[0]`), m/s; undefined without CAN data. */
  v0Mps?: number;
  /** Steering (`steeranglefeedback`, negated in Singapore), radians; undefined without CAN data. */
  steeringRad?: number;
  /** Past poses [x, y, θ] in the present LIDAR frame, oldest first, at 0.5 s spacing; may be empty. */
  history: readonly Waypoint[];
}

/** The inputs a planner can declare, with their layouts (BEV grids: rows = x forward, columns = y left). */
export interface PlannerInputs {
  /** [F, X, Y] probability that each cell is occupied (vehicle ∨ pedestrian) in each future frame. */
  occupancy: DenseArray<[number, number, number]>;
  /** [X, Y, C] present-frame HD map: C = 2 masks [lane divider, drivable area] or 4 logits (bg/fg pairs). */
  hdmap: DenseArray<[number, number, number]> & { channels: 'masks' | 'logits' };
  /** [F, X, Y] SAD's `costvolume` head (lower is better; the cost function clamps it to [0, 1000]). */
  costVolume: DenseArray<[number, number, number]>;
  egoState: EgoState;
  /** The route command (from the GT's final lateral offset, ±2 m, as the reference). */
  command: PlanningCommand;
  /** [h, w, C] present CAM_FRONT encoder feature (channels last). */
  frontFeature: DenseArray<[number, number, number]>;
  /** [N, F, 3] sampled candidate trajectories (no origin), sorted by final x: thirds LEFT, FORWARD, RIGHT. */
  candidates: DenseArray<[number, number, number]>;
  /** The ground-truth future (privileged: evaluation only; the `expert` upper bound uses it). */
  gtTrajectory: Trajectory;
}

/** What every observation carries besides the declared inputs. */
export interface ObservationBase {
  /** The nuScenes sample token of the present frame. */
  sampleToken: string;
  /** The BEV grid of the map inputs (the host fills it from the run's context). */
  grid: BevGrid;
}

/** What `plan` receives: the sample token and grid plus exactly the declared inputs. */
export type PlannerObservation<I extends PlannerInputName = PlannerInputName> = ObservationBase &
  Pick<PlannerInputs, I>;

/** What the host passes to `PlannerInstance.plan`: at least the declared inputs (the grid defaults to the run's). */
export type HostObservation = { sampleToken: string; grid?: BevGrid } & Partial<PlannerInputs>;

/** Fixed facts about the run, given to `init` and every `plan` call. */
export interface PlannerContext {
  /** `LIFT.X_BOUND` / `LIFT.Y_BOUND` and the grid they define. */
  xBound: BoundM;
  yBound: BoundM;
  grid: BevGrid;
  /** Waypoints to return (`N_FUTURE_FRAMES`). */
  nFutureFrames: number;
  /** Seconds between waypoints (0.5). */
  frameIntervalS: number;
  /** Candidates per sample (`PLANNING.SAMPLE_NUM`). */
  sampleNum: number;
  ego: EgoSize;
  /** Free-form options the user passed for this planner. */
  options: Readonly<Record<string, unknown>>;
}

/** What the host passes to `createPlanner`; unspecified fields take SAD's values. */
export interface PlannerContextInit {
  xBound?: BoundM;
  yBound?: BoundM;
  nFutureFrames?: number;
  frameIntervalS?: number;
  sampleNum?: number;
  ego?: EgoSize;
  options?: Record<string, unknown>;
}

/** A plan: the trajectory, optionally with scalar diagnostics the run files keep (selected index, cost, …). */
export type PlanResult =
  | Trajectory
  | { trajectory: Trajectory; meta?: Record<string, number | string | boolean> };

export interface PlannerSpec<I extends PlannerInputName, S> {
  /** Lower-case name used on the command line and in run manifests, e.g. `cost-only`. */
  name: string;
  description?: string;
  /** The plugin's own version, recorded in run manifests. */
  version?: string;
  inputs: readonly I[];
  /** Called once before the first `plan`; its result is the planner's state. */
  init?: (ctx: PlannerContext) => S | Promise<S>;
  plan: (
    observation: PlannerObservation<I>,
    state: S,
    ctx: PlannerContext,
  ) => PlanResult | Promise<PlanResult>;
  /** Releases what `init` built (tensors, workers). */
  dispose?: (state: S) => void | Promise<void>;
}

export interface PlannerDefinition<I extends PlannerInputName = PlannerInputName, S = unknown>
  extends PlannerSpec<I, S> {
  readonly apiVersion: typeof PLANNER_API_VERSION;
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

const specSchema = z.object({
  name: z
    .string()
    .regex(NAME_PATTERN, 'lower-case letters, digits, ".", "_" or "-", starting with a letter or digit'),
  description: z.string().optional(),
  version: z.string().optional(),
  inputs: z
    .array(z.enum(PLANNER_INPUTS))
    .refine((list) => new Set(list).size === list.length, 'each input at most once'),
  init: z.function().optional(),
  plan: z.function(),
  dispose: z.function().optional(),
});

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(value)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Declares a planner (Foxglove-extension style: one call with a name, declared inputs and a handler). The spec is
 * checked here, so a malformed plugin fails when it loads, naming what is wrong.
 *
 * ```ts
 * export default definePlanner({
 *   name: 'keep-lane',
 *   inputs: ['egoState', 'hdmap'],
 *   plan: (obs, _state, ctx) => Array.from({ length: ctx.nFutureFrames }, (_, k) =>
 *     [0, (obs.egoState.v0Mps ?? 0) * 0.5 * (k + 1), 0] as const),
 * });
 * ```
 */
export function definePlanner<const I extends PlannerInputName, S = undefined>(
  spec: PlannerSpec<I, S>,
): PlannerDefinition<I, S> {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    const name =
      typeof (spec as { name?: unknown })?.name === 'string' ? (spec as { name: string }).name : '?';
    throw new SpikedriveError(`Planner "${name}" is malformed: ${describeIssues(parsed.error)}`, {
      subject: `planner ${name}`,
      fix: `Give definePlanner a name, inputs from ${PLANNER_INPUTS.join(', ')}, and a plan function.`,
    });
  }
  return Object.freeze({ ...spec, inputs: Object.freeze([...spec.inputs]), apiVersion: PLANNER_API_VERSION });
}

/** Checks that a loaded module's export is a planner definition for this API version (for plugin loaders). */
export function validatePlannerDefinition(value: unknown, source: string): PlannerDefinition {
  const apiVersion = (value as { apiVersion?: unknown } | null)?.apiVersion;
  if (typeof value !== 'object' || value === null || apiVersion === undefined) {
    throw new SpikedriveError(`${source} does not export a planner definition`, {
      subject: source,
      fix: 'Export the result of definePlanner({ name, inputs, plan }) as the default export.',
    });
  }
  if (apiVersion !== PLANNER_API_VERSION) {
    throw new SpikedriveError(
      `${source} was built for planner API version ${String(apiVersion)}, this spikedrive speaks version ${PLANNER_API_VERSION}`,
      { subject: source, fix: `Rebuild the plugin against planner API version ${PLANNER_API_VERSION}.` },
    );
  }
  const parsed = specSchema.safeParse(value);
  if (!parsed.success) {
    throw new SpikedriveError(`${source} exports a malformed planner: ${describeIssues(parsed.error)}`, {
      subject: source,
      fix: 'Build the export with definePlanner({ name, inputs, plan }).',
    });
  }
  return value as PlannerDefinition;
}

const waypointSchema = z.tuple([z.number(), z.number(), z.number()]);
const trajectorySchema = z.array(waypointSchema);
const resultObjectSchema = z.object({
  trajectory: trajectorySchema,
  meta: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
});

/** A checked plan: finite waypoints, exactly F of them. */
export interface ValidatedPlan {
  trajectory: Waypoint[];
  meta: Record<string, number | string | boolean>;
}

/** Validates what a planner returned (zod): F waypoints of three finite numbers, or `{ trajectory, meta }`. */
export function validatePlanResult(value: unknown, planner: string, nFutureFrames: number): ValidatedPlan {
  // Parse by form, so issues point at the offending waypoint rather than at a union.
  const parsed = Array.isArray(value)
    ? trajectorySchema.safeParse(value)
    : resultObjectSchema.safeParse(value);
  if (!parsed.success) {
    const where = (path: PropertyKey[]) => {
      const p = path[0] === 'trajectory' ? path.slice(1) : path;
      if (p.length === 0)
        return path[0] === 'trajectory' ? 'trajectory' : path.map(String).join('.') || 'result';
      return `waypoint ${String(p[0])}${p.length > 1 ? ` element ${String(p[1])}` : ''}`;
    };
    const issues = parsed.error.issues.map((i) => `${where(i.path)}: ${i.message}`).join('; ');
    throw new SpikedriveError(`Planner "${planner}" returned a malformed trajectory: ${issues}`, {
      subject: `planner ${planner}`,
      fix: `Return ${nFutureFrames} waypoints [x right (m), y forward (m), heading (rad)] of finite numbers, or { trajectory, meta }.`,
    });
  }
  const data = parsed.data;
  const trajectory = (Array.isArray(data) ? data : data.trajectory).map(
    (w) => [w[0], w[1], w[2]] as Waypoint,
  );
  const meta = Array.isArray(data) ? {} : (data.meta ?? {});
  if (trajectory.length !== nFutureFrames) {
    throw new SpikedriveError(
      `Planner "${planner}" returned ${trajectory.length} waypoints, expected ${nFutureFrames}`,
      {
        subject: `planner ${planner}`,
        fix: `Return one waypoint per future frame (0.5 s apart), without the origin: ${nFutureFrames} in this run.`,
      },
    );
  }
  return { trajectory, meta };
}

/** A planner ready to use: initialised, taking full observations, returning validated plans. */
export interface PlannerInstance<I extends PlannerInputName = PlannerInputName> {
  readonly name: string;
  readonly version: string | undefined;
  readonly inputs: readonly I[];
  readonly context: PlannerContext;
  /** Plans from an observation that holds at least the declared inputs (others are stripped before `plan`). */
  plan(observation: HostObservation): Promise<ValidatedPlan>;
  dispose(): Promise<void>;
}

export function plannerContext(init: PlannerContextInit = {}): PlannerContext {
  const xBound = init.xBound ?? [-50, 50, 0.5];
  const yBound = init.yBound ?? [-50, 50, 0.5];
  return {
    xBound,
    yBound,
    grid: bevGrid(xBound, yBound),
    nFutureFrames: init.nFutureFrames ?? 6,
    frameIntervalS: init.frameIntervalS ?? 0.5,
    sampleNum: init.sampleNum ?? 1800,
    ego: init.ego ?? SAD_EGO,
    options: Object.freeze({ ...(init.options ?? {}) }),
  };
}

/**
 * Initialises a planner for a run (the host side of the interface): checks the API version, runs `init`, and
 * returns an instance whose `plan` hands the planner only its declared inputs and validates what comes back.
 */
export async function createPlanner<I extends PlannerInputName, S>(
  definition: PlannerDefinition<I, S>,
  init: PlannerContextInit = {},
): Promise<PlannerInstance<I>> {
  validatePlannerDefinition(definition, `planner "${definition?.name ?? '?'}"`);
  const ctx = plannerContext(init);
  const state = (definition.init ? await definition.init(ctx) : undefined) as S;
  let disposed = false;
  return {
    name: definition.name,
    version: definition.version,
    inputs: definition.inputs,
    context: ctx,
    async plan(observation) {
      if (disposed) {
        throw new SpikedriveError(`Planner "${definition.name}" was used after dispose()`, {
          subject: `planner ${definition.name}`,
          fix: 'Create a new planner instance.',
        });
      }
      const restricted = selectInputs({ grid: ctx.grid, ...observation }, definition.inputs, definition.name);
      const result = await definition.plan(restricted, state, ctx);
      return validatePlanResult(result, definition.name, ctx.nFutureFrames);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (definition.dispose) await definition.dispose(state);
    },
  };
}

/** The observation a planner sees: the sample token, the grid and its declared inputs, nothing else (frozen). */
export function selectInputs<I extends PlannerInputName>(
  observation: ObservationBase & Partial<PlannerInputs>,
  inputs: readonly I[],
  planner: string,
): PlannerObservation<I> {
  const out: Record<string, unknown> = { sampleToken: observation.sampleToken, grid: observation.grid };
  for (const key of inputs) {
    const value = observation[key];
    if (value === undefined) {
      throw new SpikedriveError(
        `Planner "${planner}" needs input "${key}", which this run does not provide`,
        {
          subject: `planner ${planner}`,
          fix:
            key === 'gtTrajectory'
              ? 'The GT trajectory exists only when evaluating on labelled data.'
              : `Provide "${key}" in the observation, or use a planner that does not need it.`,
        },
      );
    }
    out[key] = value;
  }
  if (out.command !== undefined && !PLANNING_COMMANDS.includes(out.command as PlanningCommand)) {
    throw new SpikedriveError(`Unknown driving command "${String(out.command)}"`, {
      subject: 'command',
      fix: `Use one of ${PLANNING_COMMANDS.join(', ')}.`,
    });
  }
  return Object.freeze(out) as PlannerObservation<I>;
}

/** Foreground probabilities [X·Y] of an HD map input: lane divider and drivable area (softmax of logit pairs). */
export function hdmapProbabilities(hdmap: PlannerInputs['hdmap']): {
  lane: Float32Array;
  drivable: Float32Array;
} {
  const [X, Y, C] = hdmap.shape;
  const lane = new Float32Array(X * Y);
  const drivable = new Float32Array(X * Y);
  for (let i = 0; i < X * Y; i++) {
    if (hdmap.channels === 'masks') {
      lane[i] = hdmap.data[i * C];
      drivable[i] = hdmap.data[i * C + 1];
    } else {
      lane[i] = 1 / (1 + Math.exp(hdmap.data[i * C] - hdmap.data[i * C + 1]));
      drivable[i] = 1 / (1 + Math.exp(hdmap.data[i * C + 2] - hdmap.data[i * C + 3]));
    }
  }
  return { lane, drivable };
}
