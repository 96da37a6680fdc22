import * as tf from '@tensorflow/tfjs';
import { SpikedriveError } from '../../util/errors.ts';
import type { ActivityRecord, LayerActivity } from '../activity.ts';

/** Bits of a real value on the wire/in memory unless a layer says otherwise (float32). */
export const FLOAT_BITS = 32;

/** What a layer reports about one call. Counts cover every time step and batch item of that call. */
export interface ActivityReport {
  /** The reporting layer (an SnnModule or anything with a name and pipeline module). */
  layer: { readonly name: string; readonly pipelineModule: string; readonly kind: string };
  /** Overrides `layer.kind`, e.g. `upsample` reported by a block. */
  kind?: string;
  /** Name suffix for an op inside a block that has no layer of its own, e.g. `upsample`. */
  suffix?: string;
  input: tf.Tensor;
  output: tf.Tensor;
  timeSteps: number;
  batch: number;
  /**
   * The dense multiply-accumulates of this call (conv: K·Cin·Cout/groups·output positions, linear: in·out·rows,
   * batchnorm: one per element, pool/upsample: one per element, as syops-counter).
   */
  equivalentMacs: number;
  /**
   * True for layers whose work scales with the input (conv, linear, BN, pool): their ops are synaptic operations
   * (SOPs = ops × input firing rate) when the input is binary spikes, dense MACs otherwise. False for neurons.
   */
  synaptic: boolean;
  /** One per neuron per time step for spiking neurons. */
  neuronUpdates?: number;
  /** Whether the output is binary spikes. */
  outputSpiking: boolean;
  /** The spike count when the layer already knows it (fused kernels count for free). */
  outputSpikes?: number;
  paramBytesRead?: number;
  stateBytesRead?: number;
  stateBytesWritten?: number;
  /** Precision of real-valued output in bits (32 unless quantised). */
  outputBitsPerValue?: number;
  /**
   * Whether to look at an input the instrument has not seen before to decide if it is spikes (two extra passes
   * over it). Neurons pass false: their input is a current, counted as real-valued, and no operation count
   * depends on it. Default true.
   */
  inspectInput?: boolean;
  /**
   * Sequence repetition computed once: this call stands for `repeat` identical calls (one per time step), and
   * every count (elements, spikes, MACs, updates, state bytes, bits) is multiplied by it, so the record reads as
   * the reference's T-fold computation with `inputRepeatedOverTime` set. Default 1.
   */
  repeat?: number;
}

export interface InstrumentOptions {
  /**
   * Maps a layer name to its pipeline module, overriding the layer's own `pipelineModule`. Return undefined to
   * keep the layer's.
   */
  moduleOf?: (layerName: string) => string | undefined;
}

type Count = tf.Scalar | number;

interface TensorFacts {
  /** true/false when known, or a pair of counts (non-zero, equal to one) to decide at read-out. */
  spiking: boolean | { nonZero: tf.Scalar; ones: tf.Scalar };
  nonZero?: Count;
}

interface PendingLayer {
  name: string;
  module: string;
  report: ActivityReport;
  inputElements: number;
  outputElements: number;
  inputFacts: TensorFacts;
  outputSpikes: Count;
  repeat: number;
}

interface PendingBoundary {
  key: string;
  elements: number;
  timeSteps: number;
  bitsPerValue: number;
  facts: TensorFacts;
}

type MergedActivity = LayerActivity & { calls: number; inputRepeatedOverTime: boolean };

function countNonZero(t: tf.Tensor): tf.Scalar {
  return tf.keep(tf.tidy(() => tf.sum(tf.notEqual(t, 0)) as tf.Scalar));
}

function countOnes(t: tf.Tensor): tf.Scalar {
  return tf.keep(tf.tidy(() => tf.sum(tf.equal(t, 1)) as tf.Scalar));
}

/** Back ends whose tensors live in host memory: reading them is a copy at most, never a device sync. */
function hostBackend(): boolean {
  const backend = tf.getBackend();
  return backend === 'cpu' || backend === 'wasm';
}

