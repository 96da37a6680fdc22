// A pool of worker threads that render and encode camera images (the expensive part of generating a world),
// so both cores work. Results come back per job; the caller combines them in a fixed order, so the output does
// not depend on which worker finished first. With 0 workers, jobs run inline on the main thread.
import { Worker } from 'node:worker_threads';
import { SpikedriveError } from '../../src/util/index.ts';
import type { GroundRaster } from './render/index.ts';
import { type CameraJob, type CameraJobResult, type RendererModule, runCameraJob } from './render-job.ts';

interface Pending {
  id: number;
  job: CameraJob;
  resolve: (result: CameraJobResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
  ready: Promise<void>;
}

export class RenderPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private ground: GroundRaster | null = null;
  private nextId = 0;
  private inlineRenderer: Promise<RendererModule> | null = null;
  private failure: Error | null = null;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  /** Workers that take new jobs (the others finish what they hold and then idle). */
  private active = Number.POSITIVE_INFINITY;

  constructor(workers: number, rendererModule: string) {
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(new URL('./render-worker.js', import.meta.url), {
        workerData: { rendererModule },
      });
      let markReady: () => void = () => {};
      const ready = new Promise<void>((resolve) => {
        markReady = resolve;
      });
      const slot: Slot = { worker, busy: null, ready };
      worker.on(
        'message',
        (message: { ready?: boolean; id?: number; result?: CameraJobResult; error?: string }) => {
          if (message.ready) {
            markReady();
            return;
          }
          const pending = slot.busy;
          slot.busy = null;
          if (!pending) return;
          if (message.error !== undefined)
            this.fail(pending, new Error(`camera render failed for ${pending.job.path}: ${message.error}`));
          else this.finish(pending, message.result!);
          this.pump();
        },
      );
      worker.on('error', (error) => {
        const pending = slot.busy;
        slot.busy = null;
        this.failure ??= error;
        if (pending) this.fail(pending, error);
        for (const queued of this.queue.splice(0)) this.fail(queued, error);
      });
      this.slots.push(slot);
    }
    if (workers === 0) this.inlineRenderer = import(rendererModule) as Promise<RendererModule>;
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** From now on at most `count` workers (at least one) take jobs, leaving cores to other work. */
  limitWorkers(count: number): void {
    this.active = Math.max(1, Math.floor(count));
  }

  /** Sets the ground for the following jobs. Call only when no job is in flight (see `drain`). */
  setGround(ground: GroundRaster): void {
    if (this.inFlight > 0) throw new Error('setGround while camera jobs are in flight');
    if (this.slots.length > 0 && !(ground.rgb.buffer instanceof SharedArrayBuffer)) {
      throw new Error('the ground raster must live in a SharedArrayBuffer to be shared with render workers');
    }
    this.ground = ground;
    for (const slot of this.slots) slot.worker.postMessage({ type: 'ground', ground });
  }

  /** Renders one image; resolves with its pixel counts once the JPEG is on disk. */
  render(job: CameraJob): Promise<CameraJobResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.ground) return Promise.reject(new Error('RenderPool.setGround must be called before render'));
    this.inFlight++;
    return new Promise<CameraJobResult>((resolve, reject) => {
      const pending: Pending = { id: this.nextId++, job, resolve, reject };
      if (this.slots.length === 0) {
        const ground = this.ground!;
        this.inlineRenderer!.then((renderer) => runCameraJob(renderer, ground, job)).then(
          (result) => this.finish(pending, result),
          (error: unknown) => this.fail(pending, error instanceof Error ? error : new Error(String(error))),
        );
        return;
      }
      this.queue.push(pending);
      this.pump();
    });
  }

  /** Resolves when every submitted job has finished. */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.worker.terminate()));
    this.slots.length = 0;
  }

  private pump(): void {
    for (const slot of this.slots.slice(0, this.active)) {
      if (slot.busy || this.queue.length === 0) continue;
      const pending = this.queue.shift()!;
      slot.busy = pending;
      slot.ready.then(() => slot.worker.postMessage({ type: 'job', id: pending.id, job: pending.job }));
    }
  }

  private finish(pending: Pending, result: CameraJobResult): void {
    pending.resolve(result);
    this.settle();
  }

  private fail(pending: Pending, error: Error): void {
    pending.reject(
      error instanceof SpikedriveError
        ? error
        : new SpikedriveError(`rendering a camera image failed: ${error.message}`, {
            subject: pending.job.path,
            fix: 'check that the output folder is writable and has free space; rerun the same command to retry',
            cause: error,
          }),
    );
    this.settle();
  }

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
