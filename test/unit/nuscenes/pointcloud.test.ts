import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Box, pointsInBox, Quaternion } from '../../../data-loaders/nuscenes/geometry/index.ts';
import { NuScenes } from '../../../data-loaders/nuscenes/nuscenes.ts';
import {
  encodeLidarPcdBin,
  encodePcd,
  encodeRadarPcd,
  LidarPointCloud,
  parsePcd,
  RADAR_PCD_FIELDS,
  RADAR_ROW,
  RadarPointCloud,
  type SweepSource,
} from '../../../data-loaders/nuscenes/pointcloud/index.ts';
import {
  type CalibratedSensor,
  type EgoPose,
  RADAR_CHANNELS,
  type SampleData,
  type TableRecords,
} from '../../../data-loaders/nuscenes/types.ts';
import { createRng, SpikedriveError } from '../../../src/util/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const fixtureDir = join(here, '..', '..', 'fixtures', 'pointcloud');
const tmp = mkdtempSync(join(tmpdir(), 'pointcloud-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => RadarPointCloud.defaultFilters());

function write(name: string, bytes: Uint8Array | string): string {
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

const rowsOf = (pc: { points: Float32Array[] }) => pc.points.map((row) => [...row]);

function expectRowsClose(actual: Float32Array[], expected: number[][], digits = 5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, r) => {
    expect(row.length).toBe(expected[r].length);
    row.forEach((v, i) => {
      if (Number.isNaN(expected[r][i])) expect(v).toBeNaN();
      else expect(v).toBeCloseTo(expected[r][i], digits);
    });
  });
}

describe('LidarPointCloud.fromFile (.pcd.bin, float32 × 5, 4 rows kept)', () => {
  it('reads x, y, z, intensity and drops the ring index', async () => {
    // Three points written by hand, little-endian float32: (x, y, z, intensity, ring).
    const values = [1.5, -2.25, 0.5, 17, 3, 10, 20, -1, 255, 31, -0.125, 0, 2, 0, 0];
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => {
      view.setFloat32(i * 4, v, true);
    });
    const pc = await LidarPointCloud.fromFile(write('three.pcd.bin', bytes));
    expect(pc.nbrDims()).toBe(4);
    expect(pc.nbrPoints()).toBe(3);
    expect(rowsOf(pc)).toEqual([
      [1.5, 10, -0.125],
      [-2.25, 20, 0],
      [0.5, -1, 2],
      [17, 255, 0],
    ]);
    expect(pc.points[0]).toBeInstanceOf(Float32Array);
    expect(rowsOf(LidarPointCloud.fromFileSync(join(tmp, 'three.pcd.bin')))).toEqual(rowsOf(pc));
  });

  it('reads a buffer at any byte offset (Node pools small files unaligned)', () => {
    const file = encodeLidarPcdBin([[1], [2], [3], [4], [5]]);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    expect(rowsOf(LidarPointCloud.fromBuffer(shifted.subarray(1)))).toEqual([[1], [2], [3], [4]]);
  });

  it('refuses a file that is not whole points, a wrong extension and a missing file', async () => {
    const truncated = write('cut.pcd.bin', new Uint8Array(42));
    await expect(LidarPointCloud.fromFile(truncated)).rejects.toThrow(
      /42 bytes is not a whole number of lidar points/,
    );
    await expect(LidarPointCloud.fromFile(join(tmp, 'scan.pcd'))).rejects.toThrow(/Unsupported filetype/);
    const missing = join(tmp, 'samples', 'LIDAR_TOP', 'gone.pcd.bin');
    const error = await LidarPointCloud.fromFile(missing).catch((e: unknown) => e as SpikedriveError);
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).message).toBe(`Point cloud file not found: ${missing}`);
    expect((error as SpikedriveError).fix).toMatch(/dataroot/);
  });

  it('matches the devkit on the fixture sweep', async () => {
    const golden = JSON.parse(readFileSync(join(fixtureDir, 'golden.json'), 'utf8')) as {
      lidar_from_file: number[][];
    };
    const tables = JSON.parse(readFileSync(join(fixtureDir, 'tables.json'), 'utf8')) as FixtureTables;
    const sd = tables.sample_data.find((s) => s.token === tables.sample.data.LIDAR_TOP);
    const pc = await LidarPointCloud.fromFile(join(fixtureDir, sd?.filename ?? ''));
    expect(rowsOf(pc)).toEqual(golden.lidar_from_file); // float32 → exact
  });
});

