/**
 * Registers spikedrive's conv kernels into the tfjs kernel registry, so every `tf.conv2d` (and `tf.fused.conv2d`,
 * `tf.depthwiseConv2d`, `tf.conv2dTranspose`) in the codebase uses them and gets gradients, with no wrapper:
 * - native (spikedrive_kernels.cc, im2col + register-blocked GEMM on all cores): Conv2D, FusedConv2D,
 *   Conv2DBackpropFilter, Conv2DBackpropInput on `wasm` and `cpu`;
 * - composite (one forward conv each, see composite.ts) where the native build is unavailable;
 * - plain JS depthwise backprops on `wasm`, which has none.
 * The Conv2D gradient is also re-registered so dilated convs (SAD's ASPP uses rates 12/24/36) get gradients on
 * patched back ends; on others it behaves exactly like the built-in one.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeKernels } from '../native/load.ts';
import { NATIVE_ACTIVATIONS } from '../native/load.ts';
import { conv2dFilterGradOps, conv2dInputGradOps } from './composite.ts';
import { depthwiseFilterGrad, depthwiseInputGrad } from './depthwise.ts';
import {
  type ConvAttrsLike,
  type ConvGeometry,
  convGeometry,
  inShape,
  nativeDims,
  outShape,
} from './geometry.ts';
import { type HostBackendName, hostMemory, sizeOf } from './host.ts';
import {
  registerSpikeKernels,
  SPIKE_KERNEL,
  SURROGATE_GRAD_KERNEL,
  unregisterSpikeKernels,
} from './spike.ts';

export type KernelImplementation = 'native' | 'composite' | 'js' | 'shared';

export interface PatchedKernel {
  kernelName: string;
  implementation: KernelImplementation;
}

export interface PatchOptions {
  /** Native kernels, or null for the composite/JS ones. */
  native: NativeKernels | null;
  /** Threads the native kernels use (1 inside data-parallel workers). */
  threads: number;
}

interface ConvKernelAttrs extends ConvAttrsLike {
  dataFormat?: 'NHWC' | 'NCHW';
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
  activation?: string;
  leakyreluAlpha?: number;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

const originals = new Map<string, tf.KernelConfig | undefined>();
const patchedByBackend = new Map<string, PatchedKernel[]>();
let nativeThreads = 1;
let gradientRegistered = false;

/** Sets how many threads the native kernels use from now on (all patched back ends). */
export function setKernelThreads(threads: number): void {
  nativeThreads = Math.max(1, Math.floor(threads));
}

export function kernelThreads(): number {
  return nativeThreads;
}

/** The kernels patched on a back end (empty when none). */
export function patchedKernels(backendName: string): PatchedKernel[] {
  return [...(patchedByBackend.get(backendName) ?? [])];
}

/** The back end's own kernel as registered before patching (undefined where it had none). */
export function builtinKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  const key = `${backendName}/${kernelName}`;
  return originals.has(key) ? originals.get(key) : tf.getKernel(kernelName, backendName);
}

function attrsOf(args: KernelArgs): ConvKernelAttrs {
  return (args.attrs ?? {}) as unknown as ConvKernelAttrs;
}

function isDilated(attrs: ConvAttrsLike): boolean {
  const d = attrs.dilations ?? 1;
  return Array.isArray(d) ? d[0] !== 1 || d[1] !== 1 : d !== 1;
}

function delegate(kernelName: string, backendName: string, args: KernelArgs): ReturnType<tf.KernelFunc> {
  const original = originals.get(`${backendName}/${kernelName}`);
  if (!original) {
    throw new Error(
      `${kernelName}: this case (e.g. NCHW or a non-float input) has no kernel on '${backendName}'`,
    );
  }
  return original.kernelFunc(args);
}

const toNhwc = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 2, 3, 1]);
const toNchw = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 3, 1, 2]);
const nhwcShape = (s: readonly number[]): [number, number, number, number] => [s[0], s[2], s[3], s[1]];

