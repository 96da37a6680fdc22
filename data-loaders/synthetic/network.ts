// The synthetic town: a grid of four-way intersections joined by straight and S-curved two-way roads (one or
// two lanes per direction), stub roads leaving the grid, sidewalks with rounded corners, zebra crossings and
// stop lines on every intersection arm, and car parks beside some roads. Everything is exact geometry in the
// location's global frame (x east, y north, metres); the map expansion, the ground texture and the traffic
// simulation are all derived from this one description, so they agree by construction.

import type { Rng } from '../../src/util/index.ts';
import type { MapLocation } from '../nuscenes/types.ts';
import { offsetPoint, Path, type Pose2 } from './path.ts';

export type Point2 = [number, number];

/** Arms of an intersection, counter-clockwise from east; arm a points along angle a·π/2. */
export type Arm = 0 | 1 | 2 | 3;
export const ARMS: readonly Arm[] = [0, 1, 2, 3];
const armAngle = (arm: number): number => (arm * Math.PI) / 2;

export const LANE_WIDTH_M = 3.5;
export const SIDEWALK_WIDTH_M = 3;
/** Radius of the curb returns at intersection corners. */
export const CORNER_RADIUS_M = 6;
export const CROSSING_WIDTH_M = 4;
export const STOP_LINE_WIDTH_M = 0.5;
/** Lanes end (and lane connectors start) this far past the road's start at an intersection. */
export const LANE_SETBACK_M = CROSSING_WIDTH_M + STOP_LINE_WIDTH_M;
const STUB_LENGTH_M = 80;
const CARPARK_SLOT_WIDTH_M = 2.7;
const CARPARK_DEPTH_M = 6;

export interface Intersection {
  id: number;
  x: number;
  y: number;
  /** Half width of the east–west road through it (arms 0 and 2) and of the north–south road (arms 1 and 3). */
  halfWidthEwM: number;
  halfWidthNsM: number;
  /** Edge on each arm (every arm has one: grid edges or stubs). */
  armEdges: [number, number, number, number];
  /** True on the grid border (some arms lead to stubs). */
  isBorder: boolean;
}

export interface RoadEnd {
  intersection: number;
  arm: Arm;
}

export interface RoadEdge {
  id: number;
  /** The road's centre from the `from` intersection's arm (at the corner setback) to the far end. */
  centre: Path;
  from: RoadEnd;
  /** null for a stub: the road ends in a dead end at the map border. */
  to: RoadEnd | null;
  lanesPerDirection: number;
  halfWidthM: number;
  /** True when the centre has no arcs. */
  isStraight: boolean;
}

export interface Lane {
  id: number;
  edge: number;
  /** +1 along the edge's centre path, −1 against it. */
  direction: 1 | -1;
  /** 0 = next to the centre line, lanesPerDirection − 1 = next to the curb. */
  index: number;
  /** Centre line in the direction of travel. */
  path: Path;
  /** Offsets (from the travel path, left positive) of the lane's left and right boundaries. */
  leftBoundaryOffsetM: number;
  rightBoundaryOffsetM: number;
  /** Intersection this lane leads into (null: a stub dead end), and the one it leaves (null: starts at a stub end). */
  toIntersection: number | null;
  toArm: Arm | null;
  fromIntersection: number | null;
  fromArm: Arm | null;
}

export type Turn = 'straight' | 'left' | 'right';

export interface LaneConnector {
  id: number;
  intersection: number;
  fromLane: number;
  toLane: number;
  path: Path;
  turn: Turn;
  /** Crossings this connector drives over: the one of its entry arm and the one of its exit arm. */
  crossings: [number, number];
}

export interface Crossing {
  id: number;
  intersection: number;
  arm: Arm;
  edge: number;
  polygon: Point2[];
}

export interface StopLine {
  id: number;
  intersection: number;
  arm: Arm;
  crossing: number;
  edge: number;
  /** Direction (relative to the edge) of the lanes that stop here. */
  direction: 1 | -1;
  polygon: Point2[];
}

export interface Carpark {
  id: number;
  edge: number;
  /** Side of the edge's centre path: +1 left, −1 right. */
  side: 1 | -1;
  polygon: Point2[];
  /** Heading of the bays' long axis (towards the road), radians. */
  orientation: number;
  /** Bay centres with the parked heading. */
  slots: Pose2[];
}

