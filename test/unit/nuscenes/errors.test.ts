import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NuScenes } from '../../../data-loaders/nuscenes/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { FIXTURE_DATAROOT, fixture, scratchDataroot } from './helpers.ts';

/** Runs `fn`, expects a SpikedriveError, returns it. */
function spikedriveError(fn: () => unknown): SpikedriveError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SpikedriveError);
    return error as SpikedriveError;
  }
  throw new Error('expected a SpikedriveError');
}

let scratch: ReturnType<typeof scratchDataroot> | undefined;
afterEach(() => {
  scratch?.cleanup();
  scratch = undefined;
});
function open(streamThresholdBytes?: number): NuScenes {
  return new NuScenes({
    version: 'v1.0-mini',
    dataroot: (scratch as ReturnType<typeof scratchDataroot>).dataroot,
    verbose: false,
    streamThresholdBytes,
  });
}

describe('bad input gives a SpikedriveError naming the thing and the fix', () => {
  it('a missing dataroot', () => {
    const e = spikedriveError(() => new NuScenes({ dataroot: '/nonexistent/nuscenes', verbose: false }));
    expect(e.message).toContain('/nonexistent/nuscenes');
    expect(e.fix).toContain('--dataroot');
  });

  it('a wrong version lists the valid releases and the folders that exist', () => {
    const e = spikedriveError(
      () => new NuScenes({ dataroot: FIXTURE_DATAROOT, version: 'v1.0-trainval', verbose: false }),
    );
    expect(e.message).toContain('Database version not found');
    expect(e.message).toContain('Version folders in');
    expect(e.message).toContain('v1.0-mini');
    expect(e.fix).toBe('Use --version v1.0-mini.');
    const typo = spikedriveError(
      () => new NuScenes({ dataroot: FIXTURE_DATAROOT, version: 'v1-mini', verbose: false }),
    );
    expect(typo.message).toContain(
      '"v1-mini" is not a nuScenes release: v1.0-mini, v1.0-trainval, v1.0-test',
    );
  });

  it('a missing table', () => {
    scratch = scratchDataroot();
    rmSync(join(scratch.dataroot, 'v1.0-mini', 'visibility.json'));
    rmSync(join(scratch.dataroot, 'v1.0-mini', 'map.json'));
    const e = spikedriveError(() => open());
    expect(e.message).toContain('lacks 2 tables: visibility.json, map.json');
    expect(e.fix).toContain('All 13 tables');
  });

  it('malformed JSON names the file, line and column (whole-file and streamed)', () => {
    scratch = scratchDataroot();
    const text = JSON.stringify(scratch.table('sample_data'), null, 1).replace(/^ +/gm, '');
    const lines = text.split('\n');
    // Drop the comma after the 3rd field of the 2nd record (line 17 of the file).
    lines[16] = lines[16].replace(/,$/, '');
    scratch.writeRaw('sample_data', lines.join('\n'));
    for (const threshold of [undefined, 0]) {
      const e = spikedriveError(() => open(threshold));
      expect(e.message).toMatch(/^v1\.0-mini\/sample_data\.json is not valid JSON at line 18, column 1/);
      expect(e.fix).toContain('JSON array of objects');
    }
    scratch.writeRaw('sample', '{"token": "x"}');
    expect(spikedriveError(() => open()).message).toContain('the top level is object, not an array');
    scratch.writeRaw('sample', '');
    expect(spikedriveError(() => open()).message).toContain(
      'sample.json is not valid JSON at line 1, column 1: the file is empty',
    );
    scratch.writeRaw('sample', '[{"token": "a"},');
    expect(spikedriveError(() => open(0)).message).toContain('unexpected end of file');
  });

  it('a dangling token names the table, record, field and missing target', () => {
    scratch = scratchDataroot();
    const rows = scratch.table('sample_annotation');
    const bad = rows[3];
    bad.instance_token = 'deadbeefdeadbeefdeadbeefdeadbeef';
    scratch.write('sample_annotation', rows);
    const e = spikedriveError(() => open());
    expect(e.message).toBe(
      `v1.0-mini/sample_annotation.json: record ${bad.token} has instance_token = "deadbeefdeadbeefdeadbeefdeadbeef", but v1.0-mini/instance.json has no record with that token`,
    );
    expect(e.fix).toContain('re-download or regenerate');
  });

  it('dangling links inside a big table (next) and in small tables (scene.first_sample_token)', () => {
    scratch = scratchDataroot();
    const sd = scratch.table('sample_data');
    sd[0].next = '0123456789abcdef0123456789abcdef';
    scratch.write('sample_data', sd);
    expect(spikedriveError(() => open()).message).toContain(
      `sample_data.json: record ${sd[0].token} has next = "0123456789abcdef0123456789abcdef", but v1.0-mini/sample_data.json has no record`,
    );
    scratch.cleanup();
    scratch = scratchDataroot();
    const scenes = scratch.table('scene');
    scenes[1].first_sample_token = 'nope';
    scratch.write('scene', scenes);
    expect(spikedriveError(() => open()).message).toContain(
      'has first_sample_token = "nope", but v1.0-mini/sample.json',
    );
  });

  it('a field of the wrong type, a duplicate token', () => {
    scratch = scratchDataroot();
    const poses = scratch.table('ego_pose');
    poses[2].translation = [1, 2];
    scratch.write('ego_pose', poses);
    expect(spikedriveError(() => open()).message).toBe(
      `v1.0-mini/ego_pose.json: record ${poses[2].token} has translation = [1,2]; expected a list of 3 numbers`,
    );
    scratch.cleanup();
    scratch = scratchDataroot();
    const samples = scratch.table('sample');
    samples.push({ ...samples[0] });
    scratch.write('sample', samples);
    expect(spikedriveError(() => open()).message).toContain(
      `token ${samples[0].token} appears twice (records #0 and #7)`,
    );
  });

  it('the map table: empty, a log not covered, a missing PNG', () => {
    scratch = scratchDataroot();
    scratch.write('map', []);
    expect(spikedriveError(() => open()).message).toContain('map.json is empty');
    scratch.cleanup();
    scratch = scratchDataroot();
    const maps = scratch.table('map');
    maps[0].log_tokens = [];
    scratch.write('map', maps);
    const e = spikedriveError(() => open());
    expect(e.message).toContain(
      "(n015-2018-07-24-11-22-45+0800, singapore-onenorth) is not listed in any map record's log_tokens",
    );
    scratch.cleanup();
    scratch = scratchDataroot();
    rmSync(join(scratch.dataroot, 'maps', '36092f0b03a857c6a3403e25b4b7aab3.png'));
    expect(spikedriveError(() => open()).message).toContain(
      '36092f0b03a857c6a3403e25b4b7aab3.png does not exist',
    );
    expect(
      spikedriveError(() => new NuScenes({ dataroot: FIXTURE_DATAROOT, verbose: false, mapResolution: 0.05 }))
        .fix,
    ).toContain('at least 0.1');
  });

  it('lidarseg: categories need an index and the label folder must hold one file per record', () => {
    scratch = scratchDataroot();
    const lidar = scratch
      .table('sample_data')
      .filter((sd) => sd.is_key_frame && String(sd.filename).includes('LIDAR_TOP'));
    const records = lidar.slice(0, 2).map((sd, i) => ({
      token: `${i}`.repeat(32),
      sample_data_token: sd.token,
      filename: `lidarseg/v1.0-mini/${sd.token}_lidarseg.bin`,
    }));
    scratch.write('lidarseg', records);
    expect(spikedriveError(() => open()).message).toContain('there are 0 label files in');
    const folder = join(scratch.dataroot, 'lidarseg', 'v1.0-mini');
    mkdirSync(folder, { recursive: true });
    for (const r of records) writeFileSync(join(scratch.dataroot, r.filename), Buffer.alloc(4));
    const nusc = open();
    expect(nusc.tableNames.at(-1)).toBe('lidarseg');
    expect(nusc.get('lidarseg', records[1].token).sample_data_token).toBe(records[1].sample_data_token);
    const categories = scratch.table('category');
    delete categories[4].index;
    scratch.write('category', categories);
    expect(spikedriveError(() => open()).fix).toContain('category.json that comes with nuScenes-lidarseg');
  });

  it('unknown tokens and tables at query time', () => {
    const nusc = fixture();
    const e = spikedriveError(() => nusc.get('sample', 'not-a-token'));
    expect(e.message).toBe('sample has no record with token "not-a-token"');
    expect(spikedriveError(() => nusc.get('lidarseg', 'x')).message).toBe('Table lidarseg not found');
    expect(spikedriveError(() => nusc.field2token('scene', 'nmae', 'x')).fix).toContain('name');
    expect(
      spikedriveError(() => nusc.sweeps(nusc.samples[0].token, 'CAM_FRONT_ZOOM' as 'CAM_FRONT')).message,
    ).toContain('has no CAM_FRONT_ZOOM keyframe');
  });

  it('a missing blob: getSampleDataPath checks, checkFiles lists, assertFilesExist throws', () => {
    scratch = scratchDataroot();
    const nusc = open();
    const sd = nusc.samples[0];
    const cam = nusc.get('sample', sd.token).data.CAM_FRONT as string;
    const e = spikedriveError(() => nusc.getSampleDataPath(cam));
    expect(e.message).toContain('is missing from');
    expect(e.fix).toContain('samples/ and sweeps/');
    expect(nusc.getSampleDataPath(cam, { check: false })).toContain('CAM_FRONT');
    // getSampleData works on metadata alone, as the devkit's.
    expect(nusc.getSampleData(cam).boxes.length).toBeGreaterThan(0);
    expect(nusc.checkFiles({ limit: 3 }).missing).toHaveLength(3);
    expect(spikedriveError(() => nusc.assertFilesExist()).message).toContain('more than 5 of');
  });

  it('a camera calibration without a 3×3 intrinsic', () => {
    scratch = scratchDataroot();
    const cs = scratch.table('calibrated_sensor');
    cs[0].camera_intrinsic = [];
    scratch.write('calibrated_sensor', cs);
    const nusc = open();
    const sd = nusc.get('sample', nusc.samples[0].token).data.CAM_FRONT as string;
    expect(spikedriveError(() => nusc.getSampleData(sd)).message).toContain('a camera needs a 3×3 matrix');
  });
});
