// The run folder, version 1: the contract between the evaluator (`spikedrive eval`, which writes it) and the viewer
// (which replays it). Schemas for the JSON files and the codec of the binary `.sdf` frames. Pure TypeScript with no
// Node imports, so the browser renderer decodes frames with the same code the writer encodes them with.
import { z } from 'zod';
import { SpikedriveError } from '../util/errors.ts';

export const RUN_SCHEMA = 'spikedrive-run';
export const RUN_FORMAT_VERSION = 1;
export const METRICS_SCHEMA = 'spikedrive-metrics';
export const ENERGY_SCHEMA = 'spikedrive.energy-report';
export const FRAME_MAGIC = 'SDF1';

const bound = z.tuple([z.number(), z.number(), z.number()]);

/** `manifest.json`. `config` is the full SadConfig (kept loose here so the viewer needs no pipeline code). */
export const runManifestSchema = z.object({
  schema: z.literal(RUN_SCHEMA),
  version: z.literal(RUN_FORMAT_VERSION),
  status: z.enum(['running', 'complete']),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
  spikedrive: z.object({ version: z.string(), gitCommit: z.string().optional() }).passthrough(),
  config: z.record(z.string(), z.unknown()),
  configHash: z.string(),
  preset: z.string().optional(),
  seed: z.number(),
  backend: z.object({ name: z.string(), version: z.string(), threads: z.number() }).passthrough(),
  dataset: z.object({
    dataroot: z.string(),
    version: z.string(),
    split: z.string(),
    sampleTokens: z.array(z.string()),
  }),
  checkpoint: z.object({ path: z.string(), sha256: z.string() }).nullable(),
  planner: z.object({
    name: z.string(),
    source: z.string(),
    apiVersion: z.number(),
    /** The plugin's own version and the module's SHA-256 (plugins; added compatibly in v1). */
    version: z.string().optional(),
    sha256: z.string().optional(),
  }),
  energyProfile: z.string(),
  offload: z.record(z.string(), z.unknown()).optional(),
  bev: z.object({
    xBound: bound,
    yBound: bound,
    rows: z.number().int().positive(),
    cols: z.number().int().positive(),
  }),
  nFuture: z.number().int().nonnegative(),
  receptiveField: z.number().int().positive(),
  /** spikedrive: a human label for lists (`sad · paper · val`); optional. */
  label: z.string().optional(),
  /** How `spikedrive eval` produced the run (added compatibly in v1; absent in runs written by other tools). */
  evaluation: z
    .object({
      /** `model`, `ground-truth` (labels stood in for the network) or `trajectories` (scored from a file). */
      inputs: z.enum(['model', 'ground-truth', 'trajectories']),
      fingerprint: z.string(),
      limit: z.number().nullable(),
      sampleNum: z.number(),
      samplerSeed: z.string(),
      trajectoriesSha256: z.string().optional(),
      /** Samples of the split without a trajectory in the file, and file tokens not in the split. */
      missing: z.number().optional(),
      unknownTokens: z.number().optional(),
      planTimeoutMs: z.number().optional(),
      isolated: z.boolean().optional(),
      /** The inputs the planner declared ('all': a plain-object plugin without `inputs`, given all but the GT). */
      plannerInputs: z.union([z.array(z.string()), z.literal('all')]).optional(),
    })
    .passthrough()
    .optional(),
});
export type RunManifest = z.infer<typeof runManifestSchema>;

/** Per-horizon scalars keyed by seconds ('1', '2', '3'); null where the horizon is beyond the run's future. */
const perHorizon = z.record(z.string(), z.number().nullable());

export const frameScalarsSchema = z
  .object({
    /** Planned-vs-GT L2 (m), averaged over the horizon's steps (ST-P3 convention). */
    l2M: perHorizon.optional(),
    /** Fraction of the horizon's steps whose planned point lies in a GT-occupied cell. */
    objCol: perHorizon.optional(),
    /** Fraction of the horizon's steps whose ego footprint overlaps GT occupancy (the paper's collision). */
    objBoxCol: perHorizon.optional(),
    latencyMs: z
      .object({ perception: z.number(), prediction: z.number(), planning: z.number(), total: z.number() })
      .partial()
      .optional(),
    energyMj: z
      .object({ perception: z.number(), prediction: z.number(), planning: z.number() })
      .partial()
      .passthrough()
      .optional(),
  })
  .passthrough();
export type FrameScalars = z.infer<typeof frameScalarsSchema>;

export const frameIndexEntrySchema = z.object({
  token: z.string().min(1),
  sceneToken: z.string(),
  sceneName: z.string(),
  timestampUs: z.number(),
  index: z.number().int().nonnegative(),
  file: z.string().regex(/^[A-Za-z0-9._-]+\.sdf$/, 'a plain file name ending in .sdf (no folders)'),
  scalars: frameScalarsSchema,
});
export type FrameIndexEntry = z.infer<typeof frameIndexEntrySchema>;
export const frameIndexSchema = z.array(frameIndexEntrySchema);

