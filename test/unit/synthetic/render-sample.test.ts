import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NuScenes } from '../../../data-loaders/nuscenes/nuscenes.ts';
import {
  CAMERA_LAYOUT,
  collectSampleFigure,
  figureLayout,
  type MapMaskSource,
  renderSample,
} from '../../../data-loaders/nuscenes/render/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { type TinyDataset, writeTinyDataset } from './render-dataset.ts';

let dir: string;
let ds: TinyDataset;
let nusc: NuScenes;
const TILE = 320;
const layout = figureLayout(TILE);
// Positions in the figure (see figure.ts): 6 px gaps, a 34 px header, tiles then the square BEV panel.
const GAP = 6;
const HEADER = 34;
const tileOrigin = (i: number) => [
  GAP + (i % 3) * (layout.tileWidth + GAP),
  HEADER + Math.floor(i / 3) * (layout.tileHeight + GAP),
];
const bevLeft = GAP + 3 * (layout.tileWidth + GAP);
const pxPerM = layout.bevSize / 100;
/** Figure pixel of an ego-frame point (x forward, y left) in the BEV panel. */
const bevPixel = (x: number, y: number) => [bevLeft + (50 - y) * pxPerM, HEADER + (50 - x) * pxPerM];

/** A map whose drivable area is everything more than 20 m ahead, and whose walkway is everything 20 m to the left. */
const calls: unknown[][] = [];
const halfPlaneMap: MapMaskSource = {
  mapMasks(patchBox, angle, layers, n) {
    calls.push([patchBox, angle, layers, n]);
    const ahead = new Uint8Array(n * n);
    const left = new Uint8Array(n * n);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        // devkit orientation: row index along local y, column along local x, both from −50 m.
        if (-50 + ((c + 0.5) * 100) / n > 20) ahead[r * n + c] = 1;
        if (-50 + ((r + 0.5) * 100) / n > 20) left[r * n + c] = 1;
      }
    }
    return [
      { name: 'drivable_area', mask: ahead },
      { name: 'walkway', mask: left },
    ];
  },
};

