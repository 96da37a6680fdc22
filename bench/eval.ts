// `npm run bench -- eval [--runs N] [--limit N] [--model-limit N] [--calls N] [--checkpoint FILE] [--backend B]
// [--dataroot DIR --version V]`: the evaluator's speed.
// Prints one JSON object per line:
//   eval-<planner>            samples/s of a whole evaluation (load labels, sample + score candidates, plan, metrics,
//                             write frames and checkpoints) with ground-truth inputs, per built-in planner that needs
//                             no network (expert, constant-velocity, cost-only); median over --runs runs
//   eval-sad                  the same with the model (default the shipped one, or --checkpoint) and the sad planner
//   eval-plugin-overhead-<in> the plugin worker's cost per call: round trip minus the planner's own time, for a
//                             trivial plugin given only the ego state (small) or occupancy + candidates (large),
//                             beside the same planner called in this thread
// Times are medians; the machine is shared, so compare ratios within one run of the bench.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDemoDataset } from '../data-loaders/synthetic/index.ts';
import { evaluate } from '../src/eval/evaluate.ts';
import { definePlanner, type HostObservation } from '../src/planning/index.ts';
import { hostInProcess, PluginPlanner } from '../src/planning/plugins/index.ts';
import { benchOption, median } from './_util.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => benchOption(name, fallback, args);
const runs = Number(option('runs', '3'));
const limit = Number(option('limit', '24'));
const calls = Number(option('calls', '200'));

const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;
const load = () => round(loadavg()[0], 2);

const root = mkdtempSync(join(tmpdir(), 'spikedrive-bench-eval-'));
try {
  const dataroot = option('dataroot', '');
  const dataset = dataroot
    ? { dataroot, version: option('version', 'v1.0-mini'), split: 'val' as const }
    : await ensureDemoDataset().then((d) => ({
        dataroot: d.dataroot,
        version: d.version,
        split: 'val' as const,
      }));

  // Warm-up (file cache, JIT, tsx's compile cache), not timed.
  await evaluate({
    out: join(root, 'warm-up'),
    dataset,
    inputs: 'ground-truth',
    planner: 'expert',
    limit: 4,
  });
  for (const planner of ['expert', 'constant-velocity', 'cost-only']) {
    const rates: number[] = [];
    const planMs: number[] = [];
    let samples = 0;
    for (let r = 0; r < runs; r++) {
      const out = join(root, `${planner}-${r}`);
      const t0 = performance.now();
      const result = await evaluate({
        out,
        dataset,
        inputs: 'ground-truth',
        planner,
        limit,
        overwrite: true,
      });
      const seconds = (performance.now() - t0) / 1000;
      samples = result.processed;
      rates.push(samples / seconds);
      planMs.push(
        median(result.run.index.map((e) => (e.scalars.latencyMs as Record<string, number>)?.planning ?? 0)),
      );
      rmSync(out, { recursive: true, force: true });
    }
    console.log(
      JSON.stringify({
        bench: `eval-${planner}`,
        backend: 'none',
        inputs: 'ground-truth',
        samples,
        samples_per_s: round(median(rates)),
        plan_ms: round(median(planMs)),
        runs,
        load_avg_1m: load(),
        cores: cpus().length,
      }),
    );
  }

  // The model path (the shipped model and the sad planner), once the pipeline provides it.
  try {
    const { loadEvaluationModel } = await import('../src/eval/model-predictor.ts');
    const checkpoint = option('checkpoint', '') || null;
    const model = await loadEvaluationModel({ checkpoint, backend: option('backend', 'auto') });
    const rates: number[] = [];
    let samples = 0;
    const modelLimit = Math.min(limit, Number(option('model-limit', '6')));
    for (let r = 0; r < runs; r++) {
      const out = join(root, `sad-${r}`);
      const t0 = performance.now();
      const result = await evaluate({ out, dataset, model, limit: modelLimit, overwrite: true });
      samples = result.processed;
      rates.push(samples / ((performance.now() - t0) / 1000));
      rmSync(out, { recursive: true, force: true });
    }
    console.log(
      JSON.stringify({
        bench: 'eval-sad',
        backend: model.backend.name,
        inputs: 'model',
        checkpoint: checkpoint ?? 'shipped',
        preset: String((model.config as { TAG?: string }).TAG ?? ''),
        samples,
        samples_per_s: round(median(rates)),
        runs,
        load_avg_1m: load(),
      }),
    );
    model.predictor.dispose();
  } catch (error) {
    console.error(`eval-sad skipped: ${(error as Error).message}`);
  }

  // Plugin worker overhead per call: the same trivial planner in a worker and in this thread.
  const source = `export default { name: 'trivial', inputs: INPUTS, plan: (_o, _s, ctx) =>
    Array.from({ length: ctx.nFutureFrames }, (_, k) => [0, k + 1, 0]) };\n`;
  const large: HostObservation = {
    sampleToken: 'bench',
    egoState: { v0Mps: 5, history: [] },
    occupancy: { data: new Float32Array(6 * 200 * 200), shape: [6, 200, 200] },
    candidates: { data: new Float32Array(1800 * 6 * 3), shape: [1800, 6, 3] },
  };
  for (const [name, inputs] of [
    ['small', ['egoState']],
    ['large', ['egoState', 'occupancy', 'candidates']],
  ] as const) {
    const file = join(root, `trivial-${name}.mjs`);
    writeFileSync(file, source.replace('INPUTS', JSON.stringify(inputs)));
    const plugin = await PluginPlanner.load(file);
    const local = await hostInProcess(
      definePlanner({
        name: 'trivial',
        inputs: [...inputs],
        plan: (_o, _s, ctx) => Array.from({ length: ctx.nFutureFrames }, (_, k) => [0, k + 1, 0] as const),
      }),
    );
    const overhead: number[] = [];
    const call: number[] = [];
    const localCall: number[] = [];
    for (let i = -10; i < calls; i++) {
      const r = await plugin.plan(large);
      const l = await local.plan(large);
      if (i < 0 || !r.ok || !l.ok) continue;
      overhead.push(r.callMs - r.planMs);
      call.push(r.callMs);
      localCall.push(l.callMs);
    }
    await plugin.dispose();
    await local.dispose();
    console.log(
      JSON.stringify({
        bench: `eval-plugin-overhead-${name}`,
        backend: 'none',
        inputs: inputs.join('+'),
        calls: overhead.length,
        overhead_ms: round(median(overhead)),
        plugin_call_ms: round(median(call)),
        in_process_call_ms: round(median(localCall)),
        plugin_init_ms: round(plugin.initMs, 1),
        load_avg_1m: load(),
      }),
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
