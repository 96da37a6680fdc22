import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Activation,
  BatchNorm2d,
  Conv2d,
  ConvBn,
  Dropout,
  foldedConvBnTorch,
  MergeUpsamplingConcat,
  MsConvBlock,
  MsDownSampling,
  meanOverTime,
  msResNetLayer,
  repeatOverTime,
  Sequential,
  SewBasicBlock,
  SnnModule,
  SpikingBottleneck,
  SpikingDeepLabHead,
  SpikingGruCell,
  SpikingUpsamplingAddMs,
  SpikingUpsamplingConcat,
  type StateTensor,
  sewResNetLayer,
  toBatchMajor,
  toFrameMajor,
  Upsample,
} from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { expectClose, expectSpikedriveError, useCpu, values } from './_helpers.ts';

beforeAll(useCpu);

/** A parent to hang layers under checkpoint names. */
class Holder extends SnnModule {
  readonly kind = 'holder';
  add<M extends SnnModule>(key: string, m: M): M {
    return this.register(key, m);
  }
}

const here = dirname(fileURLToPath(import.meta.url));
const reference = readFileSync(join(here, 'fixtures/sad-state-dict-subset.tsv'), 'utf8')
  .split('\n')
  .filter((line) => line !== '' && !line.startsWith('#'))
  .map((line) => {
    const [name, shape] = line.split('\t');
    return { name, shape: shape === '' ? [] : shape.split('x').map(Number) };
  });

describe('checkpoint names and shapes match the reference state_dict', () => {
  it('every SAD block lists its parameters under the reference names, shapes (PyTorch layout) and order', () => {
    const root = new Holder();
    const rng = createRng(0);
    root.add(
      'encoder.patch_embed.downsample1_1',
      new MsDownSampling({ inChannels: 3, embedDims: 48, kernelSize: 7, padding: 3, rng }),
    );
    root.add('encoder.patch_embed.ConvBlock1_1.0', new MsConvBlock({ dim: 48, rng }));
    root.add(
      'encoder.patch_embed.downsample2',
      new MsDownSampling({ inChannels: 96, embedDims: 192, firstLayer: false, rng }),
    );
    root.add(
      'encoder.feature_layer_1',
      new SpikingDeepLabHead({ inChannels: 384, numClasses: 384, hiddenChannels: 64, rng }),
    );
    root.add(
      'encoder.feature_layer_2',
      new MergeUpsamplingConcat({ inChannels: 192 + 384, outChannels: 64, rng }),
    );
    const dual = root.add('future_prediction.dual_lif.conv_update_1', new Holder());
    dual.add('0', new Conv2d({ inChannels: 32 + 70, outChannels: 70, kernelSize: 3, padding: 1, rng }));
    dual.add('1', new BatchNorm2d({ numFeatures: 70 }));
    root.add('future_prediction.layer2', sewResNetLayer({ channels: 70, midChannels: 384, blocks: 2, rng }));
    root.add(
      'decoder.layer2',
      msResNetLayer({ inChannels: 64, outChannels: 128, blocks: 2, stride: 2, rng }),
    );
    root.add('decoder.up1_skip', new SpikingUpsamplingAddMs({ inChannels: 64, outChannels: 70, rng }));
    root.add(
      'present_distribution.encoder.model.0',
      new SpikingBottleneck({ inChannels: 70, outChannels: 35, downsample: true, rng }),
    );
    root.add('planning.reduce_channel.3', new SpikingBottleneck({ inChannels: 32, outChannels: 8, rng }));
    root.add('planning.GRU', new SpikingGruCell({ inputSize: 6, hiddenSize: 256, rng }));

    const ours = root.namedParameters().map((p) => ({ name: p.name, shape: p.shape }));
    const order = (name: string) => reference.findIndex((r) => r.name === name);
    // Same set, same shapes; within each block the same order as the reference's registration order.
    expect([...ours].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...reference].sort((a, b) => a.name.localeCompare(b.name)),
    );
    const positions = ours.map((p) => order(p.name));
    const blocks = new Map<string, number[]>();
    ours.forEach((p, i) => {
      const block = p.name.split('.').slice(0, 3).join('.');
      blocks.set(block, [...(blocks.get(block) ?? []), positions[i]]);
    });
    for (const [block, pos] of blocks) expect(pos, block).toEqual([...pos].sort((a, b) => a - b));
    root.dispose();
  });
});

