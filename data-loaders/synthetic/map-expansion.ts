// The synthetic town written as a nuScenes Map Expansion v1.3 JSON (maps/expansion/<location>.json): nodes,
// lines and polygons with shared node tokens, every layer the devkit requires, lanes with edge lines and
// divider segments, `arcline_path_3` (exact, since our roads are arc-line paths) and `connectivity`.
import polygonClipping, { type Polygon as ClipPolygon, type MultiPolygon } from 'polygon-clipping';
import {
  bandPolygon,
  LANE_SETBACK_M,
  LANE_WIDTH_M,
  type Point2,
  type RoadEdge,
  type SyntheticNetwork,
} from './network.ts';
import { type Path, principalAngle, segmentPoseAt } from './path.ts';
import { type TokenFactory, tokenFactory } from './tokens.ts';

interface NodeRecord {
  token: string;
  x: number;
  y: number;
}
interface LineRecord {
  token: string;
  node_tokens: string[];
}
interface PolygonRecord {
  token: string;
  exterior_node_tokens: string[];
  holes: Array<{ node_tokens: string[] }>;
}
interface DividerSegment {
  node_token: string;
  segment_type: string;
}
export interface ArclinePathRecord {
  start_pose: [number, number, number];
  end_pose: [number, number, number];
  shape: 'LSL' | 'RSR';
  radius: number;
  segment_length: [number, number, number];
}

/** The JSON document of one map expansion file (field names as the devkit reads them). */
export interface MapExpansionJson {
  version: string;
  canvas_edge: [number, number];
  node: NodeRecord[];
  line: LineRecord[];
  polygon: PolygonRecord[];
  drivable_area: Array<{ token: string; polygon_tokens: string[] }>;
  road_segment: Array<{
    token: string;
    polygon_token: string;
    is_intersection: boolean;
    drivable_area_token: string;
  }>;
  road_block: Array<{
    token: string;
    polygon_token: string;
    from_edge_line_token: string;
    to_edge_line_token: string;
    road_segment_token: string;
  }>;
  lane: Array<{
    token: string;
    polygon_token: string;
    lane_type: string;
    from_edge_line_token: string;
    to_edge_line_token: string;
    left_lane_divider_segments: DividerSegment[];
    right_lane_divider_segments: DividerSegment[];
  }>;
  ped_crossing: Array<{ token: string; polygon_token: string; road_segment_token: string }>;
  walkway: Array<{ token: string; polygon_token: string }>;
  stop_line: Array<{
    token: string;
    polygon_token: string;
    stop_line_type: string;
    ped_crossing_tokens: string[];
    traffic_light_tokens: string[];
    road_block_token: string;
  }>;
  carpark_area: Array<{
    token: string;
    polygon_token: string;
    orientation: number;
    road_block_token: string;
  }>;
  road_divider: Array<{ token: string; line_token: string; road_segment_token: string }>;
  lane_divider: Array<{ token: string; line_token: string; lane_divider_segments: DividerSegment[] }>;
  traffic_light: never[];
  lane_connector: Array<{ token: string; polygon_token: string }>;
  arcline_path_3: Record<string, ArclinePathRecord[]>;
  connectivity: Record<string, { incoming: string[]; outgoing: string[] }>;
}

/** Tokens of the records the world simulation and tables need to refer to. */
export interface MapTokens {
  laneTokens: string[];
  connectorTokens: string[];
}