/** 18 radar rows for points given as partial records (unset fields 0). */
function radarRows(points: Partial<Record<string, number>>[]): number[][] {
  return RADAR_PCD_FIELDS.map((field) => points.map((p) => p[field.name] ?? 0));
}

describe('RadarPointCloud.fromFile (binary PCD v0.7, 18 fields, devkit filters)', () => {
  // Four returns: kept by default; invalid_state 1; dyn_prop 7 (stopped); ambig_state 2.
  const returns = [
    {
      x: 12.5,
      y: -1.25,
      dyn_prop: 0,
      id: 300,
      rcs: 7.5,
      vx: -3,
      vy: 0.5,
      vx_comp: 0.25,
      ambig_state: 3,
      x_rms: 19,
    },
    { x: 40, y: 3, dyn_prop: 1, id: 1, ambig_state: 3, invalid_state: 1 },
    { x: 41, y: 4, dyn_prop: 7, id: 2, ambig_state: 3 },
    { x: 42, y: 5, dyn_prop: 2, id: 3, ambig_state: 2, vy_rms: 17 },
  ];

  it('parses a hand-written header and binary records', async () => {
    // Written without encodePcd: a 3-field PCD with int16 and uint8 columns, and a trailing byte.
    const header =
      '# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x id flag\nSIZE 4 2 1\nTYPE F I U\n' +
      'COUNT 1 1 1\nWIDTH 2\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 2\nDATA binary\n';
    const head = new TextEncoder().encode(header);
    const bytes = new Uint8Array(head.length + 2 * 7 + 1);
    bytes.set(head);
    const view = new DataView(bytes.buffer, head.length);
    view.setFloat32(0, 3.5, true);
    view.setInt16(4, -300, true);
    view.setUint8(6, 200);
    view.setFloat32(7, -0.75, true);
    view.setInt16(11, 1234, true);
    view.setUint8(13, 1);
    const { header: parsed, columns } = parsePcd(bytes, 'hand.pcd');
    expect(parsed.fields.map((f) => `${f.name}:${f.type}${f.size}`)).toEqual(['x:F4', 'id:I2', 'flag:U1']);
    expect(parsed.points).toBe(2);
    expect(parsed.recordSize).toBe(7);
    expect(columns.map((c) => [...c])).toEqual([
      [3.5, -0.75],
      [-300, 1234],
      [200, 1],
    ]);
  });

  it('keeps invalid_state 0, dyn_prop 0..6 and ambig_state 3 by default', async () => {
    const path = write('four.pcd', encodeRadarPcd(radarRows(returns)));
    const pc = await RadarPointCloud.fromFile(path);
    expect(pc.nbrDims()).toBe(18);
    expect(pc.nbrPoints()).toBe(1);
    const kept = pc.points.map((row) => row[0]);
    expect(kept[RADAR_ROW.x]).toBe(12.5);
    expect(kept[RADAR_ROW.y]).toBe(-1.25);
    expect(kept[RADAR_ROW.id]).toBe(300);
    expect(kept[RADAR_ROW.rcs]).toBe(7.5);
    expect(kept[RADAR_ROW.vx]).toBe(-3);
    expect(kept[RADAR_ROW.vx_comp]).toBe(0.25);
    expect(kept[RADAR_ROW.x_rms]).toBe(19);
  });

  it('takes per-call filters, and class-wide setters as the devkit', async () => {
    const path = write('four-again.pcd', encodeRadarPcd(radarRows(returns)));
    const xs = (pc: RadarPointCloud) => [...pc.points[0]];
    expect(xs(await RadarPointCloud.fromFile(path, { invalidStates: [0, 1] }))).toEqual([12.5, 40]);
    expect(
      xs(await RadarPointCloud.fromFile(path, { dynpropStates: [0, 2, 6], ambigStates: [2, 3] })),
    ).toEqual([12.5, 42]);
    RadarPointCloud.disableFilters();
    expect(xs(await RadarPointCloud.fromFile(path))).toEqual([12.5, 40, 41, 42]);
    RadarPointCloud.setFilters({ ambigStates: [2] });
    expect(xs(RadarPointCloud.fromFileSync(path))).toEqual([42]);
    RadarPointCloud.defaultFilters();
    expect(xs(await RadarPointCloud.fromFile(path))).toEqual([12.5]);
  });

  it('reads a NaN first point as an empty cloud, as the devkit', async () => {
    const rows = radarRows(returns);
    rows[RADAR_ROW.vy][0] = Number.NaN;
    const pc = await RadarPointCloud.fromFile(write('nan.pcd', encodeRadarPcd(rows)));
    expect(pc.nbrPoints()).toBe(0);
    expect(pc.points).toHaveLength(18);
  });

  it('refuses ascii data, a wrong field count, COUNT > 1 and truncated data, naming the file', async () => {
    const ascii = write(
      'ascii.pcd',
      'VERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 1\nHEIGHT 1\nPOINTS 1\nDATA ascii\n1 2 3\n',
    );
    await expect(RadarPointCloud.fromFile(ascii)).rejects.toThrow(
      /DATA is 'ascii'; only 'binary' is supported/,
    );
    const three = encodePcd(RADAR_PCD_FIELDS.slice(0, 3), [[1], [2], [3]]);
    const error = await RadarPointCloud.fromFile(write('three.pcd', three)).catch(
      (e: unknown) => e as SpikedriveError,
    );
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).message).toMatch(
      /three\.pcd: a nuScenes radar PCD has 18 fields, this one has 3/,
    );
    const counted = write(
      'count.pcd',
      'VERSION 0.7\nFIELDS x\nSIZE 4\nTYPE F\nCOUNT 3\nWIDTH 1\nHEIGHT 1\nPOINTS 1\nDATA binary\n000000000000',
    );
    await expect(RadarPointCloud.fromFile(counted)).rejects.toThrow(/COUNT 3; only COUNT 1 is supported/);
    const full = encodeRadarPcd(radarRows(returns));
    await expect(
      RadarPointCloud.fromFile(write('cut.pcd', full.subarray(0, full.length - 20))),
    ).rejects.toThrow(/truncated: 4 points of 43 bytes need 172 bytes, the file has 153/);
    await expect(RadarPointCloud.fromFile(write('junk.pcd', 'hello\nworld\n'))).rejects.toThrow(
      /no DATA line/,
    );
  });

  it('matches the devkit on the fixture radar files (default, disabled, moving-only, empty)', async () => {
    const golden = JSON.parse(readFileSync(join(fixtureDir, 'golden.json'), 'utf8')) as Record<
      string,
      number[][]
    >;
    const tables = JSON.parse(readFileSync(join(fixtureDir, 'tables.json'), 'utf8')) as FixtureTables;
    const sd = tables.sample_data.find((s) => s.token === tables.sample.data.RADAR_FRONT);
    const path = join(fixtureDir, sd?.filename ?? '');
    expect(rowsOf(await RadarPointCloud.fromFile(path))).toEqual(golden.radar_from_file_default);
    RadarPointCloud.disableFilters();
    expect(rowsOf(await RadarPointCloud.fromFile(path))).toEqual(golden.radar_from_file_disabled);
    RadarPointCloud.defaultFilters();
    expect(rowsOf(await RadarPointCloud.fromFile(path, { dynpropStates: [0, 2, 6] }))).toEqual(
      golden.radar_from_file_moving,
    );
    const empty = await RadarPointCloud.fromFile(join(fixtureDir, 'radar-empty.pcd'));
    expect([empty.points.length, empty.nbrPoints()]).toEqual(golden.radar_empty_shape);
  });
});

