import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NuScenes } from './nuscenes.ts';
import { CAMERA_CHANNELS, type LoadedTableName, type SensorModality } from './types.ts';

/** What `spikedrive data info` prints: the devkit's list_scenes / list_categories / list_attributes and more. */
export interface DatasetSummary {
  dataroot: string;
  version: string;
  loadSeconds: number;
  /** Row count of every loaded table. */
  tables: Partial<Record<LoadedTableName, number>>;
  scenes: {
    name: string;
    token: string;
    description: string;
    location: string;
    logfile: string;
    /** Samples reached from first_sample_token through next. */
    samples: number;
    /** Last minus first sample timestamp, seconds. */
    durationS: number;
    /** First sample time, UTC ISO 8601. */
    start: string;
    /** Annotations over all the scene's samples. */
    annotations: number;
  }[];
  /** Per category (sorted by name): count and mean ± std of width, length, height and length/width. */
  categories: {
    name: string;
    count: number;
    widthM: [number, number];
    lengthM: [number, number];
    heightM: [number, number];
    lwAspect: [number, number];
  }[];
  attributes: { name: string; count: number }[];
  sampleData: { modality: SensorModality; keyframes: number; sweeps: number }[];
  /** Samples with a keyframe from all six cameras and LIDAR_TOP (what SAD-style loaders need). */
  samplesWithAllCameras: number;
  maps: {
    token: string;
    filename: string;
    category: string;
    locations: string[];
    logs: number;
    fileExists: boolean;
  }[];
  canBus: { present: boolean; folder: string | undefined; scenesWithPose: number; files: number };
  lidarseg: boolean;
  panoptic: boolean;
}

function meanStd(values: number[]): [number, number] {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  // Population std, as numpy's np.std.
  const variance = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / n;
  return [mean, Math.sqrt(variance)];
}

/** Looks for the CAN bus expansion in <dataroot>/can_bus or beside the dataroot (SAD's layout). */
function findCanBus(dataroot: string): string | undefined {
  for (const folder of [join(dataroot, 'can_bus'), join(dirname(dataroot), 'can_bus')]) {
    if (existsSync(folder) && statSync(folder).isDirectory()) return folder;
  }
  return undefined;
}

