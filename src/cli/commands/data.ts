import type { Command } from 'commander';

/** `spikedrive data …`: inspect, generate and render nuScenes-format datasets. */
export function registerDataCommands(program: Command): Command {
  const data = program.command('data').description('inspect, generate and render nuScenes-format datasets');
  return data;
}