/** Runs the NHWC form of a conv kernel on NCHW tensors (through the registry, so it lands on our kernel). */
function viaNhwc(
  kernelName: string,
  inputs: Record<string, tf.Tensor4D>,
  attrs: ConvKernelAttrs,
  transposeBack: boolean,
): tf.Tensor {
  return tf.tidy(() => {
    const nhwc: Record<string, tf.Tensor4D> = {};
    for (const [k, v] of Object.entries(inputs)) nhwc[k] = k === 'filter' ? v : toNhwc(v);
    const a: ConvKernelAttrs = { ...attrs, dataFormat: 'NHWC' };
    if (a.inputShape) a.inputShape = nhwcShape(a.inputShape);
    const out = tf
      .engine()
      .runKernel(
        kernelName,
        nhwc as unknown as tf.NamedTensorMap,
        a as unknown as tf.NamedAttrMap,
      ) as tf.Tensor4D;
    return transposeBack ? toNchw(out) : out;
  });
}

function isFloatInputs(args: KernelArgs, names: string[]): boolean {
  return names.every((n) => args.inputs[n]?.dtype === 'float32');
}

// ------------------------------------------------------------------------------------------- native kernels

function nativeConv2D(backendName: HostBackendName, native: NativeKernels, fused: boolean): tf.KernelFunc {
  const kernelName = fused ? 'FusedConv2D' : 'Conv2D';
  return (args) => {
    const a = attrsOf(args);
    const { x, filter } = args.inputs as Record<string, tf.TensorInfo>;
    const bias = args.inputs.bias as tf.TensorInfo | undefined;
    const activation = a.activation ?? 'linear';
    const actCode = NATIVE_ACTIVATIONS[activation];
    if (
      !isFloatInputs(args, ['x', 'filter']) ||
      (fused && (actCode === undefined || args.inputs.preluActivationWeights != null)) ||
      (bias != null && (bias.dtype !== 'float32' || sizeOf(bias.shape) !== filter.shape[3]))
    ) {
      return delegate(kernelName, backendName, args);
    }
    if (a.dataFormat === 'NCHW') {
      // Bias is per channel ([co]) in both layouts, so only x and the result are transposed.
      return tf.tidy(() => {
        const inputs = { ...args.inputs, x: toNhwc(x as tf.Tensor4D) } as unknown as tf.NamedTensorMap;
        const nhwcAttrs = { ...a, dataFormat: 'NHWC' } as unknown as tf.NamedAttrMap;
        return toNchw(tf.engine().runKernel(kernelName, inputs, nhwcAttrs) as tf.Tensor4D);
      });
    }
    const g = convGeometry(x.shape, filter.shape, a);
    const mem = hostMemory(backendName, args.backend);
    const out = mem.alloc(outShape(g));
    if (sizeOf(out.shape) > 0) {
      native.conv2dForward(
        mem.view(x),
        mem.view(filter),
        mem.view(out),
        nativeDims(g),
        nativeThreads,
        bias ? mem.view(bias) : null,
        actCode ?? 0,
        a.leakyreluAlpha ?? 0.2,
      );
    }
    return out;
  };
}

function nativeBackpropFilter(backendName: HostBackendName, native: NativeKernels): tf.KernelFunc {
  return (args) => {
    const a = attrsOf(args);
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    if (!isFloatInputs(args, ['x', 'dy'])) return delegate('Conv2DBackpropFilter', backendName, args);
    if (a.dataFormat === 'NCHW') {
      return viaNhwc('Conv2DBackpropFilter', { x: x as tf.Tensor4D, dy: dy as tf.Tensor4D }, a, false);
    }
    const g = checkedGeometry(x.shape, a.filterShape!, a, dy.shape);
    const mem = hostMemory(backendName, args.backend);
    const dw = mem.alloc(a.filterShape!);
    const dwView = mem.view(dw);
    if (g.batch * g.outHeight * g.outWidth === 0) dwView.fill(0);
    else native.conv2dBackpropFilter(mem.view(x), mem.view(dy), dwView, nativeDims(g), nativeThreads);
    return dw;
  };
}

