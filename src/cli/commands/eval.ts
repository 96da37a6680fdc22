import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SpikedriveError } from '../../util/index.ts';
import { type OffloadCliOptions, offloadPreparer, withOffloadOptions } from './offload.ts';

const SPLITS = ['train', 'val', 'test'] as const;
const FORMATS = ['table', 'json', 'csv', 'md'] as const;

export interface EvalCommandOptions extends OffloadCliOptions {
  dataroot?: string;
  version?: string;
  split: string;
  checkpoint?: string;
  config?: string;
  inputs?: string;
  planner?: string;
  plannerOption: string[];
  trajectories?: string;
  out: string;
  limit?: string;
  seed: string;
  backend?: string;
  format: string;
  energyProfile?: string;
  energyMethod?: string;
  planTimeout: string;
  pluginInitTimeout: string;
  workers: string;
  checkpointEvery: string;
  overwrite?: boolean;
  progress: boolean;
  report: boolean;
}

function integer(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new SpikedriveError(`${name} must be an integer ≥ ${min}, got '${raw}'`, {
      subject: name,
      fix: `Pass a whole number, e.g. ${name} ${Math.max(min, 1)}.`,
    });
  }
  return n;
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new SpikedriveError(`${name} must be one of ${allowed.join(', ')}, got '${raw}'`, {
      subject: name,
      fix: `Use ${name} ${allowed[0]}.`,
    });
  }
  return raw as T;
}

/** `key=value` pairs → an object (numbers and booleans parsed, everything else a string). */
export function parsePlannerOptions(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new SpikedriveError(`--planner-option '${pair}' is not KEY=VALUE`, {
        subject: '--planner-option',
        fix: 'Write options as --planner-option marginM=3 (repeat the flag for more).',
      });
    }
    const key = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const n = Number(raw);
    out[key] =
      raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(n) ? n : raw;
  }
  return out;
}

/** The nuScenes release under a dataroot: the one `v1.0-*` folder there, or the one asked for. */
export function detectVersion(dataroot: string, version: string | undefined): string {
  if (!existsSync(dataroot)) {
    throw new SpikedriveError(`dataroot ${dataroot} does not exist`, {
      subject: '--dataroot',
      fix: 'Pass the folder that holds v1.0-mini/ or v1.0-trainval/ (omit --dataroot for the demo world).',
    });
  }
  if (version) return version;
  const found = readdirSync(dataroot).filter(
    (f) => /^v1\.0-/.test(f) && existsSync(join(dataroot, f, 'sample.json')),
  );
  if (found.length === 1) return found[0];
  throw new SpikedriveError(
    found.length === 0
      ? `${dataroot} holds no nuScenes release (no v1.0-*/sample.json)`
      : `${dataroot} holds several releases (${found.join(', ')})`,
    { subject: '--version', fix: 'Pass --version v1.0-mini or --version v1.0-trainval.' },
  );
}

/** A progress reporter: a bar with ETA on a terminal, a line per 10 % otherwise (logs, CI). */
async function progressReporter(enabled: boolean) {
  if (!enabled) return { update: () => {}, stop: () => {} };
  const { SingleBar } = await import('cli-progress');
  const tty = process.stderr.isTTY === true;
  let bar: InstanceType<typeof SingleBar> | null = null;
  let lastDecile = -1;
  return {
    update: (p: { done: number; total: number; failed: number; etaMs: number | null }) => {
      if (tty) {
        if (!bar) {
          bar = new SingleBar({
            format: 'eval |{bar}| {value}/{total} samples | {failed} failed | {eta_formatted} left',
            stream: process.stderr,
            hideCursor: true,
            etaBuffer: 20,
          });
          bar.start(p.total, p.done, { failed: p.failed });
        }
        bar.update(p.done, { failed: p.failed });
      } else {
        const decile = Math.floor((10 * p.done) / Math.max(1, p.total));
        if (decile !== lastDecile) {
          const eta = p.etaMs === null ? '' : `, ~${Math.ceil(p.etaMs / 1000)} s left`;
          process.stderr.write(
            `eval: ${p.done}/${p.total} samples${p.failed ? ` (${p.failed} failed)` : ''}${eta}\n`,
          );
          lastDecile = decile;
        }
      }
    },
    stop: () => bar?.stop(),
  };
}

