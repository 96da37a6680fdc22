import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { NirNode } from '../nir/types.ts';
import { numel } from '../nir/types.ts';
import { internalShape } from '../sim/layout.ts';
import type { FixedModel, FixedPopulation, FixedProjection } from './model.ts';

/**
 * The bit-exact integer reference of a fixed-point model (what an FPGA, or the emitted Verilog, computes). Integer
 * sums run through tfjs convolutions on float32 values that hold integers: exact while every partial sum stays
 * below 2^24, which is guaranteed by splitting the input channels into chunks whose worst case fits, and adding the
 * chunks in float64. Everything else (requantisation, neuron updates) is plain integer arithmetic in JS.
 */

export interface FixedRunResult {
  /** Output name → [T, B, …internal]: spikes, or readouts dequantised to real values. */
  outputs: Map<string, tf.Tensor>;
  /** Integer readouts before dequantisation (for bit-exact comparisons), [T·B·…] in internal order. */
  rawOutputs: Map<string, Int32Array>;
  /** Per population: spikes emitted, synaptic ops (input spikes × fan-out) and dense MACs, over the run. */
  activity: Map<string, { spikes: number; synapticOps: number; denseMacs: number; neuronUpdates: number }>;
}

function pads(
  c: NonNullable<FixedProjection['conv']>,
): number | [[number, number], [number, number], [number, number], [number, number]] {
  return c.padding[0] === c.padding[1]
    ? c.padding[0]
    : [
        [0, 0],
        [c.padding[0], c.padding[0]],
        [c.padding[1], c.padding[1]],
        [0, 0],
      ];
}

/** Largest input-channel chunk whose worst-case integer sum stays below 2^24. */
function chunkSize(
  perChannelFanIn: number,
  maxAbsInput: number,
  maxAbsWeight: number,
  channels: number,
): number {
  const limit = 2 ** 24;
  const per = perChannelFanIn * maxAbsInput * Math.max(maxAbsWeight, 1);
  return Math.max(1, Math.min(channels, Math.floor((limit - 1) / Math.max(per, 1))));
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Runs a path node (pooling as integer sums, flatten) on [N, …internal]. */
function runPath(node: NirNode, x: tf.Tensor, inShape: number[], outShape: number[]): tf.Tensor {
  return tf.tidy(() => {
    if (node.type === 'SumPool2d' || node.type === 'AvgPool2d') {
      const c = inShape[0];
      const ones = tf.ones([node.kernelSize[0], node.kernelSize[1], c, 1]);
      return tf.depthwiseConv2d(
        x as tf.Tensor4D,
        ones as tf.Tensor4D,
        node.stride,
        [
          [0, 0],
          [node.padding[0], node.padding[0]],
          [node.padding[1], node.padding[1]],
          [0, 0],
        ],
        'NHWC',
      );
    }
    if (node.type === 'Flatten') {
      const lead = x.shape[0];
      const nir =
        inShape.length >= 2
          ? tf.transpose(x, [
              0,
              inShape.length,
              ...Array.from({ length: inShape.length - 1 }, (_, i) => i + 1),
            ])
          : x;
      const flat = tf.reshape(nir, [lead, ...outShape]);
      return outShape.length >= 2
        ? tf.transpose(flat, [0, ...Array.from({ length: outShape.length - 1 }, (_, i) => i + 2), 1])
        : flat;
    }
    // Junctions (identity Scale) and anything that passes values through unchanged.
    return x.clone();
  });
}

/** The integer accumulation of one projection over all steps: [N·elements] in the target's internal layout. */
function accumulate(
  proj: FixedProjection,
  src: tf.Tensor,
  model: FixedModel,
  target: FixedPopulation,
): Float64Array {
  let x = src;
  const path = [...proj.path].reverse();
  for (const name of path) {
    const node = model.graph.nodes.get(name) as NirNode;
    const s = model.shapes.get(name);
    const next = runPath(node, x, s?.input ?? [], s?.output ?? []);
    if (x !== src) x.dispose();
    x = next;
  }
  try {
    const xData = x.dataSync();
    const xMax = maxAbs(xData);
    if (proj.weights === null) return Float64Array.from(xData);
    const wMax = maxAbs(proj.weights);
    if (proj.conv !== null) {
      const c = proj.conv;
      const [kh, kw] = c.kernel;
      const cout = c.outChannels;
      const cin = c.inChannels;
      const chunk = chunkSize(kh * kw, xMax, wMax, cin);
      // OIHW ints → HWIO floats (exact).
      const hwio = new Float32Array(proj.weights.length);
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cin; i++)
          for (let y = 0; y < kh; y++)
            for (let z = 0; z < kw; z++)
              hwio[((y * kw + z) * cin + i) * cout + o] = proj.weights[((o * cin + i) * kh + y) * kw + z];
      let total: Float64Array | null = null;
      for (let start = 0; start < cin; start += chunk) {
        const size = Math.min(chunk, cin - start);
        const part = tf.tidy(() => {
          const w = tf.slice(
            tf.tensor4d(hwio, [kh, kw, cin, cout]),
            [0, 0, start, 0],
            [kh, kw, size, cout],
          ) as tf.Tensor4D;
          const xs = tf.slice(x, [0, 0, 0, start], [-1, -1, -1, size]) as tf.Tensor4D;
          return tf.conv2d(xs, w, c.stride, pads(c), 'NHWC', c.dilation);
        });
        const data = part.dataSync();
        part.dispose();
        if (total === null) total = Float64Array.from(data);
        else for (let i = 0; i < data.length; i++) total[i] += data[i];
      }
      return total ?? new Float64Array(0);
    }
    if (proj.dense !== null) {
      const { inFeatures, outFeatures } = proj.dense;
      const chunk = chunkSize(1, xMax, wMax, inFeatures);
      const wt = new Float32Array(inFeatures * outFeatures);
      for (let o = 0; o < outFeatures; o++)
        for (let i = 0; i < inFeatures; i++) wt[i * outFeatures + o] = proj.weights[o * inFeatures + i];
      let total: Float64Array | null = null;
      for (let start = 0; start < inFeatures; start += chunk) {
        const size = Math.min(chunk, inFeatures - start);
        const part = tf.tidy(() => {
          const xs = tf.slice(tf.reshape(x, [-1, inFeatures]), [0, start], [-1, size]) as tf.Tensor2D;
          const w = tf.slice(
            tf.tensor2d(wt, [inFeatures, outFeatures]),
            [start, 0],
            [size, outFeatures],
          ) as tf.Tensor2D;
          return tf.matMul(xs, w);
        });
        const data = part.dataSync();
        part.dispose();
        if (total === null) total = Float64Array.from(data);
        else for (let i = 0; i < data.length; i++) total[i] += data[i];
      }
      return total ?? new Float64Array(0);
    }
    throw new SpikedriveError(`Projection into ${target.name} has weights but no geometry`, {
      subject: target.name,
      fix: 'Report this FPGA export bug.',
    });
  } finally {
    if (x !== src) x.dispose();
  }
}

