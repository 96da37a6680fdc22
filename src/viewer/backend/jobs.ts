// Long jobs of the viewer (frames computed on demand) run in worker threads with progress and cancellation; the run
// they write is opened while it grows, so the renderer shows frames as they arrive.
import { Worker } from 'node:worker_threads';
import type { JobInfo } from '../api/protocol.ts';

/** A run from ground truth (no model): the labels stand in for the network. */
export interface GroundTruthJobRequest {
  kind: 'ground-truth-run';
  dataroot: string;
  version: string;
  out: string;
  planner: 'expert' | 'cost-only' | 'constant-velocity';
  limit?: number;
}

/** A run computed by the SAD model through the evaluator's model path (`src/eval`), resumable. */
export interface ModelJobRequest {
  kind: 'model-run';
  dataroot: string;
  version: string;
  out: string;
  /** Checkpoint (`.safetensors`); null = the shipped model. */
  checkpoint: string | null;
  /** A built-in planner (default `sad`, through the model) or a plugin module path. */
  planner: string;
  /** `MODULE=BACKEND` specs as `spikedrive infer --offload` takes them (e.g. perception=nir-sim). */
  offload: string[];
  offloadFallback?: 'error' | 'host';
  /** SAD split (default val, as `spikedrive eval`). */
  split?: 'train' | 'val';
  limit?: number;
  /** Tensor back end (default auto). */
  backend?: string;
  /** Keep a partial run of the same settings in `out` (resume); a run of other settings is replaced. */
  resume?: boolean;
}

export type JobRequest = GroundTruthJobRequest | ModelJobRequest;

export type JobWorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'log'; line: string }
  | { type: 'done'; frames: number }
  | { type: 'cancelled'; frames: number }
  | { type: 'failed'; message: string; fix?: string };

interface Job {
  info: JobInfo;
  worker: Worker | null;
  finished: Promise<JobInfo>;
  cancelRequested: boolean;
}

export interface JobManagerOptions {
  /** After a cancel, how long a job may take to stop at its next frame before its worker is terminated (ms). */
  cancelGraceMs?: number;
  log?: (line: string) => void;
}

export class JobManager {
  readonly #jobs = new Map<string, Job>();
  readonly #options: JobManagerOptions;
  #next = 1;

  constructor(options: JobManagerOptions = {}) {
    this.#options = options;
  }

  /** Starts a job in a worker thread; `onProgress` sees every progress update. */
  start(request: JobRequest, label: string, onProgress?: (info: JobInfo) => void): JobInfo {
    const jobId = `job-${this.#next++}`;
    const info: JobInfo = { jobId, kind: request.kind, label, state: 'running', done: 0, total: 0 };
    const worker = new Worker(new URL('./job-worker.js', import.meta.url), { workerData: request });
    let settle: (value: JobInfo) => void = () => {};
    const finished = new Promise<JobInfo>((resolve) => {
      settle = resolve;
    });
    const job: Job = { info, worker, finished, cancelRequested: false };
    const end = (state: JobInfo['state'], error?: string) => {
      if (info.state !== 'running') return;
      info.state = state;
      if (error) info.error = error;
      // A finished job's thread may still hold handles (loader threads, sockets): end it.
      const w = job.worker;
      job.worker = null;
      void w?.terminate();
      settle({ ...info });
    };
    worker.on('message', (message: JobWorkerMessage) => {
      if (message.type === 'progress') {
        info.done = message.done;
        info.total = message.total;
        onProgress?.({ ...info });
      } else if (message.type === 'log') this.#options.log?.(`${label}: ${message.line}`);
      else if (message.type === 'done') end('done');
      else if (message.type === 'cancelled') end('cancelled');
      else end('failed', message.fix ? `${message.message} → ${message.fix}` : message.message);
    });
    worker.on('error', (error) => end('failed', error.message));
    worker.on('exit', (code) => {
      if (job.cancelRequested) end('cancelled');
      else end(code === 0 ? 'done' : 'failed', code === 0 ? undefined : `worker exited with ${code}`);
    });
    this.#jobs.set(jobId, job);
    return { ...info };
  }

  /**
   * Registers work the host does itself (the demo world being generated) so the renderer shows its progress like a
   * job's; it cannot be cancelled.
   */
  track(
    kind: string,
    label: string,
  ): {
    progress(done: number, total: number): void;
    end(state: 'done' | 'failed', error?: string): void;
  } {
    const jobId = `job-${this.#next++}`;
    const info: JobInfo = { jobId, kind, label, state: 'running', done: 0, total: 0, cancellable: false };
    let settle: (value: JobInfo) => void = () => {};
    const finished = new Promise<JobInfo>((resolve) => {
      settle = resolve;
    });
    this.#jobs.set(jobId, { info, worker: null, finished, cancelRequested: false });
    return {
      progress(done, total) {
        info.done = done;
        info.total = total;
      },
      end(state, error) {
        if (info.state !== 'running') return;
        info.state = state;
        if (error) info.error = error;
        settle({ ...info });
      },
    };
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

  /**
   * Asks the job to stop after its current frame (what it wrote stays a valid, resumable run); a job that has not
   * stopped within the grace period (a long forward pass, a model still loading) has its worker terminated — every
   * file is written atomically, so at most the frame in flight is lost.
   */
  cancel(jobId: string): JobInfo | undefined {
    const job = this.#jobs.get(jobId);
    if (job?.worker) {
      job.cancelRequested = true;
      job.worker.postMessage({ type: 'cancel' });
      const worker = job.worker;
      setTimeout(() => {
        if (job.worker === worker) void worker.terminate();
      }, this.#options.cancelGraceMs ?? 15_000).unref();
    }
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
