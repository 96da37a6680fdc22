import { SpikedriveError } from '../../util/errors.ts';
import { acceptedFields, NEURON_PARAMS, NIR_FIELDS } from './fields.ts';
import {
  type RawDataset,
  type RawEntry,
  type RawGroup,
  rawGroup,
  rawInt,
  rawInts,
  rawString,
} from './hdf5.ts';
import {
  isNirNodeType,
  isNirTensor,
  NIR_NODE_TYPES,
  NIR_VERSION,
  type NirGraph,
  type NirMetadata,
  type NirMetaValue,
  type NirNode,
  type NirNodeType,
  type NirTensor,
  numel,
} from './types.ts';

/**
 * The layout rules a `.nir` file must follow for the NIR reference library's `nir.read` to load it, each with an
 * id that tests and error messages use. Read from neuromorphs/NIR `nir/serialization.py` (`read`, `hdf2dict`,
 * `write`) and `nir/ir/*.py` (`from_dict`, `__post_init__`); reference/offload.md §1.2.
 */
export const NIR_LAYOUT_RULES = {
  'root-node': 'the file has a group /node holding the top-level NIRGraph',
  version:
    'the file has a scalar UTF-8 string dataset /version (nir.read ignores it; nir.read_version needs it)',
  'node-group': 'every node is an HDF5 group',
  'type-dataset': "a node's type is a scalar UTF-8 string dataset named `type`, not an attribute",
  'known-type': 'the type is one of the 17 serialisable primitives or NIRGraph',
  'required-field': 'every field the node class declares without a default is present as a dataset',
  'unknown-field':
    'no dataset or group other than the fields the class accepts (cls(**kwargs) rejects it); extras go under `metadata`',
  'field-form':
    'each field has the form the class expects (int or int pair, float array, padding string, shape vector)',
  'param-shapes': "a neuron's parameters all have the same shape, which is its input and output shape",
  edges: 'a graph has `nodes` (a group) and `edges`, an (E, 2) string dataset naming nodes of the graph',
  metadata: '`metadata`, where present, is a group of datasets and groups',
  flatten: 'Flatten keeps the number of elements',
} as const;

export type NirLayoutRule = keyof typeof NIR_LAYOUT_RULES;

export interface NirIssue {
  rule: NirLayoutRule | 'type-inference' | 'type-check';
  severity: 'error' | 'warning';
  /** HDF5 path of the node or field at fault, e.g. `/node/nodes/conv1/stride`. */
  path: string;
  message: string;
}

// ------------------------------------------------------------------------------------------------------------
// typed graph → raw tree (the exact layout nir.write produces)
// ------------------------------------------------------------------------------------------------------------

export interface NirWriteOptions {
  /** gzip every numeric array, as `nir.write` does by default. Default true. */
  compress?: boolean;
  /** Written to /version. */
  version?: string;
}

function tensorDataset(t: NirTensor, compress: boolean): RawDataset {
  const ds: RawDataset = {
    kind: 'dataset',
    dtype: t.data instanceof Float64Array ? 'float64' : 'float32',
    shape: [...t.shape],
    value: t.data,
  };
  if (compress && t.shape.length > 0) ds.compression = 'gzip';
  return ds;
}

function metaEntry(value: NirMetaValue, compress: boolean, where: string): RawEntry {
  if (typeof value === 'string') return rawString(value);
  if (typeof value === 'boolean') return rawInt(value ? 1 : 0);
  if (typeof value === 'number') {
    return Number.isInteger(value) && Math.abs(value) < 2 ** 53
      ? rawInt(value)
      : { kind: 'dataset', dtype: 'float64', shape: [], value };
  }
  if (Array.isArray(value)) {
    if (value.every((v) => Number.isInteger(v))) return rawInts(value);
    return { kind: 'dataset', dtype: 'float64', shape: [value.length], value: Float64Array.from(value) };
  }
  if (isNirTensor(value)) return tensorDataset(value, compress);
  return metadataGroup(value, compress, where);
}

