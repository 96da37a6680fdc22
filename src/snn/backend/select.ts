/**
 * Tensor back-end selection. Picks the fastest back end that loads here, in the order tfjs-node-gpu, tfjs-node,
 * wasm (SIMD), cpu; `preferred` / `SPIKEDRIVE_BACKEND` override it. tfjs-node(-gpu) are optional dependencies
 * that often fail to install, so they are imported dynamically and their absence is a reason, not an error. On
 * the CPU back ends the conv kernels are patched (native where the kernels build, composite otherwise): see
 * kernels/register.ts.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import { type PatchedKernel, patchBackendKernels, setKernelThreads } from './kernels/register.ts';
import { registerSpikeKernels, SPIKE_KERNEL, SURROGATE_GRAD_KERNEL } from './kernels/spike.ts';
import { loadNativeKernels, type NativeKernels, nativeDisabledByEnv } from './native/load.ts';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = BackendName | 'auto';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export type TfModule = typeof tf;

export interface SelectBackendOptions {
  /** Back end to use; default `SPIKEDRIVE_BACKEND`, else 'auto' (fastest that loads). */
  preferred?: BackendPreference;
  /** Threads for the native conv kernels; default: all cores (`SPIKEDRIVE_THREADS` overrides). */
  threads?: number;
  /** Use the native conv kernels on wasm/cpu when they build (default true; `SPIKEDRIVE_NATIVE=0` disables). */
  nativeKernels?: boolean;
  /** Receives one line saying which back end runs and why (and build progress). Default: silent. */
  log?: (message: string) => void;
}

export interface SelectedBackend {
  name: BackendName;
  /** The tfjs namespace to use (the same module every part of spikedrive imports). */
  tf: TfModule;
  /** Threads the heavy kernels use. */
  threads: number;
  /** Why this back end, including what was skipped. */
  reason: string;
}

/** What is recorded in run manifests and checkpoints. */
export interface BackendInfo {
  name: BackendName;
  /** tfjs's own name for the active back end (`tensorflow`, `wasm`, `cpu`). */
  tfjsBackend: string;
  tfjsVersion: string;
  /** Version of the back-end package (tfjs-backend-wasm / tfjs-node); tfjs's for cpu. */
  backendVersion: string;
  /** wasm: whether the SIMD build runs; native kernels: the instruction set they were built for. */
  simd: string | null;
  threads: number;
  /** `Kernel:implementation`, e.g. `Conv2DBackpropFilter:native`. Empty when nothing is patched. */
  kernelsPatched: string[];
  /** Native kernel build: where from and why (null when not used). */
  native: { simd: string; source: string } | null;
  reason: string;
}

interface Selection {
  selected: SelectedBackend;
  info: BackendInfo;
}

let current: Selection | null = null;

function envPreference(): BackendPreference | undefined {
  const raw = process.env.SPIKEDRIVE_BACKEND?.trim();
  if (!raw) return undefined;
  return parsePreference(raw, 'SPIKEDRIVE_BACKEND');
}

/** Validates a back-end name from a flag or the environment. */
export function parsePreference(raw: string, subject = '--backend'): BackendPreference {
  const v = raw.trim().toLowerCase();
  if (v === 'auto' || (BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendPreference;
  throw new SpikedriveError(`Unknown back end '${raw}'`, {
    subject,
    fix: `use one of: auto, ${BACKEND_NAMES.join(', ')}`,
  });
}

function envThreads(): number | undefined {
  const raw = process.env.SPIKEDRIVE_THREADS?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new SpikedriveError(`SPIKEDRIVE_THREADS must be a positive integer, got '${raw}'`, {
      subject: 'SPIKEDRIVE_THREADS',
      fix: 'set it to the number of threads to use (e.g. 2), or unset it to use all cores',
    });
  }
  return n;
}

async function tryTensorflow(gpu: boolean): Promise<string | null> {
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  try {
    await import(/* @vite-ignore */ pkg);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
      ? `${pkg} is not installed`
      : `${pkg} failed to load (${String((error as Error).message ?? error).split('\n')[0]})`;
  }
  if (!tf.findBackendFactory('tensorflow')) return `${pkg} loaded but registered no back end with this tfjs`;
  if (!(await tf.setBackend('tensorflow'))) return `${pkg}: the tensorflow back end failed to initialise`;
  return null;
}

async function tryWasm(): Promise<string | null> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    return `@tensorflow/tfjs-backend-wasm failed to load (${String(error)})`;
  }
  try {
    if (!(await tf.setBackend('wasm'))) return 'the wasm back end failed to initialise';
  } catch (error) {
    return `the wasm back end failed to initialise (${String(error)})`;
  }
  return null;
}

async function tryCpu(): Promise<string | null> {
  return (await tf.setBackend('cpu')) ? null : 'the cpu back end failed to initialise';
}

