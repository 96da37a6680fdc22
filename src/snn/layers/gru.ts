import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { Rng } from '../../util/rng.ts';
import { HeavisideActivation } from '../neurons/node.ts';
import { ATAN_SURROGATE, type SurrogateSpec } from '../surrogate.ts';
import { layerRng } from './init.ts';
import { Linear } from './linear.ts';
import { type ForwardContext, SnnModule } from './module.ts';

export interface SpikingGruCellOptions {
  inputSize: number;
  hiddenSize: number;
  bias?: boolean;
  /** Gates r and z (and n when `surrogate2` is absent). SpikingJelly's default is Erf; SAD passes ATan(α=2). */
  surrogate1?: SurrogateSpec;
  /** Candidate n. SAD passes ATan(α=2). */
  surrogate2?: SurrogateSpec;
  rng?: Rng;
}

/**
 * `SpikingGRUCell` (SpikingJelly 0.0.0.0.12 `clock_driven/rnn.py`), the SAD planner's refiner: with
 * [r, z, n]-split projections y_ih = W_ih·x + b_ih and y_hh = W_hh·h + b_hh,
 *   r = Θ(y_ih,r + y_hh,r), z = Θ(y_ih,z + y_hh,z), n = Θ(y_ih,n + r ⊙ y_hh,n), h' = (1 − z) ⊙ n + z ⊙ h,
 * with Θ the Heaviside step (≥ 0) and surrogate gradients. Weights and biases start U(±1/√hidden).
 * Children `linear_ih`, `linear_hh` (PyTorch [3·hidden, in] weights), `surrogate_function1/2`.
 */
export class SpikingGruCell extends SnnModule {
  readonly kind = 'spiking_gru_cell';
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly linearIh: Linear;
  readonly linearHh: Linear;
  private readonly gate1: HeavisideActivation;
  private readonly gate2: HeavisideActivation;

  constructor(options: SpikingGruCellOptions) {
    super();
    this.inputSize = options.inputSize;
    this.hiddenSize = options.hiddenSize;
    const rng = layerRng(options.rng, 'spiking_gru_cell');
    const bound = Math.sqrt(1 / options.hiddenSize);
    this.linearIh = this.register(
      'linear_ih',
      new Linear({
        inFeatures: options.inputSize,
        outFeatures: 3 * options.hiddenSize,
        bias: options.bias,
        initBound: bound,
        rng: rng.fork('linear_ih'),
      }),
    );
    this.linearHh = this.register(
      'linear_hh',
      new Linear({
        inFeatures: options.hiddenSize,
        outFeatures: 3 * options.hiddenSize,
        bias: options.bias,
        initBound: bound,
        rng: rng.fork('linear_hh'),
      }),
    );
    const s1 = options.surrogate1 ?? ATAN_SURROGATE;
    this.gate1 = this.register('surrogate_function1', new HeavisideActivation({ surrogate: s1 }));
    this.gate2 = this.register(
      'surrogate_function2',
      new HeavisideActivation({ surrogate: options.surrogate2 ?? s1 }),
    );
  }

  /** x [B, input], h [B, hidden] (null = zeros) → h' [B, hidden]. */
  forward(x: tf.Tensor, h: tf.Tensor | null, ctx: ForwardContext = {}): tf.Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inputSize) {
      throw new SpikedriveError(
        `${this.name || 'SpikingGruCell'} expects input [B, ${this.inputSize}], got [${x.shape.join(', ')}]`,
        { subject: this.name || 'SpikingGruCell', fix: 'Pass one time step of features per call.' },
      );
    }
    const hidden = h ?? tf.zeros([x.shape[0], this.hiddenSize]);
    const yIh = this.linearIh.forward(x, ctx);
    const yHh = this.linearHh.forward(hidden, ctx);
    const out = tf.tidy(() => {
      const [ihR, ihZ, ihN] = tf.split(yIh, 3, 1);
      const [hhR, hhZ, hhN] = tf.split(yHh, 3, 1);
      const preR = tf.add(ihR, hhR);
      const preZ = tf.add(ihZ, hhZ);
      const r = this.gate1.forward(preR, ctx);
      const z = this.gate1.forward(preZ, ctx);
      const n = this.gate2.forward(tf.add(ihN, tf.mul(r, hhN)), ctx);
      return tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, hidden));
    });
    tf.dispose([yIh, yHh]);
    if (h === null) hidden.dispose();
    return out;
  }
}
