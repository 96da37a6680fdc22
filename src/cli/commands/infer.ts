import type { Command } from 'commander';
import { formatInferReport, runInference } from '../../pipeline/index.ts';
import { parsePreference, selectBackend } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/index.ts';
import { type OffloadCliOptions, offloadPreparer, withOffloadOptions } from './offload.ts';

interface InferCommandOptions extends OffloadCliOptions {
  dataroot?: string;
  version?: string;
  split: string;
  sample?: string;
  index?: string;
  checkpoint?: string;
  config?: string;
  backend?: string;
  runs: string;
  seed?: string;
  json?: boolean;
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

/** `spikedrive infer`: the model on one sample; per-module outputs, latency and spike activity. */
export function registerInferCommand(program: Command): Command {
  return withOffloadOptions(program.command('infer'))
    .description(
      'run the SAD model on one sample: per-module outputs, latency and spike activity (default: demo world + shipped model)',
    )
    .option('--dataroot <dir>', 'nuScenes-format dataset root (default: the demo world)')
    .option('--version <name>', 'release folder under the dataroot (needed with --dataroot)')
    .option('--split <name>', 'train or val', 'val')
    .option('--sample <token>', 'present-frame sample token (default: the split’s first sample)')
    .option('--index <n>', 'sample index in the split instead of a token')
    .option('--checkpoint <file>', 'model .safetensors (default: models/sad-cpu-small.safetensors)')
    .option(
      '--config <preset|file>',
      'config for a checkpoint without its .json (e.g. a reference export: paper)',
    )
    .option('--backend <name>', 'tensor back end: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--runs <n>', 'timed forward passes (median reported, after one warm-up)', '3')
    .option('--seed <n>', 'seed of the planner’s candidate sampler')
    .option('--json', 'print the report as JSON')
    .action(async (options: InferCommandOptions) => {
      if (options.split !== 'train' && options.split !== 'val') {
        throw new SpikedriveError(`--split must be train or val, got '${options.split}'`, {
          subject: '--split',
          fix: 'Use --split val (default) or --split train.',
        });
      }
      if (options.dataroot && !options.version) {
        throw new SpikedriveError('--dataroot needs --version', {
          subject: '--version',
          fix: 'Name the release folder, e.g. --version v1.0-mini.',
        });
      }
      const backend = await selectBackend({
        preferred: options.backend ? parsePreference(options.backend) : undefined,
      });
      const offload = offloadPreparer(options);
      const report = await runInference({
        prepareModel: offload.prepareModel,
        dataroot: options.dataroot ?? null,
        version: options.version ?? null,
        split: options.split,
        sample: options.sample ?? null,
        index: options.index === undefined ? undefined : integer('--index', options.index, 0),
        checkpoint: options.checkpoint ?? null,
        config: options.config ?? null,
        runs: integer('--runs', options.runs, 1),
        seed: options.seed === undefined ? undefined : integer('--seed', options.seed, 0),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`${formatInferReport(report)}\n(${backend.reason})\n`);
      if (offload.summary()) process.stderr.write(`${offload.summary()}\n`);
    });
}