/** Runs `spikedrive eval` with parsed options; returns what it printed (for tests) and the exit code. */
export async function runEvalCommand(options: EvalCommandOptions): Promise<number> {
  const { evaluate } = await import('../../eval/evaluate.ts');
  const { summarizeRun, formatSummary } = await import('../../eval/summary.ts');
  const format = oneOf('--format', options.format, FORMATS);
  const split = oneOf('--split', options.split, SPLITS);
  const inputs =
    options.inputs === undefined
      ? undefined
      : oneOf('--inputs', options.inputs, ['model', 'ground-truth'] as const);
  const trajectoriesMode = options.trajectories !== undefined;
  const useModel = !trajectoriesMode && inputs !== 'ground-truth';

  let dataroot = options.dataroot;
  let version = options.version;
  if (dataroot === undefined) {
    const { ensureDemoDataset } = await import('../../../data-loaders/synthetic/index.ts');
    const demo = await ensureDemoDataset({
      onProgress: (p) => {
        if (p.phase === 'maps' && p.done === 0)
          process.stderr.write('eval: generating the demo world (first use, a minute or two)…\n');
      },
    });
    dataroot = demo.dataroot;
    version = version ?? demo.version;
  }
  version = detectVersion(dataroot, version);

  // The network (model inputs): the shipped model unless --checkpoint names another; `--offload` moves modules of it
  // to nir-sim or a device (as in infer), recorded in the manifest.
  const offload = offloadPreparer(options);
  if (offload.prepareModel && !useModel) {
    throw new SpikedriveError('--offload needs the model', {
      subject: '--offload',
      fix: 'Drop --offload, or drop --inputs ground-truth / --trajectories to evaluate the model.',
    });
  }
  let model: import('../../eval/evaluate.ts').EvaluationModel | undefined;
  if (useModel) {
    const { loadEvaluationModel } = await import('../../eval/model-predictor.ts');
    model = await loadEvaluationModel({
      checkpoint: options.checkpoint,
      config: options.config,
      backend: options.backend,
      energyProfile: options.energyProfile,
      energyMethod: options.energyMethod,
      log: (line) => process.stderr.write(`${line}\n`),
      prepareModel: offload.prepareModel,
      offload: offload.record,
    });
  } else if (options.checkpoint) {
    throw new SpikedriveError('--checkpoint has no effect without the model', {
      subject: '--checkpoint',
      fix: 'Drop --checkpoint, or drop --inputs ground-truth / --trajectories to evaluate the model.',
    });
  }

  const progress = await progressReporter(options.progress);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts === 1) {
      process.stderr.write(
        '\neval: stopping after this sample (a checkpoint is written; run the same command to resume)…\n',
      );
      controller.abort();
    } else {
      // Every file is written atomically, so stopping now loses at most the samples since the last checkpoint.
      process.stderr.write('eval: stopped; resume with the same command\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await evaluate({
      out: options.out,
      dataset: { dataroot, version, split },
      inputs: trajectoriesMode ? undefined : (inputs ?? (useModel ? 'model' : 'ground-truth')),
      model,
      planner: options.planner,
      plannerOptions: parsePlannerOptions(options.plannerOption),
      trajectories: options.trajectories,
      limit: options.limit === undefined ? undefined : integer('--limit', options.limit, 1),
      seed: integer('--seed', options.seed, 0),
      planTimeoutMs: integer('--plan-timeout', options.planTimeout, 1),
      pluginInitTimeoutMs: integer('--plugin-init-timeout', options.pluginInitTimeout, 1),
      loaderWorkers: integer('--workers', options.workers, 0),
      checkpointEveryMs: integer('--checkpoint-every', options.checkpointEvery, 0),
      overwrite: options.overwrite === true,
      onProgress: (p) => progress.update(p),
      signal: controller.signal,
    });
    progress.stop();
    if (result.alreadyComplete)
      process.stderr.write(`eval: ${result.dir} is already complete; showing its results\n`);
    else if (result.resumedFrom > 0) {
      process.stderr.write(`eval: resumed after ${result.resumedFrom} samples done earlier\n`);
    }
    process.stdout.write(formatSummary(summarizeRun(result.run), format));
    if (result.status === 'interrupted') {
      process.stderr.write(
        `eval: interrupted after ${result.resumedFrom + result.processed}/${result.total} samples; run the same command to resume\n`,
      );
      return 130;
    }
    if (format === 'table' && options.report)
      process.stderr.write(`report: ${join(result.dir, 'report.html')}\n`);
    return 0;
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
    if (offload.prepareModel) {
      // Closes the offload back ends (a device connection) and reports what ran where.
      model?.predictor.dispose();
      if (offload.summary()) process.stderr.write(`${offload.summary()}\n`);
    }
  }
}

