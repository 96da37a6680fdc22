// Runs one long viewer job off the server's thread (a ground-truth run now; live model frames when the pipeline
// lands), posting progress; the parent cancels by posting { type: 'cancel' } (the run stays valid, status running).
import { parentPort, workerData } from 'node:worker_threads';
import { writeGroundTruthRun } from '../run/expert.ts';
import type { JobRequest, JobWorkerMessage } from './jobs.ts';

const port = parentPort;
if (!port) throw new Error('job-worker-main.ts must run in a worker thread');
const request = workerData as JobRequest;
const controller = new AbortController();
port.on('message', (message: { type: string }) => {
  if (message.type === 'cancel') controller.abort();
});
const post = (message: JobWorkerMessage) => port.postMessage(message);
try {
  const frames = await writeGroundTruthRun({
    dataroot: request.dataroot,
    version: request.version,
    out: request.out,
    planner: request.planner,
    overwrite: true,
    limit: request.limit,
    signal: controller.signal,
    onProgress: (done, total) => post({ type: 'progress', done, total }),
  });
  post({ type: controller.signal.aborted ? 'cancelled' : 'done', frames });
} catch (error) {
  const e = error as { message?: string; fix?: string };
  post({ type: 'failed', message: e.message ?? String(error), fix: e.fix });
}
