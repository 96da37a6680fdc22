// `npm run bench -- snn [--iters N] [--no-torch] [--only wasm,cpu,...]`: the spiking conv stack of
// ../shared/reference/ecosystem.md §2 (x[6,64,176,3] → conv3×3/32 s2 → spike → conv3×3/64 s2 → spike →
// conv3×3/64 s1 → spike → mean; fwd+bwd = variableGrads over the 3 kernels) on every tensor back end present,
// beside PyTorch CPU on 2 threads (../shared/bench/torch_conv_stack.py, Debian python3-torch) run in the same
// process tree. One JSON line per case; times are medians (with mins) after 2 warm-ups:
//   snn-conv-stack               each back end as selectBackend() sets it up (native kernels where they build)
//   snn-conv-stack-1thread       the same with one kernel thread
//   snn-conv-stack-composite     native kernels off (the pure-JS path: composite gradients)
//   snn-conv-stack-customgrad    spike as tf.step + tf.customGrad element-wise ops instead of the fused kernel
//   snn-conv-stack-workers       data parallel: 2 worker threads × half batch, 1 kernel thread each
//   snn-conv-stack (torch-2threads / torch-2threads-tuned / torch-1thread)  the PyTorch reference
// Ratios: *_ratio_vs_torch = our median / PyTorch-2-threads median (< 1 = faster than PyTorch);
// *_min_ratio_vs_torch the same for the fastest repetition of each (more stable when other work shares the CPU).
// Also prints the machine's load average at start and end ("bench": "snn-load").
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  type BackendName,
  backendInfo,
  buildConvStackModel,
  createWorkerTrainer,
  type HostTensors,
  selectBackend,
} from '../src/snn/backend/index.ts';
import { benchOption } from './_util.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => benchOption(name, fallback, args);
const iters = Number(option('iters', '20'));
const only = option('only', '').split(',').filter(Boolean);
const withTorch = !args.includes('--no-torch');
const SHAPE: [number, number, number, number] = [6, 64, 176, 3];
const MODULE = join(here, '..', 'src', 'snn', 'backend', 'conv-stack.ts');

interface Timing {
  median: number;
  min: number;
}

function time(fn: () => void, n: number, warmup = 2): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { median: round(ts[ts.length >> 1]), min: round(ts[0]) };
}

async function timeAsync(fn: () => Promise<unknown>, n: number, warmup = 2): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return { median: round(ts[ts.length >> 1]), min: round(ts[0]) };
}

const round = (v: number) => Math.round(v * 100) / 100;

function inputData(): Float32Array {
  const data = new Float32Array(SHAPE.reduce((a, b) => a * b, 1));
  let s = 7;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    data[i] = s / 2147483648;
  }
  return data;
}

interface Line {
  bench: string;
  backend: string;
  fwd_ms: number;
  fwd_bwd_ms: number;
  [key: string]: unknown;
}

const lines: Line[] = [];
function emit(line: Line): void {
  lines.push(line);
}

/** One back end in this thread: forward and forward+backward of the stack, as the rest of spikedrive runs it. */
async function inThread(
  name: BackendName,
  variant: 'default' | '1thread' | 'composite' | 'customgrad',
): Promise<void> {
  const selected = await selectBackend({
    preferred: name,
    threads: variant === '1thread' ? 1 : undefined,
    nativeKernels: variant === 'composite' ? false : undefined,
  });
  const info = backendInfo();
  if (variant !== 'composite' && info.native === null && (name === 'wasm' || name === 'cpu')) {
    if (variant === '1thread') return; // same as the default line without native kernels
  }
  const before = tf.memory().numTensors;
  const model = buildConvStackModel({
    height: SHAPE[1],
    width: SHAPE[2],
    channels: SHAPE[3],
    spike: variant === 'customgrad' ? 'customGrad' : 'fused',
  });
  const x = tf.tensor4d(inputData(), SHAPE);
  const vars = Object.values(model.variables);
  const fwd = () => tf.tidy(() => void model.loss({ x }));
  const fwdBwd = () => {
    const { value, grads } = tf.variableGrads(() => model.loss({ x }), vars);
    tf.dispose([value, ...Object.values(grads)]);
  };
  // The cpu back end's pure-JS path takes seconds per step: fewer repetitions.
  const slow = name === 'cpu' && info.native === null;
  const n = slow ? 3 : iters;
  const f = time(fwd, n, slow ? 1 : 2);
  const fb = time(fwdBwd, n, slow ? 1 : 2);
  const loss = tf.tidy(() => model.loss({ x }).dataSync()[0]);
  model.dispose?.();
  x.dispose();
  if (tf.memory().numTensors !== before)
    throw new Error(`bench leaked ${tf.memory().numTensors - before} tensors`);
  emit({
    bench: variant === 'default' ? 'snn-conv-stack' : `snn-conv-stack-${variant}`,
    backend: name,
    fwd_ms: f.median,
    fwd_bwd_ms: fb.median,
    fwd_ms_min: f.min,
    fwd_bwd_ms_min: fb.min,
    bwd_over_fwd: round(fb.median / f.median),
    threads: selected.threads,
    kernels: info.native ? `native-${info.native.simd}` : 'composite',
    spike: variant === 'customgrad' ? 'customGrad' : 'fused',
    loss: Number(loss.toFixed(6)),
    iters: n,
  });
}