describe('point cloud operations (in place, as the devkit)', () => {
  const cloud = () =>
    new LidarPointCloud([
      Float32Array.from([0.5, 0.5, -0.9, 1, 3]),
      Float32Array.from([0.5, 2, -0.9, 0, -4]),
      Float32Array.from([0, 1, 2, 3, 4]),
      Float32Array.from([10, 11, 12, 13, 14]),
    ]);

  it('removeClose drops points inside the square |x| < r and |y| < r', () => {
    const pc = cloud();
    pc.removeClose(1);
    expect(rowsOf(pc)).toEqual([
      [0.5, 1, 3],
      [2, 0, -4],
      [1, 3, 4],
      [11, 13, 14],
    ]);
  });

  it('translate, rotate (3×3) and transform (4×4) move x, y, z only', () => {
    const pc = cloud();
    pc.translate([1, -1, 0.5]);
    expectRowsClose(
      pc.points,
      [
        [1.5, 1.5, 0.1, 2, 4],
        [-0.5, 1, -1.9, -1, -5],
        [0.5, 1.5, 2.5, 3.5, 4.5],
        [10, 11, 12, 13, 14],
      ],
      6,
    );
    const yaw90 = Quaternion.fromYaw(Math.PI / 2).rotationMatrix; // (x, y) → (−y, x)
    const p = new LidarPointCloud([
      Float32Array.from([3]),
      Float32Array.from([4]),
      Float32Array.from([5]),
      Float32Array.from([9]),
    ]);
    p.rotate(yaw90);
    expectRowsClose(p.points, [[-4], [3], [5], [9]], 6);
    p.transform([
      [0, 1, 0, 10],
      [-1, 0, 0, 20],
      [0, 0, 1, 30],
      [0, 0, 0, 1],
    ]);
    expectRowsClose(p.points, [[13], [24], [35], [9]], 5);
    expect(() => p.rotate([[1, 0, 0, 0]])).toThrow(/3×3/);
  });

  it('subsample draws ⌊N·ratio⌋ points with replacement from a seeded source', () => {
    const pc = cloud();
    pc.subsample(0.5, createRng(7).next);
    expect(pc.nbrPoints()).toBe(2);
    // Every drawn point is an original column (intensity identifies it).
    for (let i = 0; i < 2; i++) {
      const column = [10, 11, 12, 13, 14].indexOf(pc.points[3][i]);
      expect(pc.points[2][i]).toBe(column);
    }
    const again = cloud();
    again.subsample(0.5, createRng(7).next);
    expect(rowsOf(again)).toEqual(rowsOf(pc));
  });

  it('keepPoints takes a mask such as pointsInBox gives, and toPointMajor interleaves', () => {
    const pc = cloud();
    // A 2 m cube around (0.5, 1, 1) holds (0.5, 0.5, 0) and (0.5, 2, 1), the latter on its face (inclusive).
    const box = new Box([0.5, 1, 1], [2, 2, 2], new Quaternion());
    pc.keepPoints(pointsInBox(box, pc.points.slice(0, 3)));
    expect(rowsOf(pc)[3]).toEqual([10, 11]);
    pc.keepPoints(new Uint8Array([0, 1]));
    expect(rowsOf(pc)[3]).toEqual([11]);
    expect(() => pc.keepPoints([true, true])).toThrow(/one mask entry per point/);
    const two = cloud();
    two.keepPoints([true, false, false, true, false]);
    expect([...two.toPointMajor()]).toEqual([0.5, 0.5, 0, 10, 1, 0, 3, 13]);
  });
});