function metadataGroup(meta: NirMetadata, compress: boolean, where: string): RawGroup {
  const group = rawGroup();
  for (const [key, value] of Object.entries(meta)) {
    if (key.includes('/') || key === '') {
      throw new SpikedriveError(`Metadata key "${key}" at ${where} is empty or contains "/"`, {
        subject: where,
        fix: 'Use plain names for metadata keys.',
      });
    }
    group.children.set(key, metaEntry(value, compress, `${where}/${key}`));
  }
  return group;
}

function pairOrString(v: [number, number] | string): RawDataset {
  return typeof v === 'string' ? rawString(v) : rawInts(v);
}

function nodeGroup(node: NirNode, compress: boolean, where: string): RawGroup {
  const g = rawGroup([['type', rawString(node.type)]]);
  const set = (k: string, e: RawEntry) => g.children.set(k, e);
  const t = (k: string, v: NirTensor) => set(k, tensorDataset(v, compress));
  switch (node.type) {
    case 'Input':
    case 'Output':
      set('shape', rawInts(node.shape));
      break;
    case 'Affine':
      t('weight', node.weight);
      t('bias', node.bias);
      break;
    case 'Linear':
      t('weight', node.weight);
      break;
    case 'Scale':
      t('scale', node.scale);
      break;
    case 'Conv1d':
      if (node.inputShape === null) throw missingInputShape(where);
      set('input_shape', rawInt(node.inputShape));
      t('weight', node.weight);
      set('stride', rawInt(node.stride));
      set('padding', typeof node.padding === 'string' ? rawString(node.padding) : rawInt(node.padding));
      set('dilation', rawInt(node.dilation));
      set('groups', rawInt(node.groups));
      t('bias', node.bias);
      break;
    case 'Conv2d':
      if (node.inputShape === null) throw missingInputShape(where);
      set('input_shape', rawInts(node.inputShape));
      t('weight', node.weight);
      set('stride', rawInts(node.stride));
      set('padding', pairOrString(node.padding));
      set('dilation', rawInts(node.dilation));
      set('groups', rawInt(node.groups));
      t('bias', node.bias);
      break;
    case 'SumPool2d':
    case 'AvgPool2d':
      set('kernel_size', rawInts(node.kernelSize));
      set('stride', rawInts(node.stride));
      set('padding', rawInts(node.padding));
      break;
    case 'Flatten':
      if (node.inputType !== null) set('input_type', rawInts(node.inputType));
      set('start_dim', rawInt(node.startDim));
      set('end_dim', rawInt(node.endDim));
      break;
    case 'Delay':
      t('delay', node.delay);
      break;
    case 'Threshold':
      t('threshold', node.threshold);
      break;
    case 'I':
      t('r', node.r);
      break;
    case 'IF':
      t('r', node.r);
      t('v_threshold', node.vThreshold);
      t('v_reset', node.vReset);
      break;
    case 'LI':
      t('tau', node.tau);
      t('r', node.r);
      t('v_leak', node.vLeak);
      break;
    case 'LIF':
      t('tau', node.tau);
      t('r', node.r);
      t('v_leak', node.vLeak);
      t('v_threshold', node.vThreshold);
      t('v_reset', node.vReset);
      break;
    case 'CubaLI':
      t('tau_syn', node.tauSyn);
      t('tau_mem', node.tauMem);
      t('r', node.r);
      t('v_leak', node.vLeak);
      t('w_in', node.wIn);
      break;
    case 'CubaLIF':
      t('tau_syn', node.tauSyn);
      t('tau_mem', node.tauMem);
      t('r', node.r);
      t('v_leak', node.vLeak);
      t('v_threshold', node.vThreshold);
      t('v_reset', node.vReset);
      t('w_in', node.wIn);
      break;
    case 'NIRGraph': {
      const nodes = rawGroup();
      for (const [name, child] of node.nodes) {
        if (name.includes('/') || name === '') {
          throw new SpikedriveError(`NIR node name "${name}" in ${where} is empty or contains "/"`, {
            subject: `${where}/nodes/${name}`,
            fix: 'Rename the node; HDF5 uses "/" as its path separator.',
          });
        }
        nodes.children.set(name, nodeGroup(child, compress, `${where}/nodes/${name}`));
      }
      set('nodes', nodes);
      // (E, 2) vlen UTF-8 strings, as nir.write (h5py) stores the list of tuples.
      set('edges', {
        kind: 'dataset',
        dtype: 'string',
        shape: [node.edges.length, 2],
        value: node.edges.flat(),
      });
      break;
    }
  }
  // nir.write skips an empty metadata dict.
  if (node.metadata !== undefined && Object.keys(node.metadata).length > 0) {
    set('metadata', metadataGroup(node.metadata, compress, `${where}/metadata`));
  }
  return g;
}

