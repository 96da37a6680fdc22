import type { Command } from 'commander';
import { registerDataInfoCommand } from './data-info.ts';
import { registerRenderCommand } from './render.ts';
import { registerSynthCommand } from './synth.ts';

/** `spikedrive data …`: inspect, generate and render nuScenes-format datasets. */
export function registerDataCommands(program: Command): Command {
  const data = program.command('data').description('inspect, generate and render nuScenes-format datasets');
  registerDataInfoCommand(data);
  registerRenderCommand(data);
  registerSynthCommand(data);
  return data;
}
