/**
 * Polygon and line clipping against a convex ring with GEOS 3.11 OverlayNG's result *coordinates*: every
 * segment pair is noded with GEOS's LineIntersector (so crossing points are bit-identical), input vertices
 * are never dropped or merged, and the result's segments keep GEOS's direction (area on the right of each
 * ring segment, i.e. clockwise shells and counter-clockwise holes; lines keep their input direction).
 * Hand-written rather than `polygon-clipping` because that library removes collinear vertices and
 * computes crossings differently, and cv2 then draws different pixels.
 */
import {
  type Coord,
  intersectSegments,
  locatePoint,
  orientation,
  type Segment,
  signedArea2,
} from './predicates.ts';

/** One directed input segment of the subject (a polygon ring or a line). */
export interface SubjectSegment {
  readonly a: Coord;
  readonly b: Coord;
  /** Ring (or line) the segment belongs to. */
  readonly ring: number;
  /** Part of a polygon hole. */
  readonly isHole: boolean;
  /** The polygon's interior lies to the left of a→b (ignored for lines). */
  readonly interiorLeft: boolean;
}

/** A directed result segment; for areas the result interior lies on its right. */
export interface ClippedSegment {
  readonly a: Coord;
  readonly b: Coord;
  readonly ring: number;
  /** For areas: the segment lies on a hole of the result (cv2 fills these with 0). */
  readonly isHole: boolean;
}

interface NodePoint {
  readonly c: Coord;
  /** Computed where the subject crosses the clip ring, so on the clip boundary by construction. */
  onClip: boolean;
}

interface Work {
  readonly a: Coord;
  readonly b: Coord;
  readonly octant: number;
  readonly nodes: NodePoint[];
  readonly minX: number;
  readonly maxX: number;
  readonly minY: number;
  readonly maxY: number;
}

function octant(dx: number, dy: number): number {
  const adx = Math.abs(dx);
  const ady = Math.abs(dy);
  if (dx >= 0) {
    if (dy >= 0) return adx >= ady ? 0 : 1;
    return adx >= ady ? 7 : 6;
  }
  if (dy >= 0) return adx >= ady ? 3 : 2;
  return adx >= ady ? 4 : 5;
}

function compareValue(s0: number, s1: number): number {
  if (s0 < 0) return -1;
  if (s0 > 0) return 1;
  if (s1 < 0) return -1;
  if (s1 > 0) return 1;
  return 0;
}

/** GEOS `SegmentPointComparator::compare`: the order of two nodes along a segment of this octant. */
function compareAlong(oct: number, p0: Coord, p1: Coord): number {
  if (p0[0] === p1[0] && p0[1] === p1[1]) return 0;
  const xs = Math.sign(p0[0] - p1[0]);
  const ys = Math.sign(p0[1] - p1[1]);
  switch (oct) {
    case 0:
      return compareValue(xs, ys);
    case 1:
      return compareValue(ys, xs);
    case 2:
      return compareValue(ys, -xs);
    case 3:
      return compareValue(-xs, ys);
    case 4:
      return compareValue(-xs, -ys);
    case 5:
      return compareValue(-ys, -xs);
    case 6:
      return compareValue(-ys, xs);
    default:
      return compareValue(xs, -ys);
  }
}

function makeWork(a: Coord, b: Coord): Work {
  return {
    a,
    b,
    octant: octant(b[0] - a[0], b[1] - a[1]),
    nodes: [],
    minX: Math.min(a[0], b[0]),
    maxX: Math.max(a[0], b[0]),
    minY: Math.min(a[1], b[1]),
    maxY: Math.max(a[1], b[1]),
  };
}

function addNode(w: Work, c: Coord, onClip: boolean): void {
  if ((c[0] === w.a[0] && c[1] === w.a[1]) || (c[0] === w.b[0] && c[1] === w.b[1])) return;
  for (const n of w.nodes) {
    if (n.c[0] === c[0] && n.c[1] === c[1]) {
      n.onClip ||= onClip;
      return;
    }
  }
  w.nodes.push({ c, onClip });
}

function nodePair(u: Work, v: Work, uOnClip: boolean, vOnClip: boolean): void {
  if (u.minX > v.maxX || u.maxX < v.minX || u.minY > v.maxY || u.maxY < v.minY) return;
  const r = intersectSegments(u.a, u.b, v.a, v.b);
  for (const p of r.points) {
    addNode(u, p, uOnClip);
    addNode(v, p, vOnClip);
  }
}

/** The points of a noded segment from a to b, in GEOS's order along it. */
function splitPoints(w: Work): NodePoint[] {
  const inner = [...w.nodes].sort((n0, n1) => compareAlong(w.octant, n0.c, n1.c));
  return [{ c: w.a, onClip: false }, ...inner, { c: w.b, onClip: false }];
}

type Side = 'in' | 'on' | 'out';