function missingInputShape(where: string): SpikedriveError {
  return new SpikedriveError(`Conv node ${where} has no input_shape`, {
    subject: where,
    fix: 'Set the convolution input size (H, W); nir.read needs it (run shape inference before writing).',
  });
}

/** The raw HDF5 tree of a NIR file: `/version` and `/node` (the graph), in nir.write's layout. */
export function nirToRaw(graph: NirGraph, options: NirWriteOptions = {}): RawGroup {
  const compress = options.compress ?? true;
  return rawGroup([
    ['version', rawString(options.version ?? NIR_VERSION)],
    ['node', nodeGroup(graph, compress, '/node')],
  ]);
}

// ------------------------------------------------------------------------------------------------------------
// raw tree → typed graph, checking every layout rule on the way
// ------------------------------------------------------------------------------------------------------------

class IssueList {
  readonly issues: NirIssue[] = [];
  error(rule: NirIssue['rule'], path: string, message: string): void {
    this.issues.push({ rule, severity: 'error', path, message });
  }
  warn(rule: NirIssue['rule'], path: string, message: string): void {
    this.issues.push({ rule, severity: 'warning', path, message });
  }
}

function isNumeric(d: RawDataset): boolean {
  return d.dtype !== 'string' && d.dtype !== 'other';
}

function numbersOf(d: RawDataset): number[] {
  const v = d.value;
  if (typeof v === 'number') return [v];
  if (typeof v === 'bigint') return [Number(v)];
  if (typeof v === 'string' || Array.isArray(v)) return [];
  return Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
}

function tensorOf(d: RawDataset): NirTensor {
  const v = d.value;
  if (v instanceof Float32Array || v instanceof Float64Array) return { shape: [...d.shape], data: v };
  return { shape: [...d.shape], data: Float64Array.from(numbersOf(d)) };
}

function readMetadata(entry: RawEntry, path: string, issues: IssueList): NirMetadata {
  if (entry.kind !== 'group') {
    issues.error('metadata', path, 'metadata is a dataset, not a group');
    return {};
  }
  const out: NirMetadata = {};
  for (const [key, child] of entry.children) {
    const p = `${path}/${key}`;
    if (child.kind === 'group') {
      out[key] = readMetadata(child, p, issues);
    } else if (child.dtype === 'string') {
      out[key] = typeof child.value === 'string' ? child.value : (child.value as string[]).join('\n');
    } else if (child.dtype === 'other') {
      issues.warn('metadata', p, 'metadata dataset of an unsupported HDF5 type was skipped');
    } else if (child.shape.length === 0) {
      out[key] = numbersOf(child)[0];
    } else if (child.dtype === 'float32' || child.dtype === 'float64') {
      out[key] = tensorOf(child);
    } else {
      out[key] = numbersOf(child);
    }
  }
  return out;
}

interface FieldReader {
  readonly path: string;
  dataset(name: string): RawDataset | null;
  tensor(name: string): NirTensor;
  optTensor(name: string): NirTensor | null;
  int(name: string, fallback?: number): number;
  ints(name: string, length?: number): number[];
  pair(name: string): [number, number];
  string(name: string): string | null;
}

