import * as tf from '@tensorflow/tfjs';
import { customGrad1 } from '../grad.ts';
import { isRecordingGradients } from '../surrogate.ts';

type Transform = (x: tf.Tensor) => tf.Tensor;
const wrappers = new WeakMap<Transform, (x: tf.Tensor) => tf.Tensor>();

/**
 * `quantise(x)` in the forward pass, identity in the backward pass (the straight-through estimator, as
 * `x + (q(x) − x).detach()` in the MatMul-free and Brevitas recipes). Outside a gradient tape it is just `quantise(x)`.
 */
export function straightThrough(x: tf.Tensor, quantise: Transform): tf.Tensor {
  if (!isRecordingGradients()) return quantise(x);
  let wrapped = wrappers.get(quantise);
  if (wrapped === undefined) {
    wrapped = customGrad1((input) => ({
      value: quantise(input),
      gradFunc: (dy) => tf.clone(dy),
    }));
    wrappers.set(quantise, wrapped);
  }
  return wrapped(x);
}
