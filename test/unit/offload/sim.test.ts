import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNir } from '../../../src/offload/nir/io.ts';
import { filled, type NirGraph, type NirNode, tensor32 } from '../../../src/offload/nir/types.ts';
import { NirSimulator } from '../../../src/offload/sim/simulator.ts';
import { expectSpikedriveError, NIR_EXAMPLES, useCpu } from './_helpers.ts';

beforeAll(useCpu);

/** input [n] → node → output, one neuron per element. */
function single(node: NirNode, n = 1): NirGraph {
  return {
    type: 'NIRGraph',
    nodes: new Map<string, NirNode>([
      ['input', { type: 'Input', shape: [n] }],
      ['node', node],
      ['output', { type: 'Output', shape: [n] }],
    ]),
    edges: [
      ['input', 'node'],
      ['node', 'output'],
    ],
  };
}

/** Runs a [T] trace through a one-neuron graph and returns the [T] output. */
function trace(graph: NirGraph, xs: number[], dt: number): number[] {
  const sim = new NirSimulator(graph, { dt });
  const x = tf.tensor3d(xs, [xs.length, 1, 1]);
  const out = sim.run(x).outputs.get('output') as tf.Tensor;
  const values = Array.from(out.dataSync());
  tf.dispose([x, out]);
  sim.dispose();
  return values;
}

describe('neuron dynamics at dt (hand-computed traces)', () => {
  it('LIF: v ← v + (dt/τ)(v_leak − v + R I), fires when v > θ, resets to v_reset', () => {
    const lif: NirNode = {
      type: 'LIF',
      tau: filled([1], 2e-3),
      r: filled([1], 1),
      vLeak: filled([1], 0),
      vThreshold: filled([1], 1),
      vReset: filled([1], 0),
    };
    // dt/τ = ½: v = 0.75; 0.75 + ½(1.5 − 0.75) = 1.125 > 1 → spike, 0; ½·0.4 = 0.2; 0.2 + ½(3 − 0.2) = 1.6 → spike.
    expect(trace(single(lif), [1.5, 1.5, 0.4, 3], 1e-3)).toEqual([0, 1, 0, 1]);
  });

  it('LIF fires strictly above the threshold (NIR), not at it', () => {
    const lif: NirNode = {
      type: 'LIF',
      tau: filled([1], 1e-3),
      r: filled([1], 1),
      vLeak: filled([1], 0),
      vThreshold: filled([1], 1),
      vReset: filled([1], 0),
    };
    // dt = τ: v = I each step.
    expect(trace(single(lif), [1, 1.0000001, 0.5], 1e-3)).toEqual([0, 1, 0]);
  });

  it('LI leaks towards v_leak and outputs its membrane', () => {
    const li: NirNode = { type: 'LI', tau: filled([1], 4e-3), r: filled([1], 2), vLeak: filled([1], 1) };
    // v0 = v_leak = 1; dt/τ = ¼: 1 + ¼(1 − 1 + 2·1) = 1.5; 1.5 + ¼(−0.5 + 0) = 1.375.
    expect(trace(single(li), [1, 0], 1e-3)).toEqual([1.5, 1.375]);
  });

  it('IF and I integrate dt·R·I', () => {
    const iff: NirNode = {
      type: 'IF',
      r: filled([1], 1),
      vThreshold: filled([1], 1),
      vReset: filled([1], -0.5),
    };
    // dt = 1, v0 = 0: 0.6, 1.2 → spike → −0.5, 0.1.
    expect(trace(single(iff), [0.6, 0.6, 0.6], 1)).toEqual([0, 1, 0]);
    expect(trace(single({ type: 'I', r: filled([1], 2) }), [1, 1, -3], 0.5)).toEqual([1, 2, -1]);
  });

  it('CubaLI: the synaptic current is updated first and drives the membrane', () => {
    const cuba: NirNode = {
      type: 'CubaLI',
      tauSyn: filled([1], 2e-3),
      tauMem: filled([1], 2e-3),
      r: filled([1], 1),
      vLeak: filled([1], 0),
      wIn: filled([1], 1),
    };
    // I = ½·2 = 1, v = ½·1 = 0.5; I = 0.5, v = 0.5 + ½(−0.5 + 0.5) = 0.5; I = 0.25, v = 0.5 + ½(−0.5 + 0.25) = 0.375.
    expect(trace(single(cuba), [2, 0, 0], 1e-3)).toEqual([0.5, 0.5, 0.375]);
    const lif: NirNode = {
      ...cuba,
      type: 'CubaLIF',
      vThreshold: filled([1], 0.45),
      vReset: filled([1], 0),
    } as NirNode;
    // v = 0.5 > 0.45 → spike, 0; then ½(0 + 0.5) = 0.25; 0.25 + ½(−0.25 + 0.25) = 0.25.
    expect(trace(single(lif), [2, 0, 0], 1e-3)).toEqual([1, 0, 0]);
  });

  it('Threshold is strict; Delay shifts by round(delay/dt) steps', () => {
    expect(
      trace(single({ type: 'Threshold', threshold: filled([1], 0.5) }), [0.5, 0.50000006, 1], 1),
    ).toEqual([0, 1, 1]);
    expect(trace(single({ type: 'Delay', delay: filled([1], 2e-3) }), [1, 2, 3, 4], 1e-3)).toEqual([
      0, 0, 1, 2,
    ]);
  });
});