async function decode(png: Uint8Array) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const o = (Math.round(y) * info.width + Math.round(x)) * info.channels;
    return [data[o], data[o + 1], data[o + 2]];
  };
  /** Pixels in a rectangle that pass a colour test, and their centroid. */
  const find = (x0: number, y0: number, w: number, h: number, test: (p: number[]) => boolean) => {
    let n = 0;
    let sx = 0;
    let sy = 0;
    for (let y = y0; y < y0 + h; y++) {
      for (let x = x0; x < x0 + w; x++) {
        if (test(at(x, y))) {
          n++;
          sx += x;
          sy += y;
        }
      }
    }
    return { n, x: sx / n, y: sy / n };
  };
  return { info, at, find };
}
// vehicle.car is (255, 158, 0); the road's yellow centre line (220, 180, 40) must not pass.
const isCarOrange = ([r, g, b]: number[]) => r > 235 && g > 120 && g < 172 && b < 45;
const isPedBlue = ([r, g, b]: number[]) => b > 170 && r < 70 && g < 70;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spikedrive-render-sample-'));
  ds = await writeTinyDataset(dir, 640);
  nusc = new NuScenes({ dataroot: dir, version: ds.version, verbose: false });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('renderSample (devkit render_sample)', () => {
  it('draws the six cameras in the devkit layout with each annotation boxed where it is seen', async () => {
    const png = await renderSample(nusc, ds.sampleTokens[1], { tileWidth: TILE, map: halfPlaneMap });
    const img = await decode(png);
    expect([img.info.width, img.info.height]).toEqual([layout.width, layout.height]);
    const inTile = (i: number, test: (p: number[]) => boolean) => {
      const [x0, y0] = tileOrigin(i);
      return img.find(x0, y0, layout.tileWidth, layout.tileHeight, test).n;
    };
    const front = CAMERA_LAYOUT.indexOf('CAM_FRONT');
    // The car 15 m ahead: its box lines are in the front tile only (the rasterised car itself is grey-blue).
    expect(inTile(front, isCarOrange)).toBeGreaterThan(100);
    for (const i of [0, 2, 3, 4, 5]) expect(inTile(i, isCarOrange)).toBe(0);
    // The pedestrian 8 m to the left: seen by the left cameras only.
    const leftSide =
      inTile(CAMERA_LAYOUT.indexOf('CAM_FRONT_LEFT'), isPedBlue) +
      inTile(CAMERA_LAYOUT.indexOf('CAM_BACK_LEFT'), isPedBlue);
    expect(leftSide).toBeGreaterThan(50);
    for (const ch of ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK', 'CAM_BACK_RIGHT'] as const) {
      expect(inTile(CAMERA_LAYOUT.indexOf(ch), isPedBlue)).toBe(0);
    }
    // The front box lines sit around the tile's centre column, where K puts a car straight ahead.
    const [fx0, fy0] = tileOrigin(front);
    const car = img.find(fx0, fy0, layout.tileWidth, layout.tileHeight, isCarOrange);
    expect(Math.abs(car.x - (fx0 + layout.tileWidth / 2))).toBeLessThan(8);
  });

  it('puts BEV boxes, map layers and the ego path in the ego frame, forward up and left to the left', async () => {
    const png = await renderSample(nusc, ds.sampleTokens[1], { tileWidth: TILE, map: halfPlaneMap });
    const img = await decode(png);
    // The map is asked for a 100 m patch centred on the ego at its yaw (0°), canvas = panel size.
    expect(calls.at(-1)?.slice(0, 2)).toEqual([[ds.egoX[1], -1.75, 100, 100], 0]);
    expect(calls.at(-1)?.[3]).toBe(layout.bevSize);
    // Searched within 6 m of where each should be (the legend swatches share the colours).
    const near = (x: number, y: number, test: (p: number[]) => boolean) => {
      const [cx, cy] = bevPixel(x, y);
      const r = 6 * pxPerM;
      return img.find(Math.round(cx - r), Math.round(cy - r), Math.round(2 * r), Math.round(2 * r), test);
    };
    // Car: 15 m ahead on the ego's lane; nothing car-coloured elsewhere below the legend.
    const car = near(15, 0, isCarOrange);
    expect(car.n).toBeGreaterThan(50);
    const [carX, carY] = bevPixel(15, 0);
    expect(Math.abs(car.x - carX)).toBeLessThan(2);
    expect(Math.abs(car.y - carY)).toBeLessThan(2);
    // Pedestrian: 2 m ahead, 8 m to the left.
    const ped = near(2, 8, isPedBlue);
    expect(ped.n).toBeGreaterThan(5);
    const [pedX, pedY] = bevPixel(2, 8);
    expect(Math.abs(ped.x - pedX)).toBeLessThan(2);
    expect(Math.abs(ped.y - pedY)).toBeLessThan(2);
    // Drivable area (light blue) beyond 20 m ahead only; walkway (red tint) beyond 20 m left only.
    // drivable_area #a6cee3 at 50 % over white: (210, 230, 241).
    const isDrivable = ([r, , b]: number[]) => b > r + 20 && b > 200;
    expect(isDrivable(img.at(...(bevPixel(28, -10) as [number, number])))).toBe(true);
    expect(isDrivable(img.at(...(bevPixel(-35, -10) as [number, number])))).toBe(false);
    const isWalkway = ([r, g, b]: number[]) => r > 220 && g < 170 && b < 170;
    expect(isWalkway(img.at(...(bevPixel(0, 35) as [number, number])))).toBe(true);
    expect(isWalkway(img.at(...(bevPixel(0, -35) as [number, number])))).toBe(false);
    // The earlier ego pose (2.5 m behind) is drawn in grey behind the ego car.
    const [px, py] = bevPixel(-2.5, 0);
    const [r, g, b] = img.at(px, py);
    expect(Math.abs(r - 0x60)).toBeLessThan(30);
    expect(Math.abs(g - r) + Math.abs(b - r)).toBeLessThan(10);
  });

  it('draws the future ego path in violet ahead of the ego', async () => {
    const png = await renderSample(nusc, ds.sampleTokens[0], { tileWidth: TILE, map: null });
    const img = await decode(png);
    const [x, y] = bevPixel(5, 0);
    const [r, g, b] = img.at(x, y);
    expect(r).toBeGreaterThan(g + 40);
    expect(b).toBeGreaterThan(g + 40);
  });

  it('is byte-identical across runs', async () => {
    const a = await renderSample(nusc, ds.sampleTokens[2], { tileWidth: TILE, map: halfPlaneMap });
    const b = await renderSample(nusc, ds.sampleTokens[2], { tileWidth: TILE, map: halfPlaneMap });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('says when there is no map expansion for the location, and still draws the BEV', async () => {
    const figure = await collectSampleFigure(nusc, ds.sampleTokens[1], { openMap: () => undefined });
    expect(figure.bev.note).toMatch(/no map expansion for singapore-onenorth/);
    expect(figure.bev.mapLayers).toEqual([]);
    expect(figure.bev.boxes.map((b) => b.name).sort()).toEqual(['human.pedestrian.adult', 'vehicle.car']);
    // Boxes in the flat ego frame: the car 15 m straight ahead.
    const car = figure.bev.boxes.find((b) => b.name === 'vehicle.car')!;
    expect(car.center[0]).toBeCloseTo(15, 9);
    expect(car.center[1]).toBeCloseTo(0, 9);
  });

  it('fails clearly on an unknown sample token and on a missing camera image', async () => {
    await expect(renderSample(nusc, 'f'.repeat(32))).rejects.toThrow(SpikedriveError);
    await expect(renderSample(nusc, 'f'.repeat(32))).rejects.toThrow(/sample has no record/);
    unlinkSync(ds.middleImages.CAM_BACK);
    const missing = renderSample(nusc, ds.sampleTokens[1], { tileWidth: TILE, map: null });
    await expect(missing).rejects.toThrow(SpikedriveError);
    await expect(renderSample(nusc, ds.sampleTokens[1], { map: null })).rejects.toThrow(
      /CAM_BACK.*is missing/,
    );
  });
});

describe('spikedrive data render', () => {
  it('writes the figure PNG for --scene/--index and fails with a clear message on a bad token', async () => {
    const { main } = await import('../../../src/cli/main.ts');
    const out = join(dir, 'figure.png');
    const args = ['node', 'spikedrive', 'data', 'render', '--dataroot', dir, '--version', 'v1.0-mini'];
    const log = console.log;
    const error = console.error;
    const printed: string[] = [];
    console.log = (line: string) => printed.push(line);
    console.error = (line: string) => printed.push(line);
    try {
      expect(
        await main([...args, '--scene', 'scene-0061', '--index', '2', '--out', out, '--tile-width', '240']),
      ).toBe(0);
      const meta = await sharp(out).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([
        'png',
        figureLayout(240).width,
        figureLayout(240).height,
      ]);
      expect(printed.join('\n')).toContain(ds.sampleTokens[2]);
      expect(await main([...args, '--sample', 'nope', '--out', out])).toBe(1);
      expect(printed.join('\n')).toMatch(/sample has no record with token "nope"/);
      expect(await main([...args, '--sample', ds.sampleTokens[0], '--out', join(dir, 'x.jpg')])).toBe(1);
      expect(printed.join('\n')).toMatch(/not a \.png file/);
    } finally {
      console.log = log;
      console.error = error;
    }
  });
});

describe('the BEV map from the map expansion (devkit-port fixture dataroot, laid out as real v1.0-mini)', () => {
  const fixtureRoot = join(import.meta.dirname, '../../fixtures/nuscenes');

  it('reads getMapMask layers for the patch, and is absent when the location has no expansion file', async () => {
    const { openMapExpansion } = await import('../../../data-loaders/nuscenes/render/index.ts');
    const { NuScenesMap } = await import('../../../data-loaders/nuscenes/map/index.ts');
    expect(openMapExpansion(dir, 'singapore-onenorth')).toBeUndefined();
    const source = openMapExpansion(fixtureRoot, 'singapore-onenorth');
    expect(source).toBeDefined();
    const fixture = new NuScenes({ dataroot: fixtureRoot, version: 'v1.0-mini', verbose: false });
    const sample = fixture.get('sample', fixture.scenes[0].first_sample_token);
    const pose = fixture.egoPoseOf(sample.data!.LIDAR_TOP!);
    const patch: [number, number, number, number] = [pose.translation[0], pose.translation[1], 100, 100];
    const layers = source!.mapMasks(patch, 30, ['drivable_area', 'lane_divider'], 120);
    const direct = new NuScenesMap({ dataroot: fixtureRoot, mapName: 'singapore-onenorth' }).getMapMask(
      patch,
      30,
      ['drivable_area', 'lane_divider'],
      [120, 120],
    );
    expect(layers.map((l) => l.name)).toEqual(['drivable_area', 'lane_divider']);
    expect(layers[0].mask).toEqual(direct.masks[0]);
    expect(layers[1].mask).toEqual(direct.masks[1]);
    expect(layers[0].mask.includes(1)).toBe(true);
  });

  it('renders a fixture sample through the CLI with the map under the BEV', async () => {
    const { main } = await import('../../../src/cli/main.ts');
    const out = join(dir, 'fixture.png');
    const log = console.log;
    console.log = () => {};
    try {
      const args = [
        'node',
        'spikedrive',
        'data',
        'render',
        '--dataroot',
        fixtureRoot,
        '--scene',
        'scene-0061',
      ];
      expect(await main([...args, '--out', out, '--tile-width', '240'])).toBe(0);
    } finally {
      console.log = log;
    }
    const small = figureLayout(240);
    const img = await decode(new Uint8Array(await sharp(out).png().toBuffer()));
    const left = GAP + 3 * (small.tileWidth + GAP);
    // drivable_area at 50 % over white is (210, 230, 241): present somewhere in the BEV panel.
    const drivable = img.find(
      left,
      HEADER,
      small.bevSize,
      small.bevSize,
      ([r, g, b]) => b > r + 20 && b > 225 && g > 220,
    );
    expect(drivable.n).toBeGreaterThan(100);
  });
});
