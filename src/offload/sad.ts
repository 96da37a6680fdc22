import * as tf from '@tensorflow/tfjs';
import { openSadDataset, sadDataOptionsFromConfig } from '../../data-loaders/sad/index.ts';
import { ensureDemoDataset } from '../../data-loaders/synthetic/index.ts';
import { type PreparedBatch, prepareBatch, type SadConfig, type SadModel } from '../pipeline/index.ts';
import type { SnnModule } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { createRng } from '../util/rng.ts';
import { exportToNir, type NirExport, type PartitionReport, summarisePartition } from './export/export.ts';
import { exportByProbe } from './export/stages.ts';
import type { NirGraph } from './nir/types.ts';
import { installOffload, type OffloadHandle, type OffloadOptions, type OffloadStats } from './runtime.ts';
import { NirSimulator, type NodeActivity } from './sim/simulator.ts';
import { checkTarget, type TargetCheckReport } from './targets/check.ts';
import type { TargetProfile } from './targets/profiles.ts';

/**
 * The offload path on the whole SAD model: which stage modules make up each pipeline module, exporting them
 * (perception through its handler as one graph; prediction + decoder and planning by probing one real forward),
 * checking them against a target with the activity of a real sample, and running them on an offload back end.
 */

export const OFFLOAD_MODULES = ['perception', 'prediction', 'planning'] as const;
export type OffloadModule = (typeof OFFLOAD_MODULES)[number];

export function parseOffloadModule(raw: string, subject = '--module'): OffloadModule | 'all' {
  if (raw === 'all' || (OFFLOAD_MODULES as readonly string[]).includes(raw))
    return raw as OffloadModule | 'all';
  throw new SpikedriveError(`unknown module "${raw}"`, {
    subject,
    fix: `Use one of ${OFFLOAD_MODULES.join(', ')} or all.`,
  });
}

/** The stage modules of a pipeline module (prediction includes the decoder heads). */
export function stageModules(model: SadModel, module: OffloadModule): SnnModule[] {
  if (module === 'perception') return [model.perception];
  if (module === 'prediction') return [model.prediction, model.decoder];
  if (model.planning === null) {
    throw new SpikedriveError('this model has no planner (PLANNING.ENABLED is false)', {
      subject: 'planning',
      fix: 'Use a config with the planner enabled, or export perception/prediction.',
    });
  }
  return [model.planning];
}

/** One sample as the model reads it: the demo world's first val sample, or a dataset's. */
export async function probeBatch(
  config: SadConfig,
  options: {
    dataroot?: string | null;
    version?: string | null;
    index?: number;
    log?: (line: string) => void;
  } = {},
): Promise<PreparedBatch> {
  let dataroot = options.dataroot ?? null;
  let version = options.version ?? null;
  if (dataroot === null) {
    const demo = await ensureDemoDataset({
      onProgress: (p) => {
        if (p.phase === 'keyframes' && p.done % 40 === 0)
          options.log?.(`demo world: ${p.done}/${p.total} keyframes`);
      },
    });
    dataroot = demo.dataroot;
    version = demo.version;
  }
  if (version === null) {
    throw new SpikedriveError('--version is needed with --dataroot', {
      subject: '--version',
      fix: 'Pass the release folder name, e.g. --version v1.0-mini.',
    });
  }
  const dataset = openSadDataset({
    dataroot,
    version,
    split: 'val',
    options: sadDataOptionsFromConfig(config),
    hdmapFrames: 'present',
  });
  if (dataset.length === 0) {
    throw new SpikedriveError(`${dataroot} (${version}, val) has no complete SAD samples`, {
      subject: dataroot,
      fix: 'Use a dataset with enough consecutive keyframes per scene.',
    });
  }
  const sample = await dataset.getSample(options.index ?? 0);
  return prepareBatch([sample], config);
}

/** Runs the model (and its planner) once on a batch, freeing the outputs. */
export function runModelOnce(model: SadModel, batch: PreparedBatch, seed: number): void {
  const output = model.forward(batch.input);
  try {
    if (model.planning) {
      const plan = model.plan(output, {
        commands: batch.commands,
        samplerInputs: batch.samplerInputs,
        rng: createRng(`${seed}/offload`),
        targetPoints: batch.targetPoints,
      });
      tf.dispose([plan.trajectory, plan.selected]);
    }
  } finally {
    for (const v of Object.values(output)) if (v instanceof tf.Tensor) v.dispose();
  }
}

