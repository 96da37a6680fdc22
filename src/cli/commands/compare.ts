import type { Command } from 'commander';
import { SpikedriveError } from '../../util/index.ts';

const FORMATS = ['table', 'json', 'csv', 'md'] as const;

export interface CompareCommandOptions {
  repeat?: string;
  format: string;
  bootstrap: string;
  seed: string;
  minSamples: string;
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

/** Runs `spikedrive compare`; prints the comparison to stdout. */
export async function runCompareCommand(
  runA: string,
  runB: string,
  options: CompareCommandOptions,
): Promise<void> {
  const { readRunFolder } = await import('../../eval/run-folder.ts');
  const { compareRuns, formatComparison } = await import('../../eval/compare.ts');
  if (!(FORMATS as readonly string[]).includes(options.format)) {
    throw new SpikedriveError(`--format must be one of ${FORMATS.join(', ')}, got '${options.format}'`, {
      subject: '--format',
      fix: 'Use --format table.',
    });
  }
  const [a, b, repeat] = await Promise.all([
    readRunFolder(runA),
    readRunFolder(runB),
    options.repeat ? readRunFolder(options.repeat) : Promise.resolve(undefined),
  ]);
  const comparison = compareRuns(a, b, {
    repeat,
    resamples: integer('--bootstrap', options.bootstrap, 100),
    seed: integer('--seed', options.seed, 0),
    minSamples: integer('--min-samples', options.minSamples, 2),
  });
  process.stdout.write(formatComparison(comparison, options.format as (typeof FORMATS)[number]));
}

/** `spikedrive compare RUN_A RUN_B`: metric, energy and latency deltas with noise-aware verdicts. */
export function registerCompareCommand(program: Command): Command {
  return program
    .command('compare')
    .description(
      'compare two run folders: metric, energy and latency deltas (B − A), a verdict only where the difference exceeds the noise',
    )
    .argument('<runA>', 'the reference run folder')
    .argument('<runB>', 'the run compared with it')
    .option(
      '--repeat <runA2>',
      'RUN_A run again with the same seed: its difference from RUN_A is a noise floor',
    )
    .option('--format <kind>', `output: ${FORMATS.join(', ')}`, 'table')
    .option('--bootstrap <n>', 'bootstrap resamples', '2000')
    .option('--seed <n>', 'seed of the bootstrap', '0')
    .option('--min-samples <n>', 'fewest samples for a better/worse verdict', '10')
    .action(async (runA: string, runB: string, options: CompareCommandOptions) => {
      await runCompareCommand(runA, runB, options);
    });
}
