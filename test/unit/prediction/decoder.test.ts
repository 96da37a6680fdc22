// The BEV decoder (sad.md §4, decoder_snn_ms.py): the reused up1_lif on hand-checkable one-channel cases, head
// gating, the present-frame HD map, names against the reference state dict, shapes, frame schedules, memory.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_DECODER_HEADS,
  type DecoderHeadGates,
  type DecoderOutput,
  type FrameSchedule,
  SadDecoder,
} from '../../../src/prediction/index.ts';
import { Instrument } from '../../../src/snn/index.ts';
import { createRng } from '../../../src/util/rng.ts';
import {
  expectClose,
  expectSpikedriveError,
  hashInput,
  hashStateDict,
  referenceRows,
  setParams,
  useCpu,
  values,
  zeroParams,
} from './_helpers.ts';

beforeAll(useCpu);

const NO_HEADS: DecoderHeadGates = {
  perceiveHdmap: false,
  predictPedestrian: false,
  predictInstance: false,
  predictFutureFlow: false,
  planning: false,
};

function tiny(heads: DecoderHeadGates = ALL_DECODER_HEADS, nPresent = 2, active = true): SadDecoder {
  const decoder = new SadDecoder({
    inChannels: 5,
    nPresent,
    channels: [4, 6, 8],
    heads,
    rng: createRng('tiny-decoder'),
  });
  if (active) decoder.loadStateDict(hashStateDict(decoder, 6));
  return decoder;
}

function disposeOutput(out: DecoderOutput): void {
  tf.dispose(Object.values(out));
}

describe('SadDecoder parameter names', () => {
  it('equal the reference state dict rows decoder.* at the paper size (all heads on)', () => {
    const decoder = new SadDecoder({ inChannels: 70, nPresent: 3, heads: ALL_DECODER_HEADS });
    const ours = decoder.namedParameters().map((p) => [p.name, p.shape] as const);
    const reference = referenceRows(['decoder.']);
    expect(reference.size).toBe(159);
    expect(new Set(ours.map(([n]) => n))).toEqual(new Set(reference.keys()));
    for (const [name, shape] of ours) expect(shape, name).toEqual(reference.get(name));
    expect(ours.map(([n]) => n)).toEqual([...reference.keys()]);
    decoder.dispose();
  });

  it('leave out the heads whose gate is off', () => {
    const decoder = tiny(NO_HEADS, 2, false);
    const heads = new Set(
      decoder
        .namedParameters()
        .map((p) => p.name.split('.')[1])
        .filter((n) => n.endsWith('_head')),
    );
    expect(heads).toEqual(new Set(['segmentation_head']));
    decoder.dispose();
  });
});

