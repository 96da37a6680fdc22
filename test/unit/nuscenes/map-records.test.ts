// Records, lanes and BitMap on hand-made maps, with expectations worked out by hand.
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArclinePath,
  BitMap,
  discretizePath,
  NuScenesMap,
  poseAtLength,
  principalValue,
  SEMANTIC_PRIOR_HASHES,
} from '../../../data-loaders/nuscenes/map/index.ts';
import { isSpikedriveError } from '../../../src/util/errors.ts';
import { FIXTURE_ROOT, LOCATIONS, MapBuilder, readGolden, TempDataroot } from './map-test-helpers.ts';

function straight(x: number, y: number, yaw: number, lengthM: number): ArclinePath {
  return {
    start_pose: [x, y, yaw],
    end_pose: [x + lengthM * Math.cos(yaw), y + lengthM * Math.sin(yaw), yaw],
    shape: 'LSL',
    radius: 1000,
    segment_length: [0, lengthM, 0],
  };
}

function expectSpikedriveError(fn: () => unknown, text: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(isSpikedriveError(error)).toBe(true);
  expect((error as Error).message).toContain(text);
}

describe('records and lanes on a hand-made map', () => {
  let tmp: TempDataroot;
  let map: NuScenesMap;

  beforeAll(() => {
    const b = new MapBuilder();
    const json = b.json as Record<string, Record<string, unknown>[] | Record<string, unknown>>;
    // Two lanes side by side along x (y 0..4 and 4..8), 20 m long, and a lane connector beyond them.
    const lane = (token: string, y0: number) => {
      (json.lane as Record<string, unknown>[]).push({
        token,
        polygon_token: b.polygon(`${token}-poly`, [
          [0, y0],
          [20, y0],
          [20, y0 + 4],
          [0, y0 + 4],
        ]),
        lane_type: 'CAR',
        from_edge_line_token: b.line(`${token}-from`, [
          [0, y0],
          [0, y0 + 4],
        ]),
        to_edge_line_token: b.line(`${token}-to`, [
          [20, y0],
          [20, y0 + 4],
        ]),
        left_lane_divider_segments: [],
        right_lane_divider_segments: [],
      });
      (json.arcline_path_3 as Record<string, unknown>)[token] = [straight(0, y0 + 2, 0, 20)];
    };
    lane('lane-a', 0);
    lane('lane-b', 4);
    (json.lane_connector as Record<string, unknown>[]).push({
      token: 'conn',
      polygon_token: b.polygon('conn-poly', [
        [20, 0],
        [30, 0],
        [30, 4],
        [20, 4],
      ]),
    });
    (json.arcline_path_3 as Record<string, unknown>).conn = [straight(20, 2, 0, 10)];
    (json.connectivity as Record<string, unknown>)['lane-a'] = { incoming: [], outgoing: ['conn'] };
    (json.connectivity as Record<string, unknown>).conn = { incoming: ['lane-a'], outgoing: [] };
    b.laneDivider('divider', [
      [0, 4],
      [20, 4],
    ]);
    tmp = new TempDataroot();
    tmp.write('boston-seaport', b.json);
    map = new NuScenesMap({ dataroot: tmp.root, mapName: 'boston-seaport' });
  });

  afterAll(() => tmp.remove());

  it('recordOnPoint needs the point strictly inside', () => {
    expect(map.recordOnPoint(10, 2, 'lane')).toBe('lane-a');
    expect(map.recordOnPoint(10, 6, 'lane')).toBe('lane-b');
    expect(map.recordOnPoint(10, 4, 'lane')).toBe(''); // on the shared edge
    expect(map.layersOnPoint(10, 2, ['lane', 'walkway'])).toEqual({ lane: 'lane-a', walkway: '' });
    expectSpikedriveError(() => map.recordOnPoint(1, 1, 'lane_divider'), 'not a polygon layer');
  });

  it('getRecordsInPatch: polygons by closed-set intersection, lines by nodes strictly inside', () => {
    // A box touching lane-b only along y = 8... and lane-a not at all.
    expect(map.getRecordsInPatch([5, 8, 6, 9], ['lane'])).toEqual({ lane: ['lane-b'] });
    expect(map.getRecordsInPatch([-1, -1, 21, 9], ['lane'], 'within')).toEqual({
      lane: ['lane-a', 'lane-b'],
    });
    expect(map.getRecordsInPatch([-1, -1, 21, 5], ['lane'], 'within')).toEqual({ lane: ['lane-a'] });
    // The divider's nodes are (0, 4) and (20, 4): a node on the box edge does not count.
    expect(map.getRecordsInPatch([0, 0, 20, 8], ['lane_divider'])).toEqual({ lane_divider: [] });
    expect(map.getRecordsInPatch([0, 0, 21, 8], ['lane_divider'])).toEqual({ lane_divider: ['divider'] });
    expect(map.getRecordsInPatch([0, 0, 21, 8], ['lane_divider'], 'within')).toEqual({ lane_divider: [] });
    expect(map.getRecordsInPatch([-1, 0, 21, 8], ['lane_divider'])).toEqual({ lane_divider: ['divider'] });
    expect(map.getRecordsInRadius(25, 2, 1, ['lane', 'lane_connector'])).toEqual({
      lane: [],
      lane_connector: ['conn'],
    });
    expectSpikedriveError(
      () => map.getRecordsInPatch([0, 0, 1, 1], ['lane'], 'touching' as 'within'),
      "mode 'touching'",
    );
  });

  it('getBounds, connectivity and arc-line paths', () => {
    expect(map.getBounds('lane', 'lane-b')).toEqual([0, 4, 20, 8]);
    expect(map.getBounds('lane_divider', 'divider')).toEqual([0, 4, 20, 4]);
    expect(map.getOutgoingLaneIds('lane-a')).toEqual(['conn']);
    expect(map.getIncomingLaneIds('conn')).toEqual(['lane-a']);
    expectSpikedriveError(() => map.getOutgoingLaneIds('lane-b'), 'not a valid lane');
    expectSpikedriveError(() => map.getArclinePath('nope'), 'does not have a valid arcline path');
    expect(map.getArclinePath('conn')[0].segment_length).toEqual([0, 10, 0]);
  });

  it('discretises a straight 20 m lane every 0.5 m and finds the closest lane', () => {
    const poses = map.discretizeLanes(['lane-a'], 0.5)['lane-a'];
    // int(ceil(20 / 0.5) + 1.5) = 41 points, spaced 20 / 40 = 0.5 m.
    expect(poses.length).toBe(41);
    expect(poses[0]).toEqual([0, 2, 0]);
    expect(poses[40][0]).toBeCloseTo(20, 9);
    expect(poses[1][0]).toBeCloseTo(0.5, 12);
    expect(map.getClosestLane(10, 2.4)).toBe('lane-a');
    expect(map.getClosestLane(10, 5.9)).toBe('lane-b');
    expect(map.getClosestLane(100, 100)).toBe('');
  });

  it('getNextRoads follows the to-edge line', () => {
    // From lane-a (to-edge nodes at x = 20), the lane whose exterior holds both nodes is none here,
    // because the connector's polygon has its own nodes; lane-b shares none either.
    expect(map.getNextRoads(10, 2)).toEqual({ road_segment: [], road_block: [], lane: [] });
    expectSpikedriveError(() => map.getNextRoads(100, 100), 'no road segment, road block or lane');
  });
});

