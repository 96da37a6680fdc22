/**
 * Shapely's `Polygon.is_valid` (GEOS 3.11 IsValidOp, OGC rules, inverted rings invalid): the devkit
 * skips invalid polygons (except drivable_area) when it draws masks, so we must decide validity the way
 * GEOS does. Ported check by check: ring sizes, self- and cross-intersections, holes inside the shell,
 * holes not nested, interior connected. Hand-written: no npm package follows GEOS's rules.
 */
import {
  type Coord,
  envCovers,
  intersectSegments,
  locatePoint,
  orientation,
  type Segment,
  signedArea2,
} from './predicates.ts';

/** Removes consecutive repeated points. */
function removeRepeated(ring: readonly Coord[]): Coord[] {
  const out: Coord[] = [];
  for (const p of ring) {
    const last = out[out.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) out.push(p);
  }
  return out;
}

function quadrant(dx: number, dy: number): number {
  if (dx >= 0) return dy >= 0 ? 0 : 3;
  return dy >= 0 ? 1 : 2;
}

/** PolygonNode::isAngleGreater: the angle of p about origin is greater than that of q. */
function isAngleGreater(o: Coord, p: Coord, q: Coord): boolean {
  const qp = quadrant(p[0] - o[0], p[1] - o[1]);
  const qq = quadrant(q[0] - o[0], q[1] - o[1]);
  if (qp > qq) return true;
  if (qp < qq) return false;
  return orientation(o[0], o[1], q[0], q[1], p[0], p[1]) === 1;
}

function isBetween(o: Coord, p: Coord, e0: Coord, e1: Coord): boolean {
  if (!isAngleGreater(o, p, e0)) return false;
  return !isAngleGreater(o, p, e1);
}

/** PolygonNode::isCrossing: the two edge pairs at a node cross. */
function isCrossing(node: Coord, a0: Coord, a1: Coord, b0: Coord, b1: Coord): boolean {
  let aLo = a0;
  let aHi = a1;
  if (isAngleGreater(node, aLo, aHi)) {
    aLo = a1;
    aHi = a0;
  }
  return isBetween(node, b0, aLo, aHi) !== isBetween(node, b1, aLo, aHi);
}

function isInteriorSegment(node: Coord, a0: Coord, a1: Coord, b: Coord): boolean {
  let aLo = a0;
  let aHi = a1;
  let interiorBetween = true;
  if (isAngleGreater(node, aLo, aHi)) {
    aLo = a1;
    aHi = a0;
    interiorBetween = false;
  }
  const between = isBetween(node, b, aLo, aHi);
  return (between && interiorBetween) || (!between && !interiorBetween);
}

function ringSegments(ring: readonly Coord[]): Segment[] {
  const segs: Segment[] = [];
  for (let i = 0; i + 1 < ring.length; i++)
    segs.push([ring[i][0], ring[i][1], ring[i + 1][0], ring[i + 1][1]]);
  return segs;
}

function eq(a: Coord, b: Coord): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

/** PolygonTopologyAnalyzer::isRingNested: is ring `test` inside ring `target` (first point, then incident segment)? */
function isRingNested(test: readonly Coord[], target: readonly Coord[]): boolean {
  const p0 = test[0];
  const loc = locatePoint(p0[0], p0[1], ringSegments(target));
  if (loc === 'exterior') return false;
  if (loc === 'interior') return true;
  let i = 1;
  while (eq(test[i], p0) && i < test.length - 1) i++;
  const p1 = test[i];
  // The target segment the node lies on, and the target's vertices either side of the node.
  let index = -1;
  for (let k = 0; k + 1 < target.length; k++) {
    const r = intersectSegments(p0, p0, target[k], target[k + 1]);
    if (r.count > 0) {
      index = eq(p0, target[k + 1]) ? k + 1 : k;
      break;
    }
  }
  if (index < 0) return false;
  const n = target.length;
  let iPrev = index;
  while (eq(target[iPrev], p0)) iPrev = iPrev === 0 ? n - 2 : iPrev - 1;
  let iNext = index + 1;
  if (iNext >= n) iNext = 0;
  while (eq(target[iNext], p0)) iNext = iNext >= n - 2 ? 0 : iNext + 1;
  let rPrev = target[iPrev];
  let rNext = target[iNext];
  const interiorOnRight = signedArea2(target) <= 0;
  if (!interiorOnRight) [rPrev, rNext] = [rNext, rPrev];
  return isInteriorSegment(p0, rPrev, rNext, p1);
}

interface RingInfo {
  pts: Coord[];
  isShell: boolean;
  /** Touch points with other rings of the polygon, by ring id. */
  touches: Map<number, Coord>;
  root: number;
}

