// The conv kernels spikedrive registers into tfjs (native im2col+GEMM, composite, JS depthwise) against the cpu
// back end's own built-in kernels and gradients, and against a direct float64 loop for dilated convs (whose
// gradients tfjs does not have). Random cases cover kernel 1/2/3/5/7, stride 1/2/3, same/valid/explicit padding,
// dilation, odd sizes, batch > 1 and NCHW.
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadNativeKernels,
  type NativeKernels,
  patchBackendKernels,
  patchedKernels,
  unpatchBackendKernels,
} from '../../../src/snn/backend/index.ts';
import { createRng } from '../../../src/util/index.ts';

type Pad =
  | 'same'
  | 'valid'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  name: string;
  x: [number, number, number, number];
  k: number;
  co: number;
  stride: number;
  pad: Pad;
  dilation?: number;
  nchw?: boolean;
}

const CASES: Case[] = [
  { name: 'k1 s1 valid', x: [2, 5, 7, 3], k: 1, co: 4, stride: 1, pad: 'valid' },
  { name: 'k3 s1 same', x: [2, 9, 11, 5], k: 3, co: 6, stride: 1, pad: 'same' },
  { name: 'k3 s2 same (odd width)', x: [3, 10, 13, 4], k: 3, co: 17, stride: 2, pad: 'same' },
  { name: 'k5 s2 valid', x: [2, 13, 12, 3], k: 5, co: 8, stride: 2, pad: 'valid' },
  { name: 'k5 s3 pad 2', x: [1, 17, 14, 6], k: 5, co: 5, stride: 3, pad: 2 },
  {
    name: 'k7 s2 explicit asymmetric',
    x: [2, 15, 16, 3],
    k: 7,
    co: 33,
    stride: 2,
    pad: [
      [0, 0],
      [3, 2],
      [1, 3],
      [0, 0],
    ],
  },
  { name: 'k3 s3 valid', x: [2, 11, 11, 7], k: 3, co: 9, stride: 3, pad: 'valid' },
  { name: 'k2 s2 valid (even kernel)', x: [2, 8, 9, 3], k: 2, co: 4, stride: 2, pad: 'valid' },
  { name: 'k1 s2 valid (shortcut)', x: [2, 9, 9, 8], k: 1, co: 16, stride: 2, pad: 'valid' },
  { name: 'k3 s1 pad 1, 64 channels', x: [2, 6, 7, 64], k: 3, co: 64, stride: 1, pad: 1 },
  { name: 'k3 s2 same NCHW', x: [2, 4, 9, 10], k: 3, co: 5, stride: 2, pad: 'same', nchw: true },
  { name: 'k3 dilation 2 same', x: [2, 12, 10, 5], k: 3, co: 7, stride: 1, pad: 'same', dilation: 2 },
  { name: 'k3 dilation 3 pad 3 (ASPP-like)', x: [1, 13, 15, 4], k: 3, co: 6, stride: 1, pad: 3, dilation: 3 },
  { name: 'k5 dilation 2 valid', x: [2, 14, 13, 3], k: 5, co: 4, stride: 1, pad: 'valid', dilation: 2 },
];

function randomArray(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() - 0.5;
  return a;
}

interface Arrays {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  xShape: number[];
  wShape: [number, number, number, number];
  yShape: number[];
}

function nhwcOutShape(c: Case): [number, number, number, number] {
  const [n, h, w, ci] = c.nchw ? [c.x[0], c.x[2], c.x[3], c.x[1]] : c.x;
  const info = tf.backend_util.computeConv2DInfo(
    [n, h, w, ci],
    [c.k, c.k, ci, c.co],
    c.stride,
    c.dilation ?? 1,
    c.pad,
  );
  return [n, info.outHeight, info.outWidth, c.co];
}

function arraysFor(c: Case, seed: number): Arrays {
  const ci = c.nchw ? c.x[1] : c.x[3];
  const wShape: [number, number, number, number] = [c.k, c.k, ci, c.co];
  const [n, oh, ow, co] = nhwcOutShape(c);
  const yShape = c.nchw ? [n, co, oh, ow] : [n, oh, ow, co];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  return {
    x: randomArray(size(c.x), seed),
    w: randomArray(size(wShape), seed + 1),
    dy: randomArray(size(yShape), seed + 2),
    xShape: c.x,
    wShape,
    yShape,
  };
}

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