/** One labelled aggregate number of `metrics.json`. */
export const metricEntrySchema = z.object({
  /** e.g. `iou`, `pq`, `sq`, `rq`, `l2`, `obj_col`, `obj_box_col`. */
  metric: z.string(),
  value: z.number().nullable(),
  unit: z.string(),
  /** e.g. `st-p3`, `uniad`, `sad-reference`. */
  convention: z.string(),
  horizonS: z.number().optional(),
  class: z.string().optional(),
  note: z.string().optional(),
});
export type MetricEntry = z.infer<typeof metricEntrySchema>;
export const metricsFileSchema = z.object({
  schema: z.literal(METRICS_SCHEMA),
  version: z.literal(1),
  /** Samples the numbers cover (less than the run's when checkpointed mid-run). */
  samples: z.number().int().nonnegative(),
  partial: z.boolean().optional(),
  entries: z.array(metricEntrySchema),
});
export type MetricsFile = z.infer<typeof metricsFileSchema>;

/** `energy.json`: the `src/energy` report JSON; only what the viewer reads is checked, the rest passes through. */
export const energyFileSchema = z
  .object({
    schema: z.literal(ENERGY_SCHEMA),
    version: z.number(),
    method: z.string(),
    profile: z.object({ id: z.string(), name: z.string() }).passthrough(),
    annProfileId: z.string(),
    frames: z.number(),
    totalJ: z.number(),
    annEquivalentJ: z.number(),
    annToSnnRatio: z.number().nullable(),
    modules: z.array(
      z.object({ module: z.string(), energyJ: z.number(), annEquivalentJ: z.number() }).passthrough(),
    ),
    layers: z.array(
      z.object({ name: z.string(), module: z.string(), kind: z.string(), energyJ: z.number() }).passthrough(),
    ),
    notes: z.array(z.string()).optional(),
  })
  .passthrough();
export type EnergyFile = z.infer<typeof energyFileSchema>;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Parses a JSON value against a schema, or throws a SpikedriveError naming the file, the field and the fix. */
export function parseRunJson<T>(schema: z.ZodType<T>, value: unknown, file: string, fix: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new SpikedriveError(`${file} is not a valid run file: ${describeIssues(parsed.error)}`, {
      subject: file,
      fix,
    });
  }
  return parsed.data;
}

/** Validates `manifest.json`; a version other than 1 is refused with its own message. */
export function parseRunManifest(value: unknown, file: string): RunManifest {
  const record = value as { schema?: unknown; version?: unknown } | null;
  if (typeof record !== 'object' || record === null || record.schema !== RUN_SCHEMA) {
    throw new SpikedriveError(`${file} is not a spikedrive run manifest (schema is not "${RUN_SCHEMA}")`, {
      subject: file,
      fix: 'Open the folder that `spikedrive eval` wrote (it holds manifest.json, frames/ and metrics.json).',
    });
  }
  if (record.version !== RUN_FORMAT_VERSION) {
    throw new SpikedriveError(
      `${file} is run format version ${String(record.version)}; this spikedrive reads version ${RUN_FORMAT_VERSION}`,
      {
        subject: file,
        fix: 'Open it with the spikedrive version that wrote it, or re-run `spikedrive eval`.',
      },
    );
  }
  return parseRunJson(
    runManifestSchema,
    value,
    file,
    'Re-run `spikedrive eval` to rewrite the manifest, or fix the named field.',
  );
}

// ------------------------------------------------------------------------------------------------ frames

export type FrameDtype = 'uint8' | 'int16' | 'int32' | 'float32';
export type FrameTypedArray = Uint8Array | Int16Array | Int32Array | Float32Array;

const BYTES_PER_ELEMENT: Record<FrameDtype, number> = { uint8: 1, int16: 2, int32: 4, float32: 4 };

