import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { rollUpActivity } from '../../../src/energy/index.ts';
import {
  Conv2d,
  type ForwardContext,
  firingRates,
  Instrument,
  LifNode,
  MsDownSampling,
  SnnModule,
  SpikingDeepLabHead,
  type StateTensor,
} from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { useCpu, values } from './_helpers.ts';

beforeAll(useCpu);

const f32 = (shape: number[], data: number[]): StateTensor => ({
  shape,
  dtype: 'float32',
  data: Float32Array.from(data),
});

/** conv1×1 (1→2, weights [2, 4]) → LIF → conv1×1 (2→1, weights [1, 1]); perception then planning. */
class TinyNet extends SnnModule {
  readonly kind = 'tiny';
  readonly conv1: Conv2d;
  readonly lif: LifNode;
  readonly conv2: Conv2d;
  constructor() {
    super();
    this.conv1 = this.register('encoder.conv1', new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 1 }));
    this.lif = this.register('encoder.lif', new LifNode());
    this.conv2 = this.register(
      'planning.conv2',
      new Conv2d({ inChannels: 2, outChannels: 1, kernelSize: 1 }),
    );
    this.conv1.setPipelineModule('perception');
    this.lif.setPipelineModule('perception');
    this.conv2.setPipelineModule('planning');
    this.loadStateDict({
      'encoder.conv1.weight': f32([2, 1, 1, 1], [2, 4]),
      'encoder.conv1.bias': f32([2], [0, 0]),
      'planning.conv2.weight': f32([1, 2, 1, 1], [1, 1]),
      'planning.conv2.bias': f32([1], [0]),
    });
  }

  forward(x: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    const c = this.conv1.forward(x, ctx);
    const s = this.lif.forward(c, ctx);
    const out = this.conv2.forward(s, ctx);
    tf.dispose([c, s]);
    return out;
  }
}

// [T = 2, B = 1, H = 2, W = 2, C = 1]: step 1 spikes at pixels 0 and 2, step 2 at pixel 0 (3 of 8).
const spikesIn = () => tf.tensor5d([1, 0, 1, 0, 1, 0, 0, 0], [2, 1, 2, 2, 1]);