/** Map records in the devkit's arcline form: one record per straight segment or arc of the path. */
export function arclineRecords(path: Path): ArclinePathRecord[] {
  return path.segments.map((segment) => {
    const end = segmentPoseAt(segment, segment.lengthM);
    const pose = (p: { x: number; y: number; heading: number }): [number, number, number] => [
      round(p.x, 4),
      round(p.y, 4),
      round(principalAngle(p.heading), 6),
    ];
    const straight = Math.abs(segment.curvature) < 1e-12;
    const length = round(segment.lengthM, 4);
    return {
      start_pose: pose(segment.start),
      end_pose: pose(end),
      shape: straight || segment.curvature > 0 ? 'LSL' : 'RSR',
      radius: straight ? 999 : round(1 / Math.abs(segment.curvature), 4),
      segment_length: straight ? [0, length, 0] : [length, 0, 0],
    };
  });
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Divider types as painted: Boston has a double yellow centre line, Singapore a white one. */
function centreLineType(network: SyntheticNetwork): string {
  return network.driveOnLeft ? 'SINGLE_SOLID_WHITE' : 'DOUBLE_SOLID_YELLOW';
}
const LANE_LINE_TYPE = 'DOUBLE_DASHED_WHITE';

/** Stations along an edge's centre where lane geometry is sampled: arc steps plus the lane ends. */
function edgeStations(edge: RoadEdge): number[] {
  const length = edge.centre.lengthM;
  const set = new Set(edge.centre.stations(2).map((s) => round(s, 6)));
  set.add(round(LANE_SETBACK_M, 6));
  if (edge.to !== null) set.add(round(length - LANE_SETBACK_M, 6));
  return [...set].sort((a, b) => a - b);
}

/** The lane range of an edge in its centre's arc length. */
function laneRange(edge: RoadEdge): [number, number] {
  return [LANE_SETBACK_M, edge.to === null ? edge.centre.lengthM : edge.centre.lengthM - LANE_SETBACK_M];
}

export function buildMapExpansion(
  network: SyntheticNetwork,
  namespace: string,
): {
  json: MapExpansionJson;
  tokens: MapTokens;
} {
  const token: TokenFactory = tokenFactory(`${namespace}/map/${network.location}`);
  const nodes: NodeRecord[] = [];
  const nodeByKey = new Map<string, string>();
  const lines: LineRecord[] = [];
  const polygons: PolygonRecord[] = [];

  // Nodes are shared by position (to the millimetre), so touching polygons and lines share node tokens.
  const node = ([x, y]: Point2): string => {
    const rx = round(x, 3);
    const ry = round(y, 3);
    const key = `${rx},${ry}`;
    let t = nodeByKey.get(key);
    if (t === undefined) {
      t = token(`node/${key}`);
      nodeByKey.set(key, t);
      nodes.push({ token: t, x: rx, y: ry });
    }
    return t;
  };
  const dedupe = (tokens: string[]) => tokens.filter((t, i) => i === 0 || t !== tokens[i - 1]);
  const polygon = (key: string, exterior: Point2[], holes: Point2[][] = []): string => {
    const t = token(`polygon/${key}`);
    let ring = dedupe(exterior.map(node));
    if (ring.length > 1 && ring[0] === ring[ring.length - 1]) ring = ring.slice(0, -1);
    polygons.push({
      token: t,
      exterior_node_tokens: ring,
      holes: holes.map((hole) => {
        let h = dedupe(hole.map(node));
        if (h.length > 1 && h[0] === h[h.length - 1]) h = h.slice(0, -1);
        return { node_tokens: h };
      }),
    });
    return t;
  };
  const line = (key: string, points: Point2[]): string => {
    const t = token(`line/${key}`);
    lines.push({ token: t, node_tokens: dedupe(points.map(node)) });
    return t;
  };

  const side = network.driveOnLeft ? 1 : -1;
  const json: MapExpansionJson = {
    version: '1.3',
    canvas_edge: network.canvasEdgeM,
    node: nodes,
    line: lines,
    polygon: polygons,
    drivable_area: [],
    road_segment: [],
    road_block: [],
    lane: [],
    ped_crossing: [],
    walkway: [],
    stop_line: [],
    carpark_area: [],
    road_divider: [],
    lane_divider: [],
    traffic_light: [],
    lane_connector: [],
    arcline_path_3: {},
    connectivity: {},
  };

  // Drivable area: the union of every road, intersection and car park, as polygons with holes (the blocks).
  const drivableToken = token('drivable_area/0');
  const roadPolygons: Point2[][] = network.edges.map((edge) =>
    bandPolygon(edge.centre, -edge.halfWidthM, edge.halfWidthM),
  );
  const pieces: ClipPolygon[] = [
    ...roadPolygons,
    ...network.intersectionPolygons,
    ...network.carparks.map((c) => c.polygon),
  ].map((points) => [closeRing(points)]);
  const union: MultiPolygon = polygonClipping.union(pieces[0], ...pieces.slice(1));
  json.drivable_area.push({
    token: drivableToken,
    polygon_tokens: union.map((poly, i) =>
      polygon(
        `drivable/${i}`,
        poly[0].map(([x, y]) => [x, y] as Point2),
        poly.slice(1).map((ring) => ring.map(([x, y]) => [x, y] as Point2)),
      ),
    ),
  });

  // Road segments (one per road, one per intersection) and road blocks (one per road direction).
  const segmentTokens = network.edges.map((edge, i) => {
    const t = token(`road_segment/edge/${edge.id}`);
    json.road_segment.push({
      token: t,
      polygon_token: polygon(`road_segment/edge/${edge.id}`, roadPolygons[i]),
      is_intersection: false,
      drivable_area_token: drivableToken,
    });
    return t;
  });
  network.intersections.forEach((ix, i) => {
    json.road_segment.push({
      token: token(`road_segment/intersection/${ix.id}`),
      polygon_token: polygon(`road_segment/intersection/${ix.id}`, network.intersectionPolygons[i]),
      is_intersection: true,
      drivable_area_token: drivableToken,
    });
  });

  const blockTokens = new Map<string, string>();
  const stationsOf = network.edges.map(edgeStations);
  const pointsAlong = (edge: RoadEdge, offset: number, from: number, to: number): Point2[] => {
    const lo = Math.min(from, to);
    const hi = Math.max(from, to);
    const pts = stationsOf[edge.id]
      .filter((s) => s >= lo - 1e-6 && s <= hi + 1e-6)
      .map((s) => {
        const p = edge.centre.poseAt(s);
        return [p.x - offset * Math.sin(p.heading), p.y + offset * Math.cos(p.heading)] as Point2;
      });
    return from <= to ? pts : pts.reverse();
  };
  for (const edge of network.edges) {
    const [a, b] = laneRange(edge);
    for (const direction of [1, -1] as const) {
      const [from, to] = direction === 1 ? [a, b] : [b, a];
      const outer = direction * side * edge.halfWidthM;
      // Travel-left/right boundaries in the centre's offsets: along the centre, left = larger offset.
      const leftOffset = direction === 1 ? Math.max(0, outer) : Math.min(0, outer);
      const rightOffset = direction === 1 ? Math.min(0, outer) : Math.max(0, outer);
      const right = pointsAlong(edge, rightOffset, from, to);
      const left = pointsAlong(edge, leftOffset, from, to);
      const key = `${edge.id}/${direction}`;
      const t = token(`road_block/${key}`);
      json.road_block.push({
        token: t,
        polygon_token: polygon(`road_block/${key}`, [...right, ...left.slice().reverse()]),
        from_edge_line_token: line(`road_block/${key}/from`, [left[0], right[0]]),
        to_edge_line_token: line(`road_block/${key}/to`, [right[right.length - 1], left[left.length - 1]]),
        road_segment_token: segmentTokens[edge.id],
      });
      blockTokens.set(key, t);
    }
  }

  // Lanes with edge lines and divider segments; their arcline paths are the exact lane centre lines.
  const centreType = centreLineType(network);
  const laneTokens = network.lanes.map((lane) => {
    const edge = network.edges[lane.edge];
    const [a, b] = laneRange(edge);
    const [from, to] = lane.direction === 1 ? [a, b] : [b, a];
    const inner = lane.direction * side * lane.index * LANE_WIDTH_M;
    const outer = lane.direction * side * (lane.index + 1) * LANE_WIDTH_M;
    const leftOffset = lane.direction === 1 ? Math.max(inner, outer) : Math.min(inner, outer);
    const rightOffset = lane.direction === 1 ? Math.min(inner, outer) : Math.max(inner, outer);
    const right = pointsAlong(edge, rightOffset, from, to);
    const left = pointsAlong(edge, leftOffset, from, to);
    const typeOf = (offset: number) =>
      Math.abs(offset) < 1e-9
        ? centreType
        : Math.abs(offset) >= edge.halfWidthM - 1e-9
          ? 'NIL'
          : LANE_LINE_TYPE;
    const t = token(`lane/${lane.id}`);
    json.lane.push({
      token: t,
      polygon_token: polygon(`lane/${lane.id}`, [...right, ...left.slice().reverse()]),
      lane_type: 'CAR',
      from_edge_line_token: line(`lane/${lane.id}/from`, [left[0], right[0]]),
      to_edge_line_token: line(`lane/${lane.id}/to`, [right[right.length - 1], left[left.length - 1]]),
      left_lane_divider_segments: dedupe(left.map(node)).map((n) => ({
        node_token: n,
        segment_type: typeOf(leftOffset),
      })),
      right_lane_divider_segments: dedupe(right.map(node)).map((n) => ({
        node_token: n,
        segment_type: typeOf(rightOffset),
      })),
    });
    json.arcline_path_3[t] = arclineRecords(lane.path);
    return t;
  });

  const connectorTokens = network.connectors.map((connector) => {
    const t = token(`lane_connector/${connector.id}`);
    json.lane_connector.push({
      token: t,
      polygon_token: polygon(
        `lane_connector/${connector.id}`,
        bandPolygon(connector.path, -LANE_WIDTH_M / 2, LANE_WIDTH_M / 2, 1.5),
      ),
    });
    json.arcline_path_3[t] = arclineRecords(connector.path);
    return t;
  });
  network.lanes.forEach((lane, i) => {
    json.connectivity[laneTokens[i]] = {
      incoming: network.connectorsIntoLane[lane.id].map((c) => connectorTokens[c]),
      outgoing: network.connectorsFromLane[lane.id].map((c) => connectorTokens[c]),
    };
  });
  network.connectors.forEach((connector, i) => {
    json.connectivity[connectorTokens[i]] = {
      incoming: [laneTokens[connector.fromLane]],
      outgoing: [laneTokens[connector.toLane]],
    };
  });

  // Dividers: the centre line of every road (and a road divider on the avenues), dashed lines between lanes.
  for (const edge of network.edges) {
    const [a, b] = laneRange(edge);
    const centre = pointsAlong(edge, 0, a, b);
    const centreLine = line(`lane_divider/${edge.id}/centre`, centre);
    json.lane_divider.push({
      token: token(`lane_divider/${edge.id}/centre`),
      line_token: centreLine,
      lane_divider_segments: dedupe(centre.map(node)).map((n) => ({
        node_token: n,
        segment_type: centreType,
      })),
    });
    if (edge.lanesPerDirection > 1) {
      json.road_divider.push({
        token: token(`road_divider/${edge.id}`),
        line_token: line(`road_divider/${edge.id}`, centre),
        road_segment_token: segmentTokens[edge.id],
      });
    }
    for (let k = 1; k < edge.lanesPerDirection; k++) {
      for (const sign of [1, -1]) {
        const points = pointsAlong(edge, sign * k * LANE_WIDTH_M, a, b);
        const key = `${edge.id}/${sign}/${k}`;
        json.lane_divider.push({
          token: token(`lane_divider/${key}`),
          line_token: line(`lane_divider/${key}`, points),
          lane_divider_segments: dedupe(points.map(node)).map((n) => ({
            node_token: n,
            segment_type: LANE_LINE_TYPE,
          })),
        });
      }
    }
  }

  // Crossings, stop lines, walkways, car parks.
  const crossingTokens = network.crossings.map((crossing) => {
    const t = token(`ped_crossing/${crossing.id}`);
    json.ped_crossing.push({
      token: t,
      polygon_token: polygon(`ped_crossing/${crossing.id}`, crossing.polygon),
      road_segment_token: segmentTokens[crossing.edge],
    });
    return t;
  });
  for (const stop of network.stopLines) {
    json.stop_line.push({
      token: token(`stop_line/${stop.id}`),
      polygon_token: polygon(`stop_line/${stop.id}`, stop.polygon),
      stop_line_type: 'PED_CROSSING',
      ped_crossing_tokens: [crossingTokens[stop.crossing]],
      traffic_light_tokens: [],
      road_block_token: blockTokens.get(`${stop.edge}/${stop.direction}`)!,
    });
  }
  network.walkways.forEach((points, i) => {
    json.walkway.push({ token: token(`walkway/${i}`), polygon_token: polygon(`walkway/${i}`, points) });
  });
  for (const carpark of network.carparks) {
    json.carpark_area.push({
      token: token(`carpark_area/${carpark.id}`),
      polygon_token: polygon(`carpark_area/${carpark.id}`, carpark.polygon),
      orientation: round(principalAngle(carpark.orientation), 6),
      // The block of the traffic direction on the car park's side of the road.
      road_block_token: blockTokens.get(`${carpark.edge}/${carpark.side * side > 0 ? 1 : -1}`)!,
    });
  }

  return { json, tokens: { laneTokens, connectorTokens } };
}

function closeRing(points: Point2[]): Array<[number, number]> {
  const ring = points.map(([x, y]) => [x, y] as [number, number]);
  const first = ring[0];
  const last = ring[ring.length - 1];
  if (first[0] !== last[0] || first[1] !== last[1]) ring.push([first[0], first[1]]);
  return ring;
}
