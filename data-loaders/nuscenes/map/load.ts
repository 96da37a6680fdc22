/**
 * Reading and checking a Map Expansion file: JSON with positions on syntax errors, the devkit's version
 * rule, every required key, every record's fields, and the load-time shortcuts (which also catch every
 * dangling token). Validation is hand-written rather than zod because real maps hold about a million
 * nodes and a schema library is ~20× slower on them (0.85 s vs 0.04 s per million nodes here).
 */
import { readFileSync } from 'node:fs';
import { SpikedriveError } from '../../../src/util/errors.ts';
import { findJsonErrorOffset, positionInText } from '../tables/json-array.ts';
import { MAP_LOCATIONS, type MapLocation } from '../types.ts';
import {
  type ArclinePath,
  type CarparkArea,
  type DrivableArea,
  type Lane,
  type LaneConnectivity,
  type LaneConnector,
  type LaneDivider,
  type LaneDividerSegment,
  type MapLine,
  type MapNode,
  type MapPolygon,
  type MapPolygonHole,
  type PedCrossing,
  type Pose6,
  REQUIRED_ARRAY_KEYS,
  REQUIRED_OBJECT_KEYS,
  type RoadBlock,
  type RoadDivider,
  type RoadSegment,
  type StopLine,
  type TrafficLight,
  type TrafficLightItem,
  type Walkway,
} from './types.ts';

/** Everything a loaded map holds, shortcuts resolved. */
export interface MapData {
  version: string;
  canvas_edge: [number, number];
  node: MapNode[];
  line: MapLine[];
  polygon: MapPolygon[];
  drivable_area: DrivableArea[];
  road_segment: RoadSegment[];
  road_block: RoadBlock[];
  lane: Lane[];
  ped_crossing: PedCrossing[];
  walkway: Walkway[];
  stop_line: StopLine[];
  carpark_area: CarparkArea[];
  road_divider: RoadDivider[];
  lane_divider: LaneDivider[];
  traffic_light: TrafficLight[];
  lane_connector: LaneConnector[];
  arcline_path_3: Record<string, ArclinePath[]>;
  connectivity: Record<string, LaneConnectivity>;
}

const FIX_REDOWNLOAD =
  'Download the nuScenes Map Expansion v1.3 again (https://www.nuscenes.org/download) or repair the file';

export function isMapLocation(name: string): name is MapLocation {
  return (MAP_LOCATIONS as readonly string[]).includes(name);
}

/** Parses JSON text, naming the file and the line/column of a syntax error. */
export function parseMapJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const offset = findJsonErrorOffset(text);
    let where: string;
    if (text.trim().length === 0) where = ' (the file is empty)';
    else if (offset >= text.length || offset < 0)
      where = ` (it ends too early, after ${text.length} characters)`;
    else {
      const { line, column } = positionInText(text, offset);
      where = ` at line ${line}, column ${column} (character ${offset})`;
    }
    throw new SpikedriveError(`${file}: malformed JSON${where}: ${message}`, {
      fix: `${FIX_REDOWNLOAD}; the file is probably truncated or was edited by hand`,
      subject: file,
      cause: error,
    });
  }
}

/** Reads `<dataroot>/maps/expansion/<mapName>.json` as text. */
export function readMapFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SpikedriveError(
      code === 'ENOENT'
        ? `map expansion file not found: ${file}`
        : `cannot read map expansion file ${file}: ${code}`,
      {
        fix: 'Download the nuScenes Map Expansion v1.3 and unpack it so that maps/expansion/<location>.json sits under the dataroot',
        subject: file,
        cause: error,
      },
    );
  }
}

/** A checker that names file, layer, record and field on every failure. */
class Checker {
  constructor(readonly file: string) {}

  fail(where: string, problem: string, fix = FIX_REDOWNLOAD): never {
    throw new SpikedriveError(`${this.file}: ${where} ${problem}`, { fix, subject: this.file });
  }

  object(v: unknown, where: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      this.fail(where, `must be an object, got ${kind(v)}`);
    return v as Record<string, unknown>;
  }

  array(v: unknown, where: string): unknown[] {
    if (!Array.isArray(v)) this.fail(where, `must be an array, got ${kind(v)}`);
    return v;
  }

