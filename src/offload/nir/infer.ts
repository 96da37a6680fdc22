import { flattenShape, type NirIssue } from './serialize.ts';
import type { NirGraph, NirNode } from './types.ts';

/**
 * A mirror of `nir.read(type_check=True)`'s shape checks (`NIRGraph.infer_types` then `check_types`, neuromorphs/NIR
 * `nir/ir/graph.py`), so CI can tell whether the reference library will load a graph without Python. Types are
 * shape vectors; `null` is "undefined". Quirks reproduced on purpose, because they decide what loads:
 * - Conv output sizes use `weight.shape[2]` as the kernel size for both axes (`calculate_conv_output` call).
 * - A conv's input channel count is `weight.shape[1]` (Cin/groups).
 * - Inference starts from Input nodes and walks edges; roots that are not Inputs need their own input type (an
 *   Input is added for them) and leaves that are not Outputs get an Output.
 * - An edge naming a member of a nested graph (`"G.B"`) cannot be followed (`self.nodes[...]` fails).
 */

type Shape = number[] | null;

/** Input/output types of a node keyed like NIR (`input`/`output`, or Input/Output node names for graphs). */
interface NodeTypes {
  input: Map<string, Shape> | null;
  output: Map<string, Shape> | null;
}

function convOut(
  input: readonly number[],
  padding: readonly number[] | string,
  dilation: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
): number[] {
  if (padding === 'same') return [...input];
  const pad = padding === 'valid' ? input.map(() => 0) : (padding as readonly number[]);
  return input.map((n, i) =>
    Math.floor((n + 2 * at(pad, i) - at(dilation, i) * (at(kernel, i) - 1) - 1) / at(stride, i) + 1),
  );
}

function at(v: readonly number[], i: number): number {
  return v.length === 1 ? v[0] : v[i];
}

function single(key: string, shape: Shape): Map<string, Shape> {
  return new Map([[key, shape]]);
}

/** What each node's `__post_init__` sets. */
function initialTypes(node: NirNode): NodeTypes {
  switch (node.type) {
    case 'Input':
      return { input: single('input', node.shape), output: single('output', node.shape) };
    case 'Output':
      return { input: single('input', node.shape), output: single('output', node.shape) };
    case 'Affine':
    case 'Linear': {
      const s = node.weight.shape;
      return {
        input: single('input', [...s.slice(0, -2), s[s.length - 1]]),
        output: single('output', [...s.slice(0, -2), s[s.length - 2]]),
      };
    }
    case 'Scale':
      return { input: single('input', node.scale.shape), output: single('output', node.scale.shape) };
    case 'Conv1d':
      if (node.inputShape === null) return { input: single('input', null), output: single('output', null) };
      return {
        input: single('input', [node.weight.shape[1], node.inputShape]),
        output: single('output', [
          node.weight.shape[0],
          ...convOut(
            [node.inputShape],
            typeof node.padding === 'number' ? [node.padding] : node.padding,
            [node.dilation],
            [node.weight.shape[2]],
            [node.stride],
          ),
        ]),
      };
    case 'Conv2d':
      if (node.inputShape === null) return { input: single('input', null), output: single('output', null) };
      return {
        input: single('input', [node.weight.shape[1], ...node.inputShape]),
        output: single('output', [
          node.weight.shape[0],
          ...convOut(node.inputShape, node.padding, node.dilation, [node.weight.shape[2]], node.stride),
        ]),
      };
    case 'SumPool2d':
    case 'AvgPool2d':
      return { input: single('input', null), output: single('output', null) };
    case 'Flatten':
      if (node.inputType === null) return { input: single('input', null), output: single('output', null) };
      return {
        input: single('input', node.inputType),
        output: single('output', flattenShape(node.inputType, node.startDim, node.endDim)),
      };
    case 'Delay':
      return { input: single('input', node.delay.shape), output: single('output', node.delay.shape) };
    case 'Threshold':
      return { input: single('input', node.threshold.shape), output: single('output', node.threshold.shape) };
    case 'I':
    case 'IF':
    case 'LI':
    case 'LIF':
      return { input: single('input', node.r.shape), output: single('output', node.r.shape) };
    case 'CubaLI':
      return { input: single('input', node.vLeak.shape), output: single('output', node.vLeak.shape) };
    case 'CubaLIF':
      return {
        input: single('input', node.vThreshold.shape),
        output: single('output', node.vThreshold.shape),
      };
    case 'NIRGraph':
      return graphTypes(node, null);
  }
}

