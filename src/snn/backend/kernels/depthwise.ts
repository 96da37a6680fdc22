/**
 * Depthwise conv gradients for back ends that lack them (wasm has neither DepthwiseConv2dNativeBackpropFilter nor
 * ...Input). Direct loops over the tensor memory: depthwise convs do few operations per byte, so a GEMM buys
 * nothing, and the channel-innermost NHWC order keeps the inner loop contiguous.
 */
import type { ConvGeometry } from './geometry.ts';

/** dW[kh, kw, c, q] = sum x[n, ih, iw, c] * dy[n, oh, ow, c*mult + q]. */
export function depthwiseFilterGrad(
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  g: ConvGeometry,
): void {
  const ci = g.inChannels;
  const co = g.outChannels;
  const mult = co / ci;
  dw.fill(0);
  for (let n = 0; n < g.batch; n++) {
    for (let oh = 0; oh < g.outHeight; oh++) {
      for (let ow = 0; ow < g.outWidth; ow++) {
        const dyBase = ((n * g.outHeight + oh) * g.outWidth + ow) * co;
        for (let kh = 0; kh < g.filterHeight; kh++) {
          const ih = oh * g.strideHeight - g.padTop + kh * g.dilationHeight;
          if (ih < 0 || ih >= g.inHeight) continue;
          for (let kw = 0; kw < g.filterWidth; kw++) {
            const iw = ow * g.strideWidth - g.padLeft + kw * g.dilationWidth;
            if (iw < 0 || iw >= g.inWidth) continue;
            const xBase = ((n * g.inHeight + ih) * g.inWidth + iw) * ci;
            const wBase = (kh * g.filterWidth + kw) * co;
            for (let c = 0; c < ci; c++) {
              const xv = x[xBase + c];
              for (let q = 0; q < mult; q++) dw[wBase + c * mult + q] += xv * dy[dyBase + c * mult + q];
            }
          }
        }
      }
    }
  }
}

/** dx[n, ih, iw, c] = sum dy[n, oh, ow, c*mult + q] * w[kh, kw, c, q] over the taps that read (ih, iw). */
export function depthwiseInputGrad(
  dy: Float32Array,
  w: Float32Array,
  dx: Float32Array,
  g: ConvGeometry,
): void {
  const ci = g.inChannels;
  const co = g.outChannels;
  const mult = co / ci;
  dx.fill(0);
  for (let n = 0; n < g.batch; n++) {
    for (let oh = 0; oh < g.outHeight; oh++) {
      for (let ow = 0; ow < g.outWidth; ow++) {
        const dyBase = ((n * g.outHeight + oh) * g.outWidth + ow) * co;
        for (let kh = 0; kh < g.filterHeight; kh++) {
          const ih = oh * g.strideHeight - g.padTop + kh * g.dilationHeight;
          if (ih < 0 || ih >= g.inHeight) continue;
          for (let kw = 0; kw < g.filterWidth; kw++) {
            const iw = ow * g.strideWidth - g.padLeft + kw * g.dilationWidth;
            if (iw < 0 || iw >= g.inWidth) continue;
            const xBase = ((n * g.inHeight + ih) * g.inWidth + iw) * ci;
            const wBase = (kh * g.filterWidth + kw) * co;
            for (let c = 0; c < ci; c++) {
              let s = 0;
              for (let q = 0; q < mult; q++) s += dy[dyBase + c * mult + q] * w[wBase + c * mult + q];
              dx[xBase + c] += s;
            }
          }
        }
      }
    }
  }
}