  string(r: Record<string, unknown>, key: string, where: string): string {
    const v = r[key];
    if (typeof v !== 'string') this.fail(where, `field ${key} must be a string, got ${kind(v)}`);
    return v;
  }

  number(r: Record<string, unknown>, key: string, where: string): number {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v))
      this.fail(where, `field ${key} must be a finite number, got ${kind(v)}`);
    return v;
  }

  boolean(r: Record<string, unknown>, key: string, where: string): boolean {
    const v = r[key];
    if (typeof v !== 'boolean') this.fail(where, `field ${key} must be true or false, got ${kind(v)}`);
    return v;
  }

  strings(r: Record<string, unknown>, key: string, where: string): string[] {
    const v = this.array(r[key], `${where} field ${key}`);
    for (const s of v)
      if (typeof s !== 'string')
        this.fail(`${where} field ${key}`, `must hold token strings, got ${kind(s)}`);
    return v as string[];
  }

  numbers(r: Record<string, unknown>, key: string, length: number, where: string): number[] {
    const v = this.array(r[key], `${where} field ${key}`);
    if (v.length !== length || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      this.fail(`${where} field ${key}`, `must be ${length} finite numbers, got ${JSON.stringify(v)}`);
    }
    return v as number[];
  }

  pose6(r: Record<string, unknown>, key: string, where: string): Pose6 {
    const o = this.object(r[key], `${where} field ${key}`);
    const w = `${where} field ${key}`;
    return {
      tx: this.number(o, 'tx', w),
      ty: this.number(o, 'ty', w),
      tz: this.number(o, 'tz', w),
      rx: this.number(o, 'rx', w),
      ry: this.number(o, 'ry', w),
      rz: this.number(o, 'rz', w),
    };
  }
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing (missing)';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function records(c: Checker, json: Record<string, unknown>, layer: string): Record<string, unknown>[] {
  return c.array(json[layer], `layer ${layer}`).map((r, i) => c.object(r, `${layer}[${i}]`));
}

function recordName(layer: string, r: Record<string, unknown>, i: number): string {
  return typeof r.token === 'string' ? `${layer} record '${r.token}'` : `${layer}[${i}]`;
}

function dividerSegments(
  c: Checker,
  r: Record<string, unknown>,
  key: string,
  where: string,
): LaneDividerSegment[] {
  return c.array(r[key], `${where} field ${key}`).map((s, j) => {
    const o = c.object(s, `${where} field ${key}[${j}]`);
    return {
      node_token: c.string(o, 'node_token', `${where} field ${key}[${j}]`),
      segment_type: c.string(o, 'segment_type', `${where} field ${key}[${j}]`),
    };
  });
}

const ARCLINE_SHAPES = new Set(['LSL', 'LSR', 'RSL', 'RSR', 'LRL', 'RLR']);

/**
 * Checks a parsed map file and resolves the devkit's shortcuts. Throws a SpikedriveError naming the
 * file, layer, record and field for anything missing, mistyped or dangling.
 */
