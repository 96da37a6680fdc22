// `npm run bench -- offload [--backend wasm|cpu] [--runs N]`: the offload path's own costs. One JSON object per line:
//   offload-nir-sim-blocks     an encoder-like stack (MS down-sampling + 2 MS conv blocks, [4, 1, 56, 120, 48]) in
//                              nir-sim vs the tfjs forward it stands in for (bit-identical outputs), ms and neuron·steps/s
//   offload-nir-sim-recurrent  the snnTorch Braille graph (recurrent CubaLIF, step by step), steps/s
//   offload-protocol-rtt-*     round trip over loopback WebSocket (server thread on the same tfjs back end + blocking
//                              client): a small spike tensor (LIF of 1 k neurons, T = 4) and a feature map block
//                              (same stack, real input); overhead = round trip − the device's own compute, per call
//   offload-nir-write-read     export + HDF5 write and read of the stack's graph, bytes on disk
//   offload-fpga-fixed         the stack's int8 fixed-point integer reference, ms per sample
// Times are medians over --runs (default 5) after one warm-up. Other jobs share the machine's cores.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { exportToNir } from '../src/offload/export/export.ts';
import { buildFixedModel } from '../src/offload/fpga/model.ts';
import { runFixedModel } from '../src/offload/fpga/runner.ts';
import { nirBytes, readNir, writeNir } from '../src/offload/nir/io.ts';
import { SyncAcceleratorClient } from '../src/offload/protocol/sync-client.ts';
import { NirSimulator } from '../src/offload/sim/simulator.ts';
import { LifNode, MsConvBlock, MsDownSampling, Sequential } from '../src/snn/index.ts';
import { createRng } from '../src/util/rng.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const runs = Number(option('runs', '5'));
const wanted = option('backend', 'wasm');
try {
  if (!(await tf.setBackend(wanted))) throw new Error(`backend ${wanted} unavailable`);
} catch {
  await tf.setBackend('cpu');
}
await tf.ready();
const backend = tf.getBackend();

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify({ backend, ...record }));
}