/** A sidewalk, corner or crossing path of the pedestrian graph. */
export interface PedLink {
  id: number;
  a: number;
  b: number;
  path: Path;
  /** The crossing this link walks over, or −1. */
  crossing: number;
}

export interface PedGraph {
  vertices: Point2[];
  links: PedLink[];
  /** Links at each vertex. */
  linksAt: number[][];
}

/** A building beside a road: a box standing on the ground (not annotated; it occludes cameras and lidar). */
export interface Building {
  x: number;
  y: number;
  /** Along the road (box length, x), across it (box width, y), height. */
  lengthM: number;
  widthM: number;
  heightM: number;
  yaw: number;
  colorRgb: [number, number, number];
}

export interface SyntheticNetwork {
  location: MapLocation;
  /** Singapore drives on the left, Boston on the right. */
  driveOnLeft: boolean;
  /** [width, height] of the map canvas in metres; everything lies inside [0, w] × [0, h]. */
  canvasEdgeM: [number, number];
  intersections: Intersection[];
  edges: RoadEdge[];
  lanes: Lane[];
  connectors: LaneConnector[];
  crossings: Crossing[];
  stopLines: StopLine[];
  carparks: Carpark[];
  /** Drivable polygon of each intersection (the crossing roads plus the curb-return fillets). */
  intersectionPolygons: Point2[][];
  /** Sidewalk polygons: bands along every road side and the quarter-ring corner pads. */
  walkways: Point2[][];
  /** Buildings lining the straight stretches of the roads, set back behind the sidewalks. */
  buildings: Building[];
  pedGraph: PedGraph;
  /** Connectors out of each lane; the lane each connector feeds is `connector.toLane`. */
  connectorsFromLane: number[][];
  connectorsIntoLane: number[][];
  /** Pairs of connectors of one intersection whose vehicles must not be inside at the same time. */
  connectorConflicts: number[][];
  /** For connector a and a conflicting b: arc length on a after which a vehicle (its rear) no longer blocks b. */
  connectorClearM: Array<Map<number, number>>;
}

/** Options of the town layout (the defaults make a ~600 m square town). */
export interface NetworkOptions {
  gridColumns?: number;
  gridRows?: number;
}

/** The point `along` metres out along an intersection's arm and `lateral` metres to the arm's left. */
function armPoint(ix: Intersection, arm: number, along: number, lateral: number): Point2 {
  const a = armAngle(arm);
  const c = Math.cos(a);
  const s = Math.sin(a);
  return [ix.x + along * c - lateral * s, ix.y + along * s + lateral * c];
}

/** Half width of the road on an arm, and of the road crossing it. */
function armHalfWidth(ix: Intersection, arm: number): number {
  return arm % 2 === 0 ? ix.halfWidthEwM : ix.halfWidthNsM;
}
function crossHalfWidth(ix: Intersection, arm: number): number {
  return arm % 2 === 0 ? ix.halfWidthNsM : ix.halfWidthEwM;
}
/** Distance from the intersection centre to where the arm's road (and its crossing) starts. */
export function armRoadStartM(ix: Intersection, arm: number): number {
  return crossHalfWidth(ix, arm) + CORNER_RADIUS_M;
}

/** Polygon of the band between two lateral offsets of a path (left boundary forward, right one back). */
export function bandPolygon(path: Path, offsetA: number, offsetB: number, maxArcStepM = 2): Point2[] {
  const left = Math.max(offsetA, offsetB);
  const right = Math.min(offsetA, offsetB);
  const stations = path.stations(maxArcStepM);
  const rightSide = stations.map((s) => offsetPoint(path.poseAt(s), right));
  const leftSide = stations.map((s) => offsetPoint(path.poseAt(s), left)).reverse();
  return [...rightSide, ...leftSide];
}

/** An S-bend (or a straight) from the origin heading east to (dx, dy) heading east. */
function sBendSteps(dx: number, dy: number): Array<[number, number]> {
  if (Math.abs(dy) < 0.01) return [[0, dx]];
  const lead = 12;
  const available = dx - 2 * lead;
  const theta = Math.min(0.75, 2 * Math.atan(Math.abs(dy) / (0.85 * available)));
  const radius = Math.abs(dy) / (2 * (1 - Math.cos(theta)));
  const arcLength = radius * theta;
  const straight = (dx - 2 * radius * Math.sin(theta)) / 2;
  const k = Math.sign(dy) / radius;
  return [
    [0, straight],
    [k, arcLength],
    [-k, arcLength],
    [0, straight],
  ];
}

