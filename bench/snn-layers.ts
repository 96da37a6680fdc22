// `npm run bench -- snn-layers [--backend wasm|cpu] [--runs N] [--only lif|stack]`: the spiking core's own costs.
// Prints one JSON object per line:
//   snn-layers-lif-fused / -composed        multi-step LIF forward over [4, 2, 56, 120, 48] (2.58 M neurons·steps)
//   snn-layers-lif-train-fused / -composed  the same, forward + backward (BPTT through the membrane), smaller
//   snn-layers-stack-plain / -instrumented  a small SAD-encoder-like stack, forward with counting off / on
//   snn-layers-stack-unfolded               the same stack with BN folding switched off (eval)
// Times are medians over --runs (default 7) after two warm-ups, runs interleaved where two cases are compared.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  ConvBn,
  type ForwardContext,
  Instrument,
  LifNode,
  MsConvBlock,
  MsDownSampling,
  meanOverTime,
  type NeuronImpl,
  SAD_NEURONS,
  SnnModule,
  SpikingDeepLabHead,
} from '../src/snn/index.ts';
import { createRng } from '../src/util/rng.ts';
import { benchOption, median } from './_util.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => benchOption(name, fallback, args);
const runs = Number(option('runs', '7'));
/** `--only lif` or `--only stack` runs one group. */
const only = option('only', 'all');
const wanted = option('backend', 'wasm');
try {
  if (!(await tf.setBackend(wanted))) throw new Error(`backend ${wanted} unavailable`);
} catch {
  await tf.setBackend('cpu');
}
await tf.ready();
const backend = tf.getBackend();

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify({ backend, ...record }));
}

/**
 * Times each named case `runs` times (after two warm-ups), interleaving the cases run by run. Returns medians of
 * wall time and of this process's CPU time (user + system), which is steadier when other jobs share the cores,
 * and the minimum CPU time (the least disturbed run).
 */
function timeCases(
  cases: Record<string, () => void>,
): Record<string, { wall: number; cpu: number; minCpu: number }> {
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (const name of Object.keys(cases)) {
    wall[name] = [];
    cpu[name] = [];
  }
  for (let r = -2; r < runs; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fn();
      const dt = performance.now() - t0;
      const dc = process.cpuUsage(c0);
      if (r >= 0) {
        wall[name].push(dt);
        cpu[name].push((dc.user + dc.system) / 1000);
      }
    }
  }
  return Object.fromEntries(
    Object.keys(cases).map((k) => [
      k,
      { wall: median(wall[k]), cpu: median(cpu[k]), minCpu: Math.min(...cpu[k]) },
    ]),
  );
}

const ms = (v: number) => Math.round(v * 10) / 10;

// ------------------------------------------------------------------------------------------ LIF kernels
if (only === 'all' || only === 'lif') {
  const x = tf.randomNormal([4, 2, 56, 120, 48], 0.5, 1, 'float32', 1);
  const nodes: Record<string, LifNode> = {};
  for (const impl of ['fused', 'composed'] as NeuronImpl[])
    nodes[impl] = new LifNode({ ...SAD_NEURONS.encoder, impl });
  const t = timeCases(
    Object.fromEntries(
      Object.entries(nodes).map(([impl, node]) => [
        impl,
        () => {
          const s = node.forward(x);
          s.dataSync();
          s.dispose();
          node.reset();
        },
      ]),
    ),
  );
  for (const impl of Object.keys(nodes)) {
    emit({
      bench: `snn-layers-lif-${impl}`,
      fwd_ms: ms(t[impl].wall),
      fwd_cpu_ms: ms(t[impl].cpu),
      neuron_steps: x.size,
      cpu_ns_per_update: ms((t[impl].cpu * 1e6) / x.size),
    });
  }
  x.dispose();

  const small = tf.randomNormal([4, 2, 28, 60, 48], 0.5, 1, 'float32', 2);
  const tt = timeCases(
    Object.fromEntries(
      Object.entries(nodes).map(([impl, node]) => [
        impl,
        () => {
          const g = tf.grad((v: tf.Tensor) => tf.sum(node.forward(v)))(small);
          g.dataSync();
          g.dispose();
          node.reset();
        },
      ]),
    ),
  );
  for (const impl of Object.keys(nodes)) {
    emit({
      bench: `snn-layers-lif-train-${impl}`,
      fwd_bwd_ms: ms(tt[impl].wall),
      fwd_bwd_cpu_ms: ms(tt[impl].cpu),
      neuron_steps: small.size,
    });
  }
  small.dispose();
}

// ---------------------------------------------------------------------------- instrumented small stack
class EncoderLike extends SnnModule {
  readonly kind = 'encoder_like';
  readonly stem: MsDownSampling;
  readonly blocks: [MsConvBlock, MsDownSampling, MsConvBlock, MsDownSampling, MsConvBlock];
  readonly headLif: LifNode;
  readonly head: SpikingDeepLabHead;

