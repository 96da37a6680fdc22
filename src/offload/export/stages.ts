import * as tf from '@tensorflow/tfjs';
import type { ForwardContext, SnnModule } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import { offloadableBlocks } from '../runtime.ts';
import { nirShapeOf } from '../sim/layout.ts';
import { type NirExport, type NirExportOptions, summarisePartition } from './export.ts';
import { child, registerNirHandler, trace } from './layers.ts';
import { NirTracer, type PartitionEntry, type Sym } from './tracer.ts';

/**
 * The SAD stages. The spiking image encoder has a handler that follows `SadEncoder.forwardImages`, so the
 * perception export is one connected NIR graph (the first conv sees the image at every step, the stride-8 branch
 * feeds both ConvBlock2_2 and downsample3, the two spiking heads hang off head_lif_2); everything after the mean
 * over T, and lift-splat, stays on the host.
 *
 * The other stages (prediction, decoder, planning) have data-dependent control flow (sampling, gating, per-frame
 * loops), so they are exported by probing: one forward runs with every NIR-expressible block recording the input
 * shape it sees, each such block becomes an island of the graph (its own Input and Output), and every other layer
 * is listed as host-only with the reason for its kind.
 */

function meanOverT(tr: NirTracer, layer: string, x: Sym): Sym {
  return tr.host(
    layer,
    'mean_over_t',
    'rate decoding (mean of the spikes over the T steps) runs once per frame, outside the SNN time loop',
    [x],
    x.shape,
    false,
  );
}

registerNirHandler('sad_encoder', (tr, m, [images]) => {
  const block = (key: string) => child(m, `patch_embed.${key}`);
  let x = trace(tr, block('downsample1_1'), [images]);
  x = trace(tr, block('ConvBlock1_1.0'), [x]);
  x = trace(tr, block('downsample1_2'), [x]);
  x = trace(tr, block('ConvBlock1_2.0'), [x]);
  x = trace(tr, block('downsample2'), [x]);
  const block21 = trace(tr, block('ConvBlock2_1.0'), [x]);
  const out1 = trace(tr, block('ConvBlock2_2.0'), [block21]);
  const out2 = trace(tr, block('downsample3'), [block21]);
  const rate1 = meanOverT(tr, `${m.name}.head_lif.mean_over_t`, trace(tr, child(m, 'head_lif'), [out1]));
  const spikes2 = trace(tr, child(m, 'head_lif_2'), [out2]);
  const branch = (layer1: string, layer2: string) => {
    const coarse = meanOverT(tr, `${m.name}.${layer1}.mean_over_t`, trace(tr, child(m, layer1), [spikes2]));
    return trace(tr, child(m, layer2), [coarse, rate1]);
  };
  const feature = branch('feature_layer_1', 'feature_layer_2');
  const depth = branch('depth_layer_1', 'depth_layer_2');
  // Both heads leave on the host; the encoder's "output" is the pair, represented by the feature.
  tr.host(
    `${m.name}.outputs`,
    'outputs',
    'image features and depth logits go to lift-splat on the host',
    [feature, depth],
    feature.shape,
    false,
  );
  return feature;
});

registerNirHandler('sad_perception', (tr, m, [images]) => {
  const feature = trace(tr, child(m, 'encoder'), [images]);
  return tr.host(
    `${m.name || 'perception'}.lift_splat`,
    'lift_splat',
    'lift-splat (depth softmax ⊗ features, scatter-add into BEV voxels by camera geometry, ego-motion warp, discounted sum over frames) is data-dependent gather/scatter with no NIR primitive',
    [feature],
    feature.shape,
    false,
  );
});