/** The documented arrays of a frame (a writer may add others; readers ignore what they do not know). */
export const FRAME_ARRAYS = {
  segmentation: 'vehicle probability ×255, frames present…present+F, [S′, X, Y]',
  pedestrian: 'pedestrian probability ×255, [S′, X, Y]',
  hdmap: 'present HD map [lane divider, drivable area] foreground probability ×255, [2, X, Y]',
  costVolume: 'cost volume per future frame (value = byte × scale), [F, X, Y]',
  instances: 'instance ids, [S′, X, Y]',
  gtSegmentation: 'GT vehicle occupancy 0/1, [S′, X, Y]',
  gtPedestrian: 'GT pedestrian occupancy 0/1, [S′, X, Y]',
  gtHdmap: 'GT HD map [lane divider, drivable area] 0/1, [2, X, Y]',
  plannedTrajectory: 'planned waypoints [x right, y forward, yaw] in the present LIDAR_TOP frame, [F, 3]',
  gtTrajectory: 'GT waypoints incl. the origin, [F+1, 3]',
  candidates: "sampled candidates of the command's third, [M, F, 3]",
  candidateCosts: 'total cost per candidate, [M]',
  selectedIndex: 'index of the chosen candidate within candidates, [1]',
  command: 'route command 0 LEFT, 1 FORWARD, 2 RIGHT, [1]',
  firingRates: 'output firing rate per instrumented layer (layerNames in the header), [L]',
  energyJ: 'energy per layer under the run profile, joules, [L]',
  activity: 'per-layer operation counts (activityFields in the header), [L, K]',
} as const;
export type KnownFrameArray = keyof typeof FRAME_ARRAYS;

export interface FrameArrayHeader {
  name: string;
  dtype: FrameDtype;
  shape: number[];
  offset: number;
  byteLength: number;
  scale?: number;
  meaning: string;
}

const frameHeaderSchema = z
  .object({
    token: z.string().min(1),
    arrays: z.array(
      z.object({
        name: z.string().min(1),
        dtype: z.enum(['uint8', 'int16', 'int32', 'float32']),
        shape: z.array(z.number().int().nonnegative()),
        offset: z.number().int().nonnegative(),
        byteLength: z.number().int().nonnegative(),
        scale: z.number().optional(),
        meaning: z.string(),
      }),
    ),
    layerNames: z.array(z.string()).optional(),
    layerModules: z.array(z.string()).optional(),
    activityFields: z.array(z.string()).optional(),
  })
  .passthrough();
export type FrameHeader = z.infer<typeof frameHeaderSchema>;

export interface FrameArray<T extends FrameTypedArray = FrameTypedArray> {
  dtype: FrameDtype;
  shape: number[];
  data: T;
  /** Multiply stored values by this to get the meaning's unit (1 when absent). */
  scale: number;
  meaning: string;
}

export interface DecodedFrame {
  token: string;
  header: FrameHeader;
  arrays: Map<string, FrameArray>;
}

export interface FrameArrayInput {
  dtype: FrameDtype;
  shape: readonly number[];
  data: FrameTypedArray;
  scale?: number;
  meaning?: string;
}

export interface EncodeFrameInput {
  token: string;
  arrays: Record<string, FrameArrayInput>;
  layerNames?: readonly string[];
  layerModules?: readonly string[];
  activityFields?: readonly string[];
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function dtypeOf(data: FrameTypedArray): FrameDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  return 'float32';
}

/** Encodes one frame as `.sdf` bytes (little-endian; arrays 8-byte aligned after the padded JSON header). */
export function encodeFrame(input: EncodeFrameInput): Uint8Array {
  const headers: FrameArrayHeader[] = [];
  let offset = 0;
  const entries = Object.entries(input.arrays);
  for (const [name, array] of entries) {
    if (dtypeOf(array.data) !== array.dtype) {
      throw new SpikedriveError(
        `frame ${input.token}: array ${name} is declared ${array.dtype} but holds ${dtypeOf(array.data)}`,
        {
          subject: name,
          fix: 'Pass the typed array that matches the dtype.',
        },
      );
    }
    if (product(array.shape) !== array.data.length) {
      throw new SpikedriveError(
        `frame ${input.token}: array ${name} has ${array.data.length} values but shape [${array.shape.join(', ')}]`,
        { subject: name, fix: 'Make the shape match the data length.' },
      );
    }
    const byteLength = array.data.length * BYTES_PER_ELEMENT[array.dtype];
    headers.push({
      name,
      dtype: array.dtype,
      shape: [...array.shape],
      offset,
      byteLength,
      ...(array.scale !== undefined ? { scale: array.scale } : {}),
      meaning: array.meaning ?? FRAME_ARRAYS[name as KnownFrameArray] ?? name,
    });
    offset = align8(offset + byteLength);
  }
  const header: Record<string, unknown> = { token: input.token, arrays: headers };
  if (input.layerNames) header.layerNames = [...input.layerNames];
  if (input.layerModules) header.layerModules = [...input.layerModules];
  if (input.activityFields) header.activityFields = [...input.activityFields];
  const json = new TextEncoder().encode(JSON.stringify(header));
  const payloadStart = align8(8 + json.length);
  const out = new Uint8Array(payloadStart + offset);
  out.set(new TextEncoder().encode(FRAME_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  entries.forEach(([, array], i) => {
    const h = headers[i];
    const start = payloadStart + h.offset;
    if (littleEndian || array.dtype === 'uint8') {
      out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, h.byteLength), start);
    } else {
      const view = new DataView(out.buffer, start, h.byteLength);
      for (let k = 0; k < array.data.length; k++) writeValue(view, array.dtype, k, array.data[k]);
    }
  });
  return out;
}

