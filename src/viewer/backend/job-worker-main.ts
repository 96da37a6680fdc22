// Runs one long viewer job off the server's thread (a ground-truth run, or a model run through the evaluator),
// posting progress; the parent cancels by posting { type: 'cancel' } (the run stays valid and resumable).
import { parentPort, workerData } from 'node:worker_threads';
import { writeGroundTruthRun } from '../run/expert.ts';
import type { JobRequest, JobWorkerMessage } from './jobs.ts';
import { runModelJob } from './model-job.ts';

const port = parentPort;
if (!port) throw new Error('job-worker-main.ts must run in a worker thread');
const request = workerData as JobRequest;
const controller = new AbortController();
port.on('message', (message: { type: string }) => {
  if (message.type === 'cancel') controller.abort();
});
const post = (message: JobWorkerMessage) => port.postMessage(message);
try {
  let frames: number;
  let complete: boolean;
  if (request.kind === 'model-run') {
    ({ frames, complete } = await runModelJob(request, {
      signal: controller.signal,
      onProgress: (done, total) => post({ type: 'progress', done, total }),
      log: (line) => post({ type: 'log', line }),
    }));
  } else {
    frames = await writeGroundTruthRun({
      dataroot: request.dataroot,
      version: request.version,
      out: request.out,
      planner: request.planner,
      overwrite: true,
      limit: request.limit,
      signal: controller.signal,
      onProgress: (done, total) => post({ type: 'progress', done, total }),
    });
    complete = !controller.signal.aborted;
  }
  post({ type: controller.signal.aborted || !complete ? 'cancelled' : 'done', frames });
} catch (error) {
  const e = error as { message?: string; fix?: string };
  post({ type: 'failed', message: e.message ?? String(error), fix: e.fix });
}
