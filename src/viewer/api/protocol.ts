// The one API between the renderer and its host, shared by the Electron preload/main process and the browser-mode
// HTTP server: method names, zod schemas of every request (hosts validate before acting), and the response types.
// Pure TypeScript (zod only): the renderer, the server and the Electron main process all import it.
import { z } from 'zod';

const id = z.string().regex(/^[a-z]+-[0-9]+$/, 'an id the host handed out, e.g. run-1');
const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a nuScenes token (letters, digits, - and _)');
const path = z.string().min(1).max(4096);

export const PLANNER_CHOICE = z.union([
  z.object({ builtin: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/) }).strict(),
  z.object({ plugin: path }).strict(),
]);
export type PlannerChoice = z.infer<typeof PLANNER_CHOICE>;

/** An offload spec as `spikedrive infer --offload` takes it: perception=nir-sim, prediction=ws://HOST:PORT. */
export const OFFLOAD_SPEC = z
  .string()
  .max(300)
  .regex(/^[a-z_]+=(nir-sim|wss?:\/\/[^\s]+)$/, 'MODULE=nir-sim or MODULE=ws://HOST:PORT');

export const preferencesSchema = z
  .object({
    window: z
      .object({
        width: z.number().int().min(400).max(10000),
        height: z.number().int().min(300).max(10000),
        x: z.number().int().optional(),
        y: z.number().int().optional(),
        maximized: z.boolean().optional(),
      })
      .optional(),
    recentDatasets: z.array(z.string()).max(10).optional(),
    recentRuns: z.array(z.string()).max(10).optional(),
    energyProfile: z.string().max(100).optional(),
    playbackSpeed: z.number().min(0.25).max(4).optional(),
    loop: z.boolean().optional(),
    trajectoryFrame: z.enum(['planner', 'geometric']).optional(),
  })
  .strict();
export type Preferences = z.infer<typeof preferencesSchema>;

/** Every method: its request schema. Responses are typed by `ApiResponses`. */
export const API_REQUESTS = {
  startup: z.object({}).strict(),
  openDataset: z.object({ path, version: z.string().max(64).optional() }).strict(),
  openRun: z.object({ path }).strict(),
  closeRun: z.object({ runId: id }).strict(),
  runSummary: z.object({ runId: id }).strict(),
  runSeries: z.object({ runId: id }).strict(),
  runFrame: z.object({ runId: id, token }).strict(),
  frameEnergy: z.object({ runId: id, token, profile: z.string().min(1).max(100) }).strict(),
  sampleView: z.object({ datasetId: id, token }).strict(),
  sampleMap: z.object({ datasetId: id, token }).strict(),
  cameraImage: z
    .object({
      datasetId: id,
      sampleDataToken: token,
      maxWidth: z.number().int().min(64).max(4096).optional(),
    })
    .strict(),
  listPlanners: z.object({}).strict(),
  replan: z.object({ runId: id, token, planner: PLANNER_CHOICE }).strict(),
  startJob: z.discriminatedUnion('kind', [
    z
      .object({
        kind: z.literal('ground-truth-run'),
        datasetId: id,
        planner: z.enum(['expert', 'cost-only', 'constant-velocity']),
      })
      .strict(),
    z
      .object({
        kind: z.literal('model-run'),
        datasetId: id,
        /** Checkpoint file; absent = the app's default (the shipped model, or `spikedrive app --checkpoint`). */
        checkpoint: path.optional(),
        /** Default `sad` (through the model). */
        planner: PLANNER_CHOICE.optional(),
        /** `MODULE=BACKEND` as `spikedrive infer --offload`; absent = the app's `--offload`. */
        offload: z.array(OFFLOAD_SPEC).max(3).optional(),
        split: z.enum(['train', 'val']).optional(),
        limit: z.number().int().min(1).max(100000).optional(),
      })
      .strict(),
  ]),
  jobs: z.object({}).strict(),
  cancelJob: z.object({ jobId: id }).strict(),
  browse: z.object({ path: path.optional() }).strict(),
  chooseFolder: z.object({ purpose: z.enum(['dataset', 'run', 'plugin', 'checkpoint']) }).strict(),
  getPreferences: z.object({}).strict(),
  setPreferences: z.object({ preferences: preferencesSchema }).strict(),
  saveFile: z
    .object({
      name: z.string().regex(/^[A-Za-z0-9 ._-]{1,120}\.png$/, 'a plain .png file name'),
      bytes: z.instanceof(Uint8Array),
    })
    .strict(),
} as const;