export function buildMapData(parsed: unknown, file: string): MapData {
  const c: Checker = new Checker(file);
  const json = c.object(parsed, 'the top level');
  const version = json.version === undefined ? '1.0' : json.version;
  if (typeof version !== 'string')
    c.fail('field version', `must be a string such as "1.3", got ${kind(version)}`);
  // The devkit compares version strings lexicographically; a missing version counts as '1.0'.
  if (version < '1.3') {
    c.fail(
      'map version',
      `is ${version}${json.version === undefined ? ' (no version field)' : ''}, older than the required 1.3`,
      'Download the latest Map Expansion (v1.3) from https://www.nuscenes.org/download',
    );
  }
  for (const key of [...REQUIRED_ARRAY_KEYS, ...REQUIRED_OBJECT_KEYS, 'canvas_edge']) {
    if (!(key in json)) c.fail(`required key ${key}`, 'is missing');
  }
  const canvasEdge = c.numbers(json, 'canvas_edge', 2, 'the top level') as [number, number];

  // Geometric layers first: everything else points into them.
  // Records are checked and completed in place (as the devkit does), which keeps loading a
  // million-node map free of copies.
  const node = records(c, json, 'node') as unknown as MapNode[];
  for (let i = 0; i < node.length; i++) {
    const r = node[i] as unknown as Record<string, unknown>;
    if (
      typeof r.token !== 'string' ||
      typeof r.x !== 'number' ||
      typeof r.y !== 'number' ||
      !Number.isFinite(r.x) ||
      !Number.isFinite(r.y)
    ) {
      const w = recordName('node', r, i);
      c.string(r, 'token', w);
      c.number(r, 'x', w);
      c.number(r, 'y', w);
    }
  }
  const nodeIndex = indexTokens(c, 'node', node);
  const needNode = (token: string, where: string, field: string) => {
    if (!nodeIndex.has(token))
      c.fail(where, `field ${field} points to node '${token}', which does not exist`);
    return node[nodeIndex.get(token) as number];
  };
  const line: MapLine[] = records(c, json, 'line').map((r, i) => {
    const w = recordName('line', r, i);
    const nodeTokens = c.strings(r, 'node_tokens', w);
    if (nodeTokens.length === 1) c.fail(w, 'has a single node; a line needs two or more (or none)');
    for (const t of nodeTokens) needNode(t, w, 'node_tokens');
    return { ...r, token: c.string(r, 'token', w), node_tokens: nodeTokens };
  });
  const lineIndex = indexTokens(c, 'line', line);
  const polygon: MapPolygon[] = records(c, json, 'polygon').map((r, i) => {
    const w = recordName('polygon', r, i);
    const exterior = c.strings(r, 'exterior_node_tokens', w);
    if (exterior.length < 3) c.fail(w, `has ${exterior.length} exterior nodes; a polygon needs at least 3`);
    for (const t of exterior) needNode(t, w, 'exterior_node_tokens');
    const holes: MapPolygonHole[] = c.array(r.holes, `${w} field holes`).map((h, j) => {
      const hw = `${w} field holes[${j}]`;
      const tokens = c.strings(c.object(h, hw), 'node_tokens', hw);
      if (tokens.length > 0 && tokens.length < 3)
        c.fail(hw, `has ${tokens.length} nodes; a hole needs at least 3`);
      for (const t of tokens) needNode(t, hw, 'node_tokens');
      return { node_tokens: tokens };
    });
    return { ...r, token: c.string(r, 'token', w), exterior_node_tokens: exterior, holes };
  });
  const polygonIndex = indexTokens(c, 'polygon', polygon);

  const polygonShortcut = (r: Record<string, unknown>, layer: string, i: number) => {
    const w = recordName(layer, r, i);
    const polygonToken = c.string(r, 'polygon_token', w);
    const index = polygonIndex.get(polygonToken);
    if (index === undefined)
      c.fail(w, `field polygon_token points to polygon '${polygonToken}', which does not exist`);
    const p = polygon[index];
    return {
      token: c.string(r, 'token', w),
      polygon_token: polygonToken,
      exterior_node_tokens: p.exterior_node_tokens,
      holes: p.holes,
    };
  };
  const lineShortcut = (r: Record<string, unknown>, layer: string, i: number) => {
    const w = recordName(layer, r, i);
    const lineToken = c.string(r, 'line_token', w);
    const index = lineIndex.get(lineToken);
    if (index === undefined)
      c.fail(w, `field line_token points to line '${lineToken}', which does not exist`);
    return { token: c.string(r, 'token', w), line_token: lineToken, node_tokens: line[index].node_tokens };
  };

  const drivableArea: DrivableArea[] = records(c, json, 'drivable_area').map((r, i) => {
    const w = recordName('drivable_area', r, i);
    const tokens = c.strings(r, 'polygon_tokens', w);
    for (const t of tokens) {
      if (!polygonIndex.has(t))
        c.fail(w, `field polygon_tokens points to polygon '${t}', which does not exist`);
    }
    return { ...r, token: c.string(r, 'token', w), polygon_tokens: tokens };
  });
  const roadSegment: RoadSegment[] = records(c, json, 'road_segment').map((r, i) => {
    const w = recordName('road_segment', r, i);
    return {
      ...r,
      ...polygonShortcut(r, 'road_segment', i),
      is_intersection: c.boolean(r, 'is_intersection', w),
      drivable_area_token: c.string(r, 'drivable_area_token', w),
    };
  });
  const roadBlock: RoadBlock[] = records(c, json, 'road_block').map((r, i) => {
    const w = recordName('road_block', r, i);
    return {
      ...r,
      ...polygonShortcut(r, 'road_block', i),
      from_edge_line_token: c.string(r, 'from_edge_line_token', w),
      to_edge_line_token: c.string(r, 'to_edge_line_token', w),
      road_segment_token: c.string(r, 'road_segment_token', w),
    };
  });
  const lane: Lane[] = records(c, json, 'lane').map((r, i) => {
    const w = recordName('lane', r, i);
    const left = dividerSegments(c, r, 'left_lane_divider_segments', w);
    const right = dividerSegments(c, r, 'right_lane_divider_segments', w);
    return {
      ...r,
      ...polygonShortcut(r, 'lane', i),
      lane_type: c.string(r, 'lane_type', w),
      from_edge_line_token: c.string(r, 'from_edge_line_token', w),
      to_edge_line_token: c.string(r, 'to_edge_line_token', w),
      left_lane_divider_segments: left,
      right_lane_divider_segments: right,
      left_lane_divider_segment_nodes: left.map((s, j) =>
        needNode(s.node_token, w, `left_lane_divider_segments[${j}].node_token`),
      ),
      right_lane_divider_segment_nodes: right.map((s, j) =>
        needNode(s.node_token, w, `right_lane_divider_segments[${j}].node_token`),
      ),
    };
  });
  const pedCrossing: PedCrossing[] = records(c, json, 'ped_crossing').map((r, i) => ({
    ...r,
    ...polygonShortcut(r, 'ped_crossing', i),
    road_segment_token: c.string(r, 'road_segment_token', recordName('ped_crossing', r, i)),
  }));
  const walkway: Walkway[] = records(c, json, 'walkway').map((r, i) => ({
    ...r,
    ...polygonShortcut(r, 'walkway', i),
  }));
  const carparkArea: CarparkArea[] = records(c, json, 'carpark_area').map((r, i) => {
    const w = recordName('carpark_area', r, i);
    return {
      ...r,
      ...polygonShortcut(r, 'carpark_area', i),
      orientation: c.number(r, 'orientation', w),
      road_block_token: c.string(r, 'road_block_token', w),
    };
  });
  const roadDivider: RoadDivider[] = records(c, json, 'road_divider').map((r, i) => ({
    ...r,
    ...lineShortcut(r, 'road_divider', i),
    road_segment_token: c.string(r, 'road_segment_token', recordName('road_divider', r, i)),
  }));
  const laneDivider: LaneDivider[] = records(c, json, 'lane_divider').map((r, i) => {
    const w = recordName('lane_divider', r, i);
    const segments = dividerSegments(c, r, 'lane_divider_segments', w);
    for (const [j, s] of segments.entries())
      needNode(s.node_token, w, `lane_divider_segments[${j}].node_token`);
    return { ...r, ...lineShortcut(r, 'lane_divider', i), lane_divider_segments: segments };
  });
  const trafficLight: TrafficLight[] = records(c, json, 'traffic_light').map((r, i) => {
    const w = recordName('traffic_light', r, i);
    const items: TrafficLightItem[] = c.array(r.items, `${w} field items`).map((it, j) => {
      const iw = `${w} field items[${j}]`;
      const o = c.object(it, iw);
      return {
        ...o,
        color: c.string(o, 'color', iw),
        shape: c.string(o, 'shape', iw),
        rel_pos: c.pose6(o, 'rel_pos', iw),
        to_road_block_tokens: c.strings(o, 'to_road_block_tokens', iw),
      };
    });
    return {
      ...r,
      ...lineShortcut(r, 'traffic_light', i),
      traffic_light_type: c.string(r, 'traffic_light_type', w),
      from_road_block_token: c.string(r, 'from_road_block_token', w),
      items,
      pose: c.pose6(r, 'pose', w),
    };
  });
  const laneConnector: LaneConnector[] = records(c, json, 'lane_connector').map((r, i) => {
    const w = recordName('lane_connector', r, i);
    return { ...r, token: c.string(r, 'token', w), polygon_token: c.string(r, 'polygon_token', w) };
  });
  indexTokens(c, 'lane_connector', laneConnector);

  const pedIndex = indexTokens(c, 'ped_crossing', pedCrossing);
  const lightIndex = indexTokens(c, 'traffic_light', trafficLight);
  const stopLine: StopLine[] = records(c, json, 'stop_line').map((r, i) => {
    const w = recordName('stop_line', r, i);
    const type = c.string(r, 'stop_line_type', w);
    const pedTokens = c.strings(r, 'ped_crossing_tokens', w);
    const lightTokens = c.strings(r, 'traffic_light_tokens', w);
    let cue: PedCrossing[] | TrafficLight[] | null = null;
    if (type === 'PED_CROSSING' || type === 'TURN_STOP') {
      cue = pedTokens.map((t) => {
        const k = pedIndex.get(t);
        if (k === undefined)
          c.fail(w, `field ped_crossing_tokens points to ped_crossing '${t}', which does not exist`);
        return pedCrossing[k];
      });
    } else if (type === 'STOP_SIGN' || type === 'YIELD') cue = [];
    else if (type === 'TRAFFIC_LIGHT') {
      cue = lightTokens.map((t) => {
        const k = lightIndex.get(t);
        if (k === undefined)
          c.fail(w, `field traffic_light_tokens points to traffic_light '${t}', which does not exist`);
        return trafficLight[k];
      });
    }
    return {
      ...r,
      ...polygonShortcut(r, 'stop_line', i),
      stop_line_type: type,
      ped_crossing_tokens: pedTokens,
      traffic_light_tokens: lightTokens,
      road_block_token: c.string(r, 'road_block_token', w),
      cue,
    };
  });

  const arcline = c.object(json.arcline_path_3, 'key arcline_path_3');
  const arclinePaths: Record<string, ArclinePath[]> = {};
  for (const [token, paths] of Object.entries(arcline)) {
    arclinePaths[token] = c.array(paths, `arcline_path_3['${token}']`).map((p, j) => {
      const w = `arcline_path_3['${token}'][${j}]`;
      const o = c.object(p, w);
      const shape = c.string(o, 'shape', w);
      if (!ARCLINE_SHAPES.has(shape))
        c.fail(w, `field shape must be one of ${[...ARCLINE_SHAPES].join(', ')}, got '${shape}'`);
      const radius = c.number(o, 'radius', w);
      return {
        ...o,
        start_pose: c.numbers(o, 'start_pose', 3, w) as [number, number, number],
        end_pose: c.numbers(o, 'end_pose', 3, w) as [number, number, number],
        shape: shape as ArclinePath['shape'],
        radius,
        segment_length: c.numbers(o, 'segment_length', 3, w) as [number, number, number],
      };
    });
  }
  const connectivityJson = c.object(json.connectivity, 'key connectivity');
  const connectivity: Record<string, LaneConnectivity> = {};
  for (const [token, entry] of Object.entries(connectivityJson)) {
    const w = `connectivity['${token}']`;
    const o = c.object(entry, w);
    connectivity[token] = { incoming: c.strings(o, 'incoming', w), outgoing: c.strings(o, 'outgoing', w) };
  }

  return {
    version,
    canvas_edge: canvasEdge,
    node,
    line,
    polygon,
    drivable_area: drivableArea,
    road_segment: roadSegment,
    road_block: roadBlock,
    lane,
    ped_crossing: pedCrossing,
    walkway,
    stop_line: stopLine,
    carpark_area: carparkArea,
    road_divider: roadDivider,
    lane_divider: laneDivider,
    traffic_light: trafficLight,
    lane_connector: laneConnector,
    arcline_path_3: arclinePaths,
    connectivity,
  };
}

/** token → index for one layer (the devkit's `_token2ind`); a repeated token is an error. */
export function indexTokens(
  c: Checker,
  layer: string,
  recs: readonly { token: string }[],
): Map<string, number> {
  const index = new Map<string, number>();
  recs.forEach((r, i) => {
    if (index.has(r.token))
      c.fail(`${layer} record '${r.token}'`, `appears twice (records ${index.get(r.token)} and ${i})`);
    index.set(r.token, i);
  });
  return index;
}

export { Checker };
