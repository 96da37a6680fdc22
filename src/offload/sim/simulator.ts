import * as tf from '@tensorflow/tfjs';
import { lifForwardArrays, type NeuronParams } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/errors.ts';
import { neuronParamsFromMetadata } from '../nir/neurons.ts';
import { flattenShape } from '../nir/serialize.ts';
import type { NirGraph, NirNode, NirTensor } from '../nir/types.ts';
import { numel } from '../nir/types.ts';
import { internalShape, toInternalOrder } from './layout.ts';

/**
 * An executor of NIR graphs at a fixed dt: the `nir-sim` back end. Semantics (documented in docs/offload.md):
 *
 * - Time is discrete: one call of a node per step of dt. Several edges into a node add up. An edge that closes a
 *   cycle carries the previous step's value (zero at the first step), so recurrent graphs run step by step; a
 *   feed-forward graph runs node by node over all steps at once (the same numbers, fewer calls).
 * - Neurons use forward Euler at dt, in float32 with every operation rounded:
 *   LI/LIF  v ← v + (dt/τ)·((v_leak − v) + R·I)        I/IF  v ← v + (dt·R)·I
 *   CubaLI/CubaLIF  I_syn ← I_syn + (dt/τ_syn)·(w_in·x − I_syn), then the LI/LIF update driven by I_syn
 *   spiking nodes fire when v > v_threshold (strict, as NIR) and then set v := v_reset.
 *   Neurons exported by spikedrive carry their SpikingJelly parameters in `metadata/spikedrive`; with
 *   `honourMetadata` (default) those run SpikingJelly's own update (`lifForwardArrays`, the tfjs path's fused
 *   loop), so spikes equal the tfjs model bit for bit. Their NIR parameters give the same numbers through the
 *   Euler path too (τ = 2·dt makes dt/τ exactly ½).
 * - Tensors at the API are channels last like `src/snn`: a NIR [C, H, W] input is fed as [T, B, H, W, C], a
 *   vector [N] as [T, B, N]. Neuron state persists across `run` calls until `reset()` (like `LifNode`).
 */

export interface NirSimOptions {
  /** Step in seconds; default the graph's `metadata.dt`, else 1e-4. */
  dt?: number;
  /** Run spikedrive-exported neurons with their recorded SpikingJelly update. Default true. */
  honourMetadata?: boolean;
  /** Count spikes and non-zeros per node (costs one read per node and step). Default false. */
  countActivity?: boolean;
}

export interface NodeActivity {
  /** Steps × batch items processed. */
  samples: number;
  outputElements: number;
  /** Non-zero outputs (spikes for spiking nodes). */
  outputNonZeros: number;
}

interface FlatGraph {
  nodes: Map<string, NirNode>;
  edges: [string, string][];
  inputs: string[];
  outputs: string[];
}

function unsupported(name: string, message: string): SpikedriveError {
  return new SpikedriveError(`The NIR simulator cannot run node "${name}": ${message}`, {
    subject: name,
    fix: 'Keep that part of the graph on the host, or re-export it with supported settings (see docs/offload.md, "NIR simulator").',
  });
}

/** Inlines nested graphs: members become `G.X`; edges into/out of `G` go to its single Input/Output node. */
function flattenGraph(graph: NirGraph): FlatGraph {
  const nodes = new Map<string, NirNode>();
  const edges: [string, string][] = [];
  const entry = new Map<string, string>();
  const exit = new Map<string, string>();
  const visit = (g: NirGraph, prefix: string) => {
    for (const [name, node] of g.nodes) {
      const full = `${prefix}${name}`;
      if (node.type === 'NIRGraph') {
        visit(node, `${full}.`);
        const ins = [...node.nodes].filter(([, n]) => n.type === 'Input').map(([n]) => `${full}.${n}`);
        const outs = [...node.nodes].filter(([, n]) => n.type === 'Output').map(([n]) => `${full}.${n}`);
        if (ins.length === 1) entry.set(full, ins[0]);
        if (outs.length === 1) exit.set(full, outs[0]);
      } else {
        nodes.set(full, node);
      }
    }
    for (const [from, to] of g.edges) edges.push([`${prefix}${from}`, `${prefix}${to}`]);
  };
  visit(graph, '');
  const resolved = edges.map(([from, to]): [string, string] => {
    const a = exit.get(from) ?? from;
    const b = entry.get(to) ?? to;
    for (const [end, raw] of [
      [a, from],
      [b, to],
    ]) {
      if (!nodes.has(end)) {
        throw new SpikedriveError(`NIR edge ${from} → ${to} names "${raw}", which is not a node`, {
          subject: raw,
          fix: 'A nested graph used as an edge end needs exactly one Input and one Output node; otherwise name its member as "G.B".',
        });
      }
    }
    return [a, b];
  });
  const top = (type: string) => [...graph.nodes].filter(([, n]) => n.type === type).map(([n]) => n);
  return { nodes, edges: resolved, inputs: top('Input'), outputs: top('Output') };
}