describe('activity counts on a tiny network with known inputs', () => {
  it('counts spikes, synaptic operations, neuron updates, memory traffic and output bits per layer', () => {
    const net = new TinyNet();
    const instrument = new Instrument();
    const y = net.forward(spikesIn(), { instrument });
    const record = instrument.finishSync();
    const [conv1, lif, conv2] = record.layers;

    // conv1: 1×1·1·2 MACs per position × 8 positions = 16; binary input at rate 3/8 → 6 SOPs (3 spikes × fan-out 2).
    expect(conv1).toMatchObject({
      name: 'encoder.conv1',
      module: 'perception',
      kind: 'conv2d',
      timeSteps: 2,
      batch: 1,
      inputElements: 8,
      inputSpikes: 3,
      inputIsSpiking: true,
      outputElements: 16,
      outputSpikes: 0,
      equivalentMacs: 16,
      synapticOps: 6,
      denseMacs: 0,
      paramBytesRead: 16,
      outputBits: 16 * 32,
    });
    // LIF on 2x and 4x: step 1 h = x (ch 0) and 2x (ch 1) fire where x = 1 (2 + 2 spikes), reset to 0; step 2 the
    // same for pixel 0 (1 + 1). 6 spikes of 16; one update, one state read and one write per neuron per step.
    expect(lif).toMatchObject({
      kind: 'lif',
      inputIsSpiking: false,
      inputSpikes: 16,
      outputElements: 16,
      outputSpikes: 6,
      neuronUpdates: 16,
      stateBytesRead: 64,
      stateBytesWritten: 64,
      synapticOps: 0,
      denseMacs: 0,
      outputBits: 16,
    });
    expect(firingRates(lif).output).toBe(6 / 16);
    // conv2 reads the LIF spikes: 2 MACs per position × 8 = 16 dense, rate 6/16 → 6 SOPs (fan-out 1).
    expect(conv2).toMatchObject({
      module: 'planning',
      inputIsSpiking: true,
      inputSpikes: 6,
      synapticOps: 6,
      equivalentMacs: 16,
    });
    // Output = spikes of ch 0 + ch 1: [2, 0, 2, 0, 2, 0, 0, 0].
    expect(values(y)).toEqual([2, 0, 2, 0, 2, 0, 0, 0]);
    net.dispose();
  });

  it('counts real-valued input as dense MACs (only exact 0/1 tensors count as spikes)', () => {
    const net = new TinyNet();
    const instrument = new Instrument();
    net.forward(tf.tensor5d([0.5, 0, 0.5, 0, 0.5, 0, 0, 0], [2, 1, 2, 2, 1]), { instrument });
    const [conv1] = instrument.finishSync().layers;
    expect(conv1).toMatchObject({ inputIsSpiking: false, inputSpikes: 8, denseMacs: 16, synapticOps: 0 });
    net.dispose();
  });

  it('rolls up per pipeline module and per name prefix', () => {
    const net = new TinyNet();
    const instrument = new Instrument();
    net.forward(spikesIn(), { instrument });
    const record = instrument.finishSync();
    const roll = rollUpActivity(record);
    expect(roll.modules.map((m) => m.module)).toEqual(['perception', 'planning']);
    const [perception, planning] = roll.modules;
    expect(perception).toMatchObject({
      layerCount: 2,
      synapticOps: 6,
      neuronUpdates: 16,
      outputSpikes: 6,
    });
    expect(perception.outputFiringRate).toBe(6 / 16);
    expect(planning).toMatchObject({ layerCount: 1, synapticOps: 6, denseMacs: 0 });
    expect(roll.total).toMatchObject({
      layerCount: 3,
      synapticOps: 12,
      equivalentMacs: 32,
      paramBytesRead: 16 + 12,
    });
    expect(rollUpActivity(record, { prefix: 'encoder.' }).total.layerCount).toBe(2);
    // A module map overrides the layers' own assignment.
    const byName = new Instrument({
      moduleOf: (name) => (name.startsWith('planning') ? 'planner' : undefined),
    });
    net.reset();
    net.forward(spikesIn(), { instrument: byName });
    expect(byName.finishSync().layers.map((l) => l.module)).toEqual(['perception', 'perception', 'planner']);
    net.dispose();
  });

  it('merges repeated calls of one layer and records boundary bits (bitmap or address events, whichever is smaller)', () => {
    const lif = new LifNode();
    lif.setPath('decoder.up1_lif');
    const instrument = new Instrument();
    const x = tf.fill([3, 1, 4], 1.5);
    lif.forward(x, { instrument });
    const again = lif.forward(x, { instrument });
    // 16 neurons per step, 1 spike of 48 → 1 × ⌈log2 16⌉ = 4 bits as events, against 48 as a bitmap.
    const sparse = tf.tensor3d([1, ...new Array(47).fill(0)], [3, 1, 16]);
    instrument.boundary('perception', 'prediction', sparse, { timeSteps: 3 });
    instrument.boundary('prediction', 'planning', again, { timeSteps: 3 });
    instrument.boundary('planning', 'out', tf.zeros([2, 3]), { spiking: false, bitsPerValue: 16 });
    const record = instrument.finishSync();
    expect(record.layers.length).toBe(1);
    expect(record.layers[0]).toMatchObject({ calls: 2, timeSteps: 6, neuronUpdates: 24, inputElements: 24 });
    // h = 0.75, 1.125 (fire), 0.75 | continuing: 1.125 (fire), 0.75, 1.125 (fire): 4 + 8 spikes.
    expect(record.layers[0].outputSpikes).toBe(12);
    expect(record.boundaryBits).toEqual({
      'perception->prediction': 4,
      'prediction->planning': 12,
      'planning->out': 96,
    });
    lif.dispose();
  });

  it('sequence repetition computed once is counted as the reference computes it (T times) and flagged', () => {
    const layer = new MsDownSampling({
      inChannels: 1,
      embedDims: 2,
      kernelSize: 1,
      stride: 1,
      padding: 0,
      rng: createRng(1),
    });
    const instrument = new Instrument();
    layer.forwardRepeated(tf.fill([1, 2, 2, 1], 0.5), 4, { instrument });
    const [conv] = instrument.finishSync().layers;
    // 1×1·1·2 MACs × 4 positions × T = 4 steps.
    expect(conv).toMatchObject({
      timeSteps: 4,
      equivalentMacs: 32,
      denseMacs: 32,
      inputElements: 16,
      inputRepeatedOverTime: true,
    });
    layer.dispose();
  });

  it('derives the counts of concatenated and broadcast spikes without reading them (ASPP)', () => {
    const head = new SpikingDeepLabHead({
      inChannels: 3,
      numClasses: 2,
      hiddenChannels: 4,
      atrousRates: [1, 2],
      rng: createRng(3),
    });
    head.setPath('head');
    const instrument = new Instrument();
    const x = tf.tensor5d(
      Array.from({ length: 2 * 1 * 5 * 6 * 3 }, (_, i) => ((i * 7) % 5 < 2 ? 1 : 0)),
      [2, 1, 5, 6, 3],
    );
    const out = head.forward(x, { instrument });
    const byName = new Map(instrument.finishSync().layers.map((l) => [l.name, l]));
    // Branches 0–2 emit [2, 1, 5, 6, 4] spikes; the pooling branch [2, 1, 1, 1, 4], broadcast over 5×6.
    const branchSpikes = ['head.0.convs.0.2', 'head.0.convs.1.2', 'head.0.convs.2.2'].reduce(
      (a, n) => a + (byName.get(n)?.outputSpikes ?? Number.NaN),
      0,
    );
    const poolSpikes = (byName.get('head.0.convs.3.3')?.outputSpikes ?? Number.NaN) * 30;
    const project = byName.get('head.0.project.0.0');
    expect(project?.inputIsSpiking).toBe(true);
    expect(project?.inputElements).toBe(2 * 5 * 6 * 16);
    expect(project?.inputSpikes).toBe(branchSpikes + poolSpikes);
    // The classifier reads the spikes behind the (eval-mode, identity) dropout.
    expect(byName.get('head.4.0')?.inputSpikes).toBe(byName.get('head.3')?.outputSpikes);
    tf.dispose([x, out]);
    head.dispose();
  });

  it('costs nothing when off: same outputs, and the tensor count returns to baseline when on', () => {
    const net = new TinyNet();
    const x = spikesIn();
    const plain = values(net.forward(x));
    net.reset();
    const before = tf.memory().numTensors;
    const instrument = new Instrument();
    const y = net.forward(x, { instrument });
    expect(values(y)).toEqual(plain);
    expect(instrument.pendingCalls).toBe(3);
    instrument.finishSync();
    y.dispose();
    net.reset();
    expect(tf.memory().numTensors).toBe(before);
    // Async read-out gives the same record.
    const a = new Instrument();
    net.forward(x, { instrument: a }).dispose();
    net.reset();
    return a.finish().then((record) => {
      expect(record.layers[1].outputSpikes).toBe(6);
      expect(tf.memory().numTensors).toBe(before);
      net.dispose();
    });
  });
});
