import type { Firing, NeuronParams } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import { heavisideToNir, neuronToNir } from '../nir/neurons.ts';
import type { NirGraph, NirMetadata, NirNode, NirTensor } from '../nir/types.ts';
import { numel } from '../nir/types.ts';

/**
 * Builds a NIR graph while walking a spiking module's dataflow symbolically. A value is either on the NIR side
 * (the sum of some nodes' outputs: NIR adds every edge that enters a node, so residual additions cost nothing) or
 * on the host (computed by an operation NIR cannot express). Crossing from one side to the other creates an
 * Output node (NIR → host) or an Input node (host → NIR), and the crossing is recorded as a boundary with its
 * size, which is what an offloaded module would send over the wire.
 */

/** Where a layer runs after partitioning. */
export type Placement = 'nir' | 'host';

export interface PartitionEntry {
  /** Checkpoint name of the layer (or block). */
  layer: string;
  kind: string;
  placement: Placement;
  /** Why it is placed there (what NIR primitive it became, or why NIR cannot express it). */
  reason: string;
  /** NIR nodes the layer became. */
  nirNodes: string[];
  /** Float parameters of the layer. */
  params: number;
  /** Set when the NIR form is exact only for our simulator (e.g. soft reset), with why. */
  caveat?: string;
}

export interface BoundaryEntry {
  /** The Input or Output node at the cut. */
  node: string;
  direction: 'nir-to-host' | 'host-to-nir';
  /** NIR shape per sample and step. */
  shape: number[];
  elements: number;
  /** Binary spikes (1 bit per element per step) rather than real values (32 bits). */
  spiking: boolean;
  /** The layer on the far side of the cut. */
  layer: string;
}

export interface SymNir {
  side: 'nir';
  shape: number[];
  /** Nodes whose outputs add up to this value. */
  terms: string[];
  spiking: boolean;
}
export interface SymHost {
  side: 'host';
  shape: number[];
  spiking: boolean;
  /** Stable id (the producing layer's name); the Input node made for it is reused. */
  id: string;
}
export type Sym = SymNir | SymHost;

export interface TracerOptions {
  dt: number;
  /** Prefix for node names (the module's checkpoint prefix is already in the layer names). */
  prefix?: string;
}

/** Collects nodes, edges, partition entries and boundaries. */
export class NirTracer {
  readonly graph: NirGraph;
  readonly entries: PartitionEntry[] = [];
  readonly boundaries: BoundaryEntry[] = [];
  readonly dt: number;
  private readonly inputFor = new Map<string, string>();
  private readonly outputFor = new Map<string, string>();
  private readonly constants = new Map<string, NirTensor>();
  private readonly externalIds = new Set<string>();

  constructor(options: TracerOptions, metadata: NirMetadata = {}) {
    this.dt = options.dt;
    this.graph = { type: 'NIRGraph', nodes: new Map(), edges: [], metadata: { dt: options.dt, ...metadata } };
  }

  /** A unique node name derived from a layer name (NIR names may hold dots, never "/"). */
  uniqueName(base: string): string {
    const clean = (base === '' ? 'node' : base).replaceAll('/', '_');
    let name = clean;
    for (let i = 1; this.graph.nodes.has(name); i++) name = `${clean}#${i}`;
    return name;
  }

  /** Adds a node fed by the value `input` (all its terms), returning the node's name. */
  addNode(base: string, node: NirNode, input: SymNir | null): string {
    const name = this.uniqueName(base);
    this.graph.nodes.set(name, node);
    if (input !== null) for (const term of input.terms) this.graph.edges.push([term, name]);
    return name;
  }

  /** A constant-filled float32 tensor, shared between nodes (large neuron layers repeat the same values). */
  constant(shape: readonly number[], value: number): NirTensor {
    const key = `${shape.join('x')}:${value}`;
    let t = this.constants.get(key);
    if (t === undefined) {
      t = { shape: [...shape], data: new Float32Array(numel(shape)).fill(value) };
      this.constants.set(key, t);
    }
    return t;
  }

  /** The module's external input: a host value whose Input node (if NIR consumes it) is called `id`. */
  external(id: string, shape: number[], spiking: boolean): SymHost {
    this.externalIds.add(id);
    return { side: 'host', shape, spiking, id };
  }

  /** Brings a value onto the NIR side (an Input node for a host value, made once per value). */
  toNir(value: Sym, consumer: string): SymNir {
    if (value.side === 'nir') return value;
    let name = this.inputFor.get(value.id);
    if (name === undefined) {
      name = this.uniqueName(this.externalIds.has(value.id) ? value.id : `from_host.${value.id}`);
      this.graph.nodes.set(name, { type: 'Input', shape: [...value.shape] });
      this.inputFor.set(value.id, name);
      this.boundaries.push({
        node: name,
        direction: 'host-to-nir',
        shape: [...value.shape],
        elements: numel(value.shape),
        spiking: value.spiking,
        layer: consumer,
      });
    }
    return { side: 'nir', shape: value.shape, terms: [name], spiking: value.spiking };
  }