function quarterRing(cx: number, cy: number, startAngle: number, rInner: number, rOuter: number): Point2[] {
  const steps = 6;
  const outer: Point2[] = [];
  const inner: Point2[] = [];
  for (let k = 0; k <= steps; k++) {
    const a = startAngle + ((Math.PI / 2) * k) / steps;
    outer.push([cx + rOuter * Math.cos(a), cy + rOuter * Math.sin(a)]);
    inner.push([cx + rInner * Math.cos(a), cy + rInner * Math.sin(a)]);
  }
  return [...outer, ...inner.reverse()];
}

/** Minimum distance between two polylines (segment to segment). */
function polylineDistance(a: Point2[], b: Point2[]): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i + 1 < a.length; i++) {
    for (let j = 0; j + 1 < b.length; j++) {
      best = Math.min(best, segmentDistance(a[i], a[i + 1], b[j], b[j + 1]));
      if (best === 0) return 0;
    }
  }
  return best;
}

function segmentDistance(p1: Point2, p2: Point2, q1: Point2, q2: Point2): number {
  const cross = (o: Point2, a: Point2, b: Point2) =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const d1 = cross(q1, q2, p1);
  const d2 = cross(q1, q2, p2);
  const d3 = cross(p1, p2, q1);
  const d4 = cross(p1, p2, q2);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return 0;
  return Math.min(
    pointSegment(p1, q1, q2),
    pointSegment(p2, q1, q2),
    pointSegment(q1, p1, p2),
    pointSegment(q2, p1, p2),
  );
}

function pointSegment(p: Point2, a: Point2, b: Point2): number {
  const vx = b[0] - a[0];
  const vy = b[1] - a[1];
  const len2 = vx * vx + vy * vy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * vx + (p[1] - a[1]) * vy) / len2));
  return Math.hypot(p[0] - a[0] - t * vx, p[1] - a[1] - t * vy);
}