describe('layer semantics', () => {
  it('conv padding is PyTorch\'s (symmetric), not tfjs "same"', () => {
    const conv = new Conv2d({
      inChannels: 1,
      outChannels: 1,
      kernelSize: 3,
      stride: 2,
      padding: 1,
      bias: false,
    });
    conv.loadStateDict({
      weight: { shape: [1, 1, 3, 3], dtype: 'float32', data: new Float32Array(9).fill(1) },
    });
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 4, 4, 1],
    );
    // Windows centred on (0,0), (0,2), (2,0), (2,2) of the 1..16 image.
    expect(values(conv.forward(x))).toEqual([14, 30, 57, 99]);
    conv.dispose();
  });

  it('bilinear ×2 matches align_corners=False', () => {
    const up = new Upsample(2);
    // Source coordinates (d + 0.5)/2 − 0.5 = −0.25 (clamped), 0.25, 0.75, 1.25 (clamped) over [0, 4].
    expect(values(up.forward(tf.tensor4d([0, 4], [1, 1, 2, 1])))).toEqual([0, 1, 3, 4, 0, 1, 3, 4]);
    // Under a gradient tape the differentiable slice form gives the same values (×2 and ×3).
    for (const scale of [2, 3]) {
      const x = tf.randomNormal([2, 3, 5, 2], 0, 1, 'float32', scale);
      const kernel = values(new Upsample(scale).forward(x));
      let taped: number[] = [];
      tf.grad((v: tf.Tensor) => {
        const y = new Upsample(scale).forward(v);
        taped = values(y);
        return tf.sum(y);
      })(x);
      expectClose(taped, kernel, 1e-6);
    }
    // Each input pixel's weights sum to the scale² outputs it feeds (the gradient of a sum).
    const g = tf.grad((v: tf.Tensor) => tf.sum(up.forward(v)))(tf.ones([1, 3, 4, 1]));
    expectClose(values(g), new Array(12).fill(4), 1e-6);
  });

  it('BatchNorm trains with batch statistics and momentum 0.05, evaluates with running ones', () => {
    const bn = new BatchNorm2d({ numFeatures: 2 }).train();
    // Channel 0 = [1, 3] (mean 2, biased var 1, unbiased 2); channel 1 = [2, 6] (mean 4, var 4, unbiased 8).
    const x = tf.tensor4d([1, 2, 3, 6], [2, 1, 1, 2]);
    const y = values(bn.forward(x));
    expectClose(
      y,
      [-1, -1, 1, 1].map((v, i) => (v / Math.sqrt((i % 2 === 0 ? 1 : 4) + 1e-5)) * (i % 2 === 0 ? 1 : 2)),
      1e-5,
    );
    expectClose(values(bn.runningMean), [0.1, 0.2], 1e-7);
    expectClose(values(bn.runningVar), [0.95 + 0.1, 0.95 + 0.4], 1e-6);
    expect(bn.numBatchesTracked).toBe(1);
    bn.eval();
    // Eval: (x − 0.1)/√(1.05 + ε) for channel 0.
    expectClose(values(bn.forward(x)).slice(0, 1), [(1 - 0.1) / Math.sqrt(1.05 + 1e-5)], 1e-6);
    bn.dispose();
  });

  it('BN folding gives the unfolded result (eval) and exports PyTorch-layout tensors', () => {
    const rng = createRng(4);
    const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, rng });
    const bn = new BatchNorm2d({ numFeatures: 4 });
    const stats = (seed: number, lo: number, hi: number): StateTensor => {
      const r = createRng(seed);
      return {
        shape: [4],
        dtype: 'float32',
        data: Float32Array.from({ length: 4 }, () => r.uniform(lo, hi)),
      };
    };
    bn.loadStateDict({
      weight: stats(1, 0.5, 2),
      bias: stats(2, -1, 1),
      running_mean: stats(3, -0.5, 0.5),
      running_var: stats(4, 0.2, 3),
      num_batches_tracked: { shape: [], dtype: 'int64', data: BigInt64Array.of(7n) },
    });
    const pair = new ConvBn(conv, bn);
    const x = tf.randomNormal([2, 2, 5, 5, 3], 0, 1, 'float32', 2);
    const folded = values(pair.forward(x));
    pair.fold = false;
    const unfolded = values(pair.forward(x));
    expectClose(folded, unfolded, 1e-5);
    const t = foldedConvBnTorch(conv, bn);
    expect(t.weight.shape).toEqual([4, 3, 3, 3]);
    expect(t.bias.shape).toEqual([4]);
    pair.dispose();
    conv.dispose();
    bn.dispose();
  });

  it('spiking GRU cell: Heaviside gates, h′ = (1 − z)·n + z·h (weights in PyTorch [3·hidden, in] layout)', () => {
    const cell = new SpikingGruCell({ inputSize: 1, hiddenSize: 1 });
    const t = (shape: number[], data: number[]): StateTensor => ({
      shape,
      dtype: 'float32',
      data: Float32Array.from(data),
    });
    cell.loadStateDict({
      'linear_ih.weight': t([3, 1], [1, -1, 1]),
      'linear_ih.bias': t([3], [0, 0, 0]),
      'linear_hh.weight': t([3, 1], [0, 0, 2]),
      'linear_hh.bias': t([3], [0, 0, -0.5]),
    });
    // x = 1, h = 0.5: r = Θ(1) = 1, z = Θ(−1) = 0, n = Θ(1 + 1·(2·0.5 − 0.5)) = 1 → h′ = 1.
    // x = −1, h = 0.5: r = Θ(−1) = 0, z = Θ(1) = 1 → h′ = h = 0.5.
    const h = cell.forward(tf.tensor2d([1, -1], [2, 1]), tf.tensor2d([0.5, 0.5], [2, 1]));
    expect(values(h)).toEqual([1, 0.5]);
    cell.dispose();
  });

  it('Sequential numbers its layers like nn.Sequential (an ANN head: conv → BN → ReLU → conv)', () => {
    const rng = createRng(6);
    const head = new Sequential([
      new Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, padding: 1, bias: false, rng }),
      new BatchNorm2d({ numFeatures: 4 }),
      new Activation('relu'),
      new Conv2d({ inChannels: 4, outChannels: 2, kernelSize: 1, rng }),
    ]);
    head.setPath('decoder.instance_offset_head');
    expect(head.namedParameters().map((p) => p.name)).toEqual([
      'decoder.instance_offset_head.0.weight',
      'decoder.instance_offset_head.1.weight',
      'decoder.instance_offset_head.1.bias',
      'decoder.instance_offset_head.1.running_mean',
      'decoder.instance_offset_head.1.running_var',
      'decoder.instance_offset_head.1.num_batches_tracked',
      'decoder.instance_offset_head.3.weight',
      'decoder.instance_offset_head.3.bias',
    ]);
    expect(head.forward(tf.randomNormal([2, 5, 5, 4])).shape).toEqual([2, 5, 5, 2]);
    expect(values(new Activation('relu').forward(tf.tensor1d([-1, 2])))).toEqual([0, 2]);
    head.dispose();
  });

  it('dropout: identity in eval; in training zero or 1/(1 − p) with reproducible masks when seeded', () => {
    const x = tf.ones([64]);
    expect(values(new Dropout(0.5).forward(x))).toEqual(new Array(64).fill(1));
    const a = new Dropout(0.5, 7).train();
    const b = new Dropout(0.5, 7).train();
    const ya = values(a.forward(x));
    expect(ya.every((v) => v === 0 || v === 2)).toBe(true);
    expect(values(b.forward(x))).toEqual(ya);
    // The next call draws a new mask.
    expect(values(a.forward(x))).not.toEqual(ya);
  });

  it('SEW blocks merge with ADD, AND or IAND', () => {
    const x = tf.ones([1, 1, 2, 2, 2]);
    for (const [connect, check] of [
      ['ADD', (v: number) => v === 1 || v === 2],
      ['AND', (v: number) => v === 0 || v === 1],
      ['IAND', (v: number) => v === 0 || v === 1],
    ] as const) {
      const block = new SewBasicBlock({ inChannels: 2, outChannels: 2, connect, rng: createRng(1) });
      expect(values(block.forward(x)).every(check)).toBe(true);
      block.dispose();
    }
  });
});

