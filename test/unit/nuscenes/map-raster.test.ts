// cv2.fillPoly / cv2.polylines emulation: hand-computed pixels, then random calls against real cv2 4.6.
import { describe, expect, it } from 'vitest';
import { createRaster, fillPoly, polylines, type Raster } from '../../../data-loaders/nuscenes/map/raster.ts';
import { readGolden, unRle } from './map-test-helpers.ts';

function pixels(img: Raster): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < img.height; r++)
    for (let c = 0; c < img.width; c++) if (img.data[r * img.width + c]) out.push([r, c]);
  return out;
}

describe('cv2 rasterisation', () => {
  it('fills a small axis-aligned square including its outline', () => {
    const img = createRaster(5, 6);
    fillPoly(
      img,
      [
        [
          [1, 1],
          [4, 1],
          [4, 3],
          [1, 3],
        ],
      ],
      1,
    );
    // Rows 1..3, columns 1..4: 12 pixels, as cv2.fillPoly gives.
    const expected: [number, number][] = [];
    for (let r = 1; r <= 3; r++) for (let c = 1; c <= 4; c++) expected.push([r, c]);
    expect(pixels(img)).toEqual(expected);
  });

  it('draws an 8-connected Bresenham line (thickness 1)', () => {
    const img = createRaster(3, 6);
    polylines(
      img,
      [
        [
          [0, 0],
          [5, 2],
        ],
      ],
      false,
      1,
      1,
    );
    expect(pixels(img)).toEqual([
      [0, 0],
      [0, 1],
      [1, 2],
      [1, 3],
      [2, 4],
      [2, 5],
    ]);
  });

  it('draws a thickness-2 line as a 3-pixel band with plus-shaped round caps', () => {
    const img = createRaster(10, 10);
    polylines(
      img,
      [
        [
          [2, 3],
          [7, 3],
        ],
      ],
      false,
      1,
      2,
    );
    const expected: [number, number][] = [];
    for (const r of [2, 3, 4]) {
      const [c0, c1] = r === 3 ? [1, 8] : [2, 7];
      for (let c = c0; c <= c1; c++) expected.push([r, c]);
    }
    expect(pixels(img)).toEqual(expected);
  });

  it('fills several contours of one call even–odd (overlaps stay empty inside, outlines drawn)', () => {
    const img = createRaster(8, 8);
    fillPoly(
      img,
      [
        [
          [0, 0],
          [4, 0],
          [4, 4],
          [0, 4],
        ],
        [
          [2, 2],
          [6, 2],
          [6, 6],
          [2, 6],
        ],
      ],
      1,
    );
    expect(img.data[3 * 8 + 3]).toBe(0);
    expect(img.data[1 * 8 + 1]).toBe(1);
    expect(img.data[5 * 8 + 5]).toBe(1);
    expect(img.data[2 * 8 + 3]).toBe(1); // B's top edge, drawn by the outline pass
    expect(pixels(img).length).toBe(40);
  });

  it('clips shapes that leave the image', () => {
    const img = createRaster(4, 4);
    fillPoly(
      img,
      [
        [
          [-5, -5],
          [10, -5],
          [10, 10],
          [-5, 10],
        ],
      ],
      1,
    );
    expect(pixels(img).length).toBe(16);
    const line = createRaster(4, 4);
    polylines(
      line,
      [
        [
          [-10, 1],
          [20, 1],
        ],
      ],
      false,
      1,
      2,
    );
    expect(pixels(line)).toEqual([0, 1, 2].flatMap((r) => [0, 1, 2, 3].map((c) => [r, c])));
  });

  it('matches cv2 4.6 pixel for pixel on 400 random fillPoly / polylines calls', () => {
    const golden = readGolden<{
      cases: {
        kind: 'fillPoly' | 'polylines';
        h: number;
        w: number;
        contours?: [number, number][][];
        lines?: [number, number][][];
        color?: number;
        closed?: boolean;
        thickness?: number;
        before: string;
        after: string;
      }[];
    }>('cv2-raster.json');
    expect(golden.cases.length).toBe(400);
    let differing = 0;
    for (const c of golden.cases) {
      const img = createRaster(c.h, c.w);
      img.data.set(unRle(c.before, c.h * c.w));
      if (c.kind === 'fillPoly') fillPoly(img, c.contours ?? [], c.color ?? 1);
      else polylines(img, c.lines ?? [], c.closed ?? false, 1, c.thickness ?? 1);
      const expected = unRle(c.after, c.h * c.w);
      for (let i = 0; i < expected.length; i++) if (expected[i] !== img.data[i]) differing++;
    }
    expect(differing).toBe(0);
  });
});