describe('the reused output LIF (up1_lif)', () => {
  // One channel, every weight zero except: up1_skip's BN scale 0 (so up1_skip returns its skip, the decoder input,
  // exactly), and the segmentation head passes the spikes through (centre tap 1, BN ≈ identity, 1×1 → class 0).
  // So class-0 logits = the spikes of up1_lif's second call on the same input as its first call.
  function passThrough(): SadDecoder {
    const decoder = new SadDecoder({
      inChannels: 1,
      nPresent: 1,
      channels: [2, 2, 2],
      heads: NO_HEADS,
      rng: createRng(1),
    });
    zeroParams(decoder);
    const centre = new Array(9).fill(0);
    centre[4] = 1;
    setParams(decoder, {
      'decoder.up1_skip.upsample_layer.3.0.weight': [0],
      'decoder.segmentation_head.0.weight': centre,
      'decoder.segmentation_head.2.weight': [1, 0],
    });
    return decoder;
  }

  function spikesFor(frames: number[], schedule: FrameSchedule): number[][] {
    const decoder = passThrough();
    decoder.schedule = schedule;
    const x = tf.tidy(() =>
      tf.mul(
        tf.ones([1, frames.length, 8, 8, 1]),
        tf.reshape(tf.tensor1d(frames), [1, frames.length, 1, 1, 1]),
      ),
    );
    const out = decoder.forward(x);
    const seg = out.segmentation; // [1, S′, 8, 8, 2]
    const result = frames.map((_, t) =>
      tf
        .tidy(() => values(tf.slice(seg, [0, t, 0, 0, 0], [1, 1, 8, 8, 1])))
        .map((v) => Math.round(v * 1e4) / 1e4),
    );
    decoder.reset();
    disposeOutput(out);
    x.dispose();
    decoder.dispose();
    return result;
  }

  for (const schedule of ['layers', 'frames'] as FrameSchedule[]) {
    it(`continues its membrane from the first call into the second (one frame, ${schedule})`, () => {
      // Input 1.5: first call v = 0.75 (silent); second call v = 0.75 + (1.5 − 0.75)/2 = 1.125 → a spike at every
      // cell. A fresh membrane would give 0.75 again and no spike.
      const [frame] = spikesFor([1.5], schedule);
      expect(new Set(frame)).toEqual(new Set([1]));
    });

    it(`seeds the second call with the membrane after the last frame (two frames, ${schedule})`, () => {
      // Input (1.8, 0.2): first call v = 0.9, then 0.9 + (0.2 − 0.9)/2 = 0.55. Second call from 0.55:
      // 0.55 + (1.8 − 0.55)/2 = 1.175 → spike (reset 0), then 0.1 → silent: (1, 0). From rest it would be (0, 0).
      const [f0, f1] = spikesFor([1.8, 0.2], schedule);
      expect(new Set(f0)).toEqual(new Set([1]));
      expect(new Set(f1)).toEqual(new Set([0]));
      // Input (1.0, 1.6): first call 0.5, then 1.05 → spike, reset to 0. Second call from 0: 0.5, then 1.05 →
      // (0, 1). Interleaving the two calls frame by frame would give (0, 0) (0.75, then 1.175 fires in the first).
      const [g0, g1] = spikesFor([1.0, 1.6], schedule);
      expect(new Set(g0)).toEqual(new Set([0]));
      expect(new Set(g1)).toEqual(new Set([1]));
    });
  }

  it('is one neuron called twice per forward (instrumented: calls = 2), reset clears it', () => {
    const decoder = passThrough();
    decoder.schedule = 'layers';
    const x = tf.fill([1, 1, 8, 8, 1], 1.5);
    const instrument = new Instrument();
    const out = decoder.forward(x, { instrument });
    const record = instrument.finishSync();
    const up1 = record.layers.find((l) => l.name === 'decoder.up1_lif');
    expect(up1?.calls).toBe(2);
    expect(up1?.outputSpikes).toBe(64);
    expect(up1?.module).toBe('decoder');
    expect(values(decoder.up1Lif.membrane as tf.Tensor).every((v) => v === 0)).toBe(true);
    decoder.reset();
    expect(decoder.up1Lif.membrane).toBeNull();
    disposeOutput(out);
    x.dispose();
    decoder.dispose();
  });
});

