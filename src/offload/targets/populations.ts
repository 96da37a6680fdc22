import type { NirGraph, NirNode, NirNodeType } from '../nir/types.ts';
import { numel } from '../nir/types.ts';
import type { NodeActivity } from '../sim/simulator.ts';

/**
 * A NIR graph seen as hardware sees it: neuron populations, each fed by synaptic projections (a conv or affine
 * from another population or a graph input), plus graded readouts where a real-valued sum leaves the graph. NIR
 * junction nodes (an identity Scale, pooling and flatten in front of a projection) are folded into the
 * projections, as neuromorphic compilers do.
 */

export const NEURON_TYPES: ReadonlySet<NirNodeType> = new Set([
  'LIF',
  'IF',
  'LI',
  'I',
  'CubaLIF',
  'CubaLI',
  'Threshold',
]);
const SYNAPTIC_TYPES: ReadonlySet<NirNodeType> = new Set(['Conv2d', 'Conv1d', 'Affine', 'Linear']);
const PASS_TYPES: ReadonlySet<NirNodeType> = new Set(['SumPool2d', 'AvgPool2d', 'Flatten', 'Delay']);

export interface ConvGeometry {
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  inputSize: [number, number];
  outputSize: [number, number];
  groups: number;
}

export interface Projection {
  /** Source population or graph Input node. */
  source: string;
  /** Whether the source emits binary spikes (a neuron population) or real values (an input, a readout). */
  sourceSpiking: boolean;
  /** The synaptic node (conv/affine), or null for a one-to-one (identity or pooling) connection. */
  via: string | null;
  /** Nodes folded in between the source and the synaptic node (pooling, flatten, junctions). */
  path: string[];
  /** Stored weights (shared conv kernels counted once). */
  weights: number;
  /** Individual synapses per step if unrolled (= the dense MACs of the projection per sample). */
  connections: number;
  conv: ConvGeometry | null;
  /** Source elements per sample and step (its neurons). */
  sourceElements: number;
}

export interface Population {
  /** NIR node name (a neuron node), or the Output node for a graded readout. */
  name: string;
  type: NirNodeType | 'Readout';
  shape: number[];
  neurons: number;
  projections: Projection[];
  /** NIR node types the population uses (for the target's primitive list). */
  nodeTypes: Set<NirNodeType>;
}

export interface GraphPopulations {
  populations: Population[];
  /** Graph inputs (host → chip) with their elements per sample and step. */
  inputs: { name: string; elements: number }[];
  /** Graph outputs (chip → host): the population or readout each one reads. */
  outputs: { name: string; source: string; elements: number; spiking: boolean }[];
}

function pair(
  v: [number, number] | 'same' | 'valid',
  kernel: [number, number],
  dilation: [number, number],
): [number, number] {
  if (v === 'valid') return [0, 0];
  if (v === 'same')
    return [Math.floor((dilation[0] * (kernel[0] - 1)) / 2), Math.floor((dilation[1] * (kernel[1] - 1)) / 2)];
  return v;
}

