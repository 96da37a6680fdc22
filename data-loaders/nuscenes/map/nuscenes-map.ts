/**
 * `NuScenesMap`: the devkit's map-expansion API over one location's v1.3 map — typed layers, `get`, patch
 * and point queries, lanes (arc-line paths, connectivity, next roads) and the pixel-exact `getMapMask`.
 */
import { join } from 'node:path';
import { SpikedriveError } from '../../../src/util/errors.ts';
import { MAP_LOCATIONS, type MapLocation } from '../types.ts';
import { discretizeLane } from './arcline.ts';
import { assembleLines, assembleRings, type SubjectSegment } from './clip.ts';
import { buildMapData, isMapLocation, type MapData, parseMapJson, readMapFile } from './load.ts';
import { type PatchBox, PatchTransform, type PolygonRings, polygonSubject } from './mask.ts';
import { type Coord, intersectSegments, locatePoint, type Segment } from './predicates.ts';
import { createRaster } from './raster.ts';
import {
  type ArclinePath,
  type LaneConnectivity,
  LOOKUP_POLYGON_LAYERS,
  MAP_DIMENSIONS_M,
  MAP_LAYER_NAMES,
  type MapLayerName,
  type MapLayerRecords,
  NON_GEOMETRIC_LAYERS,
  NON_GEOMETRIC_LINE_LAYERS,
  NON_GEOMETRIC_POLYGON_LAYERS,
  type NonGeometricLayerName,
  type Pose,
} from './types.ts';
import { isPolygonValid } from './valid.ts';

export interface NuScenesMapOptions {
  /** Dataset root holding `maps/expansion/<mapName>.json`. */
  dataroot: string;
  /** One of the four nuScenes locations. */
  mapName: string;
}

/** Axis-aligned box (x_min, y_min, x_max, y_max) in global metres. */
export type BoxCoords = readonly [number, number, number, number];

export type PatchMode = 'intersect' | 'within';

/** `getMapMask`'s result: one uint8 mask per drawn layer, each [height × width], row = local y. */
export interface MapMaskResult {
  /** The layers actually drawn, in order (traffic_light is never drawn). */
  readonly layers: NonGeometricLayerName[];
  readonly height: number;
  readonly width: number;
  /** [layers.length, height, width], like the devkit's array. */
  readonly shape: readonly [number, number, number];
  /** masks[i][row * width + col] is 1 inside layer i, else 0. */
  readonly masks: Uint8Array[];
}

/** One record's geometry clipped to a patch, in the patch frame (centre at the origin, x along its width). */
export type MapGeometry =
  | { readonly kind: 'polygon'; readonly token: string; readonly polygons: PolygonRings[] }
  | { readonly kind: 'line'; readonly token: string; readonly lines: Coord[][] };

/** `getMapGeom`'s result for one layer. */
export interface LayerGeometry {
  readonly layer: NonGeometricLayerName;
  readonly geometries: MapGeometry[];
}

const FIX_LAYER = `Use one of: ${NON_GEOMETRIC_LAYERS.join(', ')}`;

function patchBoxOf(box: PatchBox | readonly [number, number, number, number]): PatchBox {
  if ('xCenter' in box) return box;
  return { xCenter: box[0], yCenter: box[1], height: box[2], width: box[3] };
}

export class NuScenesMap {
  readonly dataroot: string;
  readonly mapName: MapLocation;
  /** The file the map was read from. */
  readonly source: string;
  readonly version: string;
  /** [width, height] of the map in metres. */
  readonly canvasEdge: readonly [number, number];
  readonly data: MapData;
  private readonly tokenIndex = new Map<MapLayerName, Map<string, number>>();
  private readonly nodeCache = new Map<string, Coord>();
  private readonly validity = new Map<string, boolean>();
  private readonly envelopes = new Map<string, readonly [number, number, number, number]>();
  private readonly polygonCache = new Map<string, PolygonRings>();
  private readonly subjectCache = new Map<string, SubjectSegment[]>();