function fieldReader(group: RawGroup, path: string, issues: IssueList): FieldReader {
  const dataset = (name: string): RawDataset | null => {
    const e = group.children.get(name);
    if (e === undefined) return null;
    if (e.kind !== 'dataset') {
      issues.error('field-form', `${path}/${name}`, `${name} is a group, expected a dataset`);
      return null;
    }
    return e;
  };
  const numeric = (name: string): RawDataset | null => {
    const d = dataset(name);
    if (d === null) return null;
    if (!isNumeric(d)) {
      issues.error('field-form', `${path}/${name}`, `${name} is ${d.dtype}, expected numbers`);
      return null;
    }
    return d;
  };
  return {
    path,
    dataset,
    tensor(name) {
      const d = numeric(name);
      return d === null ? { shape: [0], data: new Float32Array(0) } : tensorOf(d);
    },
    optTensor(name) {
      if (!group.children.has(name)) return null;
      const d = numeric(name);
      return d === null ? null : tensorOf(d);
    },
    int(name, fallback) {
      if (!group.children.has(name) && fallback !== undefined) return fallback;
      const d = numeric(name);
      const values = d === null ? [] : numbersOf(d);
      if (d !== null && (values.length !== 1 || !Number.isInteger(values[0]))) {
        issues.error(
          'field-form',
          `${path}/${name}`,
          `${name} must be one integer, got [${values.join(', ')}]`,
        );
      }
      return values[0] ?? fallback ?? 0;
    },
    ints(name, length) {
      const d = numeric(name);
      if (d === null) return [];
      const values = numbersOf(d);
      if (values.some((x) => !Number.isInteger(x)) || d.shape.length > 1) {
        issues.error('field-form', `${path}/${name}`, `${name} must be integers, got [${values.join(', ')}]`);
      }
      if (length !== undefined && values.length !== length && values.length !== 1) {
        issues.error(
          'field-form',
          `${path}/${name}`,
          `${name} must have ${length} values, got ${values.length}`,
        );
      }
      return values;
    },
    pair(name) {
      // NIR's Conv2d expands an int to a pair; pooling indexes per axis and accepts an int the same way.
      const values = this.ints(name, 2);
      return values.length === 1 ? [values[0], values[0]] : [values[0] ?? 0, values[1] ?? 0];
    },
    string(name) {
      const d = dataset(name);
      if (d === null || d.dtype !== 'string') return null;
      return typeof d.value === 'string' ? d.value : null;
    },
  };
}

function checkFieldSet(type: NirNodeType, group: RawGroup, path: string, issues: IssueList): void {
  const accepted = acceptedFields(type);
  for (const name of group.children.keys()) {
    if (!accepted.has(name)) {
      issues.error(
        'unknown-field',
        `${path}/${name}`,
        `${type} does not accept a field "${name}" (nir.read fails: ${type}.__init__() got an unexpected keyword argument '${name}')`,
      );
    }
  }
  for (const name of NIR_FIELDS[type].required) {
    if (!group.children.has(name)) {
      issues.error('required-field', `${path}/${name}`, `${type} needs the field "${name}"`);
    }
  }
}

function checkParamShapes(type: NirNodeType, node: NirNode, path: string, issues: IssueList): void {
  const fields = NEURON_PARAMS[type];
  if (fields === undefined) return;
  const shapes = fields.map((f) => {
    const key = f.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof NirNode;
    return ((node as unknown as Record<string, NirTensor>)[key as string]?.shape ?? []).join(',');
  });
  if (new Set(shapes).size > 1) {
    issues.error(
      'param-shapes',
      path,
      `${type} parameters have different shapes (${fields.map((f, i) => `${f} [${shapes[i]}]`).join(', ')})`,
    );
  }
}

