// Long jobs of the viewer (frames computed on demand) run in worker threads with progress and cancellation; the run
// they write is opened while it grows, so the renderer shows frames as they arrive.
import { Worker } from 'node:worker_threads';
import type { JobInfo } from '../api/protocol.ts';

export interface JobRequest {
  kind: 'ground-truth-run';
  dataroot: string;
  version: string;
  out: string;
  planner: 'expert' | 'cost-only' | 'constant-velocity';
  limit?: number;
}

export type JobWorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; frames: number }
  | { type: 'cancelled'; frames: number }
  | { type: 'failed'; message: string; fix?: string };

interface Job {
  info: JobInfo;
  worker: Worker | null;
  finished: Promise<JobInfo>;
}

export class JobManager {
  readonly #jobs = new Map<string, Job>();
  #next = 1;

  /** Starts a job; `onFirstFrame` is called once its run folder holds a manifest (to open it). */
  start(request: JobRequest, label: string, onProgress?: (info: JobInfo) => void): JobInfo {
    const jobId = `job-${this.#next++}`;
    const info: JobInfo = { jobId, kind: request.kind, label, state: 'running', done: 0, total: 0 };
    const worker = new Worker(new URL('./job-worker.js', import.meta.url), { workerData: request });
    let settle: (value: JobInfo) => void = () => {};
    const finished = new Promise<JobInfo>((resolve) => {
      settle = resolve;
    });
    const job: Job = { info, worker, finished };
    const end = (state: JobInfo['state'], error?: string) => {
      if (info.state !== 'running') return;
      info.state = state;
      if (error) info.error = error;
      job.worker = null;
      settle({ ...info });
    };
    worker.on('message', (message: JobWorkerMessage) => {
      if (message.type === 'progress') {
        info.done = message.done;
        info.total = message.total;
        onProgress?.({ ...info });
      } else if (message.type === 'done') end('done');
      else if (message.type === 'cancelled') end('cancelled');
      else end('failed', message.fix ? `${message.message} → ${message.fix}` : message.message);
    });
    worker.on('error', (error) => end('failed', error.message));
    worker.on('exit', (code) =>
      end(code === 0 ? 'done' : 'failed', code === 0 ? undefined : `worker exited with ${code}`),
    );
    this.#jobs.set(jobId, job);
    return { ...info };
  }

  list(): JobInfo[] {
    return [...this.#jobs.values()].map((j) => ({ ...j.info }));
  }

  get(jobId: string): JobInfo | undefined {
    const job = this.#jobs.get(jobId);
    return job ? { ...job.info } : undefined;
  }

  setRun(jobId: string, runId: string): void {
    const job = this.#jobs.get(jobId);
    if (job) job.info.runId = runId;
  }

  /** Asks the job to stop after its current frame. */
  cancel(jobId: string): JobInfo | undefined {
    const job = this.#jobs.get(jobId);
    job?.worker?.postMessage({ type: 'cancel' });
    return job ? { ...job.info } : undefined;
  }

  finished(jobId: string): Promise<JobInfo> | undefined {
    return this.#jobs.get(jobId)?.finished;
  }

  /** Stops every worker (app shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.#jobs.values()].map((j) => j.worker?.terminate()));
  }
}
