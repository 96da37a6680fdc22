import WebSocket from 'ws';
import {
  AcceleratorError,
  DEFAULT_MAX_FRAME_BYTES,
  type DecodedFrame,
  decodeFrame,
  decodeTensors,
  encodeFrame,
  encodeTensors,
  type Header,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  type WireTensor,
} from './protocol.ts';

/**
 * The host side of the accelerator protocol (async). Every request has a deadline; a connection that drops fails
 * every pending request at once with a `disconnected` error; a frame the client cannot decode fails them with a
 * `malformed-frame` error and closes the connection. Nothing waits forever.
 */

export interface ClientOptions {
  /** Deadline for connecting and the hello/welcome exchange. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Deadline of each request (load, run, reset). Default 60000 ms. */
  requestTimeoutMs?: number;
  maxFrameBytes?: number;
}

interface Pending {
  resolve: (frame: DecodedFrame) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const FIX_CONNECT =
  'Start the device side with `spikedrive serve-accelerator --port PORT` and check HOST:PORT, or run with --offload-fallback host.';

export class AcceleratorClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private failure: AcceleratorError | null = null;
  /** Bytes sent and received in frames. */
  bytesSent = 0;
  bytesReceived = 0;
  backend = '';

  private constructor(
    private readonly socket: WebSocket,
    readonly url: string,
    private readonly requestTimeoutMs: number,
  ) {
    socket.on('message', (data: WebSocket.RawData) => this.onMessage(data));
    socket.on('close', (code: number, reason: Buffer) => {
      this.failAll(
        new AcceleratorError(
          'disconnected',
          `accelerator ${url} disconnected (code ${code}${reason.length ? `: ${reason.toString()}` : ''})`,
          FIX_CONNECT,
        ),
      );
    });
    socket.on('error', (error: Error) => {
      this.failAll(
        new AcceleratorError(
          'disconnected',
          `accelerator ${url} connection error: ${error.message}`,
          FIX_CONNECT,
        ),
      );
    });
  }