function parseNode(entry: RawEntry, path: string, issues: IssueList): NirNode | null {
  if (entry.kind !== 'group') {
    issues.error('node-group', path, 'a NIR node must be an HDF5 group');
    return null;
  }
  const typeEntry = entry.children.get('type');
  if (typeEntry === undefined) {
    const asAttr = entry.attrs?.get('type');
    issues.error(
      'type-dataset',
      `${path}/type`,
      asAttr !== undefined
        ? `the node type "${String(asAttr)}" is an HDF5 attribute; nir.read needs a dataset named "type"`
        : 'the node has no "type" dataset',
    );
    return null;
  }
  if (typeEntry.kind !== 'dataset' || typeEntry.dtype !== 'string' || typeEntry.shape.length !== 0) {
    issues.error('type-dataset', `${path}/type`, '"type" must be a scalar UTF-8 string dataset');
    return null;
  }
  const type = String(typeEntry.value);
  if (!isNirNodeType(type)) {
    issues.error(
      'known-type',
      `${path}/type`,
      `unsupported NIR primitive "${type}" (known: ${NIR_NODE_TYPES.join(', ')})`,
    );
    return null;
  }
  checkFieldSet(type, entry, path, issues);
  const f = fieldReader(entry, path, issues);
  let node: NirNode;
  switch (type) {
    case 'Input':
    case 'Output':
      node = { type, shape: f.ints('shape') };
      break;
    case 'Affine':
      node = { type, weight: f.tensor('weight'), bias: f.tensor('bias') };
      break;
    case 'Linear':
      node = { type, weight: f.tensor('weight') };
      break;
    case 'Scale':
      node = { type, scale: f.tensor('scale') };
      break;
    case 'Conv1d': {
      const padding = f.string('padding') ?? f.int('padding');
      node = {
        type,
        inputShape: entry.children.has('input_shape') ? f.int('input_shape') : null,
        weight: f.tensor('weight'),
        stride: f.int('stride'),
        padding: padding as number | 'same' | 'valid',
        dilation: f.int('dilation'),
        groups: f.int('groups'),
        bias: f.tensor('bias'),
      };
      break;
    }
    case 'Conv2d': {
      const padString = f.string('padding');
      const inputShape = entry.children.has('input_shape') ? f.ints('input_shape', 2) : null;
      node = {
        type,
        inputShape: inputShape === null ? null : [inputShape[0] ?? 0, inputShape[1] ?? inputShape[0] ?? 0],
        weight: f.tensor('weight'),
        stride: f.pair('stride'),
        padding: padString === null ? f.pair('padding') : (padString as 'same' | 'valid'),
        dilation: f.pair('dilation'),
        groups: f.int('groups'),
        bias: f.tensor('bias'),
      };
      break;
    }
    case 'SumPool2d':
    case 'AvgPool2d':
      node = {
        type,
        kernelSize: f.pair('kernel_size'),
        stride: f.pair('stride'),
        padding: f.pair('padding'),
      };
      break;
    case 'Flatten':
      node = {
        type,
        inputType: entry.children.has('input_type') ? f.ints('input_type') : null,
        startDim: f.int('start_dim', 1),
        endDim: f.int('end_dim', -1),
      };
      break;
    case 'Delay':
      node = { type, delay: f.tensor('delay') };
      break;
    case 'Threshold':
      node = { type, threshold: f.tensor('threshold') };
      break;
    case 'I':
      node = { type, r: f.tensor('r') };
      break;
    case 'IF': {
      const vThreshold = f.tensor('v_threshold');
      node = { type, r: f.tensor('r'), vThreshold, vReset: f.optTensor('v_reset') ?? zerosLike(vThreshold) };
      break;
    }
    case 'LI':
      node = { type, tau: f.tensor('tau'), r: f.tensor('r'), vLeak: f.tensor('v_leak') };
      break;
    case 'LIF': {
      const vThreshold = f.tensor('v_threshold');
      node = {
        type,
        tau: f.tensor('tau'),
        r: f.tensor('r'),
        vLeak: f.tensor('v_leak'),
        vThreshold,
        vReset: f.optTensor('v_reset') ?? zerosLike(vThreshold),
      };
      break;
    }
    case 'CubaLI': {
      const vLeak = f.tensor('v_leak');
      node = {
        type,
        tauSyn: f.tensor('tau_syn'),
        tauMem: f.tensor('tau_mem'),
        r: f.tensor('r'),
        vLeak,
        wIn: broadcastScalar(f.optTensor('w_in'), vLeak),
      };
      break;
    }
    case 'CubaLIF': {
      const vThreshold = f.tensor('v_threshold');
      node = {
        type,
        tauSyn: f.tensor('tau_syn'),
        tauMem: f.tensor('tau_mem'),
        r: f.tensor('r'),
        vLeak: f.tensor('v_leak'),
        vThreshold,
        vReset: f.optTensor('v_reset') ?? zerosLike(vThreshold),
        wIn: broadcastScalar(f.optTensor('w_in'), vThreshold),
      };
      break;
    }
    case 'NIRGraph':
      node = parseGraph(entry, path, issues);
      break;
  }
  checkParamShapes(type, node, path, issues);
  if (
    node.type === 'Conv2d' &&
    typeof node.padding === 'string' &&
    !['same', 'valid'].includes(node.padding)
  ) {
    issues.error(
      'field-form',
      `${path}/padding`,
      `padding must be "same", "valid" or integers, got "${node.padding}"`,
    );
  }
  if (
    node.type === 'Conv1d' &&
    typeof node.padding === 'string' &&
    !['same', 'valid'].includes(node.padding)
  ) {
    issues.error(
      'field-form',
      `${path}/padding`,
      `padding must be "same", "valid" or an integer, got "${node.padding}"`,
    );
  }
  if (
    (node.type === 'Conv2d' && node.weight.shape.length !== 4) ||
    (node.type === 'Conv1d' && node.weight.shape.length !== 3)
  ) {
    issues.error(
      'field-form',
      `${path}/weight`,
      `${type} weight must be ${type === 'Conv2d' ? 4 : 3}-D, got [${node.weight.shape.join(', ')}]`,
    );
  }
  if ((node.type === 'Affine' || node.type === 'Linear') && node.weight.shape.length < 2) {
    issues.error('field-form', `${path}/weight`, `${type} weight must be at least 2-D`);
  }
  if (node.type === 'Flatten' && node.inputType !== null) {
    const out = flattenShape(node.inputType, node.startDim, node.endDim);
    if (numel(out) !== numel(node.inputType)) {
      issues.error(
        'flatten',
        path,
        `Flatten of [${node.inputType.join(', ')}] from ${node.startDim} to ${node.endDim} changes the element count`,
      );
    }
  }
  const meta = entry.children.get('metadata');
  if (meta !== undefined) node.metadata = readMetadata(meta, `${path}/metadata`, issues);
  return node;
}