/** Round-half-up (acc·m) ≫ k on plain numbers (|acc·m| < 2^53). */
function requant(acc: number, m: number, k: number): number {
  return k === 0 ? acc * m : Math.floor((acc * m + 2 ** (k - 1)) / 2 ** k);
}

/**
 * Runs the fixed-point model on real-valued inputs ([T, B, …internal] per graph input, quantised to int8 with each
 * input's scale) and returns spikes/readouts. Neuron state starts at V_reset for every call (one sample per call,
 * as SAD resets after every forward).
 */
export function runFixedModel(model: FixedModel, inputs: Map<string, tf.Tensor>): FixedRunResult {
  const values = new Map<string, tf.Tensor>();
  const activity: FixedRunResult['activity'] = new Map();
  let steps = -1;
  let batch = -1;
  try {
    for (const input of model.inputs) {
      const x = inputs.get(input.name);
      if (x === undefined) {
        throw new SpikedriveError(`No input for ${input.name}`, {
          subject: input.name,
          fix: `Pass every graph input: ${model.inputs.map((i) => i.name).join(', ')}.`,
        });
      }
      steps = x.shape[0] as number;
      batch = x.shape[1] as number;
      const folded = tf.reshape(x, [steps * batch, ...x.shape.slice(2)]);
      if (input.spiking) {
        const data = folded.dataSync();
        for (let i = 0; i < data.length; i++) {
          if (data[i] !== 0 && data[i] !== 1) {
            folded.dispose();
            throw new SpikedriveError(`Input ${input.name} is declared spiking but holds ${data[i]}`, {
              subject: input.name,
              fix: 'Feed binary spikes (0/1), or leave the input out of spikingInputs.',
            });
          }
        }
        values.set(input.name, folded);
      } else {
        values.set(
          input.name,
          tf.tidy(() => tf.clipByValue(tf.round(tf.div(folded, input.scale)), -128, 127)),
        );
        folded.dispose();
      }
    }
    const rawOutputs = new Map<string, Int32Array>();
    for (const pop of model.populations) {
      const per = numel(pop.shape);
      const total = steps * batch * per;
      const x = new Float64Array(total);
      let synapticOps = 0;
      let denseMacs = 0;
      for (const proj of pop.projections) {
        const src = values.get(proj.source);
        if (src === undefined) {
          throw new SpikedriveError(`${pop.name} reads ${proj.source}, which has not run`, {
            subject: pop.name,
            fix: 'Recurrent graphs are not supported by the fixed-point runner.',
          });
        }
        const acc = accumulate(proj, src, model, pop);
        if (acc.length !== total) {
          throw new SpikedriveError(
            `Projection ${proj.source} → ${pop.name} gives ${acc.length} values, expected ${total}`,
            {
              subject: pop.name,
              fix: 'Report this FPGA export bug.',
            },
          );
        }
        const fanOut = proj.conv
          ? (proj.conv.outChannels * proj.conv.kernel[0] * proj.conv.kernel[1]) /
            (proj.conv.stride[0] * proj.conv.stride[1])
          : proj.dense
            ? proj.dense.outFeatures
            : 1;
        if (proj.sourceSpiking) {
          const s = src.dataSync();
          let spikes = 0;
          for (let i = 0; i < s.length; i++) if (s[i] !== 0) spikes++;
          synapticOps += spikes * fanOut;
        } else {
          denseMacs +=
            (proj.conv
              ? proj.conv.inChannels * proj.conv.kernel[0] * proj.conv.kernel[1]
              : proj.dense
                ? proj.dense.inFeatures
                : 1) * total;
        }
        const rq = proj.requant;
        const c = pop.channels;
        if (rq === null) {
          for (let i = 0; i < total; i++) x[i] += acc[i];
        } else {
          for (let i = 0; i < total; i++) x[i] += requant(acc[i], rq.multipliers[i % c], rq.shift);
        }
      }
      const out = new Float32Array(total);
      const raw = new Int32Array(total);
      const lo = -(2 ** (pop.stateBits - 1));
      const hi = 2 ** (pop.stateBits - 1) - 1;
      const sat = (v: number) => Math.max(lo, Math.min(v, hi));
      const c = pop.channels;
      let spikes = 0;
      const v = new Int32Array(batch * per);
      for (let i = 0; i < v.length; i++) v[i] = pop.vReset[i % c];
      for (let t = 0; t < steps; t++) {
        for (let j = 0; j < batch * per; j++) {
          const i = t * batch * per + j;
          const ch = j % c;
          const xi = sat(x[i] + pop.bias[ch]);
          if (pop.type === 'Readout') {
            raw[i] = xi;
            out[i] = xi * pop.scale[ch];
            continue;
          }
          let h: number;
          if (pop.type === 'Threshold') h = xi;
          else if (pop.leak.kind === 'none') h = sat(v[j] + xi);
          else {
            const d = xi - v[j] + pop.vReset[ch];
            h = sat(
              v[j] +
                (pop.leak.kind === 'shift'
                  ? Math.floor(d / 2 ** pop.leak.shift)
                  : Math.floor((d * pop.leak.multiplier) / 65536)),
            );
          }
          const fire = pop.firing === 'geq' ? h >= pop.threshold[ch] : h > pop.threshold[ch];
          out[i] = fire ? 1 : 0;
          raw[i] = h;
          if (fire) spikes++;
          if (pop.type !== 'Threshold')
            v[j] = fire ? (pop.reset === 'hard' ? pop.vReset[ch] : sat(h - pop.threshold[ch])) : h;
        }
      }
      activity.set(pop.name, {
        spikes,
        synapticOps,
        denseMacs,
        neuronUpdates: pop.type === 'Readout' ? 0 : total,
      });
      values.set(pop.name, tf.tensor(out, [steps * batch, ...internalShape(pop.shape)]));
      rawOutputs.set(pop.name, raw);
    }
    const outputs = new Map<string, tf.Tensor>();
    const raws = new Map<string, Int32Array>();
    for (const o of model.outputs) {
      const y = values.get(o.source) as tf.Tensor;
      outputs.set(o.name, tf.reshape(y, [steps, batch, ...y.shape.slice(1)]));
      raws.set(o.name, rawOutputs.get(o.source) ?? new Int32Array(0));
    }
    return { outputs, rawOutputs: raws, activity };
  } finally {
    tf.dispose([...values.values()]);
  }
}
