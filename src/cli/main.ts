import { Command, CommanderError } from 'commander';
import { isSpikedriveError } from '../util/index.ts';
import { registerAppCommand } from './commands/app.ts';
import { registerCompareCommand } from './commands/compare.ts';
import { registerDataCommands } from './commands/data.ts';
import { registerEvalCommand } from './commands/eval.ts';
import { registerInferCommand } from './commands/infer.ts';
import { registerOffloadCommands } from './commands/offload.ts';
import { registerDemoDataCommand } from './commands/synth.ts';
import { registerTrainCommand } from './commands/train.ts';

/** Builds the `spikedrive` command tree. Each command family lives in its own file under commands/. */
export function buildProgram(): Command {
  const program = new Command('spikedrive')
    .description(
      'Spiking Autonomous Driving (SAD) on nuScenes: data, training, evaluation, replay and offload',
    )
    .version('0.1.0')
    // Root options only before a subcommand, so `data info --version v1.0-mini` reaches the subcommand.
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  registerDataCommands(program);
  registerDemoDataCommand(program);
  registerTrainCommand(program);
  registerInferCommand(program);
  registerEvalCommand(program);
  registerCompareCommand(program);
  registerOffloadCommands(program);
  registerAppCommand(program);
  return program;
}

/** Runs the CLI and returns the process exit code. Known user errors print one clear message, no stack. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    // A command that finished with a status (e.g. eval interrupted: 130) sets process.exitCode.
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (isSpikedriveError(error)) {
      console.error(`error: ${error.describe()}`);
      return 1;
    }
    throw error;
  }
}
