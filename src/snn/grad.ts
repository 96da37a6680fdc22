import * as tf from '@tensorflow/tfjs';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/** The result a custom-gradient function returns: the forward value and dL/d(inputs) from dL/d(value). */
export interface CustomGradResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/** `tf.customGrad` for a one-input op, with the input typed (tfjs types every argument as `Tensor | GradSaveFunc`). */
export function customGrad1(
  f: (x: tf.Tensor, save: tf.GradSaveFunc) => CustomGradResult,
): (x: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) =>
    f(args[0] as tf.Tensor, args[1] as tf.GradSaveFunc)) as CustomGradientFunc);
  return (x) => op(x);
}

/** `tf.customGrad` for a two-input op. */
export function customGrad2(
  f: (a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => CustomGradResult,
): (a: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) =>
    f(args[0] as tf.Tensor, args[1] as tf.Tensor, args[2] as tf.GradSaveFunc)) as CustomGradientFunc);
  return (a, b) => op(a, b);
}