function zerosLike(t: NirTensor): NirTensor {
  return {
    shape: [...t.shape],
    data: new (t.data instanceof Float64Array ? Float64Array : Float32Array)(t.data.length),
  };
}

/** NIR fills a scalar (or absent, default 1.0) `w_in` to the neuron shape. */
function broadcastScalar(t: NirTensor | null, like: NirTensor): NirTensor {
  if (t !== null && t.data.length === like.data.length) return { shape: [...like.shape], data: t.data };
  const value = t === null ? 1 : t.data[0];
  return { shape: [...like.shape], data: new Float64Array(like.data.length).fill(value) };
}

function parseGraph(group: RawGroup, path: string, issues: IssueList): NirGraph {
  const graph: NirGraph = { type: 'NIRGraph', nodes: new Map(), edges: [] };
  const nodes = group.children.get('nodes');
  if (nodes === undefined || nodes.kind !== 'group') {
    issues.error('edges', `${path}/nodes`, 'a NIRGraph needs a "nodes" group');
  } else {
    for (const [name, child] of nodes.children) {
      const node = parseNode(child, `${path}/nodes/${name}`, issues);
      if (node !== null) graph.nodes.set(name, node);
    }
  }
  const edges = group.children.get('edges');
  if (edges === undefined || edges.kind !== 'dataset') {
    issues.error('edges', `${path}/edges`, 'a NIRGraph needs an "edges" dataset');
  } else if (edges.dtype !== 'string') {
    issues.error('edges', `${path}/edges`, `edges must be strings, got ${edges.dtype}`);
  } else {
    const flat = typeof edges.value === 'string' ? [edges.value] : (edges.value as string[]);
    const wellShaped =
      (edges.shape.length === 2 && edges.shape[1] === 2) ||
      (edges.shape.length === 1 && edges.shape[0] === 0);
    if (!wellShaped) {
      issues.error('edges', `${path}/edges`, `edges must have shape (E, 2), got (${edges.shape.join(', ')})`);
    }
    for (let i = 0; i + 1 < flat.length; i += 2) graph.edges.push([flat[i], flat[i + 1]]);
    // Every member of `nodes`, parsed or not (a node that failed has its own issue already).
    const known = new Set(nodes?.kind === 'group' ? nodes.children.keys() : graph.nodes.keys());
    for (const [from, to] of graph.edges) {
      for (const end of [from, to]) {
        if (known.has(end)) continue;
        const nested = end.includes('.') && [...known].some((n) => end.startsWith(`${n}.`));
        if (nested) {
          issues.warn(
            'edges',
            `${path}/edges`,
            `edge ${from} → ${to} names "${end}" inside a nested graph; nir.read's type check cannot follow it (load with type_check=False)`,
          );
        } else {
          issues.error(
            'edges',
            `${path}/edges`,
            `edge ${from} → ${to} names "${end}", which is not a node of the graph`,
          );
        }
      }
    }
  }
  return graph;
}