/** Data parallel: 2 workers, each with its own back end and half the batch. */
async function inWorkers(name: BackendName): Promise<void> {
  const trainer = await createWorkerTrainer({
    module: MODULE,
    config: { height: SHAPE[1], width: SHAPE[2], channels: SHAPE[3] },
    backend: name,
    workers: 2,
    threadsPerWorker: 1,
  });
  try {
    const batch: HostTensors = { x: { shape: [...SHAPE], dtype: 'float32', data: inputData() } };
    const f = await timeAsync(() => trainer.evaluate(batch), iters);
    const fb = await timeAsync(() => trainer.lossAndGrads(batch), iters);
    emit({
      bench: 'snn-conv-stack-workers',
      backend: name,
      fwd_ms: f.median,
      fwd_bwd_ms: fb.median,
      fwd_ms_min: f.min,
      fwd_bwd_ms_min: fb.min,
      bwd_over_fwd: round(fb.median / f.median),
      workers: 2,
      threads: trainer.backend.threads,
      kernels: trainer.backend.native ? `native-${trainer.backend.native.simd}` : 'composite',
      iters,
    });
  } finally {
    await trainer.dispose();
  }
}

interface TorchResult {
  torch: string;
  threads: number;
  fwd_ms: Timing;
  fwd_bwd_ms: Timing;
}

/**
 * PyTorch as Debian ships it, and "tuned": glibc malloc kept from returning large blocks to the OS and OpenMP
 * threads sleeping when idle. On this VM the default run spends most of its backward in page faults (fresh
 * mmap'd buffers every iteration) and its OpenMP barriers spin against other work; the tuned run is PyTorch at
 * its best here, and the ratios use whichever of the two is faster, so they never flatter us.
 */
const TORCH_TUNED_ENV = {
  MALLOC_MMAP_THRESHOLD_: '2000000000',
  MALLOC_TRIM_THRESHOLD_: '2000000000',
  MALLOC_TOP_PAD_: '536870912',
  OMP_WAIT_POLICY: 'PASSIVE',
};

function runTorch(threads: number, tuned: boolean): Promise<TorchResult | string> {
  const script = [
    resolve(here, '..', '..', 'shared', 'bench', 'torch_conv_stack.py'),
    '/work/shared/bench/torch_conv_stack.py',
  ].find((p) => existsSync(p));
  if (!script) return Promise.resolve('torch_conv_stack.py not found in ../shared/bench');
  const env = tuned ? { ...process.env, ...TORCH_TUNED_ENV } : process.env;
  return new Promise((done) => {
    execFile(
      '/usr/bin/python3',
      [script, String(threads), String(iters)],
      { timeout: 300_000, env },
      (error, stdout) => {
        if (error) {
          done(`python3-torch unavailable (${String(error.message).split('\n')[0]})`);
          return;
        }
        try {
          done(JSON.parse(stdout.trim().split('\n').pop() ?? '') as TorchResult);
        } catch {
          done(`unexpected output from ${script}`);
        }
      },
    );
  });
}

function wanted(name: string): boolean {
  return only.length === 0 || only.includes(name);
}

const torchRuns: Record<'default' | 'tuned', TorchResult[]> = { default: [], tuned: [] };
const torchNotes: string[] = [];
async function torch(): Promise<void> {
  if (!withTorch || !wanted('torch')) return;
  for (const mode of ['default', 'tuned'] as const) {
    const r = await runTorch(2, mode === 'tuned');
    if (typeof r === 'string') torchNotes.push(r);
    else torchRuns[mode].push(r);
  }
}

