// Loading Map Expansion files: the four fixtures, the devkit's shortcuts, and every kind of bad input.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NuScenesMap } from '../../../data-loaders/nuscenes/map/index.ts';
import { isSpikedriveError, type SpikedriveError } from '../../../src/util/errors.ts';
import { emptyMap, FIXTURE_ROOT, fixtureJson, LOCATIONS, TempDataroot } from './map-test-helpers.ts';

function loadError(fn: () => unknown): SpikedriveError {
  try {
    fn();
  } catch (error) {
    if (isSpikedriveError(error)) return error;
    throw error;
  }
  throw new Error('expected a SpikedriveError');
}

describe('NuScenesMap loading', () => {
  it('loads all four fixture locations with every layer typed', () => {
    for (const mapName of LOCATIONS) {
      const map = new NuScenesMap({ dataroot: FIXTURE_ROOT, mapName });
      expect(map.mapName).toBe(mapName);
      expect(map.version).toBe('1.3');
      expect(map.records('drivable_area').length).toBe(2);
      expect(map.records('lane').length).toBe(4);
      expect(map.records('lane_connector').length).toBe(3);
      expect(map.records('stop_line').length).toBe(5);
      expect(map.records('traffic_light')[0].items.length).toBe(3);
      expect(Object.keys(map.arclinePath3).length).toBe(7);
    }
    const boston = new NuScenesMap({ dataroot: FIXTURE_ROOT, mapName: 'boston-seaport' });
    expect(boston.canvasEdge).toEqual([2979.5, 2118.1]);
  });

  it('adds the devkit shortcuts: polygon nodes, line nodes, stop-line cues, lane divider nodes', () => {
    const map = new NuScenesMap({ dataroot: FIXTURE_ROOT, mapName: 'singapore-onenorth' });
    const lane = map.records('lane')[0];
    const polygon = map.get('polygon', lane.polygon_token);
    expect(lane.exterior_node_tokens).toEqual(polygon.exterior_node_tokens);
    expect(lane.holes).toEqual(polygon.holes);
    expect(lane.left_lane_divider_segment_nodes.map((n) => n.token)).toEqual(
      lane.left_lane_divider_segments.map((s) => s.node_token),
    );
    expect(lane.right_lane_divider_segment_nodes[0].x).toBeCloseTo(412.37, 9);
    const divider = map.records('lane_divider')[0];
    expect(divider.node_tokens).toEqual(map.get('line', divider.line_token).node_tokens);
    const cues = Object.fromEntries(map.records('stop_line').map((s) => [s.stop_line_type, s.cue]));
    expect((cues.PED_CROSSING ?? [])[0]?.token).toBe(map.records('ped_crossing')[0].token);
    expect((cues.TURN_STOP ?? [])[0]?.token).toBe(map.records('ped_crossing')[1].token);
    expect(cues.STOP_SIGN).toEqual([]);
    expect(cues.YIELD).toEqual([]);
    expect((cues.TRAFFIC_LIGHT ?? [])[0]?.token).toBe(map.records('traffic_light')[0].token);
    const walkway = map.records('walkway')[0];
    expect(walkway.holes.length).toBe(1);
    expect(map.getIndex('walkway', walkway.token)).toBe(0);
    expect(map.has('walkway', 'nope')).toBe(false);
  });

  describe('bad input', () => {
    let tmp: TempDataroot;
    beforeEach(() => {
      tmp = new TempDataroot();
    });
    afterEach(() => tmp.remove());

    const open = (mapName = 'singapore-onenorth') => new NuScenesMap({ dataroot: tmp.root, mapName });
    const withMap = (mutate: (json: Record<string, unknown>) => void) => {
      const json = fixtureJson('singapore-onenorth');
      mutate(json);
      tmp.write('singapore-onenorth', json);
      return loadError(() => open());
    };

    it('rejects an unknown map name', () => {
      const e = loadError(() => new NuScenesMap({ dataroot: FIXTURE_ROOT, mapName: 'singapore-nowhere' }));
      expect(e.message).toContain("unknown map name 'singapore-nowhere'");
      expect(e.fix).toContain('boston-seaport');
    });

    it('names the missing file', () => {
      const e = loadError(() => open('boston-seaport'));
      expect(e.message).toContain('map expansion file not found');
      expect(e.message).toContain('maps/expansion/boston-seaport.json');
      expect(e.fix).toContain('Map Expansion');
    });

    it('gives file, line and column of malformed JSON', () => {
      tmp.write('singapore-onenorth', '{\n "version": "1.3",\n "node": [1, 2,,]\n}');
      const e = loadError(() => open());
      expect(e.message).toContain('singapore-onenorth.json: malformed JSON at line 3, column');
      expect(e.subject).toContain('singapore-onenorth.json');
      tmp.write('singapore-onenorth', '');
      expect(loadError(() => open()).message).toContain('malformed JSON');
    });

    it('applies the devkit version rule (string compare; missing means 1.0)', () => {
      expect(withMap((j) => delete j.version).message).toContain(
        'is 1.0 (no version field), older than the required 1.3',
      );
      expect(withMap((j) => (j.version = '1.2')).message).toContain('is 1.2, older');
      // '1.10' < '1.3' as strings, as in the devkit.
      expect(withMap((j) => (j.version = '1.10')).message).toContain('is 1.10, older');
      expect(withMap((j) => (j.version = 1.3)).message).toContain('field version must be a string');
      const ok = fixtureJson('singapore-onenorth');
      ok.version = '1.4';
      tmp.write('singapore-onenorth', ok);
      expect(open().version).toBe('1.4');
    });

    it('requires every top-level key', () => {
      for (const key of ['lane_connector', 'arcline_path_3', 'connectivity', 'canvas_edge', 'node']) {
        expect(withMap((j) => delete j[key]).message).toContain(`required key ${key} is missing`);
      }
      expect(withMap((j) => (j.lane = {})).message).toContain('layer lane must be an array');
      expect(withMap((j) => (j.canvas_edge = [1])).message).toContain('canvas_edge must be 2 finite numbers');
    });

    it('names layer, record and field of mistyped records', () => {
      const e = withMap((j) => {
        (j.node as Record<string, unknown>[])[3].x = 'east';
      });
      expect(e.message).toMatch(
        /node record '[0-9a-f]{32}' field x must be a finite number, got the string "east"/,
      );
      const f = withMap((j) => {
        (j.road_segment as Record<string, unknown>[])[0].is_intersection = 1;
      });
      expect(f.message).toContain('field is_intersection must be true or false');
      const g = withMap((j) => {
        const paths = j.arcline_path_3 as Record<string, Record<string, unknown>[]>;
        Object.values(paths)[0][0].shape = 'SSS';
      });
      expect(g.message).toContain('field shape must be one of LSL, LSR, RSL, RSR, LRL, RLR');
    });

    it('names the dangling token of every shortcut', () => {
      const dangling = (layer: string, field: string, value: unknown) =>
        withMap((j) => {
          (j[layer] as Record<string, unknown>[])[0][field] = value;
        }).message;
      expect(dangling('road_block', 'polygon_token', 'gone')).toMatch(
        /road_block record '\w+' field polygon_token points to polygon 'gone', which does not exist/,
      );
      expect(dangling('lane_divider', 'line_token', 'gone')).toContain(
        "field line_token points to line 'gone'",
      );
      expect(dangling('drivable_area', 'polygon_tokens', ['gone'])).toContain(
        "polygon_tokens points to polygon 'gone'",
      );
      expect(dangling('polygon', 'exterior_node_tokens', ['a', 'b', 'gone'])).toContain(
        "field exterior_node_tokens points to node 'a'",
      );
      expect(dangling('line', 'node_tokens', ['gone', 'x'])).toContain("node_tokens points to node 'gone'");
      expect(
        dangling('lane', 'left_lane_divider_segments', [{ node_token: 'gone', segment_type: 'NIL' }]),
      ).toContain("left_lane_divider_segments[0].node_token points to node 'gone'");
      const stop = withMap((j) => {
        const s = (j.stop_line as Record<string, unknown>[]).find(
          (r) => r.stop_line_type === 'TRAFFIC_LIGHT',
        );
        if (s) s.traffic_light_tokens = ['gone'];
      });
      expect(stop.message).toContain("traffic_light_tokens points to traffic_light 'gone'");
      const ped = withMap((j) => {
        const s = (j.stop_line as Record<string, unknown>[]).find((r) => r.stop_line_type === 'PED_CROSSING');
        if (s) s.ped_crossing_tokens = ['gone'];
      });
      expect(ped.message).toContain("ped_crossing_tokens points to ped_crossing 'gone'");
      const hole = withMap((j) => {
        const p = (j.polygon as Record<string, unknown>[]).find((r) => (r.holes as unknown[]).length > 0);
        if (p) p.holes = [{ node_tokens: ['x', 'y', 'gone'] }];
      });
      expect(hole.message).toContain("field holes[0] field node_tokens points to node 'x'");
    });

    it('rejects degenerate geometry and repeated tokens', () => {
      expect(
        withMap((j) => {
          (j.polygon as Record<string, unknown>[])[0].exterior_node_tokens = [];
        }).message,
      ).toContain('has 0 exterior nodes; a polygon needs at least 3');
      expect(
        withMap((j) => {
          const line = (j.line as Record<string, unknown>[])[0];
          line.node_tokens = (line.node_tokens as string[]).slice(0, 1);
        }).message,
      ).toContain('has a single node');
      expect(
        withMap((j) => {
          const nodes = j.node as Record<string, unknown>[];
          nodes[1].token = nodes[0].token;
        }).message,
      ).toContain('appears twice');
    });

    it('accepts a minimal map with every key empty, and lines without nodes', () => {
      const json = emptyMap();
      (json.line as unknown[]).push({ token: 'empty', node_tokens: [] });
      (json.road_divider as unknown[]).push({ token: 'rd', line_token: 'empty', road_segment_token: '' });
      tmp.write('singapore-queenstown', json);
      const map = open('singapore-queenstown');
      expect(map.records('road_divider')[0].node_tokens).toEqual([]);
      expect(
        map.getMapMask([100, 100, 10, 10], 0, ['road_divider'], [10, 10]).masks[0].every((v) => v === 0),
      ).toBe(true);
    });

    it('throws for unknown layers and tokens in get()', () => {
      const map = new NuScenesMap({ dataroot: FIXTURE_ROOT, mapName: 'singapore-onenorth' });
      expect(loadError(() => map.get('lane', 'missing')).message).toContain(
        "no lane record with token 'missing'",
      );
      expect(loadError(() => map.get('sidewalk' as 'lane', 'x')).fix).toContain('drivable_area');
    });
  });
});
