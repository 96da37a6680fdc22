import * as tf from '@tensorflow/tfjs';
import { type ForwardContext, repeatOverTime, type SnnModule } from '../snn/index.ts';
import { SpikedriveError } from '../util/errors.ts';
import { exportToNir } from './export/export.ts';
import { hdf5Ready, rawHdf5BytesSync } from './nir/hdf5.ts';
import { nirToRaw } from './nir/serialize.ts';
import type { NirGraph } from './nir/types.ts';
import { AcceleratorError } from './protocol/protocol.ts';
import { SyncAcceleratorClient } from './protocol/sync-client.ts';
import { nirShapeOf } from './sim/layout.ts';
import { NirSimulator } from './sim/simulator.ts';

/**
 * Running part of a model on an offload back end: `--offload perception=nir-sim` or `…=ws://HOST:PORT`. Every block
 * of the module that NIR expresses completely (MS down-sampling and conv blocks, MS-ResNet and SEW-ADD blocks,
 * spiking bottlenecks without max pooling, ASPP branches, multi-step LIF layers, sequences of these) is exported
 * to NIR at its first call (BN folded, neurons at dt) and from then on runs on the back end; everything else (lift-
 * splat, upsampling, concatenations, mean over T, GRU gating, …) stays in tfjs on the host. Neuron state follows
 * `LifNode`: it persists across calls until the block's `reset()`. With `onFailure: 'host'` a call the device cannot
 * answer (disconnect, timeout, error) is recomputed on the host, exactly, from the same input.
 */

export interface OffloadOptions {
  /** `nir-sim` (in-process simulator) or `ws://HOST:PORT` (a `spikedrive serve-accelerator`). */
  backend: string;
  /** What a failed device call does: throw (default) or run that call on the host. */
  onFailure?: 'error' | 'host';
  /** Deadline of one device call (ws). Default 60000 ms. */
  timeoutMs?: number;
  connectTimeoutMs?: number;
  /** dt for the NIR export. Default 1e-4. */
  dt?: number;
  log?: (line: string) => void;
}

export interface OffloadStats {
  backend: string;
  /** Blocks (checkpoint names) running on the back end. */
  blocks: string[];
  calls: number;
  /** Calls answered by the back end. */
  offloaded: number;
  hostFallbacks: number;
  failures: string[];
  /** Bytes on the wire (ws) and elements crossing host ↔ back end per call (all back ends). */
  bytesSent: number;
  bytesReceived: number;
  elementsToDevice: number;
  elementsFromDevice: number;
  /** Wall time of each back-end call, ms. */
  callMs: number[];
}

export interface OffloadHandle {
  readonly stats: OffloadStats;
  /** Restores the host forward of every patched block and closes the back end. */
  uninstall(): void;
}

const OFFLOADABLE = new Set([
  'ms_downsampling',
  'ms_conv_block',
  'ms_resnet_block',
  'spiking_aspp_conv',
  'lif',
  'if',
  'heaviside',
]);

/** Whether NIR expresses a block completely (so it can run on the back end as one graph). */
export function isOffloadable(m: SnnModule): boolean {
  if (m.training) return false;
  if (OFFLOADABLE.has(m.kind)) {
    if (m.kind === 'lif' || m.kind === 'if')
      return (m as unknown as { stepMode: string }).stepMode === 'multi-step';
    return true;
  }
  if (m.kind === 'sew_basic_block') return (m as unknown as { connect: string }).connect === 'ADD';
  if (m.kind === 'spiking_bottleneck')
    return !m.children().some(([k]) => k === 'projection.upsample_skip_proj');
  if (m.kind === 'sequential') {
    const kids = m.children();
    return kids.length > 0 && kids.every(([, c]) => isOffloadable(c) || c.kind === 'dropout');
  }
  return false;
}

/** The blocks `installOffload` would patch: the largest offloadable subtrees. */
export function offloadableBlocks(root: SnnModule): SnnModule[] {
  if (isOffloadable(root)) return [root];
  return root.children().flatMap(([, c]) => offloadableBlocks(c));
}