describe('SAD layer output shapes at tiny sizes ([T, B, H, W, C])', () => {
  it('encoder blocks, heads, residual stages, upsampling, bottleneck and GRU', () => {
    const rng = createRng(3);
    const shape = (t: tf.Tensor) => t.shape;
    const ds = new MsDownSampling({ inChannels: 3, embedDims: 8, kernelSize: 7, padding: 3, rng });
    expect(shape(ds.forward(tf.zeros([2, 1, 16, 20, 3])))).toEqual([2, 1, 8, 10, 8]);
    expect(shape(new MsConvBlock({ dim: 8, rng }).forward(tf.zeros([2, 1, 8, 10, 8])))).toEqual([
      2, 1, 8, 10, 8,
    ]);
    const head = new SpikingDeepLabHead({ inChannels: 8, numClasses: 6, hiddenChannels: 4, rng });
    expect(shape(head.forward(tf.randomUniform([2, 1, 4, 6, 8])))).toEqual([2, 1, 4, 6, 6]);
    const merge = new MergeUpsamplingConcat({ inChannels: 10, outChannels: 5, rng });
    expect(shape(merge.forward(tf.zeros([1, 2, 3, 6]), tf.zeros([1, 4, 6, 4])))).toEqual([1, 4, 6, 5]);
    const stage = msResNetLayer({ inChannels: 4, outChannels: 8, blocks: 2, stride: 2, rng });
    expect(shape(stage.forward(tf.zeros([2, 1, 8, 8, 4])))).toEqual([2, 1, 4, 4, 8]);
    const up = new SpikingUpsamplingAddMs({ inChannels: 8, outChannels: 4, rng });
    expect(shape(up.forward(tf.zeros([2, 1, 4, 4, 8]), tf.zeros([2, 1, 8, 8, 4])))).toEqual([2, 1, 8, 8, 4]);
    const upCat = new SpikingUpsamplingConcat({ inChannels: 6, outChannels: 3, rng });
    expect(shape(upCat.forward(tf.zeros([2, 1, 2, 2, 4]), tf.zeros([2, 1, 4, 4, 2])))).toEqual([
      2, 1, 4, 4, 3,
    ]);
    const sew = sewResNetLayer({ channels: 4, midChannels: 6, blocks: 2, rng });
    expect(shape(sew.forward(tf.zeros([3, 1, 5, 5, 4])))).toEqual([3, 1, 5, 5, 4]);
    // Odd sizes are padded before the shortcut's max-pool, as the reference does: 7×9 → 4×5.
    const down = new SpikingBottleneck({ inChannels: 6, outChannels: 3, downsample: true, rng });
    expect(shape(down.forward(tf.randomNormal([1, 7, 9, 6])))).toEqual([1, 4, 5, 3]);
    const narrow = new SpikingBottleneck({ inChannels: 4, outChannels: 2, rng });
    expect(shape(narrow.forward(tf.zeros([1, 4, 4, 4])))).toEqual([1, 4, 4, 2]);
    const gru = new SpikingGruCell({ inputSize: 6, hiddenSize: 8, rng });
    const h = gru.forward(tf.randomNormal([2, 6]), null);
    expect(shape(h)).toEqual([2, 8]);
    // From h = 0 the new state is the candidate gate: spikes only.
    expect(values(h).every((v) => v === 0 || v === 1)).toBe(true);
  });

  it('clear errors for wrong channels and skip sizes', () => {
    const conv = new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 1 });
    expectSpikedriveError(
      () => conv.forward(tf.zeros([1, 2, 2, 5])),
      /expects 3 input channels, got 5/,
      /NHWC/,
    );
    expectSpikedriveError(
      () => new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, dilation: 2 }),
      /dilation 2,2 and stride 2,2/,
      /stride 1/,
    );
    const up = new SpikingUpsamplingAddMs({ inChannels: 8, outChannels: 4 });
    expectSpikedriveError(
      () => up.forward(tf.zeros([1, 1, 4, 4, 8]), tf.zeros([1, 1, 4, 4, 4])),
      /does not match the skip/,
    );
    expectSpikedriveError(
      () =>
        msResNetLayer({ inChannels: 4, outChannels: 8, blocks: 1, stride: 2 }).blocks[0].forward(
          tf.zeros([1, 1, 4, 4, 3]),
        ),
      /expects 4 input channels/,
    );
  });
});