  /** Loads `<dataroot>/maps/expansion/<mapName>.json` (synchronously, like the devkit). */
  constructor(options: NuScenesMapOptions) {
    if (!isMapLocation(options.mapName)) {
      throw new SpikedriveError(`unknown map name '${options.mapName}'`, {
        fix: `Use one of the four nuScenes locations: ${MAP_LOCATIONS.join(', ')}`,
        subject: 'mapName',
      });
    }
    const file = join(options.dataroot, 'maps', 'expansion', `${options.mapName}.json`);
    const data = buildMapData(parseMapJson(readMapFile(file), file), file);
    this.dataroot = options.dataroot;
    this.mapName = options.mapName;
    this.source = file;
    this.version = data.version;
    this.canvasEdge = data.canvas_edge;
    this.data = data;
    for (const layer of MAP_LAYER_NAMES) {
      const index = new Map<string, number>();
      for (const [i, r] of (data[layer] as readonly { token: string }[]).entries()) index.set(r.token, i);
      this.tokenIndex.set(layer, index);
    }
  }

  /** The records of one layer, in file order. */
  records<L extends MapLayerName>(layer: L): readonly MapLayerRecords[L][] {
    this.checkLayer(layer, MAP_LAYER_NAMES);
    return this.data[layer] as unknown as MapLayerRecords[L][];
  }

  get arclinePath3(): Readonly<Record<string, ArclinePath[]>> {
    return this.data.arcline_path_3;
  }

  get connectivity(): Readonly<Record<string, LaneConnectivity>> {
    return this.data.connectivity;
  }

  private checkLayer(layer: string, allowed: readonly string[], what = 'layer'): void {
    if (!allowed.includes(layer)) {
      throw new SpikedriveError(`'${layer}' is not a ${what} of the map expansion`, {
        fix: `Use one of: ${allowed.join(', ')}`,
        subject: layer,
      });
    }
  }

  /** Whether a record with this token exists in the layer. */
  has(layer: MapLayerName, token: string): boolean {
    this.checkLayer(layer, MAP_LAYER_NAMES);
    return this.tokenIndex.get(layer)?.has(token) ?? false;
  }

  /** Index of a record in its layer (the devkit's `getind`). */
  getIndex(layer: MapLayerName, token: string): number {
    this.checkLayer(layer, MAP_LAYER_NAMES);
    const i = this.tokenIndex.get(layer)?.get(token);
    if (i === undefined) {
      throw new SpikedriveError(`${this.mapName}: no ${layer} record with token '${token}'`, {
        fix: `Check the token; list the layer's tokens with map.records('${layer}')`,
        subject: token,
      });
    }
    return i;
  }

  /** One record by layer and token (the devkit's `get`). */
  get<L extends MapLayerName>(layer: L, token: string): MapLayerRecords[L] {
    return this.records(layer)[this.getIndex(layer, token)];
  }

  private nodeXY(token: string): Coord {
    let c = this.nodeCache.get(token);
    if (!c) {
      const n = this.get('node', token);
      c = [n.x, n.y];
      this.nodeCache.set(token, c);
    }
    return c;
  }

  /** A polygon record as closed rings (`extract_polygon`; empty holes are dropped, as in the devkit). */
  extractPolygon(polygonToken: string): PolygonRings {
    const cached = this.polygonCache.get(polygonToken);
    if (cached) return cached;
    const p = this.get('polygon', polygonToken);
    const close = (tokens: readonly string[]) => {
      const ring = tokens.map((t) => this.nodeXY(t));
      const first = ring[0];
      const last = ring[ring.length - 1];
      if (first[0] !== last[0] || first[1] !== last[1]) ring.push(first);
      return ring;
    };
    const rings: PolygonRings = {
      exterior: close(p.exterior_node_tokens),
      interiors: p.holes.filter((h) => h.node_tokens.length > 0).map((h) => close(h.node_tokens)),
    };
    this.polygonCache.set(polygonToken, rings);
    return rings;
  }

