import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NuScenes, TABLE_NAMES } from '../../../data-loaders/nuscenes/index.ts';
import { FIXTURE_DATAROOT, fixture, golden, loadFixture } from './helpers.ts';

const raw = (name: string) =>
  JSON.parse(readFileSync(join(FIXTURE_DATAROOT, 'v1.0-mini', `${name}.json`), 'utf8')) as Record<
    string,
    unknown
  >[];

describe('NuScenes loading (fixture laid out like v1.0-mini)', () => {
  it('loads all 13 tables with their row counts', () => {
    const nusc = fixture();
    expect(nusc.tableNames).toEqual([...TABLE_NAMES]);
    for (const name of TABLE_NAMES) expect(nusc.count(name)).toBe(raw(name).length);
    expect(nusc.count('sample_data')).toBe(109);
    expect(nusc.count('sample')).toBe(7);
    expect(nusc.scenes.map((s) => s.name)).toEqual(['scene-0061', 'scene-0103']);
  });

  it('returns every record field for field as in the JSON, plus the derived fields', () => {
    const nusc = fixture();
    for (const name of [
      'sample_data',
      'ego_pose',
      'sample_annotation',
      'scene',
      'calibrated_sensor',
    ] as const) {
      for (const record of raw(name)) {
        const got = nusc.get(name, record.token as string) as unknown as Record<string, unknown>;
        for (const [key, value] of Object.entries(record)) expect(got[key], `${name}.${key}`).toEqual(value);
      }
    }
    // Big tables keep the JSON key order.
    const sd = raw('sample_data')[0];
    expect(Object.keys(nusc.get('sample_data', sd.token as string)).slice(0, 12)).toEqual(Object.keys(sd));
  });

  it('derives category_name, sensor_modality, channel, sample.data/anns and log.map_token as the devkit', () => {
    const nusc = fixture();
    const g = golden().derived;
    for (const [token, expected] of Object.entries(g.sample)) {
      const sample = nusc.get('sample', token);
      expect(sample.data).toEqual(expected.data);
      expect(sample.anns).toEqual(expected.anns);
    }
    for (const [token, name] of Object.entries(g.category_name)) {
      expect(nusc.get('sample_annotation', token).category_name).toBe(name);
    }
    for (const [token, [modality, channel]] of Object.entries(g.sample_data)) {
      const sd = nusc.get('sample_data', token);
      expect([sd.sensor_modality, sd.channel]).toEqual([modality, channel]);
    }
    for (const [token, map] of Object.entries(g.map_token))
      expect(nusc.get('log', token).map_token).toBe(map);
  });

  it('indexes tokens: getind gives the row, getAt the record of a row, has() tells membership', () => {
    const nusc = fixture();
    const rows = raw('ego_pose');
    expect(nusc.getind('ego_pose', rows[5].token as string)).toBe(5);
    expect(nusc.getIndex('ego_pose', rows[5].token as string)).toBe(5);
    expect(nusc.getAt('ego_pose', 5).token).toBe(rows[5].token);
    expect(nusc.has('sample', 'ffffffffffffffffffffffffffffffff')).toBe(false);
    expect(nusc.has('visibility', '3')).toBe(true);
    expect(nusc.get('visibility', '4').level).toBe('v80-100');
  });

  it('field2token scans a field with == (arrays element-wise)', () => {
    const nusc = fixture();
    const onenorth = nusc.field2token('log', 'location', 'singapore-onenorth');
    expect(onenorth).toHaveLength(1);
    expect(nusc.get('log', onenorth[0]).logfile).toBe('n015-2018-07-24-11-22-45+0800');
    const front = nusc.sensors.find((s) => s.channel === 'CAM_FRONT');
    expect(nusc.field2token('calibrated_sensor', 'sensor_token', front?.token)).toHaveLength(2);
    const size = raw('sample_annotation')[0].size;
    expect(nusc.field2token('sample_annotation', 'size', size).length).toBeGreaterThan(0);
    expect(nusc.field2token('sample_data', 'is_key_frame', false)).toHaveLength(25);
  });

  it('streams big tables to the same records as a whole-file parse', async () => {
    const whole = fixture();
    const streamed = loadFixture({ streamThresholdBytes: 0 });
    const asyncStreamed = await NuScenes.load({
      version: 'v1.0-mini',
      dataroot: FIXTURE_DATAROOT,
      verbose: false,
      streamThresholdBytes: 0,
    });
    for (const name of TABLE_NAMES) {
      expect(streamed.all(name)).toEqual(whole.all(name));
      expect(asyncStreamed.all(name)).toEqual(whole.all(name));
    }
  });

  it('prints the devkit-style progress when verbose', () => {
    const lines: string[] = [];
    loadFixture({ verbose: true, log: (line) => lines.push(line) });
    expect(lines[0]).toContain('Loading NuScenes tables for version v1.0-mini');
    expect(lines).toContain('109 sample_data,');
    expect(lines.at(-1)).toMatch(/Done loading and indexing in [\d.]+ seconds/);
  });
});

