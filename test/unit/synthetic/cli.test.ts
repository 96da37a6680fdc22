// `spikedrive data synth` and `demo-data` are wired into the CLI and turn bad options into one clear message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../../../src/cli/index.ts';

const root = mkdtempSync(join(tmpdir(), 'spikedrive-synth-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  const errors: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((...parts: unknown[]) => {
    errors.push(parts.join(' '));
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(['node', 'spikedrive', ...args]);
    return { code, stderr: errors.join('\n') };
  } finally {
    spy.mockRestore();
    stderr.mockRestore();
  }
}

describe('synthetic data commands', () => {
  it('registers data synth and demo-data', () => {
    const program = buildProgram();
    const data = program.commands.find((c) => c.name() === 'data')!;
    expect(data.commands.map((c) => c.name())).toContain('synth');
    expect(program.commands.map((c) => c.name())).toContain('demo-data');
  });

  it('explains a bad scene count, a non-number and an unknown release', async () => {
    const tooMany = await run('data', 'synth', '--out', join(root, 'a'), '--scenes', '11');
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toMatch(/v1.0-mini can hold 1 to 10 synthetic scenes, not 11/);
    expect(tooMany.stderr).toMatch(/--version v1.0-trainval/);
    const word = await run('data', 'synth', '--out', join(root, 'a'), '--seed', 'abc');
    expect(word.code).toBe(1);
    expect(word.stderr).toMatch(/--seed must be an integer/);
    const test = await run('data', 'synth', '--out', join(root, 'a'), '--version', 'v1.0-test');
    expect(test.code).toBe(1);
    expect(test.stderr).toMatch(/v1.0-test has no annotations/);
  });
});
