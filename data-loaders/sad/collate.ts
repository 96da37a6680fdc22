import { SpikedriveError } from '../../src/util/index.ts';
import type { SadArray, SadBatch, SadSample, SadTypedArray } from './types.ts';

function stack<T extends SadTypedArray>(arrays: SadArray<T>[], name: string): SadArray<T> {
  const first = arrays[0];
  for (const a of arrays) {
    if (a.shape.length !== first.shape.length || a.shape.some((d, i) => d !== first.shape[i])) {
      throw new SpikedriveError(
        `cannot batch samples whose ${name} shapes differ ([${first.shape}] vs [${a.shape}])`,
        { subject: name, fix: 'Batch samples made with the same SAD data options.' },
      );
    }
  }
  if (arrays.length === 1) return { data: first.data, shape: [1, ...first.shape] };
  const out = new (first.data.constructor as new (n: number) => T)(first.data.length * arrays.length);
  arrays.forEach((a, i) => {
    out.set(a.data, i * first.data.length);
  });
  return { data: out, shape: [arrays.length, ...first.shape] };
}

/** Stacks samples on a new leading batch axis (the reference's default collate). */
export function collateSadSamples(samples: readonly SadSample[]): SadBatch {
  if (samples.length === 0) {
    throw new SpikedriveError('cannot make a batch of no samples', {
      subject: 'batch',
      fix: 'Pass at least one sample.',
    });
  }
  const first = samples[0];
  if (
    samples.some(
      (s) =>
        s.receptiveField !== first.receptiveField ||
        s.spatialExtent[0] !== first.spatialExtent[0] ||
        s.spatialExtent[1] !== first.spatialExtent[1],
    )
  ) {
    throw new SpikedriveError('cannot batch samples made with different receptive fields or BEV bounds', {
      subject: 'batch',
      fix: 'Batch samples made with the same SAD data options.',
    });
  }
  const withImages = samples.every((s) => s.images);
  const withHdmap = samples.every((s) => s.hdmap);
  return {
    indices: samples.map((s) => s.index),
    receptiveField: first.receptiveField,
    spatialExtent: [...first.spatialExtent],
    sampleTokens: samples.map((s) => s.sampleTokens),
    images: withImages
      ? stack(
          samples.map((s) => s.images as SadArray<Float32Array>),
          'images',
        )
      : undefined,
    intrinsics: stack(
      samples.map((s) => s.intrinsics),
      'intrinsics',
    ),
    extrinsics: stack(
      samples.map((s) => s.extrinsics),
      'extrinsics',
    ),
    futureEgomotion: stack(
      samples.map((s) => s.futureEgomotion),
      'futureEgomotion',
    ),
    segmentation: stack(
      samples.map((s) => s.segmentation),
      'segmentation',
    ),
    pedestrian: stack(
      samples.map((s) => s.pedestrian),
      'pedestrian',
    ),
    instance: stack(
      samples.map((s) => s.instance),
      'instance',
    ),
    centerness: stack(
      samples.map((s) => s.centerness),
      'centerness',
    ),
    offset: stack(
      samples.map((s) => s.offset),
      'offset',
    ),
    flow: stack(
      samples.map((s) => s.flow),
      'flow',
    ),
    hdmap: withHdmap
      ? stack(
          samples.map((s) => s.hdmap as SadArray<Uint8Array>),
          'hdmap',
        )
      : undefined,
    gtTrajectory: stack(
      samples.map((s) => s.gtTrajectory),
      'gtTrajectory',
    ),
    commands: samples.map((s) => s.command),
    samplerInputs: samples.map((s) => s.samplerInputs),
    targetPoint: {
      data: Float32Array.from(samples.flatMap((s) => s.targetPoint)),
      shape: [samples.length, 2],
    },
  };
}

/** The transferable buffers of a sample (for zero-copy postMessage). */
export function sampleBuffers(sample: SadSample): ArrayBuffer[] {
  const arrays = [
    sample.images,
    sample.intrinsics,
    sample.extrinsics,
    sample.futureEgomotion,
    sample.segmentation,
    sample.pedestrian,
    sample.instance,
    sample.centerness,
    sample.offset,
    sample.flow,
    sample.hdmap,
    sample.gtTrajectory,
  ];
  const buffers = new Set<ArrayBuffer>();
  for (const a of arrays) {
    if (a && a.data.buffer instanceof ArrayBuffer && a.data.byteLength === a.data.buffer.byteLength) {
      buffers.add(a.data.buffer);
    }
  }
  return [...buffers];
}
