/**
 * Loads the native conv kernels (building them on first use). Returns null with a reason when they are
 * unavailable or disabled (`SPIKEDRIVE_NATIVE=0`), so the caller falls back to the JS kernels.
 */
import { createRequire } from 'node:module';
import { buildNativeKernels } from './build.ts';

/** The N-API surface of spikedrive_kernels.cc. Arrays are used in place; `dims` is {@link CONV_DIMS} order. */
export interface NativeKernels {
  /** `bias`/`activation`/`alpha`: optional fused epilogue; activation codes are {@link NATIVE_ACTIVATIONS}. */
  conv2dForward(
    x: Float32Array,
    filter: Float32Array,
    out: Float32Array,
    dims: Int32Array,
    threads: number,
    bias?: Float32Array | null,
    activation?: number,
    alpha?: number,
  ): void;
  conv2dBackpropFilter(
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
    dims: Int32Array,
    threads: number,
  ): void;
  conv2dBackpropInput(
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
    dims: Int32Array,
    threads: number,
  ): void;
  /** out = Θ(x − threshold); gt: 1 fires at > 0, 0 at ≥ 0. */
  spikeForward(x: Float32Array, out: Float32Array, threshold: number, gt: number, threads: number): void;
  /** out = dy · g′(x − threshold); surrogate 0 sigmoid(α), 1 atan(α), 2 fast-sigmoid(slope). */
  surrogateGrad(
    dy: Float32Array,
    x: Float32Array,
    out: Float32Array,
    threshold: number,
    surrogate: number,
    constant: number,
    threads: number,
  ): void;
  info(): { simd: string; vectorFloats: number; hardwareThreads: number };
}

/** Activations the native forward conv fuses, by code (tfjs FusedConv2D names). */
export const NATIVE_ACTIVATIONS: Readonly<Record<string, number>> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  leakyrelu: 3,
  sigmoid: 4,
  elu: 5,
};

/** Field order of the Int32Array `dims` argument. */
export const CONV_DIMS = [
  'batch',
  'inHeight',
  'inWidth',
  'inChannels',
  'outChannels',
  'filterHeight',
  'filterWidth',
  'strideHeight',
  'strideWidth',
  'dilationHeight',
  'dilationWidth',
  'padTop',
  'padLeft',
  'outHeight',
  'outWidth',
] as const;

export interface NativeLoad {
  kernels: NativeKernels | null;
  reason: string;
  path: string | null;
}

let loaded: Promise<NativeLoad> | null = null;

/** Whether the environment disables native kernels (`SPIKEDRIVE_NATIVE=0|false|off`). */
export function nativeDisabledByEnv(): boolean {
  const v = (process.env.SPIKEDRIVE_NATIVE ?? '').trim().toLowerCase();
  return v === '0' || v === 'false' || v === 'off' || v === 'no';
}

export function loadNativeKernels(options: { log?: (message: string) => void } = {}): Promise<NativeLoad> {
  loaded ??= (async (): Promise<NativeLoad> => {
    if (nativeDisabledByEnv()) return { kernels: null, reason: 'disabled by SPIKEDRIVE_NATIVE', path: null };
    const build = await buildNativeKernels(options);
    if (build.path === null) return { kernels: null, reason: build.reason, path: null };
    try {
      const require = createRequire(import.meta.url);
      const kernels = require(build.path) as NativeKernels;
      return { kernels, reason: build.reason, path: build.path };
    } catch (error) {
      return { kernels: null, reason: `load failed: ${String(error)}`, path: build.path };
    }
  })();
  return loaded;
}
