import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportToNir, formatPartitionReport } from '../../../src/offload/export/export.ts';
import { exportByProbe } from '../../../src/offload/export/stages.ts';
import { validateNirGraph } from '../../../src/offload/nir/io.ts';
import { NirSimulator } from '../../../src/offload/sim/simulator.ts';
import {
  applyQuantConfig,
  LifNode,
  MsConvBlock,
  MsDownSampling,
  MsResNetBlock,
  repeatOverTime,
  Sequential,
  SewBasicBlock,
  type SnnModule,
  SpikingAsppConv,
  SpikingBottleneck,
  SpikingDeepLabHead,
  SpikingUpsamplingAddMs,
} from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { compareArrays, expectSpikedriveError, randomiseBatchNorms, useCpu } from './_helpers.ts';

let baseline = 0;
beforeAll(async () => {
  await useCpu();
  // Warm-up: the first spiking forward allocates a couple of tensors the back end keeps for good.
  const lif = new LifNode({});
  const x = tf.ones([1, 1, 2]);
  tf.dispose([lif.forward(x), x]);
  lif.reset();
  baseline = tf.memory().numTensors;
});
afterAll(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

interface Parity {
  unequal: number;
  maxDiff: number;
  size: number;
  spikes: number;
}

/** tfjs forward vs nir-sim on the exported graph, same input; `x` is [T, B, H, W, C]. */
function parity(
  module: SnnModule & { forward(x: tf.Tensor): tf.Tensor },
  x: tf.Tensor,
  options: { honourMetadata?: boolean } = {},
): Parity {
  const [, , h, w, c] = x.shape;
  const expected = module.forward(x);
  module.reset();
  const { graph } = exportToNir(module, { inputShapes: [[c, h, w]] });
  expect(validateNirGraph(graph).issues).toEqual([]);
  const sim = new NirSimulator(graph, options);
  const out = sim.run(x).outputs.get('output') as tf.Tensor;
  const a = expected.dataSync();
  const r = compareArrays(a, out.dataSync());
  let spikes = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === 1) spikes++;
  tf.dispose([expected, out]);
  sim.dispose();
  return { ...r, size: a.length, spikes };
}

function input(shape: number[], seed: number, scale = 1.5): tf.Tensor {
  return tf.randomNormal(shape, 0.2, scale, 'float32', seed);
}