export type ApiMethod = keyof typeof API_REQUESTS;
export const API_METHODS = Object.keys(API_REQUESTS) as ApiMethod[];
export type ApiRequest<M extends ApiMethod> = z.infer<(typeof API_REQUESTS)[M]>;

/** Methods whose response is raw bytes (HTTP: application/octet-stream; IPC: a Uint8Array). */
export const BINARY_METHODS: ReadonlySet<ApiMethod> = new Set(['runFrame', 'sampleMap', 'cameraImage']);

export interface SceneInfo {
  sceneToken: string;
  name: string;
  description: string;
  samples: { token: string; timestampUs: number }[];
}

export interface DatasetInfo {
  datasetId: string;
  dataroot: string;
  version: string;
  scenes: SceneInfo[];
  cameras: string[];
  hasMaps: boolean;
}

export interface RunInfo {
  runId: string;
  dir: string;
  label: string;
  status: 'running' | 'complete';
  manifest: Record<string, unknown> & {
    planner: { name: string; source: string };
    bev: { xBound: [number, number, number]; yBound: [number, number, number]; rows: number; cols: number };
    nFuture: number;
    receptiveField: number;
    energyProfile: string;
    dataset: { dataroot: string; version: string };
  };
  frames: {
    token: string;
    sceneToken: string;
    sceneName: string;
    timestampUs: number;
    index: number;
    scalars: Record<string, unknown>;
  }[];
  metrics: {
    samples: number;
    entries: {
      metric: string;
      value: number | null;
      unit: string;
      convention: string;
      horizonS?: number;
      class?: string;
      note?: string;
    }[];
  } | null;
  energy: {
    method: string;
    profile: { id: string; name: string };
    annProfileId: string;
    totalJ: number;
    annEquivalentJ: number;
    annToSnnRatio: number | null;
    modules: { module: string; energyJ: number; annEquivalentJ: number }[];
    notes: string[];
  } | null;
  /** The dataset this run was evaluated on, when it could be opened. */
  datasetId: string | null;
  warnings: string[];
}

/** Per-frame series for plots; IoU as per-frame confusion counts so the renderer can accumulate a running IoU. */
export interface RunSeries {
  runId: string;
  tokens: string[];
  /** [frame] → counts over the frames from the present on: [tp, fp, fn] for vehicle, pedestrian. */
  iouCounts: { vehicle: [number, number, number][]; pedestrian: [number, number, number][] };
}

export interface EnergyBreakdown {
  profile: { id: string; name: string; technology: string; estimate: boolean };
  method: string;
  /** Joules for this frame. */
  totalJ: number;
  annEquivalentJ: number;
  modules: { module: string; energyJ: number; annEquivalentJ: number }[];
  layers: { name: string; module: string; energyJ: number; firingRate: number }[];
  /** How the numbers were obtained (recomputed from counts, or as stored). */
  source: 'recomputed' | 'stored';
  notes: string[];
}

export interface CameraView {
  channel: string;
  sampleDataToken: string;
  width: number;
  height: number;
  /** 3×4 row-major projection from the flattened ego frame (x fwd, y left, z up) to pixels (homogeneous). */
  bevToImage: number[];
}

export interface BoxView {
  annotationToken: string;
  instanceToken: string;
  category: string;
  /** Centre in the flattened ego frame, metres. */
  center: [number, number, number];
  /** [width, length, height], metres. */
  size: [number, number, number];
  yawRad: number;
  rgb: [number, number, number];
}

export interface SampleView {
  datasetId: string;
  token: string;
  sceneToken: string;
  sceneName: string;
  timestampUs: number;
  /** The flattened LIDAR_TOP-time ego pose in world coordinates. */
  egoPose: { x: number; y: number; z: number; yawRad: number };
  /** 4×4 row-major: LIDAR_TOP sensor frame (x right, y forward) → flattened ego frame. */
  lidarToBev: number[];
  cameras: CameraView[];
  boxes: BoxView[];
  /** The scene's ego positions in this sample's flattened ego frame (x fwd, y left). */
  egoPath: [number, number][];
  /** Index of this sample within egoPath. */
  egoPathIndex: number;
}