  /** A line record's points (`extract_line`); empty for the few real lines without nodes. */
  extractLine(lineToken: string): Coord[] {
    return this.get('line', lineToken).node_tokens.map((t) => this.nodeXY(t));
  }

  /** Envelope of a polygon's exterior or a line's nodes (cached), for quick rejection of far records. */
  private envelopeOf(layer: 'polygon' | 'line', token: string): readonly [number, number, number, number] {
    const key = `${layer}:${token}`;
    let env = this.envelopes.get(key);
    if (!env) {
      const tokens =
        layer === 'polygon'
          ? this.get('polygon', token).exterior_node_tokens
          : this.get('line', token).node_tokens;
      let [x0, y0, x1, y1] = [
        Number.POSITIVE_INFINITY,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
      ];
      for (const t of tokens) {
        const [x, y] = this.nodeXY(t);
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
      env = [x0, y0, x1, y1];
      this.envelopes.set(key, env);
    }
    return env;
  }

  /** A polygon's ring segments as the clipper takes them (cached: big drivable areas are reused per frame). */
  private polygonSegmentsFor(polygonToken: string): SubjectSegment[] {
    let segments = this.subjectCache.get(polygonToken);
    if (!segments) {
      segments = polygonSubject(this.extractPolygon(polygonToken));
      this.subjectCache.set(polygonToken, segments);
    }
    return segments;
  }

  /** Shapely's `polygon.is_valid` for a polygon record (cached). */
  isPolygonValid(polygonToken: string): boolean {
    let v = this.validity.get(polygonToken);
    if (v === undefined) {
      const p = this.extractPolygon(polygonToken);
      v = isPolygonValid(p.exterior, p.interiors);
      this.validity.set(polygonToken, v);
    }
    return v;
  }

  private polygonTokenOf(layer: string, token: string): string {
    const record = this.get(layer as MapLayerName, token) as { polygon_token?: string };
    const polygonToken = record.polygon_token as string;
    if (layer === 'lane_connector' && !this.has('polygon', polygonToken)) {
      throw new SpikedriveError(
        `${this.source}: lane_connector record '${token}' field polygon_token points to polygon '${polygonToken}', which does not exist`,
        { fix: 'Repair the lane connector or download the Map Expansion v1.3 again', subject: this.source },
      );
    }
    return polygonToken;
  }

  private recordLineNodes(layer: string, token: string): Coord[] {
    return (this.get(layer as MapLayerName, token) as { node_tokens: string[] }).node_tokens.map((t) =>
      this.nodeXY(t),
    );
  }

  /** Whether one record intersects (or lies within) an axis-aligned box (`is_record_in_patch`). */
  isRecordInPatch(layer: string, token: string, box: BoxCoords, mode: PatchMode = 'intersect'): boolean {
    checkMode(mode);
    if ((LOOKUP_POLYGON_LAYERS as readonly string[]).includes(layer)) {
      const polygonTokens =
        layer === 'drivable_area'
          ? this.get('drivable_area', token).polygon_tokens
          : [this.polygonTokenOf(layer, token)];
      // Envelope tests first: cheap, and exact as a necessary condition.
      const overlaps = (t: string) => {
        const e = this.envelopeOf('polygon', t);
        return !(e[0] > box[2] || e[2] < box[0] || e[1] > box[3] || e[3] < box[1]);
      };
      const inside = (t: string) => {
        const e = this.envelopeOf('polygon', t);
        return e[0] >= box[0] && e[2] <= box[2] && e[1] >= box[1] && e[3] <= box[3];
      };
      return mode === 'intersect'
        ? polygonTokens.some((t) => overlaps(t) && polygonIntersectsBox(this.extractPolygon(t), box))
        : polygonTokens.length > 0 &&
            polygonTokens.every((t) => inside(t) && polygonWithinBox(this.extractPolygon(t), box));
    }
    if ((NON_GEOMETRIC_LINE_LAYERS as readonly string[]).includes(layer)) {
      const nodes = this.recordLineNodes(layer, token);
      if (nodes.length === 0) return false;
      // The devkit tests the line's nodes, strictly inside the box.
      const inside = nodes.map(([x, y]) => x < box[2] && x > box[0] && y < box[3] && y > box[1]);
      return mode === 'intersect' ? inside.some(Boolean) : inside.every(Boolean);
    }
    throw new SpikedriveError(`'${layer}' is not a valid layer for patch queries`, {
      fix: `Use one of: ${[...LOOKUP_POLYGON_LAYERS, ...NON_GEOMETRIC_LINE_LAYERS].join(', ')}`,
      subject: layer,
    });
  }

  /** Tokens per layer of the records that intersect (or lie within) a box (`get_records_in_patch`). */
  getRecordsInPatch(
    box: BoxCoords,
    layerNames: readonly string[] = NON_GEOMETRIC_LAYERS,
    mode: PatchMode = 'intersect',
  ): Record<string, string[]> {
    checkMode(mode);
    const out: Record<string, string[]> = {};
    for (const layer of layerNames) {
      this.checkLayer(layer, [...LOOKUP_POLYGON_LAYERS, ...NON_GEOMETRIC_LINE_LAYERS]);
      out[layer] = (this.records(layer as MapLayerName) as readonly { token: string }[])
        .filter((r) => this.isRecordInPatch(layer, r.token, box, mode))
        .map((r) => r.token);
    }
    return out;
  }

  /** Records in the square of side 2·radius centred on (x, y) (`get_records_in_radius`). */
  getRecordsInRadius(
    x: number,
    y: number,
    radiusM: number,
    layerNames: readonly string[],
    mode: PatchMode = 'intersect',
  ): Record<string, string[]> {
    return this.getRecordsInPatch([x - radiusM, y - radiusM, x + radiusM, y + radiusM], layerNames, mode);
  }

  /** The first record of a polygon layer whose polygon strictly contains the point, or '' (`record_on_point`). */
  recordOnPoint(x: number, y: number, layer: string): string {
    this.checkLayer(layer, NON_GEOMETRIC_POLYGON_LAYERS, 'polygon layer');
    for (const r of this.records(layer as MapLayerName) as readonly {
      token: string;
      polygon_token?: string;
    }[]) {
      const polygonTokens =
        layer === 'drivable_area'
          ? this.get('drivable_area', r.token).polygon_tokens
          : [r.polygon_token as string];
      for (const polygonToken of polygonTokens) {
        const [x0, y0, x1, y1] = this.envelopeOf('polygon', polygonToken);
        if (x < x0 || x > x1 || y < y0 || y > y1) continue;
        if (pointWithinPolygon(x, y, this.extractPolygon(polygonToken))) return r.token;
      }
    }
    return '';
  }

  /** For each polygon layer, the record the point lies on, or '' (`layers_on_point`). */
  layersOnPoint(
    x: number,
    y: number,
    layerNames: readonly string[] = NON_GEOMETRIC_POLYGON_LAYERS,
  ): Record<string, string> {
    const out: Record<string, string> = {};
    for (const layer of layerNames) out[layer] = this.recordOnPoint(x, y, layer);
    return out;
  }

  /** (x_min, y_min, x_max, y_max) of a record's exterior nodes (`get_bounds`). */
  getBounds(layer: string, token: string): [number, number, number, number] {
    let points: Coord[];
    if ((NON_GEOMETRIC_POLYGON_LAYERS as readonly string[]).includes(layer)) {
      const tokens =
        layer === 'drivable_area'
          ? this.get('drivable_area', token).polygon_tokens.flatMap(
              (t) => this.get('polygon', t).exterior_node_tokens,
            )
          : (this.get(layer as MapLayerName, token) as { exterior_node_tokens: string[] })
              .exterior_node_tokens;
      points = tokens.map((t) => this.nodeXY(t));
    } else if ((NON_GEOMETRIC_LINE_LAYERS as readonly string[]).includes(layer)) {
      points = this.recordLineNodes(layer, token);
    } else {
      throw new SpikedriveError(`'${layer}' is not a valid layer for bounds`, {
        fix: FIX_LAYER,
        subject: layer,
      });
    }
    if (points.length === 0) {
      throw new SpikedriveError(`${layer} record '${token}' has no nodes, so it has no bounds`, {
        fix: 'Skip records without nodes (a few real lines have none)',
        subject: token,
      });
    }
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  }

  /** Discretised centre lines of every lane and lane connector (`discretize_centerlines`). */
  discretizeCenterlines(resolutionM: number): Pose[][] {
    return [...this.data.lane, ...this.data.lane_connector].map((l) =>
      discretizeLane(this.data.arcline_path_3[l.token] ?? [], resolutionM),
    );
  }

  /** Discretised centre lines of the given lanes / lane connectors (`discretize_lanes`). */
  discretizeLanes(tokens: readonly string[], resolutionM: number): Record<string, Pose[]> {
    const out: Record<string, Pose[]> = {};
    for (const t of tokens) out[t] = discretizeLane(this.data.arcline_path_3[t] ?? [], resolutionM);
    return out;
  }

  private connected(laneToken: string, direction: 'incoming' | 'outgoing'): string[] {
    const entry = this.data.connectivity[laneToken];
    if (!entry) {
      throw new SpikedriveError(`${laneToken} is not a valid lane (it has no connectivity entry)`, {
        fix: 'Pass a lane or lane_connector token that appears in the map’s connectivity table',
        subject: laneToken,
      });
    }
    return entry[direction];
  }

  /** Lanes that start where this lane ends. */
  getOutgoingLaneIds(laneToken: string): string[] {
    return this.connected(laneToken, 'outgoing');
  }

  /** Lanes that end where this lane starts. */
  getIncomingLaneIds(laneToken: string): string[] {
    return this.connected(laneToken, 'incoming');
  }

  /** The arc-line paths of a lane or lane connector. */
  getArclinePath(laneToken: string): ArclinePath[] {
    const path = this.data.arcline_path_3[laneToken];
    if (!path || path.length === 0) {
      throw new SpikedriveError(`lane ${laneToken} does not have a valid arcline path`, {
        fix: 'Pass a lane or lane_connector token with an arcline_path_3 entry',
        subject: laneToken,
      });
    }
    return path;
  }

  /**
   * The lane or lane connector nearest to (x, y) among those meeting the square of side 2·radius, by L2
   * distance to its centre line discretised at 0.5 m; '' if none (`get_closest_lane`).
   */
  getClosestLane(x: number, y: number, radiusM = 5): string {
    const found = this.getRecordsInRadius(x, y, radiusM, ['lane', 'lane_connector']);
    const lanes = [...found.lane, ...found.lane_connector];
    const discrete = this.discretizeLanes(lanes, 0.5);
    let currentMin = Number.POSITIVE_INFINITY;
    let minId = '';
    for (const [laneId, points] of Object.entries(discrete)) {
      if (points.length === 0) continue;
      let distance = Number.POSITIVE_INFINITY;
      for (const p of points) distance = Math.min(distance, Math.hypot(p[0] - x, p[1] - y));
      if (distance <= currentMin) {
        currentMin = distance;
        minId = laneId;
      }
    }
    return minId;
  }

  /** The road segments, road blocks and lanes that follow the finest road record at (x, y) (`get_next_roads`). */
  getNextRoads(x: number, y: number): Record<'road_segment' | 'road_block' | 'lane', string[]> {
    const roadLayers = ['road_segment', 'road_block', 'lane'] as const;
    const onPoint = this.layersOnPoint(x, y);
    let relLayer: (typeof roadLayers)[number] | null = null;
    let relToken = '';
    for (const layer of [...roadLayers].reverse()) {
      if (onPoint[layer] !== '') {
        relLayer = layer;
        relToken = onPoint[layer];
        break;
      }
    }
    if (relLayer === null) {
      throw new SpikedriveError(`no road segment, road block or lane at (${x}, ${y})`, {
        fix: 'Query a point on a road (see layersOnPoint)',
        subject: `(${x}, ${y})`,
      });
    }
    const intersect = this.getRecordsInPatch(this.getBounds(relLayer, relToken), roadLayers, 'intersect');
    const result: Record<'road_segment' | 'road_block' | 'lane', string[]> = {
      road_segment: [],
      road_block: [],
      lane: [],
    };
    const exteriorOf = (layer: string, token: string) =>
      (this.get(layer as MapLayerName, token) as { exterior_node_tokens: string[] }).exterior_node_tokens;
    if (relLayer === 'road_segment') {
      // Road segments have no direction: anything sharing an exterior node.
      const relNodes = exteriorOf(relLayer, relToken);
      for (const layer of roadLayers) {
        for (const token of intersect[layer]) {
          const nodes = exteriorOf(layer, token);
          if (relNodes.some((n) => nodes.includes(n)) && token !== onPoint[layer]) result[layer].push(token);
        }
      }
    } else {
      // Lanes and road blocks: records containing every node of the to-edge line.
      const toEdge = (this.get(relLayer, relToken) as { to_edge_line_token: string }).to_edge_line_token;
      const edgeNodes = this.get('line', toEdge).node_tokens;
      for (const layer of roadLayers) {
        for (const token of intersect[layer]) {
          const nodes = exteriorOf(layer, token);
          if (edgeNodes.every((n) => nodes.includes(n)) && token !== onPoint[layer])
            result[layer].push(token);
        }
      }
    }
    return result;
  }

  /**
   * The devkit's `get_map_geom`: per layer, every record's geometry intersected with the patch rotated by
   * `patchAngleDeg` about its centre, then turned by −angle and moved so the centre is the origin (metres,
   * unscaled). Polygons come as closed rings (clockwise shells, counter-clockwise holes, as GEOS gives
   * them; one entry per drivable-area polygon), lines as polylines; traffic_light is skipped, and so are
   * invalid polygons outside drivable_area (as the devkit does).
   */
  getMapGeom(
    patchBox: PatchBox | readonly [number, number, number, number],
    patchAngleDeg: number,
    layerNames: readonly string[] = NON_GEOMETRIC_LAYERS,
  ): LayerGeometry[] {
    for (const layer of layerNames) this.checkLayer(layer, NON_GEOMETRIC_LAYERS, 'non-geometric layer');
    const transform = new PatchTransform(patchBoxOf(patchBox), patchAngleDeg);
    const out: LayerGeometry[] = [];
    for (const layer of layerNames as readonly NonGeometricLayerName[]) {
      if (layer === 'traffic_light') continue;
      const geometries: MapGeometry[] = [];
      if ((NON_GEOMETRIC_POLYGON_LAYERS as readonly string[]).includes(layer)) {
        for (const r of this.records(layer) as readonly { token: string; polygon_token?: string }[]) {
          const polygonTokens =
            layer === 'drivable_area'
              ? this.get('drivable_area', r.token).polygon_tokens
              : [r.polygon_token as string];
          for (const polygonToken of polygonTokens) {
            if (layer !== 'drivable_area' && !this.isPolygonValid(polygonToken)) continue;
            const segments = transform.polygonToLocal(this.extractPolygon(polygonToken));
            if (!segments) continue;
            const rings = assembleRings(segments);
            const shells = rings
              .filter((ring) => !ring.isHole)
              .map((ring) => ({ exterior: ring.points, interiors: [] as Coord[][] }));
            for (const hole of rings.filter((ring) => ring.isHole)) {
              const [hx, hy] = hole.points[0];
              const owner =
                shells.find((sh) => locatePoint(hx, hy, ringSegments(sh.exterior)) !== 'exterior') ??
                shells[0];
              owner?.interiors.push(hole.points);
            }
            geometries.push({ kind: 'polygon', token: r.token, polygons: shells });
          }
        }
      } else {
        for (const r of this.records(layer) as readonly { token: string; line_token: string }[]) {
          const segments = transform.lineToLocal(this.extractLine(r.line_token));
          if (segments) geometries.push({ kind: 'line', token: r.token, lines: assembleLines(segments) });
        }
      }
      out.push({ layer, geometries });
    }
    return out;
  }

  /**
   * The devkit's `get_map_mask`: one uint8 mask per layer for the patch (x_c, y_c, height, width) rotated
   * by `patchAngleDeg` (counter-clockwise) about its centre. `patchBox = null` takes the whole map (the
   * devkit's per-location size table); `canvasSize = null` means 10 px/m; default [100, 100] as in the
   * devkit. Polygon layers are filled, line layers drawn 2 px wide; traffic_light is skipped.
   */
  getMapMask(
    patchBox: PatchBox | readonly [number, number, number, number] | null,
    patchAngleDeg: number,
    layerNames: readonly string[] = NON_GEOMETRIC_LAYERS,
    canvasSize: readonly [number, number] | null = [100, 100],
  ): MapMaskResult {
    const dims = MAP_DIMENSIONS_M[this.mapName];
    const patch =
      patchBox === null ? patchBoxOf([dims[0] / 2, dims[1] / 2, dims[1], dims[0]]) : patchBoxOf(patchBox);
    for (const [k, v] of Object.entries(patch)) {
      if (!Number.isFinite(v)) {
        throw new SpikedriveError(`getMapMask: patch box ${k} must be a finite number, got ${v}`, {
          fix: 'Pass the patch as (x_center, y_center, height, width) in metres',
          subject: 'patchBox',
        });
      }
    }
    if (!(patch.height > 0) || !(patch.width > 0)) {
      throw new SpikedriveError(
        `getMapMask: patch height and width must be positive, got ${patch.height} × ${patch.width}`,
        {
          fix: 'Pass the patch as (x_center, y_center, height, width) with height, width > 0 (metres)',
          subject: 'patchBox',
        },
      );
    }
    if (!Number.isFinite(patchAngleDeg)) {
      throw new SpikedriveError(
        `getMapMask: patch angle must be a finite number of degrees, got ${patchAngleDeg}`,
        {
          fix: 'Pass the angle in degrees (e.g. the ego yaw converted to degrees)',
          subject: 'patchAngleDeg',
        },
      );
    }
    const [height, width] =
      canvasSize === null
        ? [roundHalfEvenInt(patch.height * 10), roundHalfEvenInt(patch.width * 10)]
        : canvasSize;
    if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
      throw new SpikedriveError(
        `getMapMask: canvas size must be two positive integers (h, w), got [${height}, ${width}]`,
        {
          fix: 'Pass canvasSize as [height, width] in pixels, e.g. [200, 200], or null for 10 px/m',
          subject: 'canvasSize',
        },
      );
    }
    for (const layer of layerNames) this.checkLayer(layer, NON_GEOMETRIC_LAYERS, 'non-geometric layer');
    const transform = new PatchTransform(patch, patchAngleDeg);
    const near = (layer: 'polygon' | 'line', token: string) => {
      // GEOS returns an empty intersection for disjoint envelopes; skip those records early.
      const e = this.envelopeOf(layer, token);
      const p = transform.globalEnvelope;
      return !(e[0] > p[2] || e[2] < p[0] || e[1] > p[3] || e[3] < p[1]);
    };
    const layers: NonGeometricLayerName[] = [];
    const masks: Uint8Array[] = [];
    for (const layer of layerNames as readonly NonGeometricLayerName[]) {
      if (layer === 'traffic_light') continue;
      const mask = createRaster(height, width);
      if ((NON_GEOMETRIC_POLYGON_LAYERS as readonly string[]).includes(layer)) {
        for (const r of this.records(layer) as readonly { token: string; polygon_token?: string }[]) {
          const polygonTokens =
            layer === 'drivable_area'
              ? this.get('drivable_area', r.token).polygon_tokens
              : [r.polygon_token as string];
          for (const polygonToken of polygonTokens) {
            if (!near('polygon', polygonToken)) continue;
            // The devkit skips invalid polygons everywhere except in drivable_area.
            if (layer !== 'drivable_area' && !this.isPolygonValid(polygonToken)) continue;
            const geom = transform.polygonToLocal(
              this.extractPolygon(polygonToken),
              this.polygonSegmentsFor(polygonToken),
            );
            if (geom) transform.drawArea(mask, geom);
          }
        }
      } else {
        for (const r of this.records(layer) as readonly { token: string; line_token: string }[]) {
          if (this.get('line', r.line_token).node_tokens.length === 0 || !near('line', r.line_token))
            continue;
          const geom = transform.lineToLocal(this.extractLine(r.line_token));
          if (geom) transform.drawLine(mask, geom);
        }
      }
      layers.push(layer);
      masks.push(mask.data);
    }
    return { layers, height, width, shape: [layers.length, height, width], masks };
  }
}