/**
 * Non-zeros and exact ones in one pass over host memory (hand-written: two tfjs reductions cost ~10× more on
 * wasm, where each comparison materialises a bool tensor).
 */
function countOnHost(t: tf.Tensor): { nonZero: number; ones: number } {
  const data = t.dataSync();
  let nonZero = 0;
  let ones = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v !== 0) {
      nonZero++;
      if (v === 1) ones++;
    }
  }
  return { nonZero, ones };
}

/**
 * Collects per-layer activity during one forward pass. Layers call `record()` only when a forward context carries
 * an instrument, so an absent instrument costs nothing. Counts are kept as scalar tensors and read in one go by
 * `finish()`, so recording never forces a device sync per layer. A tensor's spike count is computed once and
 * reused when the next layer reads the same tensor.
 */
export class Instrument {
  private readonly facts = new Map<number, TensorFacts>();
  private readonly pending: PendingLayer[] = [];
  private readonly boundaries: PendingBoundary[] = [];
  private readonly owned: tf.Tensor[] = [];
  private finished = false;
  private spentMs = 0;

  constructor(private readonly options: InstrumentOptions = {}) {}

  /**
   * Milliseconds spent inside the instrument so far (recording, counting, read-out), i.e. what counting added to
   * the forward pass on synchronous back ends (cpu, wasm).
   */
  get elapsedMs(): number {
    return this.spentMs;
  }

  /** Layers recorded so far (calls, not merged). */
  get pendingCalls(): number {
    return this.pending.length;
  }

  private own<T extends tf.Tensor>(t: T): T {
    this.owned.push(t);
    return t;
  }

  private factsFor(t: tf.Tensor): TensorFacts {
    let facts = this.facts.get(t.id);
    if (facts === undefined) {
      if (hostBackend()) {
        const counts = countOnHost(t);
        facts = { spiking: counts.nonZero === counts.ones, nonZero: counts.nonZero };
      } else {
        const nonZero = this.own(countNonZero(t));
        const ones = this.own(countOnes(t));
        facts = { spiking: { nonZero, ones }, nonZero };
      }
      this.facts.set(t.id, facts);
    }
    return facts;
  }

  /** Declares a tensor to be binary spikes (or not) without looking at it, e.g. a pipeline input. */
  declare(t: tf.Tensor, spiking: boolean, nonZero?: number): void {
    const count = () => (hostBackend() ? countOnHost(t).nonZero : this.own(countNonZero(t)));
    this.facts.set(t.id, { spiking, nonZero: spiking ? (nonZero ?? count()) : t.size });
  }

  /** Says `to` holds the same values as `from` (a clone, reshape or identity), so its counts are reused. */
  alias(from: tf.Tensor, to: tf.Tensor): void {
    const facts = this.facts.get(from.id);
    if (facts !== undefined) this.facts.set(to.id, facts);
  }

  /** Says `to` repeats every value of `from` `to.size / from.size` times (a broadcast), so counts scale. */
  broadcast(from: tf.Tensor, to: tf.Tensor): void {
    const facts = this.facts.get(from.id);
    if (facts === undefined || typeof facts.spiking !== 'boolean' || typeof facts.nonZero !== 'number')
      return;
    this.facts.set(to.id, { spiking: facts.spiking, nonZero: facts.nonZero * (to.size / from.size) });
  }

  /**
   * Says `result` is the concatenation of `parts`, so its counts follow from theirs without reading it (the ASPP
   * concatenates its branches' spikes). Does nothing unless every part's counts are already known.
   */
  concat(parts: readonly tf.Tensor[], result: tf.Tensor): void {
    let spiking = true;
    let nonZero = 0;
    for (const part of parts) {
      const facts = this.facts.get(part.id);
      if (facts === undefined || typeof facts.spiking !== 'boolean' || typeof facts.nonZero !== 'number')
        return;
      spiking &&= facts.spiking;
      nonZero += facts.spiking ? facts.nonZero : part.size;
    }
    this.facts.set(result.id, { spiking, nonZero: spiking ? nonZero : result.size });
  }

