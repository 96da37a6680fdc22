// The spiking layers against the SAD reference itself: outputs and gradients of ridgerchu/SAD's modules
// (spikingjelly 0.0.0.0.12) on seeded random weights, recorded by fixtures/make_sad_golden.py.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ATAN_SURROGATE,
  type ForwardContext,
  hwioToOihw,
  LifNode,
  MergeUpsamplingConcat,
  MsConvBlock,
  MsDownSampling,
  MsResNetBlock,
  nchwToNhwc,
  nhwcToNchw,
  SAD_NEURONS,
  SewBasicBlock,
  type SnnModule,
  SpikingBottleneck,
  SpikingDeepLabHead,
  SpikingGruCell,
  SpikingUpsamplingAddMs,
  type StateTensor,
} from '../../../src/snn/index.ts';
import { expectClose, useCpu } from './_helpers.ts';

beforeAll(useCpu);

interface Packed {
  shape: number[];
  f32?: string;
  int64?: number[];
}
interface GoldenCase {
  state_dict: Record<string, Packed>;
  inputs: Packed[];
  output: Packed;
  loss_weights: Packed;
  input_grads: Packed[];
  train: boolean;
  weight?: string;
  weight_grad?: Packed;
  state_dict_after?: Record<string, Packed>;
}

const here = dirname(fileURLToPath(import.meta.url));
const golden = JSON.parse(readFileSync(join(here, 'fixtures/sad-golden.json'), 'utf8')) as {
  cases: Record<string, GoldenCase>;
};

