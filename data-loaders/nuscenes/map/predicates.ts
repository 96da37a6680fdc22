// biome-ignore-all lint/complexity/useMathMinMax: GEOS compares with ternaries, which differ from Math.min/max on -0; kept bit-exact.
/**
 * Exact 2-D predicates and GEOS 3.11's segment intersection (LineIntersector / Intersection), which the
 * devkit's Shapely 1.8 calls for every clip. Ported because the computed intersection points decide
 * which pixel a truncated line end lands on; no npm package computes them the same way bit for bit.
 */

/** A point as [x, y]. */
export type Coord = readonly [number, number];

const view = new DataView(new ArrayBuffer(8));

/** x = mantissa · 2^exponent exactly. */
function decompose(x: number): [bigint, number] {
  if (x === 0) return [0n, 0];
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (expBits === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = expBits - 1075;
  }
  return [hi >>> 31 ? -mant : mant, exp];
}

function exactOrientation(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const parts = [ax, ay, bx, by, cx, cy].map(decompose);
  let minExp = Number.POSITIVE_INFINITY;
  for (const [m, e] of parts) if (m !== 0n && e < minExp) minExp = e;
  if (!Number.isFinite(minExp)) return 0;
  const [A, B, C, D, E, F] = parts.map(([m, e]) => (m === 0n ? 0n : m << BigInt(e - minExp)));
  const det = (C - A) * (F - D) - (D - B) * (E - C);
  return det > 0n ? 1 : det < 0n ? -1 : 0;
}

/**
 * Orientation of c relative to the directed line a→b: 1 left (counter-clockwise), -1 right, 0 collinear.
 * Exact (a float filter, then big-integer arithmetic), like GEOS's DD-based Orientation::index.
 */
export function orientation(ax: number, ay: number, bx: number, by: number, cx: number, cy: number): number {
  const detLeft = (ax - cx) * (by - cy);
  const detRight = (ay - cy) * (bx - cx);
  const det = detLeft - detRight;
  let detSum: number;
  if (detLeft > 0) {
    if (detRight <= 0) return Math.sign(det);
    detSum = detLeft + detRight;
  } else if (detLeft < 0) {
    if (detRight >= 0) return Math.sign(det);
    detSum = -detLeft - detRight;
  } else return Math.sign(det);
  const errBound = 1e-15 * detSum;
  if (det >= errBound || -det >= errBound) return Math.sign(det);
  return exactOrientation(ax, ay, bx, by, cx, cy);
}

function envIntersects4(p1: Coord, p2: Coord, q1: Coord, q2: Coord): boolean {
  const minQ = Math.min(q1[0], q2[0]);
  const maxQ = Math.max(q1[0], q2[0]);
  const minP = Math.min(p1[0], p2[0]);
  const maxP = Math.max(p1[0], p2[0]);
  if (minP > maxQ || maxP < minQ) return false;
  const minQy = Math.min(q1[1], q2[1]);
  const maxQy = Math.max(q1[1], q2[1]);
  const minPy = Math.min(p1[1], p2[1]);
  const maxPy = Math.max(p1[1], p2[1]);
  return !(minPy > maxQy || maxPy < minQy);
}

/** Point q inside the closed envelope of segment p1-p2. */
export function envCovers(p1: Coord, p2: Coord, q: Coord): boolean {
  return (
    q[0] >= (p1[0] < p2[0] ? p1[0] : p2[0]) &&
    q[0] <= (p1[0] > p2[0] ? p1[0] : p2[0]) &&
    q[1] >= (p1[1] < p2[1] ? p1[1] : p2[1]) &&
    q[1] <= (p1[1] > p2[1] ? p1[1] : p2[1])
  );
}

