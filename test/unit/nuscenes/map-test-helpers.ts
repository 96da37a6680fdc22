// Helpers for the Map Expansion tests: temporary datarootss holding hand-made maps, and golden decoding.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURE_ROOT = join(REPO, 'test/fixtures/nuscenes');
export const GOLDEN_DIR = join(REPO, 'test/fixtures/nuscenes-golden/map');
export const LOCATIONS = [
  'singapore-onenorth',
  'singapore-hollandvillage',
  'singapore-queenstown',
  'boston-seaport',
] as const;

export function readGolden<T>(name: string): T {
  return JSON.parse(readFileSync(join(GOLDEN_DIR, name), 'utf8')) as T;
}

/** Decodes the goldens' run-length masks (alternating 0- and 1-runs, row-major, starting with 0s). */
export function unRle(runs: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let pos = 0;
  let value = 0;
  for (const r of runs.split(',').map(Number)) {
    if (value) out.fill(1, pos, pos + r);
    pos += r;
    value ^= 1;
  }
  return out;
}

/** An empty but complete v1.3 map (every key present). */
export function emptyMap(): Record<string, unknown> {
  return {
    version: '1.3',
    canvas_edge: [1585.6, 2025.0],
    node: [],
    line: [],
    polygon: [],
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
}

/** Builds a small map: nodes, polygons and lines from coordinates, records pointing at them. */
export class MapBuilder {
  readonly json = emptyMap();
  private n = 0;

  private push(layer: string, record: Record<string, unknown>): void {
    (this.json[layer] as Record<string, unknown>[]).push(record);
  }

  node(x: number, y: number): string {
    const token = `node-${this.n++}`;
    this.push('node', { token, x, y });
    return token;
  }

  polygon(token: string, exterior: [number, number][], holes: [number, number][][] = []): string {
    this.push('polygon', {
      token,
      exterior_node_tokens: exterior.map(([x, y]) => this.node(x, y)),
      holes: holes.map((h) => ({ node_tokens: h.map(([x, y]) => this.node(x, y)) })),
    });
    return token;
  }

  line(token: string, pts: [number, number][]): string {
    this.push('line', { token, node_tokens: pts.map(([x, y]) => this.node(x, y)) });
    return token;
  }

  drivableArea(token: string, polygons: [number, number][][], holes: [number, number][][] = []): void {
    const tokens = polygons.map((p, i) => this.polygon(`${token}-p${i}`, p, i === 0 ? holes : []));
    this.push('drivable_area', { token, polygon_tokens: tokens });
  }

  walkway(token: string, exterior: [number, number][]): void {
    this.push('walkway', { token, polygon_token: this.polygon(`${token}-poly`, exterior) });
  }

  laneDivider(token: string, pts: [number, number][]): void {
    this.push('lane_divider', {
      token,
      line_token: this.line(`${token}-line`, pts),
      lane_divider_segments: [],
    });
  }

  trafficLight(token: string, pts: [number, number][]): void {
    const pose = { tx: 0, ty: 0, tz: 0, rx: 0, ry: 0, rz: 0 };
    this.push('traffic_light', {
      token,
      line_token: this.line(`${token}-line`, pts),
      traffic_light_type: 'VERTICAL',
      from_road_block_token: '',
      items: [],
      pose,
    });
  }
}

/** A temporary dataroot with `maps/expansion/<mapName>.json` holding `json` (or raw text). */
export class TempDataroot {
  readonly root = mkdtempSync(join(tmpdir(), 'spikedrive-map-test-'));

  write(mapName: string, content: unknown): string {
    const file = join(this.root, 'maps', 'expansion', `${mapName}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 1));
    return file;
  }

  writeFile(relative: string, data: Uint8Array | string): string {
    const file = join(this.root, relative);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
    return file;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function fixtureJson(mapName: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURE_ROOT, 'maps', 'expansion', `${mapName}.json`), 'utf8'));
}