/**
 * `Polygon(shell, holes).is_valid` for rings given as closed point lists (first point repeated at the end;
 * Shapely closes open rings the same way).
 */
export function isPolygonValid(shell: readonly Coord[], holes: readonly (readonly Coord[])[]): boolean {
  const rawRings = [shell, ...holes.filter((h) => h.length > 0)];
  for (const r of rawRings) {
    if (r.some((p) => !Number.isFinite(p[0]) || !Number.isFinite(p[1]))) return false;
    if (!eq(r[0], r[r.length - 1])) return false;
    // MIN_SIZE_RING: 4 points once repeats are removed.
    if (removeRepeated(r).length < 4) return false;
  }
  const hasHoles = rawRings.length > 1;
  const rings: RingInfo[] = rawRings.map((r, i) => ({
    pts: removeRepeated(r),
    isShell: i === 0,
    touches: new Map(),
    root: -1,
  }));
  // Area intersections (PolygonIntersectionAnalyzer), over all segment pairs of all rings.
  let doubleTouch = false;
  for (let ri = 0; ri < rings.length; ri++) {
    for (let rj = ri; rj < rings.length; rj++) {
      const a = rings[ri].pts;
      const b = rings[rj].pts;
      for (let i = 0; i + 1 < a.length; i++) {
        for (let j = ri === rj ? i + 1 : 0; j + 1 < b.length; j++) {
          const p00 = a[i];
          const p01 = a[i + 1];
          const p10 = b[j];
          const p11 = b[j + 1];
          const r = intersectSegments(p00, p01, p10, p11);
          if (r.count === 0) continue;
          if (r.proper || r.count === 2) return false;
          const same = ri === rj;
          if (same) {
            const delta = Math.abs(i - j);
            const adjacent = delta <= 1 || delta >= a.length - 2;
            if (adjacent) continue;
            return false; // a ring touching itself (inverted rings are invalid)
          }
          const pt = r.points[0];
          if (eq(pt, p01) || eq(pt, p11)) continue;
          const e00 = eq(pt, p00) ? a[i === 0 ? a.length - 2 : i - 1] : p00;
          const e10 = eq(pt, p10) ? b[j === 0 ? b.length - 2 : j - 1] : p10;
          if (isCrossing(pt, e00, p01, e10, p11)) return false;
          if (!hasHoles) continue;
          // Record the touch; two different touch points between the same two rings disconnect the interior.
          const ringA = rings[ri];
          const ringB = rings[rj];
          const ta = ringA.touches.get(rj);
          const tb = ringB.touches.get(ri);
          if ((ta && !eq(ta, pt)) || (tb && !eq(tb, pt))) doubleTouch = true;
          else {
            if (!ta) ringA.touches.set(rj, pt);
            if (!tb) ringB.touches.set(ri, pt);
          }
        }
      }
    }
  }
  // Holes inside the shell.
  const shellPts = rings[0].pts;
  const env = (pts: readonly Coord[]) => {
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  };
  const shellEnv = env(shellPts);
  for (const hole of rings.slice(1)) {
    const he = env(hole.pts);
    if (he[0] < shellEnv[0] || he[1] < shellEnv[1] || he[2] > shellEnv[2] || he[3] > shellEnv[3])
      return false;
    if (!isRingNested(hole.pts, shellPts)) return false;
  }
  // Holes not nested in other holes.
  for (let i = 1; i < rings.length; i++) {
    const hi = env(rings[i].pts);
    for (let j = 1; j < rings.length; j++) {
      if (i === j) continue;
      const hj = env(rings[j].pts);
      if (!(hj[0] <= hi[0] && hj[1] <= hi[1] && hj[2] >= hi[2] && hj[3] >= hi[3])) continue;
      if (isRingNested(rings[i].pts, rings[j].pts)) return false;
    }
  }
  // Interior connected: no double touch, no cycle of touching rings (PolygonRing::findHoleCycleLocation).
  if (doubleTouch) return false;
  if (hasHoles) {
    for (let start = 0; start < rings.length; start++) {
      if (rings[start].root >= 0) continue;
      rings[start].root = start;
      const stack: { ring: number; pt: Coord }[] = [];
      for (const [id, pt] of rings[start].touches) {
        rings[id].root = start;
        stack.push({ ring: id, pt });
      }
      while (stack.length > 0) {
        const current = stack.pop() as { ring: number; pt: Coord };
        for (const [id, pt] of rings[current.ring].touches) {
          if (eq(current.pt, pt)) continue;
          if (rings[id].root === start) return false;
          rings[id].root = start;
          stack.push({ ring: id, pt });
        }
      }
    }
  }
  return true;
}

export { envCovers };