function roundHalfEvenInt(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
}

function checkMode(mode: string): void {
  if (mode !== 'intersect' && mode !== 'within') {
    throw new SpikedriveError(`mode '${mode}' is not valid`, {
      fix: "Use 'intersect' or 'within'",
      subject: 'mode',
    });
  }
}

function ringSegments(ring: readonly Coord[]): Segment[] {
  const out: Segment[] = [];
  for (let i = 0; i + 1 < ring.length; i++)
    out.push([ring[i][0], ring[i][1], ring[i + 1][0], ring[i + 1][1]]);
  return out;
}

function polygonSegments(p: PolygonRings): Segment[] {
  return [p.exterior, ...p.interiors].flatMap(ringSegments);
}

/** Shapely `Point(x, y).within(polygon)`: strictly inside (not on the boundary). */
export function pointWithinPolygon(x: number, y: number, p: PolygonRings): boolean {
  return locatePoint(x, y, polygonSegments(p)) === 'interior';
}

/** Shapely `polygon.intersects(box(x_min, y_min, x_max, y_max))` (closed sets). */
export function polygonIntersectsBox(p: PolygonRings, box: BoxCoords): boolean {
  const [x0, y0, x1, y1] = box;
  const segs = polygonSegments(p);
  // A polygon vertex inside the closed box, or a box corner inside the closed polygon, or crossing edges.
  for (const [ax, ay] of segs) if (ax >= x0 && ax <= x1 && ay >= y0 && ay <= y1) return true;
  const corners: Coord[] = [
    [x0, y0],
    [x1, y0],
    [x1, y1],
    [x0, y1],
  ];
  for (const [cx, cy] of corners) if (locatePoint(cx, cy, segs) !== 'exterior') return true;
  for (let i = 0; i < 4; i++) {
    const c0 = corners[i];
    const c1 = corners[(i + 1) % 4];
    for (const [ax, ay, bx, by] of segs) {
      if (intersectSegments([ax, ay], [bx, by], c0, c1).count > 0) return true;
    }
  }
  return false;
}

/** Shapely `polygon.within(box(...))`: every point in the closed box and some interior point inside it. */
export function polygonWithinBox(p: PolygonRings, box: BoxCoords): boolean {
  const [x0, y0, x1, y1] = box;
  const inside = p.exterior.every(([x, y]) => x >= x0 && x <= x1 && y >= y0 && y <= y1);
  if (!inside) return false;
  // A polygon lying entirely on the box outline has no interior point inside the box.
  const onEdge = (v: number, lo: number, hi: number) => v === lo || v === hi;
  return !(
    p.exterior.every(([x]) => onEdge(x, x0, x1) && x === p.exterior[0][0]) ||
    p.exterior.every(([, y]) => onEdge(y, y0, y1) && y === p.exterior[0][1])
  );
}