function convOutSize(n: number, pad: number, dilation: number, kernel: number, stride: number): number {
  return Math.floor((n + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1);
}

/** PyTorch 'same' padding per axis: total d·(k−1), the odd one on the far side. */
function samePadding(kernel: number, dilation: number): [number, number] {
  const total = dilation * (kernel - 1);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function conv2dPads(node: Extract<NirNode, { type: 'Conv2d' }>): [[number, number], [number, number]] {
  const [kh, kw] = [node.weight.shape[2], node.weight.shape[3]];
  if (node.padding === 'valid')
    return [
      [0, 0],
      [0, 0],
    ];
  if (node.padding === 'same') return [samePadding(kh, node.dilation[0]), samePadding(kw, node.dilation[1])];
  return [
    [node.padding[0], node.padding[0]],
    [node.padding[1], node.padding[1]],
  ];
}

/** NIR-order output shape of a node from its input shape (null when it has no fixed shape of its own). */
function outputShapeOf(node: NirNode, input: number[] | null): number[] | null {
  switch (node.type) {
    case 'Input':
    case 'Output':
      return node.shape;
    case 'Affine':
    case 'Linear':
      return [...node.weight.shape.slice(0, -2), node.weight.shape[node.weight.shape.length - 2]];
    case 'Scale':
      return node.scale.shape;
    case 'Delay':
      return node.delay.shape;
    case 'Threshold':
      return node.threshold.shape;
    case 'I':
    case 'IF':
    case 'LI':
    case 'LIF':
      return node.r.shape;
    case 'CubaLI':
      return node.vLeak.shape;
    case 'CubaLIF':
      return node.vThreshold.shape;
    case 'Conv2d': {
      const hw = node.inputShape ?? (input === null ? null : [input[1], input[2]]);
      if (hw === null) return null;
      const [[ph], [pw]] = conv2dPads(node);
      const [kh, kw] = [node.weight.shape[2], node.weight.shape[3]];
      if (node.padding === 'same') return [node.weight.shape[0], hw[0], hw[1]];
      return [
        node.weight.shape[0],
        convOutSize(hw[0], ph, node.dilation[0], kh, node.stride[0]),
        convOutSize(hw[1], pw, node.dilation[1], kw, node.stride[1]),
      ];
    }
    case 'Conv1d': {
      const l = node.inputShape ?? (input === null ? null : input[1]);
      if (l === null) return null;
      if (node.padding === 'same') return [node.weight.shape[0], l];
      const p = node.padding === 'valid' ? 0 : node.padding;
      return [node.weight.shape[0], convOutSize(l, p, node.dilation, node.weight.shape[2], node.stride)];
    }
    case 'SumPool2d':
    case 'AvgPool2d':
      if (input === null) return null;
      return [
        input[0],
        convOutSize(input[1], node.padding[0], 1, node.kernelSize[0], node.stride[0]),
        convOutSize(input[2], node.padding[1], 1, node.kernelSize[1], node.stride[1]),
      ];
    case 'Flatten': {
      const s = node.inputType ?? input;
      return s === null ? null : flattenShape(s, node.startDim, node.endDim);
    }
    case 'NIRGraph':
      return null;
  }
}

/** One node's computation over [S·B, …internal] for S steps. */
interface Op {
  name: string;
  node: NirNode;
  inShape: number[] | null;
  outShape: number[];
  run(x: tf.Tensor, steps: number, batch: number): tf.Tensor;
  reset(): void;
  dispose(): void;
}

function keepTensor(t: NirTensor, shape: number[]): tf.Tensor {
  return tf.keep(tf.tensor(Float32Array.from(t.data), shape, 'float32'));
}

/** Host-array neuron state shared by the neuron ops: sized on first use, checked after. */
class State {
  private arrays: Float32Array[] | null = null;
  constructor(
    private readonly name: string,
    private readonly count: number,
    private readonly init: (k: number, i: number) => number,
  ) {}
  get(size: number): Float32Array[] {
    if (this.arrays === null) {
      this.arrays = Array.from({ length: this.count }, (_, k) => {
        const a = new Float32Array(size);
        for (let i = 0; i < size; i++) a[i] = this.init(k, i);
        return a;
      });
    } else if (this.arrays[0].length !== size) {
      throw new SpikedriveError(
        `NIR node "${this.name}" holds state for ${this.arrays[0].length} neurons but got ${size} per step`,
        { subject: this.name, fix: 'Call reset() between inputs of different batch sizes.' },
      );
    }
    return this.arrays;
  }
  reset(): void {
    this.arrays = null;
  }
}

function hostOp(
  name: string,
  node: NirNode,
  inShape: number[] | null,
  outShape: number[],
  stateCount: number,
  init: (k: number, i: number, n: number) => number,
  step: (x: Float32Array, out: Float32Array, state: Float32Array[], n: number) => void,
): Op {
  const n = numel(outShape);
  const state = new State(name, stateCount, (k, i) => init(k, i % n, n));
  return {
    name,
    node,
    inShape,
    outShape,
    run(x, steps, batch) {
      const data = x.dataSync() as Float32Array;
      const perStep = batch * n;
      if (data.length !== steps * perStep) {
        throw new SpikedriveError(
          `NIR node "${name}" got ${data.length / Math.max(steps, 1)} values per step, expected ${perStep}`,
          {
            subject: name,
            fix: 'Check the input shapes against the graph (channels last at the simulator API).',
          },
        );
      }
      const out = new Float32Array(data.length);
      const s = state.get(perStep);
      for (let t = 0; t < steps; t++) {
        step(
          data.subarray(t * perStep, (t + 1) * perStep),
          out.subarray(t * perStep, (t + 1) * perStep),
          s,
          n,
        );
      }
      return tf.tensor(out, x.shape, 'float32');
    },
    reset: () => state.reset(),
    dispose: () => state.reset(),
  };
}

function paramArray(t: NirTensor, nirShape: number[]): Float32Array {
  const n = numel(nirShape);
  if (t.data.length === 1 && n !== 1) return new Float32Array(n).fill(t.data[0]);
  return toInternalOrder(t.data, nirShape);
}

const fr = Math.fround;

function buildOp(
  name: string,
  node: NirNode,
  inShape: number[] | null,
  outShape: number[],
  dt: number,
  honour: boolean,
): Op {
  const plain = (run: Op['run'], dispose: () => void = () => {}): Op => ({
    name,
    node,
    inShape,
    outShape,
    run,
    reset: () => {},
    dispose,
  });
  const dt32 = fr(dt);
  switch (node.type) {
    case 'Input':
    case 'Output':
      return plain((x) => x.clone());
    case 'Affine':
    case 'Linear': {
      const shape = node.weight.shape;
      if (shape.length !== 2)
        throw unsupported(name, `${node.type} weight of rank ${shape.length} (only 2-D)`);
      const [outF, inF] = shape;
      // Kept [in, out] as src/snn's Linear keeps it, so matMul sums in the same order.
      const wt = new Float32Array(inF * outF);
      for (let o = 0; o < outF; o++)
        for (let i = 0; i < inF; i++) wt[i * outF + o] = node.weight.data[o * inF + i];
      const w = tf.keep(tf.tensor2d(wt, [inF, outF]));
      const b = node.type === 'Affine' ? keepTensor(node.bias, [outF]) : null;
      return plain(
        (x) =>
          tf.tidy(() => {
            const flat = tf.reshape(x, [-1, inF]);
            let y: tf.Tensor = tf.matMul(flat as tf.Tensor2D, w as tf.Tensor2D);
            if (b !== null) y = tf.add(y, b);
            return y;
          }),
        () => tf.dispose([w, ...(b === null ? [] : [b])]),
      );
    }
    case 'Scale': {
      const s = tf.keep(tf.tensor(paramArray(node.scale, node.scale.shape), internalShape(node.scale.shape)));
      return plain(
        (x) => tf.mul(x, s),
        () => s.dispose(),
      );
    }
    case 'Conv2d': {
      const [cout, cinPerGroup, kh, kw] = node.weight.shape;
      const groups = node.groups;
      const cin = cinPerGroup * groups;
      if (inShape !== null && inShape[0] !== cin) {
        throw unsupported(name, `it expects ${cin} input channels but its input has ${inShape[0]}`);
      }
      if ((node.dilation[0] > 1 || node.dilation[1] > 1) && (node.stride[0] > 1 || node.stride[1] > 1)) {
        throw unsupported(name, 'dilation together with a stride (tfjs convolutions take one or the other)');
      }
      if (groups !== 1 && !(groups === cin && cout % groups === 0 && cinPerGroup === 1)) {
        throw unsupported(name, `groups = ${groups} (only 1, or depthwise with groups = input channels)`);
      }
      // OIHW → HWIO for tfjs (depthwise: HW, C, multiplier).
      const data = node.weight.data;
      const hwio = new Float32Array(data.length);
      const mult = groups === 1 ? 1 : cout / groups;
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cinPerGroup; i++)
          for (let y = 0; y < kh; y++)
            for (let xx = 0; xx < kw; xx++) {
              const src = ((o * cinPerGroup + i) * kh + y) * kw + xx;
              if (groups === 1) hwio[((y * kw + xx) * cin + i) * cout + o] = data[src];
              else hwio[((y * kw + xx) * cin + Math.floor(o / mult)) * mult + (o % mult)] = data[src];
            }
      const w = tf.keep(tf.tensor4d(hwio, groups === 1 ? [kh, kw, cin, cout] : [kh, kw, cin, mult]));
      const b = keepTensor(node.bias, [cout]);
      const [[pt, pb], [pl, pr]] = conv2dPads(node);
      // Symmetric padding as a number, exactly as src/snn's Conv2d calls tf.conv2d.
      const pad: number | [[number, number], [number, number], [number, number], [number, number]] =
        pt === pb && pl === pr && pt === pl
          ? pt
          : [
              [0, 0],
              [pt, pb],
              [pl, pr],
              [0, 0],
            ];
      const stride = node.stride;
      const dilation = node.dilation;
      // The bias rides in the fused kernel, exactly as src/snn's Conv2d runs it (same numbers, bit for bit).
      return plain(
        (x) =>
          groups === 1
            ? tf.fused.conv2d({
                x: x as tf.Tensor4D,
                filter: w as tf.Tensor4D,
                strides: stride,
                pad,
                dataFormat: 'NHWC',
                dilations: dilation,
                bias: b,
              })
            : tf.tidy(() => {
                // tfjs depthwise convs take no explicit padding: pad first, then convolve 'valid'.
                const input = typeof pad === 'number' ? x : tf.pad(x, pad);
                return tf.fused.depthwiseConv2d({
                  x: input as tf.Tensor4D,
                  filter: w as tf.Tensor4D,
                  strides: stride,
                  pad: typeof pad === 'number' ? pad : 'valid',
                  dataFormat: 'NHWC',
                  dilations: dilation,
                  bias: b,
                });
              }),
        () => tf.dispose([w, b]),
      );
    }
    case 'Conv1d': {
      const [cout, cinPerGroup, k] = node.weight.shape;
      if (node.groups !== 1) throw unsupported(name, `Conv1d with groups = ${node.groups}`);
      const hwio = new Float32Array(node.weight.data.length);
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cinPerGroup; i++)
          for (let j = 0; j < k; j++)
            hwio[(j * cinPerGroup + i) * cout + o] = node.weight.data[(o * cinPerGroup + i) * k + j];
      const w = tf.keep(tf.tensor4d(hwio, [1, k, cinPerGroup, cout]));
      const b = keepTensor(node.bias, [cout]);
      const p: [number, number] =
        node.padding === 'valid'
          ? [0, 0]
          : node.padding === 'same'
            ? samePadding(k, node.dilation)
            : [node.padding, node.padding];
      if (node.dilation > 1 && node.stride > 1) throw unsupported(name, 'dilation together with a stride');
      return plain(
        (x) =>
          tf.tidy(() => {
            const x4 = tf.expandDims(x, 1) as tf.Tensor4D;
            const y = tf.conv2d(x4, w as tf.Tensor4D, [1, node.stride], [[0, 0], [0, 0], p, [0, 0]], 'NHWC', [
              1,
              node.dilation,
            ]);
            return tf.add(tf.squeeze(y, [1]), b);
          }),
        () => tf.dispose([w, b]),
      );
    }
    case 'SumPool2d':
    case 'AvgPool2d': {
      if (inShape === null) throw unsupported(name, 'its input shape is unknown');
      const c = inShape[0];
      const [kh, kw] = node.kernelSize;
      const ones = tf.keep(tf.ones([kh, kw, c, 1]));
      const pads: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [node.padding[0], node.padding[0]],
        [node.padding[1], node.padding[1]],
        [0, 0],
      ];
      const scale = node.type === 'AvgPool2d' ? 1 / (kh * kw) : 1;
      return plain(
        (x) =>
          tf.tidy(() => {
            const sum = tf.depthwiseConv2d(x as tf.Tensor4D, ones as tf.Tensor4D, node.stride, pads, 'NHWC');
            return scale === 1 ? sum : tf.mul(sum, scale);
          }),
        () => ones.dispose(),
      );
    }
    case 'Flatten': {
      if (inShape === null) throw unsupported(name, 'its input shape is unknown');
      const inNir = inShape;
      const out = outShape;
      return plain((x) =>
        tf.tidy(() => {
          const lead = x.shape[0];
          // Internal → NIR order, flatten as NIR (C-major), back to internal.
          const nir =
            inNir.length >= 2
              ? tf.transpose(x, [
                  0,
                  inNir.length,
                  ...Array.from({ length: inNir.length - 1 }, (_, i) => i + 1),
                ])
              : x;
          const flat = tf.reshape(nir, [lead, ...out]);
          return out.length >= 2
            ? tf.transpose(flat, [0, ...Array.from({ length: out.length - 1 }, (_, i) => i + 2), 1])
            : flat;
        }),
      );
    }
    case 'Threshold': {
      const th = tf.keep(
        tf.tensor(paramArray(node.threshold, node.threshold.shape), internalShape(node.threshold.shape)),
      );
      return plain(
        (x) => tf.tidy(() => tf.cast(tf.greater(x, th), 'float32')),
        () => th.dispose(),
      );
    }
    case 'Delay': {
      const n = numel(outShape);
      const steps = Array.from(paramArray(node.delay, node.delay.shape), (d) => Math.round(d / dt));
      if (steps.some((s) => s < 0)) throw unsupported(name, 'negative delay');
      const depth = Math.max(0, ...steps) + 1;
      let ring: Float32Array | null = null;
      let head = 0;
      return {
        name,
        node,
        inShape,
        outShape,
        run(x, stepCount, batch) {
          const data = x.dataSync() as Float32Array;
          const per = batch * n;
          if (ring === null || ring.length !== depth * per) {
            ring = new Float32Array(depth * per);
            head = 0;
          }
          const out = new Float32Array(data.length);
          for (let t = 0; t < stepCount; t++) {
            ring.set(data.subarray(t * per, (t + 1) * per), head * per);
            for (let i = 0; i < per; i++) {
              const slot = (head - steps[i % n] + depth) % depth;
              out[t * per + i] = ring[slot * per + i];
            }
            head = (head + 1) % depth;
          }
          return tf.tensor(out, x.shape, 'float32');
        },
        reset() {
          ring = null;
          head = 0;
        },
        dispose() {
          ring = null;
        },
      };
    }
    case 'I':
    case 'IF': {
      const shape = node.r.shape;
      const exact = honour ? neuronParamsFromMetadata(node.metadata) : null;
      if (exact !== null && node.type === 'IF') return sjOp(name, node, inShape, outShape, exact);
      const gain = Array.from(paramArray(node.r, shape), (r) => fr(dt32 * r));
      const th = node.type === 'IF' ? paramArray(node.vThreshold, shape) : null;
      const vr = node.type === 'IF' ? paramArray(node.vReset, shape) : null;
      // I and IF start at 0 (no rest potential in NIR's equations; Sinabs and Norse start there too).
      return hostOp(
        name,
        node,
        inShape,
        outShape,
        1,
        () => 0,
        (x, out, [v], n) => {
          for (let i = 0; i < x.length; i++) {
            const j = i % n;
            const h = fr(v[i] + fr(gain[j] * x[i]));
            if (th !== null && vr !== null) {
              const fire = h > th[j];
              out[i] = fire ? 1 : 0;
              v[i] = fire ? vr[j] : h;
            } else {
              v[i] = h;
              out[i] = h;
            }
          }
        },
      );
    }
    case 'LI':
    case 'LIF': {
      const shape = node.r.shape;
      const exact = honour ? neuronParamsFromMetadata(node.metadata) : null;
      if (exact !== null && node.type === 'LIF') return sjOp(name, node, inShape, outShape, exact);
      const k = Array.from(paramArray(node.tau, shape), (tau) => fr(dt32 / tau));
      const r = paramArray(node.r, shape);
      const leak = paramArray(node.vLeak, shape);
      const th = node.type === 'LIF' ? paramArray(node.vThreshold, shape) : null;
      const vr = node.type === 'LIF' ? paramArray(node.vReset, shape) : null;
      // The membrane starts at rest (v_leak), as SpikingJelly's starts at V_reset = v_leak.
      return hostOp(
        name,
        node,
        inShape,
        outShape,
        1,
        (_, i) => leak[i],
        (x, out, [v], n) => {
          for (let i = 0; i < x.length; i++) {
            const j = i % n;
            const h = fr(v[i] + fr(k[j] * fr(fr(leak[j] - v[i]) + fr(r[j] * x[i]))));
            if (th !== null && vr !== null) {
              const fire = h > th[j];
              out[i] = fire ? 1 : 0;
              v[i] = fire ? vr[j] : h;
            } else {
              v[i] = h;
              out[i] = h;
            }
          }
        },
      );
    }
    case 'CubaLI':
    case 'CubaLIF': {
      const shape = node.vLeak.shape;
      const ks = Array.from(paramArray(node.tauSyn, shape), (tau) => fr(dt32 / tau));
      const km = Array.from(paramArray(node.tauMem, shape), (tau) => fr(dt32 / tau));
      const r = paramArray(node.r, shape);
      const leak = paramArray(node.vLeak, shape);
      const w = paramArray(node.wIn, shape);
      const th = node.type === 'CubaLIF' ? paramArray(node.vThreshold, shape) : null;
      const vr = node.type === 'CubaLIF' ? paramArray(node.vReset, shape) : null;
      return hostOp(
        name,
        node,
        inShape,
        outShape,
        2,
        (k, i) => (k === 0 ? 0 : leak[i]),
        (x, out, [cur, v], n) => {
          for (let i = 0; i < x.length; i++) {
            const j = i % n;
            const c = fr(cur[i] + fr(ks[j] * fr(fr(w[j] * x[i]) - cur[i])));
            cur[i] = c;
            const h = fr(v[i] + fr(km[j] * fr(fr(leak[j] - v[i]) + fr(r[j] * c))));
            if (th !== null && vr !== null) {
              const fire = h > th[j];
              out[i] = fire ? 1 : 0;
              v[i] = fire ? vr[j] : h;
            } else {
              v[i] = h;
              out[i] = h;
            }
          }
        },
      );
    }
    case 'NIRGraph':
      throw unsupported(name, 'nested graphs are inlined before building ops');
  }
}

