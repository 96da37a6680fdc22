// `npm run bench -- prediction [--backend wasm|cpu] [--size 200] [--future 6] [--runs 3] [--schedules auto,layers,frames]
// [--no-instrument]`: SAD prediction (distribution + dual pathway + temporal mixing) and the BEV decoder (all heads) at
// the paper size: BEV 200×200, C′ = 70, S = 3 past/present + F = 6 future = 9 frames, hidden 384, B = 1, eval.
// Prints one JSON object per line:
//   prediction-forward-<schedule>   SadPrediction.forward, bev [1, 3, X, X, 70] → states [1, 9, X, X, 70]
//   decoder-forward-<schedule>      SadDecoder.forward on those 9 frames, every head
//   prediction-counts               one instrumented forward of both: equivalent GMAC (convs, BN, pools) and LIF
//                                   neuron updates, to turn the times into GMAC/s
//   prediction-load                 the machine's load average at start and end (other work shares the CPUs)
// Times are medians (with minimums) over --runs after one warm-up; `cpu_ms` is this process's CPU time (all
// threads), steadier than wall time when other jobs share the cores. Weights are PyTorch-default random: the
// arithmetic does not depend on them (dense convs; the LIF loop visits every neuron either way).
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { ALL_DECODER_HEADS, type FrameSchedule, SadDecoder, SadPrediction } from '../src/prediction/index.ts';
import { type BackendName, backendInfo, Instrument, selectBackend } from '../src/snn/index.ts';
import { createRng } from '../src/util/rng.ts';
import { benchOption } from './_util.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => benchOption(name, fallback, args);
const size = Number(option('size', '200'));
const nFuture = Number(option('future', '6'));
const runs = Number(option('runs', '3'));
const schedules = option('schedules', 'auto').split(',') as FrameSchedule[];
const instrumented = !args.includes('--no-instrument');
const selected = await selectBackend({ preferred: option('backend', 'wasm') as BackendName });
const backend = selected.name;
const S = 3;
const C = 70;

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify({ ...record, backend }));
}

const round = (v: number) => Math.round(v * 10) / 10;
function stats(values: number[]): { median: number; min: number } {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { median: round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2), min: round(s[0]) };
}

emit({ bench: 'prediction-load', phase: 'start', loadavg: loadavg().map(round), threads: selected.threads });
const rng = createRng('bench-prediction');
const prediction = new SadPrediction({ inChannels: C, latentDim: 32, nFuture, hiddenChannels: 384, rng });
const decoder = new SadDecoder({ inChannels: C, nPresent: S, heads: ALL_DECODER_HEADS, rng });
const bev = tf.randomNormal([1, S, size, size, C], 0.3, 1.5, 'float32', 7);

interface Timed {
  wall: number[];
  cpu: number[];
}
function timed<T>(into: Timed, fn: () => T): T {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  into.wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  into.cpu.push((c.user + c.system) / 1000);
  return out;
}

for (const schedule of schedules) {
  prediction.schedule = schedule;
  decoder.schedule = schedule;
  const p: Timed = { wall: [], cpu: [] };
  const d: Timed = { wall: [], cpu: [] };
  for (let r = -1; r < runs; r++) {
    const sink: Timed = { wall: [], cpu: [] };
    const out = timed(r < 0 ? sink : p, () => {
      const o = prediction.forward(bev, { training: false });
      o.states.dataSync();
      return o;
    });
    const heads = timed(r < 0 ? sink : d, () => {
      const h = decoder.forward(out.states);
      h.segmentation.dataSync();
      return h;
    });
    prediction.reset();
    decoder.reset();
    tf.dispose([out.states, out.mu, out.logSigma, out.sample].filter((t) => t !== null) as tf.Tensor[]);
    tf.dispose(Object.values(heads));
  }
  const frames = S + nFuture;
  const pw = stats(p.wall);
  const pc = stats(p.cpu);
  emit({
    bench: `prediction-forward-${schedule}`,
    bev: [size, size],
    frames,
    forward_ms: pw.median,
    min_ms: pw.min,
    cpu_ms: pc.median,
    min_cpu_ms: pc.min,
    runs,
  });
  const dw = stats(d.wall);
  const dc = stats(d.cpu);
  emit({
    bench: `decoder-forward-${schedule}`,
    bev: [size, size],
    frames,
    forward_ms: dw.median,
    min_ms: dw.min,
    cpu_ms: dc.median,
    min_cpu_ms: dc.min,
    runs,
  });
}

if (instrumented) {
  const instrument = new Instrument();
  const out = prediction.forward(bev, {}, { instrument });
  const heads = decoder.forward(out.states, { instrument });
  prediction.reset();
  decoder.reset();
  const record = await instrument.finish();
  const sum = (module: string, key: 'equivalentMacs' | 'neuronUpdates') =>
    record.layers.filter((l) => l.module === module).reduce((a, l) => a + l[key], 0);
  emit({
    bench: 'prediction-counts',
    bev: [size, size],
    frames: S + nFuture,
    prediction_gmac: Number((sum('prediction', 'equivalentMacs') / 1e9).toFixed(2)),
    decoder_gmac: Number((sum('decoder', 'equivalentMacs') / 1e9).toFixed(2)),
    prediction_neuron_updates_m: round(sum('prediction', 'neuronUpdates') / 1e6),
    decoder_neuron_updates_m: round(sum('decoder', 'neuronUpdates') / 1e6),
  });
  tf.dispose([out.states, out.mu, out.logSigma, out.sample].filter((t) => t !== null) as tf.Tensor[]);
  tf.dispose(Object.values(heads));
}
emit({ bench: 'prediction-load', phase: 'end', loadavg: loadavg().map(round), info: backendInfo().reason });
