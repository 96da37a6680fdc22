// `npm run bench -- map [--keep]`: the Map Expansion port on a synthetic map of real-map size.
// Prints one JSON object per line:
//   map-load          parse + validate + shortcuts of a ~100k-node map file (median of 3)
//   map-mask-sad      SAD's HD-map call: 100×100 m patch at a random yaw, 200×200 px,
//                     ['lane_divider', 'drivable_area'] (median over 40 poses; warm_ = the same poses again)
//   map-mask-all      every layer, 100×100 px, 60×60 m rotated patch (median over 20)
//   map-closest-lane  getClosestLane within 5 m (median over 200 points)
//   map-layers-on-point  layersOnPoint over all polygon layers (median over 50 points)
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NuScenesMap } from '../data-loaders/nuscenes/map/index.ts';
import { createRng } from '../src/util/index.ts';
import { median } from './_util.ts';

const args = process.argv.slice(2);

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify({ backend: 'node-cpu', ...record }));
}

/** A road grid with blocks, lanes, dividers and crossings, about as large as singapore-onenorth. */
function syntheticMap(seed: number): Record<string, unknown> {
  const rng = createRng(seed);
  const nodes: { token: string; x: number; y: number }[] = [];
  const lines: { token: string; node_tokens: string[] }[] = [];
  const polygons: { token: string; exterior_node_tokens: string[]; holes: { node_tokens: string[] }[] }[] =
    [];
  let n = 0;
  const node = (x: number, y: number) => {
    const token = `n${n++}`;
    nodes.push({ token, x, y });
    return token;
  };
  const polygon = (pts: [number, number][]) => {
    const token = `p${polygons.length}`;
    polygons.push({ token, exterior_node_tokens: pts.map(([x, y]) => node(x, y)), holes: [] });
    return token;
  };
  const line = (pts: [number, number][]) => {
    const token = `l${lines.length}`;
    lines.push({ token, node_tokens: pts.map(([x, y]) => node(x, y)) });
    return token;
  };
  // A noisy closed outline of a rectangle with `k` vertices per side.
  const outline = (x0: number, y0: number, w: number, h: number, k: number): [number, number][] => {
    const pts: [number, number][] = [];
    const jitter = () => (rng.next() - 0.5) * 0.3;
    for (let i = 0; i < k; i++) pts.push([x0 + (w * i) / k, y0 + jitter()]);
    for (let i = 0; i < k; i++) pts.push([x0 + w + jitter(), y0 + (h * i) / k]);
    for (let i = 0; i < k; i++) pts.push([x0 + w - (w * i) / k, y0 + h + jitter()]);
    for (let i = 0; i < k; i++) pts.push([x0 + jitter(), y0 + h - (h * i) / k]);
    return pts;
  };
  const drivable: string[] = [];
  const lanes: Record<string, unknown>[] = [];
  const laneDividers: Record<string, unknown>[] = [];
  const arclines: Record<string, unknown> = {};
  const connectivity: Record<string, unknown> = {};
  // Streets every 100 m in x and y over 1500 × 2000 m; each street is a drivable polygon with 2000 nodes.
  for (let i = 0; i < 15; i++) drivable.push(polygon(outline(i * 100 + 40, 0, 14, 2000, 500)));
  for (let j = 0; j < 20; j++) drivable.push(polygon(outline(0, j * 100 + 40, 1500, 14, 500)));
  for (let i = 0; i < 15; i++) {
    for (let j = 0; j < 20; j++) {
      // Two lanes per street section, a divider between them, a centre-line arc path.
      for (const side of [0, 1]) {
        const x0 = i * 100 + 40 + side * 7;
        const token = `lane-${i}-${j}-${side}`;
        lanes.push({
          token,
          polygon_token: polygon(outline(x0, j * 100 + 54, 7, 86, 6)),
          lane_type: 'CAR',
          from_edge_line_token: '',
          to_edge_line_token: '',
          left_lane_divider_segments: [],
          right_lane_divider_segments: [],
        });
        arclines[token] = [
          {
            start_pose: [x0 + 3.5, j * 100 + 54, Math.PI / 2],
            end_pose: [x0 + 3.5, j * 100 + 140, Math.PI / 2],
            shape: 'LSR',
            radius: 999,
            segment_length: [0.01, 85.98, 0.01],
          },
        ];
        connectivity[token] = { incoming: [], outgoing: [] };
      }
      const pts: [number, number][] = [];
      for (let k = 0; k <= 40; k++)
        pts.push([i * 100 + 47 + (rng.next() - 0.5) * 0.1, j * 100 + 54 + k * 2.15]);
      laneDividers.push({ token: `ld-${i}-${j}`, line_token: line(pts), lane_divider_segments: [] });
    }
  }
  return {
    version: '1.3',
    canvas_edge: [1585.6, 2025.0],
    node: nodes,
    line: lines,
    polygon: polygons,
    drivable_area: [{ token: 'da', polygon_tokens: drivable }],
    road_segment: [],
    road_block: [],
    lane: lanes,
    ped_crossing: [],
    walkway: [],
    stop_line: [],
    carpark_area: [],
    road_divider: [],
    lane_divider: laneDividers,
    traffic_light: [],
    lane_connector: [],
    arcline_path_3: arclines,
    connectivity,
  };
}

