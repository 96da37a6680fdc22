import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { startAcceleratorServer } from '../src/offload/protocol/server.ts';

// The bench's own back end (wasm by default), so the device computes as fast as the in-process nir-sim.
const wanted = (workerData as { backend?: string } | null)?.backend ?? 'cpu';
try {
  if (!(await tf.setBackend(wanted))) throw new Error(`backend ${wanted} unavailable`);
} catch {
  await tf.setBackend('cpu');
}
await tf.ready();
const server = await startAcceleratorServer({ port: 0 });
parentPort?.postMessage({ url: server.url, backend: tf.getBackend() });
parentPort?.on('message', async (m) => {
  if (m === 'close') {
    await server.close();
    parentPort?.postMessage('closed');
  }
});
