import { Worker } from 'node:worker_threads';
import { createRng, SpikedriveError } from '../../src/util/index.ts';
import { collateSadSamples } from './collate.ts';
import type { SadDataset } from './dataset.ts';
import type { SerializedError, WorkerRequest } from './loader-worker-main.ts';
import { openSadDataset, type SadDatasetSpec } from './spec.ts';
import type { SadBatch, SadSample } from './types.ts';

/**
 * A prefetching loader over a `SadDatasetSpec`, as PyTorch's DataLoader for SAD: batches in a fixed order
 * (or a seeded shuffle per epoch), built by worker threads that each open their own dataset, `prefetch`
 * samples ahead of the consumer, so decoding never waits for training and training rarely waits for decoding.
 * `workers: 0` builds samples on the calling thread (still asynchronously, overlapping image decodes).
 */
export interface SadLoaderOptions {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Shuffle the order each epoch (seeded: seed and epoch give the order). Default false. */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0). */
  seed?: number | string;
  /** Drop a last incomplete batch (default false). */
  dropLast?: boolean;
  /** Worker threads (default 1; 0 builds samples on the calling thread). */
  workers?: number;
  /** Samples requested ahead of the batch being consumed (default batchSize · max(2, 2·workers)). */
  prefetch?: number;
}

interface Pending {
  resolve: (sample: SadSample) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Pending>;
  dead: Error | null;
}

type WorkerMessage =
  | { type: 'ready'; length: number }
  | { type: 'init-failed'; error: SerializedError }
  | { type: 'sample'; id: number; sample: SadSample }
  | { type: 'failed'; id: number; error: SerializedError };

function rebuildError(error: SerializedError): Error {
  if (error.name === 'SpikedriveError' && error.fix !== undefined) {
    return new SpikedriveError(error.message, { fix: error.fix, subject: error.subject });
  }
  const e = new Error(error.message);
  e.name = error.name;
  return e;
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new SpikedriveError(`SadLoader option ${name} must be an integer ≥ ${min}, got ${value}`, {
      subject: name,
      fix: `Pass ${name} as a whole number ≥ ${min}.`,
    });
  }
  return value;
}

export class SadLoader {
  readonly spec: SadDatasetSpec;
  /** Samples in the dataset. */
  readonly length: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number | string;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly workerCount: number;

  readonly #slots: Slot[];
  readonly #inline: SadDataset | undefined;
  #nextId = 0;
  #closed = false;

  private constructor(
    spec: SadDatasetSpec,
    options: Required<Omit<SadLoaderOptions, 'workers'>> & { workers: number },
    length: number,
    slots: Slot[],
    inline: SadDataset | undefined,
  ) {
    this.spec = spec;
    this.length = length;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle;
    this.seed = options.seed;
    this.dropLast = options.dropLast;
    this.prefetch = options.prefetch;
    this.workerCount = options.workers;
    this.#slots = slots;
    this.#inline = inline;
  }

  /** Starts the workers (each loads the tables) and resolves when all are ready. */
  static async open(spec: SadDatasetSpec, options: SadLoaderOptions = {}): Promise<SadLoader> {
    const batchSize = positiveInteger('batchSize', options.batchSize ?? 1, 1);
    const workers = positiveInteger('workers', options.workers ?? 1, 0);
    const prefetch = positiveInteger('prefetch', options.prefetch ?? batchSize * Math.max(2, 2 * workers), 0);
    const settings = {
      batchSize,
      workers,
      prefetch,
      shuffle: options.shuffle ?? false,
      seed: options.seed ?? 0,
      dropLast: options.dropLast ?? false,
    };
    if (workers === 0) {
      const dataset = openSadDataset(spec);
      return new SadLoader(spec, settings, dataset.length, [], dataset);
    }
    const slots: Slot[] = [];
    const ready: Promise<number>[] = [];
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(new URL('./loader-worker.js', import.meta.url));
      const slot: Slot = { worker, inFlight: new Map(), dead: null };
      slots.push(slot);
      ready.push(
        new Promise<number>((resolve, reject) => {
          const onMessage = (message: WorkerMessage) => {
            if (message.type === 'ready') resolve(message.length);
            else if (message.type === 'init-failed') reject(rebuildError(message.error));
            else SadLoader.#settle(slot, message);
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
          worker.on('error', (error) => SadLoader.#fail(slot, error));
          worker.on('exit', (code) => {
            SadLoader.#fail(slot, new Error(`SAD loader worker exited (code ${code})`));
            reject(new Error(`SAD loader worker exited during start-up (code ${code})`));
          });
        }),
      );
      worker.postMessage({ type: 'init', spec } satisfies WorkerRequest);
    }
    let lengths: number[];
    try {
      lengths = await Promise.all(ready);
    } catch (error) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw error;
    }
    for (const slot of slots) slot.worker.unref();
    return new SadLoader(spec, settings, lengths[0], slots, undefined);
  }

