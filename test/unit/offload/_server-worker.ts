import { parentPort } from 'node:worker_threads';
import { WebSocketServer } from 'ws';
import {
  decodeFrame,
  encodeFrame,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from '../../../src/offload/protocol/protocol.ts';
import { startAcceleratorServer } from '../../../src/offload/protocol/server.ts';

/**
 * One thread with three devices: the real server (nir-sim; `{ delay: ms }` slows it), and two faulty stand-ins
 * that speak the protocol up to a point: `disconnect` drops the socket when a run arrives, `garbage` answers a run
 * with bytes that are not a frame.
 */
const tf = await import('@tensorflow/tfjs');
await tf.setBackend('cpu');
const real = await startAcceleratorServer({ port: 0 });

async function standIn(mode: 'disconnect' | 'garbage'): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const h = decodeFrame(new Uint8Array(data as Buffer)).header;
      if (h.type === 'hello') {
        socket.send(
          encodeFrame({
            type: 'welcome',
            protocol: PROTOCOL_NAME,
            version: PROTOCOL_VERSION,
            server: 'fault',
            backend: mode,
            maxFrameBytes: 1 << 20,
          }),
        );
      } else if (h.type === 'load') {
        socket.send(encodeFrame({ type: 'loaded', id: h.id, graph: h.graph, inputs: [], outputs: [] }));
      } else if (h.type === 'run') {
        if (mode === 'disconnect') socket.terminate();
        else socket.send(new TextEncoder().encode('NOPE this is not a frame'));
      }
    });
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

const disconnect = await standIn('disconnect');
const garbage = await standIn('garbage');
parentPort?.postMessage({ real: real.url, disconnect: disconnect.url, garbage: garbage.url });
parentPort?.on('message', async (m: 'close' | { delay: number }) => {
  if (m === 'close') {
    await Promise.all([real.close(), disconnect.close(), garbage.close()]);
    parentPort?.postMessage('closed');
  } else {
    real.setDelayMs(m.delay);
    parentPort?.postMessage('ok');
  }
});
