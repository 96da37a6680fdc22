/**
 * A fused spike op: Θ(x − threshold) forward, dy · g′(x − threshold) backward, as two registered kernels
 * (`SpikedriveSpike`, `SpikedriveSurrogateGrad`) and a registered gradient. Written with tfjs element-wise ops
 * this is 2 kernels forward (+1 copy that customGrad makes to save its input) and 7 backward, each a full pass
 * over memory; here it is one pass each (native kernels), or the same op chain without the copy (composite).
 * Surrogates and constants follow src/snn/surrogate.ts (SpikingJelly 0.0.0.0.12, snnTorch).
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeKernels } from '../native/load.ts';
import { type HostBackendName, hostMemory } from './host.ts';

export type SpikeSurrogate =
  | { kind: 'sigmoid'; alpha: number }
  | { kind: 'atan'; alpha: number }
  | { kind: 'fast-sigmoid'; slope: number };

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
  const s = options.surrogate;
  const constant = s.kind === 'fast-sigmoid' ? s.slope : s.alpha;
  if (!(s.kind in SURROGATE_CODE) || !(Number.isFinite(constant) && constant > 0)) {
    throw new Error(`spike: unknown surrogate or non-positive constant (${JSON.stringify(s)})`);
  }
  return { threshold: options.threshold ?? 0, firing: options.firing ?? 'geq', surrogate: s.kind, constant };
}

/** g′(u) as tfjs ops, float32 as the references compute it. */
function surrogateOps(u: tf.Tensor, a: SpikeAttrs): tf.Tensor {
  switch (a.surrogate) {
    case 'sigmoid': {
      const s = tf.sigmoid(tf.mul(u, a.constant));
      return tf.mul(tf.mul(s, tf.sub(1, s)), a.constant);
    }
    case 'atan': {
      const w = tf.mul(u, (Math.PI / 2) * a.constant);
      return tf.div(a.constant / 2, tf.add(1, tf.square(w)));
    }
    case 'fast-sigmoid': {
      const d = tf.add(tf.mul(tf.abs(u), a.constant), 1);
      return tf.reciprocal(tf.square(d));
    }
  }
}

function stepOps(x: tf.Tensor, a: SpikeAttrs): tf.Tensor {
  const u = a.threshold === 0 ? x : tf.sub(x, a.threshold);
  return tf.cast(a.firing === 'geq' ? tf.greaterEqual(u, 0) : tf.greater(u, 0), 'float32');
}

function compositeSpike(args: Parameters<tf.KernelFunc>[0]): tf.Tensor {
  const a = args.attrs as unknown as SpikeAttrs;
  return tf.tidy(() => stepOps(args.inputs.x as tf.Tensor, a));
}

function compositeSurrogateGrad(args: Parameters<tf.KernelFunc>[0]): tf.Tensor {
  const a = args.attrs as unknown as SpikeAttrs;
  return tf.tidy(() => {
    const x = args.inputs.x as tf.Tensor;
    const u = a.threshold === 0 ? x : tf.sub(x, a.threshold);
    return tf.mul(args.inputs.dy as tf.Tensor, surrogateOps(u, a));
  });
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

const fallbacks = new Map<string, (x: tf.Tensor) => tf.Tensor>();

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
    const key = JSON.stringify(a);
    let op = fallbacks.get(key);
    if (!op) {
      const custom = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const v = args[0] as tf.Tensor;
        (args[1] as tf.GradSaveFunc)([v]);
        return {
          value: stepOps(v, a),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const u = a.threshold === 0 ? saved[0] : tf.sub(saved[0], a.threshold);
            return tf.mul(dy, surrogateOps(u, a));
          },
        };
      }) as Parameters<typeof tf.customGrad>[0]);
      op = (v) => custom(v);
      fallbacks.set(key, op);
    }
    return op(input);
  } finally {
    if (input !== x) input.dispose();
  }
}