interface ClipRing {
  /** Closed, counter-clockwise. */
  readonly pts: readonly Coord[];
}

function toCcw(ring: readonly Coord[]): ClipRing {
  const closed = ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1];
  const pts = closed ? [...ring] : [...ring, ring[0]];
  return { pts: signedArea2(pts) < 0 ? pts.reverse() : pts };
}

/** Exact location of a point against the convex clip ring; `edge` is the edge it lies on, if any. */
function sideOf(clip: ClipRing, c: Coord): { side: Side; edges: number[] } {
  const edges: number[] = [];
  const p = clip.pts;
  for (let i = 0; i + 1 < p.length; i++) {
    const o = orientation(p[i][0], p[i][1], p[i + 1][0], p[i + 1][1], c[0], c[1]);
    if (o < 0) return { side: 'out', edges: [] };
    if (o === 0) edges.push(i);
  }
  return { side: edges.length > 0 ? 'on' : 'in', edges };
}

type Placement = { kind: 'in' } | { kind: 'out' } | { kind: 'onEdge'; edge: number };

/** Whether a noded sub-segment lies inside the closed clip ring, outside it, or along one of its edges. */
function place(clip: ClipRing, p: NodePoint, q: NodePoint): Placement {
  const sp = p.onClip ? null : sideOf(clip, p.c);
  const sq = q.onClip ? null : sideOf(clip, q.c);
  if (sp?.side === 'in' || sq?.side === 'in') return { kind: 'in' };
  if (sp?.side === 'out' || sq?.side === 'out') return { kind: 'out' };
  if (sp && sq) {
    for (const e of sp.edges) if (sq.edges.includes(e)) return { kind: 'onEdge', edge: e };
  }
  // Both ends on the boundary and not along one edge: a chord of a convex ring.
  return { kind: 'in' };
}

function nodeAll(subject: readonly SubjectSegment[], clip: ClipRing) {
  const cx = clip.pts.map((c) => c[0]);
  const cy = clip.pts.map((c) => c[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...cx), Math.max(...cx), Math.min(...cy), Math.max(...cy)];
  const works: (Work | null)[] = new Array(subject.length).fill(null);
  for (let i = 0; i < subject.length; i++) {
    const { a, b } = subject[i];
    if (a[0] === b[0] && a[1] === b[1]) continue;
    // Only segments meeting the clip ring's envelope can contribute (and be noded).
    if (Math.min(a[0], b[0]) > maxX || Math.max(a[0], b[0]) < minX) continue;
    if (Math.min(a[1], b[1]) > maxY || Math.max(a[1], b[1]) < minY) continue;
    works[i] = makeWork(a, b);
  }
  const clipWorks: Work[] = [];
  for (let i = 0; i + 1 < clip.pts.length; i++) clipWorks.push(makeWork(clip.pts[i], clip.pts[i + 1]));
  // Self-noding among candidate subject segments (sweep over x).
  const order = works.map((_, i) => i).filter((i) => works[i] !== null);
  order.sort((i, j) => (works[i] as Work).minX - (works[j] as Work).minX);
  const active: Work[] = [];
  for (const i of order) {
    const w = works[i] as Work;
    let k = 0;
    for (const v of active) if (v.maxX >= w.minX) active[k++] = v;
    active.length = k;
    for (const v of active) nodePair(v, w, false, false);
    active.push(w);
  }
  for (const w of works) if (w) for (const c of clipWorks) nodePair(w, c, true, false);
  return { works, clipWorks };
}

/**
 * `polygon ∩ convex clip` as GEOS computes it, returned as directed segments. `subject` holds every ring
 * segment of one polygon or multipolygon, valid or not (invalid input gives *a* result, which may differ
 * from GEOS's).
 */
