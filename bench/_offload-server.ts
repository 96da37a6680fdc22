import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { startAcceleratorServer } from '../src/offload/protocol/server.ts';

await tf.setBackend('cpu');
const server = await startAcceleratorServer({ port: 0 });
parentPort?.postMessage({ url: server.url });
parentPort?.on('message', async (m) => {
  if (m === 'close') {
    await server.close();
    parentPort?.postMessage('closed');
  }
});