describe('traversal', () => {
  it('walks a scene first to last sample, with prev/next neighbours', () => {
    const nusc = fixture();
    const scene = nusc.scenes[0];
    const samples = [...nusc.sceneSamples(scene.token)];
    expect(samples).toHaveLength(4);
    expect(samples[0].token).toBe(nusc.firstSample(scene.token).token);
    expect(samples[3].token).toBe(nusc.lastSample(scene.token).token);
    expect(samples[0].timestamp).toBe(1532402927647951);
    expect(nusc.prevSample(samples[0].token)).toBeUndefined();
    expect(nusc.nextSample(samples[0].token)?.token).toBe(samples[1].token);
    expect(nusc.prevSample(samples[2].token)?.token).toBe(samples[1].token);
    expect(nusc.sceneOf(samples[2].token).name).toBe('scene-0061');
    expect(nusc.logOf(scene.token).location).toBe('singapore-onenorth');
  });

  it('follows a sensor chain through sweeps and keyframes, and lists the sweeps between keyframes', () => {
    const nusc = fixture();
    const scene = nusc.scenes[0];
    const [s0, s1] = [...nusc.sceneSamples(scene.token)];
    const lidar0 = s0.data.LIDAR_TOP as string;
    const chain = [...nusc.sampleDataChain(lidar0, { maxCount: 4 })];
    expect(chain.map((sd) => sd.is_key_frame)).toEqual([false, false, true, false]);
    expect(chain[2].token).toBe(s1.data.LIDAR_TOP);
    expect(nusc.nextSampleData(lidar0)?.token).toBe(chain[0].token);
    expect(nusc.prevSampleData(chain[0].token)?.token).toBe(lidar0);
    expect(nusc.prevSampleData(lidar0)).toBeUndefined();

    const before = nusc.sweeps(s1.token, 'LIDAR_TOP');
    expect(before.map((sd) => sd.token)).toEqual([chain[0].token, chain[1].token]);
    // Oldest first, all pointing to the following sample, between the two keyframe times.
    expect(before[0].timestamp).toBeLessThan(before[1].timestamp);
    for (const sd of before) {
      expect(sd.sample_token).toBe(s1.token);
      expect(sd.timestamp).toBeGreaterThan(nusc.get('sample_data', lidar0).timestamp);
    }
    expect(nusc.sweeps(s0.token, 'LIDAR_TOP')).toEqual([]);
    expect(nusc.sweeps(s0.token, 'CAM_FRONT', 'next')).toHaveLength(2);
    expect(nusc.sweeps(s0.token, 'RADAR_FRONT', 'next')).toHaveLength(1);
    expect(nusc.sweeps(s0.token, 'CAM_BACK', 'next')).toHaveLength(0);
  });

  it('finds blob paths and reports missing blobs', () => {
    const nusc = fixture();
    const sd = nusc.firstSample(nusc.scenes[0].token).data.CAM_FRONT as string;
    expect(nusc.getSampleDataPath(sd)).toBe(
      join(
        FIXTURE_DATAROOT,
        'samples/CAM_FRONT/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg',
      ),
    );
    expect(nusc.checkFiles()).toEqual({ checked: 109, missing: [] });
    expect(nusc.checkFiles({ channels: ['CAM_FRONT'], keyFramesOnly: true }).checked).toBe(7);
    expect(() => nusc.assertFilesExist()).not.toThrow();
  });
});

describe('poses and calibration', () => {
  it('gives sensor→ego, ego→global and their composition as 4×4 matrices', () => {
    const nusc = fixture();
    const sd = nusc.firstSample(nusc.scenes[0].token).data.LIDAR_TOP as string;
    const cs = nusc.calibratedSensorOf(sd);
    const pose = nusc.egoPoseOf(sd);
    expect(pose.token).toBe(sd); // real data: one ego_pose per sample_data, same token
    const s2e = nusc.sensorToEgo(sd);
    expect(s2e[0][3]).toBeCloseTo(cs.translation[0], 12);
    expect(s2e[2][3]).toBeCloseTo(cs.translation[2], 12);
    // LIDAR_TOP is yawed about −90°: its +y axis points forward (ego +x).
    expect(s2e[0][1]).toBeCloseTo(1, 2);
    const e2g = nusc.egoToGlobal(sd);
    expect(e2g[0][3]).toBe(pose.translation[0]);
    const s2g = nusc.sensorToGlobal(sd);
    const g2s = nusc.globalToSensor(sd);
    // g2s · s2g = I
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += g2s[i][k] * s2g[k][j];
        expect(v).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
    const e2s = nusc.egoToSensor(sd);
    const g2e = nusc.globalToEgo(sd);
    expect(e2s[3]).toEqual([0, 0, 0, 1]);
    expect(g2e[3]).toEqual([0, 0, 0, 1]);
    expect(nusc.sensorOf(sd).channel).toBe('LIDAR_TOP');
  });
});

describe('legacy map masks', () => {
  it('reads the raster lazily and answers isOnMask in global metres (row 0 = north)', () => {
    const nusc = fixture();
    const log = nusc.get('log', nusc.logs[0].token);
    const mask = nusc.getMapMask(log.token);
    expect(mask).toBe(nusc.getMapMask(log.map_token));
    const { width, height } = mask.baseMask;
    expect([width, height]).toEqual([400, 300]);
    // The fixture raster has a road band |row − 150| < 30, i.e. 12..18 m north of the origin edge.
    expect(mask.isOnMask(1, 15)).toBe(true);
    expect(mask.isOnMask(1, 25)).toBe(false);
    expect(mask.isOnMask(-5, 15)).toBe(false);
    expect(mask.toPixelCoords(1, 15)).toEqual([10, 150]);
    expect(mask.transformMatrix[1]).toEqual([0, -10, 0, 300]);
    // Dilated by 2 m, a point 1.5 m outside the band is on the mask.
    expect(mask.isOnMask(1, 19.5, 2)).toBe(true);
    expect(mask.isOnMask(1, 21.5, 2)).toBe(false);
  });
});
