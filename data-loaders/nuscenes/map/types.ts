/**
 * Records of the nuScenes Map Expansion v1.3 JSON (`maps/expansion/<location>.json`), field for field
 * (snake_case, as every devkit user knows them), plus the shortcuts the devkit adds at load time
 * (marked "derived"). Coordinates are global metres (x east, y north); angles are radians.
 */
import type { MapLocation } from '../types.ts';

/** Layers whose records carry a polygon (drivable_area has several). */
export const NON_GEOMETRIC_POLYGON_LAYERS = [
  'drivable_area',
  'road_segment',
  'road_block',
  'lane',
  'ped_crossing',
  'walkway',
  'stop_line',
  'carpark_area',
] as const;
export type PolygonLayerName = (typeof NON_GEOMETRIC_POLYGON_LAYERS)[number];

/** Polygon layers that can be searched (lane connectors are searchable but never rendered). */
export const LOOKUP_POLYGON_LAYERS = [...NON_GEOMETRIC_POLYGON_LAYERS, 'lane_connector'] as const;
export type LookupPolygonLayerName = (typeof LOOKUP_POLYGON_LAYERS)[number];

/** Layers whose records carry a line. */
export const NON_GEOMETRIC_LINE_LAYERS = ['road_divider', 'lane_divider', 'traffic_light'] as const;
export type LineLayerName = (typeof NON_GEOMETRIC_LINE_LAYERS)[number];

/** The devkit's default layer list for masks and patch queries (polygon layers, then line layers). */
export const NON_GEOMETRIC_LAYERS = [...NON_GEOMETRIC_POLYGON_LAYERS, ...NON_GEOMETRIC_LINE_LAYERS] as const;
export type NonGeometricLayerName = (typeof NON_GEOMETRIC_LAYERS)[number];

export const GEOMETRIC_LAYERS = ['polygon', 'line', 'node'] as const;
export type GeometricLayerName = (typeof GEOMETRIC_LAYERS)[number];

/** Every record layer `get(layer, token)` accepts. */
export const MAP_LAYER_NAMES = [
  ...GEOMETRIC_LAYERS,
  ...LOOKUP_POLYGON_LAYERS,
  ...NON_GEOMETRIC_LINE_LAYERS,
] as const;
export type MapLayerName = (typeof MAP_LAYER_NAMES)[number];

/** Sizes the devkit's `get_map_mask` uses for `patch_box=None`, [width, height] in metres. */
export const MAP_DIMENSIONS_M: Record<MapLocation, readonly [number, number]> = {
  'singapore-onenorth': [1585.6, 2025.0],
  'singapore-hollandvillage': [2808.3, 2922.9],
  'singapore-queenstown': [3228.6, 3687.1],
  'boston-seaport': [2979.5, 2118.1],
};

export interface MapNode {
  token: string;
  x: number;
  y: number;
}

export interface MapLine {
  token: string;
  /** Two or more nodes (a few real lines have none; they are skipped when drawn). */
  node_tokens: string[];
}

export interface MapPolygonHole {
  node_tokens: string[];
}

export interface MapPolygon {
  token: string;
  exterior_node_tokens: string[];
  holes: MapPolygonHole[];
}

/** Shortcuts the devkit copies from the record's polygon onto it (derived). */
export interface PolygonShortcut {
  /** derived: the polygon's exterior nodes. */
  exterior_node_tokens: string[];
  /** derived: the polygon's holes. */
  holes: MapPolygonHole[];
}

/** Shortcut the devkit copies from the record's line onto it (derived). */
export interface LineShortcut {
  /** derived: the line's nodes. */
  node_tokens: string[];
}

export interface DrivableArea {
  token: string;
  polygon_tokens: string[];
}

export interface RoadSegment extends PolygonShortcut {
  token: string;
  polygon_token: string;
  is_intersection: boolean;
  drivable_area_token: string;
}

export interface RoadBlock extends PolygonShortcut {
  token: string;
  polygon_token: string;
  from_edge_line_token: string;
  to_edge_line_token: string;
  road_segment_token: string;
}

export interface LaneDividerSegment {
  node_token: string;
  /** e.g. DOUBLE_DASHED_WHITE, SINGLE_SOLID_YELLOW or NIL. */
  segment_type: string;
}