describe('graphs', () => {
  it('sums the edges into a node and runs a cycle with a one-step delay', () => {
    const g: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['input', { type: 'Input', shape: [1] }],
        ['i', { type: 'I', r: filled([1], 1) }],
        ['rec', { type: 'Linear', weight: tensor32([1, 1], [0.5]) }],
        ['output', { type: 'Output', shape: [1] }],
      ]),
      edges: [
        ['input', 'i'],
        ['i', 'rec'],
        ['rec', 'i'],
        ['i', 'output'],
      ],
    };
    const sim = new NirSimulator(g, { dt: 1 });
    expect(sim.recurrent).toBe(true);
    // v = 1; v = 1 + 0.5·1 = 1.5; v = 1.5 + 0.5·1.5 = 2.25.
    const x = tf.tensor3d([1, 0, 0], [3, 1, 1]);
    const out = sim.run(x).outputs.get('output') as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual([1, 1.5, 2.25]);
    tf.dispose([x, out]);
    sim.dispose();
  });

  it('flattens in NIR’s channel-first order while tensors at the API are channels last', () => {
    const g: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['input', { type: 'Input', shape: [2, 2, 3] }],
        ['flat', { type: 'Flatten', inputType: [2, 2, 3], startDim: 0, endDim: -1 }],
        ['output', { type: 'Output', shape: [12] }],
      ]),
      edges: [
        ['input', 'flat'],
        ['flat', 'output'],
      ],
    };
    const sim = new NirSimulator(g);
    // Channels-last value at (h, w, c) = 100c + 10h + w; NIR order is c, h, w.
    const values: number[] = [];
    for (let h = 0; h < 2; h++)
      for (let w = 0; w < 3; w++) for (let c = 0; c < 2; c++) values.push(100 * c + 10 * h + w);
    const x = tf.tensor(values, [1, 1, 2, 3, 2]);
    const out = sim.run(x).outputs.get('output') as tf.Tensor;
    expect(Array.from(out.dataSync())).toEqual([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
    tf.dispose([x, out]);
    sim.dispose();
  });

  it('runs a Sinabs CNN (dt = 1 step) equal to a hand-written conv + IF loop', async () => {
    const { graph } = await readNir(join(NIR_EXAMPLES, 'cnn_sinabs.nir'));
    const conv = graph.nodes.get('0');
    const iff = graph.nodes.get('1');
    if (conv?.type !== 'Conv2d' || iff?.type !== 'IF') throw new Error('unexpected fixture');
    const cut: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['input', { type: 'Input', shape: [2, 34, 34] }],
        ['0', conv],
        ['1', iff],
        ['output', { type: 'Output', shape: [16, 16, 16] }],
      ]),
      edges: [
        ['input', '0'],
        ['0', '1'],
        ['1', 'output'],
      ],
    };
    const steps = 3;
    const events = tf.tidy(() =>
      tf.cast(tf.greater(tf.randomUniform([steps, 1, 34, 34, 2], 0, 1, 'float32', 5), 0.8), 'float32'),
    );
    const sim = new NirSimulator(cut, { dt: 1 });
    const out = sim.run(events).outputs.get('output') as tf.Tensor;
    const got = out.dataSync();
    const x = events.dataSync();
    // Reference: PyTorch conv (OIHW weight, stride 2, padding 1) and v ← v + I, spike v > 1, reset 0, in float64.
    const w = conv.weight.data;
    const b = conv.bias.data;
    const v = new Float64Array(16 * 16 * 16);
    let mismatches = 0;
    let spikes = 0;
    for (let t = 0; t < steps; t++) {
      for (let o = 0; o < 16; o++)
        for (let oy = 0; oy < 16; oy++)
          for (let ox = 0; ox < 16; ox++) {
            let acc = b[o];
            for (let i = 0; i < 2; i++)
              for (let ky = 0; ky < 5; ky++)
                for (let kx = 0; kx < 5; kx++) {
                  const iy = oy * 2 - 1 + ky;
                  const ix = ox * 2 - 1 + kx;
                  if (iy < 0 || iy >= 34 || ix < 0 || ix >= 34) continue;
                  acc += w[((o * 2 + i) * 5 + ky) * 5 + kx] * x[((t * 34 + iy) * 34 + ix) * 2 + i];
                }
            const k = (o * 16 + oy) * 16 + ox;
            v[k] += acc;
            const s = v[k] > 1 ? 1 : 0;
            if (s) v[k] = 0;
            spikes += s;
            if (got[((t * 16 + oy) * 16 + ox) * 16 + o] !== s) mismatches++;
          }
    }
    expect(spikes).toBeGreaterThan(50);
    expect(mismatches).toBe(0);
    tf.dispose([events, out]);
    sim.dispose();
  });

  it('runs the recurrent snnTorch Braille graph (CubaLIF ↔ w_rec) step by step', async () => {
    const { graph } = await readNir(join(NIR_EXAMPLES, 'braille_noDelay_noBias_subtract.nir'));
    const sim = new NirSimulator(graph, { dt: 1e-4, countActivity: true });
    expect(sim.recurrent).toBe(true);
    const x = tf.tidy(() =>
      tf.cast(tf.greater(tf.randomUniform([20, 2, 12], 0, 1, 'float32', 2), 0.6), 'float32'),
    );
    const out = sim.run(x).outputs.get('output') as tf.Tensor;
    expect(out.shape).toEqual([20, 2, 7]);
    expect(sim.nodeActivity().get('lif1.lif')?.outputNonZeros).toBeGreaterThan(0);
    tf.dispose([x, out]);
    sim.dispose();
  });

  it('keeps neuron state across runs until reset, and refuses a new batch size without one', async () => {
    const lif: NirNode = {
      type: 'LIF',
      tau: filled([1], 2e-3),
      r: filled([1], 1),
      vLeak: filled([1], 0),
      vThreshold: filled([1], 1),
      vReset: filled([1], 0),
    };
    const sim = new NirSimulator(single(lif), { dt: 1e-3 });
    const run = (xs: number[], b = 1) => {
      const x = tf.tensor3d(
        xs.flatMap((v) => new Array(b).fill(v)),
        [xs.length, b, 1],
      );
      const out = sim.run(x).outputs.get('output') as tf.Tensor;
      const v = Array.from(out.dataSync());
      tf.dispose([x, out]);
      return v;
    };
    expect(run([1.5])).toEqual([0]);
    expect(run([1.5])).toEqual([1]); // continues from v = 0.75
    await expectSpikedriveError(() => run([1], 2), /holds state for 1 neurons but got 2/, /reset/);
    sim.reset();
    expect(run([1.5, 1.5], 2)).toEqual([0, 0, 1, 1]);
    sim.dispose();
  });

  it('frees every tensor it made', () => {
    const before = tf.memory().numTensors;
    const lif: NirNode = {
      type: 'LIF',
      tau: filled([1], 2e-3),
      r: filled([1], 1),
      vLeak: filled([1], 0),
      vThreshold: filled([1], 1),
      vReset: filled([1], 0),
    };
    trace(single(lif), [1, 2, 3], 1e-3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names what it cannot run and what an input lacks', async () => {
    const grouped: NirNode = {
      type: 'Conv2d',
      inputShape: [4, 4],
      weight: filled([4, 2, 1, 1], 1),
      stride: [1, 1],
      padding: [0, 0],
      dilation: [1, 1],
      groups: 2,
      bias: filled([4], 0),
    };
    const g: NirGraph = {
      type: 'NIRGraph',
      nodes: new Map<string, NirNode>([
        ['input', { type: 'Input', shape: [4, 4, 4] }],
        ['conv', grouped],
        ['output', { type: 'Output', shape: [4, 4, 4] }],
      ]),
      edges: [
        ['input', 'conv'],
        ['conv', 'output'],
      ],
    };
    await expectSpikedriveError(() => new NirSimulator(g), /cannot run node "conv": groups = 2/, /host/);
    const sim = new NirSimulator(single({ type: 'Threshold', threshold: filled([3], 0) }, 3));
    const bad = tf.zeros([2, 1, 4]);
    await expectSpikedriveError(() => sim.run(bad), /expected \[T, B, 3\]/);
    bad.dispose();
    sim.dispose();
  });
});
