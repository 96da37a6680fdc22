import type { Command } from 'commander';
import { formatSummary, NuScenes, summarizeDataset } from '../../../data-loaders/nuscenes/index.ts';

/** `spikedrive data info --dataroot DIR --version V [--json]`: what a nuScenes-format dataset holds. */
export function registerDataInfoCommand(data: Command): Command {
  return data
    .command('info')
    .description(
      'summarise a nuScenes-format dataset: scenes, samples, annotations per category, maps, CAN bus',
    )
    .requiredOption('--dataroot <dir>', 'dataset root (holds v1.0-*/, samples/, sweeps/, maps/)')
    .option('--version <name>', 'release folder: v1.0-mini, v1.0-trainval or v1.0-test', 'v1.0-mini')
    .option('--json', 'print the summary as JSON')
    .action(async (options: { dataroot: string; version: string; json?: boolean }) => {
      // Big releases take a while: report each table on stderr so stdout stays clean for --json.
      const nusc = await NuScenes.load({
        dataroot: options.dataroot,
        version: options.version,
        verbose: false,
        onTable: (name, rows, seconds) => {
          if (seconds > 1) process.stderr.write(`loaded ${name}: ${rows} rows in ${seconds.toFixed(1)} s\n`);
        },
      });
      const summary = summarizeDataset(nusc);
      process.stdout.write(
        options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`,
      );
    });
}