/** A neuron exported by spikedrive, run with SpikingJelly's update exactly as the tfjs path's fused loop. */
function sjOp(
  name: string,
  node: NirNode,
  inShape: number[] | null,
  outShape: number[],
  params: NeuronParams,
): Op {
  const n = numel(outShape);
  let v: Float32Array | null = null;
  return {
    name,
    node,
    inShape,
    outShape,
    run(x, steps, batch) {
      const data = x.dataSync() as Float32Array;
      const per = batch * n;
      if (v !== null && v.length !== per) {
        throw new SpikedriveError(
          `NIR node "${name}" holds state for ${v.length} neurons but got ${per} per step`,
          {
            subject: name,
            fix: 'Call reset() between inputs of different batch sizes.',
          },
        );
      }
      const r = lifForwardArrays(data, v, steps, params, false);
      v = r.vFinal;
      return tf.tensor(r.spikes, x.shape, 'float32');
    },
    reset() {
      v = null;
    },
    dispose() {
      v = null;
    },
  };
}

/**
 * Sum of the values on a node's incoming edges, always a new tensor (a single input is copied). Float addition
 * is not associative, so the order is fixed: edges in file order, folded from the right (e1 + (e2 + (… + en))),
 * which is how the exporter writes the tfjs path's residual additions.
 */
