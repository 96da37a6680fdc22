// getMapMask on hand-made maps, with the expected pixels worked out by hand in each test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MapMaskResult, NuScenesMap } from '../../../data-loaders/nuscenes/map/index.ts';
import { isSpikedriveError } from '../../../src/util/errors.ts';
import { MapBuilder, TempDataroot } from './map-test-helpers.ts';

const X0 = 100;
const Y0 = 200;

/** Pixels set in one mask, as [row, col]. */
function pixels(result: MapMaskResult, layer: number): [number, number][] {
  const out: [number, number][] = [];
  const m = result.masks[layer];
  for (let r = 0; r < result.height; r++)
    for (let c = 0; c < result.width; c++) if (m[r * result.width + c]) out.push([r, c]);
  return out;
}

function rect(r0: number, r1: number, c0: number, c1: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) out.push([r, c]);
  return out;
}

describe('getMapMask on hand-made maps', () => {
  let tmp: TempDataroot;
  let map: NuScenesMap;

  beforeAll(() => {
    const b = new MapBuilder();
    // A 10 m × 20 m drivable square (x 110..120, y 210..230).
    b.drivableArea('square', [
      [
        [X0 + 10, Y0 + 10],
        [X0 + 20, Y0 + 10],
        [X0 + 20, Y0 + 30],
        [X0 + 10, Y0 + 30],
      ],
    ]);
    // A 20 m square with a 10 m hole, far from the first (x 300..320, y 200..220).
    b.drivableArea(
      'ring',
      [
        [
          [300, 200],
          [320, 200],
          [320, 220],
          [300, 220],
        ],
      ],
      [
        [
          [305, 205],
          [315, 205],
          [315, 215],
          [305, 215],
        ],
      ],
    );
    // A self-intersecting walkway (skipped by the devkit) and a self-intersecting drivable area (drawn).
    b.walkway('bowtie', [
      [500, 500],
      [510, 510],
      [510, 500],
      [500, 510],
    ]);
    b.drivableArea('bowtie-da', [
      [
        [500, 500],
        [510, 510],
        [510, 500],
        [500, 510],
      ],
    ]);
    // A lane divider along y = 210.2 from x = 402.7 to 417.9, and one leaving the patch eastwards.
    b.laneDivider('short', [
      [402.7, 210.2],
      [417.9, 210.2],
    ]);
    b.laneDivider('long', [
      [405.0, 215.5],
      [480.0, 215.5],
    ]);
    b.trafficLight('light', [
      [405, 205],
      [406, 205],
    ]);
    tmp = new TempDataroot();
    tmp.write('singapore-onenorth', b.json);
    map = new NuScenesMap({ dataroot: tmp.root, mapName: 'singapore-onenorth' });
  });

  afterAll(() => tmp.remove());

  it('fills an axis-aligned square: local x → columns, local y → rows (row 0 south)', () => {
    // Patch centred on (115, 220), 40 m high (y) × 20 m wide (x), 1 px/m: local = global − (105, 200).
    const r = map.getMapMask([X0 + 15, Y0 + 20, 40, 20], 0, ['drivable_area'], [40, 20]);
    expect(r.shape).toEqual([1, 40, 20]);
    expect(r.layers).toEqual(['drivable_area']);
    // x 110..120 → columns 5..15, y 210..230 → rows 10..30 (vertices rounded, edges included).
    expect(pixels(r, 0)).toEqual(rect(10, 30, 5, 15));
  });

  it('rotates the patch counter-clockwise about its centre', () => {
    // Same square, 40 m × 40 m patch turned by 90°: local x points north, local y points west.
    // Local (x', y') = (dy, −dx) + (20, 20) with (dx, dy) from the centre (115, 220):
    // dx ∈ [−5, 5] → rows 15..25, dy ∈ [−10, 10] → columns 10..30.
    const r = map.getMapMask([X0 + 15, Y0 + 20, 40, 40], 90, ['drivable_area'], [40, 40]);
    expect(pixels(r, 0)).toEqual(rect(15, 25, 10, 30));
  });

  it('scales to the canvas (2 px/m) and clips at the patch edge', () => {
    // A 10 m × 10 m patch centred on the square's corner (120, 230): only its lower-left quarter is
    // covered; at 2 px/m the square spans columns 0..10 and rows 0..10.
    const r = map.getMapMask([X0 + 20, Y0 + 30, 10, 10], 0, ['drivable_area'], [20, 20]);
    expect(pixels(r, 0)).toEqual(rect(0, 10, 0, 10));
  });

  it('fills exteriors with 1, then holes with 0 (hole outline included)', () => {
    // Patch = the ring's bounding box at 1 px/m: exterior columns/rows 0..20, hole 5..15.
    const r = map.getMapMask([310, 210, 20, 20], 0, ['drivable_area'], [20, 20]);
    const expected = rect(0, 19, 0, 19).filter(
      ([row, col]) => !(row >= 5 && row <= 15 && col >= 5 && col <= 15),
    );
    expect(pixels(r, 0)).toEqual(expected);
  });

  it('draws lines with truncated coordinates and thickness 2; skips traffic lights', () => {
    // Patch x 400..420, y 200..220 at 1 px/m: the short divider runs from (2.7, 10.2) to (17.9, 10.2),
    // truncated to (2, 10)–(17, 10): rows 9..11 over columns 2..17, plus caps at (10, 1) and (10, 18).
    const r = map.getMapMask([410, 210, 20, 20], 0, ['traffic_light', 'lane_divider'], [20, 20]);
    expect(r.layers).toEqual(['lane_divider']);
    expect(r.shape).toEqual([1, 20, 20]);
    const band = [...rect(9, 9, 2, 17), ...rect(10, 10, 1, 18), ...rect(11, 11, 2, 17)];
    // The long divider (y 15.5 → row 15) is clipped at the east edge, x = 20, i.e. column 19 onwards
    // is outside: columns 5..19 on rows 14..16, its west cap at (15, 4).
    const long = [...rect(14, 14, 5, 19), ...rect(15, 15, 4, 19), ...rect(16, 16, 5, 19)];
    const expected = [...band, ...long].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(pixels(r, 0)).toEqual(expected);
  });

  it('skips invalid polygons except in drivable_area', () => {
    const r = map.getMapMask([505, 505, 20, 20], 0, ['walkway', 'drivable_area'], [20, 20]);
    expect(r.layers).toEqual(['walkway', 'drivable_area']);
    expect(pixels(r, 0).length).toBe(0);
    expect(pixels(r, 1).length).toBeGreaterThan(0);
    expect(map.isPolygonValid(map.records('walkway')[0].polygon_token)).toBe(false);
  });

  it('takes the whole map for patchBox = null and 10 px/m for canvasSize = null', () => {
    const whole = map.getMapMask(null, 0, ['drivable_area'], [50, 40]);
    expect(whole.shape).toEqual([1, 50, 40]);
    // singapore-onenorth is 1585.6 m × 2025.0 m; the 10 m square at (110..120, 210..230) lands on
    // columns round(110·40/1585.6)=3 .. round(120·40/1585.6)=3 and rows 5..6.
    expect(pixels(whole, 0).some(([row, col]) => row === 5 && col === 3)).toBe(true);
    const native = map.getMapMask([X0 + 15, Y0 + 20, 3.0, 4.5], 0, ['drivable_area'], null);
    expect([native.height, native.width]).toEqual([30, 45]);
    expect(native.masks[0].every((v) => v === 1)).toBe(true);
  });

  it('uses the devkit defaults: every layer, 100 × 100 px', () => {
    const r = map.getMapMask([X0 + 15, Y0 + 20, 40, 20], 0);
    expect(r.layers).toEqual([
      'drivable_area',
      'road_segment',
      'road_block',
      'lane',
      'ped_crossing',
      'walkway',
      'stop_line',
      'carpark_area',
      'road_divider',
      'lane_divider',
    ]);
    expect(r.shape).toEqual([10, 100, 100]);
  });

  it('getMapGeom gives the clipped geometry in the patch frame, shells clockwise', () => {
    const [layer] = map.getMapGeom([X0 + 15, Y0 + 20, 40, 20], 0, ['drivable_area']);
    expect(layer.layer).toBe('drivable_area');
    expect(layer.geometries.length).toBe(1); // the ring and the bow-tie lie outside the patch
    const geom = layer.geometries[0];
    if (geom.kind !== 'polygon') throw new Error('expected a polygon');
    const ring = geom.polygons[0].exterior;
    // The square x 110..120, y 210..230 around the centre (115, 220): x ∈ [−5, 5], y ∈ [−10, 10].
    expect(new Set(ring.map(([x, y]) => `${x},${y}`))).toEqual(new Set(['-5,-10', '5,-10', '5,10', '-5,10']));
    let area2 = 0;
    for (let i = 0; i + 1 < ring.length; i++)
      area2 += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
    expect(area2).toBe(-400); // clockwise, 10 m × 20 m
    const [lines] = map.getMapGeom([410, 210, 20, 20], 0, ['lane_divider']);
    const first = lines.geometries[0];
    if (first.kind !== 'line') throw new Error('expected a line');
    expect(first.lines).toEqual([
      [
        [402.7 - 410, 210.2 - 210],
        [417.9 - 410, 210.2 - 210],
      ],
    ]);
  });

  it('rejects bad arguments with a SpikedriveError naming the option', () => {
    const bad: [() => unknown, string][] = [
      [() => map.getMapMask([0, 0, 10, 10], 0, ['lane_connector'], [10, 10]), 'lane_connector'],
      [() => map.getMapMask([0, 0, -1, 10], 0, ['lane'], [10, 10]), 'must be positive'],
      [() => map.getMapMask([0, Number.NaN, 10, 10], 0, ['lane'], [10, 10]), 'must be a finite number'],
      [() => map.getMapMask([0, 0, 10, 10], Number.POSITIVE_INFINITY, ['lane'], [10, 10]), 'patch angle'],
      [
        () => map.getMapMask([0, 0, 10, 10], 0, ['lane'], [10.5, 10]),
        'canvas size must be two positive integers',
      ],
      [() => map.getMapMask([0, 0, 10, 10], 0, ['lane'], [0, 10]), 'canvas size'],
    ];
    for (const [fn, text] of bad) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(isSpikedriveError(error)).toBe(true);
      expect((error as Error).message).toContain(text);
    }
  });
});