  /** Records one layer call. */
  record(report: ActivityReport): void {
    const t0 = performance.now();
    this.recordUntimed(report);
    this.spentMs += performance.now() - t0;
  }

  private recordUntimed(report: ActivityReport): void {
    if (this.finished) {
      throw new SpikedriveError('Instrument.record() after finish()', {
        subject: report.layer.name,
        fix: 'Create a new Instrument for each forward pass.',
      });
    }
    const baseName = report.suffix ? `${report.layer.name}.${report.suffix}` : report.layer.name;
    const module = this.options.moduleOf?.(baseName) ?? report.layer.pipelineModule;
    const inputFacts =
      report.inspectInput === false
        ? (this.facts.get(report.input.id) ?? { spiking: false, nonZero: report.input.size })
        : this.factsFor(report.input);
    let outputSpikes: Count = 0;
    if (report.outputSpiking) {
      outputSpikes =
        report.outputSpikes ??
        (hostBackend() ? countOnHost(report.output).nonZero : this.own(countNonZero(report.output)));
      this.facts.set(report.output.id, { spiking: true, nonZero: outputSpikes });
    } else {
      this.facts.set(report.output.id, { spiking: false, nonZero: report.output.size });
    }
    this.pending.push({
      name: baseName,
      module,
      report: { ...report, input: report.input, output: report.output },
      inputElements: report.input.size,
      outputElements: report.output.size,
      inputFacts,
      outputSpikes,
      repeat: report.repeat ?? 1,
    });
  }

  /**
   * Records bits sent from one pipeline module to the next. Spikes cost the cheaper of a bitmap (one bit per
   * neuron per step) and address events (⌈log2 neurons⌉ bits per spike); real values cost `bitsPerValue` each.
   */
  boundary(
    from: string,
    to: string,
    tensor: tf.Tensor,
    options: { spiking?: boolean; timeSteps?: number; bitsPerValue?: number } = {},
  ): void {
    let facts: TensorFacts;
    if (options.spiking === undefined) facts = this.factsFor(tensor);
    else if (options.spiking) {
      facts = {
        spiking: true,
        nonZero: hostBackend() ? countOnHost(tensor).nonZero : this.own(countNonZero(tensor)),
      };
    } else facts = { spiking: false, nonZero: tensor.size };
    this.boundaries.push({
      key: `${from}->${to}`,
      elements: tensor.size,
      timeSteps: options.timeSteps ?? 1,
      bitsPerValue: options.bitsPerValue ?? FLOAT_BITS,
      facts,
    });
  }

  /** Reads all counts (one device read) and returns the activity record; the instrument is spent afterwards. */
  async finish(): Promise<ActivityRecord> {
    const t0 = performance.now();
    const values = this.owned.length === 0 ? new Int32Array(0) : await this.readAll();
    const record = this.assemble(values);
    this.spentMs += performance.now() - t0;
    return record;
  }

  /** As `finish()`, reading synchronously (fine on the cpu and wasm back ends). */
  finishSync(): ActivityRecord {
    const t0 = performance.now();
    const values = this.owned.length === 0 ? new Int32Array(0) : this.readAllSync();
    const record = this.assemble(values);
    this.spentMs += performance.now() - t0;
    return record;
  }

