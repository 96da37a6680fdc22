import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ForwardContext,
  Instrument,
  MsConvBlock,
  MsDownSampling,
  meanOverTime,
  msResNetLayer,
  repeatOverTime,
  SnnModule,
  SpikingBottleneck,
  SpikingDeepLabHead,
  SpikingGruCell,
  SpikingUpsamplingAddMs,
} from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import { useCpu, values } from './_helpers.ts';

beforeAll(useCpu);

/** A miniature of SAD's spiking path: encoder blocks, head, decoder stage and upsampling, bottleneck, GRU. */
class MiniSad extends SnnModule {
  readonly kind = 'mini_sad';
  readonly stem: MsDownSampling;
  readonly block: MsConvBlock;
  readonly head: SpikingDeepLabHead;
  readonly stage: ReturnType<typeof msResNetLayer>;
  readonly up: SpikingUpsamplingAddMs;
  readonly reduce: SpikingBottleneck;
  readonly gru: SpikingGruCell;

  constructor() {
    super();
    const rng = createRng(11);
    this.stem = this.register('encoder.stem', new MsDownSampling({ inChannels: 3, embedDims: 4, rng }));
    this.block = this.register('encoder.block', new MsConvBlock({ dim: 4, mlpRatio: 1, rng }));
    this.head = this.register(
      'encoder.head',
      new SpikingDeepLabHead({
        inChannels: 4,
        numClasses: 4,
        hiddenChannels: 2,
        atrousRates: [1],
        dropoutSeed: 5,
        rng,
      }),
    );
    this.stage = this.register(
      'decoder.layer1',
      msResNetLayer({ inChannels: 4, outChannels: 4, blocks: 1, stride: 2, rng }),
    );
    this.up = this.register('decoder.up', new SpikingUpsamplingAddMs({ inChannels: 4, outChannels: 4, rng }));
    this.reduce = this.register(
      'planning.reduce',
      new SpikingBottleneck({ inChannels: 4, outChannels: 2, downsample: true, rng }),
    );
    this.gru = this.register('planning.gru', new SpikingGruCell({ inputSize: 8, hiddenSize: 3, rng }));
  }

  forward(image: tf.Tensor, ctx: ForwardContext = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = this.stem.forward(repeatOverTime(image, 2), ctx); // [2, 1, 4, 4, 4]
      const y = this.block.forward(x, ctx);
      const h = this.head.forward(y, ctx);
      const d = this.stage.forward(h, ctx); // [2, 1, 2, 2, 4]
      const u = this.up.forward(d, h, ctx); // [2, 1, 4, 4, 4]
      const r = this.reduce.forward(meanOverTime(u), ctx); // [1, 2, 2, 2]
      return this.gru.forward(tf.reshape(r, [1, 8]), null, ctx);
    });
  }
}

describe('training through the spiking layers', () => {
  it('every weight gets a finite surrogate gradient; tensors return to baseline after forward and backward', () => {
    const model = new MiniSad().train();
    const image = tf.randomNormal([1, 8, 8, 3], 0, 2, 'float32', 4);
    const target = tf.tensor2d([[1, 0, 1]]);
    const variables = model.trainableVariables();
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const out = model.forward(image);
      model.reset();
      return tf.losses.meanSquaredError(target, out) as tf.Scalar;
    }, variables);
    expect(Number.isFinite(values(value)[0])).toBe(true);
    const norm = (g: tf.Tensor) => tf.tidy(() => values(tf.norm(g))[0]);
    const norms = Object.values(grads).map(norm);
    expect(norms.length).toBe(variables.length);
    expect(norms.every(Number.isFinite)).toBe(true);
    // Gradients reach the first layer through every LIF (surrogates, not zero-gradient steps).
    const stemGrad = grads[model.stem.encodeConv.weight.name];
    expect(norm(stemGrad)).toBeGreaterThan(0);
    const optimizer = tf.train.sgd(0.1);
    const w0 = values(model.gru.linearIh.weight);
    optimizer.applyGradients(grads);
    expect(values(model.gru.linearIh.weight)).not.toEqual(w0);
    tf.dispose([value, ...Object.values(grads)]);
    optimizer.dispose();
    // Running statistics moved too (train mode, momentum 0.05).
    expect(model.stem.encodeBn.numBatchesTracked).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('eval with instrumentation: every recorded layer belongs to a named module and the counts add up', () => {
    const model = new MiniSad();
    model.children().forEach(([key, child]) => {
      child.setPipelineModule(
        key.split('.')[0] === 'encoder'
          ? 'perception'
          : key.startsWith('decoder')
            ? 'prediction'
            : 'planning',
      );
    });
    const instrument = new Instrument();
    const image = tf.randomNormal([1, 8, 8, 3], 0, 2, 'float32', 4);
    model.forward(image, { instrument }).dispose();
    model.reset();
    const record = instrument.finishSync();
    expect(new Set(record.layers.map((l) => l.module))).toEqual(
      new Set(['perception', 'prediction', 'planning']),
    );
    const kinds = new Set(record.layers.map((l) => l.kind));
    for (const k of ['conv2d', 'lif', 'heaviside', 'linear', 'upsample', 'pool'])
      expect(kinds.has(k)).toBe(true);
    for (const l of record.layers) {
      expect(l.synapticOps + l.denseMacs).toBeLessThanOrEqual(l.equivalentMacs + 1e-9);
      expect(l.outputSpikes).toBeLessThanOrEqual(l.outputElements);
    }
    // The GRU's gate activation runs twice per step (r and z) and is merged into one entry.
    expect(record.layers.find((l) => l.name === 'planning.gru.surrogate_function1')?.calls).toBe(2);
    model.dispose();
  });
});