describe('decoder heads', () => {
  it('give every gated head per frame with the reference shapes (HD map for the present frame only)', () => {
    const decoder = tiny();
    const x = hashInput([2, 4, 5, 16, 8], 'shapes', 2, 0.8); // B = 2, S′ = 4, X = 16, Y = 8
    const out = decoder.forward(x);
    decoder.reset();
    expect(out.segmentation.shape).toEqual([2, 4, 16, 8, 2]);
    expect(out.pedestrian?.shape).toEqual([2, 4, 16, 8, 2]);
    expect(out.hdmap?.shape).toEqual([2, 16, 8, 4]);
    expect(out.instanceCenter?.shape).toEqual([2, 4, 16, 8, 1]);
    expect(out.instanceOffset?.shape).toEqual([2, 4, 16, 8, 2]);
    expect(out.instanceFlow?.shape).toEqual([2, 4, 16, 8, 2]);
    expect(out.costvolume?.shape).toEqual([2, 4, 16, 8, 1]);
    // Centreness is a sigmoid output.
    const centre = values(out.instanceCenter as tf.Tensor);
    expect(centre.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(centre.some((v) => v > 0.01 && v < 0.99)).toBe(true);
    disposeOutput(out);
    x.dispose();
    decoder.dispose();
  });

  it('reads the HD map from frame S − 1 of each batch item', () => {
    // Give the HD-map head the segmentation head's first convs (no BN in hdmap_head, so set the segmentation BN to
    // identity) and the same 1×1: then hdmap[b] = segmentation[b, S − 1] (classes 0, 1) exactly.
    const decoder = tiny({ ...NO_HEADS, perceiveHdmap: true }, 3);
    const sd = decoder.stateDict();
    const seg0 = Array.from(sd.get('decoder.segmentation_head.0.weight')?.data as Float32Array);
    const seg2 = Array.from(sd.get('decoder.segmentation_head.2.weight')?.data as Float32Array);
    const segBias = Array.from(sd.get('decoder.segmentation_head.2.bias')?.data as Float32Array);
    setParams(decoder, {
      'decoder.segmentation_head.1.weight': 1,
      'decoder.segmentation_head.1.bias': 0,
      'decoder.segmentation_head.1.running_mean': 0,
      'decoder.segmentation_head.1.running_var': 1 - 1e-5,
      'decoder.hdmap_head.0.weight': seg0,
      'decoder.hdmap_head.1.weight': [...seg2, ...seg2],
      'decoder.hdmap_head.1.bias': [...segBias, ...segBias],
    });
    const x = hashInput([2, 4, 5, 8, 8], 'hdmap', 2, 0.8);
    const out = decoder.forward(x);
    decoder.reset();
    const present = tf.tidy(() =>
      tf.squeeze(tf.slice(out.segmentation, [0, 2, 0, 0, 0], [2, 1, 8, 8, 2]), [1]),
    );
    const hd = tf.tidy(() => tf.slice(out.hdmap as tf.Tensor, [0, 0, 0, 0], [2, 8, 8, 2]));
    expectClose(values(hd), values(present), 1e-5);
    expect(Object.keys(out).sort()).toEqual(['hdmap', 'segmentation']);
    tf.dispose([present, hd]);
    disposeOutput(out);
    x.dispose();
    decoder.dispose();
  });

  it('refuse flow without instances, a grid not divisible by 8, or too few frames for the HD map', () => {
    expectSpikedriveError(
      () => tiny({ ...NO_HEADS, predictFutureFlow: true }),
      /flow head needs the instance heads/,
      /INSTANCE_SEG/,
    );
    const decoder = tiny(ALL_DECODER_HEADS, 3, false);
    const odd = tf.zeros([1, 3, 12, 8, 5]);
    expectSpikedriveError(() => decoder.forward(odd), /must be a multiple of 8/);
    const short = tf.zeros([1, 2, 8, 8, 5]);
    expectSpikedriveError(() => decoder.forward(short), /reads present frame 2 but only 2 frames/);
    const channels = tf.zeros([1, 3, 8, 8, 4]);
    expectSpikedriveError(() => decoder.forward(channels), /built for 5 BEV channels, got 4/);
    tf.dispose([odd, short, channels]);
    decoder.dispose();
  });
});

describe('decoder schedules and memory', () => {
  it('gives the same heads layer by layer, frame by frame, fused or not, and frees what it allocates', () => {
    const decoder = tiny();
    const x = hashInput([2, 3, 5, 8, 16], 'schedules', 2, 0.8);
    const run = (schedule: FrameSchedule, fuse: boolean) => {
      decoder.schedule = schedule;
      decoder.fuseHeads = fuse;
      const out = decoder.forward(x);
      decoder.reset();
      const flat = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, values(v)]));
      disposeOutput(out);
      return flat;
    };
    const chunked = () => {
      // auto with a budget of two frames of the wide heads map: chunks 2 + 1.
      decoder.chunkBytes = 2 * (2 * 8 * 16 * 5 * 6 * 4); // six per-frame heads of C′ = 5
      decoder.schedule = 'auto';
      expect(decoder.chunks(3, 2, 8, 16)).toEqual([2, 1]);
      const r = run('auto', true);
      decoder.chunkBytes = 2 ** 28;
      return r;
    };
    const all = () => ({
      reference: run('layers', false),
      streamed: run('frames', true),
      fused: run('layers', true),
      auto: chunked(),
    });
    all(); // warm-up: the folded-BN and fused-head caches persist by design
    const baseline = tf.memory().numTensors;
    const { reference, streamed, fused, auto } = all();
    for (const key of Object.keys(reference)) {
      expectClose(streamed[key], reference[key], 1e-5);
      expectClose(fused[key], reference[key], 1e-5);
      expectClose(auto[key], reference[key], 1e-5);
    }
    // Some spikes reach the heads at these weights (the test is not comparing silence).
    expect(new Set(reference.segmentation).size).toBeGreaterThan(10);
    expect(tf.memory().numTensors).toBe(baseline);
    x.dispose();
    decoder.dispose();
  });

  it('trains: gradients reach the first conv through both up1_lif calls', () => {
    const decoder = tiny({ ...NO_HEADS, planning: true }).train();
    const x = hashInput([1, 2, 5, 8, 8], 'grad', 2, 0.8);
    const { value, grads } = tf.variableGrads(() => {
      const out = decoder.forward(x);
      decoder.reset();
      const loss = tf.add(
        tf.sum(tf.square(out.segmentation)),
        tf.sum(out.costvolume as tf.Tensor),
      ) as tf.Scalar;
      disposeOutput(out);
      return loss;
    });
    const trainable = decoder.namedParameters().filter((p) => p.trainable);
    const vars = decoder.trainableVariables();
    const index = trainable.findIndex((p) => p.name === 'decoder.first_conv.0.weight');
    const g = grads[vars[index].name];
    expect(g).toBeDefined();
    expect(values(g).some((v) => v !== 0)).toBe(true);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    x.dispose();
    decoder.dispose();
  });
});