/** Why a layer that is not inside an exportable block stays on the host, by kind. */
export const HOST_REASONS: Record<string, string> = {
  upsample: 'bilinear upsampling has no NIR primitive',
  pool: 'max pooling has no NIR primitive (average pooling inside a block is exported)',
  activation: 'ReLU/sigmoid/tanh have no NIR primitive',
  spiking_gru_cell:
    'GRU gating multiplies r ⊙ (W_hh h) and mixes (1 − z)·n + z·h; NIR has no element-wise product',
  merge_upsampling_concat: 'ANN head on spike rates averaged over T: runs once per frame, not per SNN step',
  spiking_upsampling_add: 'bilinear upsampling in front of its LIF has no NIR primitive',
  spiking_upsampling_concat: 'bilinear upsampling and a concatenation feeding a neuron have no NIR form',
  spiking_deeplab_head: 'the ASPP pooling branch broadcasts a 1×1 map back to H×W (no NIR primitive)',
  spiking_aspp: 'contains the pooling branch’s broadcast',
  spiking_aspp_pooling: 'broadcasting the pooled 1×1 spikes back to H×W has no NIR primitive',
  lif: 'single-step neuron driven step by step by a host loop (e.g. the dual pathway, whose membrane the host initialises from a softmax)',
  if: 'single-step neuron driven step by step by a host loop',
  conv2d: 'a convolution outside any spiking block (an ANN head on real values)',
  batchnorm: 'batch norm outside any spiking block (an ANN head on real values)',
  linear: 'a linear layer outside any spiking block (an ANN head on real values)',
  dropout: 'identity in eval mode',
  sew_basic_block: 'SEW AND/IAND multiplies spike maps; NIR has no element-wise product',
  spiking_bottleneck: 'its shortcut max-pools (pad to even, max pool 2×2), which NIR cannot express',
  cost_term:
    'a planning cost term (grid buffers of the reference BaseCost): the cost volume is indexed along sampled trajectories on the host, data-dependent gathers with no NIR primitive',
};

interface ProbeCall {
  block: SnnModule;
  /** Per-step input shape as NIR sees it ([C, H, W]). */
  shape: number[];
  spiking: boolean;
  /** The first input seen, [T, B, …] (kept only with `keepInputs`). */
  input: tf.Tensor | null;
}

export interface ProbeExport extends NirExport {
  /** Input node name → the input the block saw in the probed forward ([T, B, …]); the caller disposes them. */
  inputs: Map<string, tf.Tensor>;
  /** Input node name → how often its block ran at that shape in the probed forward (the island stands for one). */
  calls: Map<string, number>;
}

/**
 * Runs `run` (one forward of the module) with every NIR-expressible block recording its input shape, then
 * exports one island per (block, shape) and lists every other layer as host-only.
 */