function sumOf(parts: tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => {
    let acc = parts[parts.length - 1].clone();
    for (let i = parts.length - 2; i >= 0; i--) acc = tf.add(parts[i], acc);
    return acc;
  });
}

export interface NirRunResult {
  /** Output node name → [T, B, …internal shape]. */
  outputs: Map<string, tf.Tensor>;
  steps: number;
  batch: number;
}

/** The NIR graph executor (see the module comment for its semantics). */
export class NirSimulator {
  readonly dt: number;
  /** Top-level Input nodes with their NIR shapes. */
  readonly inputs: { name: string; shape: number[] }[];
  readonly outputs: { name: string; shape: number[] }[];
  /** Whether some edge closes a cycle (then the graph runs step by step). */
  readonly recurrent: boolean;
  private readonly ops = new Map<string, Op>();
  private readonly order: string[];
  private readonly sources = new Map<string, { from: string; delayed: boolean }[]>();
  private readonly counting: boolean;
  private readonly activity = new Map<string, NodeActivity>();
  private previous = new Map<string, tf.Tensor>();
  private disposed = false;
  private readonly shapes = new Map<string, { input: number[] | null; output: number[] | null }>();
  private readonly flat: NirGraph;

  constructor(
    readonly graph: NirGraph,
    options: NirSimOptions = {},
  ) {
    const metaDt = graph.metadata?.dt;
    this.dt = options.dt ?? (typeof metaDt === 'number' ? metaDt : 1e-4);
    if (!(this.dt > 0)) {
      throw new SpikedriveError(`dt must be positive, got ${this.dt}`, {
        subject: 'dt',
        fix: 'Use e.g. 1e-4.',
      });
    }
    this.counting = options.countActivity ?? false;
    const flat = flattenGraph(graph);
    this.flat = { type: 'NIRGraph', nodes: flat.nodes, edges: flat.edges };
    if (flat.inputs.length === 0) {
      throw new SpikedriveError('The NIR graph has no Input node', {
        subject: 'graph',
        fix: 'Add an Input node in front of the first layer.',
      });
    }
    for (const name of flat.nodes.keys()) this.sources.set(name, []);
    const order = this.topologicalOrder(flat);
    this.order = order.order;
    this.recurrent = order.back.size > 0;
    for (const [from, to] of flat.edges) {
      this.sources.get(to)?.push({ from, delayed: order.back.has(`${from}\u0000${to}`) });
    }
    // Shapes: from each node's own parameters, else from its (first) input, in execution order.
    const shapes = this.shapes;
    for (let pass = 0; pass < 2; pass++) {
      for (const name of this.order) {
        const node = flat.nodes.get(name) as NirNode;
        const srcs = this.sources.get(name) ?? [];
        const input =
          node.type === 'Input'
            ? node.shape
            : (srcs.map((s) => shapes.get(s.from)?.output ?? null).find((s) => s !== null) ?? null);
        shapes.set(name, { input, output: outputShapeOf(node, input) });
      }
    }
    for (const name of this.order) {
      const node = flat.nodes.get(name) as NirNode;
      const shape = shapes.get(name) as { input: number[] | null; output: number[] | null };
      if (shape.output === null)
        throw unsupported(name, 'its output shape cannot be determined (no input reaches it)');
      for (const s of this.sources.get(name) ?? []) {
        const other = shapes.get(s.from)?.output;
        if (
          node.type !== 'Input' &&
          shape.input !== null &&
          other &&
          other.join(',') !== shape.input.join(',')
        ) {
          throw unsupported(
            name,
            `inputs of different shapes [${other.join(', ')}] and [${shape.input.join(', ')}] meet here`,
          );
        }
      }
      this.ops.set(
        name,
        buildOp(name, node, shape.input, shape.output, this.dt, options.honourMetadata ?? true),
      );
      if (this.counting) this.activity.set(name, { samples: 0, outputElements: 0, outputNonZeros: 0 });
    }
    this.inputs = flat.inputs.map((name) => ({
      name,
      shape: (flat.nodes.get(name) as { shape: number[] }).shape,
    }));
    this.outputs = flat.outputs.map((name) => ({
      name,
      shape: (shapes.get(name)?.output ?? []) as number[],
    }));
  }