  /** Connects and exchanges hello/welcome. */
  static async connect(url: string, options: ClientOptions = {}): Promise<AcceleratorClient> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, {
        maxPayload: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        handshakeTimeout: connectTimeoutMs,
      });
    } catch (error) {
      throw new AcceleratorError(
        'connect-failed',
        `cannot connect to accelerator ${url}: ${(error as Error).message}`,
        'Use a ws://HOST:PORT address.',
      );
    }
    socket.binaryType = 'nodebuffer';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.terminate();
        reject(
          new AcceleratorError(
            'timeout',
            `accelerator ${url} did not accept the connection within ${connectTimeoutMs} ms`,
            FIX_CONNECT,
          ),
        );
      }, connectTimeoutMs);
      socket.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error: Error) => {
        clearTimeout(timer);
        reject(
          new AcceleratorError(
            'connect-failed',
            `cannot connect to accelerator ${url}: ${error.message}`,
            FIX_CONNECT,
          ),
        );
      });
    });
    const client = new AcceleratorClient(socket, url, options.requestTimeoutMs ?? 60000);
    const welcome = await client.request(
      { type: 'hello', protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, client: 'spikedrive' },
      [],
      0,
      connectTimeoutMs,
    );
    if (welcome.header.type !== 'welcome') {
      client.close();
      throw new AcceleratorError(
        'malformed-frame',
        `accelerator ${url} answered hello with ${welcome.header.type}`,
        FIX_CONNECT,
      );
    }
    client.backend = welcome.header.backend;
    return client;
  }

  get isOpen(): boolean {
    return !this.closed && this.failure === null && this.socket.readyState === WebSocket.OPEN;
  }

  private failAll(error: AcceleratorError): void {
    if (this.failure === null) this.failure = error;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(error);
      this.pending.delete(id);
    }
  }

  private onMessage(data: WebSocket.RawData): void {
    const bytes = Buffer.isBuffer(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(Buffer.concat(data as Buffer[]));
    this.bytesReceived += bytes.byteLength;
    let frame: DecodedFrame;
    try {
      frame = decodeFrame(bytes);
    } catch (error) {
      this.failAll(
        new AcceleratorError(
          'malformed-frame',
          `accelerator ${this.url} sent a malformed frame: ${(error as Error).message}`,
          'The device speaks another protocol version or is faulty; check its version.',
        ),
      );
      this.socket.close(1002, 'malformed frame');
      return;
    }
    const h = frame.header;
    // hello has id 0 on our side; replies without an id (welcome) belong to it.
    const id = h.type === 'welcome' ? 0 : 'id' in h ? h.id : null;
    if (h.type === 'error' && id === null) {
      this.failAll(new AcceleratorError(h.code, `accelerator ${this.url}: ${h.message}`, FIX_CONNECT));
      return;
    }
    const p = id === null ? undefined : this.pending.get(id);
    if (p === undefined || id === null) return; // a late reply to a request that already timed out
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (h.type === 'error')
      p.reject(
        new AcceleratorError(
          h.code,
          `accelerator ${this.url}: ${h.message}`,
          'See the device log; the request was not applied.',
        ),
      );
    else p.resolve(frame);
  }

  private request(
    header: Header,
    parts: Uint8Array[],
    id: number,
    timeoutMs = this.requestTimeoutMs,
  ): Promise<DecodedFrame> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(
        new AcceleratorError('disconnected', `accelerator ${this.url} is not connected`, FIX_CONNECT),
      );
    }
    const frame = encodeFrame(header, parts);
    return new Promise<DecodedFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new AcceleratorError(
            'timeout',
            `accelerator ${this.url} did not answer ${header.type} within ${timeoutMs} ms`,
            'Raise --offload-timeout, check the device, or run with --offload-fallback host.',
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.bytesSent += frame.byteLength;
      this.socket.send(frame, (error) => {
        if (error) {
          clearTimeout(timer);
          this.pending.delete(id);
          reject(
            new AcceleratorError(
              'disconnected',
              `sending to ${this.url} failed: ${error.message}`,
              FIX_CONNECT,
            ),
          );
        }
      });
    });
  }

  /** Uploads a NIR graph (HDF5 bytes) under a name; returns its ports. */
  async load(
    graph: string,
    nir: Uint8Array,
  ): Promise<{ inputs: { name: string; shape: number[] }[]; outputs: { name: string; shape: number[] }[] }> {
    const id = this.nextId++;
    const r = await this.request({ type: 'load', id, graph, bytes: nir.byteLength }, [nir], id);
    if (r.header.type !== 'loaded')
      throw new AcceleratorError('malformed-frame', `expected loaded, got ${r.header.type}`, FIX_CONNECT);
    return { inputs: r.header.inputs, outputs: r.header.outputs };
  }

  /** Runs T steps of a loaded graph; the neuron state continues unless `reset`. */
  async run(
    graph: string,
    inputs: WireTensor[],
    reset: boolean,
  ): Promise<{ outputs: WireTensor[]; computeMs: number }> {
    const id = this.nextId++;
    const { meta, parts } = encodeTensors(inputs);
    const r = await this.request({ type: 'run', id, graph, reset, tensors: meta }, parts, id);
    if (r.header.type !== 'result')
      throw new AcceleratorError('malformed-frame', `expected result, got ${r.header.type}`, FIX_CONNECT);
    return { outputs: decodeTensors(r.header.tensors, r.parts), computeMs: r.header.computeMs };
  }

  async reset(graph: string): Promise<void> {
    const id = this.nextId++;
    await this.request({ type: 'reset', id, graph }, [], id);
  }

  async unload(graph: string): Promise<void> {
    const id = this.nextId++;
    await this.request({ type: 'unload', id, graph }, [], id);
  }

  /** Sends raw bytes (fault tests: a malformed frame). */
  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(
      new AcceleratorError(
        'disconnected',
        `accelerator ${this.url} connection closed by the host`,
        FIX_CONNECT,
      ),
    );
    this.socket.close(1000, 'done');
  }
}