export interface Lane extends PolygonShortcut {
  token: string;
  polygon_token: string;
  /** CAR or BIKE. */
  lane_type: string;
  from_edge_line_token: string;
  to_edge_line_token: string;
  left_lane_divider_segments: LaneDividerSegment[];
  right_lane_divider_segments: LaneDividerSegment[];
  /** derived: the nodes of `left_lane_divider_segments`. */
  left_lane_divider_segment_nodes: MapNode[];
  /** derived: the nodes of `right_lane_divider_segments`. */
  right_lane_divider_segment_nodes: MapNode[];
}

export interface LaneConnector {
  token: string;
  polygon_token: string;
}

export interface PedCrossing extends PolygonShortcut {
  token: string;
  polygon_token: string;
  road_segment_token: string;
}

export interface Walkway extends PolygonShortcut {
  token: string;
  polygon_token: string;
}

export type StopLineType = 'PED_CROSSING' | 'TURN_STOP' | 'STOP_SIGN' | 'YIELD' | 'TRAFFIC_LIGHT';

export interface StopLine extends PolygonShortcut {
  token: string;
  polygon_token: string;
  stop_line_type: string;
  ped_crossing_tokens: string[];
  traffic_light_tokens: string[];
  road_block_token: string;
  /**
   * derived: the ped crossings (PED_CROSSING, TURN_STOP) or traffic lights (TRAFFIC_LIGHT) this line
   * waits for; [] for STOP_SIGN and YIELD; null for any other type (the devkit's None).
   */
  cue: PedCrossing[] | TrafficLight[] | null;
}

export interface CarparkArea extends PolygonShortcut {
  token: string;
  polygon_token: string;
  /** Radians. */
  orientation: number;
  road_block_token: string;
}

export interface RoadDivider extends LineShortcut {
  token: string;
  line_token: string;
  road_segment_token: string;
}

export interface LaneDivider extends LineShortcut {
  token: string;
  line_token: string;
  lane_divider_segments: LaneDividerSegment[];
}

export interface Pose6 {
  tx: number;
  ty: number;
  tz: number;
  rx: number;
  ry: number;
  rz: number;
}

export interface TrafficLightItem {
  /** RED, YELLOW or GREEN. */
  color: string;
  /** CIRCLE, LEFT, RIGHT or UP. */
  shape: string;
  rel_pos: Pose6;
  to_road_block_tokens: string[];
}

export interface TrafficLight extends LineShortcut {
  token: string;
  line_token: string;
  /** VERTICAL or HORIZONTAL. */
  traffic_light_type: string;
  from_road_block_token: string;
  items: TrafficLightItem[];
  pose: Pose6;
}

/** A pose (x, y, yaw) in the global frame; yaw in radians. */
export type Pose = readonly [number, number, number];

export type ArclineShape = 'LSL' | 'LSR' | 'RSL' | 'RSR' | 'LRL' | 'RLR';

/** One arc-line path of a lane's centre line (Dubins-style: three segments). */
export interface ArclinePath {
  start_pose: [number, number, number];
  end_pose: [number, number, number];
  shape: ArclineShape;
  radius: number;
  segment_length: [number, number, number];
}

export interface LaneConnectivity {
  incoming: string[];
  outgoing: string[];
}

/** The layer name → record type table. */
export interface MapLayerRecords {
  node: MapNode;
  line: MapLine;
  polygon: MapPolygon;
  drivable_area: DrivableArea;
  road_segment: RoadSegment;
  road_block: RoadBlock;
  lane: Lane;
  ped_crossing: PedCrossing;
  walkway: Walkway;
  stop_line: StopLine;
  carpark_area: CarparkArea;
  road_divider: RoadDivider;
  lane_divider: LaneDivider;
  traffic_light: TrafficLight;
  lane_connector: LaneConnector;
}

/** The top-level keys every v1.3 map file must have. */
export const REQUIRED_ARRAY_KEYS = [
  'node',
  'line',
  'polygon',
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
  'traffic_light',
  'lane_connector',
] as const;
export const REQUIRED_OBJECT_KEYS = ['arcline_path_3', 'connectivity'] as const;