/**
 * Chooses, initialises and (on wasm/cpu) patches the tensor back end, and makes it tfjs's active back end.
 * Explicitly requested back ends that cannot load are an error; 'auto' falls through the list.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<SelectedBackend> {
  const log = options.log ?? (() => {});
  const preferred = options.preferred ?? envPreference() ?? 'auto';
  if (preferred !== 'auto') parsePreference(preferred, 'preferred');
  const threads = Math.max(1, Math.floor(options.threads ?? envThreads() ?? availableParallelism()));
  const candidates: BackendName[] = preferred === 'auto' ? [...BACKEND_NAMES] : [preferred];
  const skipped: string[] = [];
  let chosen: BackendName | null = null;
  for (const name of candidates) {
    const failure =
      name === 'tensorflow-gpu'
        ? await tryTensorflow(true)
        : name === 'tensorflow'
          ? await tryTensorflow(false)
          : name === 'wasm'
            ? await tryWasm()
            : await tryCpu();
    if (failure === null) {
      chosen = name;
      break;
    }
    skipped.push(failure);
  }
  if (chosen === null) {
    throw new SpikedriveError(`The '${preferred}' tensor back end is not available: ${skipped.join('; ')}`, {
      subject: '--backend',
      fix:
        preferred === 'tensorflow' || preferred === 'tensorflow-gpu'
          ? 'install @tensorflow/tfjs-node(-gpu) where its native library downloads, or use --backend wasm'
          : 'use --backend auto to pick whatever loads here',
    });
  }
  await tf.ready();

  let patched: PatchedKernel[] = [];
  let native: NativeKernels | null = null;
  let nativeNote = '';
  let nativeSource = '';
  if (chosen === 'wasm' || chosen === 'cpu') {
    if (options.nativeKernels ?? !nativeDisabledByEnv()) {
      const load = await loadNativeKernels({ log });
      native = load.kernels;
      nativeNote = native
        ? `native conv kernels (${native.info().simd})`
        : `JS conv kernels (native: ${load.reason})`;
      nativeSource = `${load.reason}${load.path ? `: ${load.path}` : ''}`;
    } else {
      nativeNote = 'JS conv kernels (native kernels switched off)';
    }
    patched = patchBackendKernels(chosen, { native, threads });
  } else {
    // tfjs-node: its own kernels are native already; only the fused spike op needs registering (composite).
    const impl = registerSpikeKernels(tf.getBackend(), null, () => 1);
    patched = [
      { kernelName: SPIKE_KERNEL, implementation: impl },
      { kernelName: SURROGATE_GRAD_KERNEL, implementation: impl },
    ];
  }
  setKernelThreads(threads);
  const usedThreads = native ? threads : 1;
  const why = preferred === 'auto' ? 'fastest available' : 'requested';
  const reason = [
    `${why}${skipped.length ? ` (skipped: ${skipped.join('; ')})` : ''}`,
    ...(nativeNote ? [nativeNote] : []),
  ].join('; ');
  log(`tensor back end: ${chosen}, ${usedThreads} thread${usedThreads === 1 ? '' : 's'} — ${reason}`);

  const selected: SelectedBackend = { name: chosen, tf, threads: usedThreads, reason };
  current = {
    selected,
    info: {
      name: chosen,
      tfjsBackend: tf.getBackend(),
      tfjsVersion: tf.version.tfjs,
      backendVersion: await backendVersion(chosen),
      simd: await simdOf(chosen, native),
      threads: usedThreads,
      kernelsPatched: patched.map((k) => `${k.kernelName}:${k.implementation}`),
      native: native ? { simd: native.info().simd, source: nativeSource } : null,
      reason,
    },
  };
  return selected;
}

async function backendVersion(name: BackendName): Promise<string> {
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    return wasm.version_wasm;
  }
  if (name === 'tensorflow' || name === 'tensorflow-gpu') {
    try {
      const mod = (await import(
        /* @vite-ignore */ name === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu'
      )) as { version?: { 'tfjs-node'?: string } };
      return mod.version?.['tfjs-node'] ?? tf.version.tfjs;
    } catch {
      return tf.version.tfjs;
    }
  }
  return tf.version.tfjs;
}

async function simdOf(name: BackendName, native: NativeKernels | null): Promise<string | null> {
  if (native) return native.info().simd;
  if (name === 'wasm') return (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'wasm-simd128' : null;
  return null;
}

/**
 * The record of the back end chosen by the last `selectBackend` in this thread, for run manifests and checkpoints.
 * Before any selection it describes tfjs's current back end, unpatched.
 */
export function backendInfo(): BackendInfo {
  if (current && current.info.tfjsBackend === tf.getBackend()) return { ...current.info };
  const active = tf.getBackend() ?? 'cpu';
  const name: BackendName = active === 'wasm' ? 'wasm' : active === 'tensorflow' ? 'tensorflow' : 'cpu';
  return {
    name,
    tfjsBackend: active,
    tfjsVersion: tf.version.tfjs,
    backendVersion: tf.version.tfjs,
    simd: null,
    threads: 1,
    kernelsPatched: [],
    native: null,
    reason: 'not selected through selectBackend',
  };
}
