// The port against the real Python devkit (nuscenes-devkit d9de17a, Shapely 1.8.5 / GEOS 3.11.1,
// OpenCV 4.6.0, glibc 2.36 FMA libm) on the four fixture maps: masks pixel-exact, records equal.
import { describe, expect, it } from 'vitest';
import {
  curvatureAtDistanceAlongLane,
  lengthOfLane,
  NuScenesMap,
  projectPoseToLane,
} from '../../../data-loaders/nuscenes/map/index.ts';
import { FIXTURE_ROOT, LOCATIONS, readGolden, unRle } from './map-test-helpers.ts';

interface MaskCase {
  name: string;
  patch_box: [number, number, number, number] | null;
  patch_angle: number;
  layer_names: string[] | null;
  canvas_size: [number, number] | null;
  shape?: [number, number, number];
  layers?: string[];
  masks?: string[];
  error?: string;
}

type Box = [number, number, number, number];

interface RecordsGolden {
  records_in_patch: { box: Box; mode: 'intersect' | 'within'; result: Record<string, string[]> }[];
  records_in_patch_lane_connector: { box: Box; result: Record<string, string[]> }[];
  records_in_radius: { x: number; y: number; radius: number; result: Record<string, string[]> }[];
  layers_on_point: { x: number; y: number; result: Record<string, string> }[];
  closest_lane: { x: number; y: number; radius: number; result: string }[];
  bounds: { layer: string; token: string; result: number[] }[];
  discretize_lanes: Record<string, number[][]>;
  discretize_lanes_coarse: Record<string, number[][]>;
  arcline_path: Record<string, unknown>;
  outgoing: Record<string, string[]>;
  incoming: Record<string, string[]>;
  next_roads: { x: number; y: number; result?: Record<string, string[]>; error?: string }[];
  polygon_valid: Record<string, boolean>;
  project_pose: { pose: number[]; lane: string; result: [number[], number] }[];
  length_of_lane: Record<string, number>;
  curvature: { lane: string; distance: number; result: number }[];
}

function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  a.forEach((p, i) => {
    p.forEach((v, j) => {
      m = Math.max(m, Math.abs(v - b[i][j]));
    });
  });
  return m;
}

describe.each(LOCATIONS)('devkit goldens: %s', (mapName) => {
  const map = new NuScenesMap({ dataroot: FIXTURE_ROOT, mapName });

  it('getMapMask matches the devkit pixel for pixel', () => {
    const golden = readGolden<{ cases: MaskCase[] }>(`masks-${mapName}.json`);
    const compared = golden.cases.filter((c) => !c.error);
    expect(compared.length).toBeGreaterThanOrEqual(40);
    const mismatches: string[] = [];
    for (const c of compared) {
      const r = map.getMapMask(c.patch_box, c.patch_angle, c.layer_names ?? undefined, c.canvas_size);
      expect([...r.shape], c.name).toEqual(c.shape);
      expect(r.layers, c.name).toEqual(c.layers);
      const size = r.height * r.width;
      (c.masks ?? []).forEach((runs, i) => {
        const expected = unRle(runs, size);
        let differing = 0;
        for (let k = 0; k < size; k++) if (expected[k] !== r.masks[i][k]) differing++;
        if (differing) mismatches.push(`${c.name}/${r.layers[i]}: ${differing} px`);
      });
    }
    expect(mismatches).toEqual([]);
  });

  it('draws where the devkit itself raises (self-intersecting drivable area)', () => {
    const golden = readGolden<{ cases: MaskCase[] }>(`masks-${mapName}.json`);
    for (const c of golden.cases.filter((k) => k.error)) {
      expect(c.error).toMatch(/Topolog/);
      const r = map.getMapMask(c.patch_box, c.patch_angle, c.layer_names ?? undefined, c.canvas_size);
      expect(r.masks.length).toBeGreaterThan(0);
    }
  });

  it('records API matches the devkit', () => {
    const g = readGolden<RecordsGolden>(`records-${mapName}.json`);
    for (const c of g.records_in_patch)
      expect(map.getRecordsInPatch(c.box, undefined, c.mode)).toEqual(c.result);
    for (const c of g.records_in_patch_lane_connector) {
      expect(map.getRecordsInPatch(c.box, ['lane', 'lane_connector'])).toEqual(c.result);
    }
    for (const c of g.records_in_radius) {
      expect(
        map.getRecordsInRadius(c.x, c.y, c.radius, [
          'lane',
          'lane_connector',
          'ped_crossing',
          'lane_divider',
        ]),
      ).toEqual(c.result);
    }
    for (const c of g.layers_on_point) expect(map.layersOnPoint(c.x, c.y)).toEqual(c.result);
    for (const c of g.closest_lane) expect(map.getClosestLane(c.x, c.y, c.radius)).toBe(c.result);
    for (const c of g.bounds) expect(map.getBounds(c.layer, c.token)).toEqual(c.result);
    for (const [token, expected] of Object.entries(g.arcline_path))
      expect(map.getArclinePath(token)).toEqual(expected);
    for (const [token, expected] of Object.entries(g.outgoing))
      expect(map.getOutgoingLaneIds(token)).toEqual(expected);
    for (const [token, expected] of Object.entries(g.incoming))
      expect(map.getIncomingLaneIds(token)).toEqual(expected);
    for (const c of g.next_roads) {
      if (c.error !== undefined)
        expect(() => map.getNextRoads(c.x, c.y)).toThrow(/no road segment, road block or lane/);
      else expect(map.getNextRoads(c.x, c.y)).toEqual(c.result);
    }
    for (const [token, valid] of Object.entries(g.polygon_valid))
      expect(map.isPolygonValid(token), token).toBe(valid);
  });

  it('lane discretisation matches the devkit to 1e-9 m', () => {
    const g = readGolden<RecordsGolden>(`records-${mapName}.json`);
    for (const [resolution, expected] of [
      [0.5, g.discretize_lanes],
      [3.3, g.discretize_lanes_coarse],
    ] as const) {
      const got = map.discretizeLanes(Object.keys(expected), resolution);
      for (const [token, poses] of Object.entries(expected)) {
        expect(maxAbsDiff(got[token], poses)).toBeLessThan(1e-9);
      }
    }
    for (const c of g.project_pose) {
      const r = projectPoseToLane(c.pose, map.getArclinePath(c.lane));
      expect(maxAbsDiff([r.pose], [c.result[0]])).toBeLessThan(1e-9);
      expect(r.distanceAlongLaneM).toBe(c.result[1]);
    }
    for (const [token, length] of Object.entries(g.length_of_lane)) {
      expect(lengthOfLane(map.getArclinePath(token))).toBeCloseTo(length, 12);
    }
    for (const c of g.curvature) {
      expect(curvatureAtDistanceAlongLane(c.distance, map.getArclinePath(c.lane))).toBeCloseTo(c.result, 12);
    }
  });
});