interface Backend {
  /** Runs a graph on [T, B, …] inputs; `reset` clears its state first. */
  run(key: string, graph: NirGraph, input: tf.Tensor, reset: boolean): tf.Tensor;
  reset(key: string): void;
  close(): void;
}

class SimBackend implements Backend {
  private readonly sims = new Map<string, NirSimulator>();
  run(key: string, graph: NirGraph, input: tf.Tensor, reset: boolean): tf.Tensor {
    let sim = this.sims.get(key);
    if (sim === undefined) {
      sim = new NirSimulator(graph);
      this.sims.set(key, sim);
    }
    if (reset) sim.reset();
    const out = sim.run(input).outputs;
    const y = out.get('output');
    if (y === undefined)
      throw new SpikedriveError(`graph ${key} has no output`, { subject: key, fix: 'Report this bug.' });
    return y;
  }
  reset(key: string): void {
    this.sims.get(key)?.reset();
  }
  close(): void {
    for (const s of this.sims.values()) s.dispose();
    this.sims.clear();
  }
}

class WsBackend implements Backend {
  private readonly loaded = new Set<string>();
  readonly client: SyncAcceleratorClient;
  constructor(url: string, options: OffloadOptions) {
    this.client = SyncAcceleratorClient.connect(url, {
      requestTimeoutMs: options.timeoutMs ?? 60000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    });
  }
  run(key: string, graph: NirGraph, input: tf.Tensor, reset: boolean): tf.Tensor {
    if (!this.loaded.has(key)) {
      this.client.load(key, nirBytesSync(graph));
      this.loaded.add(key);
    }
    const r = this.client.run(
      key,
      [{ name: 'input', shape: [...input.shape], values: input.dataSync() as Float32Array }],
      reset,
    );
    const out = r.outputs.find((o) => o.name === 'output') ?? r.outputs[0];
    return tf.tensor(out.values, out.shape, 'float32');
  }
  reset(key: string): void {
    // Lazy: the next run carries reset = true (no round trip of its own).
    void key;
  }
  close(): void {
    this.client.close();
  }
}

/** Synchronous .nir bytes (h5wasm is ready once `installOffload` has awaited it). */
function nirBytesSync(graph: NirGraph): Uint8Array {
  return rawHdf5BytesSync(nirToRaw(graph));
}

type Forward = (x: tf.Tensor, ctx?: ForwardContext) => tf.Tensor;