function nativeBackpropInput(backendName: HostBackendName, native: NativeKernels): tf.KernelFunc {
  return (args) => {
    const a = attrsOf(args);
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
    if (!isFloatInputs(args, ['dy', 'filter'])) return delegate('Conv2DBackpropInput', backendName, args);
    if (a.dataFormat === 'NCHW') {
      return viaNhwc(
        'Conv2DBackpropInput',
        { dy: dy as tf.Tensor4D, filter: filter as tf.Tensor4D },
        a,
        true,
      );
    }
    const g = checkedGeometry(a.inputShape!, filter.shape, a, dy.shape);
    const mem = hostMemory(backendName, args.backend);
    const dx = mem.alloc(inShape(g));
    const dxView = mem.view(dx);
    if (g.batch * g.outHeight * g.outWidth === 0) dxView.fill(0);
    else native.conv2dBackpropInput(mem.view(dy), mem.view(filter), dxView, nativeDims(g), nativeThreads);
    return dx;
  };
}

function checkedGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrsLike,
  dyShape: readonly number[],
): ConvGeometry {
  const g = convGeometry(xShape, filterShape, attrs);
  const expect = outShape(g);
  if (dyShape.length !== 4 || expect.some((d, i) => d !== dyShape[i])) {
    throw new Error(`conv gradient: dy shape [${dyShape}] does not match the conv output [${expect}]`);
  }
  return g;
}

// ---------------------------------------------------------------------------------------- composite kernels

function compositeBackpropFilter(backendName: string): tf.KernelFunc {
  return (args) => {
    const a = attrsOf(args);
    const { x, dy } = args.inputs as Record<string, tf.Tensor4D>;
    if (!isFloatInputs(args, ['x', 'dy'])) return delegate('Conv2DBackpropFilter', backendName, args);
    if (a.dataFormat === 'NCHW') return viaNhwc('Conv2DBackpropFilter', { x, dy }, a, false);
    const g = checkedGeometry(x.shape, a.filterShape!, a, dy.shape);
    return conv2dFilterGradOps(x, dy, g);
  };
}

function compositeBackpropInput(backendName: string): tf.KernelFunc {
  return (args) => {
    const a = attrsOf(args);
    const { dy, filter } = args.inputs as Record<string, tf.Tensor4D>;
    if (!isFloatInputs(args, ['dy', 'filter'])) return delegate('Conv2DBackpropInput', backendName, args);
    if (a.dataFormat === 'NCHW') return viaNhwc('Conv2DBackpropInput', { dy, filter }, a, true);
    const g = checkedGeometry(a.inputShape!, filter.shape, a, dy.shape);
    return conv2dInputGradOps(dy, filter, g);
  };
}

// ---------------------------------------------------------------------------------------- depthwise (JS)

function jsDepthwiseFilter(backendName: HostBackendName): tf.KernelFunc {
  return (args) => {
    const a = attrsOf(args);
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const g = convGeometry(x.shape, a.filterShape!, a, true);
    const mem = hostMemory(backendName, args.backend);
    const dw = mem.alloc(a.filterShape!);
    depthwiseFilterGrad(mem.view(x), mem.view(dy), mem.view(dw), g);
    return dw;
  };
}

function jsDepthwiseInput(backendName: HostBackendName): tf.KernelFunc {
  return (args) => {
    const a = attrsOf(args);
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
    const g = convGeometry(a.inputShape!, filter.shape, a, true);
    const mem = hostMemory(backendName, args.backend);
    const dx = mem.alloc(inShape(g));
    depthwiseInputGrad(mem.view(dy), mem.view(filter), mem.view(dx), g);
    return dx;
  };
}

// ------------------------------------------------------------------------------------------------ identity

interface RefCountingBackend {
  incRef(dataId: tf.TensorInfo['dataId']): void;
}

/**
 * wasm's Identity copies the tensor; tfjs calls it to save every input a gradient needs (conv x and filter,
 * spike input), one full copy each per step. Tensors are immutable, so sharing the memory with a reference
 * count is safe: it is what the cpu back end's Identity does, and what wasm's own Reshape does.
 */
function sharedIdentity(backendName: string): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return delegate('Identity', backendName, args);
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