describe('nir-sim against the tfjs path: bit for bit in float', () => {
  it('MS down-sampling (first layer on a repeated image, and with its LIF)', () => {
    const rng = createRng(11);
    const first = new MsDownSampling({ inChannels: 3, embedDims: 6, kernelSize: 7, padding: 3, rng });
    const later = new MsDownSampling({ inChannels: 6, embedDims: 8, firstLayer: false, rng });
    first.setPath('enc.downsample1_1');
    later.setPath('enc.downsample1_2');
    randomiseBatchNorms(first, 1);
    randomiseBatchNorms(later, 2);
    const image = input([2, 16, 16, 3], 1);
    // (tidy: repeatOverTime leaves its expandDims behind, a src/snn bug reported separately.)
    const repeated = tf.tidy(() => repeatOverTime(image, 4));
    // forwardRepeated computes the conv once: the same numbers as T convs of the same image.
    const once = tf.tidy(() => first.forwardRepeated(image, 4));
    const p1 = parity(first, repeated);
    const direct = first.forward(repeated);
    expect(compareArrays(once.dataSync(), direct.dataSync()).unequal).toBe(0);
    expect(p1).toMatchObject({ unequal: 0, maxDiff: 0 });
    const p2 = parity(later, direct);
    expect(p2).toMatchObject({ unequal: 0 });
    tf.dispose([image, repeated, once, direct]);
    first.dispose();
    later.dispose();
  });

  it('two MS conv blocks in sequence (membrane shortcuts as NIR edge sums)', () => {
    const rng = createRng(12);
    const seq = new Sequential([
      new MsConvBlock({ dim: 8, mlpRatio: 2, rng: rng.fork('a') }),
      new MsConvBlock({ dim: 8, mlpRatio: 2, rng: rng.fork('b') }),
    ]);
    seq.setPath('enc.blocks');
    randomiseBatchNorms(seq, 3);
    const x = input([4, 2, 8, 8, 8], 2);
    const p = parity(seq, x);
    expect(p).toMatchObject({ unequal: 0, maxDiff: 0 });
    tf.dispose(x);
    seq.dispose();
  });

  it('MS-ResNet block with a strided down-sampling shortcut; SEW ADD block', () => {
    const rng = createRng(13);
    const res = new MsResNetBlock({ inChannels: 6, outChannels: 8, stride: 2, rng });
    res.setPath('decoder.layer1.0');
    randomiseBatchNorms(res, 4);
    const x = input([3, 2, 8, 8, 6], 3);
    expect(parity(res, x)).toMatchObject({ unequal: 0 });
    const sew = new SewBasicBlock({ inChannels: 6, midChannels: 10, outChannels: 8, rng });
    sew.setPath('future_prediction.res.0');
    randomiseBatchNorms(sew, 5);
    const ps = parity(sew, x);
    expect(ps).toMatchObject({ unequal: 0 });
    expect(ps.spikes).toBeGreaterThan(0);
    tf.dispose(x);
    res.dispose();
    sew.dispose();
  });

  it('spiking bottleneck (stateless Heaviside as NIR Threshold) on one step', () => {
    const b = new SpikingBottleneck({ inChannels: 8, outChannels: 6, rng: createRng(14) });
    b.setPath('present_distribution.encoder.0');
    randomiseBatchNorms(b, 6);
    const x4 = input([2, 8, 8, 8], 4);
    const expected = b.forward(x4);
    const { graph } = exportToNir(b, { inputShapes: [[8, 8, 8]] });
    const sim = new NirSimulator(graph);
    const x = tf.expandDims(x4, 0);
    const out = sim.run(x).outputs.get('output') as tf.Tensor;
    expect(compareArrays(expected.dataSync(), out.dataSync()).unequal).toBe(0);
    tf.dispose([x4, x, expected, out]);
    sim.dispose();
    b.dispose();
  });

  it('dilated ASPP branch (conv 3×3, dilation 2) → LIF', () => {
    const a = new SpikingAsppConv({ inChannels: 6, outChannels: 5, rate: 2, rng: createRng(15) });
    a.setPath('enc.head.0.convs.1');
    randomiseBatchNorms(a, 7);
    const x = input([3, 1, 9, 9, 6], 5);
    const p = parity(a, x);
    expect(p).toMatchObject({ unequal: 0 });
    expect(p.spikes).toBeGreaterThan(0);
    tf.dispose(x);
    a.dispose();
  });

  it('soft reset and SQUAT membranes: exact through the recorded SpikingJelly update, not through plain NIR', () => {
    const soft = new LifNode({ vReset: null, tau: 3, detachReset: true });
    soft.setPath('test.soft');
    const x = input([6, 2, 4, 4, 3], 6, 4);
    const pm = parity(soft, x);
    expect(pm).toMatchObject({ unequal: 0 });
    // NIR cannot subtract on reset: a plain NIR reader resets to 0 and drifts from SpikingJelly.
    const plain = parity(soft, x, { honourMetadata: false });
    expect(plain.unequal).toBeGreaterThan(0);
    const squat = new LifNode({ stateQuant: { bits: 3, uniform: false } });
    squat.setPath('test.squat');
    expect(parity(squat, x)).toMatchObject({ unequal: 0 });
    tf.dispose(x);
  });

  it('the same spikes through plain NIR semantics (τ = 2·dt, threshold just below 1, strict >)', () => {
    const rng = createRng(16);
    const block = new MsConvBlock({ dim: 6, mlpRatio: 2, rng });
    block.setPath('enc.block');
    randomiseBatchNorms(block, 8);
    const x = input([4, 2, 8, 8, 6], 7);
    expect(parity(block, x, { honourMetadata: false })).toMatchObject({ unequal: 0 });
    // Inputs that land exactly on the threshold: H = 1 fires in SAD (≥) and in NIR through θ = 1⁻.
    const lif = new LifNode({});
    lif.setPath('test.tie');
    const ties = tf.fill([1, 1, 1, 1, 4], 2); // H = 0 + (2 − 0)/2 = 1 exactly
    expect(parity(lif, ties, { honourMetadata: false })).toMatchObject({ unequal: 0, spikes: 4 });
    tf.dispose([x, ties]);
    block.dispose();
  });
});

describe('quantised weights', () => {
  it('int8 per-channel: nir-sim within the stated tolerance of the fake-quantised tfjs path', () => {
    const rng = createRng(17);
    const block = new MsConvBlock({ dim: 8, mlpRatio: 2, rng });
    const seq = new Sequential([block, new LifNode({})]);
    seq.setPath('enc.block');
    randomiseBatchNorms(block, 9);
    applyQuantConfig(seq, { 'enc.*': { weights: 'int8' } });
    const x = input([4, 2, 8, 8, 8], 8);
    try {
      const p = parity(seq, x);
      // tfjs runs conv(W_q) → BN, the export folds BN into W_q: float32 rounding differs in the last bits, and a
      // spike flips only where a membrane sits within that rounding of the threshold (docs/offload.md: ≤ 0.1%).
      expect(p.spikes).toBeGreaterThan(100);
      expect(p.unequal / p.size).toBeLessThanOrEqual(0.001);
    } finally {
      tf.dispose(x);
      seq.dispose();
    }
  });
});

