import { mkdirSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import {
  BoundaryBottleneck,
  buildFixedModel,
  checkModule,
  emitSpikingConvVerilog,
  exportModule,
  fitBottleneck,
  formatFpgaCost,
  formatPartitionReport,
  formatSweep,
  formatTargetCheck,
  fpgaCost,
  getTargetProfile,
  installModelOffload,
  listTargetProfiles,
  type ModelOffload,
  type ModuleExport,
  mergeExports,
  OFFLOAD_MODULES,
  type OffloadModule,
  parseOffloadModule,
  parseOffloadSpecs,
  probeBatch,
  readNir,
  runFixedModel,
  type SweepPoint,
  startAcceleratorServer,
  type TargetCheckReport,
  validateNirFile,
  writeFpgaBundle,
  writeNir,
} from '../../offload/index.ts';
import {
  loadSadConfig,
  openModel,
  type PreparedBatch,
  prepareBatch,
  type SadConfig,
  SadModel,
} from '../../pipeline/index.ts';
import { toBatchMajor, toFrameMajor } from '../../snn/index.ts';
import { SpikedriveError, writeFileAtomic, writeJsonAtomic } from '../../util/index.ts';

/**
 * The offload command family: `export nir`, `export fpga`, `offload check`, `offload validate`,
 * `serve-accelerator`, `sweep bottleneck`, and the `--offload` options `infer` takes.
 */

const log = (line: string) => process.stderr.write(`${line}\n`);

function number(name: string, raw: string, check: (n: number) => boolean, hint: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) {
    throw new SpikedriveError(`${name} got '${raw}'`, { subject: name, fix: hint });
  }
  return n;
}

interface ModelOptions {
  checkpoint?: string;
  config?: string;
  dataroot?: string;
  version?: string;
}

interface Opened {
  model: SadModel;
  config: SadConfig;
  /** What the numbers describe (checkpoint path, or the untrained config). */
  source: string;
}

/** A checkpoint (or the shipped model), or — with only --config — that config at random initial weights. */
function openForOffload(options: ModelOptions): Opened {
  if (!options.checkpoint && options.config) {
    const config = loadSadConfig(options.config);
    const model = new SadModel(config, { referenceInit: false });
    model.eval();
    log(`no --checkpoint: ${config.TAG} at its random initial weights (sizes are real, activity is not)`);
    return { model, config, source: `${config.TAG} (untrained)` };
  }
  const opened = openModel({ checkpoint: options.checkpoint ?? null, config: options.config ?? null });
  // Paths inside the working directory are shown relative to it (reports committed to the repository).
  const rel = relative(process.cwd(), opened.source);
  const source = rel.startsWith('..') || isAbsolute(rel) ? opened.source : rel;
  return { model: opened.model, config: opened.config, source };
}

function withModelOptions(command: Command): Command {
  return command
    .option('--checkpoint <file>', 'model .safetensors (default: the shipped model)')
    .option('--config <preset|file>', 'config (alone: that model at random initial weights, for sizing)')
    .option('--dataroot <dir>', 'dataset for the probe sample (default: the demo world)')
    .option('--version <name>', 'release folder under --dataroot');
}

async function exportModules(
  opened: Opened,
  module: OffloadModule | 'all',
  batch: PreparedBatch,
  dt: number,
): Promise<ModuleExport[]> {
  const modules =
    module === 'all'
      ? OFFLOAD_MODULES.filter((m) => m !== 'planning' || opened.model.planning !== null)
      : [module];
  const out: ModuleExport[] = [];
  for (const m of modules) {
    log(`exporting ${m} …`);
    out.push(await exportModule(opened.model, opened.config, m, batch, { dt }));
  }
  return out;
}

/**
 * Graph samples (batch elements of the module's NIR graph) per SAD sample: perception runs once per camera image
 * (S frames × N cameras); prediction and planning are probed at batch 1, one SAD sample. Costs per graph sample
 * times this are costs per SAD sample (the images one after another on the chip).
 */
function graphSamplesPerSadSample(ex: ModuleExport): number {
  if (ex.module !== 'perception') return 1;
  return (ex.inputs.get('input')?.shape[1] as number | undefined) ?? 1;
}

function disposeExports(exports: ModuleExport[]): void {
  for (const ex of exports) tf.dispose([...ex.inputs.values()]);
}

