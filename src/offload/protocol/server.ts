import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { SpikedriveError } from '../../util/errors.ts';
import { readNirBytes } from '../nir/io.ts';
import { internalShape } from '../sim/layout.ts';
import { NirSimulator } from '../sim/simulator.ts';
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodeFrame,
  decodeTensors,
  type ErrorCode,
  encodeFrame,
  encodeTensors,
  type Header,
  MalformedFrameError,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from './protocol.ts';

/**
 * The device side: `spikedrive serve-accelerator --backend nir-sim` answers the accelerator protocol with the NIR
 * simulator (one simulator per loaded graph and connection, requests handled in order). A malformed frame gets an
 * `error` reply (malformed-frame) and the connection is closed (1002), since the stream can no longer be trusted;
 * a bad request (unknown graph, wrong input shapes) gets an `error` reply and the session goes on.
 */

export interface AcceleratorServerOptions {
  port?: number;
  host?: string;
  backend?: 'nir-sim';
  maxFrameBytes?: number;
  /** Optional per-request artificial delay in ms (for fault tests and demos of the client's timeout). */
  delayMs?: number;
  log?: (line: string) => void;
}

export interface AcceleratorServer {
  url: string;
  port: number;
  /** Connections open now. */
  connections(): number;
  /** Sets the artificial per-request delay (fault tests, demos of the client's timeout). */
  setDelayMs(ms: number): void;
  close(): Promise<void>;
}

interface Session {
  graphs: Map<string, NirSimulator>;
  queue: Promise<void>;
}

function errorFrame(id: number | null, code: ErrorCode, message: string): Uint8Array {
  return encodeFrame({ type: 'error', id, code, message });
}