export function summarizeDataset(nusc: NuScenes): DatasetSummary {
  const tables: DatasetSummary['tables'] = {};
  for (const name of nusc.tableNames) tables[name] = nusc.count(name);

  const scenes = nusc.scenes
    .map((scene) => {
      const log = nusc.get('log', scene.log_token);
      let samples = 0;
      let annotations = 0;
      for (const sample of nusc.sceneSamples(scene.token)) {
        samples++;
        annotations += sample.anns.length;
      }
      const first = scene.first_sample_token ? nusc.get('sample', scene.first_sample_token).timestamp : 0;
      const last = scene.last_sample_token ? nusc.get('sample', scene.last_sample_token).timestamp : 0;
      return {
        name: scene.name,
        token: scene.token,
        description: scene.description,
        location: log.location,
        logfile: log.logfile,
        samples,
        durationS: (last - first) / 1e6,
        start: new Date(first / 1000).toISOString(),
        annotations,
        firstUs: first,
      };
    })
    .sort((a, b) => a.firstUs - b.firstUs)
    .map(({ firstUs: _, ...rest }) => rest);

  const sizes = new Map<string, number[][]>();
  const attributeCounts = new Map<string, number>();
  const attributeNames = new Map(nusc.all('attribute').map((a) => [a.token, a.name]));
  for (const ann of nusc.records('sample_annotation')) {
    let list = sizes.get(ann.category_name);
    if (!list) {
      list = [];
      sizes.set(ann.category_name, list);
    }
    list.push([ann.size[0], ann.size[1], ann.size[2], ann.size[1] / ann.size[0]]);
    for (const token of ann.attribute_tokens) {
      const name = attributeNames.get(token) ?? token;
      attributeCounts.set(name, (attributeCounts.get(name) ?? 0) + 1);
    }
  }
  const categories = [...sizes.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, rows]) => ({
      name,
      count: rows.length,
      widthM: meanStd(rows.map((r) => r[0])),
      lengthM: meanStd(rows.map((r) => r[1])),
      heightM: meanStd(rows.map((r) => r[2])),
      lwAspect: meanStd(rows.map((r) => r[3])),
    }));
  const attributes = [...attributeCounts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, count]) => ({ name, count }));

  const modalityCounts = new Map<SensorModality, { keyframes: number; sweeps: number }>();
  for (const sd of nusc.records('sample_data')) {
    const entry = modalityCounts.get(sd.sensor_modality) ?? { keyframes: 0, sweeps: 0 };
    if (sd.is_key_frame) entry.keyframes++;
    else entry.sweeps++;
    modalityCounts.set(sd.sensor_modality, entry);
  }
  const sampleData = (['camera', 'lidar', 'radar'] as const)
    .filter((m) => modalityCounts.has(m))
    .map((modality) => ({
      modality,
      ...(modalityCounts.get(modality) as { keyframes: number; sweeps: number }),
    }));

  const samplesWithAllCameras = nusc.samples.filter((s) => {
    const data = nusc.get('sample', s.token).data;
    return data.LIDAR_TOP !== undefined && CAMERA_CHANNELS.every((c) => data[c] !== undefined);
  }).length;

  const logLocation = new Map(nusc.logs.map((l) => [l.token, l.location]));
  const maps = nusc.maps.map((m) => ({
    token: m.token,
    filename: m.filename,
    category: m.category,
    locations: [...new Set(m.log_tokens.map((t) => logLocation.get(t) ?? '?'))].sort(),
    logs: m.log_tokens.length,
    fileExists: existsSync(join(nusc.dataroot, m.filename)),
  }));

  const canFolder = findCanBus(nusc.dataroot);
  let files = 0;
  let scenesWithPose = 0;
  if (canFolder) {
    const names = new Set(readdirSync(canFolder));
    files = [...names].filter((n) => n.endsWith('.json')).length;
    scenesWithPose = nusc.scenes.filter((s) => names.has(`${s.name}_pose.json`)).length;
  }

  return {
    dataroot: nusc.dataroot,
    version: nusc.version,
    loadSeconds: nusc.loadSeconds,
    tables,
    scenes,
    categories,
    attributes,
    sampleData,
    samplesWithAllCameras,
    maps,
    canBus: { present: canFolder !== undefined, folder: canFolder, scenesWithPose, files },
    lidarseg: nusc.tableNames.includes('lidarseg'),
    panoptic: nusc.tableNames.includes('panoptic'),
  };
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const padLeft = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** The summary as text, in the spirit of the devkit's list_* printouts. */
export function formatSummary(summary: DatasetSummary): string {
  const lines: string[] = [];
  const t = summary.tables;
  lines.push(
    `nuScenes ${summary.version} at ${summary.dataroot} (loaded in ${summary.loadSeconds.toFixed(2)} s)`,
  );
  lines.push(
    `  ${t.scene ?? 0} scenes, ${t.sample ?? 0} samples, ${t.sample_data ?? 0} sample_data, ${t.sample_annotation ?? 0} annotations, ${t.instance ?? 0} instances, ${t.log ?? 0} logs, ${t.map ?? 0} maps`,
  );
  lines.push(
    `  tables: ${Object.entries(t)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')}`,
  );
  lines.push('');
  lines.push(`Scenes (${summary.scenes.length}):`);
  for (const s of summary.scenes) {
    const desc = `${s.name}, ${s.description}`;
    lines.push(
      `  ${pad(desc.length > 55 ? `${desc.slice(0, 51)}...` : desc, 55)} [${s.start.slice(2, 10)} ${s.start.slice(11, 19)}] ${padLeft(s.durationS.toFixed(0), 3)}s, ${pad(s.location, 24)} ${padLeft(String(s.samples), 3)} samples, #anns:${s.annotations}`,
    );
  }
  lines.push('');
  lines.push(`Annotations per category (${summary.categories.length}):`);
  for (const c of summary.categories) {
    const f = ([m, s]: [number, number]) => `${m.toFixed(2)}±${s.toFixed(2)}`;
    lines.push(
      `  ${pad(c.name.slice(0, 27), 27)} n=${padLeft(String(c.count), 6)}, width=${f(c.widthM)}, len=${f(c.lengthM)}, height=${f(c.heightM)}, lw_aspect=${f(c.lwAspect)}`,
    );
  }
  if (summary.attributes.length > 0) {
    lines.push('');
    lines.push('Attributes:');
    for (const a of summary.attributes) lines.push(`  ${pad(a.name, 30)} ${a.count}`);
  }
  lines.push('');
  lines.push('Sample data:');
  for (const m of summary.sampleData) {
    lines.push(
      `  ${pad(m.modality, 7)} ${padLeft(String(m.keyframes), 8)} keyframes, ${padLeft(String(m.sweeps), 8)} sweeps`,
    );
  }
  lines.push(
    `  samples with all 6 cameras and LIDAR_TOP: ${summary.samplesWithAllCameras} of ${t.sample ?? 0}`,
  );
  lines.push('');
  lines.push('Maps (legacy rasters):');
  for (const m of summary.maps) {
    lines.push(
      `  ${m.filename}  ${m.category}, ${m.locations.join(', ') || 'no logs'} (${m.logs} logs)${m.fileExists ? '' : '  MISSING FILE'}`,
    );
  }
  lines.push('');
  lines.push(
    summary.canBus.present
      ? `CAN bus: ${summary.canBus.folder} (${summary.canBus.files} files; pose for ${summary.canBus.scenesWithPose} of ${summary.scenes.length} scenes)`
      : 'CAN bus: not found (looked for can_bus/ in and beside the dataroot)',
  );
  lines.push(`lidarseg: ${summary.lidarseg ? 'yes' : 'no'}, panoptic: ${summary.panoptic ? 'yes' : 'no'}`);
  return lines.join('\n');
}
