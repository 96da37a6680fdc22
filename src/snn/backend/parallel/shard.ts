/** Splitting a batch into shards and combining the shards' gradients. */
import { SpikedriveError } from '../../../util/errors.ts';
import type { HostTensor, HostTensors } from './types.ts';

/** Number of examples in a batch (leading axis, the same for every tensor). */
export function batchSize(batch: HostTensors): number {
  const entries = Object.entries(batch);
  if (entries.length === 0) {
    throw new SpikedriveError('Empty batch: no tensors', {
      subject: 'batch',
      fix: 'pass at least one tensor, e.g. { x: { shape, dtype, data } }',
    });
  }
  let n = -1;
  for (const [name, t] of entries) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.shape.length === 0 || size !== t.data.length) {
      throw new SpikedriveError(`Batch tensor '${name}' has shape [${t.shape}] but ${t.data.length} values`, {
        subject: name,
        fix: 'give every batch tensor a leading batch axis and exactly shape-product values',
      });
    }
    if (n === -1) n = t.shape[0];
    else if (t.shape[0] !== n) {
      throw new SpikedriveError(`Batch tensor '${name}' has ${t.shape[0]} examples, others have ${n}`, {
        subject: name,
        fix: 'all tensors of a batch must share the leading (example) axis',
      });
    }
  }
  return n;
}

/** Example counts of `parts` near-equal contiguous shards (larger ones first; zeros dropped). */
export function shardSizes(examples: number, parts: number): number[] {
  const base = Math.floor(examples / parts);
  const extra = examples % parts;
  const sizes: number[] = [];
  for (let i = 0; i < parts; i++) sizes.push(base + (i < extra ? 1 : 0));
  return sizes.filter((s) => s > 0);
}

/** Contiguous shards along axis 0. The data are copies, safe to transfer to another thread. */
export function splitBatch(batch: HostTensors, parts: number): { batch: HostTensors; examples: number }[] {
  const n = batchSize(batch);
  const shards: { batch: HostTensors; examples: number }[] = [];
  let start = 0;
  for (const size of shardSizes(n, parts)) {
    const shard: HostTensors = {};
    for (const [name, t] of Object.entries(batch)) {
      const per = t.data.length / n;
      shard[name] = {
        shape: [size, ...t.shape.slice(1)],
        dtype: t.dtype,
        data: t.data.slice(start * per, (start + size) * per),
      } as HostTensor;
    }
    shards.push({ batch: shard, examples: size });
    start += size;
  }
  return shards;
}

/**
 * Σ (examples_s / total) · grads_s per variable: the gradient of the whole-batch mean loss when every shard's
 * loss is a mean over its examples. Results live in SharedArrayBuffers so they can go to every worker uncopied.
 */
export function averageGradients(parts: { grads: HostTensors; examples: number }[]): HostTensors {
  const total = parts.reduce((a, p) => a + p.examples, 0);
  const out: HostTensors = {};
  const names = Object.keys(parts[0].grads);
  for (const name of names) {
    const first = parts[0].grads[name];
    const acc = new Float32Array(new SharedArrayBuffer(first.data.length * 4));
    for (const p of parts) {
      const g = p.grads[name]?.data;
      if (!g || g.length !== acc.length)
        throw new Error(`gradient '${name}' missing or mis-sized in a shard`);
      const w = p.examples / total;
      for (let i = 0; i < acc.length; i++) acc[i] += w * g[i];
    }
    out[name] = { shape: [...first.shape], dtype: 'float32', data: acc };
  }
  return out;
}