  /** Frees the count tensors without reading them. */
  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned.length = 0;
    this.facts.clear();
    this.pending.length = 0;
    this.boundaries.length = 0;
    this.finished = true;
  }

  private async readAll(): Promise<Int32Array> {
    const stacked = tf.stack(this.owned);
    const data = (await stacked.data()) as Int32Array;
    stacked.dispose();
    return data;
  }

  private readAllSync(): Int32Array {
    const stacked = tf.stack(this.owned);
    const data = stacked.dataSync() as Int32Array;
    stacked.dispose();
    return data;
  }

  private assemble(values: Int32Array): ActivityRecord {
    const index = new Map<number, number>();
    this.owned.forEach((t, i) => {
      index.set(t.id, values[i]);
    });
    const read = (c: Count): number => (typeof c === 'number' ? c : (index.get(c.id) ?? 0));
    const isSpiking = (f: TensorFacts): boolean =>
      typeof f.spiking === 'boolean' ? f.spiking : read(f.spiking.nonZero) === read(f.spiking.ones);

    const merged = new Map<string, MergedActivity>();
    for (const p of this.pending) {
      const r = p.report;
      const k = p.repeat;
      const spikingIn = isSpiking(p.inputFacts);
      const inputSpikes = spikingIn ? read(p.inputFacts.nonZero ?? p.inputElements) : p.inputElements;
      const rate = p.inputElements === 0 ? 0 : inputSpikes / p.inputElements;
      const outputSpikes = r.outputSpiking ? read(p.outputSpikes) : 0;
      const macs = r.equivalentMacs * k;
      const entry: MergedActivity = {
        name: p.name,
        module: p.module,
        kind: r.kind ?? r.layer.kind,
        timeSteps: r.timeSteps,
        batch: r.batch,
        inputElements: p.inputElements * k,
        inputSpikes: inputSpikes * k,
        inputIsSpiking: spikingIn,
        outputElements: p.outputElements * k,
        outputSpikes: outputSpikes * k,
        synapticOps: r.synaptic && spikingIn ? macs * rate : 0,
        denseMacs: r.synaptic && !spikingIn ? macs : 0,
        equivalentMacs: macs,
        neuronUpdates: (r.neuronUpdates ?? 0) * k,
        paramBytesRead: r.paramBytesRead ?? 0,
        stateBytesRead: (r.stateBytesRead ?? 0) * k,
        stateBytesWritten: (r.stateBytesWritten ?? 0) * k,
        outputBits:
          (r.outputSpiking ? p.outputElements : p.outputElements * (r.outputBitsPerValue ?? FLOAT_BITS)) * k,
        calls: 1,
        inputRepeatedOverTime: k > 1,
      };
      const previous = merged.get(entry.name);
      if (previous === undefined) {
        merged.set(entry.name, entry);
      } else {
        previous.timeSteps += entry.timeSteps;
        previous.batch = Math.max(previous.batch, entry.batch);
        previous.inputElements += entry.inputElements;
        previous.inputSpikes += entry.inputSpikes;
        previous.inputIsSpiking = previous.inputIsSpiking && entry.inputIsSpiking;
        previous.outputElements += entry.outputElements;
        previous.outputSpikes += entry.outputSpikes;
        previous.synapticOps += entry.synapticOps;
        previous.denseMacs += entry.denseMacs;
        previous.equivalentMacs += entry.equivalentMacs;
        previous.neuronUpdates += entry.neuronUpdates;
        previous.paramBytesRead += entry.paramBytesRead;
        previous.stateBytesRead += entry.stateBytesRead;
        previous.stateBytesWritten += entry.stateBytesWritten;
        previous.outputBits += entry.outputBits;
        previous.calls += 1;
        previous.inputRepeatedOverTime = previous.inputRepeatedOverTime && entry.inputRepeatedOverTime;
      }
    }
    const boundaryBits: Record<string, number> = {};
    for (const b of this.boundaries) {
      let bits: number;
      if (isSpiking(b.facts)) {
        const spikes = read(b.facts.nonZero ?? b.elements);
        const neuronsPerStep = Math.max(1, Math.round(b.elements / b.timeSteps));
        const addressBits = Math.max(1, Math.ceil(Math.log2(neuronsPerStep)));
        bits = Math.min(b.elements, spikes * addressBits);
      } else {
        bits = b.elements * b.bitsPerValue;
      }
      boundaryBits[b.key] = (boundaryBits[b.key] ?? 0) + bits;
    }
    this.dispose();
    return { layers: [...merged.values()], boundaryBits };
  }
}

/** Calls `record` only when a context carries an instrument; the one branch layers pay when counting is off. */
export function maybeRecord(instrument: Instrument | null | undefined, report: () => ActivityReport): void {
  if (instrument) instrument.record(report());
}