/** Output shape of NIR's Flatten (`calc_flatten_output`), dims over the batch-free shape. */
export function flattenShape(input: readonly number[], startDim: number, endDim: number): number[] {
  const start = input.slice(0, startDim);
  const middle = endDim !== -1 ? input.slice(startDim, endDim + 1) : input.slice(startDim);
  const end = endDim !== -1 && endDim !== input.length - 1 ? input.slice(endDim + 1) : [];
  return [...start, numel(middle), ...end];
}

export interface ParsedNir {
  graph: NirGraph;
  version: string | null;
  issues: NirIssue[];
}

/**
 * Parses a raw tree into a typed graph, collecting every layout issue rather than stopping at the first. The
 * graph is usable only when no issue has severity "error".
 */
export function parseNirRaw(root: RawGroup): ParsedNir {
  const issues = new IssueList();
  let version: string | null = null;
  const v = root.children.get('version');
  if (v === undefined) {
    issues.warn(
      'version',
      '/version',
      'no /version dataset (nir.read still loads the file; nir.read_version fails)',
    );
  } else if (v.kind !== 'dataset' || v.dtype !== 'string' || v.shape.length !== 0) {
    issues.error('version', '/version', '/version must be a scalar UTF-8 string');
  } else {
    version = String(v.value);
  }
  const nodeEntry = root.children.get('node');
  if (nodeEntry === undefined) {
    issues.error('root-node', '/node', 'the file has no /node group');
    return { graph: { type: 'NIRGraph', nodes: new Map(), edges: [] }, version, issues: issues.issues };
  }
  const node = parseNode(nodeEntry, '/node', issues);
  if (node !== null && node.type !== 'NIRGraph') {
    // nir.read returns whatever node /node is; everything here works on graphs, so wrap a lone node.
    issues.warn('root-node', '/node', `/node is a ${node.type}, not a NIRGraph`);
  }
  const graph: NirGraph =
    node === null
      ? { type: 'NIRGraph', nodes: new Map(), edges: [] }
      : node.type === 'NIRGraph'
        ? node
        : { type: 'NIRGraph', nodes: new Map([['node', node]]), edges: [] };
  return { graph, version, issues: issues.issues };
}