/** Patches every offloadable block of `root` to run on the back end. */
export async function installOffload(root: SnnModule, options: OffloadOptions): Promise<OffloadHandle> {
  const log = options.log ?? (() => {});
  const onFailure = options.onFailure ?? 'error';
  const dt = options.dt ?? 1e-4;
  let backend: Backend;
  if (options.backend === 'nir-sim') backend = new SimBackend();
  else if (/^wss?:\/\//.test(options.backend)) {
    await hdf5Ready();
    try {
      backend = new WsBackend(options.backend, options);
    } catch (error) {
      if (onFailure === 'host' && error instanceof AcceleratorError) {
        log(`offload: ${error.message}; running on the host`);
        return { stats: emptyStats(options.backend, []), uninstall: () => {} };
      }
      throw error;
    }
  } else {
    throw new SpikedriveError(`unknown offload back end "${options.backend}"`, {
      subject: options.backend,
      fix: 'Use nir-sim or ws://HOST:PORT (a device running `spikedrive serve-accelerator`).',
    });
  }
  const blocks = offloadableBlocks(root);
  const stats = emptyStats(
    options.backend,
    blocks.map((b) => b.name || b.kind),
  );
  const restore: (() => void)[] = [];
  let fallbackLogged = false;
  for (const block of blocks) {
    const original = (block as unknown as { forward: Forward }).forward.bind(block);
    const originalReset = block.reset.bind(block);
    const repeated = (
      block as unknown as {
        forwardRepeated?: (x: tf.Tensor, steps: number, ctx?: ForwardContext) => tf.Tensor;
      }
    ).forwardRepeated?.bind(block);
    const graphs = new Map<string, NirGraph>();
    let pendingReset = true;
    const device = (x: tf.Tensor, host: () => tf.Tensor): tf.Tensor => {
      stats.calls++;
      // [N, H, W, C] (a stateless block on one step) runs as T = 1.
      const seq = x.rank === 4 && block.kind !== 'lif' && block.kind !== 'if' ? tf.expandDims(x, 0) : x;
      const perStep = seq.shape.slice(2) as number[];
      const key = `${block.name || block.kind}@${perStep.join('x')}`;
      let graph = graphs.get(key);
      if (graph === undefined) {
        graph = exportToNir(block, { dt, inputShapes: [nirShapeOf(perStep)] }).graph;
        graphs.set(key, graph);
      }
      const started = performance.now();
      try {
        const y = backend.run(key, graph, seq, pendingReset);
        pendingReset = false;
        stats.offloaded++;
        stats.callMs.push(performance.now() - started);
        stats.elementsToDevice += seq.size;
        stats.elementsFromDevice += y.size;
        if (backend instanceof WsBackend) {
          stats.bytesSent = backend.client.bytesSent;
          stats.bytesReceived = backend.client.bytesReceived;
        }
        if (seq !== x) {
          const squeezed = tf.squeeze(y, [0]);
          y.dispose();
          seq.dispose();
          return squeezed;
        }
        return y;
      } catch (error) {
        if (seq !== x) seq.dispose();
        const message = error instanceof Error ? error.message : String(error);
        stats.failures.push(`${block.name}: ${message}`);
        if (onFailure !== 'host' || !(error instanceof AcceleratorError)) throw error;
        if (!fallbackLogged) {
          log(`offload: ${message}; falling back to the host`);
          fallbackLogged = true;
        }
        stats.hostFallbacks++;
        pendingReset = true;
        return host();
      }
    };
    Object.defineProperty(block, 'forward', {
      configurable: true,
      writable: true,
      value: (x: tf.Tensor, ctx: ForwardContext = {}) => device(x, () => original(x, ctx)),
    });
    Object.defineProperty(block, 'reset', {
      configurable: true,
      writable: true,
      value: () => {
        pendingReset = true;
        for (const key of graphs.keys()) backend.reset(key);
        originalReset();
      },
    });
    if (repeated !== undefined) {
      Object.defineProperty(block, 'forwardRepeated', {
        configurable: true,
        writable: true,
        value: (x: tf.Tensor, steps: number, ctx: ForwardContext = {}) => {
          const seq = tf.tidy(() => repeatOverTime(x, steps));
          try {
            return device(seq, () => repeated(x, steps, ctx));
          } finally {
            seq.dispose();
          }
        },
      });
    }
    restore.push(() => {
      for (const key of ['forward', 'reset', 'forwardRepeated']) {
        if (Object.hasOwn(block, key)) delete (block as unknown as Record<string, unknown>)[key];
      }
    });
  }
  log(`offload: ${blocks.length} block(s) on ${options.backend}: ${blocks.map((b) => b.name).join(', ')}`);
  return {
    stats,
    uninstall: () => {
      for (const r of restore) r();
      backend.close();
    },
  };
}

function emptyStats(backend: string, blocks: string[]): OffloadStats {
  return {
    backend,
    blocks,
    calls: 0,
    offloaded: 0,
    hostFallbacks: 0,
    failures: [],
    bytesSent: 0,
    bytesReceived: 0,
    elementsToDevice: 0,
    elementsFromDevice: 0,
    callMs: [],
  };
}

/** Parses `--offload` values: `perception=nir-sim`, `prediction=ws://host:9000` → module → back end. */
export function parseOffloadSpecs(values: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const m = /^([a-z_]+)=(nir-sim|wss?:\/\/[^\s]+)$/.exec(v.trim());
    if (m === null) {
      throw new SpikedriveError(`--offload "${v}" is not MODULE=BACKEND`, {
        subject: '--offload',
        fix: 'Use e.g. --offload perception=nir-sim or --offload prediction=ws://127.0.0.1:7300 (modules: perception, prediction, planning).',
      });
    }
    out.set(m[1], m[2]);
  }
  return out;
}