/** Builds the town of one location. Same rng state, same town. */
export function buildNetwork(
  location: MapLocation,
  rng: Rng,
  options: NetworkOptions = {},
): SyntheticNetwork {
  const columns = options.gridColumns ?? 4;
  const rows = options.gridRows ?? 4;
  const driveOnLeft = location.startsWith('singapore');
  const margin = STUB_LENGTH_M + 40;

  // Grid lines: one or two lanes per direction (avenues), spacing varies, nodes jitter sideways so that
  // some roads bend (an S-curve joins two nodes that are not aligned).
  const avenueColumn = rng.int(0, columns);
  const avenueRow = rng.int(0, rows);
  const colX: number[] = [margin];
  for (let i = 1; i < columns; i++) colX.push(colX[i - 1] + rng.uniform(115, 150));
  const rowY: number[] = [margin];
  for (let j = 1; j < rows; j++) rowY.push(rowY[j - 1] + rng.uniform(115, 150));
  const jitter = () => (rng.chance(0.45) ? 0 : rng.uniform(5, 11) * (rng.chance(0.5) ? 1 : -1));

  const intersections: Intersection[] = [];
  const idAt = (i: number, j: number) => j * columns + i;
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < columns; i++) {
      intersections.push({
        id: idAt(i, j),
        x: colX[i] + (i === 0 || i === columns - 1 ? 0 : jitter()),
        y: rowY[j] + (j === 0 || j === rows - 1 ? 0 : jitter()),
        halfWidthEwM: (j === avenueRow ? 2 : 1) * LANE_WIDTH_M,
        halfWidthNsM: (i === avenueColumn ? 2 : 1) * LANE_WIDTH_M,
        armEdges: [-1, -1, -1, -1],
        isBorder: i === 0 || j === 0 || i === columns - 1 || j === rows - 1,
      });
    }
  }

  const edges: RoadEdge[] = [];
  const addEdge = (from: RoadEnd, to: RoadEnd | null, lanesPerDirection: number) => {
    const a = intersections[from.intersection];
    const angle = armAngle(from.arm);
    const startAlong = armRoadStartM(a, from.arm);
    const [sx, sy] = armPoint(a, from.arm, startAlong, 0);
    let steps: Array<[number, number]>;
    if (to === null) {
      steps = [[0, STUB_LENGTH_M]];
    } else {
      const b = intersections[to.intersection];
      const [ex, ey] = armPoint(b, to.arm, armRoadStartM(b, to.arm), 0);
      // The end point in the frame of the start (x along the arm, y to its left).
      const dx = (ex - sx) * Math.cos(angle) + (ey - sy) * Math.sin(angle);
      const dy = -(ex - sx) * Math.sin(angle) + (ey - sy) * Math.cos(angle);
      steps = sBendSteps(dx, dy);
    }
    const centre = Path.fromSteps({ x: sx, y: sy, heading: angle }, steps);
    const edge: RoadEdge = {
      id: edges.length,
      centre,
      from,
      to,
      lanesPerDirection,
      halfWidthM: lanesPerDirection * LANE_WIDTH_M,
      isStraight: steps.length === 1,
    };
    edges.push(edge);
    a.armEdges[from.arm] = edge.id;
    if (to) intersections[to.intersection].armEdges[to.arm] = edge.id;
  };
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < columns; i++) {
      const here = idAt(i, j);
      const ewLanes = j === avenueRow ? 2 : 1;
      const nsLanes = i === avenueColumn ? 2 : 1;
      if (i + 1 < columns)
        addEdge({ intersection: here, arm: 0 }, { intersection: idAt(i + 1, j), arm: 2 }, ewLanes);
      if (j + 1 < rows)
        addEdge({ intersection: here, arm: 1 }, { intersection: idAt(i, j + 1), arm: 3 }, nsLanes);
      if (i === 0) addEdge({ intersection: here, arm: 2 }, null, ewLanes);
      if (i === columns - 1) addEdge({ intersection: here, arm: 0 }, null, ewLanes);
      if (j === 0) addEdge({ intersection: here, arm: 3 }, null, nsLanes);
      if (j === rows - 1) addEdge({ intersection: here, arm: 1 }, null, nsLanes);
    }
  }

  // Lanes: traffic keeps right in Boston and left in Singapore; lanes end LANE_SETBACK_M before each
  // intersection's arm start (room for the crossing and the stop line) and run to the end of stubs.
  const side = driveOnLeft ? 1 : -1;
  const lanes: Lane[] = [];
  for (const edge of edges) {
    for (const direction of [1, -1] as const) {
      const base = direction === 1 ? edge.centre : edge.centre.reversed();
      const startTrim = direction === 1 || edge.to !== null ? LANE_SETBACK_M : 0;
      const endTrim = direction === -1 || edge.to !== null ? LANE_SETBACK_M : 0;
      for (let index = 0; index < edge.lanesPerDirection; index++) {
        const offset = side * (index + 0.5) * LANE_WIDTH_M;
        const full = base.offset(offset);
        const path = full.slice(startTrim, full.lengthM - endTrim);
        const innerOffset = side * index * LANE_WIDTH_M - offset;
        const outerOffset = side * (index + 1) * LANE_WIDTH_M - offset;
        const ends =
          direction === 1 ? { start: edge.from, end: edge.to } : { start: edge.to, end: edge.from };
        lanes.push({
          id: lanes.length,
          edge: edge.id,
          direction,
          index,
          path,
          leftBoundaryOffsetM: Math.max(innerOffset, outerOffset),
          rightBoundaryOffsetM: Math.min(innerOffset, outerOffset),
          toIntersection: ends.end?.intersection ?? null,
          toArm: ends.end?.arm ?? null,
          fromIntersection: ends.start?.intersection ?? null,
          fromArm: ends.start?.arm ?? null,
        });
      }
    }
  }

  // Crossings and stop lines on every arm.
  const crossings: Crossing[] = [];
  const crossingAt = new Map<string, number>();
  const stopLines: StopLine[] = [];
  for (const ix of intersections) {
    for (const arm of ARMS) {
      const edgeId = ix.armEdges[arm];
      const w = armHalfWidth(ix, arm);
      const start = armRoadStartM(ix, arm);
      const crossing: Crossing = {
        id: crossings.length,
        intersection: ix.id,
        arm,
        edge: edgeId,
        polygon: [
          armPoint(ix, arm, start, -w),
          armPoint(ix, arm, start + CROSSING_WIDTH_M, -w),
          armPoint(ix, arm, start + CROSSING_WIDTH_M, w),
          armPoint(ix, arm, start, w),
        ],
      };
      crossings.push(crossing);
      crossingAt.set(`${ix.id}/${arm}`, crossing.id);
      // Incoming traffic (heading to the centre) keeps to the left of the outward arm in right-hand traffic.
      const incomingLeft = !driveOnLeft;
      const lo = incomingLeft ? 0 : -w;
      const hi = incomingLeft ? w : 0;
      const edge = edges[edgeId];
      const outwardIsForward = edge.from.intersection === ix.id && edge.from.arm === arm;
      stopLines.push({
        id: stopLines.length,
        intersection: ix.id,
        arm,
        crossing: crossing.id,
        edge: edgeId,
        direction: outwardIsForward ? -1 : 1,
        polygon: [
          armPoint(ix, arm, start + CROSSING_WIDTH_M, lo),
          armPoint(ix, arm, start + LANE_SETBACK_M, lo),
          armPoint(ix, arm, start + LANE_SETBACK_M, hi),
          armPoint(ix, arm, start + CROSSING_WIDTH_M, hi),
        ],
      });
    }
  }

  // Lane connectors: straight on from every lane, the near-side turn from the curb lane, the far-side turn
  // from the lane next to the centre line.
  const connectors: LaneConnector[] = [];
  const connectorsFromLane: number[][] = lanes.map(() => []);
  const connectorsIntoLane: number[][] = lanes.map(() => []);
  const incomingByArm = new Map<string, Lane[]>();
  const outgoingByArm = new Map<string, Lane[]>();
  for (const lane of lanes) {
    if (lane.toIntersection !== null) push(incomingByArm, `${lane.toIntersection}/${lane.toArm}`, lane);
    if (lane.fromIntersection !== null) push(outgoingByArm, `${lane.fromIntersection}/${lane.fromArm}`, lane);
  }
  for (const ix of intersections) {
    for (const armIn of ARMS) {
      const incoming = (incomingByArm.get(`${ix.id}/${armIn}`) ?? []).sort((p, q) => p.index - q.index);
      for (const armOut of ARMS) {
        if (armOut === armIn) continue;
        const outgoing = (outgoingByArm.get(`${ix.id}/${armOut}`) ?? []).sort((p, q) => p.index - q.index);
        if (incoming.length === 0 || outgoing.length === 0) continue;
        const relative = (armOut - armIn + 4) % 4;
        const turn: Turn = relative === 2 ? 'straight' : relative === 1 ? 'right' : 'left';
        const nearSide = driveOnLeft ? 'left' : 'right';
        const pairs: Array<[Lane, Lane]> = [];
        if (turn === 'straight') {
          for (const lane of incoming)
            pairs.push([lane, outgoing[Math.min(lane.index, outgoing.length - 1)]]);
        } else if (turn === nearSide) {
          pairs.push([incoming[incoming.length - 1], outgoing[outgoing.length - 1]]);
        } else {
          pairs.push([incoming[0], outgoing[0]]);
        }
        // Curb-return centres of this intersection: turning vehicles must keep their body off the corners.
        const fillets = ARMS.map((arm) =>
          armPoint(ix, arm, armRoadStartM(ix, arm), armHalfWidth(ix, arm) + CORNER_RADIUS_M),
        );
        for (const [fromLane, toLane] of pairs) {
          const path = connectorPath(fromLane.path.endPose, toLane.path.startPose, turn, fillets);
          const connector: LaneConnector = {
            id: connectors.length,
            intersection: ix.id,
            fromLane: fromLane.id,
            toLane: toLane.id,
            path,
            turn,
            crossings: [crossingAt.get(`${ix.id}/${armIn}`)!, crossingAt.get(`${ix.id}/${armOut}`)!],
          };
          connectors.push(connector);
          connectorsFromLane[fromLane.id].push(connector.id);
          connectorsIntoLane[toLane.id].push(connector.id);
        }
      }
    }
  }
  // Conflicts: two connectors of one intersection whose paths come within 2.6 m of each other. For each
  // conflict, the arc length on this connector after which its vehicles are clear of the other path.
  const connectorConflicts: number[][] = connectors.map(() => []);
  const connectorClearM: Array<Map<number, number>> = connectors.map(() => new Map());
  const byIntersection = new Map<number, LaneConnector[]>();
  for (const c of connectors) push(byIntersection, c.intersection, c);
  const stations = connectors.map((c) => c.path.stations(1));
  const polylines = connectors.map((c, i) =>
    stations[i].map((s) => {
      const p = c.path.poseAt(s);
      return [p.x, p.y] as Point2;
    }),
  );
  const clearAfter = (a: number, b: number): number => {
    let last = -1;
    const pa = polylines[a];
    const pb = polylines[b];
    for (let i = 0; i < pa.length; i++) {
      let near = false;
      for (let j = 0; j + 1 < pb.length && !near; j++) near = pointSegment(pa[i], pb[j], pb[j + 1]) < 2.6;
      if (near) last = stations[a][i];
    }
    return last;
  };
  for (const group of byIntersection.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const a = group[i];
        const b = group[j];
        if (
          polylineDistance(polylines[a.id], polylines[b.id]) >= 2.6 &&
          a.toLane !== b.toLane &&
          a.fromLane !== b.fromLane
        ) {
          continue;
        }
        connectorConflicts[a.id].push(b.id);
        connectorConflicts[b.id].push(a.id);
        connectorClearM[a.id].set(
          b.id,
          a.toLane === b.toLane ? a.path.lengthM : Math.max(0, clearAfter(a.id, b.id)),
        );
        connectorClearM[b.id].set(
          a.id,
          a.toLane === b.toLane ? b.path.lengthM : Math.max(0, clearAfter(b.id, a.id)),
        );
      }
    }
  }

  // Intersection drivable polygons: the two crossing roads up to the arm starts plus the curb returns.
  const intersectionPolygons = intersections.map((ix) => {
    const points: Point2[] = [];
    for (const arm of ARMS) {
      const w = armHalfWidth(ix, arm);
      const start = armRoadStartM(ix, arm);
      points.push(armPoint(ix, arm, start, -w), armPoint(ix, arm, start, w));
      // Fillet between this arm's left curb and the next arm's right curb, centred at (start, w + r).
      const steps = 6;
      for (let k = 1; k < steps; k++) {
        const t = (Math.PI / 2) * (k / steps);
        const along = start - CORNER_RADIUS_M * Math.sin(t);
        const lateral = w + CORNER_RADIUS_M - CORNER_RADIUS_M * Math.cos(t);
        points.push(armPoint(ix, arm, along, lateral));
      }
    }
    return points;
  });

  // Sidewalks: a band along each side of every road, and a quarter ring at each corner.
  const walkways: Point2[][] = [];
  for (const edge of edges) {
    walkways.push(bandPolygon(edge.centre, edge.halfWidthM, edge.halfWidthM + SIDEWALK_WIDTH_M));
    walkways.push(bandPolygon(edge.centre, -edge.halfWidthM, -edge.halfWidthM - SIDEWALK_WIDTH_M));
  }
  for (const ix of intersections) {
    for (const arm of ARMS) {
      const w = armHalfWidth(ix, arm);
      const [cx, cy] = armPoint(ix, arm, armRoadStartM(ix, arm), w + CORNER_RADIUS_M);
      walkways.push(
        quarterRing(cx, cy, armAngle(arm) + Math.PI, CORNER_RADIUS_M - SIDEWALK_WIDTH_M, CORNER_RADIUS_M),
      );
    }
  }

  // Car parks behind the sidewalk of some straight roads, bays perpendicular to the road.
  const carparks: Carpark[] = [];
  for (const edge of edges) {
    if (!edge.isStraight || edge.to === null || !rng.chance(0.35)) continue;
    const parkSide: 1 | -1 = rng.chance(0.5) ? 1 : -1;
    const slots = rng.int(6, 13);
    const lengthM = slots * CARPARK_SLOT_WIDTH_M;
    const s0 = rng.uniform(20, Math.max(21, edge.centre.lengthM - 20 - lengthM));
    if (s0 + lengthM > edge.centre.lengthM - 15) continue;
    const near = edge.halfWidthM + SIDEWALK_WIDTH_M + 1;
    const far = near + CARPARK_DEPTH_M;
    const strip = edge.centre.slice(s0, s0 + lengthM);
    const heading = edge.centre.startPose.heading;
    const slotPoses: Pose2[] = [];
    for (let k = 0; k < slots; k++) {
      const [x, y] = offsetPoint(
        strip.poseAt((k + 0.5) * CARPARK_SLOT_WIDTH_M),
        parkSide * (near + far) * 0.5,
      );
      slotPoses.push({ x, y, heading: heading - parkSide * (Math.PI / 2) });
    }
    carparks.push({
      id: carparks.length,
      edge: edge.id,
      side: parkSide,
      polygon: bandPolygon(strip, parkSide * near, parkSide * far),
      orientation: heading - parkSide * (Math.PI / 2),
      slots: slotPoses,
    });
  }

  // Buildings: rows along straight stretches, set back from the sidewalk, corners left open (plazas), none
  // where a car park is.
  const buildings: Building[] = [];
  for (const edge of edges) {
    for (const sideSign of [1, -1] as const) {
      const park = carparks.find((c) => c.edge === edge.id && c.side === sideSign);
      let s = rng.uniform(30, 40);
      const end = edge.centre.lengthM - (edge.to === null ? 10 : 30);
      while (s < end) {
        const frontage = rng.uniform(12, 28);
        const depth = rng.uniform(10, 18);
        const gap = rng.uniform(3, 9);
        const a = s;
        const b = s + frontage;
        s = b + gap;
        if (b > end) break;
        const i0 = edge.centre.segmentIndexAt(a);
        const i1 = edge.centre.segmentIndexAt(b);
        if (i0 !== i1 || Math.abs(edge.centre.segments[i0].curvature) > 1e-9) continue;
        const mid = edge.centre.poseAt((a + b) / 2);
        const setback = edge.halfWidthM + SIDEWALK_WIDTH_M + rng.uniform(2, 6) + depth / 2;
        const [x, y] = offsetPoint(mid, sideSign * setback);
        if (park && parkOverlaps(park, x, y, frontage, depth)) continue;
        const shade = rng.uniform(0.75, 1.05);
        const base: [number, number, number] = rng.pick([
          [196, 188, 172],
          [176, 178, 182],
          [206, 196, 180],
          [160, 150, 140],
          [190, 170, 150],
        ]);
        buildings.push({
          x,
          y,
          lengthM: frontage,
          widthM: depth,
          heightM: rng.uniform(5, 24),
          yaw: mid.heading,
          colorRgb: base.map((c) => Math.round(c * shade)) as [number, number, number],
        });
      }
    }
  }

  const pedGraph = buildPedGraph(intersections, edges, crossingAt);

  // Canvas: everything lies inside; the grid started at `margin`, stubs reach margin − STUB_LENGTH_M.
  let maxX = 0;
  let maxY = 0;
  for (const polygon of walkways) {
    for (const [x, y] of polygon) {
      maxX = Math.max(maxX, x);
      maxY = Math.max(maxY, y);
    }
  }
  const canvasEdgeM: [number, number] = [
    Math.ceil(maxX + margin - STUB_LENGTH_M),
    Math.ceil(maxY + margin - STUB_LENGTH_M),
  ];

  return {
    location,
    driveOnLeft,
    canvasEdgeM,
    intersections,
    edges,
    lanes,
    connectors,
    crossings,
    stopLines,
    carparks,
    intersectionPolygons,
    walkways,
    buildings,
    pedGraph,
    connectorsFromLane,
    connectorsIntoLane,
    connectorConflicts,
    connectorClearM,
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Half the width of the widest vehicle plus a margin: how far turning paths stay from the curb returns. */
const CURB_CLEARANCE_M = CORNER_RADIUS_M + 1.6;

/**
 * A lane connector from one lane end to the next lane's start: a line, or a quarter circle with straight
 * run-ins. The radius is the largest (≤ the available room) whose path keeps `CURB_CLEARANCE_M` from every
 * curb-return centre, so turning vehicles never cut across the corner sidewalks.
 */
function connectorPath(start: Pose2, end: Pose2, turn: Turn, fillets: readonly Point2[]): Path {
  if (turn === 'straight') return Path.line(start.x, start.y, end.x, end.y);
  const dx = end.x - start.x;
  const dy = end.y - start.y;
  const ex = dx * Math.cos(start.heading) + dy * Math.sin(start.heading);
  const ey = -dx * Math.sin(start.heading) + dy * Math.cos(start.heading);
  const lateral = Math.abs(ey);
  const build = (radius: number) => {
    const k = (turn === 'left' ? 1 : -1) / radius;
    return Path.fromSteps(start, [
      [0, ex - radius],
      [k, (radius * Math.PI) / 2],
      [0, lateral - radius],
    ]);
  };
  const clear = (path: Path) =>
    path
      .polyline(0.5)
      .every(([x, y]) => fillets.every(([fx, fy]) => Math.hypot(x - fx, y - fy) >= CURB_CLEARANCE_M));
  let radius = Math.min(ex, lateral);
  if (radius <= 0.5) throw new RangeError(`cannot fit a ${turn} turn (ahead ${ex} m, aside ${ey} m)`);
  let path = build(radius);
  while (!clear(path) && radius > 4.5) {
    radius -= 0.25;
    path = build(radius);
  }
  return path;
}

/**
 * Pedestrian graph: one vertex per arm side where the crossing meets the sidewalk; links along each road side,
 * around each corner (following the curb return) and across each crossing; stubs end in dead-end vertices.
 */
function buildPedGraph(
  intersections: Intersection[],
  edges: RoadEdge[],
  crossingAt: Map<string, number>,
): PedGraph {
  const vertices: Point2[] = [];
  const links: PedLink[] = [];
  const vertexAt = new Map<string, number>();
  const walkOffset = SIDEWALK_WIDTH_M / 2;
  const vertex = (ix: Intersection, arm: number, side: 1 | -1): number => {
    const key = `${ix.id}/${arm}/${side}`;
    let id = vertexAt.get(key);
    if (id === undefined) {
      id = vertices.length;
      vertices.push(
        armPoint(
          ix,
          arm,
          armRoadStartM(ix, arm) + CROSSING_WIDTH_M / 2,
          side * (armHalfWidth(ix, arm) + walkOffset),
        ),
      );
      vertexAt.set(key, id);
    }
    return id;
  };
  const addLink = (a: number, b: number, path: Path, crossing = -1) => {
    links.push({ id: links.length, a, b, path, crossing });
  };
  for (const edge of edges) {
    const from = intersections[edge.from.intersection];
    for (const sideSign of [1, -1] as const) {
      const walk = edge.centre.offset(sideSign * (edge.halfWidthM + walkOffset));
      const a = vertex(from, edge.from.arm, sideSign);
      if (edge.to === null) {
        const path = walk.slice(CROSSING_WIDTH_M / 2, walk.lengthM - 1);
        const end = path.endPose;
        vertices.push([end.x, end.y]);
        addLink(a, vertices.length - 1, path);
      } else {
        // The left of the centre path is the right side of the far arm (which points back at us).
        const b = vertex(intersections[edge.to.intersection], edge.to.arm, sideSign === 1 ? -1 : 1);
        addLink(a, b, walk.slice(CROSSING_WIDTH_M / 2, walk.lengthM - CROSSING_WIDTH_M / 2));
      }
    }
  }
  for (const ix of intersections) {
    for (const arm of ARMS) {
      const w = armHalfWidth(ix, arm);
      const start = armRoadStartM(ix, arm);
      const left = vertex(ix, arm, 1);
      const right = vertex(ix, arm, -1);
      const [lx, ly] = vertices[right];
      const [rx, ry] = vertices[left];
      addLink(right, left, Path.line(lx, ly, rx, ry), crossingAt.get(`${ix.id}/${arm}`)!);
      // Corner: from this arm's left side, back along the arm, around the curb return, out along the next arm.
      const next = (arm + 1) % 4;
      const radius = CORNER_RADIUS_M - walkOffset;
      const [sx, sy] = armPoint(ix, arm, start + CROSSING_WIDTH_M / 2, w + walkOffset);
      const corner = Path.fromSteps({ x: sx, y: sy, heading: armAngle(arm) + Math.PI }, [
        [0, CROSSING_WIDTH_M / 2],
        [-1 / radius, (radius * Math.PI) / 2],
        [0, CROSSING_WIDTH_M / 2 + (armRoadStartM(ix, next) - (armHalfWidth(ix, arm) + CORNER_RADIUS_M))],
      ]);
      addLink(left, vertex(ix, next, -1), corner);
    }
  }
  const linksAt: number[][] = vertices.map(() => []);
  for (const link of links) {
    linksAt[link.a].push(link.id);
    linksAt[link.b].push(link.id);
  }
  return { vertices, links, linksAt };
}

/** Whether a building footprint (centre, frontage, depth) comes within 3 m of a car park's bays. */
function parkOverlaps(park: Carpark, x: number, y: number, frontage: number, depth: number): boolean {
  const reach = Math.hypot(frontage, depth) / 2 + 3;
  return (
    park.polygon.some(([px, py]) => Math.hypot(px - x, py - y) < reach) ||
    park.slots.some((slot) => Math.hypot(slot.x - x, slot.y - y) < reach)
  );
}
