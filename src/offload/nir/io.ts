import { SpikedriveError } from '../../util/errors.ts';
import { rawHdf5Bytes, readRawHdf5, readRawHdf5Bytes, writeRawHdf5 } from './hdf5.ts';
import { type InferredTypes, inferNirTypes } from './infer.ts';
import { type NirIssue, type NirWriteOptions, nirToRaw, parseNirRaw } from './serialize.ts';
import { isNirTensor, type NirGraph, type NirMetaValue, type NirNode, type NirTensor } from './types.ts';

export interface NirValidation {
  /** Every issue found; the file loads in `nir.read` (type_check=True) when none has severity "error". */
  issues: NirIssue[];
  /** Whether `nir.read(path)` (type_check=True) would load it. */
  loads: boolean;
  /** Whether `nir.read(path, type_check=False)` would load it (layout errors only). */
  loadsWithoutTypeCheck: boolean;
  types: InferredTypes | null;
}

/** Layout (through a write/parse round of the raw tree) plus NIR's type inference for a typed graph. */
export function validateNirGraph(graph: NirGraph): NirValidation {
  const parsed = parseNirRaw(nirToRaw(graph, { compress: false }));
  return finishValidation(parsed.graph, parsed.issues);
}

function finishValidation(graph: NirGraph, layoutIssues: NirIssue[]): NirValidation {
  const layoutOk = !layoutIssues.some((i) => i.severity === 'error');
  const inferred = layoutOk ? inferNirTypes(graph) : null;
  const issues = [...layoutIssues, ...(inferred?.issues ?? [])];
  return {
    issues,
    loads: !issues.some((i) => i.severity === 'error'),
    loadsWithoutTypeCheck: layoutOk,
    types: inferred?.types ?? null,
  };
}

function describeIssues(issues: readonly NirIssue[]): string {
  return issues
    .filter((i) => i.severity === 'error')
    .slice(0, 5)
    .map((i) => `[${i.rule}] ${i.path}: ${i.message}`)
    .join('; ');
}

export interface WriteNirOptions extends NirWriteOptions {
  /** Write even when nir.read's type check would reject the graph (layout errors are always refused). */
  skipTypeCheck?: boolean;
}

/**
 * Writes a graph as a `.nir` file in the layout `nir.read` accepts (atomic: temp file, then rename). The graph is
 * validated first; a graph the reference reader would reject is refused with the rule it breaks.
 */
export async function writeNir(
  path: string,
  graph: NirGraph,
  options: WriteNirOptions = {},
): Promise<NirValidation> {
  const validation = validateNirGraph(graph);
  const blocking = validation.issues.filter(
    (i) =>
      i.severity === 'error' &&
      !(options.skipTypeCheck && (i.rule === 'type-inference' || i.rule === 'type-check')),
  );
  if (blocking.length > 0) {
    throw new SpikedriveError(
      `Refusing to write ${path}: nir.read would reject it: ${describeIssues(blocking)}`,
      {
        subject: path,
        fix: 'Fix the graph (see the rule in brackets, documented in docs/offload.md), or report a bug if it came from `spikedrive export nir`.',
      },
    );
  }
  await writeRawHdf5(path, nirToRaw(graph, options));
  return validation;
}

/** HDF5 bytes of a graph (for the accelerator wire protocol). */
export async function nirBytes(graph: NirGraph, options: NirWriteOptions = {}): Promise<Uint8Array> {
  return rawHdf5Bytes(nirToRaw(graph, options));
}

export interface ReadNirOptions {
  /** Apply nir.read's type inference/check (default true, as nir.read). */
  typeCheck?: boolean;
}

export interface ReadNirResult {
  graph: NirGraph;
  version: string | null;
  /** Warnings (e.g. no /version); errors throw. */
  warnings: NirIssue[];
  types: InferredTypes | null;
}