describe('time schemes', () => {
  it('sequence alignment is a permute to frame-major, not a reshape', () => {
    // x[b, s] = 10·b + s for B = 2, S = 3.
    const x = tf.tensor2d([0, 1, 2, 10, 11, 12], [2, 3]);
    const frames = toFrameMajor(x);
    expect(frames.shape).toEqual([3, 2]);
    expect(values(frames)).toEqual([0, 10, 1, 11, 2, 12]);
    // The reference's reshape would pair frame 1 of item 0 with frame 0 of item 1.
    expect(values(tf.reshape(x, [3, 2]))).not.toEqual(values(frames));
    expect(values(toBatchMajor(frames))).toEqual(values(x));
  });

  it('sequence repetition repeats over T and rate decoding averages back', () => {
    const x = tf.tensor2d([1, 0, 0.5, 2], [2, 2]);
    const r = repeatOverTime(x, 4);
    expect(r.shape).toEqual([4, 2, 2]);
    expect(values(meanOverTime(r))).toEqual([1, 0, 0.5, 2]);
    expectSpikedriveError(() => repeatOverTime(x, 0), /positive integer/);
  });

  it('the first layer computed once and repeated equals running it on the repeated input (eval and train)', () => {
    for (const training of [false, true]) {
      const a = new MsDownSampling({ inChannels: 3, embedDims: 4, rng: createRng(8) });
      const b = new MsDownSampling({ inChannels: 3, embedDims: 4, rng: createRng(8) });
      a.train(training);
      b.train(training);
      const x = tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 5);
      const once = a.forwardRepeated(x, 4);
      const full = b.forward(repeatOverTime(x, 4));
      expect(once.shape).toEqual([4, 2, 3, 3, 4]);
      expectClose(values(once), values(full), 1e-5);
      expectClose(values(a.encodeBn.runningVar), values(b.encodeBn.runningVar), 1e-6);
      a.dispose();
      b.dispose();
    }
  });
});