export async function exportByProbe(
  root: SnnModule | SnnModule[],
  run: () => void | Promise<void>,
  options: Omit<NirExportOptions, 'inputShapes'> & { module?: string; keepInputs?: boolean },
): Promise<ProbeExport> {
  const roots = Array.isArray(root) ? root : [root];
  const blocks = roots.flatMap((r) => offloadableBlocks(r));
  const calls: ProbeCall[] = [];
  const seen = new Set<string>();
  const callCount = new Map<string, number>();
  const restore: (() => void)[] = [];
  const record = (block: SnnModule, x: tf.Tensor) => {
    const perStep = (
      x.rank === 4 && block.kind !== 'lif' && block.kind !== 'if' ? x.shape.slice(1) : x.shape.slice(2)
    ) as number[];
    const shape = nirShapeOf(perStep);
    const key = `${block.name}@${shape.join('x')}`;
    callCount.set(key, (callCount.get(key) ?? 0) + 1);
    if (seen.has(key)) return;
    seen.add(key);
    const data = x.dataSync();
    let spiking = true;
    for (let i = 0; i < data.length && spiking; i++) if (data[i] !== 0 && data[i] !== 1) spiking = false;
    let input: tf.Tensor | null = null;
    if (options.keepInputs) {
      input = tf.keep(
        x.rank === 4 && block.kind !== 'lif' && block.kind !== 'if' ? tf.expandDims(x, 0) : x.clone(),
      );
    }
    calls.push({ block, shape, spiking, input });
  };
  for (const block of blocks) {
    const b = block as unknown as Record<string, (...args: unknown[]) => tf.Tensor>;
    const forward = b.forward.bind(block);
    Object.defineProperty(block, 'forward', {
      configurable: true,
      writable: true,
      value: (x: tf.Tensor, ctx?: ForwardContext) => {
        record(block, x);
        return forward(x, ctx);
      },
    });
    const repeated = typeof b.forwardRepeated === 'function' ? b.forwardRepeated.bind(block) : null;
    if (repeated !== null) {
      Object.defineProperty(block, 'forwardRepeated', {
        configurable: true,
        writable: true,
        value: (x: tf.Tensor, steps: number, ctx?: ForwardContext) => {
          record(block, x);
          return repeated(x, steps, ctx);
        },
      });
    }
    restore.push(() => {
      for (const key of ['forward', 'forwardRepeated'])
        if (Object.hasOwn(block, key)) delete (block as unknown as Record<string, unknown>)[key];
    });
  }
  try {
    await run();
  } finally {
    for (const r of restore) r();
  }
  const dt = options.dt ?? 1e-4;
  const label = options.module ?? roots.map((r) => r.name || r.kind).join('+');
  const tr = new NirTracer(
    { dt },
    { source: 'spikedrive', module: label, export: 'probe', ...options.metadata },
  );
  const inputs = new Map<string, tf.Tensor>();
  const callsByInput = new Map<string, number>();
  const inBlock = new Set<SnnModule>();
  for (const b of blocks) for (const m of b.modules()) inBlock.add(m);
  const called = new Set(calls.map((c) => c.block));
  for (const c of calls) {
    const island = c.block.name || c.block.kind;
    const suffix = calls.filter((d) => d.block === c.block).length > 1 ? `@${c.shape.join('x')}` : '';
    const input = tr.external(`${island}${suffix}.input`, c.shape, c.spiking);
    if (c.input !== null) inputs.set(`${island}${suffix}.input`, c.input);
    callsByInput.set(`${island}${suffix}.input`, callCount.get(`${c.block.name}@${c.shape.join('x')}`) ?? 1);
    const out = trace(tr, c.block, [input]);
    if (out.side === 'nir') tr.finish([[`${island}${suffix}.output`, out]]);
  }
  // Every leaf layer outside the exported blocks is host-only (the kind says why); blocks never called are listed too.
  for (const m of roots.flatMap((r) => r.modules())) {
    if (inBlock.has(m) && called.has(blocks.find((b) => b.modules().includes(m)) as SnnModule)) continue;
    const isLeaf = m.children().length === 0;
    const reason = HOST_REASONS[m.kind];
    if (!isLeaf && reason === undefined) continue;
    if (inBlock.has(m) && !isLeaf) continue;
    const entry: PartitionEntry = {
      layer: m.name || `${label} (${m.kind})`,
      kind: m.kind,
      placement: 'host',
      reason: inBlock.has(m)
        ? 'its block did not run in the probed forward'
        : (reason ?? `no NIR mapping for layer kind "${m.kind}"`),
      nirNodes: [],
      params: isLeaf ? m.parameterCount() : 0,
    };
    if (!tr.entries.some((e) => e.layer === entry.layer)) tr.entries.push(entry);
  }
  if (calls.length === 0) {
    throw new SpikedriveError(`No NIR-expressible block of ${label} ran in the probed forward`, {
      subject: label,
      fix: 'Check that the forward passed to the probe runs this module (in eval mode).',
    });
  }
  return {
    inputs,
    calls: callsByInput,
    graph: tr.graph,
    partition: {
      module: label,
      dt,
      entries: tr.entries,
      boundaries: tr.boundaries,
      summary: summarisePartition(tr.entries, tr.boundaries, tr.graph),
    },
  };
}