function floats(p: Packed): Float32Array {
  const bytes = Buffer.from(p.f32 as string, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function toStateDict(sd: Record<string, Packed>): Map<string, StateTensor> {
  const out = new Map<string, StateTensor>();
  for (const [name, p] of Object.entries(sd)) {
    out.set(
      name,
      p.int64 !== undefined
        ? { shape: p.shape, dtype: 'int64', data: BigInt64Array.from(p.int64.map(BigInt)) }
        : { shape: p.shape, dtype: 'float32', data: floats(p) },
    );
  }
  return out;
}

/** Reference layout (NCHW, [T, B, C, H, W], or plain vectors) → ours. */
function toOurs(p: Packed): tf.Tensor {
  const t = tf.tensor(floats(p), p.shape);
  return t.rank >= 4 ? nchwToNhwc(t) : t;
}

function toTheirs(t: tf.Tensor): Float32Array {
  return (t.rank >= 4 ? nhwcToNchw(t) : t).dataSync() as Float32Array;
}

type Forward = (m: SnnModule, xs: tf.Tensor[], ctx: ForwardContext) => tf.Tensor;
interface Setup {
  build: () => SnnModule;
  forward: Forward;
}

const one: Forward = (m, [x], ctx) =>
  (m as unknown as { forward(x: tf.Tensor, c: ForwardContext): tf.Tensor }).forward(x, ctx);
const two: Forward = (m, [a, b], ctx) =>
  (m as unknown as { forward(a: tf.Tensor, b: tf.Tensor, c: ForwardContext): tf.Tensor }).forward(a, b, ctx);

const setups: Record<string, Setup> = {
  ms_downsampling_first: {
    build: () => new MsDownSampling({ inChannels: 3, embedDims: 4, kernelSize: 7, padding: 3 }),
    forward: one,
  },
  ms_downsampling: {
    build: () => new MsDownSampling({ inChannels: 4, embedDims: 8, firstLayer: false }),
    forward: one,
  },
  ms_conv_block: { build: () => new MsConvBlock({ dim: 4, mlpRatio: 2 }), forward: one },
  // PyTorch's default BN momentum (0.1): the reference sets 0.05 model-wide only through set_bn_momentum.
  ms_conv_block_train: {
    build: () => new MsConvBlock({ dim: 4, mlpRatio: 2, bnMomentum: 0.1 }),
    forward: one,
  },
  ms_resnet_block: {
    build: () => new MsResNetBlock({ inChannels: 4, outChannels: 8, stride: 2 }),
    forward: one,
  },
  sew_block: {
    build: () => new SewBasicBlock({ inChannels: 4, midChannels: 6, outChannels: 4 }),
    forward: one,
  },
  bottleneck_down: {
    build: () => new SpikingBottleneck({ inChannels: 6, outChannels: 3, downsample: true }),
    forward: one,
  },
  bottleneck: { build: () => new SpikingBottleneck({ inChannels: 4, outChannels: 2 }), forward: one },
  deeplab_head: {
    build: () => new SpikingDeepLabHead({ inChannels: 4, numClasses: 5, hiddenChannels: 2 }),
    forward: one,
  },
  upsample_add: { build: () => new SpikingUpsamplingAddMs({ inChannels: 6, outChannels: 4 }), forward: two },
  merge_concat: { build: () => new MergeUpsamplingConcat({ inChannels: 7, outChannels: 5 }), forward: two },
  lif_default: { build: () => new LifNode(), forward: one },
  lif_detach: { build: () => new LifNode({ detachReset: true }), forward: one },
  lif_soft_atan: { build: () => new LifNode({ vReset: null, surrogate: ATAN_SURROGATE }), forward: one },
  lif_no_decay: { build: () => new LifNode({ decayInput: false, tau: 3 }), forward: one },
  lif_vreset: { build: () => new LifNode({ vReset: -0.3, detachReset: true }), forward: one },
  if_soft: { build: () => new LifNode({ kind: 'if', vReset: null }), forward: one },
  // The dual pathway's neuron: membrane = softmax over H of a state (NCHW dim 2 = NHWC axis 1), then single steps.
  lif_softmax_init: {
    build: () => new LifNode(SAD_NEURONS.dualPathway),
    forward: (m, [x, state], ctx) => {
      const node = m as LifNode;
      node.setMembrane(tf.transpose(tf.softmax(tf.transpose(state, [0, 3, 2, 1])), [0, 3, 2, 1]));
      return tf.stack(tf.unstack(x).map((xt) => node.step(xt, ctx)));
    },
  },
  gru: {
    build: () => new SpikingGruCell({ inputSize: 6, hiddenSize: 8 }),
    forward: (m, [x, h0], ctx) => {
      let h = h0;
      const outs: tf.Tensor[] = [];
      for (const xt of tf.unstack(x)) {
        h = (m as SpikingGruCell).forward(xt, h, ctx);
        outs.push(h);
      }
      return tf.stack(outs);
    },
  },
};

function findVariable(module: SnnModule, name: string): { variable: tf.Variable; conv: boolean } {
  const dot = name.lastIndexOf('.');
  const path = name.slice(0, dot);
  const target = module.modules().find((m) => m.name === path) as SnnModule & Record<string, unknown>;
  const variable = target[name.slice(dot + 1)] as tf.Variable;
  return { variable, conv: target.kind === 'conv2d' };
}

describe('SAD reference layers (spikingjelly 0.0.0.0.12): same outputs and gradients', () => {
  it('covers every recorded case', () => {
    expect(Object.keys(golden.cases).sort()).toEqual(Object.keys(setups).sort());
  });

  for (const [name, setup] of Object.entries(setups)) {
    it(name, () => {
      const c = golden.cases[name];
      const module = setup.build();
      const report = module.loadStateDict(toStateDict(c.state_dict), { source: `golden ${name}` });
      expect(report.unexpected).toEqual([]);
      module.train(c.train);
      const inputs = c.inputs.map(toOurs);
      const r = toOurs(c.loss_weights);
      const loss = (...xs: tf.Tensor[]) => {
        const out = setup.forward(module, xs, {});
        module.reset();
        return tf.sum(tf.mul(out, r)) as tf.Scalar;
      };
      // Forward (in eval mode BN runs folded into the conv, so allow float rounding).
      const out = setup.forward(module, inputs, {});
      module.reset();
      expectClose(toTheirs(out), floats(c.output), 2e-5);
      if (c.state_dict_after) {
        const after = module.stateDict();
        for (const [key, p] of Object.entries(c.state_dict_after)) {
          const ours = after.get(key) as StateTensor;
          if (p.int64) expect(Number(ours.data[0])).toBe(p.int64[0]);
          else expectClose(ours.data as Float32Array, floats(p), 1e-5);
        }
      }
      // Gradients with respect to every input and one conv/linear weight (in PyTorch layout); in training mode
      // they run through the batch statistics.
      {
        const grads = tf.grads(loss)(inputs);
        grads.forEach((g, i) => {
          expectClose(toTheirs(g), floats(c.input_grads[i]), 2e-4);
        });
        if (c.weight && c.weight_grad) {
          const { variable, conv } = findVariable(module, c.weight);
          const { grads: wg } = tf.variableGrads(() => loss(...inputs), [variable]);
          const g = wg[variable.name];
          const torchLayout = conv ? hwioToOihw(g) : tf.transpose(g);
          expectClose(torchLayout.dataSync(), floats(c.weight_grad), 2e-4);
        }
      }
      module.dispose();
    });
  }
});
