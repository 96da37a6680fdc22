// The synthetic town and its map expansion: exact arc-line geometry, consistent lanes and connectors, a map
// expansion JSON whose every token resolves, and arcline records that the devkit's formulas read back exactly.
import { describe, expect, it } from 'vitest';
import { createSplitsScenes, SAD_EXCLUDED_SCENES } from '../../../data-loaders/nuscenes/index.ts';
import { buildMapExpansion } from '../../../data-loaders/synthetic/map-expansion.ts';
import { buildNetwork, LANE_WIDTH_M } from '../../../data-loaders/synthetic/network.ts';
import { Path } from '../../../data-loaders/synthetic/path.ts';
import { sceneNames } from '../../../data-loaders/synthetic/scene-names.ts';
import { createRng } from '../../../src/util/index.ts';

/** The devkit's arcline_path_utils.pose_at_length, re-derived from its formulas (for the check only). */
function devkitPoseAtLength(
  record: { start_pose: number[]; shape: string; radius: number; segment_length: number[] },
  pos: number,
): [number, number, number] {
  const sign = [
    ['LRL', 'LSL', 'LSR'].includes(record.shape) ? 1 : -1,
    record.shape === 'RLR' ? 1 : record.shape === 'LRL' ? -1 : 0,
    ['LRL', 'LSL', 'RSL'].includes(record.shape) ? 1 : -1,
  ];
  let [x, y, yaw] = record.start_pose;
  let remaining = pos;
  for (let i = 0; i < 3; i++) {
    const length = record.segment_length[i];
    const step = Math.min(remaining, length);
    const k = sign[i] / record.radius;
    const theta = k * step;
    let tx: number;
    let ty: number;
    if (Math.abs(k) < 1e-6) {
      tx = step;
      ty = 0;
    } else {
      tx = Math.sin(theta) / k;
      ty = (1 - Math.cos(theta)) / k;
    }
    x += Math.cos(yaw) * tx - Math.sin(yaw) * ty;
    y += Math.sin(yaw) * tx + Math.cos(yaw) * ty;
    yaw += theta;
    remaining -= step;
    if (remaining <= 0) break;
  }
  return [x, y, yaw];
}

describe('Path', () => {
  it('offsets an arc exactly: same centre, radius and length scaled by (1 − κd)', () => {
    const arc = Path.fromSteps({ x: 0, y: 0, heading: 0 }, [[1 / 20, (20 * Math.PI) / 2]]);
    expect(arc.endPose.x).toBeCloseTo(20, 9);
    expect(arc.endPose.y).toBeCloseTo(20, 9);
    const inner = arc.offset(5); // 5 m to the left = towards the centre of a left turn
    expect(inner.lengthM).toBeCloseTo((15 * Math.PI) / 2, 9);
    expect(inner.endPose.x).toBeCloseTo(15, 9);
    expect(inner.endPose.y).toBeCloseTo(20, 9);
    const back = arc.reversed();
    expect(back.startPose.x).toBeCloseTo(20, 9);
    expect(back.endPose.y).toBeCloseTo(0, 9);
    expect(back.curvatureAt(1)).toBeCloseTo(-1 / 20, 12);
  });

  it('slices by arc length across segments', () => {
    const path = Path.fromSteps({ x: 0, y: 0, heading: 0 }, [
      [0, 10],
      [1 / 10, (10 * Math.PI) / 2],
      [0, 10],
    ]);
    const part = path.slice(5, path.lengthM - 5);
    expect(part.lengthM).toBeCloseTo(path.lengthM - 10, 9);
    expect(part.startPose.x).toBeCloseTo(5, 9);
    expect(part.endPose.x).toBeCloseTo(20, 9);
    expect(part.endPose.y).toBeCloseTo(15, 9);
  });
});