// ------------------------------------------------------------------------------------------- registration

function replaceKernel(backendName: string, kernelName: string, kernelFunc: tf.KernelFunc): void {
  const key = `${backendName}/${kernelName}`;
  if (!originals.has(key)) originals.set(key, tf.getKernel(kernelName, backendName));
  if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/**
 * Patches a CPU back end's conv kernels (idempotent; a second call re-patches with the new options). Returns
 * what is now patched. Call it before or after `tf.setBackend`; kernels are looked up at every op.
 */
export function patchBackendKernels(backendName: HostBackendName, options: PatchOptions): PatchedKernel[] {
  unpatchBackendKernels(backendName);
  setKernelThreads(options.threads);
  const list: PatchedKernel[] = [];
  const add = (kernelName: string, implementation: KernelImplementation, fn: tf.KernelFunc) => {
    replaceKernel(backendName, kernelName, fn);
    list.push({ kernelName, implementation });
  };
  if (options.native) {
    add('Conv2D', 'native', nativeConv2D(backendName, options.native, false));
    add('FusedConv2D', 'native', nativeConv2D(backendName, options.native, true));
    add('Conv2DBackpropFilter', 'native', nativeBackpropFilter(backendName, options.native));
    add('Conv2DBackpropInput', 'native', nativeBackpropInput(backendName, options.native));
  } else {
    add('Conv2DBackpropFilter', 'composite', compositeBackpropFilter(backendName));
    add('Conv2DBackpropInput', 'composite', compositeBackpropInput(backendName));
  }
  if (backendName === 'wasm') {
    add('DepthwiseConv2dNativeBackpropFilter', 'js', jsDepthwiseFilter(backendName));
    add('DepthwiseConv2dNativeBackpropInput', 'js', jsDepthwiseInput(backendName));
    add('Identity', 'shared', sharedIdentity(backendName));
  }
  const spikeImpl = registerSpikeKernels(backendName, options.native, kernelThreads);
  list.push({ kernelName: SPIKE_KERNEL, implementation: spikeImpl });
  list.push({ kernelName: SURROGATE_GRAD_KERNEL, implementation: spikeImpl });
  patchedByBackend.set(backendName, list);
  registerConv2DGradient();
  return [...list];
}

/** Restores a back end's own kernels (tests compare against them). */
export function unpatchBackendKernels(backendName: string): void {
  unregisterSpikeKernels(backendName);
  for (const { kernelName } of patchedByBackend.get(backendName) ?? []) {
    if (kernelName === SPIKE_KERNEL || kernelName === SURROGATE_GRAD_KERNEL) continue;
    const key = `${backendName}/${kernelName}`;
    tf.unregisterKernel(kernelName, backendName);
    const original = originals.get(key);
    if (original) tf.registerKernel(original);
  }
  patchedByBackend.delete(backendName);
}

/** Conv2D gradient with dilation support where our backprop kernels run; otherwise the built-in behaviour. */
function registerConv2DGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  const warn = tf.env().get('PROD');
  // registerGradient logs a warning when it overrides; PROD silences it for this one deliberate override.
  tf.env().set('PROD', true);
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, filter] = saved as tf.Tensor4D[];
      const a = attrs as unknown as ConvKernelAttrs;
      const dilated = isDilated(a);
      const backendName = tf.getBackend();
      if (dilated && !patchedByBackend.has(backendName)) {
        throw new Error(
          `Error in gradient of conv2D: dilation rates greater than 1 are not supported in gradients on the ` +
            `'${backendName}' back end. Got dilations '${a.dilations}'`,
        );
      }
      const common = {
        strides: a.strides,
        pad: a.pad,
        dataFormat: a.dataFormat ?? 'NHWC',
        dimRoundingMode: a.dimRoundingMode,
        ...(dilated ? { dilations: a.dilations } : {}),
      };
      const g = dy as tf.Tensor4D;
      return {
        x: () =>
          tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter }, {
            ...common,
            inputShape: x.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
        filter: () =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: g }, {
            ...common,
            filterShape: filter.shape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
      };
    },
  });
  tf.env().set('PROD', warn);
}
