// Builds small run folders with chosen per-sample numbers (no dataset, no model), for the tests of compare, the
// summary and the report.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type NewRunManifest,
  type RunFolder,
  RunWriter,
  readRunFolder,
} from '../../../src/eval/run-folder.ts';
import type { FrameScalars, MetricEntry } from '../../../src/eval/run-format.ts';

export const tmpRoot = mkdtempSync(join(tmpdir(), 'spikedrive-eval-run-'));

export function manifest(overrides: Partial<NewRunManifest> = {}): NewRunManifest {
  return {
    label: 'fake',
    spikedrive: { version: '0.1.0' },
    config: {},
    configHash: 'abc',
    seed: 0,
    backend: { name: 'cpu', version: '4.22.0', threads: 1 },
    dataset: { dataroot: '/data', version: 'v1.0-mini', split: 'val', sampleTokens: [] },
    checkpoint: null,
    planner: { name: 'fake', source: 'builtin', apiVersion: 1 },
    energyProfile: 'none',
    bev: { xBound: [-50, 50, 0.5], yBound: [-50, 50, 0.5], rows: 200, cols: 200 },
    nFuture: 6,
    receptiveField: 3,
    ...overrides,
  };
}

export interface FakeSample {
  /** Per-step L2 (m); the collision flags are all 0 unless given. */
  l2: number[];
  objBoxCol?: number[];
  latencyMs?: Record<string, number>;
  energyMj?: Record<string, number>;
  counts?: Record<string, number[]>;
  failure?: { kind: string; message: string };
}

export const token = (i: number) => `${i.toString(16).padStart(4, '0')}${'0'.repeat(28)}`;

/** A complete run folder whose frames carry exactly these per-sample numbers. */
export async function fakeRun(
  name: string,
  samples: FakeSample[],
  options: { manifest?: Partial<NewRunManifest>; entries?: MetricEntry[] } = {},
): Promise<RunFolder> {
  const dir = join(tmpRoot, name);
  const writer = await RunWriter.create(
    dir,
    manifest({
      ...options.manifest,
      dataset: {
        dataroot: '/data',
        version: 'v1.0-mini',
        split: 'val',
        sampleTokens: samples.map((_, i) => token(i)),
      },
    }),
    { overwrite: true },
  );
  for (const [i, s] of samples.entries()) {
    const scalars: FrameScalars & Record<string, unknown> = {
      latencyMs: s.latencyMs ?? { planning: 1, total: 1 },
      timingMs: { sample: 100 },
    };
    if (s.failure) scalars.plannerFailure = s.failure;
    else {
      const box = s.objBoxCol ?? s.l2.map(() => 0);
      scalars.perStep = { l2M: s.l2, objCol: s.l2.map(() => 0), objBoxCol: box, gtBoxCol: s.l2.map(() => 0) };
      scalars.l2M = { '3': s.l2.reduce((a, b) => a + b, 0) / s.l2.length };
    }
    if (s.energyMj) scalars.energyMj = s.energyMj;
    if (s.counts) scalars.counts = s.counts;
    await writer.addFrame(
      { token: token(i), sceneToken: 's', sceneName: 'scene-0001', timestampUs: i * 500_000, scalars },
      { arrays: { command: { dtype: 'int32', shape: [1], data: Int32Array.of(1) } } },
      { deferIndex: true },
    );
  }
  if (options.entries) {
    await writer.writeMetrics({
      schema: 'spikedrive-metrics',
      version: 1,
      samples: samples.length,
      entries: options.entries,
    });
  }
  await writer.complete();
  return readRunFolder(dir);
}