describe('the synthetic town', () => {
  const network = buildNetwork('boston-seaport', createRng('world-test'));
  const singapore = buildNetwork('singapore-onenorth', createRng('world-test'));

  it('has four-way intersections, straight and curved roads, one- and two-lane directions', () => {
    expect(network.intersections.length).toBe(16);
    for (const ix of network.intersections) expect(ix.armEdges.every((e) => e >= 0)).toBe(true);
    expect(network.edges.some((e) => e.isStraight)).toBe(true);
    expect(network.edges.some((e) => !e.isStraight)).toBe(true);
    expect(new Set(network.edges.map((e) => e.lanesPerDirection))).toEqual(new Set([1, 2]));
    const turns = new Set(network.connectors.map((c) => c.turn));
    expect(turns).toEqual(new Set(['straight', 'left', 'right']));
    expect(network.crossings.length).toBe(64);
    expect(network.carparks.length).toBeGreaterThan(0);
  });

  it('joins every connector to the end of its lane and the start of the next, within a millimetre', () => {
    for (const c of network.connectors) {
      const from = network.lanes[c.fromLane].path.endPose;
      const to = network.lanes[c.toLane].path.startPose;
      expect(Math.hypot(c.path.startPose.x - from.x, c.path.startPose.y - from.y)).toBeLessThan(1e-3);
      expect(Math.hypot(c.path.endPose.x - to.x, c.path.endPose.y - to.y)).toBeLessThan(1e-3);
      const dh = Math.abs(Math.sin(c.path.endPose.heading - to.heading));
      expect(dh).toBeLessThan(1e-6);
    }
  });

  it('keeps right in Boston and left in Singapore', () => {
    const lateralOf = (net: typeof network) => {
      const lane = net.lanes.find((l) => l.direction === 1 && l.index === 0)!;
      const edge = net.edges[lane.edge];
      const c = edge.centre.poseAt(10);
      const p = lane.path.poseAt(10 - 4.5);
      // Left-of-centre offset of the lane (positive = left of the edge's direction).
      return -(p.x - c.x) * Math.sin(c.heading) + (p.y - c.y) * Math.cos(c.heading);
    };
    expect(lateralOf(network)).toBeCloseTo(-LANE_WIDTH_M / 2, 6);
    expect(lateralOf(singapore)).toBeCloseTo(LANE_WIDTH_M / 2, 6);
  });

  it('makes conflicts symmetric and lets parallel straight lanes pass together', () => {
    network.connectorConflicts.forEach((list, a) => {
      for (const b of list) expect(network.connectorConflicts[b]).toContain(a);
    });
    // Two straight connectors out of the two lanes of one avenue approach do not conflict.
    const pair = network.connectors
      .filter((c) => c.turn === 'straight')
      .find((c) => {
        const twin = network.connectors.find(
          (d) =>
            d.turn === 'straight' &&
            d.intersection === c.intersection &&
            d.id !== c.id &&
            d.crossings[0] === c.crossings[0],
        );
        return twin !== undefined;
      });
    expect(pair).toBeDefined();
    const twin = network.connectors.find(
      (d) =>
        d.turn === 'straight' &&
        d.intersection === pair!.intersection &&
        d.id !== pair!.id &&
        d.crossings[0] === pair!.crossings[0],
    )!;
    expect(network.connectorConflicts[pair!.id]).not.toContain(twin.id);
  });
});

