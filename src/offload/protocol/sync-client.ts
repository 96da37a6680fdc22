import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { ClientOptions } from './client.ts';
import { AcceleratorError, type WireTensor } from './protocol.ts';

/**
 * A blocking accelerator client for synchronous model code: SAD's forward passes are synchronous (tfjs), so an
 * offloaded block must get its answer before returning. The WebSockets live in one shared worker thread; each
 * call posts a numbered message and blocks in `Atomics.wait` (with a deadline) until the worker's answer with that
 * number arrives, taken with `receiveMessageOnPort` (answers to calls that already timed out are dropped). A call
 * that overruns its deadline fails with a `timeout` error: the main thread never blocks longer than the deadline.
 */

type Reply = { seq: number } & (
  | { ok: true; [key: string]: unknown }
  | { ok: false; code: AcceleratorError['code']; message: string; fix: string }
);

interface Thread {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
  nextSeq: number;
  nextConnection: number;
}

let shared: Thread | null = null;

/** The client thread, started on first use and shared by every connection of the process. */
function thread(): Thread {
  if (shared !== null) return shared;
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./sync-worker-entry.mjs', import.meta.url), {
    workerData: { port: port2, signal },
    transferList: [port2],
  });
  // Neither the thread nor its port keeps the process alive once the host is done.
  worker.unref();
  port1.unref();
  worker.once('exit', () => {
    if (shared?.worker === worker) shared = null;
  });
  shared = { worker, port: port1, signal, nextSeq: 1, nextConnection: 1 };
  return shared;
}

export class SyncAcceleratorClient {
  private readonly connection: number;
  private closed = false;
  readonly backend: string;
  bytesSent = 0;
  bytesReceived = 0;

  private constructor(
    readonly url: string,
    private readonly options: ClientOptions & { connectTimeoutMs: number; requestTimeoutMs: number },
  ) {
    this.connection = thread().nextConnection++;
    // Starting the thread (TypeScript loader) counts against the first connect, with a generous allowance.
    const reply = this.call({ op: 'connect', url, options }, options.connectTimeoutMs + 30000);
    this.backend = String(reply.backend ?? '');
  }

  /** Connects (blocking) and exchanges hello/welcome. */
  static connect(url: string, options: ClientOptions = {}): SyncAcceleratorClient {
    return new SyncAcceleratorClient(url, {
      ...options,
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      requestTimeoutMs: options.requestTimeoutMs ?? 60000,
    });
  }

  private call(
    call: { op: string; [key: string]: unknown },
    deadlineMs = this.options.requestTimeoutMs + 1000,
  ): Reply & { ok: true } {
    if (this.closed)
      throw new AcceleratorError(
        'disconnected',
        `accelerator ${this.url} client is closed`,
        'Connect again.',
      );
    const t = thread();
    const seq = t.nextSeq++;
    Atomics.store(t.signal, 0, 0);
    t.port.postMessage({ seq, connection: this.connection, call });
    const deadline = performance.now() + deadlineMs;
    for (;;) {
      // Drain what has arrived; stale answers (to calls that timed out) are dropped.
      for (let m = receiveMessageOnPort(t.port); m !== undefined; m = receiveMessageOnPort(t.port)) {
        const reply = m.message as Reply;
        if (reply.seq !== seq) continue;
        if (!reply.ok) {
          if (reply.code === 'disconnected' || reply.code === 'malformed-frame') this.closed = true;
          throw new AcceleratorError(reply.code, reply.message, reply.fix);
        }
        if (typeof reply.bytesSent === 'number') this.bytesSent = reply.bytesSent;
        if (typeof reply.bytesReceived === 'number') this.bytesReceived = reply.bytesReceived;
        return reply;
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new AcceleratorError(
          'timeout',
          `accelerator ${this.url} did not answer ${call.op} within ${Math.round(deadlineMs)} ms`,
          'Raise --offload-timeout, check the device, or run with --offload-fallback host.',
        );
      }
      Atomics.wait(t.signal, 0, 0, left);
      Atomics.store(t.signal, 0, 0);
    }
  }

  load(
    graph: string,
    nir: Uint8Array,
  ): { inputs: { name: string; shape: number[] }[]; outputs: { name: string; shape: number[] }[] } {
    const r = this.call({ op: 'load', graph, nir });
    return {
      inputs: r.inputs as { name: string; shape: number[] }[],
      outputs: r.outputs as { name: string; shape: number[] }[],
    };
  }

  run(graph: string, inputs: WireTensor[], reset: boolean): { outputs: WireTensor[]; computeMs: number } {
    const r = this.call({ op: 'run', graph, inputs, reset });
    return { outputs: r.outputs as WireTensor[], computeMs: r.computeMs as number };
  }

  reset(graph: string): void {
    this.call({ op: 'reset', graph });
  }

  /** Fault tests: sends raw bytes as one frame. */
  sendRaw(bytes: Uint8Array): void {
    this.call({ op: 'raw', bytes });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call({ op: 'close' }, 3000);
    } catch {
      // Closing a dead connection is not an error.
    }
    this.closed = true;
  }
}
