/**
 * A fused spike op: Θ(x − threshold) forward, dy · g′(x − threshold) backward, as two registered kernels
 * (`SpikedriveSpike`, `SpikedriveSurrogateGrad`) and a registered gradient. Written with tfjs element-wise ops
 * this is 2 kernels forward (+1 copy that customGrad makes to save its input) and 7 backward, each a full pass
 * over memory; here it is one pass each (native kernels), or the same op chain without the copy (composite).
 * Surrogates and constants follow src/snn/surrogate.ts (SpikingJelly 0.0.0.0.12, snnTorch).
 */
import * as tf from '@tensorflow/tfjs';
import {
  heaviside,
  type SurrogateSpec,
  spikeFunction,
  surrogateGradientTensor,
  validateSurrogate,
} from '../../surrogate.ts';
import type { NativeKernels } from '../native/load.ts';
import { type HostBackendName, hostMemory } from './host.ts';

/** The surrogates of src/snn/surrogate.ts (SpikingJelly sigmoid/atan, snnTorch fast-sigmoid). */
export type SpikeSurrogate = SurrogateSpec;

export interface SpikeOptions {
  /** Subtracted before the step (default 0: x is already v − θ). */
  threshold?: number;
  /** 'geq': fire at x − θ ≥ 0 (SpikingJelly, SAD); 'gt': at x − θ > 0 (snnTorch, NIR). Default 'geq'. */
  firing?: 'geq' | 'gt';
  surrogate: SpikeSurrogate;
}

export const SPIKE_KERNEL = 'SpikedriveSpike';
export const SURROGATE_GRAD_KERNEL = 'SpikedriveSurrogateGrad';

interface SpikeAttrs {
  threshold: number;
  firing: 'geq' | 'gt';
  surrogate: SpikeSurrogate['kind'];
  constant: number;
}

const SURROGATE_CODE: Record<SpikeSurrogate['kind'], number> = { sigmoid: 0, atan: 1, 'fast-sigmoid': 2 };

function attrsFor(options: SpikeOptions): SpikeAttrs {
  const s = validateSurrogate(options.surrogate, 'spikeOp surrogate');
  const constant = s.kind === 'fast-sigmoid' ? s.slope : s.alpha;
  return { threshold: options.threshold ?? 0, firing: options.firing ?? 'geq', surrogate: s.kind, constant };
}

function specOf(a: SpikeAttrs): SurrogateSpec {
  return a.surrogate === 'fast-sigmoid'
    ? { kind: 'fast-sigmoid', slope: a.constant }
    : { kind: a.surrogate, alpha: a.constant };
}

function distance(x: tf.Tensor, a: SpikeAttrs): tf.Tensor {
  return a.threshold === 0 ? x : tf.sub(x, a.threshold);
}

// The composite kernels are src/snn/surrogate.ts's own maths, so both paths agree by construction.
function compositeSpike(args: Parameters<tf.KernelFunc>[0]): tf.Tensor {
  const a = args.attrs as unknown as SpikeAttrs;
  return tf.tidy(() => heaviside(distance(args.inputs.x as tf.Tensor, a), a.firing));
}

function compositeSurrogateGrad(args: Parameters<tf.KernelFunc>[0]): tf.Tensor {
  const a = args.attrs as unknown as SpikeAttrs;
  return tf.tidy(() =>
    tf.mul(
      args.inputs.dy as tf.Tensor,
      surrogateGradientTensor(specOf(a), distance(args.inputs.x as tf.Tensor, a)),
    ),
  );
}

let threadsFor: () => number = () => 1;

function nativeSpike(backendName: HostBackendName, native: NativeKernels): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== 'float32') return compositeSpike(args);
    const a = args.attrs as unknown as SpikeAttrs;
    const mem = hostMemory(backendName, args.backend);
    const out = mem.alloc([...x.shape]);
    native.spikeForward(mem.view(x), mem.view(out), a.threshold, a.firing === 'gt' ? 1 : 0, threadsFor());
    return out;
  };
}

function nativeSurrogateGrad(backendName: HostBackendName, native: NativeKernels): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') return compositeSurrogateGrad(args);
    const a = args.attrs as unknown as SpikeAttrs;
    const mem = hostMemory(backendName, args.backend);
    const out = mem.alloc([...x.shape]);
    native.surrogateGrad(
      mem.view(dy),
      mem.view(x),
      mem.view(out),
      a.threshold,
      SURROGATE_CODE[a.surrogate],
      a.constant,
      threadsFor(),
    );
    return out;
  };
}

let gradientRegistered = false;

function registerSpikeGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: SPIKE_KERNEL,
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => ({
      x: () =>
        tf
          .engine()
          .runKernel(SURROGATE_GRAD_KERNEL, { dy: dy as tf.Tensor, x: saved[0] }, attrs) as tf.Tensor,
    }),
  });
}

/**
 * Registers the spike kernels for a back end: native on wasm/cpu when given, composite (tfjs ops) otherwise.
 * Returns the implementation used.
 */
export function registerSpikeKernels(
  backendName: string,
  native: NativeKernels | null,
  threads: () => number,
): 'native' | 'composite' {
  threadsFor = threads;
  const useNative = native !== null && (backendName === 'wasm' || backendName === 'cpu');
  for (const name of [SPIKE_KERNEL, SURROGATE_GRAD_KERNEL]) {
    if (tf.getKernel(name, backendName)) tf.unregisterKernel(name, backendName);
  }
  tf.registerKernel({
    kernelName: SPIKE_KERNEL,
    backendName,
    kernelFunc: useNative ? nativeSpike(backendName as HostBackendName, native!) : compositeSpike,
  });
  tf.registerKernel({
    kernelName: SURROGATE_GRAD_KERNEL,
    backendName,
    kernelFunc: useNative
      ? nativeSurrogateGrad(backendName as HostBackendName, native!)
      : compositeSurrogateGrad,
  });
  registerSpikeGradient();
  return useNative ? 'native' : 'composite';
}

export function unregisterSpikeKernels(backendName: string): void {
  for (const name of [SPIKE_KERNEL, SURROGATE_GRAD_KERNEL]) {
    if (tf.getKernel(name, backendName)) tf.unregisterKernel(name, backendName);
  }
}

/**
 * Θ(x − threshold) with the surrogate's gradient. One fused kernel each way where registered (every back end
 * set up by selectBackend); elsewhere the same maths through tf.customGrad.
 */
export function spikeOp(x: tf.Tensor, options: SpikeOptions): tf.Tensor {
  const a = attrsFor(options);
  const input = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
  try {
    if (tf.getKernel(SPIKE_KERNEL, tf.getBackend())) {
      return tf.engine().runKernel(SPIKE_KERNEL, { x: input }, a as unknown as tf.NamedAttrMap) as tf.Tensor;
    }
    // Not set up by selectBackend: src/snn/surrogate.ts's customGrad spike.
    return tf.tidy(() => spikeFunction(specOf(a), a.firing)(distance(input, a)));
  } finally {
    if (input !== x) input.dispose();
  }
}