  /** Depth-first order from the inputs; edges to a node still on the stack close a cycle (run delayed). */
  private topologicalOrder(flat: FlatGraph): { order: string[]; back: Set<string> } {
    const next = new Map<string, string[]>();
    for (const name of flat.nodes.keys()) next.set(name, []);
    for (const [a, b] of flat.edges) next.get(a)?.push(b);
    const state = new Map<string, 0 | 1 | 2>();
    const post: string[] = [];
    const back = new Set<string>();
    const visit = (start: string) => {
      // Iterative DFS (graphs of big models are deep).
      const stack: [string, number][] = [[start, 0]];
      state.set(start, 1);
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        const children = next.get(top[0]) ?? [];
        if (top[1] < children.length) {
          const child = children[top[1]++];
          const s = state.get(child) ?? 0;
          if (s === 1) back.add(`${top[0]}\u0000${child}`);
          else if (s === 0) {
            state.set(child, 1);
            stack.push([child, 0]);
          }
        } else {
          state.set(top[0], 2);
          post.push(top[0]);
          stack.pop();
        }
      }
    };
    for (const input of flat.inputs) if ((state.get(input) ?? 0) === 0) visit(input);
    for (const name of flat.nodes.keys()) if ((state.get(name) ?? 0) === 0) visit(name);
    return { order: post.reverse(), back };
  }

  /** Clears every neuron's state (and the values carried over recurrent edges). */
  reset(): void {
    for (const op of this.ops.values()) op.reset();
    tf.dispose([...this.previous.values()]);
    this.previous = new Map();
  }

  /** NIR-order input and output shapes of every node (nested graph members as `G.X`). */
  nodeShapes(): Map<string, { input: number[] | null; output: number[] | null }> {
    return new Map(this.shapes);
  }

  /** The graph with nested graphs inlined (members named `G.X`), as it runs. */
  flatGraph(): NirGraph {
    return this.flat;
  }

  /** Nodes in execution order, with their NIR node (nested graphs inlined). */
  nodes(): [string, NirNode][] {
    return this.order.map((name) => [name, (this.ops.get(name) as Op).node]);
  }

  /** Per-node activity counted since construction (with `countActivity`). */
  nodeActivity(): Map<string, NodeActivity> {
    return new Map([...this.activity].map(([k, v]) => [k, { ...v }]));
  }

  /**
   * Runs T steps. `inputs` maps Input node names to [T, B, …internal shape] tensors (a single tensor is accepted
   * when the graph has one input). Returns each Output node's [T, B, …] tensor (the caller disposes them).
   */
  run(inputs: tf.Tensor | Map<string, tf.Tensor> | Record<string, tf.Tensor>): NirRunResult {
    if (this.disposed) {
      throw new SpikedriveError('This NIR simulator was disposed', {
        subject: 'NirSimulator',
        fix: 'Create a new one.',
      });
    }
    const given =
      inputs instanceof tf.Tensor
        ? new Map([[this.inputs.length === 1 ? this.inputs[0].name : '', inputs]])
        : inputs instanceof Map
          ? inputs
          : new Map(Object.entries(inputs));
    let steps = -1;
    let batch = -1;
    for (const { name, shape } of this.inputs) {
      const x = given.get(name);
      if (x === undefined) {
        throw new SpikedriveError(`No input given for the NIR Input node "${name}"`, {
          subject: name,
          fix: `Pass a [T, B, ${internalShape(shape).join(', ')}] tensor for each of: ${this.inputs.map((i) => i.name).join(', ')}.`,
        });
      }
      const want = internalShape(shape);
      const got = x.shape.slice(2);
      if (x.rank !== want.length + 2 || got.some((d, i) => d !== want[i])) {
        throw new SpikedriveError(
          `Input "${name}" has shape [${x.shape.join(', ')}], expected [T, B, ${want.join(', ')}] (NIR shape [${shape.join(', ')}], channels last)`,
          { subject: name, fix: 'Feed time-major, channels-last tensors, as src/snn layers take them.' },
        );
      }
      if (steps >= 0 && (x.shape[0] !== steps || x.shape[1] !== batch)) {
        throw new SpikedriveError(
          `Input "${name}" has ${x.shape[0]} steps × ${x.shape[1]} samples, others ${steps} × ${batch}`,
          {
            subject: name,
            fix: 'Give every input the same number of steps and batch items.',
          },
        );
      }
      steps = x.shape[0] as number;
      batch = x.shape[1] as number;
    }
    const outputs = this.recurrent
      ? this.runStepwise(given, steps, batch)
      : this.runLayerwise(given, steps, batch);
    return { outputs, steps, batch };
  }

  private fold(x: tf.Tensor): tf.Tensor {
    const shape = x.shape as number[];
    return tf.reshape(x, [shape[0] * shape[1], ...shape.slice(2)]);
  }

  private count(name: string, y: tf.Tensor, samples: number): void {
    if (!this.counting) return;
    const a = this.activity.get(name) as NodeActivity;
    const data = y.dataSync();
    let nz = 0;
    for (let i = 0; i < data.length; i++) if (data[i] !== 0) nz++;
    a.samples += samples;
    a.outputElements += data.length;
    a.outputNonZeros += nz;
  }

  private runLayerwise(given: Map<string, tf.Tensor>, steps: number, batch: number): Map<string, tf.Tensor> {
    const values = new Map<string, tf.Tensor>();
    const remaining = new Map<string, number>();
    for (const srcs of this.sources.values())
      for (const s of srcs) remaining.set(s.from, (remaining.get(s.from) ?? 0) + 1);
    const outputNames = new Set(this.outputs.map((o) => o.name));
    const release = (name: string) => {
      const left = (remaining.get(name) ?? 0) - 1;
      remaining.set(name, left);
      if (left <= 0 && !outputNames.has(name)) {
        values.get(name)?.dispose();
        values.delete(name);
      }
    };
    try {
      for (const name of this.order) {
        const op = this.ops.get(name) as Op;
        const srcs = this.sources.get(name) ?? [];
        let input: tf.Tensor;
        if (op.node.type === 'Input' && srcs.length === 0) {
          input = this.fold(given.get(name) as tf.Tensor);
        } else if (srcs.length === 0) {
          input = tf.zeros([steps * batch, ...internalShape(op.inShape ?? op.outShape)]);
        } else {
          input = sumOf(srcs.map((s) => values.get(s.from) as tf.Tensor));
          for (const s of srcs) release(s.from);
        }
        const y = op.run(input, steps, batch);
        input.dispose();
        this.count(name, y, steps * batch);
        values.set(name, y);
        if ((remaining.get(name) ?? 0) === 0 && !outputNames.has(name)) {
          y.dispose();
          values.delete(name);
        }
      }
      const out = new Map<string, tf.Tensor>();
      for (const { name } of this.outputs) {
        const y = values.get(name) as tf.Tensor;
        out.set(name, tf.reshape(y, [steps, batch, ...y.shape.slice(1)]));
        y.dispose();
        values.delete(name);
      }
      return out;
    } finally {
      tf.dispose([...values.values()]);
    }
  }

  private runStepwise(given: Map<string, tf.Tensor>, steps: number, batch: number): Map<string, tf.Tensor> {
    const collected = new Map<string, tf.Tensor[]>(this.outputs.map((o) => [o.name, []]));
    try {
      for (let t = 0; t < steps; t++) {
        const current = new Map<string, tf.Tensor>();
        try {
          for (const name of this.order) {
            const op = this.ops.get(name) as Op;
            const srcs = this.sources.get(name) ?? [];
            let input: tf.Tensor;
            if (op.node.type === 'Input' && srcs.length === 0) {
              const x = given.get(name) as tf.Tensor;
              input = tf.tidy(() => tf.squeeze(tf.slice(x, [t], [1]), [0]));
            } else if (srcs.length === 0) {
              input = tf.zeros([batch, ...internalShape(op.inShape ?? op.outShape)]);
            } else {
              input = tf.tidy(() =>
                sumOf(
                  srcs.map((s) => {
                    const v = s.delayed ? this.previous.get(s.from) : current.get(s.from);
                    return v ?? tf.zeros([batch, ...internalShape((this.ops.get(s.from) as Op).outShape)]);
                  }),
                ),
              );
            }
            const y = op.run(input, 1, batch);
            input.dispose();
            this.count(name, y, batch);
            current.set(name, y);
          }
        } finally {
          for (const [name, list] of collected) {
            const y = current.get(name);
            if (y !== undefined) list.push(tf.keep(tf.clone(y)));
          }
          tf.dispose([...this.previous.values()]);
          this.previous = current;
        }
      }
      const out = new Map<string, tf.Tensor>();
      for (const [name, list] of collected) {
        out.set(name, tf.stack(list, 0));
      }
      return out;
    } finally {
      for (const list of collected.values()) tf.dispose(list);
    }
  }

  /** Frees every weight tensor and state. */
  dispose(): void {
    if (this.disposed) return;
    this.reset();
    for (const op of this.ops.values()) op.dispose();
    this.disposed = true;
  }
}