const root = join(tmpdir(), `spikedrive-map-bench-${process.pid}`);
const file = join(root, 'maps', 'expansion', 'singapore-onenorth.json');
mkdirSync(join(root, 'maps', 'expansion'), { recursive: true });
const json = syntheticMap(7);
writeFileSync(file, JSON.stringify(json));
const nodeCount = (json.node as unknown[]).length;
try {
  const loadMs: number[] = [];
  let map: NuScenesMap | null = null;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    map = new NuScenesMap({ dataroot: root, mapName: 'singapore-onenorth' });
    loadMs.push(performance.now() - t0);
  }
  const m = map as NuScenesMap;
  emit({ bench: 'map-load', load_ms: median(loadMs), nodes: nodeCount, file_bytes: statSync(file).size });

  const rng = createRng(11);
  const poses = Array.from({ length: 40 }, () => [
    100 + rng.next() * 1300,
    100 + rng.next() * 1800,
    (rng.next() - 0.5) * 360,
  ]);
  // First pass: per-polygon caches (envelopes, rings, validity) fill as new areas are visited.
  const sad: number[] = [];
  const warm: number[] = [];
  for (const pass of [sad, warm]) {
    for (const [x, y, yawDeg] of poses) {
      const t0 = performance.now();
      m.getMapMask([x, y, 100, 100], yawDeg, ['lane_divider', 'drivable_area'], [200, 200]);
      pass.push(performance.now() - t0);
    }
  }
  emit({
    bench: 'map-mask-sad',
    mask_ms: median(sad),
    warm_mask_ms: median(warm),
    first_ms: sad[0],
    canvas: [200, 200],
    calls: sad.length,
  });

  const all: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    m.getMapMask(
      [200 + rng.next() * 1100, 200 + rng.next() * 1600, 60, 60],
      rng.next() * 90,
      undefined,
      [100, 100],
    );
    all.push(performance.now() - t0);
  }
  emit({ bench: 'map-mask-all', mask_ms: median(all), canvas: [100, 100], calls: all.length });

  const closest: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    m.getClosestLane(40 + Math.floor(rng.next() * 15) * 100 + rng.next() * 14, 60 + rng.next() * 1900, 5);
    closest.push(performance.now() - t0);
  }
  emit({ bench: 'map-closest-lane', query_ms: median(closest), calls: closest.length });

  const onPoint: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    m.layersOnPoint(rng.next() * 1500, rng.next() * 2000);
    onPoint.push(performance.now() - t0);
  }
  emit({ bench: 'map-layers-on-point', query_ms: median(onPoint), calls: onPoint.length });
} finally {
  if (!args.includes('--keep')) rmSync(root, { recursive: true, force: true });
  else console.error(`kept ${root}`);
}
