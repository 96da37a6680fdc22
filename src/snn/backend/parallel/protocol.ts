/** Messages between the worker-pool trainer and its workers. */
import type { BackendPreference } from '../select.ts';
import type { HostTensors, OptimizerSpec } from './types.ts';

export interface WorkerInit {
  module: string;
  config: unknown;
  optimizer?: OptimizerSpec;
  backend?: BackendPreference;
  threads: number;
  nativeKernels?: boolean;
}

export type WorkerRequest =
  | { id: number; op: 'grads'; batch: HostTensors }
  | { id: number; op: 'apply'; grads: HostTensors }
  | { id: number; op: 'evaluate'; batch: HostTensors }
  | { id: number; op: 'getWeights' }
  | { id: number; op: 'setWeights'; weights: HostTensors }
  | { id: number; op: 'memory' };

export interface WorkerError {
  name: string;
  message: string;
  fix?: string;
  subject?: string;
}

export type WorkerResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: WorkerError };

/** The buffers of a set of host tensors that can be moved (not shared ones, not duplicates). */
export function transferablesOf(tensors: HostTensors): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of Object.values(tensors)) {
    if (
      t.data.buffer instanceof ArrayBuffer &&
      t.data.byteOffset === 0 &&
      t.data.byteLength === t.data.buffer.byteLength
    ) {
      out.add(t.data.buffer);
    }
  }
  return [...out];
}
