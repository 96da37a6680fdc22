import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../util/errors.ts';
import { customGrad1 } from './grad.ts';

/**
 * Surrogate gradients: the forward pass is a Heaviside step Θ(x) (a spike), the backward pass uses the
 * derivative of a smooth stand-in. Formulas and defaults follow SpikingJelly 0.0.0.0.12 (the version SAD pins)
 * and snnTorch (`fast-sigmoid`); `docs/snn.md` lists them with sources.
 */
export type SurrogateSpec =
  /** SpikingJelly `surrogate.Sigmoid(alpha)`: g'(x) = α·σ(αx)·(1 − σ(αx)). SpikingJelly's default, α = 4. */
  | { kind: 'sigmoid'; alpha: number }
  /** SpikingJelly `surrogate.ATan(alpha)` = snnTorch `atan`: g'(x) = (α/2) / (1 + (π/2·α·x)²). α = 2. */
  | { kind: 'atan'; alpha: number }
  /** snnTorch `fast_sigmoid(slope)`: g'(x) = 1 / (k·|x| + 1)². k = 25. */
  | { kind: 'fast-sigmoid'; slope: number };

/**
 * When a neuron fires: `geq` is Θ(x) = 1 for x ≥ 0 (SpikingJelly, SAD); `gt` is x > 0 (snnTorch, NIR).
 */
export type Firing = 'geq' | 'gt';

export const SIGMOID_SURROGATE: SurrogateSpec = Object.freeze({ kind: 'sigmoid', alpha: 4 });
export const ATAN_SURROGATE: SurrogateSpec = Object.freeze({ kind: 'atan', alpha: 2 });
export const FAST_SIGMOID_SURROGATE: SurrogateSpec = Object.freeze({ kind: 'fast-sigmoid', slope: 25 });

/** Throws a SpikedriveError unless the spec names a known surrogate with a positive, finite constant. */
export function validateSurrogate(spec: SurrogateSpec, subject = 'surrogate'): SurrogateSpec {
  const constant = spec.kind === 'fast-sigmoid' ? spec.slope : spec.alpha;
  if (!['sigmoid', 'atan', 'fast-sigmoid'].includes(spec.kind)) {
    throw new SpikedriveError(`Unknown surrogate gradient "${(spec as { kind: string }).kind}"`, {
      subject,
      fix: 'Use one of: sigmoid (alpha), atan (alpha), fast-sigmoid (slope).',
    });
  }
  if (!(typeof constant === 'number' && Number.isFinite(constant) && constant > 0)) {
    throw new SpikedriveError(`Surrogate ${spec.kind} needs a positive finite constant, got ${constant}`, {
      subject,
      fix:
        spec.kind === 'fast-sigmoid'
          ? 'Set slope > 0 (snnTorch uses 25).'
          : 'Set alpha > 0 (4 for sigmoid, 2 for atan).',
    });
  }
  return spec;
}

/** g'(x) of a surrogate at one point, in float64 (for docs, tests and plots). */
export function surrogateGradient(spec: SurrogateSpec, x: number): number {
  switch (spec.kind) {
    case 'sigmoid': {
      const s = 1 / (1 + Math.exp(-spec.alpha * x));
      return spec.alpha * s * (1 - s);
    }
    case 'atan': {
      const u = (Math.PI / 2) * spec.alpha * x;
      return spec.alpha / 2 / (1 + u * u);
    }
    case 'fast-sigmoid': {
      const d = spec.slope * Math.abs(x) + 1;
      return 1 / (d * d);
    }
  }
}

/** g'(x) element-wise as tensor ops (float32, as the references compute it). */
export function surrogateGradientTensor(spec: SurrogateSpec, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (spec.kind) {
      case 'sigmoid': {
        const s = tf.sigmoid(tf.mul(x, spec.alpha));
        return tf.mul(tf.mul(s, tf.sub(1, s)), spec.alpha);
      }
      case 'atan': {
        const u = tf.mul(x, (Math.PI / 2) * spec.alpha);
        return tf.div(spec.alpha / 2, tf.add(1, tf.square(u)));
      }
      case 'fast-sigmoid': {
        const d = tf.add(tf.mul(tf.abs(x), spec.slope), 1);
        return tf.reciprocal(tf.square(d));
      }
    }
  });
}

/** Θ(x) as float32 0/1, with no gradient (comparisons have none in tfjs). */
export function heaviside(x: tf.Tensor, firing: Firing = 'geq'): tf.Tensor {
  return tf.tidy(() => tf.cast(firing === 'geq' ? tf.greaterEqual(x, 0) : tf.greater(x, 0), 'float32'));
}

/**
 * Whether a gradient tape is recording (inside `tf.grad`, `tf.variableGrads`, `optimizer.minimize`). Layers use
 * it to skip surrogate bookkeeping in pure inference; the forward values are identical either way.
 */
export function isRecordingGradients(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

type SpikeOp = (x: tf.Tensor) => tf.Tensor;
const spikeOps = new Map<string, SpikeOp>();

/**
 * The spike function Θ(x) whose gradient is the surrogate's g'(x). Built once per (surrogate, firing) pair.
 * `x` is the distance to threshold (v − θ).
 */
export function spikeFunction(spec: SurrogateSpec, firing: Firing = 'geq'): SpikeOp {
  const key = `${spec.kind}:${spec.kind === 'fast-sigmoid' ? spec.slope : spec.alpha}:${firing}`;
  let op = spikeOps.get(key);
  if (op === undefined) {
    validateSurrogate(spec);
    const custom = customGrad1((x, save) => {
      save([x]);
      return {
        value: heaviside(x, firing),
        gradFunc: (dy, saved) => tf.mul(dy, surrogateGradientTensor(spec, saved[0])),
      };
    });
    op = (x) => (isRecordingGradients() ? custom(x) : heaviside(x, firing));
    spikeOps.set(key, op);
  }
  return op;
}

/** Θ(x) with the surrogate's gradient; shorthand for `spikeFunction(spec, firing)(x)`. */
export function spike(x: tf.Tensor, spec: SurrogateSpec, firing: Firing = 'geq'): tf.Tensor {
  return spikeFunction(spec, firing)(x);
}

/** A copy of `x` whose gradient is zero (PyTorch's `.detach()`), used for `detach_reset`. */
export const detach: (x: tf.Tensor) => tf.Tensor = (() => {
  const custom = customGrad1((x) => ({
    value: tf.clone(x),
    gradFunc: (dy) => tf.zerosLike(dy),
  }));
  return (x: tf.Tensor) => (isRecordingGradients() ? custom(x) : tf.clone(x));
})();

/** Short human name of a surrogate, e.g. `atan(α=2)`. */
export function describeSurrogate(spec: SurrogateSpec): string {
  return spec.kind === 'fast-sigmoid' ? `fast-sigmoid(k=${spec.slope})` : `${spec.kind}(α=${spec.alpha})`;
}
