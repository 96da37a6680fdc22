// Adam exactly as torch.optim.Adam (weight decay as L2 added to the gradient, not AdamW; eps outside the bias-
// corrected square root) and torch.nn.utils.clip_grad_norm_ (global L2 norm over every gradient), which is what
// PyTorch Lightning's `gradient_clip_val` calls. tfjs's own AdamOptimizer has no weight decay and puts eps inside
// the correction, so it is hand-written here (a few lines of tensor ops).
import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../util/errors.ts';

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

/** The optimiser state as plain arrays (saved beside a checkpoint for `--resume`). */
export interface AdamState {
  step: number;
  /** Per parameter name: first and second moments. */
  moments: Map<string, { expAvg: Float32Array; expAvgSq: Float32Array; shape: number[] }>;
}

/**
 * The global gradient norm, and the gradients scaled by min(1, maxNorm / (norm + 1e-6)) when maxNorm > 0
 * (clip_grad_norm_ with norm_type 2). Returns new tensors; the inputs are not disposed.
 */
export function clipGradientsByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  maxNorm: number,
): { grads: Record<string, tf.Tensor>; norm: number } {
  const names = Object.keys(grads);
  const norm = tf.tidy(() => {
    if (names.length === 0) return 0;
    const squares = names.map((n) => tf.sum(tf.square(grads[n])));
    return Math.sqrt(tf.addN(squares).dataSync()[0]);
  });
  const coef = maxNorm > 0 ? maxNorm / (norm + 1e-6) : 1;
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) out[n] = coef < 1 ? tf.mul(grads[n], coef) : tf.clone(grads[n]);
  return { grads: out, norm };
}

/** A non-trainable variable initialised from `initial`, which is freed (tf.variable keeps its own reference). */
function ownedVariable(initial: tf.Tensor): tf.Variable {
  const v = tf.variable(initial, false);
  initial.dispose();
  return v;
}

export class Adam {
  learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(options: AdamOptions) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    if (!(this.learningRate > 0)) {
      throw new SpikedriveError(`the learning rate must be > 0, got ${this.learningRate}`, {
        subject: 'OPTIMIZER.LR',
        fix: 'Set OPTIMIZER.LR, e.g. 1e-4.',
      });
    }
  }

  /**
   * One update of the named variables with the named gradients (a variable without a gradient is skipped, as
   * PyTorch skips parameters whose .grad is None). Gradients are not disposed.
   */
  apply(variables: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    this.step++;
    const t = this.step;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const stepSize = this.learningRate / bc1;
    const sqrtBc2 = Math.sqrt(bc2);
    for (const [name, variable] of variables) {
      const grad = grads[name];
      if (grad === undefined) continue;
      let m = this.m.get(name);
      let v = this.v.get(name);
      if (m === undefined || v === undefined) {
        m = ownedVariable(tf.zerosLike(variable));
        v = ownedVariable(tf.zerosLike(variable));
        this.m.set(name, m);
        this.v.set(name, v);
      }
      const mm = m;
      const vv = v;
      tf.tidy(() => {
        const g = this.weightDecay > 0 ? tf.add(grad, tf.mul(variable, this.weightDecay)) : grad;
        const mNew = tf.add(tf.mul(mm, this.beta1), tf.mul(g, 1 - this.beta1));
        const vNew = tf.add(tf.mul(vv, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        mm.assign(mNew);
        vv.assign(vNew);
        const denom = tf.add(tf.div(tf.sqrt(vNew), sqrtBc2), this.eps);
        variable.assign(tf.sub(variable, tf.mul(tf.div(mNew, denom), stepSize)));
      });
    }
  }

  /** Copies the state out (for a resumable checkpoint). */
  getState(): AdamState {
    const moments: AdamState['moments'] = new Map();
    for (const [name, m] of this.m) {
      const v = this.v.get(name) as tf.Variable;
      moments.set(name, {
        expAvg: Float32Array.from(m.dataSync() as Float32Array),
        expAvgSq: Float32Array.from(v.dataSync() as Float32Array),
        shape: [...m.shape],
      });
    }
    return { step: this.step, moments };
  }

  /** Restores a saved state; moments of names not in `shapes` or of another shape are an error. */
  setState(state: AdamState, shapes: Map<string, number[]>): void {
    for (const [name, entry] of state.moments) {
      const shape = shapes.get(name);
      const size = shape?.reduce((a, b) => a * b, 1);
      if (shape === undefined || size !== entry.expAvg.length || size !== entry.expAvgSq.length) {
        throw new SpikedriveError(`optimiser state for ${name} does not match the model`, {
          subject: name,
          fix: 'Resume with the same config and stage the checkpoint was trained with, or start without --resume.',
        });
      }
    }
    this.disposeState();
    this.step = state.step;
    for (const [name, entry] of state.moments) {
      const shape = shapes.get(name) as number[];
      this.m.set(name, ownedVariable(tf.tensor(entry.expAvg, shape)));
      this.v.set(name, ownedVariable(tf.tensor(entry.expAvgSq, shape)));
    }
  }

  private disposeState(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }

  dispose(): void {
    this.disposeState();
  }
}
