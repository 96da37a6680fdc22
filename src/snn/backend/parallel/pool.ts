/**
 * The data-parallel trainer: one worker thread per core, each with its own tfjs + back end and one replica,
 * kept alive between steps. tfjs-wasm cannot use threads in Node (ecosystem.md §10), so this is how training
 * uses every core when the native kernels are absent; with them, workers run 1 kernel thread each.
 * The main thread only splits batches, averages gradients and relays them: it stays idle during a step.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SpikedriveError } from '../../../util/errors.ts';
import type { BackendInfo } from '../select.ts';
import { transferablesOf, type WorkerInit, type WorkerRequest, type WorkerResponse } from './protocol.ts';
import { moduleUrl } from './replica.ts';
import { averageGradients, batchSize, splitBatch } from './shard.ts';
import type { GradientResult, HostTensors, StepResult, Trainer, WorkerTrainerOptions } from './types.ts';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

class WorkerHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;
  /** Errors of fire-and-forget requests (apply), raised at the next call. */
  private deferred: Error | null = null;
  readonly ready: Promise<BackendInfo>;

  constructor(
    private readonly worker: Worker,
    readonly index: number,
  ) {
    this.worker.unref();
    this.ready = new Promise<BackendInfo>((resolve, reject) => {
      this.pending.set(0, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.ref();
    });
    this.worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.fail(new Error(`training worker ${index} exited with code ${code}`));
      else this.fail(new Error(`training worker ${index} has stopped`));
    });
  }

  private onMessage(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (this.pending.size === 0) this.worker.unref();
    if (msg.ok) p.resolve(msg.result);
    else {
      const e = msg.error;
      const error =
        e.fix !== undefined
          ? new SpikedriveError(e.message, { fix: e.fix, subject: e.subject })
          : Object.assign(new Error(`training worker ${this.index}: ${e.message}`), { name: e.name });
      p.reject(error);
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  request<T>(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.deferred) {
      const e = this.deferred;
      this.deferred = null;
      return Promise.reject(e);
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, id }, transfer);
    });
  }

  /** Sends a request whose answer nobody waits for; a failure surfaces at the next request. */
  post(body: RequestBody): void {
    this.request(body).catch((error: Error) => {
      this.deferred ??= error;
    });
  }

  terminate(): Promise<number> {
    this.failure ??= new Error('trainer disposed');
    return this.worker.terminate();
  }
}

/** The worker-pool trainer, plus a look into every replica (to check they stay in sync and free tensors). */
export interface WorkerTrainer extends Trainer {
  /** Every replica's weights, in worker order. */
  replicaWeights(): Promise<HostTensors[]>;
  /** Live tfjs tensors in every worker (variables and optimizer state included). */
  replicaTensorCounts(): Promise<number[]>;
}

export async function createWorkerTrainer<Config>(
  options: WorkerTrainerOptions<Config>,
): Promise<WorkerTrainer> {
  const count = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const init: WorkerInit = {
    module: moduleUrl(options.module),
    config: options.config,
    optimizer: options.optimizer,
    backend: options.backend,
    threads: Math.max(1, Math.floor(options.threadsPerWorker ?? 1)),
    nativeKernels: options.nativeKernels,
  };
  const entry = new URL('./worker-entry.mjs', import.meta.url);
  const handles: WorkerHandle[] = [];
  for (let i = 0; i < count; i++) {
    handles.push(new WorkerHandle(new Worker(entry, { workerData: init }), i));
  }
  let infos: BackendInfo[];
  try {
    infos = await Promise.all(handles.map((h) => h.ready));
  } catch (error) {
    await Promise.all(handles.map((h) => h.terminate()));
    throw error;
  }
  options.log?.(
    `data-parallel trainer: ${count} workers on ${infos[0].name} (${infos[0].threads} kernel thread(s) each)`,
  );
  // Replicas may initialise differently (unseeded init): start them all from worker 0's weights.
  if (count > 1) {
    const weights = await handles[0].request<HostTensors>({ op: 'getWeights' });
    await Promise.all(handles.slice(1).map((h) => h.request({ op: 'setWeights', weights })));
  }

  let disposed = false;
  const live = () => {
    if (disposed) throw new Error('trainer used after dispose()');
  };

  async function lossAndGrads(batch: HostTensors): Promise<GradientResult> {
    live();
    const examples = batchSize(batch);
    const shards = splitBatch(batch, handles.length);
    const results = await Promise.all(
      shards.map((s, i) =>
        handles[i].request<{ loss: number; grads: HostTensors }>(
          { op: 'grads', batch: s.batch },
          transferablesOf(s.batch),
        ),
      ),
    );
    const parts = results.map((r, i) => ({ grads: r.grads, examples: shards[i].examples }));
    const loss = results.reduce((a, r, i) => a + (r.loss * shards[i].examples) / examples, 0);
    return { loss, grads: averageGradients(parts), examples };
  }

  return {
    replicas: count,
    backend: infos[0],
    lossAndGrads,
    async step(batch: HostTensors): Promise<StepResult> {
      const { loss, grads, examples } = await lossAndGrads(batch);
      // The averaged gradients sit in shared memory: every worker reads the same buffer. Requests run in order
      // per worker, so the next step (or getWeights) sees the update without waiting for it here.
      for (const h of handles) h.post({ op: 'apply', grads });
      return { loss, examples };
    },
    async evaluate(batch: HostTensors): Promise<number> {
      live();
      const examples = batchSize(batch);
      const shards = splitBatch(batch, handles.length);
      const losses = await Promise.all(
        shards.map((s, i) =>
          handles[i].request<number>({ op: 'evaluate', batch: s.batch }, transferablesOf(s.batch)),
        ),
      );
      return losses.reduce((a, l, i) => a + (l * shards[i].examples) / examples, 0);
    },
    async getWeights() {
      live();
      return handles[0].request<HostTensors>({ op: 'getWeights' });
    },
    async setWeights(weights: HostTensors) {
      live();
      await Promise.all(handles.map((h) => h.request({ op: 'setWeights', weights })));
    },
    async replicaWeights() {
      live();
      return Promise.all(handles.map((h) => h.request<HostTensors>({ op: 'getWeights' })));
    },
    async replicaTensorCounts() {
      live();
      return Promise.all(handles.map((h) => h.request<number>({ op: 'memory' })));
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.all(handles.map((h) => h.terminate()));
    },
  };
}
