// `spikedrive eval` and `spikedrive compare` as a user runs them: output formats on stdout, a complete run shown
// again without recomputing, comparison of two runs, and clear errors for bad options.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './_cli.ts';
import { type EvalWorld, evalWorld } from './eval-world.ts';

const root = mkdtempSync(join(tmpdir(), 'spikedrive-eval-cli-'));
let world: EvalWorld;

beforeAll(async () => {
  world = await evalWorld();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const gt = (out: string, planner: string) => [
  'eval',
  '--dataroot',
  world.dataroot,
  '--split',
  'val',
  '--inputs',
  'ground-truth',
  '--planner',
  planner,
  '--out',
  join(root, out),
  '--workers',
  '0',
  '--no-progress',
];

describe('spikedrive eval', () => {
  it('--format json prints the summary; running it again shows the complete run', async () => {
    const first = await runCli([...gt('cv', 'constant-velocity'), '--format', 'json']);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.out);
    expect(summary.run).toMatchObject({ inputs: 'ground-truth', planner: { name: 'constant-velocity' } });
    expect(summary.samples.evaluated).toBe(6);
    expect(summary.planning.length).toBe(6);
    expect(
      summary.rows.find(
        (r: { metric: string; horizonS: number; convention: string }) =>
          r.metric === 'l2' && r.horizonS === 3 && r.convention === 'st-p3',
      ).value,
    ).toBe(summary.planning.find((p: { horizonS: number }) => p.horizonS === 3).l2M);
    const again = await runCli([...gt('cv', 'constant-velocity'), '--format', 'csv']);
    expect(again.err).toContain('already complete');
    expect(again.out.split('\n')[0]).toBe('section,metric,class,module,horizon_s,convention,value,unit');
    const md = await runCli([...gt('cv', 'constant-velocity'), '--format', 'md']);
    expect(md.out).toContain('| L2 (m) |');
    const table = await runCli(gt('cv', 'constant-velocity'));
    expect(table.out).toContain('Planning, ST-P3 convention');
    expect(table.err).toContain('report.html');
  });

  it('compare prints deltas and verdicts for two runs', async () => {
    expect((await runCli([...gt('expert', 'expert'), '--format', 'json'])).code).toBe(0);
    const { code, out } = await runCli([
      'compare',
      join(root, 'cv'),
      join(root, 'expert'),
      '--format',
      'csv',
    ]);
    expect(code).toBe(0);
    const l2 = out.split('\n').find((l) => l.startsWith('planning,l2,,,3,st-p3,m,'));
    expect(l2?.split(',')[8]).toBe('0'); // the expert's L2
    expect(l2?.endsWith('too few samples')).toBe(true); // 6 shared samples < 10
  });

  it('bad options are one clear message each', async () => {
    const format = await runCli([...gt('x', 'expert'), '--format', 'xml']);
    expect(format.code).toBe(1);
    expect(format.err).toContain('--format must be one of table, json, csv, md');
    const both = join(root, 't.json');
    writeFileSync(both, '{}');
    const conflict = await runCli([...gt('y', 'expert'), '--trajectories', both]);
    expect(conflict.err).toContain('--planner has nothing to do');
    const option = await runCli([...gt('z', 'expert'), '--planner-option', 'oops']);
    expect(option.err).toContain("--planner-option 'oops' is not KEY=VALUE");
    const missing = await runCli(['eval', '--dataroot', join(root, 'nowhere'), '--out', join(root, 'w')]);
    expect(missing.err).toContain('does not exist');
    const unknown = await runCli([...gt('u', 'best')]);
    expect(unknown.err).toContain('Unknown planner "best"');
    const notRun = await runCli(['compare', root, join(root, 'cv')]);
    expect(notRun.err).toContain('is not a run folder');
  });
});
