// The run folder writer/reader: atomic files, the deferred index, resume keeping only checkpointed frames, overwrite
// removing only the run's own files, clear errors for what is not a run; and the summary and report built from it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeHtml, renderReport, writeReport } from '../../../src/eval/report.ts';
import { RunWriter, readFrameBytes, readRunFolder } from '../../../src/eval/run-folder.ts';
import { decodeFrame } from '../../../src/eval/run-format.ts';
import { formatSummary, summarizeRun } from '../../../src/eval/summary.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { fakeRun, manifest, tmpRoot, token } from './fake-run.ts';

const meta = (i: number) => ({
  token: token(i),
  sceneToken: 's',
  sceneName: 'scene-0001',
  timestampUs: i,
  scalars: { l2M: { '1': i } },
});
const frame = { arrays: { selectedIndex: { dtype: 'int32' as const, shape: [1], data: Int32Array.of(7) } } };

describe('RunWriter', () => {
  it('writes frames at once and the index on flush; a reader sees a running run', async () => {
    const dir = join(tmpRoot, 'writer');
    const writer = await RunWriter.create(dir, manifest(), { overwrite: true });
    await writer.addFrame(meta(0), frame, { deferIndex: true });
    await writer.addFrame(meta(1), frame, { deferIndex: true });
    expect(existsSync(join(dir, 'frames', `${token(1)}.sdf`))).toBe(true);
    expect((await readRunFolder(dir)).index).toEqual([]); // not flushed yet
    await writer.flush();
    const run = await readRunFolder(dir);
    expect(run.manifest.status).toBe('running');
    expect(run.index.map((e) => e.index)).toEqual([0, 1]);
    const decoded = decodeFrame(await readFrameBytes(dir, run.index[1]), 'f');
    expect(Array.from(decoded.arrays.get('selectedIndex')?.data ?? [])).toEqual([7]);
    // Re-adding a token replaces its entry in place.
    await writer.addFrame({ ...meta(0), scalars: { l2M: { '1': 9 } } }, frame);
    expect((await readRunFolder(dir)).index.map((e) => e.scalars.l2M?.['1'])).toEqual([9, 1]);
    await writer.complete();
    expect((await readRunFolder(dir)).manifest.status).toBe('complete');
  });

  it('resume keeps only the frames it is told are done; overwrite keeps files that are not the run', async () => {
    const dir = join(tmpRoot, 'resume');
    const writer = await RunWriter.create(dir, manifest(), { overwrite: true });
    for (const i of [0, 1, 2]) await writer.addFrame(meta(i), frame);
    const resumed = await RunWriter.resume(dir, { keep: new Set([token(0), token(2)]) });
    expect(resumed.frames.map((e) => e.token)).toEqual([token(0), token(2)]);
    expect((await readRunFolder(dir)).index.length).toBe(2);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(RunWriter.create(dir, manifest())).rejects.toThrow(/already holds a run/);
    await RunWriter.create(dir, manifest(), { overwrite: true });
    expect(existsSync(join(dir, 'notes.txt'))).toBe(true);
    expect(existsSync(join(dir, 'frames', `${token(1)}.sdf`))).toBe(false);
  });

  it('refuses what is not a run, and runs of another format version', async () => {
    await expect(readRunFolder(join(tmpRoot, 'nope'))).rejects.toThrow(/does not exist/);
    const empty = join(tmpRoot, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(readRunFolder(empty)).rejects.toThrow(/no manifest.json/);
    const future = join(tmpRoot, 'future');
    mkdirSync(future, { recursive: true });
    writeFileSync(join(future, 'manifest.json'), JSON.stringify({ schema: 'spikedrive-run', version: 2 }));
    const error = await readRunFolder(future).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).message).toContain('version 2');
    const writer = await RunWriter.create(join(tmpRoot, 'bad-token'), manifest(), { overwrite: true });
    await expect(writer.addFrame({ ...meta(0), token: '../x' }, frame)).rejects.toThrow(
      /cannot name a frame file/,
    );
  });
});