  static #settle(slot: Slot, message: WorkerMessage): void {
    if (message.type !== 'sample' && message.type !== 'failed') return;
    const pending = slot.inFlight.get(message.id);
    if (!pending) return;
    slot.inFlight.delete(message.id);
    if (slot.inFlight.size === 0) slot.worker.unref();
    if (message.type === 'sample') pending.resolve(message.sample);
    else pending.reject(rebuildError(message.error));
  }

  static #fail(slot: Slot, error: Error): void {
    slot.dead ??= error;
    for (const pending of slot.inFlight.values()) pending.reject(error);
    slot.inFlight.clear();
  }

  /** Batches per epoch. */
  get batchCount(): number {
    return this.dropLast ? Math.floor(this.length / this.batchSize) : Math.ceil(this.length / this.batchSize);
  }

  /** The sample order of an epoch: 0..n−1, or a Fisher–Yates shuffle seeded by (seed, epoch). */
  order(epoch = 0): number[] {
    const order = Array.from({ length: this.length }, (_, i) => i);
    if (!this.shuffle) return order;
    const rng = createRng(`${this.seed}/epoch-${epoch}`);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  /** One sample by dataset index, from the least busy worker (or this thread). */
  load(index: number): Promise<SadSample> {
    if (this.#closed) {
      return Promise.reject(
        new SpikedriveError('the SAD loader is closed', {
          subject: 'SadLoader',
          fix: 'Open a new loader (SadLoader.open) to keep loading.',
        }),
      );
    }
    if (this.#inline) return this.#inline.getSample(index, { images: this.spec.images ?? true });
    const alive = this.#slots.filter((s) => !s.dead);
    if (alive.length === 0) {
      return Promise.reject(this.#slots[0]?.dead ?? new Error('no SAD loader workers'));
    }
    const slot = alive.reduce((best, s) => (s.inFlight.size < best.inFlight.size ? s : best));
    const id = this.#nextId++;
    return new Promise<SadSample>((resolve, reject) => {
      slot.inFlight.set(id, { resolve, reject });
      if (slot.inFlight.size === 1) slot.worker.ref();
      slot.worker.postMessage({ type: 'load', id, index } satisfies WorkerRequest);
    });
  }

  /**
   * The batches of one epoch, in order. Samples are requested `prefetch` ahead; leaving the loop early
   * abandons the requests in flight (their results are dropped).
   */
  async *batches(epoch = 0): AsyncGenerator<SadBatch, void, undefined> {
    const order = this.order(epoch);
    const total = this.dropLast ? this.batchCount * this.batchSize : this.length;
    const started = new Map<number, Promise<SadSample>>();
    let next = 0;
    const startUpTo = (limit: number) => {
      for (; next < Math.min(limit, total); next++) {
        const promise = this.load(order[next]);
        // Failures surface when the batch is awaited; an abandoned one must not be an unhandled rejection.
        promise.catch(() => {});
        started.set(next, promise);
      }
    };
    for (let b = 0; b < this.batchCount; b++) {
      const from = b * this.batchSize;
      const to = Math.min(from + this.batchSize, total);
      startUpTo(to + this.prefetch);
      const samples: SadSample[] = [];
      for (let p = from; p < to; p++) {
        samples.push(await (started.get(p) as Promise<SadSample>));
        started.delete(p);
      }
      yield collateSadSamples(samples);
    }
  }

  /** Stops the workers; requests in flight are rejected. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new SpikedriveError('the SAD loader was closed while samples were loading', {
      subject: 'SadLoader',
      fix: 'Finish iterating before calling close(), or ignore this if you stopped on purpose.',
    });
    await Promise.all(
      this.#slots.map(async (slot) => {
        SadLoader.#fail(slot, closed);
        slot.worker.removeAllListeners('exit');
        await slot.worker.terminate();
      }),
    );
  }
}