function registerExportCommands(program: Command): void {
  const exp = program
    .command('export')
    .description('export the model for neuromorphic chips and FPGAs (NIR, fixed-point bundles)');
  withModelOptions(
    exp
      .command('nir')
      .description(
        'write a .nir file (HDF5, the layout nir.read accepts) with BN folded and neurons converted at dt, plus its partition report',
      )
      .requiredOption('--out <file.nir>', 'output file')
      .option('--module <name>', 'perception, prediction, planning or all', 'all')
      .option(
        '--dt <seconds>',
        'seconds per SNN step for τ and R (1e-4: snnTorch, SpikingJelly, Lava; 1e-3: Norse)',
        '1e-4',
      )
      .option('--no-compress', 'store arrays uncompressed (nir.write gzips them)'),
  ).action(async (o: ModelOptions & { out: string; module: string; dt: string; compress: boolean }) => {
    const module = parseOffloadModule(o.module);
    const dt = number('--dt', o.dt, (n) => n > 0, 'Use seconds per step, e.g. 1e-4.');
    const opened = openForOffload(o);
    const batch = await probeBatch(opened.config, { dataroot: o.dataroot, version: o.version, log });
    try {
      const exports = await exportModules(opened, module, batch, dt);
      const ex = exports.length === 1 ? exports[0] : mergeExports(exports);
      ex.graph.metadata = { ...ex.graph.metadata, model: opened.source };
      const out = resolve(o.out);
      const v = await writeNir(out, ex.graph, { compress: o.compress });
      const reportPath = `${out.replace(/\.nir$/i, '')}.partition.md`;
      await writeFileAtomic(reportPath, formatPartitionReport(ex.partition));
      disposeExports(exports);
      const s = ex.partition.summary;
      process.stdout.write(
        `${out}: ${s.nirNodes} NIR nodes, ${s.nirEdges} edges (nir.read: ${v.loads ? 'loads' : 'would fail'}); ${s.nirLayers} layers on NIR, ${s.hostLayers} host-only; partition report ${reportPath}\n`,
      );
    } finally {
      batch.dispose();
      opened.model.dispose();
    }
  });

  withModelOptions(
    exp
      .command('fpga')
      .description(
        'fixed-point or ternary weights (binary + JSON manifest) and the FPGA cycle/energy estimate per module',
      )
      .requiredOption('--out <base>', 'output base name: writes BASE.bin, BASE.json and BASE.cost.md')
      .option('--module <name>', 'perception, prediction, planning or all', 'perception')
      .option(
        '--nir <file>',
        'start from a .nir file instead of the model (its first input gets zeros for activity)',
      )
      .option('--weights <scheme>', 'int8, int4, … (int2–int8) or ternary', 'int8')
      .option('--state-bits <n>', 'membrane width in bits', '16')
      .option(
        '--verilog <population>',
        'also emit Verilog (+ testbench, memories) for this conv layer population',
      ),
  ).action(
    async (
      o: ModelOptions & {
        out: string;
        module: string;
        nir?: string;
        weights: string;
        stateBits: string;
        verilog?: string;
      },
    ) => {
      const weights =
        o.weights === 'ternary'
          ? ({ kind: 'ternary' } as const)
          : /^int[2-8]$/.test(o.weights)
            ? ({ kind: 'symmetric', bits: Number(o.weights.slice(3)) } as const)
            : null;
      if (weights === null)
        throw new SpikedriveError(`--weights '${o.weights}' is not int2–int8 or ternary`, {
          subject: '--weights',
          fix: 'Use e.g. --weights int8 or --weights ternary.',
        });
      const stateBits = number(
        '--state-bits',
        o.stateBits,
        (n) => Number.isInteger(n) && n >= 8 && n <= 32,
        'Use 8–32.',
      );
      const base = resolve(o.out);
      let exports: ModuleExport[] = [];
      let opened: Opened | null = null;
      let batch: PreparedBatch | null = null;
      try {
        if (o.nir) {
          const { graph } = await readNir(o.nir);
          exports = [
            {
              module: 'perception',
              graph,
              partition: {
                module: basename(o.nir),
                dt: 1e-4,
                entries: [],
                boundaries: [],
                summary: {
                  nirLayers: 0,
                  hostLayers: 0,
                  nirParams: 0,
                  hostParams: 0,
                  boundaryBitsPerStep: 0,
                  nirNodes: graph.nodes.size,
                  nirEdges: graph.edges.length,
                },
              },
              inputs: new Map(),
            },
          ];
        } else {
          opened = openForOffload(o);
          batch = await probeBatch(opened.config, { dataroot: o.dataroot, version: o.version, log });
          exports = await exportModules(opened, parseOffloadModule(o.module), batch, 1e-4);
        }
        const reports: string[] = [];
        for (const ex of exports) {
          const calibration = new Map([...ex.inputs].map(([k, v]) => [k, v.dataSync() as Float32Array]));
          const model = buildFixedModel(ex.graph, { weights, stateBits, calibration });
          const suffix = exports.length > 1 ? `.${ex.module}` : '';
          const manifest = await writeFpgaBundle(`${base}${suffix}`, model);
          // Inputs without a recorded tensor (host values fed back, e.g. the ASPP broadcast; or a --nir file) get
          // zeros with the recorded inputs' T and B.
          const ref = [...ex.inputs.values()][0];
          const feeds = new Map(
            model.inputs.map((i) => [
              i.name,
              ex.inputs.get(i.name) ??
                tf.zeros([
                  ref?.shape[0] ?? 1,
                  ref?.shape[1] ?? 1,
                  ...(i.shape.length >= 2 ? [...i.shape.slice(1), i.shape[0]] : i.shape),
                ]),
            ]),
          );
          const run = runFixedModel(model, feeds);
          const steps = Math.max(1, ...[...feeds.values()].map((t) => t.shape[0] as number));
          const samples = graphSamplesPerSadSample(ex);
          const cost = fpgaCost(model, run, { module: ex.module, steps, samples });
          tf.dispose([...run.outputs.values()]);
          for (const [k, t] of feeds) if (!ex.inputs.has(k)) t.dispose();
          reports.push(formatFpgaCost(cost));
          process.stdout.write(
            `${base}${suffix}.bin/.json: ${manifest.totals.weights.toLocaleString('en')} weights in ${manifest.totals.weightBytes.toLocaleString('en')} bytes; ${ex.module}: ${(cost.latencyS * 1e3).toFixed(3)} ms, ${(cost.energyJ * 1e6).toFixed(2)} µJ per ${samples > 1 ? `image; ${(cost.latencyS * samples * 1e3).toFixed(3)} ms, ${(cost.energyJ * samples * 1e6).toFixed(2)} µJ per SAD sample (${samples} images, one after another)` : 'sample'} (${cost.bound}-bound)\n`,
          );
          if (o.verilog) {
            const pop = model.populations.find((p) => p.name === o.verilog);
            if (pop === undefined) continue;
            const v = emitSpikingConvVerilog(pop, 'snn_conv_layer');
            const dir = `${base}${suffix}.verilog`;
            mkdirSync(dir, { recursive: true });
            await writeFileAtomic(join(dir, 'snn_conv_layer.v'), v.verilog);
            await writeFileAtomic(join(dir, 'tb.v'), v.testbench);
            for (const [name, text] of Object.entries(v.memories))
              await writeFileAtomic(join(dir, name), text);
            process.stdout.write(`Verilog for ${o.verilog}: ${dir}\n`);
          }
        }
        await writeFileAtomic(`${base}.cost.md`, reports.join('\n'));
        disposeExports(exports);
      } finally {
        batch?.dispose();
        opened?.model.dispose();
      }
    },
  );
}