function toBytes(data: RawData): Uint8Array {
  if (Buffer.isBuffer(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return new Uint8Array(data);
}

/** Starts the accelerator server; resolves once it listens (port 0 picks a free port). */
export async function startAcceleratorServer(
  options: AcceleratorServerOptions = {},
): Promise<AcceleratorServer> {
  const backend = options.backend ?? 'nir-sim';
  if (backend !== 'nir-sim') {
    throw new SpikedriveError(`unknown accelerator backend "${backend}"`, {
      subject: 'backend',
      fix: 'Use --backend nir-sim.',
    });
  }
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  let delayMs = options.delayMs ?? 0;
  const log = options.log ?? (() => {});
  const wss = new WebSocketServer({
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    maxPayload: maxFrameBytes,
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', (error) => {
      reject(
        new SpikedriveError(
          `Cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${error.message}`,
          {
            subject: 'serve-accelerator',
            fix: 'Pick a free port with --port (0 picks one).',
            cause: error,
          },
        ),
      );
    });
  });
  const address = wss.address() as AddressInfo;
  const sessions = new Set<Session>();

  wss.on('connection', (socket: WebSocket) => {
    const session: Session = { graphs: new Map(), queue: Promise.resolve() };
    sessions.add(session);
    let greeted = false;
    log(`connection opened (${sessions.size} open)`);
    const send = (frame: Uint8Array) => {
      if (socket.readyState === socket.OPEN) socket.send(frame);
    };
    socket.on('message', (data, isBinary) => {
      session.queue = session.queue.then(async () => {
        let frame: ReturnType<typeof decodeFrame>;
        try {
          if (!isBinary) throw new MalformedFrameError('text frame (the protocol uses binary frames only)');
          frame = decodeFrame(toBytes(data));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          log(`malformed frame: ${message}`);
          send(errorFrame(null, 'malformed-frame', message));
          socket.close(1002, 'malformed frame');
          return;
        }
        const header = frame.header;
        if (!greeted) {
          if (header.type !== 'hello') {
            send(errorFrame('id' in header ? (header.id as number) : null, 'not-ready', 'send hello first'));
            socket.close(1002, 'no hello');
            return;
          }
          if (header.protocol !== PROTOCOL_NAME || header.version !== PROTOCOL_VERSION) {
            send(
              errorFrame(
                null,
                'version-mismatch',
                `server speaks ${PROTOCOL_NAME} ${PROTOCOL_VERSION}, client sent ${header.protocol} ${header.version}`,
              ),
            );
            socket.close(1002, 'version mismatch');
            return;
          }
          greeted = true;
          send(
            encodeFrame({
              type: 'welcome',
              protocol: PROTOCOL_NAME,
              version: PROTOCOL_VERSION,
              server: 'spikedrive serve-accelerator',
              backend,
              maxFrameBytes,
            }),
          );
          return;
        }
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        try {
          send(await handle(session, header, frame.parts));
        } catch (error) {
          const id = 'id' in header ? (header.id as number) : null;
          const code: ErrorCode = error instanceof RequestError ? error.code : 'backend-error';
          const message = error instanceof Error ? error.message : String(error);
          log(`request ${id} failed (${code}): ${message}`);
          send(errorFrame(id, code, message));
        }
      });
    });
    socket.on('close', () => {
      for (const sim of session.graphs.values()) sim.dispose();
      session.graphs.clear();
      sessions.delete(session);
      log(`connection closed (${sessions.size} open)`);
    });
    socket.on('error', (error) => log(`socket error: ${error.message}`));
  });

  return {
    url: `ws://${address.address}:${address.port}`,
    port: address.port,
    connections: () => sessions.size,
    setDelayMs: (ms: number) => {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function handle(session: Session, header: Header, parts: Uint8Array[]): Promise<Uint8Array> {
  switch (header.type) {
    case 'load': {
      let graph: Awaited<ReturnType<typeof readNirBytes>>;
      try {
        graph = await readNirBytes(parts[0], { subject: `graph ${header.graph}` });
      } catch (error) {
        throw new RequestError('bad-graph', error instanceof Error ? error.message : String(error));
      }
      let sim: NirSimulator;
      try {
        sim = new NirSimulator(graph.graph);
      } catch (error) {
        throw new RequestError('bad-graph', error instanceof Error ? error.message : String(error));
      }
      session.graphs.get(header.graph)?.dispose();
      session.graphs.set(header.graph, sim);
      return encodeFrame({
        type: 'loaded',
        id: header.id,
        graph: header.graph,
        inputs: sim.inputs,
        outputs: sim.outputs,
      });
    }
    case 'run': {
      const sim = session.graphs.get(header.graph);
      if (sim === undefined)
        throw new RequestError('unknown-graph', `no graph "${header.graph}" is loaded on this connection`);
      if (header.reset) sim.reset();
      const inputs = new Map<string, tf.Tensor>();
      const started = performance.now();
      try {
        for (const t of decodeTensors(header.tensors, parts)) {
          const port = sim.inputs.find((i) => i.name === t.name);
          const want = port === undefined ? null : internalShape(port.shape);
          if (
            want === null ||
            t.shape.length !== want.length + 2 ||
            want.some((d, i) => d !== t.shape[i + 2])
          ) {
            throw new RequestError(
              'bad-input',
              `input "${t.name}" of shape [${t.shape.join(', ')}] does not match the graph (${sim.inputs.map((i) => `${i.name} [T, B, ${internalShape(i.shape).join(', ')}]`).join('; ')})`,
            );
          }
          inputs.set(t.name, tf.tensor(t.values, t.shape, 'float32'));
        }
        const result = sim.run(inputs);
        const tensors = [...result.outputs].map(([name, y]) => ({
          name,
          shape: [...y.shape],
          values: y.dataSync() as Float32Array,
        }));
        const encoded = encodeTensors(tensors);
        tf.dispose([...result.outputs.values()]);
        return encodeFrame(
          {
            type: 'result',
            id: header.id,
            graph: header.graph,
            tensors: encoded.meta,
            computeMs: performance.now() - started,
          },
          encoded.parts,
        );
      } catch (error) {
        if (error instanceof RequestError) throw error;
        throw new RequestError('backend-error', error instanceof Error ? error.message : String(error));
      } finally {
        tf.dispose([...inputs.values()]);
      }
    }
    case 'reset': {
      const sim = session.graphs.get(header.graph);
      if (sim === undefined) throw new RequestError('unknown-graph', `no graph "${header.graph}" is loaded`);
      sim.reset();
      return encodeFrame({ type: 'ok', id: header.id });
    }
    case 'unload': {
      session.graphs.get(header.graph)?.dispose();
      session.graphs.delete(header.graph);
      return encodeFrame({ type: 'ok', id: header.id });
    }
    default:
      throw new RequestError('malformed-frame', `a client does not send "${header.type}"`);
  }
}