export function clipArea(subject: readonly SubjectSegment[], clipRing: readonly Coord[]): ClippedSegment[] {
  const clip = toCcw(clipRing);
  const { works, clipWorks } = nodeAll(subject, clip);
  const out: ClippedSegment[] = [];
  const keys = new Set<string>();
  const key = (p: Coord, q: Coord) => {
    const a = `${p[0]},${p[1]}`;
    const b = `${q[0]},${q[1]}`;
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  };
  const holeBroken = new Map<number, boolean>();
  const kept: { a: Coord; b: Coord; ring: number; isHole: boolean }[] = [];
  for (let i = 0; i < subject.length; i++) {
    const s = subject[i];
    const w = works[i];
    if (s.a[0] === s.b[0] && s.a[1] === s.b[1]) continue;
    if (!w) {
      if (s.isHole) holeBroken.set(s.ring, true);
      continue;
    }
    const pts = splitPoints(w);
    for (let k = 0; k + 1 < pts.length; k++) {
      const p = pts[k];
      const q = pts[k + 1];
      const where = place(clip, p, q);
      let include = where.kind === 'in';
      if (where.kind === 'onEdge') {
        keys.add(key(p.c, q.c));
        const e0 = clip.pts[where.edge];
        const e1 = clip.pts[where.edge + 1];
        const sameDirection = (q.c[0] - p.c[0]) * (e1[0] - e0[0]) + (q.c[1] - p.c[1]) * (e1[1] - e0[1]) > 0;
        // Kept only where both interiors lie on the same side (else the areas merely touch along it).
        include = sameDirection === s.interiorLeft;
      }
      if (!include) {
        if (s.isHole) holeBroken.set(s.ring, true);
        continue;
      }
      if (!holeBroken.has(s.ring)) holeBroken.set(s.ring, false);
      const [a, b] = s.interiorLeft ? [q.c, p.c] : [p.c, q.c];
      kept.push({ a, b, ring: s.ring, isHole: s.isHole });
    }
  }
  for (const k of kept)
    out.push({ a: k.a, b: k.b, ring: k.ring, isHole: k.isHole && !holeBroken.get(k.ring) });
  // Pieces of the clip ring inside the subject bound the result too (reversed: the clip ring is CCW).
  const subjectSegs: Segment[] = subject.map((s) => [s.a[0], s.a[1], s.b[0], s.b[1]]);
  for (const w of clipWorks) {
    const pts = splitPoints(w);
    for (let k = 0; k + 1 < pts.length; k++) {
      const p = pts[k].c;
      const q = pts[k + 1].c;
      if (keys.has(key(p, q))) continue;
      const mx = (p[0] + q[0]) / 2;
      const my = (p[1] + q[1]) / 2;
      if (locatePoint(mx, my, subjectSegs) === 'interior') out.push({ a: q, b: p, ring: -1, isHole: false });
    }
  }
  return out;
}

/** `line ∩ convex clip` as GEOS computes it: the noded pieces inside the closed ring, input direction kept. */
export function clipLines(subject: readonly SubjectSegment[], clipRing: readonly Coord[]): ClippedSegment[] {
  const clip = toCcw(clipRing);
  const { works } = nodeAll(subject, clip);
  const out: ClippedSegment[] = [];
  // OverlayNG merges coincident edges (a line doubling back over itself) into one, the first kept.
  const seen = new Set<string>();
  for (let i = 0; i < subject.length; i++) {
    const w = works[i];
    if (!w) continue;
    const pts = splitPoints(w);
    for (let k = 0; k + 1 < pts.length; k++) {
      const p = pts[k].c;
      const q = pts[k + 1].c;
      if (place(clip, pts[k], pts[k + 1]).kind === 'out') continue;
      const key =
        p[0] < q[0] || (p[0] === q[0] && p[1] < q[1])
          ? `${p[0]},${p[1]},${q[0]},${q[1]}`
          : `${q[0]},${q[1]},${p[0]},${p[1]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ a: p, b: q, ring: subject[i].ring, isHole: false });
    }
  }
  return out;
}

/** A closed ring (first point repeated last) and whether it bounds a hole. */
export interface AssembledRing {
  readonly points: Coord[];
  readonly isHole: boolean;
}

/**
 * Chains directed area segments (result interior on the right) into closed rings, GEOS-style: clockwise
 * shells, counter-clockwise holes. At a vertex where rings touch, the next segment is the first unused
 * one leaving it.
 */
export function assembleRings(segments: readonly ClippedSegment[]): AssembledRing[] {
  const key = (c: Coord) => `${c[0]},${c[1]}`;
  const leaving = new Map<string, number[]>();
  segments.forEach((s, i) => {
    const k = key(s.a);
    const list = leaving.get(k);
    if (list) list.push(i);
    else leaving.set(k, [i]);
  });
  const used = new Uint8Array(segments.length);
  const rings: AssembledRing[] = [];
  for (let start = 0; start < segments.length; start++) {
    if (used[start]) continue;
    const points: Coord[] = [segments[start].a];
    let isHole = segments[start].isHole;
    let i = start;
    for (;;) {
      used[i] = 1;
      const s = segments[i];
      points.push(s.b);
      isHole &&= s.isHole;
      if (s.b[0] === points[0][0] && s.b[1] === points[0][1]) break;
      const next = (leaving.get(key(s.b)) ?? []).find((j) => !used[j]);
      if (next === undefined) break;
      i = next;
    }
    if (points.length >= 4) rings.push({ points, isHole });
  }
  return rings;
}

/** Chains directed line segments end-to-start into polylines (one per run of touching segments). */
export function assembleLines(segments: readonly ClippedSegment[]): Coord[][] {
  const lines: Coord[][] = [];
  for (const s of segments) {
    const last = lines[lines.length - 1];
    const tail = last?.[last.length - 1];
    if (tail && tail[0] === s.a[0] && tail[1] === s.a[1]) last.push(s.b);
    else lines.push([s.a, s.b]);
  }
  return lines;
}