function registerOffloadGroup(program: Command): void {
  const off = program
    .command('offload')
    .description('neuromorphic and FPGA offload: fit checks and NIR validation');
  withModelOptions(
    off
      .command('check')
      .description(
        'what fits a target: neurons, synapses, weight bits, convolutions; the split across chips, inter-chip traffic, latency and energy',
      )
      .requiredOption(
        '--target <name>',
        `${listTargetProfiles()
          .map((t) => t.id)
          .join(', ')} or all`,
      )
      .option('--module <name>', 'perception, prediction, planning or all', 'all')
      .option('--out-dir <dir>', 'write offload-check-TARGET.md and .json there')
      .option('--json', 'print JSON instead of Markdown'),
  ).action(async (o: ModelOptions & { target: string; module: string; outDir?: string; json?: boolean }) => {
    const targets = o.target === 'all' ? listTargetProfiles() : [getTargetProfile(o.target)];
    const module = parseOffloadModule(o.module);
    const opened = openForOffload(o);
    const batch = await probeBatch(opened.config, { dataroot: o.dataroot, version: o.version, log });
    try {
      const exports = await exportModules(opened, module, batch, 1e-4);
      for (const target of targets) {
        const reports: [string, TargetCheckReport][] = exports.map((ex) => [
          ex.module,
          checkModule(ex, target),
        ]);
        const perSad = new Map(exports.map((ex) => [ex.module as string, graphSamplesPerSadSample(ex)]));
        const md = [
          `# Offload check: ${target.name} — ${opened.source}`,
          '',
          `Config ${opened.config.TAG}; one sample of ${o.dataroot ?? 'the demo world'} (val). Regenerate: \`spikedrive offload check --target ${target.id}${o.checkpoint ? ` --checkpoint ${o.checkpoint}` : ''}${o.config && !o.checkpoint ? ` --config ${o.config}` : ''} --out-dir docs\`.`,
          '',
          "Per SAD sample: the module's graph runs once per graph sample (perception: once per camera image, S frames × N cameras, one after another; prediction and planning: once), so latency, energy and traffic per SAD sample are the per-graph-sample figures of the sections below times that count. Estimates from the profile constants (docs/offload.md), not measurements.",
          '',
          '| module | fits | chips | neurons | weights | graph samples per SAD sample | latency per SAD sample | energy per SAD sample | inter-chip bits per SAD sample | host bits per SAD sample |',
          '|---|---|---|---|---|---|---|---|---|---|',
          ...reports.map(([m, r]) => {
            const n = perSad.get(m) ?? 1;
            return `| ${m} | ${r.fits ? (r.fitsOneChip ? 'yes, one chip' : `yes, ${r.chips} chips`) : `**no** (${r.blockers.length} blockers)`} | ${r.chips} | ${r.totals.neurons.toLocaleString('en')} | ${(r.totals.weightBits / 8 / 1024).toFixed(1)} KiB | ${n} | ${(r.latency.perSampleS * n * 1e3).toFixed(3)} ms | ${(r.energy.perSampleJ * n * 1e6).toFixed(2)} µJ | ${Math.round(r.totals.interChipBitsPerSample * n).toLocaleString('en')} | ${Math.round(r.totals.hostBitsPerSample * n).toLocaleString('en')} |`;
          }),
          '',
          ...exports.flatMap((ex) => {
            const many = [...(ex.calls ?? [])].filter(([, n]) => n > 1);
            if (many.length === 0) return [];
            const list = many
              .slice(0, 12)
              .map(([k, n]) => `\`${k.replace(/\.input$/, '')}\` ×${n}`)
              .join(', ');
            return [
              `${ex.module}: ${many.length} block(s) run several times per forward at the same shape (per frame or per step); the figures count one run of each, so they understate the module: ${list}${many.length > 12 ? ', …' : ''}.`,
              '',
            ];
          }),
          ...reports.map(([m, r]) =>
            formatTargetCheck(r, `${m}`).replace(/^# /, '## ').replace(/\n## /g, '\n### '),
          ),
        ].join('\n');
        const json = {
          target: target.id,
          model: opened.source,
          config: opened.config.TAG,
          graphSamplesPerSadSample: Object.fromEntries(perSad),
          runsPerForward: Object.fromEntries(
            exports.map((ex) => [ex.module, Object.fromEntries(ex.calls ?? [])]),
          ),
          modules: Object.fromEntries(reports),
        };
        if (o.outDir) {
          await writeFileAtomic(join(resolve(o.outDir), `offload-check-${target.id}.md`), `${md}\n`);
          await writeJsonAtomic(join(resolve(o.outDir), `offload-check-${target.id}.json`), json);
          log(`wrote ${join(o.outDir, `offload-check-${target.id}`)}.md/.json`);
        }
        if (o.json) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        else process.stdout.write(`${md}\n`);
      }
      disposeExports(exports);
    } finally {
      batch.dispose();
      opened.model.dispose();
    }
  });

  off
    .command('validate')
    .description('check a .nir file rule by rule against what nir.read accepts (layout and type inference)')
    .argument('<file>', '.nir file')
    .action(async (file: string) => {
      const v = await validateNirFile(file);
      for (const i of v.issues) process.stdout.write(`${i.severity} [${i.rule}] ${i.path}: ${i.message}\n`);
      process.stdout.write(
        `${file}: version ${v.version ?? '(none)'}; nir.read ${v.loads ? 'loads it' : v.loadsWithoutTypeCheck ? 'loads it only with type_check=False' : 'rejects it'}\n`,
      );
      if (!v.loads) process.exitCode = 1;
    });
}

function registerServeCommand(program: Command): void {
  program
    .command('serve-accelerator')
    .description(
      'the device side of the accelerator protocol (WebSocket): loads NIR graphs, runs spike tensors, answers',
    )
    .option('--port <n>', 'TCP port (0 picks a free one)', '7300')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--backend <name>', 'what runs the graphs', 'nir-sim')
    .option('--delay-ms <n>', 'artificial delay per request (to try the client’s timeout)', '0')
    .action(async (o: { port: string; host: string; backend: string; delayMs: string }) => {
      if (o.backend !== 'nir-sim')
        throw new SpikedriveError(`unknown --backend '${o.backend}'`, {
          subject: '--backend',
          fix: 'Use --backend nir-sim.',
        });
      const port = number(
        '--port',
        o.port,
        (n) => Number.isInteger(n) && n >= 0 && n < 65536,
        'Use a TCP port, e.g. 7300.',
      );
      const server = await startAcceleratorServer({
        port,
        host: o.host,
        backend: 'nir-sim',
        delayMs: number('--delay-ms', o.delayMs, (n) => n >= 0, 'Use milliseconds ≥ 0.'),
        log: (l) => log(`[serve-accelerator] ${l}`),
      });
      process.stdout.write(`serving ${server.url} (nir-sim); Ctrl-C stops\n`);
      await new Promise<void>((done) => {
        const stop = () => {
          void server.close().then(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

/** Vehicle IoU of a batch's present-and-future segmentation (class 1, ignoring the ignore index). */
function vehicleCounts(
  logits: tf.Tensor,
  labels: tf.Tensor,
  ignore: number,
): { intersection: number; union: number } {
  const pred = tf.tidy(() => {
    const [bg, fg] = tf.split(logits, 2, -1);
    return tf.squeeze(tf.greater(fg, bg), [-1]);
  });
  const p = pred.dataSync();
  pred.dispose();
  const g = labels.dataSync();
  const n = Math.min(p.length, g.length);
  const offset = g.length - n;
  let inter = 0;
  let union = 0;
  for (let i = 0; i < n; i++) {
    const gt = g[offset + i];
    if (gt === ignore) continue;
    const a = p[i] === 1;
    const b = gt === 1;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return { intersection: inter, union };
}

function registerSweepCommand(program: Command): void {
  const sweep = program.command('sweep').description('parameter sweeps');
  withModelOptions(
    sweep
      .command('bottleneck')
      .description(
        'accuracy against boundary traffic for a set of spiking bottleneck ratios at perception → prediction',
      )
      .option('--ratios <list>', 'width ratios k/C', '1,0.5,0.25,0.125,0.0625')
      .option('--train-samples <n>', 'samples whose boundary tensors fit each bottleneck', '8')
      .option('--eval-samples <n>', 'val samples the IoU is measured on', '8')
      .option('--fit-steps <n>', 'Adam steps per ratio', '150')
      .option('--json <file>', 'also write the points as JSON')
      .option('--md <file>', 'also write the table as Markdown'),
  ).action(
    async (
      o: ModelOptions & {
        ratios: string;
        trainSamples: string;
        evalSamples: string;
        fitSteps: string;
        json?: string;
        md?: string;
      },
    ) => {
      const ratios = o.ratios
        .split(',')
        .map((r) => number('--ratios', r, (n) => n > 0 && n <= 1, 'Give ratios in (0, 1], e.g. 1,0.5,0.25.'));
      const nTrain = number(
        '--train-samples',
        o.trainSamples,
        (n) => Number.isInteger(n) && n >= 1,
        'Use an integer ≥ 1.',
      );
      const nEval = number(
        '--eval-samples',
        o.evalSamples,
        (n) => Number.isInteger(n) && n >= 1,
        'Use an integer ≥ 1.',
      );
      const fitSteps = number(
        '--fit-steps',
        o.fitSteps,
        (n) => Number.isInteger(n) && n >= 1,
        'Use an integer ≥ 1.',
      );
      const opened = openForOffload({ ...o, config: o.config ?? (o.checkpoint ? undefined : 'cpu-tiny') });
      const { model, config } = opened;
      const ignore = config.DATASET.IGNORE_INDEX;
      const batches: { train: PreparedBatch[]; val: PreparedBatch[] } = { train: [], val: [] };
      try {
        const first = await probeBatch(config, { dataroot: o.dataroot, version: o.version, log });
        batches.val.push(first);
        for (let i = 1; i < nEval; i++)
          batches.val.push(
            await probeBatch(config, { dataroot: o.dataroot, version: o.version, index: i }).catch(
              () => first,
            ),
          );
        batches.val = [...new Set(batches.val)];
        const { openSadDataset, sadDataOptionsFromConfig } = await import(
          '../../../data-loaders/sad/index.ts'
        );
        const { ensureDemoDataset } = await import('../../../data-loaders/synthetic/index.ts');
        const root = o.dataroot
          ? { dataroot: o.dataroot, version: o.version ?? '' }
          : await ensureDemoDataset();
        const train = openSadDataset({
          dataroot: root.dataroot,
          version: root.version,
          split: 'train',
          options: sadDataOptionsFromConfig(config),
          hdmapFrames: 'present',
        });
        for (let i = 0; i < Math.min(nTrain, train.length); i++)
          batches.train.push(prepareBatch([await train.getSample(i)], config));
        // Boundary tensors (frame-major BEV features) of the training samples.
        const boundaryOf = (b: PreparedBatch) => {
          const out = model.perception.forward(b.input);
          tf.dispose([out.depth, ...(out.camFront ? [out.camFront] : [])]);
          const fm = toFrameMajor(out.bev);
          out.bev.dispose();
          model.reset();
          return fm;
        };
        const trainSamples = batches.train.map(boundaryOf);
        const channels = trainSamples[0].shape[4] as number;
        const evaluate = (bottleneck: BoundaryBottleneck | null) => {
          const original = model.perception.forward.bind(model.perception);
          if (bottleneck !== null) {
            Object.defineProperty(model.perception, 'forward', {
              configurable: true,
              writable: true,
              value: (input: Parameters<typeof original>[0], ctx?: Parameters<typeof original>[1]) => {
                const out = original(input, ctx);
                const fm = toFrameMajor(out.bev);
                const y = bottleneck.forward(fm);
                const bev = toBatchMajor(y);
                tf.dispose([fm, y, out.bev]);
                return { ...out, bev };
              },
            });
          }
          let inter = 0;
          let union = 0;
          let bits = 0;
          let dense = 0;
          try {
            for (const b of batches.val) {
              const out = model.forward(b.input);
              const c = vehicleCounts(out.segmentation, b.labels.segmentation, ignore);
              inter += c.intersection;
              union += c.union;
              for (const v of Object.values(out)) if (v instanceof tf.Tensor) v.dispose();
              if (bottleneck?.lastTraffic) {
                bits += bottleneck.lastTraffic.bits;
                dense += bottleneck.lastTraffic.denseBits;
              }
            }
          } finally {
            if (bottleneck !== null) delete (model.perception as unknown as Record<string, unknown>).forward;
          }
          return {
            iou: union === 0 ? 0 : inter / union,
            bits: bits / batches.val.length,
            dense: dense / batches.val.length,
          };
        };
        const baseline = evaluate(null);
        const denseBits = trainSamples[0].size * 32;
        const points: SweepPoint[] = [];
        for (const ratio of ratios) {
          log(`ratio ${ratio}: fitting …`);
          const bottleneck = new BoundaryBottleneck({ channels, ratio, boundary: 'perception->prediction' });
          try {
            const fit = fitBottleneck(bottleneck, trainSamples, { steps: fitSteps, learningRate: 0.01 });
            const r = evaluate(bottleneck);
            const traffic = {
              ...(bottleneck.lastTraffic as NonNullable<typeof bottleneck.lastTraffic>),
              bits: r.bits,
              denseBits: r.dense,
              trafficRatio: r.bits / r.dense,
            };
            points.push({ ratio, width: bottleneck.width, traffic, metrics: { vehicleIoU: r.iou }, fit });
          } finally {
            bottleneck.dispose();
          }
        }
        tf.dispose(trainSamples);
        const table = formatSweep(points, { metrics: { vehicleIoU: baseline.iou }, denseBits });
        const header = `# Bottleneck sweep: perception → prediction (${opened.source})\n\n${batches.train.length} training samples fit each bottleneck (${fitSteps} Adam steps, reconstruction MSE); vehicle IoU over ${batches.val.length} val samples of ${o.dataroot ?? 'the demo world'}; bits are per sample (spikes as bitmap or address events, whichever is smaller; the dense row is float32).\n\n`;
        process.stdout.write(`${header}${table}`);
        if (o.md) await writeFileAtomic(resolve(o.md), `${header}${table}`);
        if (o.json)
          await writeJsonAtomic(resolve(o.json), {
            model: opened.source,
            baseline: { vehicleIoU: baseline.iou, denseBits },
            points,
          });
      } finally {
        for (const b of [...new Set([...batches.train, ...batches.val])]) b.dispose();
        model.dispose();
      }
    },
  );
}

/** Registers `export nir|fpga`, `offload check|validate`, `serve-accelerator` and `sweep bottleneck`. */
export function registerOffloadCommands(program: Command): void {
  registerExportCommands(program);
  registerOffloadGroup(program);
  registerServeCommand(program);
  registerSweepCommand(program);
}

export interface OffloadCliOptions {
  offload?: string[];
  offloadFallback?: string;
  offloadTimeout?: string;
}

/** `--offload MODULE=BACKEND` (repeatable), `--offload-fallback`, `--offload-timeout` for infer/eval. */
export function withOffloadOptions(command: Command): Command {
  return command
    .option(
      '--offload <module=backend>',
      'run a module on an offload back end: perception=nir-sim, prediction=ws://HOST:PORT (repeatable; modules perception, prediction, planning)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--offload-fallback <mode>',
      'when the device fails or answers late: error (default) or host',
      'error',
    )
    .option('--offload-timeout <ms>', 'deadline of one device call in ms', '60000');
}

/**
 * Turns the `--offload` options into a `prepareModel` hook (installs the back ends once the model is open) and a
 * summary of what ran where. No `--offload`: no hook.
 */
export function offloadPreparer(o: OffloadCliOptions): {
  prepareModel?: (model: SadModel) => Promise<(() => void) | undefined>;
  summary(): string;
  /** What ran where, for a run manifest (`offload`); undefined without `--offload`. */
  record?: Record<string, unknown>;
} {
  const specs = parseOffloadSpecs(o.offload ?? []);
  if (specs.size === 0) return { summary: () => '' };
  const fallback = o.offloadFallback ?? 'error';
  if (fallback !== 'error' && fallback !== 'host') {
    throw new SpikedriveError(`--offload-fallback must be error or host, got '${fallback}'`, {
      subject: '--offload-fallback',
      fix: 'Use --offload-fallback host to recompute failed device calls on the host.',
    });
  }
  const timeoutMs = number(
    '--offload-timeout',
    o.offloadTimeout ?? '60000',
    (n) => n > 0,
    'Give milliseconds, e.g. 60000.',
  );
  let installed: ModelOffload | null = null;
  let lastStats = '';
  return {
    prepareModel: async (model: SadModel) => {
      installed = await installModelOffload(model, specs, { onFailure: fallback, timeoutMs, log });
      const current = installed;
      return () => {
        lastStats = summariseOffload(current);
        current.uninstall();
      };
    },
    summary: () => lastStats,
    record: {
      modules: Object.fromEntries(specs),
      fallback,
      timeoutMs,
      dt: 1e-4,
      note: 'blocks on the back end are not instrumented: energy and firing rates count the host layers only',
    },
  };
}

function summariseOffload(offload: ModelOffload): string {
  const lines = ['offload:'];
  for (const [name, s] of offload.stats) {
    const ms = [...s.callMs].sort((a, b) => a - b);
    const median = ms.length ? ms[Math.floor(ms.length / 2)].toFixed(1) : '—';
    lines.push(
      `  ${name} on ${s.backend}: ${s.blocks.length} blocks, ${s.offloaded}/${s.calls} calls on the back end (median ${median} ms), ${s.hostFallbacks} host fallbacks; ${s.elementsToDevice.toLocaleString('en')} elements out, ${s.elementsFromDevice.toLocaleString('en')} back${s.bytesSent ? `, ${s.bytesSent.toLocaleString('en')} B sent / ${s.bytesReceived.toLocaleString('en')} B received` : ''}`,
    );
    for (const f of s.failures.slice(0, 3)) lines.push(`    failure: ${f}`);
  }
  return lines.join('\n');
}