export interface ModuleExport extends NirExport {
  module: OffloadModule;
  /** Input node → the tensor the real forward fed it ([T, B, …]); for activity runs. The caller disposes. */
  inputs: Map<string, tf.Tensor>;
  /** Probed modules: input node → how often its block ran per forward (costs count one run). */
  calls?: Map<string, number>;
}

/**
 * Exports one pipeline module. Perception goes through the encoder handler (one connected graph; its input is
 * each camera image repeated over T); prediction (with the decoder) and planning are probed on `batch`.
 */
export async function exportModule(
  model: SadModel,
  config: SadConfig,
  module: OffloadModule,
  batch: PreparedBatch,
  options: { dt?: number } = {},
): Promise<ModuleExport> {
  const dt = options.dt ?? 1e-4;
  const [h, w] = config.IMAGE.FINAL_DIM;
  if (module === 'perception') {
    const ex = exportToNir(model.perception, {
      dt,
      inputShapes: [[3, h, w]],
      metadata: { config: config.TAG },
    });
    const images = batch.input.images;
    const t = config.MODEL.ENCODER.TIME_STEPS;
    const [b, s, n] = images.shape as number[];
    const input = tf.tidy(() => {
      const flat = tf.reshape(images, [b * s * n, h, w, 3]);
      return tf.stack(new Array(t).fill(flat), 0);
    });
    return { ...ex, module, inputs: new Map([['input', input]]) };
  }
  const ex = await exportByProbe(stageModules(model, module), () => runModelOnce(model, batch, config.SEED), {
    dt,
    module,
    keepInputs: true,
    metadata: { config: config.TAG },
  });
  return { ...ex, module };
}

/** Splits a graph into its connected islands (undirected), each with its Input nodes. */
export function islands(graph: NirGraph): NirGraph[] {
  const adj = new Map<string, string[]>();
  for (const n of graph.nodes.keys()) adj.set(n, []);
  for (const [a, b] of graph.edges) {
    adj.get(a)?.push(b);
    adj.get(b)?.push(a);
  }
  const seen = new Set<string>();
  const out: NirGraph[] = [];
  for (const start of graph.nodes.keys()) {
    if (seen.has(start)) continue;
    const members = new Set<string>([start]);
    const stack = [start];
    seen.add(start);
    while (stack.length > 0) {
      const n = stack.pop() as string;
      for (const m of adj.get(n) ?? []) {
        if (!seen.has(m)) {
          seen.add(m);
          members.add(m);
          stack.push(m);
        }
      }
    }
    out.push({
      type: 'NIRGraph',
      nodes: new Map([...graph.nodes].filter(([k]) => members.has(k))),
      edges: graph.edges.filter(([a]) => members.has(a)),
      metadata: graph.metadata,
    });
  }
  return out;
}

/**
 * Runs every island of an exported module in nir-sim on the inputs the real forward gave it, counting activity.
 * Returns the flat graph, node shapes and per-node activity that `checkTarget` reads.
 */
