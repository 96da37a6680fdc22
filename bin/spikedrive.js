#!/usr/bin/env node
// Entry point of the `spikedrive` command. The sources are TypeScript run through tsx, so a
// fresh clone needs no build step; tsx's loader is registered before the CLI is imported.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
