import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  applyOverride,
  applyStage,
  loadSadConfig,
  parseStage,
  type TrainingStage,
  train,
} from '../../pipeline/index.ts';
import { parsePreference, selectBackend } from '../../snn/index.ts';
import { SpikedriveError } from '../../util/index.ts';

interface TrainCommandOptions {
  config: string;
  dataroot: string;
  version: string;
  stage: string;
  out: string;
  resume?: boolean;
  init?: string;
  keepDecoder?: boolean;
  set: string[];
  backend?: string;
  workers?: string;
  imageCache?: string;
  progress: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The checkpoint of the stage before `stage` in the same --out folder, if it exists. */
function previousStageCheckpoint(out: string, stage: TrainingStage): string | null {
  const previous =
    stage === 'planning' ? ['prediction', 'perception'] : stage === 'prediction' ? ['perception'] : [];
  for (const p of previous) {
    const path = join(out, `${p}.safetensors`);
    if (existsSync(path)) return path;
  }
  return null;
}

/** `spikedrive train`: one SAD training stage (perception → prediction → planning). */
export function registerTrainCommand(program: Command): Command {
  return program
    .command('train')
    .description(
      'train one SAD stage (perception, prediction, planning) with the reference losses, Adam and clipping',
    )
    .requiredOption(
      '--config <preset|file>',
      'config preset (paper, cpu-small, cpu-tiny) or a YAML file (reference keys)',
    )
    .requiredOption('--dataroot <dir>', 'nuScenes-format dataset root (real or `spikedrive data synth`)')
    .option('--version <name>', 'release folder under the dataroot', 'v1.0-trainval')
    .option(
      '--stage <name>',
      'perception | prediction | planning (the reference stage files switch heads and F)',
      'perception',
    )
    .option('--out <dir>', 'folder for <stage>.safetensors/.json checkpoints', 'runs/train')
    .option('--resume', 'continue this stage from <out>/<stage>.safetensors (weights, optimiser, step)')
    .option(
      '--init <checkpoint>',
      'start from this checkpoint (default for prediction/planning: the previous stage in --out)',
    )
    .option('--keep-decoder', 'keep "decoder" tensors when starting from --init (the reference drops them)')
    .option(
      '--set <KEY=VALUE>',
      'override a config key, e.g. --set OPTIMIZER.LR=1e-4 (repeatable)',
      collect,
      [],
    )
    .option('--backend <name>', 'tensor back end: auto, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--workers <n>', 'data loader threads (default: N_WORKERS, at most 2)')
    .option('--image-cache <dir>', 'preprocessed-image cache (default: the spikedrive cache folder)')
    .option('--no-progress', 'log lines instead of a progress bar')
    .action(async (options: TrainCommandOptions) => {
      const stage = parseStage(options.stage);
      let config = applyStage(loadSadConfig(options.config), stage);
      for (const item of options.set) config = applyOverride(config, item);
      const dataroot = resolve(options.dataroot);
      if (!existsSync(join(dataroot, options.version))) {
        throw new SpikedriveError(`${dataroot} has no ${options.version} folder`, {
          subject: '--dataroot',
          fix: 'Pass the dataset root and its release with --version (e.g. v1.0-mini), or generate one with `spikedrive data synth`.',
        });
      }
      let workers: number | undefined;
      if (options.workers !== undefined) {
        workers = Number(options.workers);
        if (!Number.isInteger(workers) || workers < 0) {
          throw new SpikedriveError(`--workers must be an integer ≥ 0, got '${options.workers}'`, {
            subject: '--workers',
            fix: 'Pass e.g. --workers 1 (0 loads on the training thread).',
          });
        }
      }
      const backend = await selectBackend({
        preferred: options.backend ? parsePreference(options.backend) : undefined,
      });
      process.stderr.write(`${backend.reason}\n`);
      const out = resolve(options.out);
      const init =
        options.resume === true
          ? null
          : (options.init ?? (stage === 'perception' ? null : previousStageCheckpoint(out, stage)));
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write(
          '\nstopping after this step and saving a checkpoint (Ctrl-C again to quit at once)\n',
        );
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const result = await train({
          config,
          stage,
          dataroot,
          version: options.version,
          outDir: out,
          resume: options.resume === true,
          init,
          dropDecoderKeys: options.keepDecoder !== true,
          workers,
          imageCache: options.imageCache,
          progress: options.progress && process.stderr.isTTY === true,
          signal: controller.signal,
        });
        process.stdout.write(
          `${result.interrupted ? 'stopped' : 'finished'} ${stage}: ${result.steps} steps, ${result.epochs} epochs, ` +
            `${result.samplesPerSecond.toFixed(2)} samples/s → ${result.checkpoint}\n`,
        );
        if (Object.keys(result.metrics).length > 0) {
          process.stdout.write(`${JSON.stringify(result.metrics)}\n`);
        }
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