interface FixtureTables {
  sample: { token: string; timestamp: number; data: Record<string, string> };
  sample_data: SampleData[];
  ego_pose: EgoPose[];
  calibrated_sensor: CalibratedSensor[];
}

/** A stub with just what multisweep needs: the structural interface, not the NuScenes class. */
function stubSource(dataroot: string, tables: Omit<FixtureTables, 'sample'>): SweepSource {
  const index = {
    sample_data: new Map(tables.sample_data.map((r) => [r.token, r])),
    ego_pose: new Map(tables.ego_pose.map((r) => [r.token, r])),
    calibrated_sensor: new Map(tables.calibrated_sensor.map((r) => [r.token, r])),
  };
  return {
    dataroot,
    get<K extends 'sample_data' | 'ego_pose' | 'calibrated_sensor'>(
      table: K,
      token: string,
    ): TableRecords[K] {
      const record = index[table].get(token);
      if (record === undefined) throw new Error(`no ${table} ${token}`);
      return record as TableRecords[K];
    },
  };
}

describe('fromFileMultisweep', () => {
  const s = Math.SQRT1_2;
  // LIDAR_TOP mounted 1 m ahead of the rear axle and 2 m up, yawed +90° (sensor x → ego y).
  const cs: CalibratedSensor = {
    token: 'cs',
    sensor_token: 'lidar',
    translation: [1, 0, 2],
    rotation: [s, 0, 0, s],
    camera_intrinsic: [],
  };
  const sd = (token: string, prev: string, timestamp: number, file: string): SampleData => ({
    token,
    sample_token: 'sample',
    ego_pose_token: `pose-${token}`,
    calibrated_sensor_token: 'cs',
    filename: file,
    fileformat: 'pcd',
    width: 0,
    height: 0,
    timestamp,
    is_key_frame: prev !== 'p',
    prev,
    next: '',
  });
  const pose = (token: string, x: number, timestamp: number): EgoPose => ({
    token: `pose-${token}`,
    translation: [x, 0, 0],
    rotation: [1, 0, 0, 0],
    timestamp,
  });

  it('maps an earlier sweep into the reference frame and adds time lags (hand-computed two-sweep case)', async () => {
    const root = mkdtempSync(join(tmp, 'sweeps-'));
    // Keyframe k at t = 1.0001 s, ego at x = 10; the sweep p 50 ms earlier, ego at x = 9 (driving +x).
    writeFileSync(
      join(root, 'k.pcd.bin'),
      encodeLidarPcdBin([
        [0, 0.5],
        [5, 0.5],
        [0, 0],
        [7, 1],
        [0, 0],
      ]),
    );
    writeFileSync(join(root, 'p.pcd.bin'), encodeLidarPcdBin([[0], [5], [0], [3], [0]]));
    const nusc = stubSource(root, {
      sample_data: [sd('k', 'p', 1_000_100_000, 'k.pcd.bin'), sd('p', '', 1_000_050_000, 'p.pcd.bin')],
      ego_pose: [pose('k', 10, 1_000_100_000), pose('p', 9, 1_000_050_000)],
      calibrated_sensor: [cs],
    });
    const sample = { token: 'sample', data: { LIDAR_TOP: 'k' } };
    const { pointCloud, times } = await LidarPointCloud.fromFileMultisweep(
      nusc,
      sample,
      'LIDAR_TOP',
      'LIDAR_TOP',
    );
    // k: (0, 5, 0) stays; (0.5, 0.5) is removed (closer than 1 m). p: sensor (0, 5, 0) → ego (−4, 0, 2) at
    // x = 9 → global (5, 0, 2) → ego at x = 10: (−5, 0, 2) → sensor: Rᵀ((−5, 0, 2) − (1, 0, 2)) = (0, 6, 0).
    expectRowsClose(
      pointCloud.points,
      [
        [0, 0],
        [5, 6],
        [0, 0],
        [7, 3],
      ],
      5,
    );
    expect(times).toBeInstanceOf(Float64Array);
    expect(times[0]).toBe(0);
    expect(times[1]).toBeCloseTo(0.05, 9);
    // nsweeps = 1 reads the keyframe only; the chain end stops it early otherwise.
    const one = await LidarPointCloud.fromFileMultisweep(nusc, sample, 'LIDAR_TOP', 'LIDAR_TOP', 1);
    expect(one.pointCloud.nbrPoints()).toBe(1);
    const none = await LidarPointCloud.fromFileMultisweep(nusc, sample, 'LIDAR_TOP', 'LIDAR_TOP', 0);
    expect([none.pointCloud.nbrPoints(), none.times.length]).toEqual([0, 0]);
    // min distance 6 m drops everything within the square of side 12 m.
    const far = await LidarPointCloud.fromFileMultisweep(nusc, sample, 'LIDAR_TOP', 'LIDAR_TOP', 5, 6);
    expect(far.pointCloud.nbrPoints()).toBe(0);
  });

  it('says which channel a sample lacks, and rejects a bad sweep count', async () => {
    const nusc = stubSource(tmp, {
      sample_data: [sd('k', '', 1_000_100_000, 'k.pcd.bin')],
      ego_pose: [pose('k', 10, 1_000_100_000)],
      calibrated_sensor: [cs],
    });
    const sample = { token: 'abc', data: { LIDAR_TOP: 'k' } };
    await expect(
      LidarPointCloud.fromFileMultisweep(nusc, sample, 'RADAR_FRONT', 'LIDAR_TOP'),
    ).rejects.toThrow(/Sample abc has no RADAR_FRONT keyframe \(the sweep channel\)/);
    const error = await RadarPointCloud.fromFileMultisweep(nusc, sample, 'LIDAR_TOP', 'RADAR_FRONT').catch(
      (e: unknown) => e as SpikedriveError,
    );
    expect(error).toBeInstanceOf(SpikedriveError);
    expect((error as SpikedriveError).message).toBe(
      'Sample abc has no RADAR_FRONT keyframe (the reference channel)',
    );
    expect((error as SpikedriveError).fix).toBe('Pick one of its channels: LIDAR_TOP.');
    await expect(
      LidarPointCloud.fromFileMultisweep(nusc, sample, 'LIDAR_TOP', 'LIDAR_TOP', 2.5),
    ).rejects.toThrow(/nsweeps must be a whole number/);
    // The keyframe's blob is missing: the error names the file under the dataroot.
    await expect(LidarPointCloud.fromFileMultisweep(nusc, sample, 'LIDAR_TOP', 'LIDAR_TOP')).rejects.toThrow(
      `Point cloud file not found: ${join(tmp, 'k.pcd.bin')}`,
    );
  });

  it('matches the devkit on the fixture chain (3 lidar sweeps; radar into the lidar frame)', async () => {
    const golden = JSON.parse(readFileSync(join(fixtureDir, 'golden.json'), 'utf8')) as Record<
      string,
      { points: number[][]; times: number[] }
    >;
    const tables = JSON.parse(readFileSync(join(fixtureDir, 'tables.json'), 'utf8')) as FixtureTables;
    const nusc = stubSource(fixtureDir, tables);
    for (const nsweeps of [2, 5]) {
      const { pointCloud, times } = await LidarPointCloud.fromFileMultisweep(
        nusc,
        tables.sample,
        'LIDAR_TOP',
        'LIDAR_TOP',
        nsweeps,
      );
      const expected = golden[`lidar_multisweep_${nsweeps}`];
      // Both sides compute in float64 and store float32, with the same matrix order: bit-identical.
      expect(rowsOf(pointCloud)).toEqual(expected.points);
      expect([...times]).toEqual(expected.times); // same float64 expression → identical
    }
    const radar = await RadarPointCloud.fromFileMultisweep(
      nusc,
      tables.sample,
      'RADAR_FRONT',
      'LIDAR_TOP',
      5,
      2,
    );
    const expected = golden.radar_multisweep_ref_lidar;
    // The devkit keeps radar in float64; we store float32 (measured: at most 3.7e-6 m apart here).
    expectRowsClose(radar.pointCloud.points, expected.points, 5);
    expect([...radar.times]).toEqual(expected.times);
  });
});

