import type { Bound } from './options.ts';

/**
 * The reference's frustum (`SAD.create_frustum`, sad.py): for every depth bin d and feature pixel (row i, col j),
 * the image point (x_j, y_i, depth_d) with x = linspace(0, W − 1, w), y = linspace(0, H − 1, h) (pixel-index
 * linspace, not pixel centres) and depth = arange(D_BOUND). Shape [D, h, w, 3], float32.
 *
 * The grids are computed as PyTorch 1.13's CPU kernels compute them (AVX2 build), so the buffer equals the
 * reference's bit for bit (tested against values read from the reference): a scalar element is one fused
 * multiply-add, the vectorised loop (two 8-lane vectors per pass over the first ⌊n/16⌋·16 elements) adds i·step
 * to each vector's first element. That this matters at all is a float32 ulp here and there; a checkpoint's
 * `frustum` buffer replaces these values on load anyway.
 */

const LANES = 8;

/** `torch.linspace(start, end, steps)` in float32 as the CPU kernel rounds it. */
export function torchLinspace(start: number, end: number, steps: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const s0 = f(start);
  const e0 = f(end);
  const step = f((e0 - s0) / (steps - 1));
  const half = Math.floor(steps / 2);
  // Each product of a float32 and a small integer is exact in double, so rounding once is a fused multiply-add.
  const scalar = (i: number) => (i < half ? f(s0 + step * i) : f(e0 - step * (steps - 1 - i)));
  const vectorised = Math.floor(steps / (2 * LANES)) * 2 * LANES;
  for (let base = 0; base < vectorised; base += LANES) {
    const first = scalar(base);
    for (let i = 0; i < LANES; i++) out[base + i] = f(first + f(i * step));
  }
  for (let i = vectorised; i < steps; i++) out[i] = scalar(i);
  return out;
}

/** `torch.arange(start, end, step, dtype=torch.float)`: ⌈(end − start)/step⌉ values, accumulated in double. */
export function torchArange(start: number, end: number, step: number): Float32Array {
  const f = Math.fround;
  const n = Math.ceil((end - start) / step);
  const out = new Float32Array(Math.max(0, n));
  const vectorised = Math.floor(n / (2 * LANES)) * 2 * LANES;
  for (let base = 0; base < vectorised; base += LANES) {
    const first = f(start + step * base);
    for (let i = 0; i < LANES; i++) out[base + i] = f(first + i * step);
  }
  for (let i = vectorised; i < n; i++) out[i] = f(start + step * i);
  return out;
}

export interface Frustum {
  /** [D, h, w, 3] row-major: (x pixel, y pixel, depth m). */
  data: Float32Array;
  shape: [number, number, number, number];
}

/** The frustum for an image of `imageSize` [H, W] seen at stride `downsample` with depth bins `dBound`. */
export function createFrustum(imageSize: [number, number], downsample: number, dBound: Bound): Frustum {
  const [height, width] = imageSize;
  const h = Math.floor(height / downsample);
  const w = Math.floor(width / downsample);
  const depth = torchArange(dBound[0], dBound[1], dBound[2]);
  const xs = torchLinspace(0, width - 1, w);
  const ys = torchLinspace(0, height - 1, h);
  const d = depth.length;
  const data = new Float32Array(d * h * w * 3);
  let o = 0;
  for (let k = 0; k < d; k++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        data[o++] = xs[j];
        data[o++] = ys[i];
        data[o++] = depth[k];
      }
    }
  }
  return { data, shape: [d, h, w, 3] };
}