function equals2D(a: Coord, b: Coord): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/** GEOS `Intersection::intersection`: homogeneous coordinates after centring on the envelopes' overlap. */
function homogeneousIntersection(p1: Coord, p2: Coord, q1: Coord, q2: Coord): Coord | null {
  const minX0 = p1[0] < p2[0] ? p1[0] : p2[0];
  const minY0 = p1[1] < p2[1] ? p1[1] : p2[1];
  const maxX0 = p1[0] > p2[0] ? p1[0] : p2[0];
  const maxY0 = p1[1] > p2[1] ? p1[1] : p2[1];
  const minX1 = q1[0] < q2[0] ? q1[0] : q2[0];
  const minY1 = q1[1] < q2[1] ? q1[1] : q2[1];
  const maxX1 = q1[0] > q2[0] ? q1[0] : q2[0];
  const maxY1 = q1[1] > q2[1] ? q1[1] : q2[1];
  const intMinX = minX0 > minX1 ? minX0 : minX1;
  const intMaxX = maxX0 < maxX1 ? maxX0 : maxX1;
  const intMinY = minY0 > minY1 ? minY0 : minY1;
  const intMaxY = maxY0 < maxY1 ? maxY0 : maxY1;
  const midx = (intMinX + intMaxX) / 2.0;
  const midy = (intMinY + intMaxY) / 2.0;
  const p1x = p1[0] - midx;
  const p1y = p1[1] - midy;
  const p2x = p2[0] - midx;
  const p2y = p2[1] - midy;
  const q1x = q1[0] - midx;
  const q1y = q1[1] - midy;
  const q2x = q2[0] - midx;
  const q2y = q2[1] - midy;
  const px = p1y - p2y;
  const py = p2x - p1x;
  const pw = p1x * p2y - p2x * p1y;
  const qx = q1y - q2y;
  const qy = q2x - q1x;
  const qw = q1x * q2y - q2x * q1y;
  const x = py * qw - qy * pw;
  const y = qx * pw - px * qw;
  const w = px * qy - qx * py;
  const xInt = x / w;
  const yInt = y / w;
  if (!Number.isFinite(xInt) || !Number.isFinite(yInt)) return null;
  return [xInt + midx, yInt + midy];
}

function distance(a: Coord, b: Coord): number {
  const dx = a[0] - b[0];
  const dy = a[1] - b[1];
  return Math.sqrt(dx * dx + dy * dy);
}

/** GEOS `Distance::pointToSegment`. */
function pointToSegment(p: Coord, a: Coord, b: Coord): number {
  if (equals2D(a, b)) return distance(p, a);
  const len2 = (b[0] - a[0]) * (b[0] - a[0]) + (b[1] - a[1]) * (b[1] - a[1]);
  const r = ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / len2;
  if (r <= 0.0) return distance(p, a);
  if (r >= 1.0) return distance(p, b);
  const s = ((a[1] - p[1]) * (b[0] - a[0]) - (a[0] - p[0]) * (b[1] - a[1])) / len2;
  return Math.abs(s) * Math.sqrt(len2);
}

function nearestEndpoint(p1: Coord, p2: Coord, q1: Coord, q2: Coord): Coord {
  let nearest = p1;
  let minDist = pointToSegment(p1, q1, q2);
  let dist = pointToSegment(p2, q1, q2);
  if (dist < minDist) {
    minDist = dist;
    nearest = p2;
  }
  dist = pointToSegment(q1, p1, p2);
  if (dist < minDist) {
    minDist = dist;
    nearest = q1;
  }
  dist = pointToSegment(q2, p1, p2);
  if (dist < minDist) nearest = q2;
  return nearest;
}

export interface SegmentIntersection {
  /** 0: none, 1: one point, 2: a collinear overlap (its two end points). */
  readonly count: 0 | 1 | 2;
  readonly points: readonly Coord[];
  /** A single crossing point interior to both segments (computed, not copied from an input vertex). */
  readonly proper: boolean;
}

const NONE: SegmentIntersection = { count: 0, points: [], proper: false };

