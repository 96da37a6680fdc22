import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, frameArray, parseRunManifest } from '../../../src/eval/run-format.ts';
import { confusionCounts, RunSession } from '../../../src/viewer/backend/runs.ts';
import { RunWriter, readRunFolder } from '../../../src/viewer/run/folder.ts';
import { MANIFEST } from './_fixtures.ts';

const root = mkdtempSync(join(tmpdir(), 'viewer-runs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('SDF frames', () => {
  it('round-trips every dtype with 8-byte aligned arrays after the padded header', () => {
    const bytes = encodeFrame({
      token: 'tok',
      arrays: {
        segmentation: { dtype: 'uint8', shape: [2, 3], data: Uint8Array.of(0, 255, 1, 2, 3, 4) },
        instances: { dtype: 'int16', shape: [3], data: Int16Array.of(-1, 0, 300) },
        command: { dtype: 'int32', shape: [1], data: Int32Array.of(2) },
        plannedTrajectory: { dtype: 'float32', shape: [1, 3], data: Float32Array.of(0.5, -1.25, 3) },
      },
      layerNames: [],
    });
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('SDF1');
    const headerLength = new DataView(bytes.buffer).getUint32(4, true);
    const payload = Math.ceil((8 + headerLength) / 8) * 8;
    const frame = decodeFrame(bytes, 'x.sdf');
    expect(frame.token).toBe('tok');
    for (const h of frame.header.arrays) expect(h.offset % 8).toBe(0);
    // instances start at offset 8 (6 bytes of segmentation, padded to 8).
    expect(frame.header.arrays[1].offset).toBe(8);
    expect(bytes.length).toBe(payload + 8 + 8 + 8 + 16);
    expect([...frameArray<Int16Array>(frame, 'instances', 'int16')!.data]).toEqual([-1, 0, 300]);
    expect([...frameArray<Float32Array>(frame, 'plannedTrajectory', 'float32')!.data]).toEqual([
      0.5, -1.25, 3,
    ]);
    expect(frameArray(frame, 'missing', 'uint8')).toBeUndefined();
    expect(() => frameArray(frame, 'command', 'float32')).toThrow(/int32, expected float32/);
  });

  it('rejects bad magic, truncation and size mismatches with the file named', () => {
    const good = encodeFrame({
      token: 't',
      arrays: { a: { dtype: 'float32', shape: [4], data: new Float32Array(4) } },
    });
    const bad = good.slice();
    bad[0] = 0x58;
    expect(() => decodeFrame(bad, 'f.sdf')).toThrow(/f\.sdf is not a valid spikedrive frame: magic/);
    expect(() => decodeFrame(good.subarray(0, good.length - 4), 'f.sdf')).toThrow(/runs past the end/);
    expect(() => decodeFrame(new Uint8Array(3), 'f.sdf')).toThrow(/only 3 bytes/);
    expect(() =>
      encodeFrame({ token: 't', arrays: { a: { dtype: 'float32', shape: [5], data: new Float32Array(4) } } }),
    ).toThrow(/4 values but shape \[5\]/);
  });
});

describe('run folders', () => {
  it('refuses other format versions and non-run manifests', () => {
    expect(() => parseRunManifest({ schema: 'spikedrive-run', version: 2 }, 'm.json')).toThrow(
      /version 2; this spikedrive reads version 1/,
    );
    expect(() => parseRunManifest({ schema: 'other' }, 'm.json')).toThrow(/not a spikedrive run manifest/);
  });

  it('writes frames and the index as it goes, marks complete last, and a reader sees a running run', async () => {
    const dir = join(root, 'run1');
    const writer = await RunWriter.create(dir, MANIFEST);
    let run = await readRunFolder(dir);
    expect(run.manifest.status).toBe('running');
    expect(run.index).toEqual([]);
    const seg = Uint8Array.from({ length: 32 }, (_, i) => (i % 3 === 0 ? 255 : 0));
    const gt = Uint8Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? 1 : 0));
    await writer.addFrame(
      { token: 't1', sceneToken: 's', sceneName: 'scene-1', timestampUs: 1, scalars: { l2M: { '1': 0.5 } } },
      {
        arrays: {
          segmentation: { dtype: 'uint8', shape: [2, 4, 4], data: seg },
          gtSegmentation: { dtype: 'uint8', shape: [2, 4, 4], data: gt },
          firingRates: { dtype: 'float32', shape: [2], data: Float32Array.of(0.1, 0.3) },
          energyJ: { dtype: 'float32', shape: [2], data: Float32Array.of(1e-3, 3e-3) },
        },
        layerNames: ['encoder.a', 'decoder.b'],
        layerModules: ['perception', 'prediction'],
      },
    );
    run = await readRunFolder(dir);
    expect(run.index.map((e) => e.token)).toEqual(['t1']);
    await writer.complete();
    expect((await readRunFolder(dir)).manifest.status).toBe('complete');
    await expect(
      writer.addFrame(
        { token: '../x', sceneToken: '', sceneName: '', timestampUs: 0, scalars: {} },
        { arrays: {} },
      ),
    ).rejects.toThrow(/cannot name a frame file/);

    const session = await RunSession.open('run-1', dir);
    // By hand: pred = i % 3 == 0, gt = i even, over 32 cells: tp = multiples of 6 (6), fp = 11 − 6 = 5, fn = 16 − 6 = 10.
    expect(confusionCounts(seg, gt)).toEqual([6, 5, 10]);
    const series = await session.series();
    expect(series.iouCounts.vehicle).toEqual([[6, 5, 10]]);
    const energy = await session.frameEnergy('t1', 'cmos-45nm');
    expect(energy.source).toBe('stored');
    expect(energy.totalJ).toBeCloseTo(4e-3, 9);
    expect(energy.modules.map((m) => m.module)).toEqual(['perception', 'prediction']);
    await expect(session.frameEnergy('t1', 'loihi2')).rejects.toThrow(/stores energy under "cmos-45nm" only/);
    await expect(session.frameBytes('nope')).rejects.toThrow(/has no frame for sample nope/);
  });

  it('names a damaged index', async () => {
    const dir = join(root, 'run2');
    await RunWriter.create(dir, MANIFEST);
    writeFileSync(join(dir, 'frames', 'index.json'), '[{"token": 1}]');
    await expect(readRunFolder(dir)).rejects.toThrow(/index\.json is not a valid run file/);
  });
});
