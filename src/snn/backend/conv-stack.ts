/**
 * The spiking conv stack of ecosystem.md §2 / ../shared/bench/torch_conv_stack.py, the yardstick for back-end
 * speed: x[N,64,176,3] → conv3×3/32 s2 → spike → conv3×3/64 s2 → spike → conv3×3/64 s1 → spike → mean, with
 * padding 1 as in PyTorch and spike = Θ(v − 1) with the sigmoid surrogate 4σ(4(v−1))(1−σ) in the backward pass.
 * It is written as a training module (buildModel) so the data-parallel trainer and the benchmark run exactly the
 * same code.
 */
import * as tf from '@tensorflow/tfjs';
import { spike } from '../surrogate.ts';
import { spikeOp } from './kernels/spike.ts';
import type { TrainableModel, TrainModuleContext } from './parallel/types.ts';

export interface ConvStackConfig {
  /** Input height/width/channels (default 64×176×3). */
  height?: number;
  width?: number;
  channels?: number;
  /** Output channels of the three convs (default 32, 64, 64). */
  filters?: [number, number, number];
  /** Seed of the weight initialisation. */
  seed?: number;
  /**
   * How the spike is computed: 'fused' (default) is the registered spike kernel (kernels/spike.ts); 'customGrad'
   * is src/snn/surrogate.ts's tf.customGrad spike with the surrogate as element-wise ops (as ecosystem.md §2).
   */
  spike?: 'fused' | 'customGrad';
}

const THRESHOLD = 1;
const ALPHA = 4;

/**
 * The stack's spike, Θ(v − 1) with SpikingJelly's sigmoid surrogate (α = 4), firing at v > 1 as the PyTorch
 * script does: through src/snn/surrogate.ts's tf.customGrad op (element-wise tfjs ops)...
 */
export const spikeSigmoid = (v: tf.Tensor): tf.Tensor =>
  tf.tidy(() => spike(tf.sub(v, THRESHOLD), { kind: 'sigmoid', alpha: ALPHA }, 'gt'));

export interface ConvStack {
  w1: tf.Variable;
  w2: tf.Variable;
  w3: tf.Variable;
}

export function createConvStack(config: ConvStackConfig = {}): ConvStack {
  const c = config.channels ?? 3;
  const [f1, f2, f3] = config.filters ?? [32, 64, 64];
  const seed = config.seed ?? 1;
  // Same scales as the PyTorch script (0.8, 0.25, 0.2), so spike rates are comparable.
  const init = (shape: number[], scale: number, s: number): tf.Variable => {
    const value = tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', s), scale));
    const v = tf.variable(value, true);
    value.dispose();
    return v;
  };
  return {
    w1: init([3, 3, c, f1], 0.8, seed),
    w2: init([3, 3, f1, f2], 0.25, seed + 1),
    w3: init([3, 3, f2, f3], 0.2, seed + 2),
  };
}

/** ...or through the fused spike kernels (kernels/spike.ts). Same values and gradients. */
const fusedSpike = (v: tf.Tensor) =>
  spikeOp(v, { threshold: THRESHOLD, surrogate: { kind: 'sigmoid', alpha: ALPHA }, firing: 'gt' });

/** Forward pass: spikes of the third layer, [N, H/4, W/4, f3]. */
export function convStackForward(
  stack: ConvStack,
  x: tf.Tensor4D,
  spike: 'fused' | 'customGrad' = 'fused',
): tf.Tensor4D {
  const s = spike === 'fused' ? fusedSpike : spikeSigmoid;
  return tf.tidy(() => {
    const a1 = s(tf.conv2d(x, stack.w1 as tf.Tensor4D, 2, 1));
    const a2 = s(tf.conv2d(a1 as tf.Tensor4D, stack.w2 as tf.Tensor4D, 2, 1));
    return s(tf.conv2d(a2 as tf.Tensor4D, stack.w3 as tf.Tensor4D, 1, 1)) as tf.Tensor4D;
  });
}

/** Training-module entry (see parallel/types.ts): batch `{ x: [N, H, W, C] }`, loss = mean of the spikes. */
export function buildModel(config: ConvStackConfig, _ctx?: TrainModuleContext): TrainableModel {
  const stack = createConvStack(config);
  return {
    variables: { w1: stack.w1, w2: stack.w2, w3: stack.w3 },
    loss: (batch) => tf.mean(convStackForward(stack, batch.x as tf.Tensor4D, config.spike)) as tf.Scalar,
    dispose: () => {
      stack.w1.dispose();
      stack.w2.dispose();
      stack.w3.dispose();
    },
  };
}
