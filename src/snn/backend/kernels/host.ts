/**
 * Direct access to tensor memory of the two CPU back ends, so kernels can work on it in place: the wasm back end
 * keeps tensors in its heap (a Float32Array view is valid until the heap grows, so views are taken after every
 * allocation of a kernel), the cpu back end keeps them as typed arrays.
 */
import type { DataType, TensorInfo } from '@tensorflow/tfjs';

type DataId = TensorInfo['dataId'];

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

interface CpuBackendLike {
  data: { get(dataId: DataId): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: Float32Array): TensorInfo;
}

export type HostBackendName = 'wasm' | 'cpu';

/** Tensor memory of one kernel call. Allocate outputs first, then take views (wasm views die on heap growth). */
export interface HostMemory {
  alloc(shape: number[]): TensorInfo;
  view(info: TensorInfo): Float32Array;
}

export function hostMemory(backendName: HostBackendName, backend: unknown): HostMemory {
  if (backendName === 'wasm') {
    const wasm = backend as WasmBackendLike;
    return {
      alloc: (shape) => wasm.makeOutput(shape, 'float32'),
      view: (info) => {
        const arr = wasm.typedArrayFromHeap(info);
        if (!(arr instanceof Float32Array)) throw new Error(`expected float32 tensor, got ${info.dtype}`);
        return arr;
      },
    };
  }
  const cpu = backend as CpuBackendLike;
  return {
    alloc: (shape) => cpu.makeTensorInfo(shape, 'float32', new Float32Array(sizeOf(shape))),
    view: (info) => {
      const values = cpu.data.get(info.dataId).values;
      if (values instanceof Float32Array) return values;
      // tfjs-cpu's Cast from bool/int32 to float32 keeps the source buffer and only relabels the dtype
      // (no precision loss), so a float32 tensor may be backed by a Uint8Array or Int32Array. Read it as
      // a float32 copy; outputs are always allocated by `alloc` and are real Float32Arrays.
      if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
        return Float32Array.from(values as unknown as ArrayLike<number>);
      }
      throw new Error(
        `expected numeric data behind a float32 tensor, got ${Object.prototype.toString.call(values)}`,
      );
    },
  };
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
