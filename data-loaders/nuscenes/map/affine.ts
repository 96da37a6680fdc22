/**
 * Shapely 1.8's `affinity` functions with its exact floating-point operation order
 * (`x' = a*x + b*y + xoff`), so rotated coordinates match the devkit's to the last bit.
 */
import type { Coord } from './predicates.ts';
import { cosGlibc, sinGlibc } from './trig.ts';

/** An affine map as Shapely stores it: x' = a*x + b*y + xoff, y' = d*x + e*y + yoff. */
export interface Affine {
  readonly a: number;
  readonly b: number;
  readonly d: number;
  readonly e: number;
  readonly xoff: number;
  readonly yoff: number;
}

export function applyAffine(m: Affine, c: Coord): Coord {
  return [m.a * c[0] + m.b * c[1] + m.xoff, m.d * c[0] + m.e * c[1] + m.yoff];
}

/** `affinity.rotate(geom, angleDeg, origin=(x0, y0))`. */
export function rotation(angleDeg: number, x0: number, y0: number): Affine {
  const angle = (angleDeg * Math.PI) / 180.0;
  let cosp = cosGlibc(angle);
  let sinp = sinGlibc(angle);
  if (Math.abs(cosp) < 2.5e-16) cosp = 0.0;
  if (Math.abs(sinp) < 2.5e-16) sinp = 0.0;
  return {
    a: cosp,
    b: -sinp,
    d: sinp,
    e: cosp,
    xoff: x0 - x0 * cosp + y0 * sinp,
    yoff: y0 - x0 * sinp - y0 * cosp,
  };
}

/** `affinity.affine_transform(geom, [1, 0, 0, 1, dx, dy])`. */
export function translation(dx: number, dy: number): Affine {
  return { a: 1.0, b: 0.0, d: 0.0, e: 1.0, xoff: dx, yoff: dy };
}

/** `affinity.scale(geom, xfact, yfact, origin=(0, 0))`. */
export function scaling(xfact: number, yfact: number): Affine {
  return { a: xfact, b: 0.0, d: 0.0, e: yfact, xoff: 0.0 - 0.0 * xfact, yoff: 0.0 - 0.0 * yfact };
}

/** `shapely.geometry.box(minx, miny, maxx, maxy)` (counter-clockwise, closed). */
export function boxRing(minx: number, miny: number, maxx: number, maxy: number): Coord[] {
  return [
    [maxx, miny],
    [maxx, maxy],
    [minx, maxy],
    [minx, miny],
    [maxx, miny],
  ];
}

/**
 * The devkit's `get_patch_coord`: the patch box (x_c, y_c, height, width) as a ring, rotated
 * counter-clockwise by `angleDeg` about its centre.
 */
export function patchRing(
  xCenter: number,
  yCenter: number,
  height: number,
  width: number,
  angleDeg: number,
): Coord[] {
  const xMin = xCenter - width / 2.0;
  const yMin = yCenter - height / 2.0;
  const xMax = xCenter + width / 2.0;
  const yMax = yCenter + height / 2.0;
  const rot = rotation(angleDeg, xCenter, yCenter);
  return boxRing(xMin, yMin, xMax, yMax).map((c) => applyAffine(rot, c));
}