describe('map expansion JSON', () => {
  const network = buildNetwork('singapore-queenstown', createRng('map-test'));
  const { json } = buildMapExpansion(network, 'test');

  it('has version 1.3, the canvas and every layer the devkit requires', () => {
    expect(json.version).toBe('1.3');
    expect(json.canvas_edge).toEqual(network.canvasEdgeM);
    for (const key of [
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
    ] as const) {
      expect(Array.isArray(json[key]), key).toBe(true);
    }
    expect(json.lane.length).toBe(network.lanes.length);
    expect(json.lane_connector.length).toBe(network.connectors.length);
    expect(json.road_segment.filter((r) => r.is_intersection).length).toBe(16);
  });

  it('resolves every node, line and polygon token (the devkit throws on dangling ones)', () => {
    const nodes = new Set(json.node.map((n) => n.token));
    const lines = new Map(json.line.map((l) => [l.token, l]));
    const polygons = new Map(json.polygon.map((p) => [p.token, p]));
    expect(nodes.size).toBe(json.node.length);
    for (const line of json.line) {
      expect(line.node_tokens.length).toBeGreaterThanOrEqual(2);
      for (const t of line.node_tokens) expect(nodes.has(t)).toBe(true);
    }
    for (const polygon of json.polygon) {
      expect(polygon.exterior_node_tokens.length).toBeGreaterThanOrEqual(3);
      for (const t of polygon.exterior_node_tokens) expect(nodes.has(t)).toBe(true);
      for (const hole of polygon.holes) for (const t of hole.node_tokens) expect(nodes.has(t)).toBe(true);
    }
    const polygonLayers = [
      'road_segment',
      'road_block',
      'lane',
      'ped_crossing',
      'walkway',
      'stop_line',
      'carpark_area',
      'lane_connector',
    ] as const;
    for (const layer of polygonLayers) {
      for (const record of json[layer]) expect(polygons.has(record.polygon_token), layer).toBe(true);
    }
    for (const area of json.drivable_area)
      for (const t of area.polygon_tokens) expect(polygons.has(t)).toBe(true);
    for (const layer of ['road_divider', 'lane_divider'] as const) {
      for (const record of json[layer]) expect(lines.has(record.line_token), layer).toBe(true);
    }
    // The blocks between the roads are holes of the drivable area.
    expect(json.drivable_area[0].polygon_tokens.some((t) => polygons.get(t)!.holes.length > 0)).toBe(true);
    // Lanes: edge lines whose nodes are on the lane polygon (get_next_roads relies on it), divider nodes exist.
    for (const lane of json.lane) {
      const exterior = new Set(polygons.get(lane.polygon_token)!.exterior_node_tokens);
      for (const edge of [lane.from_edge_line_token, lane.to_edge_line_token]) {
        for (const t of lines.get(edge)!.node_tokens) expect(exterior.has(t)).toBe(true);
      }
      for (const segment of [...lane.left_lane_divider_segments, ...lane.right_lane_divider_segments]) {
        expect(nodes.has(segment.node_token)).toBe(true);
      }
    }
    const stopCrossings = new Set(json.ped_crossing.map((p) => p.token));
    for (const stop of json.stop_line)
      for (const t of stop.ped_crossing_tokens) expect(stopCrossings.has(t)).toBe(true);
  });

  it('gives every lane and connector an arcline path the devkit reads back onto our geometry', () => {
    const laneTokens = json.lane.map((l) => l.token);
    const connectorTokens = json.lane_connector.map((l) => l.token);
    for (const [i, token] of laneTokens.entries()) {
      const records = json.arcline_path_3[token];
      expect(records.length).toBeGreaterThan(0);
      const path = network.lanes[i].path;
      const last = records[records.length - 1];
      const [x, y] = devkitPoseAtLength(
        last,
        last.segment_length.reduce((a, b) => a + b, 0),
      );
      expect(Math.hypot(x - path.endPose.x, y - path.endPose.y)).toBeLessThan(2e-3);
      for (const r of records) {
        const [ex, ey] = devkitPoseAtLength(
          r,
          r.segment_length.reduce((a, b) => a + b, 0),
        );
        expect(Math.hypot(ex - r.end_pose[0], ey - r.end_pose[1])).toBeLessThan(2e-3);
      }
    }
    for (const [i, token] of connectorTokens.entries()) {
      const records = json.arcline_path_3[token];
      const last = records[records.length - 1];
      const [x, y] = devkitPoseAtLength(
        last,
        last.segment_length.reduce((a, b) => a + b, 0),
      );
      const end = network.connectors[i].path.endPose;
      expect(Math.hypot(x - end.x, y - end.y)).toBeLessThan(2e-3);
      expect(json.connectivity[token].incoming).toEqual([laneTokens[network.connectors[i].fromLane]]);
      expect(json.connectivity[token].outgoing).toEqual([laneTokens[network.connectors[i].toLane]]);
    }
    for (const token of laneTokens) expect(json.connectivity[token]).toBeDefined();
  });
});

describe('scene names', () => {
  const splits = createSplitsScenes();

  it('takes the mini split names for v1.0-mini: 8 train and 2 val for 10 scenes, both splits from 2', () => {
    const ten = sceneNames('v1.0-mini', 10);
    expect(
      ten
        .filter((s) => s.split === 'train')
        .map((s) => s.name)
        .sort(),
    ).toEqual([...splits.mini_train].sort());
    expect(
      ten
        .filter((s) => s.split === 'val')
        .map((s) => s.name)
        .sort(),
    ).toEqual([...splits.mini_val].sort());
    expect(new Set(sceneNames('v1.0-mini', 2).map((s) => s.split))).toEqual(new Set(['train', 'val']));
    expect(() => sceneNames('v1.0-mini', 11)).toThrow(/1 to 10/);
  });

  it('takes train/val names for v1.0-trainval, about one in six val, never scene-0419 or the CAN blacklist', () => {
    const names = sceneNames('v1.0-trainval', 120);
    expect(new Set(names.map((s) => s.name)).size).toBe(120);
    for (const s of names)
      expect((s.split === 'train' ? splits.train : splits.val).includes(s.name)).toBe(true);
    for (const s of names) expect(SAD_EXCLUDED_SCENES).not.toContain(s.name);
    expect(names.filter((s) => s.split === 'val').length).toBe(20);
  });
});

describe('determinism of the towns', () => {
  it('builds the same town and map JSON from the same seed, another from another seed', () => {
    const a = JSON.stringify(buildMapExpansion(buildNetwork('boston-seaport', createRng('d')), 'n').json);
    const b = JSON.stringify(buildMapExpansion(buildNetwork('boston-seaport', createRng('d')), 'n').json);
    const c = JSON.stringify(buildMapExpansion(buildNetwork('boston-seaport', createRng('e')), 'n').json);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});