export interface PlannerInfo {
  name: string;
  description: string;
  source: 'builtin' | 'plugin' | 'run';
  available: boolean;
  reason?: string;
}

export interface ReplanResult {
  planner: string;
  /** [F, 3] waypoints (x right, y forward, yaw) in the present LIDAR_TOP frame. */
  trajectory: [number, number, number][];
  meta: Record<string, number | string | boolean>;
  elapsedMs: number;
}

export interface JobInfo {
  jobId: string;
  kind: string;
  label: string;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  done: number;
  total: number;
  error?: string;
  /** The run the job writes (opened while it runs). */
  runId?: string;
  /** False for work the host does itself (the demo world being generated): no cancel button. */
  cancellable?: boolean;
}

export interface StartupInfo {
  mode: 'electron' | 'browser';
  version: string;
  /** Datasets and runs opened at start (CLI arguments, or the demo). */
  datasets: DatasetInfo[];
  runs: RunInfo[];
  jobs: JobInfo[];
  profiles: { id: string; name: string }[];
  preferences: Preferences;
  notices: string[];
  /** Live compute defaults: the checkpoint model jobs read unless told otherwise, and the offload specs. */
  live: LiveInfo;
}

export interface LiveInfo {
  /** The default checkpoint's path (the shipped model unless `spikedrive app --checkpoint`). */
  checkpoint: string;
  /** Whether that file exists. */
  available: boolean;
  offload: string[];
}

export interface BrowseResult {
  path: string;
  parent: string | null;
  entries: { name: string; kind: 'dataset' | 'run' | 'folder' | 'file' }[];
}

export interface ApiResponses {
  startup: StartupInfo;
  openDataset: DatasetInfo;
  openRun: RunInfo;
  closeRun: { closed: true };
  runSummary: RunInfo;
  runSeries: RunSeries;
  runFrame: Uint8Array;
  frameEnergy: EnergyBreakdown;
  sampleView: SampleView;
  sampleMap: Uint8Array;
  cameraImage: Uint8Array;
  listPlanners: PlannerInfo[];
  replan: ReplanResult;
  startJob: JobInfo;
  jobs: JobInfo[];
  cancelJob: JobInfo;
  browse: BrowseResult;
  chooseFolder: { path: string | null };
  getPreferences: Preferences;
  setPreferences: Preferences;
  saveFile: { path: string | null };
}

/** The API as the renderer sees it. */
export type ViewerApi = {
  [M in ApiMethod]: (request: ApiRequest<M>) => Promise<ApiResponses[M]>;
};

/** An error as it crosses the boundary (a SpikedriveError keeps its fix and subject). */
export interface ApiErrorBody {
  message: string;
  fix?: string;
  subject?: string;
}

export class ApiError extends Error {
  readonly fix: string | undefined;
  readonly subject: string | undefined;
  constructor(body: ApiErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.fix = body.fix;
    this.subject = body.subject;
  }
}

/** Validates a request: the method must exist and the payload must match its schema. Returns a message or the data. */
export function validateRequest(
  method: unknown,
  payload: unknown,
): { ok: true; method: ApiMethod; request: unknown } | { ok: false; error: ApiErrorBody } {
  if (typeof method !== 'string' || !Object.hasOwn(API_REQUESTS, method)) {
    return {
      ok: false,
      error: {
        message: `unknown API method ${JSON.stringify(method)}`,
        fix: `Use one of ${API_METHODS.join(', ')}.`,
      },
    };
  }
  const schema = API_REQUESTS[method as ApiMethod];
  const parsed = schema.safeParse(payload ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.length ? i.path.join('.') : '(request)'}: ${i.message}`)
      .join('; ');
    return {
      ok: false,
      error: {
        message: `invalid ${method} request: ${issues}`,
        fix: 'Send the fields the API documents.',
        subject: method,
      },
    };
  }
  return { ok: true, method: method as ApiMethod, request: parsed.data };
}