/** `spikedrive eval …`: evaluates a model, a planner or a file of trajectories into a run folder. */
export function registerEvalCommand(program: Command): Command {
  return withOffloadOptions(program.command('eval'))
    .description(
      'evaluate the model (perception IoU, prediction IoU/PQ, planning L2/collision, energy, latency) into a resumable run folder',
    )
    .requiredOption('--out <dir>', 'run folder to write (an interrupted run there is resumed)')
    .option('--dataroot <dir>', 'nuScenes dataroot (default: the synthetic demo world)')
    .option(
      '--version <name>',
      'release folder, e.g. v1.0-mini or v1.0-trainval (default: the one in the dataroot)',
    )
    .option('--split <name>', `SAD split: ${SPLITS.join(', ')}`, 'val')
    .option('--checkpoint <file>', 'model checkpoint (.safetensors; default: the shipped model)')
    .option(
      '--config <preset|file>',
      'config for a bare safetensors checkpoint (default: the JSON beside it)',
    )
    .option('--inputs <kind>', "'model' (default) or 'ground-truth' (labels stand in for the network)")
    .option(
      '--planner <name|path>',
      'sad, cost-only, constant-velocity, expert, or a plugin module (default: sad)',
    )
    .option(
      '--planner-option <key=value>',
      'option passed to the planner (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--trajectories <file>', 'score trajectories planned elsewhere (JSON keyed by sample token)')
    .option('--limit <n>', 'evaluate only the first n samples of the split')
    .option('--seed <n>', 'seed of the candidate sampler (numpy seed = seed + sample index)', '0')
    .option('--backend <name>', 'tensor back end: auto, tensorflow, wasm, cpu')
    .option('--energy-profile <id|file>', 'hardware profile for energy (default cmos-45nm)')
    .option('--energy-method <name>', 'sad-paper (default) or memory-aware')
    .option('--format <kind>', `output: ${FORMATS.join(', ')}`, 'table')
    .option('--plan-timeout <ms>', 'per-call limit of a plugin planner', '10000')
    .option('--plugin-init-timeout <ms>', 'limit on loading a plugin and running its init', '60000')
    .option('--workers <n>', 'sample-loading threads (0: load on the main thread)', '1')
    .option('--checkpoint-every <ms>', 'minimum time between resume checkpoints', '2000')
    .option('--overwrite', 'start afresh in --out (its run files are removed)')
    .option('--no-progress', 'no progress bar')
    .option('--no-report', 'do not print the report path')
    .action(async (options: EvalCommandOptions) => {
      const code = await runEvalCommand(options);
      if (code !== 0) process.exitCode = code;
    });
}