function graphTypes(graph: NirGraph, state: GraphState | null): NodeTypes {
  const inputs = [...graph.nodes].filter(([, n]) => n.type === 'Input');
  const outputs = [...graph.nodes].filter(([, n]) => n.type === 'Output');
  const shapeOf = (name: string, key: 'input' | 'output'): Shape => {
    const t = state?.types.get(name);
    const m = t?.[key];
    return m ? ([...m.values()][0] ?? null) : ((graph.nodes.get(name) as { shape: number[] }).shape ?? null);
  };
  return {
    input: inputs.length > 0 ? new Map(inputs.map(([n]) => [n, shapeOf(n, 'input')])) : null,
    output: new Map(outputs.map(([n]) => [n, shapeOf(n, 'output')])),
  };
}

interface GraphState {
  graph: NirGraph;
  /** Node names including the Input/Output nodes inference adds. */
  types: Map<string, NodeTypes>;
  kinds: Map<string, NirNode['type']>;
  edges: [string, string][];
  nested: Map<string, GraphState>;
}

class TypeError_ extends Error {}

function undefinedTypes(m: Map<string, Shape> | null): boolean {
  return m === null || [...m.values()].some((v) => v === null);
}

function sameShapes(a: Map<string, Shape> | null, b: Map<string, Shape> | null): boolean {
  const av = a === null ? [] : [...a.values()];
  const bv = b === null ? [] : [...b.values()];
  if (av.length !== bv.length) return false;
  return av.every((x, i) => {
    const y = bv[i];
    return x !== null && y !== null && x.length === y.length && x.every((d, j) => d === y[j]);
  });
}

function fmt(m: Map<string, Shape> | null): string {
  if (m === null) return 'None';
  return `[${[...m.values()].map((s) => (s === null ? 'None' : `[${s.join(' ')}]`)).join(', ')}]`;
}

function stateFor(graph: NirGraph): GraphState {
  const state: GraphState = {
    graph,
    types: new Map(),
    kinds: new Map(),
    edges: graph.edges.map(([a, b]) => [a, b] as [string, string]),
    nested: new Map(),
  };
  for (const [name, node] of graph.nodes) {
    state.kinds.set(name, node.type);
    if (node.type === 'NIRGraph') {
      const inner = stateFor(node);
      state.nested.set(name, inner);
      state.types.set(name, graphTypes(node, inner));
    } else {
      state.types.set(name, initialTypes(node));
    }
  }
  return state;
}

function nodeTypes(state: GraphState, name: string): NodeTypes {
  const t = state.types.get(name);
  if (t === undefined) {
    throw new TypeError_(
      name.includes('.')
        ? `edge names "${name}" inside a nested graph; type inference cannot follow it (KeyError) — load with type_check=False`
        : `edge names "${name}", which is not a node (KeyError)`,
    );
  }
  return t;
}

function refreshGraphTypes(state: GraphState, name: string): void {
  const inner = state.nested.get(name);
  if (inner !== undefined) {
    const t = graphTypes(inner.graph, inner);
    state.types.set(name, t);
  }
}