describe('partition report', () => {
  it('puts upsampling, the ASPP pooling broadcast and max pooling on the host, with reasons', () => {
    const rng = createRng(18);
    const head = new SpikingDeepLabHead({ inChannels: 8, numClasses: 4, hiddenChannels: 6, rng });
    head.setPath('encoder.depth_layer_1');
    const ex = exportToNir(head, { inputShapes: [[8, 8, 8]], inputSpiking: [true] });
    const host = ex.partition.entries.filter((e) => e.placement === 'host');
    expect(host.map((e) => e.kind)).toEqual(['broadcast']);
    expect(host[0].reason).toMatch(/no NIR primitive/);
    const project = ex.partition.entries.find((e) => e.layer === 'encoder.depth_layer_1.0.project.0.0');
    expect(project?.nirNodes).toHaveLength(5);
    expect(project?.reason).toMatch(/concatenation/);
    // The broadcast branch leaves NIR as spikes and comes back as spikes.
    const crossings = ex.partition.boundaries.filter(
      (b) => b.layer.includes('broadcast') || b.node.startsWith('from_host'),
    );
    expect(crossings.map((b) => b.spiking)).toEqual([true, true]);
    expect(validateNirGraph(ex.graph).loads).toBe(true);
    expect(formatPartitionReport(ex.partition)).toMatch(
      /\| `encoder\.depth_layer_1\.0\.convs\.4\.broadcast` \| broadcast \| \*\*host\*\* \|/,
    );
    head.dispose();

    const up = new SpikingUpsamplingAddMs({ inChannels: 6, outChannels: 4, rng });
    up.setPath('decoder.up3_skip');
    const ex2 = exportToNir(up, {
      inputShapes: [
        [6, 4, 4],
        [4, 8, 8],
      ],
    });
    expect(ex2.partition.entries.find((e) => e.kind === 'upsample')?.reason).toMatch(/bilinear/);
    up.dispose();

    const down = new SpikingBottleneck({ inChannels: 8, outChannels: 8, downsample: true, rng });
    down.setPath('planning.reduce.0');
    const ex3 = exportToNir(down, { inputShapes: [[8, 7, 7]] });
    expect(ex3.partition.entries.filter((e) => e.placement === 'host').map((e) => e.kind)).toEqual([
      'pad',
      'maxpool',
    ]);
    down.dispose();

    const and = new SewBasicBlock({ inChannels: 4, outChannels: 4, connect: 'AND', rng });
    and.setPath('future_prediction.and');
    expect(exportToNir(and, { inputShapes: [[4, 4, 4]] }).partition.entries.at(-1)?.reason).toMatch(
      /element-wise product/,
    );
    and.dispose();
  });

  it('counts boundary bits: spikes at 1 bit, real values at 32', () => {
    const lif = new LifNode({});
    lif.setPath('x.lif');
    const ex = exportToNir(lif, { inputShapes: [[2, 3, 4]] });
    expect(ex.partition.summary.boundaryBitsPerStep).toBe(24 * 32);
    expect(ex.partition.summary).toMatchObject({ nirLayers: 1, hostLayers: 0, nirNodes: 3 });
  });

  it('refuses a model in training mode', async () => {
    const lif = new LifNode({}).train();
    await expectSpikedriveError(() => exportToNir(lif, { inputShapes: [[1]] }), /training mode/, /eval/);
  });
});

describe('probe export (prediction and planning)', () => {
  it('one island per block and input shape, with its first input and how often it ran per forward', async () => {
    const lif = new LifNode({});
    lif.setPath('planning.gru_spike');
    const a = tf.ones([2, 1, 4]);
    const b = tf.ones([1, 1, 3]);
    const ex = await exportByProbe(
      lif,
      () => {
        // Three runs at one shape (as a spike function called once per GRU step), one at another.
        for (let i = 0; i < 3; i++) tf.dispose(lif.forward(a));
        lif.reset();
        tf.dispose(lif.forward(b));
        lif.reset();
      },
      { module: 'planning', keepInputs: true },
    );
    try {
      expect([...ex.calls]).toEqual([
        ['planning.gru_spike@4.input', 3],
        ['planning.gru_spike@3.input', 1],
      ]);
      expect([...ex.inputs.keys()]).toEqual([...ex.calls.keys()]);
      expect(ex.inputs.get('planning.gru_spike@4.input')?.shape).toEqual([2, 1, 4]);
      expect([...ex.graph.nodes.values()].filter((n) => n.type === 'LIF')).toHaveLength(2);
      expect(validateNirGraph(ex.graph).issues).toEqual([]);
    } finally {
      tf.dispose([a, b, ...ex.inputs.values()]);
    }
  });
});