function writeValue(view: DataView, dtype: FrameDtype, k: number, v: number): void {
  if (dtype === 'int16') view.setInt16(k * 2, v, true);
  else if (dtype === 'int32') view.setInt32(k * 4, v, true);
  else view.setFloat32(k * 4, v, true);
}

function makeArray(
  dtype: FrameDtype,
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
): FrameTypedArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(buffer, byteOffset, length);
    case 'int16':
      return new Int16Array(buffer, byteOffset, length);
    case 'int32':
      return new Int32Array(buffer, byteOffset, length);
    case 'float32':
      return new Float32Array(buffer, byteOffset, length);
  }
}

/**
 * Decodes `.sdf` bytes. Arrays are views on the bytes where the alignment allows (copies otherwise). Anything
 * malformed (magic, header length, JSON, offsets, sizes) is a SpikedriveError naming `source`.
 */
export function decodeFrame(bytes: Uint8Array, source: string): DecodedFrame {
  const fail = (what: string): never => {
    throw new SpikedriveError(`${source} is not a valid spikedrive frame: ${what}`, {
      subject: source,
      fix: 'Re-run `spikedrive eval` for this sample (the file may be truncated or from another tool).',
    });
  };
  if (bytes.length < 8) fail(`only ${bytes.length} bytes`);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== FRAME_MAGIC) fail(`magic is "${magic}", expected "${FRAME_MAGIC}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) fail(`header of ${headerLength} bytes runs past the end`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    fail(`header is not JSON (${(error as Error).message})`);
  }
  const parsed = frameHeaderSchema.safeParse(json);
  if (!parsed.success) fail(`header: ${describeIssues(parsed.error)}`);
  const header = (parsed as { data: FrameHeader }).data;
  const payloadStart = align8(8 + headerLength);
  const arrays = new Map<string, FrameArray>();
  for (const h of header.arrays) {
    const n = product(h.shape);
    const expected = n * BYTES_PER_ELEMENT[h.dtype];
    if (h.byteLength !== expected) {
      fail(`array ${h.name}: byteLength ${h.byteLength} ≠ ${expected} for shape [${h.shape.join(', ')}]`);
    }
    if (h.offset % 8 !== 0) fail(`array ${h.name}: offset ${h.offset} is not 8-byte aligned`);
    const start = payloadStart + h.offset;
    if (start + h.byteLength > bytes.length) fail(`array ${h.name} runs past the end of the file`);
    const absolute = bytes.byteOffset + start;
    let data: FrameTypedArray;
    if (!littleEndian && h.dtype !== 'uint8') {
      const dv = new DataView(bytes.buffer, absolute, h.byteLength);
      data = makeArray(h.dtype, new ArrayBuffer(h.byteLength), 0, n);
      for (let k = 0; k < n; k++) {
        data[k] =
          h.dtype === 'int16'
            ? dv.getInt16(k * 2, true)
            : h.dtype === 'int32'
              ? dv.getInt32(k * 4, true)
              : dv.getFloat32(k * 4, true);
      }
    } else if (absolute % BYTES_PER_ELEMENT[h.dtype] === 0) {
      data = makeArray(h.dtype, bytes.buffer as ArrayBuffer, absolute, n);
    } else {
      const copy = bytes.slice(start, start + h.byteLength);
      data = makeArray(h.dtype, copy.buffer, 0, n);
    }
    arrays.set(h.name, { dtype: h.dtype, shape: h.shape, data, scale: h.scale ?? 1, meaning: h.meaning });
  }
  if (header.layerNames) {
    for (const name of ['firingRates', 'energyJ']) {
      const a = arrays.get(name);
      if (a && a.shape[0] !== header.layerNames.length) {
        fail(`${name} has ${a.shape[0]} layers, the header names ${header.layerNames.length}`);
      }
    }
  }
  return { token: header.token, header, arrays };
}

/** A decoded array by name with an expected dtype, or undefined when the frame lacks it. */
export function frameArray<T extends FrameTypedArray>(
  frame: DecodedFrame,
  name: string,
  dtype: FrameDtype,
): FrameArray<T> | undefined {
  const a = frame.arrays.get(name);
  if (!a) return undefined;
  if (a.dtype !== dtype) {
    throw new SpikedriveError(`frame ${frame.token}: ${name} is ${a.dtype}, expected ${dtype}`, {
      subject: name,
      fix: 'The run was written by an incompatible tool; re-run `spikedrive eval`.',
    });
  }
  return a as FrameArray<T>;
}

export const COMMAND_NAMES = ['LEFT', 'FORWARD', 'RIGHT'] as const;