/** GEOS `LineIntersector::computeIntersect` (Z ignored, floating precision model). */
export function intersectSegments(p1: Coord, p2: Coord, q1: Coord, q2: Coord): SegmentIntersection {
  if (!envIntersects4(p1, p2, q1, q2)) return NONE;
  const pq1 = orientation(p1[0], p1[1], p2[0], p2[1], q1[0], q1[1]);
  const pq2 = orientation(p1[0], p1[1], p2[0], p2[1], q2[0], q2[1]);
  if ((pq1 > 0 && pq2 > 0) || (pq1 < 0 && pq2 < 0)) return NONE;
  const qp1 = orientation(q1[0], q1[1], q2[0], q2[1], p1[0], p1[1]);
  const qp2 = orientation(q1[0], q1[1], q2[0], q2[1], p2[0], p2[1]);
  if ((qp1 > 0 && qp2 > 0) || (qp1 < 0 && qp2 < 0)) return NONE;
  if (pq1 === 0 && pq2 === 0 && qp1 === 0 && qp2 === 0) return collinearIntersection(p1, p2, q1, q2);
  if (pq1 === 0 || pq2 === 0 || qp1 === 0 || qp2 === 0) {
    let p: Coord;
    if (equals2D(p1, q1) || equals2D(p1, q2)) p = p1;
    else if (equals2D(p2, q1) || equals2D(p2, q2)) p = p2;
    else if (pq1 === 0) p = q1;
    else if (pq2 === 0) p = q2;
    else if (qp1 === 0) p = p1;
    else p = p2;
    return { count: 1, points: [p], proper: false };
  }
  let pt = homogeneousIntersection(p1, p2, q1, q2) ?? nearestEndpoint(p1, p2, q1, q2);
  if (!(envCovers(p1, p2, pt) && envCovers(q1, q2, pt))) pt = nearestEndpoint(p1, p2, q1, q2);
  return { count: 1, points: [pt], proper: true };
}

function collinearIntersection(p1: Coord, p2: Coord, q1: Coord, q2: Coord): SegmentIntersection {
  const q1inP = envCovers(p1, p2, q1);
  const q2inP = envCovers(p1, p2, q2);
  const p1inQ = envCovers(q1, q2, p1);
  const p2inQ = envCovers(q1, q2, p2);
  const pair = (a: Coord, b: Coord, single: boolean): SegmentIntersection =>
    single ? { count: 1, points: [a], proper: false } : { count: 2, points: [a, b], proper: false };
  if (q1inP && q2inP) return pair(q1, q2, false);
  if (p1inQ && p2inQ) return pair(p1, p2, false);
  if (q1inP && p1inQ) return pair(q1, p1, equals2D(q1, p1) && !q2inP && !p2inQ);
  if (q1inP && p2inQ) return pair(q1, p2, equals2D(q1, p2) && !q2inP && !p1inQ);
  if (q2inP && p1inQ) return pair(q2, p1, equals2D(q2, p1) && !q1inP && !p2inQ);
  if (q2inP && p2inQ) return pair(q2, p2, equals2D(q2, p2) && !q1inP && !p1inQ);
  return NONE;
}

/** Where a point lies relative to an area. */
export type Location = 'interior' | 'boundary' | 'exterior';

/** A directed segment [ax, ay, bx, by]. */
export type Segment = readonly [number, number, number, number];

/**
 * Locates a point against the area bounded by `segments` (all rings together, even–odd), exactly:
 * on a segment → boundary; otherwise a ray-crossing parity test with exact orientation.
 */
export function locatePoint(px: number, py: number, segments: Iterable<Segment>): Location {
  let crossings = 0;
  for (const [ax, ay, bx, by] of segments) {
    if (py < Math.min(ay, by) || py > Math.max(ay, by)) continue;
    if (px > Math.max(ax, bx)) continue;
    if (ay === by) {
      if (py === ay && px >= Math.min(ax, bx)) return 'boundary';
      continue;
    }
    const o = orientation(ax, ay, bx, by, px, py);
    if (o === 0) return 'boundary';
    if (ay <= py && py < by && o > 0) crossings++;
    else if (by <= py && py < ay && o < 0) crossings++;
  }
  return crossings % 2 === 1 ? 'interior' : 'exterior';
}

/** Twice the signed area (positive for counter-clockwise) of a ring given as a closed point list. */
export function signedArea2(ring: readonly Coord[]): number {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return s;
}