/** Forward, and the gradients of sum(conv(x, w) · dy), which are exactly BackpropInput(dy) and BackpropFilter. */
function run(c: Case, a: Arrays): Result {
  const before = tf.memory().numTensors;
  const x = tf.tensor4d(a.x, a.xShape as [number, number, number, number]);
  const w = tf.tensor4d(a.w, a.wShape);
  const dy = tf.tensor(a.dy, a.yShape);
  const f = (xx: tf.Tensor, ww: tf.Tensor) =>
    tf.conv2d(
      xx as tf.Tensor4D,
      ww as tf.Tensor4D,
      c.stride,
      c.pad,
      c.nchw ? 'NCHW' : 'NHWC',
      c.dilation ?? 1,
    );
  const y = f(x, w);
  const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(f(xx, ww), dy)));
  const [gx, gw] = grads([x, w]);
  const f32 = (t: tf.Tensor) => Float32Array.from(t.dataSync());
  const result = { y: f32(y), dx: f32(gx), dw: f32(gw) };
  tf.dispose([x, w, dy, y, gx, gw]);
  expect(tf.memory().numTensors).toBe(before);
  return result;
}

/** Direct float64 conv and gradients (NHWC only): the definition, for dilated cases. */
function reference(c: Case, a: Arrays): Result {
  const [n, h, wd, ci] = c.x;
  const info = tf.backend_util.computeConv2DInfo(c.x, a.wShape, c.stride, c.dilation ?? 1, c.pad);
  const { outHeight: oh, outWidth: ow, padInfo } = info;
  const d = c.dilation ?? 1;
  const y = new Float64Array(n * oh * ow * c.co);
  const dx = new Float64Array(a.x.length);
  const dw = new Float64Array(a.w.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let p = 0; p < c.k; p++)
          for (let q = 0; q < c.k; q++) {
            const ih = i * c.stride - padInfo.top + p * d;
            const iw = j * c.stride - padInfo.left + q * d;
            if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
            for (let u = 0; u < ci; u++) {
              const xi = ((b * h + ih) * wd + iw) * ci + u;
              for (let v = 0; v < c.co; v++) {
                const yi = ((b * oh + i) * ow + j) * c.co + v;
                const wi = ((p * c.k + q) * ci + u) * c.co + v;
                y[yi] += a.x[xi] * a.w[wi];
                dx[xi] += a.dy[yi] * a.w[wi];
                dw[wi] += a.x[xi] * a.dy[yi];
              }
            }
          }
  return { y: Float32Array.from(y), dx: Float32Array.from(dx), dw: Float32Array.from(dw) };
}

function maxAbsDiff(p: Float32Array, q: Float32Array): number {
  expect(p.length).toBe(q.length);
  let m = 0;
  for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i] - q[i]));
  return m;
}

// Native kernels build where a C++ compiler and Node's headers exist; elsewhere their cases are skipped.
const nativeLoad = await loadNativeKernels();
const native: NativeKernels | null = nativeLoad.kernels;
if (!native) console.warn(`native kernels unavailable (${nativeLoad.reason}); native cases skipped`);
const builtin = new Map<string, Result>();
const inputs = new Map<string, Arrays>();

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  // Reference: the cpu back end with its own kernels (the Conv2D gradient then uses them too).
  await tf.setBackend('cpu');
  unpatchBackendKernels('cpu');
  CASES.forEach((c, i) => {
    const a = arraysFor(c, 100 + 10 * i);
    inputs.set(c.name, a);
    builtin.set(c.name, c.dilation ? reference(c, a) : run(c, a));
  });
});

afterAll(() => {
  unpatchBackendKernels('cpu');
  unpatchBackendKernels('wasm');
});

const CONFIGS = [
  { backend: 'cpu', impl: 'native' },
  { backend: 'cpu', impl: 'composite' },
  { backend: 'wasm', impl: 'native' },
  { backend: 'wasm', impl: 'composite' },
] as const;

