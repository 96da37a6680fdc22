// The shipped checkpoint loads and reproduces the README's smoke-check numbers: a one-scene synthetic world made
// with the README's command, evaluated with the shipped model, gives the drivable-area IoU, vehicle IoU and
// planning L2 the README prints (to the README's two decimals; a JS-kernel fallback may move the last digit).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '../../data-loaders/synthetic/index.ts';
import type { EvaluationSummary } from '../../src/eval/index.ts';
import { shippedModelPath } from '../../src/pipeline/index.ts';
import { runCli } from './_cli.ts';

const root = mkdtempSync(join(tmpdir(), 'spikedrive-shipped-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface SmokeNumbers {
  scenes: number;
  seed: number;
  samplesPerScene: number;
  drivableIou: number;
  vehicleIou: number;
  l2At3s: number;
}

/** The smoke-check line of the README: its command's arguments and the numbers it states. */
function readmeSmokeNumbers(): SmokeNumbers {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith('Smoke check'));
  if (!line) throw new Error('README.md has no "Smoke check" line');
  const num = (re: RegExp) => {
    const m = re.exec(line);
    if (!m) throw new Error(`README smoke-check line lacks ${re}: ${line}`);
    return Number(m[1]);
  };
  return {
    scenes: num(/--scenes (\d+)/),
    seed: num(/--seed (\d+)/),
    samplesPerScene: num(/--samples-per-scene (\d+)/),
    drivableIou: num(/drivable-area IoU \*\*([0-9.]+)\*\*/),
    vehicleIou: num(/vehicle IoU \*\*([0-9.]+)\*\*/),
    l2At3s: num(/L2@3s \*\*([0-9.]+) m\*\*/),
  };
}

async function evalJson(args: string[]): Promise<EvaluationSummary> {
  const { code, out, err } = await runCli(['eval', ...args, '--format', 'json', '--no-progress']);
  expect(code, err).toBe(0);
  return JSON.parse(out) as EvaluationSummary;
}

describe('the shipped model', () => {
  it('is in the repository, at most 25 MB, with its JSON', () => {
    const path = shippedModelPath();
    expect(readFileSync(path).length).toBeLessThanOrEqual(25 * 1024 * 1024);
    expect(existsSync(path.replace(/\.safetensors$/, '.json'))).toBe(true);
  });

  it('reproduces the README smoke check', { timeout: 240_000 }, async () => {
    const smoke = readmeSmokeNumbers();
    const dataroot = join(root, 'world');
    await generateSyntheticDataset({
      out: dataroot,
      scenes: smoke.scenes,
      seed: smoke.seed,
      samplesPerScene: smoke.samplesPerScene,
      version: 'v1.0-mini',
    });
    const summary = await evalJson(['--dataroot', dataroot, '--split', 'train', '--out', join(root, 'run')]);
    const iou = (name: string) => summary.perception.find((p) => p.class === name)?.iou ?? Number.NaN;
    const l2 = summary.planning.find((p) => p.convention === 'st-p3' && p.horizonS === 3)?.l2M ?? Number.NaN;
    expect(Math.abs(iou('drivable') - smoke.drivableIou)).toBeLessThanOrEqual(0.011);
    expect(Math.abs(iou('vehicle') - smoke.vehicleIou)).toBeLessThanOrEqual(0.011);
    expect(Math.abs(l2 - smoke.l2At3s)).toBeLessThanOrEqual(0.011);
  });
});