export function moduleActivity(ex: ModuleExport): {
  graph: NirGraph;
  shapes: Map<string, { input: number[] | null; output: number[] | null }>;
  activity: Map<string, NodeActivity>;
  steps: number;
} {
  const nodes = new Map<string, NirGraph['nodes'] extends Map<string, infer N> ? N : never>();
  const edges: [string, string][] = [];
  const shapes = new Map<string, { input: number[] | null; output: number[] | null }>();
  const activity = new Map<string, NodeActivity>();
  let steps = 1;
  for (const island of islands(ex.graph)) {
    const inputNames = [...island.nodes].filter(([, n]) => n.type === 'Input').map(([k]) => k);
    if (inputNames.length === 0) continue;
    const sim = new NirSimulator(island, { countActivity: true });
    try {
      const feeds = new Map<string, tf.Tensor>();
      for (const name of inputNames) {
        const t = ex.inputs.get(name);
        if (t !== undefined) feeds.set(name, t);
      }
      // Inputs that came back from the host inside the module (e.g. a broadcast) have no recorded tensor: zeros.
      const missing = inputNames.filter((n) => !feeds.has(n));
      const ref = [...feeds.values()][0];
      const zeros: tf.Tensor[] = [];
      if (ref !== undefined) {
        for (const name of missing) {
          const port = sim.inputs.find((i) => i.name === name);
          const shape = port
            ? [
                ref.shape[0],
                ref.shape[1],
                ...(port.shape.length >= 2 ? [...port.shape.slice(1), port.shape[0]] : port.shape),
              ]
            : [];
          const z = tf.zeros(shape as number[]);
          zeros.push(z);
          feeds.set(name, z);
        }
        steps = Math.max(steps, ref.shape[0] as number);
        const result = sim.run(feeds);
        tf.dispose([...result.outputs.values()]);
      }
      tf.dispose(zeros);
      for (const [k, v] of sim.flatGraph().nodes) nodes.set(k, v);
      edges.push(...sim.flatGraph().edges);
      for (const [k, v] of sim.nodeShapes()) shapes.set(k, v);
      for (const [k, v] of sim.nodeActivity()) activity.set(k, v);
    } finally {
      sim.dispose();
    }
  }
  return { graph: { type: 'NIRGraph', nodes, edges, metadata: ex.graph.metadata }, shapes, activity, steps };
}

/** Checks one exported module against a target, with activity from the real sample. */
export function checkModule(ex: ModuleExport, target: TargetProfile): TargetCheckReport {
  const a = moduleActivity(ex);
  return checkTarget(a.graph, target, {
    steps: a.steps,
    shapes: a.shapes,
    activity: a.activity,
    activitySource: `nir-sim on one ${ex.module} sample (the demo world's first val sample unless --dataroot)`,
  });
}

/** Merges module exports into one NIR graph (disjoint islands; node names are the reference checkpoint names). */
export function mergeExports(exports: ModuleExport[]): NirExport {
  const graph: NirGraph = {
    type: 'NIRGraph',
    nodes: new Map(),
    edges: [],
    metadata: { ...exports[0]?.graph.metadata, module: 'all' },
  };
  const entries: PartitionReport['entries'] = [];
  const boundaries: PartitionReport['boundaries'] = [];
  for (const ex of exports) {
    for (const [k, v] of ex.graph.nodes) {
      const name = graph.nodes.has(k) ? `${ex.module}.${k}` : k;
      if (name !== k)
        throw new SpikedriveError(`node ${k} appears in two modules`, {
          subject: k,
          fix: 'Report this exporter bug.',
        });
      graph.nodes.set(name, v);
    }
    graph.edges.push(...ex.graph.edges);
    entries.push(...ex.partition.entries);
    boundaries.push(...ex.partition.boundaries);
  }
  return {
    graph,
    partition: {
      module: 'all',
      dt: exports[0]?.partition.dt ?? 1e-4,
      entries,
      boundaries,
      summary: summarisePartition(entries, boundaries, graph),
    },
  };
}

export interface ModelOffload {
  stats: Map<string, OffloadStats>;
  uninstall(): void;
}

/** Runs pipeline modules on offload back ends: `specs` maps module → `nir-sim` or `ws://HOST:PORT`. */
export async function installModelOffload(
  model: SadModel,
  specs: Map<string, string>,
  options: Omit<OffloadOptions, 'backend'> = {},
): Promise<ModelOffload> {
  const handles: [string, OffloadHandle][] = [];
  try {
    for (const [module, backend] of specs) {
      const stages = stageModules(model, parseOffloadModule(module, '--offload') as OffloadModule);
      for (const stage of stages)
        handles.push([module, await installOffload(stage, { ...options, backend })]);
    }
  } catch (error) {
    for (const [, h] of handles) h.uninstall();
    throw error;
  }
  return {
    stats: new Map(
      handles.map(([m, h]) => [
        `${m}:${h.stats.blocks.length ? h.stats.blocks[0].split('.')[0] : m}`,
        h.stats,
      ]),
    ),
    uninstall: () => {
      for (const [, h] of handles) h.uninstall();
    },
  };
}