function time(fn: () => void): number[] {
  fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const rng = createRng(7);
const stack = new Sequential<MsDownSampling | MsConvBlock>([
  new MsDownSampling({ inChannels: 24, embedDims: 48, firstLayer: false, rng }),
  new MsConvBlock({ dim: 48, mlpRatio: 2, rng }),
  new MsConvBlock({ dim: 48, mlpRatio: 2, rng }),
]);
stack.setPath('encoder.bench');
const x = tf.randomNormal([4, 1, 112, 240, 24], 0.3, 1.2, 'float32', 3);
const { graph } = exportToNir(stack, { inputShapes: [[24, 112, 240]] });

// nir-sim against the tfjs forward.
{
  const sim = new NirSimulator(graph);
  let equal = true;
  const tfjs = time(() => {
    const y = stack.forward(x);
    stack.reset();
    y.dispose();
  });
  const nir = time(() => {
    sim.reset();
    const out = sim.run(x).outputs;
    for (const y of out.values()) y.dispose();
  });
  {
    const y = stack.forward(x);
    stack.reset();
    sim.reset();
    const z = sim.run(x).outputs.get('output') as tf.Tensor;
    const a = y.dataSync();
    const b = z.dataSync();
    for (let i = 0; i < a.length && equal; i++) if (a[i] !== b[i]) equal = false;
    tf.dispose([y, z]);
  }
  const neuronSteps = 4 * (24 * 112 * 240 + 3 * 48 * 56 * 120 * 1) + 4 * 2 * 48 * 2 * 56 * 120;
  emit({
    bench: 'offload-nir-sim-blocks',
    nir_sim_ms: Number(median(nir).toFixed(1)),
    tfjs_ms: Number(median(tfjs).toFixed(1)),
    ratio: Number((median(nir) / median(tfjs)).toFixed(3)),
    neuron_steps_per_s: Math.round(neuronSteps / (median(nir) / 1000)),
    bit_identical: equal,
    nodes: graph.nodes.size,
  });
  sim.dispose();
}

// A recurrent foreign graph, step by step.
{
  const { graph: braille } = await readNir(
    join(import.meta.dirname, '../test/unit/offload/fixtures/braille_noDelay_noBias_subtract.nir'),
  );
  const sim = new NirSimulator(braille);
  const steps = 256;
  const input = tf.tidy(() =>
    tf.cast(tf.greater(tf.randomUniform([steps, 1, 12], 0, 1, 'float32', 1), 0.7), 'float32'),
  );
  const ms = time(() => {
    sim.reset();
    for (const y of sim.run(input).outputs.values()) y.dispose();
  });
  emit({
    bench: 'offload-nir-sim-recurrent',
    steps,
    ms: Number(median(ms).toFixed(1)),
    steps_per_s: Math.round(steps / (median(ms) / 1000)),
  });
  input.dispose();
  sim.dispose();
}

// Protocol round trips over loopback.
{
  const worker = new Worker(new URL('./_offload-server.mjs', import.meta.url), { workerData: { backend } });
  const { url, backend: serverBackend } = await new Promise<{ url: string; backend: string }>((resolve) =>
    worker.once('message', (m: { url: string; backend: string }) => resolve(m)),
  );
  const client = SyncAcceleratorClient.connect(url, { requestTimeoutMs: 120000 });
  const lif = new LifNode({});
  lif.setPath('bench.lif');
  const small = {
    graph: exportToNir(lif, { inputShapes: [[1024]] }).graph,
    input: tf.randomNormal([4, 1, 1024], 1, 1, 'float32', 2),
  };
  for (const [name, g, input] of [
    ['small-spikes', small.graph, small.input],
    ['feature-map-block', graph, x],
  ] as const) {
    client.load(name, await nirBytes(g));
    const values = input.dataSync() as Float32Array;
    const sent0 = client.bytesSent;
    const recv0 = client.bytesReceived;
    const computeMs: number[] = [];
    const ms = time(() => {
      computeMs.push(client.run(name, [{ name: 'input', shape: [...input.shape], values }], true).computeMs);
    });
    // Per call: wall time minus the device's own compute (the warm-up call is the first of computeMs).
    const overhead = ms.map((m, i) => m - computeMs[i + 1]);
    const calls = runs + 1;
    emit({
      bench: `offload-protocol-rtt-${name}`,
      server_backend: serverBackend,
      rtt_ms: Number(median(ms).toFixed(2)),
      device_compute_ms: Number(median(computeMs.slice(1)).toFixed(2)),
      overhead_ms: Number(median(overhead).toFixed(2)),
      bytes_sent_per_call: Math.round((client.bytesSent - sent0) / calls),
      bytes_received_per_call: Math.round((client.bytesReceived - recv0) / calls),
    });
  }
  client.close();
  small.input.dispose();
  worker.postMessage('close');
  await new Promise((r) => worker.once('message', r));
  await worker.terminate();
}

// NIR export, write and read.
{
  const path = join(tmpdir(), `spikedrive-bench-${process.pid}.nir`);
  const exportMs = time(() => {
    exportToNir(stack, { inputShapes: [[24, 112, 240]] });
  });
  const writeMs: number[] = [];
  const readMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await writeNir(path, graph);
    writeMs.push(performance.now() - t0);
    t0 = performance.now();
    await readNir(path);
    readMs.push(performance.now() - t0);
  }
  const { statSync } = await import('node:fs');
  emit({
    bench: 'offload-nir-write-read',
    export_ms: Number(median(exportMs).toFixed(1)),
    write_ms: Number(median(writeMs).toFixed(1)),
    read_ms: Number(median(readMs).toFixed(1)),
    file_bytes: statSync(path).size,
  });
  rmSync(path, { force: true });
}

// Fixed-point integer reference.
{
  const model = buildFixedModel(graph, {
    weights: { kind: 'symmetric', bits: 8 },
    calibration: new Map([['input', x.dataSync() as Float32Array]]),
  });
  const ms = time(() => {
    const r = runFixedModel(model, new Map([['input', x]]));
    tf.dispose([...r.outputs.values()]);
  });
  emit({
    bench: 'offload-fpga-fixed',
    ms_per_sample: Number(median(ms).toFixed(1)),
    populations: model.populations.length,
  });
}

x.dispose();
stack.dispose();