const loadStart = loadavg()[0];
await torch();
for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const) {
  if (!wanted(name)) continue;
  try {
    await inThread(name, 'default');
  } catch (error) {
    // Back ends that do not load here (tfjs-node not installed) are simply absent.
    if (name === 'wasm' || name === 'cpu') throw error;
    continue;
  }
  if (name === 'wasm' || name === 'cpu') await inThread(name, '1thread');
  // PyTorch again right after the main case, so the reference sees the same neighbours.
  if (name === 'wasm') await torch();
  if (name === 'wasm' || name === 'cpu') await inThread(name, 'composite');
  if (name === 'wasm') {
    await inThread(name, 'customgrad');
    await inWorkers(name);
  }
}
await torch();

interface TorchSummary {
  fwd: number;
  fwdBwd: number;
  fwdMin: number;
  fwdBwdMin: number;
  label: string;
}
const summaries: TorchSummary[] = [];
for (const mode of ['default', 'tuned'] as const) {
  const runs = torchRuns[mode];
  if (runs.length === 0) continue;
  // Torch runs before, between and after ours (the machine is shared; load drifts): the mean of the medians.
  const mean = (f: (r: TorchResult) => number) => round(runs.reduce((a, r) => a + f(r), 0) / runs.length);
  const summary: TorchSummary = {
    fwd: mean((r) => r.fwd_ms.median),
    fwdBwd: mean((r) => r.fwd_bwd_ms.median),
    fwdMin: Math.min(...runs.map((r) => r.fwd_ms.min)),
    fwdBwdMin: Math.min(...runs.map((r) => r.fwd_bwd_ms.min)),
    label: mode === 'default' ? 'torch-2threads' : 'torch-2threads-tuned',
  };
  summaries.push(summary);
  emit({
    bench: 'snn-conv-stack',
    backend: summary.label,
    fwd_ms: summary.fwd,
    fwd_bwd_ms: summary.fwdBwd,
    fwd_ms_min: summary.fwdMin,
    fwd_bwd_ms_min: summary.fwdBwdMin,
    bwd_over_fwd: round(summary.fwdBwd / summary.fwd),
    runs_fwd_ms: runs.map((r) => r.fwd_ms.median),
    runs_fwd_bwd_ms: runs.map((r) => r.fwd_bwd_ms.median),
    torch: runs[0].torch,
    threads: 2,
    ...(mode === 'tuned' ? { env: TORCH_TUNED_ENV } : {}),
  });
}
if (summaries.length > 0) {
  const one = await runTorch(1, false);
  if (typeof one !== 'string') {
    emit({
      bench: 'snn-conv-stack',
      backend: 'torch-1thread',
      fwd_ms: one.fwd_ms.median,
      fwd_bwd_ms: one.fwd_bwd_ms.median,
      fwd_ms_min: one.fwd_ms.min,
      fwd_bwd_ms_min: one.fwd_bwd_ms.min,
      bwd_over_fwd: round(one.fwd_bwd_ms.median / one.fwd_ms.median),
      torch: one.torch,
      threads: 1,
    });
  }
}
// The faster PyTorch configuration (per measure) is the reference.
const best = (f: (s: TorchSummary) => number) =>
  summaries.reduce<TorchSummary | null>((a, s) => (a === null || f(s) < f(a) ? s : a), null);

for (const line of lines) {
  if (summaries.length > 0 && !line.backend.startsWith('torch')) {
    const ref = {
      fwd: best((s) => s.fwd)!,
      fwdBwd: best((s) => s.fwdBwd)!,
      fwdMin: best((s) => s.fwdMin)!,
      fwdBwdMin: best((s) => s.fwdBwdMin)!,
    };
    line.fwd_ratio_vs_torch = round(line.fwd_ms / ref.fwd.fwd);
    line.fwd_bwd_ratio_vs_torch = round(line.fwd_bwd_ms / ref.fwdBwd.fwdBwd);
    // Best case against best case: on a shared machine the medians mostly measure the neighbours.
    line.fwd_min_ratio_vs_torch = round((line.fwd_ms_min as number) / ref.fwdMin.fwdMin);
    line.fwd_bwd_min_ratio_vs_torch = round((line.fwd_bwd_ms_min as number) / ref.fwdBwdMin.fwdBwdMin);
    line.torch_reference = [...new Set([ref.fwd.label, ref.fwdBwd.label])].join(',');
  }
  console.log(JSON.stringify(line));
}
console.log(
  JSON.stringify({
    bench: 'snn-load',
    backend: 'host',
    cores: availableParallelism(),
    loadavg_start: round(loadStart),
    loadavg_end: round(loadavg()[0]),
  }),
);
for (const note of torchNotes) console.error(`torch reference skipped: ${note}`);