describe('summary and report', () => {
  const entries = [
    {
      metric: 'iou',
      class: 'vehicle',
      value: 0.35,
      unit: 'fraction',
      convention: 'sad-reference',
      horizonS: 0,
    },
    { metric: 'iou', class: 'lane', value: 0.3, unit: 'fraction', convention: 'sad-reference', horizonS: 0 },
    {
      metric: 'iou',
      class: 'vehicle',
      value: 0.3,
      unit: 'fraction',
      convention: 'sad-reference',
      horizonS: 3,
    },
    {
      metric: 'pq',
      class: 'vehicle',
      value: 0.2,
      unit: 'fraction',
      convention: 'sad-reference',
      horizonS: 3,
    },
    ...[1, 2, 3].flatMap((h) => [
      { metric: 'l2', value: h * 0.5, unit: 'm', convention: 'st-p3', horizonS: h },
      { metric: 'obj_box_col', value: h * 0.01, unit: 'fraction', convention: 'st-p3', horizonS: h },
      { metric: 'l2', value: h * 0.7, unit: 'm', convention: 'uniad', horizonS: h },
    ]),
    { metric: 'planned_samples', value: 2, unit: 'samples', convention: 'spikedrive' },
  ];

  it('prints each section with its convention; formats agree', async () => {
    const run = await fakeRun(
      'summary',
      [
        {
          l2: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
          latencyMs: { perception: 40, prediction: 20, planning: 5, total: 65 },
        },
        {
          l2: [0.2, 0.4, 0.6, 0.8, 1, 1.2],
          latencyMs: { perception: 60, prediction: 30, planning: 5, total: 95 },
        },
        { l2: [], failure: { kind: 'timeout', message: 'did not answer within 10 ms' } },
      ],
      { entries },
    );
    const s = summarizeRun(run);
    expect(s.perception).toEqual([
      { class: 'vehicle', iou: 0.35 },
      { class: 'lane', iou: 0.3 },
    ]);
    expect(s.prediction).toMatchObject({ horizonS: 3, iou: 0.3, pq: 0.2 });
    expect(s.planning.find((p) => p.convention === 'st-p3' && p.horizonS === 2)).toMatchObject({
      l2M: 1,
      objBoxColPct: 2,
    });
    expect(s.latency.find((l) => l.module === 'perception')).toMatchObject({ medianMs: 50, meanMs: 50 });
    expect(s.samples).toMatchObject({ evaluated: 3, planned: 2, failed: 1 });
    const table = formatSummary(s, 'table');
    expect(table).toContain('Perception: BEV IoU, present frame');
    expect(table).toMatch(/IoU \(%\)\s+35\.00\s+30\.00/);
    expect(table).toContain('ST-P3 convention');
    expect(table).toContain('planner failed on 1 sample(s) (1 timeout)');
    expect(table).toContain("frames/s for the model's modules");
    const csv = formatSummary(s, 'csv');
    expect(csv).toContain('planning,l2,,,2,st-p3,1,m');
    expect(csv).toContain('perception,iou,lane,,0,,0.3,fraction');
    expect(formatSummary(s, 'md')).toContain('| L2 (m) | 0.500 | 1.000 | 1.500 |');
    expect(JSON.parse(formatSummary(s, 'json')).planning.length).toBe(6);
  });

  it('report.html: self-contained SVG charts, names escaped, failures listed', async () => {
    const run = await fakeRun('report', [
      { l2: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], energyMj: { perception: 1, prediction: 0.5 } },
      { l2: [], failure: { kind: 'threw', message: 'bad <input> & more' } },
    ]);
    const path = await writeReport(run.dir);
    const html = readFileSync(path, 'utf8');
    expect(html.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    expect(html).toContain('bad &lt;input&gt; &amp; more');
    expect(html).not.toContain('<script');
    expect(escapeHtml(`<a href="x">'`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;');
    const activity = {
      layers: [
        { name: 'encoder.lif', module: 'perception', kind: 'lif', outputSpikes: 25, outputElements: 100 },
        { name: 'encoder.conv', module: 'perception', kind: 'conv2d', outputSpikes: 0, outputElements: 100 },
      ],
      boundaryBits: {},
    } as unknown as Parameters<typeof renderReport>[2];
    const withRates = renderReport(summarizeRun(run), run.index, activity);
    expect(withRates).toContain('encoder.lif (perception): 25.00 %');
    expect(withRates).not.toContain('encoder.conv (perception)');
  });
});