/** Builds populations and projections from a (flat) NIR graph and the node shapes nir-sim or inference gives. */
export function graphPopulations(
  graph: NirGraph,
  shapes: Map<string, { input: number[] | null; output: number[] | null }>,
): GraphPopulations {
  const preds = new Map<string, string[]>();
  for (const name of graph.nodes.keys()) preds.set(name, []);
  for (const [from, to] of graph.edges) preds.get(to)?.push(from);
  const node = (n: string) => graph.nodes.get(n) as NirNode;
  const outShape = (n: string) => shapes.get(n)?.output ?? [];
  const isJunction = (n: string) => {
    const x = node(n);
    return x.type === 'Scale' && Array.from(x.scale.data).every((v) => v === 1);
  };

  /** Walks back from `start` through pass-through nodes to the sources: populations or Inputs. */
  const sourcesOf = (start: string, path: string[] = []): { source: string; path: string[] }[] => {
    const x = node(start);
    if (NEURON_TYPES.has(x.type) || x.type === 'Input') return [{ source: start, path }];
    if (PASS_TYPES.has(x.type) || isJunction(start)) {
      return (preds.get(start) ?? []).flatMap((p) => sourcesOf(p, [...path, start]));
    }
    // A synaptic node feeding another synaptic node (conv → conv without a neuron between) is a readout on chip.
    return [{ source: start, path }];
  };

  const readouts = new Set<string>();
  const populations: Population[] = [];
  const projectionsInto = (target: string): Projection[] => {
    const out: Projection[] = [];
    const visit = (p: string, path: string[]) => {
      const x = node(p);
      if (isJunction(p)) {
        for (const q of preds.get(p) ?? []) visit(q, [...path, p]);
        return;
      }
      if (SYNAPTIC_TYPES.has(x.type)) {
        for (const { source, path: inner } of (preds.get(p) ?? []).flatMap((q) => sourcesOf(q))) {
          const src = node(source);
          if (!NEURON_TYPES.has(src.type) && src.type !== 'Input') readouts.add(source);
          const sourceElements = numel(outShape(source));
          let weights: number;
          let connections: number;
          let conv: ConvGeometry | null = null;
          if (x.type === 'Conv2d') {
            const [cout, cinPerGroup, kh, kw] = x.weight.shape;
            const inShape = shapes.get(p)?.input ?? [cinPerGroup * x.groups, 1, 1];
            const o = outShape(p);
            weights = x.weight.data.length;
            connections = numel(o) * cinPerGroup * kh * kw;
            conv = {
              inChannels: cinPerGroup * x.groups,
              outChannels: cout,
              kernel: [kh, kw],
              stride: x.stride,
              padding: pair(x.padding, [kh, kw], x.dilation),
              dilation: x.dilation,
              inputSize: [inShape[1] ?? 1, inShape[2] ?? 1],
              outputSize: [o[1] ?? 1, o[2] ?? 1],
              groups: x.groups,
            };
          } else if (x.type === 'Conv1d') {
            const [, cin, k] = x.weight.shape;
            weights = x.weight.data.length;
            connections = numel(outShape(p)) * cin * k;
          } else {
            weights = (x as Extract<NirNode, { type: 'Affine' | 'Linear' }>).weight.data.length;
            connections = weights;
          }
          out.push({
            source,
            sourceSpiking:
              NEURON_TYPES.has(src.type) && src.type !== 'LI' && src.type !== 'I' && src.type !== 'CubaLI',
            via: p,
            path: [...path, ...inner],
            weights,
            connections,
            conv,
            sourceElements,
          });
        }
        return;
      }
      for (const { source, path: inner } of sourcesOf(p, path)) {
        const src = node(source);
        if (!NEURON_TYPES.has(src.type) && src.type !== 'Input') readouts.add(source);
        const elements = numel(outShape(source));
        out.push({
          source,
          sourceSpiking: NEURON_TYPES.has(src.type) && !['LI', 'I', 'CubaLI'].includes(src.type),
          via: null,
          path: inner,
          weights: 0,
          connections: elements,
          conv: null,
          sourceElements: elements,
        });
      }
    };
    for (const p of preds.get(target) ?? []) visit(p, []);
    return out;
  };

  for (const [name, x] of graph.nodes) {
    if (!NEURON_TYPES.has(x.type)) continue;
    const projections = projectionsInto(name);
    const types = new Set<NirNodeType>([
      x.type,
      ...projections.flatMap((p) => [
        ...(p.via ? [node(p.via).type] : []),
        ...p.path.map((q) => node(q).type),
      ]),
    ]);
    populations.push({
      name,
      type: x.type,
      shape: outShape(name),
      neurons: numel(outShape(name)),
      projections,
      nodeTypes: types,
    });
  }
  const outputs: GraphPopulations['outputs'] = [];
  for (const [name, x] of graph.nodes) {
    if (x.type !== 'Output') continue;
    const projections = projectionsInto(name);
    const direct =
      projections.length === 1 && projections[0].via === null && projections[0].path.length === 0;
    if (direct) {
      const p = projections[0];
      outputs.push({ name, source: p.source, elements: p.sourceElements, spiking: p.sourceSpiking });
      continue;
    }
    // A real-valued sum leaves the graph: on chip it needs readout neurons that emit graded values.
    const types = new Set<NirNodeType>(
      projections.flatMap((p) => [...(p.via ? [node(p.via).type] : []), ...p.path.map((q) => node(q).type)]),
    );
    const shape = x.shape;
    populations.push({ name, type: 'Readout', shape, neurons: numel(shape), projections, nodeTypes: types });
    outputs.push({ name, source: name, elements: numel(shape), spiking: false });
  }
  for (const r of readouts) {
    if (populations.some((p) => p.name === r)) continue;
    populations.push({
      name: r,
      type: 'Readout',
      shape: outShape(r),
      neurons: numel(outShape(r)),
      projections: projectionsInto(r),
      nodeTypes: new Set([node(r).type]),
    });
  }
  const inputs = [...graph.nodes]
    .filter(([, x]) => x.type === 'Input')
    .map(([name]) => ({ name, elements: numel(outShape(name)) }));
  return { populations: topological(populations), inputs, outputs };
}

/** Populations in dependency order (sources first); cycles keep their original order. */
function topological(pops: Population[]): Population[] {
  const byName = new Map(pops.map((p) => [p.name, p]));
  const done = new Set<string>();
  const onStack = new Set<string>();
  const out: Population[] = [];
  const visit = (p: Population) => {
    if (done.has(p.name) || onStack.has(p.name)) return;
    onStack.add(p.name);
    for (const proj of p.projections) {
      const src = byName.get(proj.source);
      if (src !== undefined) visit(src);
    }
    onStack.delete(p.name);
    done.add(p.name);
    out.push(p);
  };
  for (const p of pops) visit(p);
  return out;
}

/** Per-step, per-sample rates from nir-sim activity: non-zero fraction of each node's output. */
export function firingRatesFrom(activity: Map<string, NodeActivity> | null): Map<string, number> {
  const out = new Map<string, number>();
  if (activity === null) return out;
  for (const [name, a] of activity)
    out.set(name, a.outputElements === 0 ? 0 : a.outputNonZeros / a.outputElements);
  return out;
}