describe('point clouds through the NuScenes class (fixture dataroot)', () => {
  const dataroot = join(here, '..', '..', 'fixtures', 'nuscenes');
  const nusc = new NuScenes({ version: 'v1.0-mini', dataroot, verbose: false });

  it('aggregates LIDAR_TOP sweeps back along prev, with lags from the sample_data times', async () => {
    const sample =
      nusc.samples.find((s) => s.data?.LIDAR_TOP !== undefined && s.prev !== '') ?? nusc.samples[0];
    const key = nusc.get('sample_data', sample.data?.LIDAR_TOP ?? '');
    // The chain the devkit walks: the keyframe, then prev until nsweeps or the scene start.
    const chain = [key];
    while (chain.length < 5 && chain[chain.length - 1].prev !== '') {
      chain.push(nusc.get('sample_data', chain[chain.length - 1].prev));
    }
    const counts = await Promise.all(
      chain.map(async (sd) => {
        const pc = await LidarPointCloud.fromFile(nusc.getSampleDataPath(sd.token));
        pc.removeClose(1);
        return pc.nbrPoints();
      }),
    );
    const { pointCloud, times } = await LidarPointCloud.fromFileMultisweep(
      nusc,
      sample,
      'LIDAR_TOP',
      'LIDAR_TOP',
      5,
    );
    expect(pointCloud.nbrPoints()).toBe(counts.reduce((a, b) => a + b, 0));
    let offset = 0;
    chain.forEach((sd, i) => {
      // The devkit subtracts seconds since 1970 (~1.5e9, ulp 2.4e-7 s), so lags carry ~0.2 µs of rounding.
      expect(times[offset]).toBeCloseTo((key.timestamp - sd.timestamp) * 1e-6, 6);
      offset += counts[i];
    });
    // The keyframe's own points are only moved by ref←car·car←sensor = identity.
    const own = await LidarPointCloud.fromFile(nusc.getSampleDataPath(key.token));
    own.removeClose(1);
    expectRowsClose(
      pointCloud.points.map((row) => row.subarray(0, counts[0])),
      rowsOf(own),
      4,
    );
  });

  it('reads every radar keyframe of the fixture as 18 rows', async () => {
    let files = 0;
    for (const sample of nusc.samples) {
      for (const channel of RADAR_CHANNELS) {
        const token = sample.data?.[channel];
        if (token === undefined) continue;
        const pc = await RadarPointCloud.fromFile(nusc.getSampleDataPath(token));
        expect(pc.points).toHaveLength(18);
        files++;
      }
    }
    expect(files).toBeGreaterThan(0);
  });
});