describe.each(CONFIGS.filter((c) => c.impl !== 'native' || native))(
  'conv2d on $backend with $impl kernels',
  ({ backend, impl }) => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      await tf.ready();
      patchBackendKernels(backend, { native: impl === 'native' ? native : null, threads: 2 });
    });

    it('registers the kernels it reports', () => {
      const names = patchedKernels(backend).map((k) => `${k.kernelName}:${k.implementation}`);
      expect(names).toContain(`Conv2DBackpropFilter:${impl}`);
      expect(names).toContain(`Conv2DBackpropInput:${impl}`);
      if (impl === 'native') expect(names).toContain('Conv2D:native');
      for (const n of ['Conv2DBackpropFilter', 'Conv2DBackpropInput']) {
        expect(tf.getKernel(n, backend)).toBeDefined();
      }
    });

    it('accepts spikes cast from bool (tfjs-cpu keeps their Uint8Array buffer behind the float32 dtype)', () => {
      const x = tf.tidy(() => tf.greaterEqual(tf.randomUniform([1, 6, 6, 2], 0, 1, 'float32', 3), 0.5));
      const spikes = tf.cast(x, 'float32') as tf.Tensor4D;
      const dense = tf.tensor4d(
        Array.from(spikes.dataSync()),
        spikes.shape as [number, number, number, number],
      );
      const w = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
      const got = tf.conv2d(spikes, w, 1, 'same');
      const want = tf.conv2d(dense, w, 1, 'same');
      expect(maxAbsDiff(got.dataSync() as Float32Array, want.dataSync() as Float32Array)).toBeLessThan(1e-5);
      tf.dispose([x, spikes, dense, w, got, want]);
    });

    for (const c of CASES) {
      // The wasm back end has no NCHW forward conv of its own; with native kernels it gets one via transposes.
      const unsupported = c.nchw && backend === 'wasm' && impl === 'composite';
      it.skipIf(unsupported)(`${c.name}: output and both gradients match within 1e-4`, () => {
        const got = run(c, inputs.get(c.name)!);
        const want = builtin.get(c.name)!;
        expect(maxAbsDiff(got.y, want.y)).toBeLessThan(1e-4);
        expect(maxAbsDiff(got.dx, want.dx)).toBeLessThan(1e-4);
        expect(maxAbsDiff(got.dw, want.dw)).toBeLessThan(1e-4);
      });
    }
  },
);

describe('kernel registration', () => {
  it('the wasm back end lacks Conv2DBackpropFilter until patched, and gets it back after unpatch', async () => {
    await tf.setBackend('wasm');
    unpatchBackendKernels('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    patchBackendKernels('wasm', { native: null, threads: 1 });
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    unpatchBackendKernels('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('Conv2D', 'wasm')).toBeDefined();
  });

  it('dilated conv gradients on an unpatched back end fail with a clear message', async () => {
    await tf.setBackend('cpu');
    unpatchBackendKernels('cpu');
    const x = tf.ones([1, 7, 7, 1]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.conv2d(x, ww as tf.Tensor4D, 1, 'same', 'NHWC', 2)));
    expect(() => g(w)).toThrow(/dilation rates greater than 1 are not supported in gradients on the 'cpu'/);
    tf.dispose([x, w]);
  });
});

describe('fused conv and depthwise kernels', () => {
  const x = () => tf.tensor4d(randomArray(2 * 9 * 8 * 6, 7), [2, 9, 8, 6]);
  const w = () => tf.tensor4d(randomArray(3 * 3 * 6 * 10, 8), [3, 3, 6, 10]);
  const bias = () => tf.tensor1d(randomArray(10, 9));

  function fused(activation: 'relu' | 'linear' | 'elu'): Float32Array {
    return tf.tidy(
      () =>
        tf.fused
          .conv2d({ x: x(), filter: w(), strides: 2, pad: 'same', bias: bias(), activation })
          .dataSync() as Float32Array,
    );
  }

  function depthwiseGrads(stride: number, multiplier: number): Float32Array[] {
    return tf.tidy(() => {
      const xx = tf.tensor4d(randomArray(2 * 9 * 10 * 4, 11), [2, 9, 10, 4]);
      const ww = tf.tensor4d(randomArray(3 * 3 * 4 * multiplier, 12), [3, 3, 4, multiplier]);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same'))),
      )([xx, ww]);
      return [Float32Array.from(gx.dataSync()), Float32Array.from(gw.dataSync())];
    });
  }

  it.skipIf(!native)(
    'FusedConv2D (bias + activation) on native kernels equals the cpu built-in',
    async () => {
      await tf.setBackend('cpu');
      unpatchBackendKernels('cpu');
      const want = (['relu', 'linear', 'elu'] as const).map(fused);
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        patchBackendKernels(backend, { native, threads: 2 });
        const got = (['relu', 'linear', 'elu'] as const).map(fused);
        for (let i = 0; i < got.length; i++) expect(maxAbsDiff(got[i], want[i])).toBeLessThan(1e-5);
      }
    },
  );

  it('depthwise gradients on wasm (absent from tfjs-wasm) equal the cpu built-in', async () => {
    await tf.setBackend('cpu');
    unpatchBackendKernels('cpu');
    const want = [depthwiseGrads(1, 1), depthwiseGrads(2, 2)];
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    patchBackendKernels('wasm', { native, threads: 1 });
    const got = [depthwiseGrads(1, 1), depthwiseGrads(2, 2)];
    for (let i = 0; i < 2; i++) {
      expect(maxAbsDiff(got[i][0], want[i][0])).toBeLessThan(1e-4);
      expect(maxAbsDiff(got[i][1], want[i][1])).toBeLessThan(1e-4);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
