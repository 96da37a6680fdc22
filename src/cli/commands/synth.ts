import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import {
  DEFAULT_SAMPLES_PER_SCENE,
  demoCacheFolder,
  ensureDemoDataset,
  generateSyntheticDataset,
  type SynthProgress,
  type SynthVersion,
} from '../../../data-loaders/synthetic/index.ts';
import { SpikedriveError } from '../../util/index.ts';

/** A progress reporter: a bar over keyframes on a terminal, a line per phase otherwise (logs, CI). */
function progressReporter(label: string): { onProgress: (p: SynthProgress) => void; stop: () => void } {
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | null = null;
  let lastPhase = '';
  let lastPercent = -1;
  let announced = false;
  return {
    onProgress: (p) => {
      if (p.phase === 'maps' && !announced) {
        announced = true;
        process.stderr.write(`${label}: building the towns and maps…\n`);
      }
      if (p.phase === 'keyframes') {
        if (tty) {
          if (!bar) {
            bar = new SingleBar({
              format: `${label} |{bar}| {value}/{total} keyframes (6 cameras + lidar) | {eta_formatted} left`,
              stream: process.stderr,
              hideCursor: true,
            });
            bar.start(p.total, 0);
          }
          bar.update(p.done);
        } else {
          const percent = Math.floor((100 * p.done) / p.total / 10) * 10;
          if (percent !== lastPercent) process.stderr.write(`${label}: ${p.done}/${p.total} keyframes\n`);
          lastPercent = percent;
        }
      }
      if (p.phase === 'tables' && lastPhase !== 'tables') {
        bar?.stop();
        bar = null;
        process.stderr.write(`${label}: writing the tables…\n`);
      }
      lastPhase = p.phase;
    },
    stop: () => bar?.stop(),
  };
}

function integerOption(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new SpikedriveError(`${name} must be an integer ≥ ${min}, got '${value}'`, {
      subject: name,
      fix: `pass a whole number, e.g. ${name} ${Math.max(min, 1)}`,
    });
  }
  return n;
}

/** `spikedrive data synth …`: writes a synthetic nuScenes release. */
export function registerSynthCommand(data: Command): Command {
  return data
    .command('synth')
    .description(
      'generate a synthetic world in exact nuScenes format (13 tables, 6 cameras at 1600×900, lidar, maps, CAN bus)',
    )
    .requiredOption('--out <dir>', 'output dataset root (must be empty, new, or an earlier synthetic run)')
    .option('--scenes <n>', 'number of scenes', '10')
    .option('--seed <n>', 'random seed: the same seed and arguments give byte-identical output', '0')
    .option('--samples-per-scene <k>', 'keyframes (2 Hz) per scene', String(DEFAULT_SAMPLES_PER_SCENE))
    .option('--version <name>', 'release: v1.0-mini (up to 10 scenes) or v1.0-trainval', 'v1.0-mini')
    .option('--workers <n>', 'render threads (default: all cores)')
    .option('--force', 'replace a synthetic dataset made with other arguments')
    .action(
      async (options: {
        out: string;
        scenes: string;
        seed: string;
        samplesPerScene: string;
        version: string;
        workers?: string;
        force?: boolean;
      }) => {
        const reporter = progressReporter('synth');
        try {
          const result = await generateSyntheticDataset({
            out: options.out,
            scenes: integerOption('--scenes', options.scenes, 1),
            seed: integerOption('--seed', options.seed, 0),
            samplesPerScene: integerOption('--samples-per-scene', options.samplesPerScene, 2),
            version: options.version as SynthVersion,
            workers:
              options.workers === undefined ? undefined : integerOption('--workers', options.workers, 0),
            force: options.force ?? false,
            onProgress: reporter.onProgress,
          });
          reporter.stop();
          if (result.reused) {
            process.stdout.write(
              `${result.dataroot} already holds this dataset (same arguments); nothing to do. Use --force to rewrite it.\n`,
            );
          } else {
            process.stdout.write(
              `wrote ${result.version} with ${result.sceneNames.length} scenes (${result.keyframes} keyframes) to ${result.dataroot} in ${result.seconds.toFixed(1)} s${result.cleaned ? ' (an earlier run there was removed first)' : ''}\n`,
            );
          }
        } finally {
          reporter.stop();
        }
      },
    );
}

/** `spikedrive demo-data`: the embedded demo world, generated into the cache on first use. */
export function registerDemoDataCommand(program: Command): Command {
  return program
    .command('demo-data')
    .description(
      `generate (first time) or locate the demo dataset; prints its dataroot (default ${demoCacheFolder()})`,
    )
    .option('--folder <dir>', 'where to keep the demo instead of the cache folder')
    .option('--workers <n>', 'render threads (default: all cores)')
    .action(async (options: { folder?: string; workers?: string }) => {
      const reporter = progressReporter('demo-data');
      try {
        const demo = await ensureDemoDataset({
          folder: options.folder,
          workers: options.workers === undefined ? undefined : integerOption('--workers', options.workers, 0),
          onProgress: reporter.onProgress,
        });
        reporter.stop();
        if (demo.generated) process.stderr.write(`demo-data: generated the demo (${demo.version})\n`);
        process.stdout.write(`${demo.dataroot}\n`);
      } finally {
        reporter.stop();
      }
    });
}