describe('state dict', () => {
  function block(seed: number): MsConvBlock {
    const m = new MsConvBlock({ dim: 4, mlpRatio: 2, rng: createRng(seed) });
    m.setPath('encoder.block');
    return m;
  }

  it("round-trips: a model loaded from another's state dict computes the same outputs", () => {
    const a = block(1);
    const b = block(2);
    const x = tf.randomNormal([2, 1, 5, 5, 4], 1, 1, 'float32', 3);
    const ya = values(a.forward(x));
    expect(values(b.forward(x))).not.toEqual(ya);
    b.reset();
    const report = b.loadStateDict(a.stateDict());
    expect(report.missing).toEqual([]);
    expect(report.unexpected).toEqual([]);
    // 3 convs (weight, bias) + 3 BNs (weight, bias, running_mean, running_var, num_batches_tracked).
    expect(report.loaded.length).toBe(21);
    expect(values(b.forward(x))).toEqual(ya);
    // Conv weights are OIHW in the state dict: element [o, i, kh, kw] = HWIO [kh, kw, i, o].
    const sd = a.stateDict().get('encoder.block.conv2.0.0.weight') as StateTensor;
    expect(sd.shape).toEqual([8, 4, 3, 3]);
    const hwio = a.children().find(([k]) => k === 'conv2.0.0')?.[1] as Conv2d;
    const w = hwio.weight.arraySync() as number[][][][];
    expect(sd.data[((5 * 4 + 2) * 3 + 1) * 3 + 0]).toBe(w[1][0][2][5]);
    a.dispose();
    b.dispose();
  });

  it('rejects a wrong shape without changing anything; reports missing and unexpected names', () => {
    const a = block(1);
    const b = block(2);
    const weightOf = (m: MsConvBlock) =>
      Array.from(m.stateDict().get('encoder.block.conv1.0.0.weight')!.data as Float32Array);
    const before = weightOf(b);
    const sd = a.stateDict();
    sd.set('encoder.block.conv3.0.0.weight', {
      shape: [4, 8, 1, 1],
      dtype: 'float32',
      data: new Float32Array(32),
    });
    expectSpikedriveError(
      () => b.loadStateDict(sd, { source: 'ckpt.safetensors' }),
      /conv3\.0\.0\.weight in ckpt\.safetensors has shape \[4, 8, 1, 1\] but the layer needs \[4, 8, 3, 3\]/,
      /same configuration/,
    );
    expect(weightOf(b)).toEqual(before);
    const partial = a.stateDict();
    partial.delete('encoder.block.conv1.0.1.running_var');
    partial.set('decoder.other.weight', { shape: [1], dtype: 'float32', data: Float32Array.of(1) });
    expectSpikedriveError(() => b.loadStateDict(partial), /lacks 1 tensor/, /strict: false/);
    const report = b.loadStateDict(partial, { strict: false });
    expect(report.missing).toEqual(['encoder.block.conv1.0.1.running_var']);
    expect(report.unexpected).toEqual(['decoder.other.weight']);
    a.dispose();
    b.dispose();
  });
});