function inferGraph(state: GraphState): void {
  if (state.kinds.size === 0) return;
  const destinations = new Set(state.edges.map((e) => e[1]));
  const added: [string, NodeTypes, 'Input' | 'Output'][] = [];
  for (const name of state.kinds.keys()) {
    if (destinations.has(name)) continue;
    const kind = state.kinds.get(name);
    const t = nodeTypes(state, name);
    if (kind !== 'Input') {
      if (undefinedTypes(t.input)) {
        throw new TypeError_(
          `Root node '${name}' of type ${kind} is not an Input node and has no defined input_type. Cannot infer graph input.`,
        );
      }
      let inputName = `input_${name}`;
      for (let i = 0; state.kinds.has(inputName) || added.some((a) => a[0] === inputName); i++) {
        inputName = `input_${name}_${i}`;
      }
      const shape = [...(t.input as Map<string, Shape>).values()][0];
      added.push([inputName, { input: single('input', shape), output: single('output', shape) }, 'Input']);
      state.edges.push([inputName, name]);
    } else if (undefinedTypes(t.input)) {
      throw new TypeError_(
        `Input node '${name}' has no defined input_type. Cannot infer graph without input types.`,
      );
    }
  }
  for (const [n, t, k] of added) {
    state.types.set(n, t);
    state.kinds.set(n, k);
  }
  const inputNames = new Set([...state.kinds].filter(([, k]) => k === 'Input').map(([n]) => n));
  const ready = state.edges.filter((e) => inputNames.has(e[0]));
  if (ready.length === 0) {
    throw new TypeError_(
      'Failed to start type inference: No input nodes found (a cycle at the graph input?); add an Input node or load with type_check=False.',
    );
  }
  const seen = new Set(ready.map((e) => e[0]));
  while (ready.length > 0) {
    const [preKey, postKey] = ready.pop() as [string, string];
    const pre = nodeTypes(state, preKey);
    const postKind = state.kinds.get(postKey);
    nodeTypes(state, postKey);
    const inner = state.nested.get(postKey);
    if (inner !== undefined) {
      inferGraph(inner);
      refreshGraphTypes(state, postKey);
    }
    const post = nodeTypes(state, postKey);
    const undefPostInput = undefinedTypes(post.input);
    const mismatch =
      (post.input?.size ?? 0) !== (pre.output?.size ?? 0) || !sameShapes(pre.output, post.input);
    if (undefPostInput) {
      post.input = new Map(
        [...(pre.output ?? new Map<string, Shape>())].map(([k, v]) => [k.replace('output', 'input'), v]),
      );
    } else if (mismatch) {
      throw new TypeError_(
        `Type inference error: type mismatch: ${preKey}.output: ${fmt(pre.output)} -> ${postKey}.input: ${fmt(post.input)}`,
      );
    }
    if (postKind === 'Output') {
      post.output = new Map(
        [...(post.input ?? new Map<string, Shape>())].map(([k, v]) => [k.replace('input', 'output'), v]),
      );
    }
    if (undefinedTypes(post.output)) {
      const node = state.graph.nodes.get(postKey);
      const inShape = post.input === null ? null : ([...post.input.values()][0] ?? null);
      if (node !== undefined && inShape !== null) {
        if (node.type === 'Conv2d' || node.type === 'Conv1d') {
          const spatial = node.type === 'Conv1d' ? [inShape[1]] : inShape.slice(1);
          const out =
            node.type === 'Conv1d'
              ? convOut(
                  spatial,
                  typeof node.padding === 'number' ? [node.padding] : node.padding,
                  [node.dilation],
                  [node.weight.shape[2]],
                  [node.stride],
                )
              : convOut(spatial, node.padding, node.dilation, [node.weight.shape[2]], node.stride);
          post.output = single('output', [node.weight.shape[0], ...out]);
        } else if (node.type === 'SumPool2d' || node.type === 'AvgPool2d') {
          const preOut = pre.output?.get('output');
          if (preOut === undefined || preOut === null) {
            throw new TypeError_(
              `cannot infer the output of ${postKey}: its input ${preKey} has no "output" type`,
            );
          }
          // Pooling indexes kernel_size per axis (unlike the conv call, which passes weight.shape[2]).
          const out = convOut(preOut.slice(1), node.padding, [1], node.kernelSize, node.stride);
          post.output = single('output', [inShape[0], ...out]);
        } else if (node.type === 'Flatten') {
          const out = flattenShape(inShape, node.startDim, node.endDim);
          if (out.reduce((a, b) => a * b, 1) !== inShape.reduce((a, b) => a * b, 1)) {
            throw new TypeError_(`Flatten ${postKey} must not change the number of elements`);
          }
          post.output = single('output', out);
        }
      }
    }
    seen.add(postKey);
    for (const e of state.edges) if (e[0] === postKey && !seen.has(e[1])) ready.push(e);
  }
  const sources = new Set(state.edges.map((e) => e[0]));
  const leaves = [...state.kinds.keys()].filter((n) => !sources.has(n));
  if (leaves.length === 0) {
    throw new TypeError_(
      'Type inference failed: No output nodes found (a cycle at the graph output?); add an Output node or load with type_check=False.',
    );
  }
  const extra: [string, NodeTypes][] = [];
  for (const name of leaves) {
    if (state.kinds.get(name) === 'Output') continue;
    const t = nodeTypes(state, name);
    if (undefinedTypes(t.output)) {
      throw new TypeError_(
        `Leaf node '${name}' of type ${state.kinds.get(name)} is not an Output node and has no defined output_type. Cannot infer graph output.`,
      );
    }
    let outName = `output_${name}`;
    for (let i = 0; state.kinds.has(outName) || extra.some((x) => x[0] === outName); i++)
      outName = `output_${name}_${i}`;
    const shape = [...(t.output as Map<string, Shape>).values()][0];
    extra.push([outName, { input: single('input', shape), output: single('output', shape) }]);
    state.edges.push([name, outName]);
  }
  for (const [n, t] of extra) {
    state.types.set(n, t);
    state.kinds.set(n, 'Output');
  }
}

