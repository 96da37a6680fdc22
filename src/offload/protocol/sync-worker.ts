import { type MessagePort, workerData } from 'node:worker_threads';
import { AcceleratorClient, type ClientOptions } from './client.ts';
import { AcceleratorError, type WireTensor } from './protocol.ts';

/**
 * The thread behind `SyncAcceleratorClient`: it owns the WebSockets (one async `AcceleratorClient` per
 * connection id) and answers calls. Each answer carries the call's sequence number; it is posted on the port, then
 * the shared flag is raised and notified, which wakes the main thread blocked in `Atomics.wait`.
 */

type Call =
  | { op: 'connect'; url: string; options: ClientOptions }
  | { op: 'load'; graph: string; nir: Uint8Array }
  | { op: 'run'; graph: string; inputs: WireTensor[]; reset: boolean }
  | { op: 'reset' | 'unload'; graph: string }
  | { op: 'raw'; bytes: Uint8Array }
  | { op: 'close' };

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };
const clients = new Map<number, AcceleratorClient>();

function reply(seq: number, message: Record<string, unknown>): void {
  port.postMessage({ seq, ...message });
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function failure(error: unknown): Record<string, unknown> {
  if (error instanceof AcceleratorError)
    return { ok: false, code: error.code, message: error.message, fix: error.fix };
  return {
    ok: false,
    code: 'backend-error',
    message: error instanceof Error ? error.message : String(error),
    fix: 'See the log.',
  };
}

function need(connection: number): AcceleratorClient {
  const c = clients.get(connection);
  if (c === undefined) throw new AcceleratorError('disconnected', 'not connected', 'Connect first.');
  return c;
}

port.on('message', async ({ seq, connection, call }: { seq: number; connection: number; call: Call }) => {
  try {
    switch (call.op) {
      case 'connect': {
        const c = await AcceleratorClient.connect(call.url, call.options);
        clients.set(connection, c);
        reply(seq, { ok: true, backend: c.backend });
        break;
      }
      case 'load':
        reply(seq, { ok: true, ...(await need(connection).load(call.graph, call.nir)) });
        break;
      case 'run': {
        const c = need(connection);
        const r = await c.run(call.graph, call.inputs, call.reset);
        reply(seq, {
          ok: true,
          outputs: r.outputs,
          computeMs: r.computeMs,
          bytesSent: c.bytesSent,
          bytesReceived: c.bytesReceived,
        });
        break;
      }
      case 'reset':
        await need(connection).reset(call.graph);
        reply(seq, { ok: true });
        break;
      case 'unload':
        await need(connection).unload(call.graph);
        reply(seq, { ok: true });
        break;
      case 'raw':
        need(connection).sendRaw(call.bytes);
        reply(seq, { ok: true });
        break;
      case 'close':
        clients.get(connection)?.close();
        clients.delete(connection);
        reply(seq, { ok: true });
        break;
    }
  } catch (error) {
    reply(seq, failure(error));
  }
});
