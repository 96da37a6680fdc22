// A render worker: holds the current ground raster (shared memory, no copy) and renders camera jobs.
import { parentPort, workerData } from 'node:worker_threads';
import type { GroundRaster } from './render/index.ts';
import { type CameraJob, type RendererModule, runCameraJob } from './render-job.ts';

type Message = { type: 'ground'; ground: GroundRaster } | { type: 'job'; id: number; job: CameraJob };

const port = parentPort;
if (!port) throw new Error('render-worker-main.ts must run in a worker thread');
const renderer = (await import((workerData as { rendererModule: string }).rendererModule)) as RendererModule;
let ground: GroundRaster | null = null;

port.on('message', (message: Message) => {
  if (message.type === 'ground') {
    ground = message.ground;
    return;
  }
  const { id, job } = message;
  if (!ground) {
    port.postMessage({ id, error: 'no ground raster was sent before the first job' });
    return;
  }
  runCameraJob(renderer, ground, job).then(
    (result) => port.postMessage({ id, result }),
    (error: unknown) =>
      port.postMessage({
        id,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});
port.postMessage({ ready: true });