function checkGraph(state: GraphState): void {
  for (const [preKey, postKey] of state.edges) {
    const pre = nodeTypes(state, preKey);
    const post = nodeTypes(state, postKey);
    const inner = state.nested.get(postKey);
    if (inner !== undefined) checkGraph(inner);
    if (undefinedTypes(pre.output)) throw new TypeError_(`pre node ${preKey} has no output type`);
    if (undefinedTypes(post.input)) throw new TypeError_(`post node ${postKey} has no input type`);
    if ((pre.output as Map<string, Shape>).size !== (post.input as Map<string, Shape>).size) {
      throw new TypeError_(
        `type length mismatch: len(${preKey}.output)=${pre.output?.size} -> len(${postKey}.input)=${post.input?.size}`,
      );
    }
    if ((pre.output as Map<string, Shape>).size !== 1) {
      throw new TypeError_(`multiple input/output types not supported yet (edge ${preKey} → ${postKey})`);
    }
    if (!sameShapes(pre.output, post.input)) {
      throw new TypeError_(
        `type mismatch: ${preKey}.output: ${fmt(pre.output)} -> ${postKey}.input: ${fmt(post.input)}`,
      );
    }
  }
}

export interface InferredTypes {
  /** Input and output shape of every node of the top-level graph (after inference). */
  nodes: Map<string, { input: number[] | null; output: number[] | null }>;
  /** Input/Output nodes inference would add (for roots/leaves that are not Input/Output nodes). */
  addedNodes: string[];
}

/**
 * Runs NIR's type inference and check on a copy of the graph's types (the graph is not changed). Returns the
 * issues (empty when `nir.read` with type_check=True would accept the graph) and the inferred shapes.
 */
export function inferNirTypes(graph: NirGraph): { issues: NirIssue[]; types: InferredTypes } {
  const state = stateFor(graph);
  const issues: NirIssue[] = [];
  const before = new Set(state.kinds.keys());
  try {
    inferGraph(state);
  } catch (error) {
    if (!(error instanceof TypeError_)) throw error;
    issues.push({ rule: 'type-inference', severity: 'error', path: '/node', message: error.message });
  }
  if (issues.length === 0) {
    try {
      checkGraph(state);
    } catch (error) {
      if (!(error instanceof TypeError_)) throw error;
      issues.push({ rule: 'type-check', severity: 'error', path: '/node', message: error.message });
    }
  }
  const nodes = new Map<string, { input: number[] | null; output: number[] | null }>();
  for (const [name, t] of state.types) {
    nodes.set(name, {
      input: t.input === null ? null : ([...t.input.values()][0] ?? null),
      output: t.output === null ? null : ([...t.output.values()][0] ?? null),
    });
  }
  return { issues, types: { nodes, addedNodes: [...state.kinds.keys()].filter((n) => !before.has(n)) } };
}
