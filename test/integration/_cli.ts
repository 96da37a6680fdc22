// Runs `spikedrive ARGS…` in this process as a user would, capturing stdout, stderr and the exit status.
import { vi } from 'vitest';
import { main } from '../../src/cli/main.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    err += `${parts.join(' ')}\n`;
  });
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'spikedrive', ...args]);
    return { code: code || Number(process.exitCode ?? 0), out, err };
  } finally {
    process.exitCode = undefined;
    vi.restoreAllMocks();
  }
}
