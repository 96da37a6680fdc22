import type { Command } from 'commander';
import { startApp } from '../../viewer/app.ts';

/** `spikedrive app [folders…]` (also `npm start`): the replay app, Electron or browser mode. */
export function registerAppCommand(program: Command): Command {
  return program
    .command('app')
    .description(
      'open the replay app: Electron where installed, else the same UI in your browser (localhost)',
    )
    .argument('[folders...]', 'dataset roots or run folders to open (a folder with manifest.json is a run)')
    .option('--browser', 'browser mode even where Electron is installed')
    .option('--port <n>', 'browser mode: port on 127.0.0.1 (default: any free port)')
    .option('--no-open', 'browser mode: print the URL without opening a browser')
    .option('--no-demo', 'do not open the demo world when no folder is given')
    .option('--no-preferences', 'do not read or write the preferences file')
    .option(
      '--checkpoint <file>',
      'model for live compute and the demo’s model run (default: models/sad-cpu-small.safetensors)',
    )
    .option(
      '--offload <module=backend>',
      'model runs offload a module, as infer --offload: perception=nir-sim, prediction=ws://HOST:PORT (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--offload-fallback <mode>', 'when an offload device fails: error (default) or host')
    .action(
      async (
        folders: string[],
        options: {
          browser?: boolean;
          port?: string;
          open: boolean;
          demo: boolean;
          preferences: boolean;
          checkpoint?: string;
          offload?: string[];
          offloadFallback?: string;
        },
      ) => {
        const { SpikedriveError } = await import('../../util/index.ts');
        const { parseOffloadSpecs } = await import('../../offload/runtime.ts');
        parseOffloadSpecs(options.offload ?? []);
        const fallback = options.offloadFallback;
        if (fallback !== undefined && fallback !== 'error' && fallback !== 'host') {
          throw new SpikedriveError(`--offload-fallback must be error or host, got '${fallback}'`, {
            subject: '--offload-fallback',
            fix: 'Use --offload-fallback host to recompute failed device calls on the host.',
          });
        }
        if (options.checkpoint) {
          const { checkModelCheckpoint } = await import('../../viewer/backend/model-job.ts');
          checkModelCheckpoint(options.checkpoint);
        }
        const { existsSync } = await import('node:fs');
        const { join } = await import('node:path');
        const runs = folders.filter((f) => existsSync(join(f, 'manifest.json')));
        const datasets = folders.filter((f) => !runs.includes(f));
        const app = await startApp({
          datasets,
          runs,
          browser: options.browser === true,
          port: options.port === undefined ? undefined : Number(options.port),
          open: options.open,
          demo: options.demo,
          preferencesPath: options.preferences ? undefined : null,
          checkpoint: options.checkpoint ?? null,
          offload: options.offload ?? [],
          offloadFallback: fallback,
        });
        if (app.mode === 'browser') {
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
          await app.close();
          // A first start's demo world may still be generating (render threads): Ctrl-C stops it too (the next
          // start takes over its half-written folder).
          process.exit(0);
        }
      },
    );
}