interface GeomGolden {
  map_geom: {
    patch_box: [number, number, number, number];
    patch_angle: number;
    layers: {
      layer: string;
      geometries: { polygons?: { exterior: number[][]; interiors: number[][][] }[]; lines?: number[][][] }[];
    }[];
  }[];
}

/** Directed segments of closed rings or polylines, as sorted strings (order-free comparison). */
function segmentKeys(chains: readonly (readonly (readonly number[])[])[], tag: string): string[] {
  const keys: string[] = [];
  for (const c of chains)
    for (let i = 0; i + 1 < c.length; i++)
      keys.push(`${tag}:${c[i][0]},${c[i][1]}>${c[i + 1][0]},${c[i + 1][1]}`);
  return keys.sort();
}

describe.each(LOCATIONS)('devkit goldens: %s getMapGeom', (mapName) => {
  const map = new NuScenesMap({ dataroot: FIXTURE_ROOT, mapName });

  it('clipped, rotated geometry has the devkit’s exact coordinates and ring directions', () => {
    const g = readGolden<GeomGolden>(`records-${mapName}.json`);
    for (const c of g.map_geom) {
      const ours = map.getMapGeom(c.patch_box, c.patch_angle);
      expect(ours.map((l) => l.layer)).toEqual(c.layers.map((l) => l.layer));
      ours.forEach((layer, i) => {
        const expected = c.layers[i].geometries;
        expect(layer.geometries.length, layer.layer).toBe(expected.length);
        layer.geometries.forEach((geom, k) => {
          const e = expected[k];
          if (geom.kind === 'polygon') {
            const got = [
              ...segmentKeys(
                geom.polygons.map((p) => p.exterior),
                'shell',
              ),
              ...segmentKeys(
                geom.polygons.flatMap((p) => p.interiors),
                'hole',
              ),
            ].sort();
            const want = [
              ...segmentKeys(
                (e.polygons ?? []).map((p) => p.exterior),
                'shell',
              ),
              ...segmentKeys(
                (e.polygons ?? []).flatMap((p) => p.interiors),
                'hole',
              ),
            ].sort();
            expect(got, `${layer.layer}/${geom.token}`).toEqual(want);
          } else {
            expect(segmentKeys(geom.lines, 'line'), `${layer.layer}/${geom.token}`).toEqual(
              segmentKeys(e.lines ?? [], 'line'),
            );
          }
        });
      });
    }
  });
});