function finishRead(
  parsed: ReturnType<typeof parseNirRaw>,
  subject: string,
  options: ReadNirOptions,
): ReadNirResult {
  const typeCheck = options.typeCheck ?? true;
  const layoutErrors = parsed.issues.filter((i) => i.severity === 'error');
  const unsupported = layoutErrors.filter((i) => i.rule === 'known-type');
  if (unsupported.length > 0) {
    throw new SpikedriveError(`${subject} uses ${unsupported.map((i) => i.message).join('; ')}`, {
      subject,
      fix: 'Only the NIR v1.0 primitives can be imported; replace the node (e.g. export it from its framework as Conv2d/Affine/LIF) or keep that part on the host.',
    });
  }
  if (layoutErrors.length > 0) {
    throw new SpikedriveError(`${subject} is not a valid NIR file: ${describeIssues(layoutErrors)}`, {
      subject,
      fix: 'Re-export the graph with nir.write or `spikedrive export nir`; see docs/offload.md for the layout rules.',
    });
  }
  let types: InferredTypes | null = null;
  const warnings = parsed.issues.filter((i) => i.severity === 'warning');
  if (typeCheck) {
    const inferred = inferNirTypes(parsed.graph);
    if (inferred.issues.length > 0) {
      throw new SpikedriveError(`${subject} fails NIR's type check: ${describeIssues(inferred.issues)}`, {
        subject,
        fix: 'The shapes along an edge disagree; fix the exporter, or read it with type checking off (readNir(path, { typeCheck: false }), as nir.read(type_check=False)).',
      });
    }
    types = inferred.types;
  }
  return { graph: parsed.graph, version: parsed.version, warnings, types };
}

/** Reads a `.nir` file (ours or another framework's) into a typed graph, applying nir.read's rules. */
export async function readNir(path: string, options: ReadNirOptions = {}): Promise<ReadNirResult> {
  return finishRead(parseNirRaw(await readRawHdf5(path)), path, options);
}

/** Reads `.nir` bytes (as received over the wire). */
export async function readNirBytes(
  bytes: Uint8Array,
  options: ReadNirOptions & { subject?: string } = {},
): Promise<ReadNirResult> {
  return finishRead(parseNirRaw(await readRawHdf5Bytes(bytes)), options.subject ?? 'NIR graph', options);
}

/** Validates a `.nir` file rule by rule without throwing. */
export async function validateNirFile(path: string): Promise<NirValidation & { version: string | null }> {
  const parsed = parseNirRaw(await readRawHdf5(path));
  return { ...finishValidation(parsed.graph, parsed.issues), version: parsed.version };
}

function tensorsEqual(a: NirTensor, b: NirTensor): boolean {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] !== b.data[i] && !(Number.isNaN(a.data[i]) && Number.isNaN(b.data[i]))) return false;
  }
  return true;
}

function valuesEqual(a: unknown, b: unknown): boolean {
  if (isNirTensor(a) || isNirTensor(b)) return isNirTensor(a) && isNirTensor(b) && tensorsEqual(a, b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]))
    );
  }
  if (a instanceof Map || b instanceof Map) return false;
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      ka.length === kb.length &&
      ka.every(
        (k, i) =>
          k === kb[i] && valuesEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return a === b;
}

/**
 * Differences between two graphs (node set, types, every field value bit for bit, edges as a multiset, metadata),
 * as readable lines; empty when they are the same graph.
 */
export function diffNirGraphs(a: NirGraph, b: NirGraph, where = ''): string[] {
  const out: string[] = [];
  const names = new Set([...a.nodes.keys(), ...b.nodes.keys()]);
  for (const name of [...names].sort()) {
    const x = a.nodes.get(name);
    const y = b.nodes.get(name);
    const at = `${where}${name}`;
    if (x === undefined || y === undefined) {
      out.push(`${at}: only in ${x === undefined ? 'second' : 'first'} graph`);
      continue;
    }
    out.push(...diffNodes(x, y, at));
  }
  const key = (e: [string, string]) => `${e[0]}\u0000${e[1]}`;
  const ea = a.edges.map(key).sort();
  const eb = b.edges.map(key).sort();
  if (ea.length !== eb.length || ea.some((e, i) => e !== eb[i]))
    out.push(`${where || 'graph'}: edges differ`);
  if (!valuesEqual(a.metadata ?? {}, b.metadata ?? {})) out.push(`${where || 'graph'}: metadata differs`);
  return out;
}

function diffNodes(x: NirNode, y: NirNode, at: string): string[] {
  if (x.type !== y.type) return [`${at}: ${x.type} vs ${y.type}`];
  if (x.type === 'NIRGraph' && y.type === 'NIRGraph') return diffNirGraphs(x, y, `${at}.`);
  const out: string[] = [];
  const fields = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const field of fields) {
    const vx = (x as unknown as Record<string, NirMetaValue | null | undefined>)[field];
    const vy = (y as unknown as Record<string, NirMetaValue | null | undefined>)[field];
    const same = field === 'metadata' ? valuesEqual(vx ?? {}, vy ?? {}) : valuesEqual(vx, vy);
    if (!same) out.push(`${at}.${field} differs`);
  }
  return out;
}