  constructor() {
    super();
    const rng = createRng('bench');
    this.stem = this.register(
      'stem',
      new MsDownSampling({ inChannels: 3, embedDims: 12, kernelSize: 7, padding: 3, rng }),
    );
    this.blocks = [
      this.register('block1', new MsConvBlock({ dim: 12, rng })),
      this.register('down2', new MsDownSampling({ inChannels: 12, embedDims: 24, firstLayer: false, rng })),
      this.register('block2', new MsConvBlock({ dim: 24, rng })),
      this.register('down3', new MsDownSampling({ inChannels: 24, embedDims: 48, firstLayer: false, rng })),
      this.register('block3', new MsConvBlock({ dim: 48, rng })),
    ];
    this.headLif = this.register('head_lif', new LifNode(SAD_NEURONS.encoder));
    this.head = this.register(
      'head',
      new SpikingDeepLabHead({ inChannels: 48, numClasses: 48, hiddenChannels: 16, rng }),
    );
    this.setPipelineModule('perception');
    // Bias the BN outputs upwards so the LIFs fire at realistic rates (random weights alone rarely reach θ).
    for (const m of this.modules()) {
      if (m.kind === 'batchnorm')
        (m as unknown as { bias: tf.Variable }).bias.assign(
          tf.fill([(m as unknown as { numFeatures: number }).numFeatures], 0.6),
        );
    }
  }

  forward(image: tf.Tensor, steps: number, ctx: ForwardContext = {}): tf.Tensor {
    let x = this.stem.forwardRepeated(image, steps, ctx);
    for (const block of this.blocks) {
      const next = block.forward(x, ctx);
      x.dispose();
      x = next;
    }
    const s = this.headLif.forward(x, ctx);
    const h = this.head.forward(s, ctx);
    const out = meanOverTime(h);
    tf.dispose([x, s, h]);
    this.reset();
    return out;
  }
}

if (only === 'all' || only === 'stack') {
  const model = new EncoderLike();
  const image = tf.randomNormal([2, 56, 120, 3], 0, 1, 'float32', 3);
  let record: ReturnType<Instrument['finishSync']> | null = null;
  // Time spent inside the instrument per instrumented forward (self-timed, so less exposed to other jobs).
  const inside: number[] = [];
  const t = timeCases({
    plain: () => {
      const y = model.forward(image, 4);
      y.dataSync();
      y.dispose();
    },
    instrumented: () => {
      const instrument = new Instrument();
      const y = model.forward(image, 4, { instrument });
      y.dataSync();
      y.dispose();
      record = instrument.finishSync();
      inside.push(instrument.elapsedMs);
    },
  });
  const layers = (record as ReturnType<Instrument['finishSync']> | null)?.layers ?? [];
  const spikes = layers.reduce((a, l) => a + l.outputSpikes, 0);
  const slots = layers.filter((l) => l.kind === 'lif').reduce((a, l) => a + l.outputElements, 0);
  emit({
    bench: 'snn-layers-stack-plain',
    fwd_ms: ms(t.plain.wall),
    fwd_cpu_ms: ms(t.plain.cpu),
    input: '[2,56,120,3] T=4',
  });
  emit({
    bench: 'snn-layers-stack-instrumented',
    fwd_ms: ms(t.instrumented.wall),
    fwd_cpu_ms: ms(t.instrumented.cpu),
    overhead_cpu_pct: ms((t.instrumented.cpu / t.plain.cpu - 1) * 100),
    overhead_wall_pct: ms((t.instrumented.wall / t.plain.wall - 1) * 100),
    // Minimum CPU time over the runs: the least disturbed by other jobs on the shared cores.
    overhead_min_cpu_pct: ms((t.instrumented.minCpu / t.plain.minCpu - 1) * 100),
    instrument_ms: ms(median(inside.slice(2))),
    instrument_share_pct: ms((median(inside.slice(2)) / t.plain.wall) * 100),
    layers_recorded: layers.length,
    mean_firing_rate: slots === 0 ? 0 : spikes / slots,
  });

  // BN folding off, for comparison.
  const pairs: ConvBn[] = [];
  for (const m of model.modules()) {
    for (const value of Object.values(m)) {
      if (value instanceof ConvBn) pairs.push(value);
      if (Array.isArray(value)) for (const v of value) if (v instanceof ConvBn) pairs.push(v);
    }
  }
  const tf2 = timeCases({
    folded: () => {
      for (const p of pairs) p.fold = true;
      const y = model.forward(image, 4);
      y.dataSync();
      y.dispose();
    },
    unfolded: () => {
      for (const p of pairs) p.fold = false;
      const y = model.forward(image, 4);
      y.dataSync();
      y.dispose();
    },
  });
  emit({
    bench: 'snn-layers-stack-unfolded',
    fwd_ms: ms(tf2.unfolded.wall),
    fwd_cpu_ms: ms(tf2.unfolded.cpu),
    folded_fwd_ms: ms(tf2.folded.wall),
    folded_fwd_cpu_ms: ms(tf2.folded.cpu),
    conv_bn_pairs: pairs.length,
  });
  image.dispose();
  model.dispose();
}