describe('arc-line paths', () => {
  it('a left quarter circle of radius 10 ends at (10, 10) heading north', () => {
    const path: ArclinePath = {
      start_pose: [0, 0, 0],
      end_pose: [10, 10, Math.PI / 2],
      shape: 'LSL',
      radius: 10,
      segment_length: [(Math.PI * 10) / 2, 0, 0],
    };
    const end = poseAtLength(path, (Math.PI * 10) / 2);
    expect(end[0]).toBeCloseTo(10, 9);
    expect(end[1]).toBeCloseTo(10, 9);
    expect(end[2]).toBeCloseTo(Math.PI / 2, 12);
    const halfway = poseAtLength(path, (Math.PI * 10) / 4);
    expect(halfway[0]).toBeCloseTo(10 * Math.SQRT1_2, 9);
    expect(halfway[1]).toBeCloseTo(10 - 10 * Math.SQRT1_2, 9);
    // int(ceil(5π) + 1.5) = 17 poses.
    expect(discretizePath(path, 1).length).toBe(17);
  });

  it('principalValue wraps into [-pi, pi) like Python', () => {
    expect(principalValue(Math.PI)).toBe(-Math.PI);
    expect(principalValue(-Math.PI)).toBe(-Math.PI);
    expect(principalValue(3 * Math.PI)).toBeCloseTo(-Math.PI, 12);
    expect(principalValue(0.5)).toBeCloseTo(0.5, 15);
  });
});

