import * as tf from '@tensorflow/tfjs';
import { createRng, type Rng } from '../../util/rng.ts';
import { sizeOf } from './module.ts';

/** The seeded source a layer draws its initial weights from; children fork it by name so order does not matter. */
export function layerRng(rng: Rng | undefined, label: string): Rng {
  return (rng ?? createRng('spikedrive-snn')).fork(label);
}

/** U(−bound, bound), the PyTorch default for conv/linear weights and biases with bound = 1/√fan_in. */
export function uniformTensor(shape: number[], bound: number, rng: Rng): tf.Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-bound, bound);
  return tf.tensor(data, shape, 'float32');
}

/** Truncated normal N(0, std²) cut at ±2 std (timm `trunc_normal_`, which the SAD encoder uses for convs). */
export function truncatedNormalTensor(shape: number[], std: number, rng: Rng): tf.Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) {
    let z = rng.normal();
    while (z < -2 || z > 2) z = rng.normal();
    data[i] = z * std;
  }
  return tf.tensor(data, shape, 'float32');
}
