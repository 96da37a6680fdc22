/**
 * The NIR graph model (Neuromorphic Intermediate Representation, neuromorphs/NIR v1.0): one typed node per
 * serialisable primitive (17 including the graph itself), named and laid out as `nir/ir/*.py` defines them. Field
 * names are camelCase here and snake_case on disk (`vThreshold` ↔ `v_threshold`); `nir/fields.ts` maps them.
 * Shapes are NIR's: channels first, no batch and no time axis ([C, H, W] for a feature map).
 */

/** A float parameter array (weights, time constants, thresholds) with its on-disk precision. */
export interface NirTensor {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** A value under a node's or graph's `metadata` group (extras live only there; `nir.read` rejects them elsewhere). */
export type NirMetaValue = string | number | boolean | number[] | NirTensor | NirMetadata;
export interface NirMetadata {
  [key: string]: NirMetaValue;
}

/** Conv padding: per-axis zero padding, or PyTorch's 'same'/'valid'. */
export type NirPadding2d = [number, number] | 'same' | 'valid';
export type NirPadding1d = number | 'same' | 'valid';

interface Base {
  metadata?: NirMetadata;
}

export interface NirInput extends Base {
  type: 'Input';
  shape: number[];
}
export interface NirOutput extends Base {
  type: 'Output';
  shape: number[];
}
/** y = W x + b; weight (…, out, in). */
export interface NirAffine extends Base {
  type: 'Affine';
  weight: NirTensor;
  bias: NirTensor;
}
/** y = W x. */
export interface NirLinear extends Base {
  type: 'Linear';
  weight: NirTensor;
}
/** y = s ⊙ x. */
export interface NirScale extends Base {
  type: 'Scale';
  scale: NirTensor;
}
/** PyTorch `Conv1d`; weight (Cout, Cin/groups, K). */
export interface NirConv1d extends Base {
  type: 'Conv1d';
  inputShape: number | null;
  weight: NirTensor;
  stride: number;
  padding: NirPadding1d;
  dilation: number;
  groups: number;
  bias: NirTensor;
}
/** PyTorch `Conv2d`; weight (Cout, Cin/groups, Kh, Kw); `inputShape` is (H, W). */
export interface NirConv2d extends Base {
  type: 'Conv2d';
  inputShape: [number, number] | null;
  weight: NirTensor;
  stride: [number, number];
  padding: NirPadding2d;
  dilation: [number, number];
  groups: number;
  bias: NirTensor;
}
export interface NirSumPool2d extends Base {
  type: 'SumPool2d';
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
}
/** SumPool2d then a scale by 1/(kh·kw) (zero padding counted, as PyTorch's default). */
export interface NirAvgPool2d extends Base {
  type: 'AvgPool2d';
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
}
/** Flattens dimensions startDim…endDim of the (batch-free) input. */
export interface NirFlatten extends Base {
  type: 'Flatten';
  inputType: number[] | null;
  startDim: number;
  endDim: number;
}
/** y(t) = x(t − delay), per element. */
export interface NirDelay extends Base {
  type: 'Delay';
  delay: NirTensor;
}
/** z = H(x − θ), strict: fires for x > θ. */
export interface NirThreshold extends Base {
  type: 'Threshold';
  threshold: NirTensor;
}
/** Integrator: v̇ = R I. */
export interface NirI extends Base {
  type: 'I';
  r: NirTensor;
}
/** v̇ = R I; spike when v > v_threshold, then v := v_reset. */
export interface NirIF extends Base {
  type: 'IF';
  r: NirTensor;
  vThreshold: NirTensor;
  vReset: NirTensor;
}
/** τ v̇ = (v_leak − v) + R I. */
export interface NirLI extends Base {
  type: 'LI';
  tau: NirTensor;
  r: NirTensor;
  vLeak: NirTensor;
}
/** LI plus spike (v > v_threshold) and reset to v_reset. */
export interface NirLIF extends Base {
  type: 'LIF';
  tau: NirTensor;
  r: NirTensor;
  vLeak: NirTensor;
  vThreshold: NirTensor;
  vReset: NirTensor;
}
/** τ_syn İ = −I + w_in S; τ_mem v̇ = (v_leak − v) + R I. */
export interface NirCubaLI extends Base {
  type: 'CubaLI';
  tauSyn: NirTensor;
  tauMem: NirTensor;
  r: NirTensor;
  vLeak: NirTensor;
  wIn: NirTensor;
}
export interface NirCubaLIF extends Base {
  type: 'CubaLIF';
  tauSyn: NirTensor;
  tauMem: NirTensor;
  r: NirTensor;
  vLeak: NirTensor;
  vThreshold: NirTensor;
  vReset: NirTensor;
  wIn: NirTensor;
}
/**
 * A graph of named nodes and identity edges [from, to]. Several edges into one node add up (NIR's sum at a node's
 * input). Graphs nest; an edge may name a member of a nested graph as `"G.B"`.
 */
export interface NirGraph extends Base {
  type: 'NIRGraph';
  nodes: Map<string, NirNode>;
  edges: [string, string][];
}

export type NirNode =
  | NirInput
  | NirOutput
  | NirAffine
  | NirLinear
  | NirScale
  | NirConv1d
  | NirConv2d
  | NirSumPool2d
  | NirAvgPool2d
  | NirFlatten
  | NirDelay
  | NirThreshold
  | NirI
  | NirIF
  | NirLI
  | NirLIF
  | NirCubaLI
  | NirCubaLIF
  | NirGraph;

export type NirNodeType = NirNode['type'];

/** Every type `nir.read` can deserialise (`nir/ir/__init__.py` `__all_ir`). */
export const NIR_NODE_TYPES: readonly NirNodeType[] = [
  'Conv1d',
  'Conv2d',
  'Delay',
  'Flatten',
  'Input',
  'NIRGraph',
  'Output',
  'Affine',
  'Linear',
  'Scale',
  'CubaLI',
  'CubaLIF',
  'I',
  'IF',
  'LI',
  'LIF',
  'AvgPool2d',
  'SumPool2d',
  'Threshold',
];

/** The NIR version our files declare (`/version`); the layout is that of neuromorphs/NIR 1.0.x. */
export const NIR_VERSION = '1.0.7';

export function isNirNodeType(value: string): value is NirNodeType {
  return (NIR_NODE_TYPES as readonly string[]).includes(value);
}

/** Element count of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A float32 tensor filled with one value. */
export function filled(shape: readonly number[], value: number): NirTensor {
  return { shape: [...shape], data: new Float32Array(numel(shape)).fill(value) };
}

/** A float32 tensor from data (copied). */
export function tensor32(shape: readonly number[], data: ArrayLike<number>): NirTensor {
  return { shape: [...shape], data: Float32Array.from(data) };
}

/** An empty graph. */
export function emptyGraph(metadata?: NirMetadata): NirGraph {
  const g: NirGraph = { type: 'NIRGraph', nodes: new Map(), edges: [] };
  if (metadata !== undefined) g.metadata = metadata;
  return g;
}

/** Whether a metadata value is a tensor (rather than a nested group). */
export function isNirTensor(value: unknown): value is NirTensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    'data' in value &&
    'shape' in value &&
    (value.data instanceof Float32Array || value.data instanceof Float64Array)
  );
}

/** Resolves a node by name, following `"G.B"` into nested graphs when the plain name is not a node. */
export function resolveNode(graph: NirGraph, name: string): NirNode | undefined {
  const direct = graph.nodes.get(name);
  if (direct !== undefined) return direct;
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  // Node names may themselves contain dots (Braille's `lif1.lif`): try every split point.
  for (let i = dot; i >= 0; i = name.indexOf('.', i + 1)) {
    const head = graph.nodes.get(name.slice(0, i));
    if (head?.type === 'NIRGraph') {
      const inner = resolveNode(head, name.slice(i + 1));
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}