  /** Sends a NIR value to the host (an Output node fed by its terms, made once per value). */
  toHost(value: Sym, consumer: string): SymHost {
    if (value.side === 'host') return value;
    const key = value.terms.join('+');
    let name = this.outputFor.get(key);
    if (name === undefined) {
      name = this.uniqueName(`to_host.${value.terms.length === 1 ? value.terms[0] : consumer}`);
      this.graph.nodes.set(name, { type: 'Output', shape: [...value.shape] });
      for (const t of value.terms) this.graph.edges.push([t, name]);
      this.outputFor.set(key, name);
      this.boundaries.push({
        node: name,
        direction: 'nir-to-host',
        shape: [...value.shape],
        elements: numel(value.shape),
        spiking: value.spiking,
        layer: consumer,
      });
    }
    return { side: 'host', shape: value.shape, spiking: value.spiking, id: name };
  }

  /** Element-wise sum: free on the NIR side (edges add up), a host op otherwise. */
  add(a: Sym, b: Sym, where: string): Sym {
    if (a.shape.join(',') !== b.shape.join(',')) {
      throw new SpikedriveError(`Cannot add values of shapes [${a.shape}] and [${b.shape}] at ${where}`, {
        subject: where,
        fix: 'This is an exporter bug for this block; please report it.',
      });
    }
    let x = this.toNir(a, where);
    let y = this.toNir(b, where);
    // Our simulator adds a node's inputs right to left (e1 + (e2 + …)); with the single-term operand first that
    // is exactly a + b. When both sides are already sums, one is materialised by an identity Scale (x·1 = x).
    if (x.terms.length > 1 && y.terms.length > 1) y = this.junction(y, where);
    if (x.terms.length > 1) [x, y] = [y, x];
    return { side: 'nir', shape: a.shape, terms: [...x.terms, ...y.terms], spiking: false };
  }

  /** A sum materialised as one node (Scale by ones), so it can enter another sum as a single term. */
  junction(value: SymNir, where: string): SymNir {
    const name = this.addNode(
      `${where}.sum`,
      { type: 'Scale', scale: this.constant(value.shape, 1), metadata: { spikedrive: { junction: 1 } } },
      value,
    );
    return { side: 'nir', shape: value.shape, terms: [name], spiking: value.spiking };
  }

  /** Records a layer that runs on the host and returns its (host) output. */
  host(
    layer: string,
    kind: string,
    reason: string,
    inputs: Sym[],
    outShape: number[],
    spiking: boolean,
    params = 0,
  ): SymHost {
    for (const x of inputs) this.toHost(x, layer);
    this.entries.push({ layer, kind, placement: 'host', reason, nirNodes: [], params });
    return { side: 'host', shape: outShape, spiking, id: layer };
  }

  /** Records a layer placed on NIR. */
  nir(layer: string, kind: string, reason: string, nodes: string[], params: number, caveat?: string): void {
    const entry: PartitionEntry = { layer, kind, placement: 'nir', reason, nirNodes: nodes, params };
    if (caveat !== undefined) entry.caveat = caveat;
    this.entries.push(entry);
  }

  /** A spiking neuron layer (LIF/IF) on a value. */
  neuron(layer: string, params: NeuronParams, input: Sym): SymNir {
    const x = this.toNir(input, layer);
    const node = neuronToNir(params, x.shape, this.dt, layer);
    // Share the constant arrays so big feature maps do not hold five copies per layer.
    for (const key of ['tau', 'r', 'vLeak', 'vThreshold', 'vReset'] as const) {
      const t = (node as unknown as Record<string, NirTensor | undefined>)[key];
      if (t !== undefined)
        (node as unknown as Record<string, NirTensor>)[key] = this.constant(t.shape, t.data[0]);
    }
    const name = this.addNode(layer, node, x);
    const caveat =
      params.vReset === null
        ? 'soft reset (V ← H − θ) has no NIR form: written as a reset to 0, exact only in spikedrive nir-sim (metadata)'
        : params.stateQuant !== null
          ? 'SQUAT membrane levels are kept in metadata; other NIR readers run a float membrane'
          : undefined;
    this.nir(
      layer,
      params.kind,
      `${node.type} (τ = ${params.kind === 'if' ? '∞' : `${params.tau}·dt`}, R = ${params.kind === 'if' ? '1/dt' : params.decayInput ? 1 : params.tau}, θ = ${params.vThreshold}${params.firing === 'geq' ? ' (≥, written as the float32 below)' : ''}, ${params.vReset === null ? 'soft' : `hard reset to ${params.vReset}`})`,
      [name],
      0,
      caveat,
    );
    return { side: 'nir', shape: x.shape, terms: [name], spiking: true };
  }

  /** SAD's stateless Heaviside Θ(x ≥ 0) as a Threshold node. */
  heaviside(layer: string, firing: Firing, input: Sym): SymNir {
    const x = this.toNir(input, layer);
    const node = heavisideToNir(firing, x.shape, layer);
    node.threshold = this.constant(node.threshold.shape, node.threshold.data[0]);
    const name = this.addNode(layer, node, x);
    this.nir(
      layer,
      'heaviside',
      `Threshold (θ = 0${firing === 'geq' ? ', ≥ written as the float32 below 0' : ''})`,
      [name],
      0,
    );
    return { side: 'nir', shape: x.shape, terms: [name], spiking: true };
  }

  /** Finishes: every remaining NIR value in `outputs` gets an Output node. */
  finish(outputs: [string, Sym][]): NirGraph {
    for (const [name, value] of outputs) {
      if (value.side === 'host') continue;
      const out = this.uniqueName(name);
      this.graph.nodes.set(out, { type: 'Output', shape: [...value.shape] });
      for (const t of value.terms) this.graph.edges.push([t, out]);
    }
    return this.graph;
  }
}