describe('BitMap', () => {
  it('reads the basemap PNGs exactly as the devkit does', () => {
    const golden = readGolden<{ basemap: Record<string, { shape: number[]; image: number[] }> }>(
      'bitmap.json',
    );
    for (const mapName of LOCATIONS) {
      const bitmap = new BitMap({ dataroot: FIXTURE_ROOT, mapName, layerName: 'basemap' });
      expect([bitmap.height, bitmap.width]).toEqual(golden.basemap[mapName].shape);
      expect(bitmap.channels).toBe(1);
      expect(Array.from(bitmap.image)).toEqual(golden.basemap[mapName].image);
    }
  });

  it('stretches the image over the map with row 0 at the north edge', () => {
    const bitmap = new BitMap({
      dataroot: FIXTURE_ROOT,
      mapName: 'singapore-onenorth',
      layerName: 'basemap',
    });
    const edge: [number, number] = [1585.6, 2025.0];
    expect(bitmap.extent(edge)).toEqual([0, 1585.6, 0, 2025.0]);
    // Top-left pixel (row 0, col 0) covers the north-west corner; value (0·17 + 0·5 + 0) mod 256 = 0.
    expect(bitmap.pixelAt(1, 2024, edge)).toEqual([0]);
    // Bottom-right pixel (row 11, col 8): (11·17 + 8·5) mod 256 = 227.
    expect(bitmap.pixelAt(1585, 1, edge)).toEqual([227]);
    expect(bitmap.pixelAt(-1, 5, edge)).toBeNull();
  });

  it('inverts the legacy semantic prior (max − value) and reports missing or broken files', () => {
    const tmp = new TempDataroot();
    try {
      const png = new PNG({ width: 3, height: 1, colorType: 0, inputColorType: 0, bitDepth: 8 });
      png.data = Buffer.from([0, 200, 100]);
      tmp.writeFile(
        `maps/${SEMANTIC_PRIOR_HASHES['singapore-queenstown']}.png`,
        PNG.sync.write(png, { colorType: 0, inputColorType: 0 }),
      );
      const prior = new BitMap({
        dataroot: tmp.root,
        mapName: 'singapore-queenstown',
        layerName: 'semantic_prior',
      });
      expect(Array.from(prior.image)).toEqual([200, 0, 100]);
      expectSpikedriveError(
        () => new BitMap({ dataroot: tmp.root, mapName: 'boston-seaport', layerName: 'basemap' }),
        'cannot find basemap',
      );
      tmp.writeFile('maps/basemap/boston-seaport.png', 'not a png');
      expectSpikedriveError(
        () => new BitMap({ dataroot: tmp.root, mapName: 'boston-seaport', layerName: 'basemap' }),
        'is not a readable PNG',
      );
      expectSpikedriveError(
        () => new BitMap({ dataroot: tmp.root, mapName: 'boston-seaport', layerName: 'lidar' as 'basemap' }),
        "invalid bitmap layer 'lidar'",
      );
      expectSpikedriveError(
        () => new BitMap({ dataroot: tmp.root, mapName: 'boston', layerName: 'basemap' }),
        "unknown map name 'boston'",
      );
    } finally {
      tmp.remove();
    }
  });
});
