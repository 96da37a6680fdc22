// `npm run bench -- pointcloud [repeats]`: nuScenes sensor readers at real sizes — a LIDAR_TOP sweep
// (34,688 points, HDL-32E scale), a radar PCD (125 returns), 10-sweep lidar aggregation, a 4×4 transform,
// and the CAN bus (a 20 s pose file: parse + check; SAD's per-sample look-up). Files go to a temp folder.
// Prints one JSON line per case; times are medians in ms.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canBusFromEgoPoses, NuScenesCanBus } from '../data-loaders/nuscenes/canbus/index.ts';
import { Quaternion, transformMatrix } from '../data-loaders/nuscenes/geometry/index.ts';
import {
  encodeLidarPcdBin,
  encodeRadarPcd,
  LidarPointCloud,
  RADAR_PCD_FIELDS,
  RadarPointCloud,
  type SweepSource,
} from '../data-loaders/nuscenes/pointcloud/index.ts';
import type { CalibratedSensor, EgoPose, SampleData, TableRecords } from '../data-loaders/nuscenes/types.ts';
import { createRng } from '../src/util/index.ts';
import { median } from './_util.ts';

const repeats = Number(process.argv[2] ?? 100);
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
async function time(fn: () => unknown | Promise<unknown>, n = repeats): Promise<number> {
  // Warm-up until the JIT reaches its optimised tier (a lidar read needs ~50 calls): 3–200 calls, ≤ 0.3 s.
  const start = performance.now();
  for (let i = 0; i < 200 && (i < 3 || performance.now() - start < 300); i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return median(ms);
}
const print = ({ bench, ...rest }: { bench: string } & Record<string, unknown>) =>
  console.log(JSON.stringify({ bench, backend: 'cpu-js', ...rest }));

const rng = createRng('bench-pointcloud');
const dir = mkdtempSync(join(tmpdir(), 'bench-pointcloud-'));
try {
  const lidarPoints = 34_688;
  const lidarRows = Array.from({ length: 5 }, (_, r) =>
    Float32Array.from({ length: lidarPoints }, () => (r === 4 ? rng.int(0, 32) : rng.uniform(-60, 60))),
  );
  const lidarBytes = encodeLidarPcdBin(lidarRows);
  const lidarMs = await time(() => LidarPointCloud.fromBuffer(lidarBytes));
  print({
    bench: 'pointcloud-lidar-read',
    points: lidarPoints,
    bytes: lidarBytes.length,
    read_ms: round(lidarMs),
    points_per_s: Math.round(lidarPoints / (lidarMs / 1000)),
  });

  const radarPoints = 125;
  const radarRows = RADAR_PCD_FIELDS.map((f, r) =>
    Array.from({ length: radarPoints }, (_, i) =>
      f.type === 'F' ? rng.uniform(-50, 50) : r === 11 ? 3 : i % 7,
    ),
  );
  const radarBytes = encodeRadarPcd(radarRows);
  print({
    bench: 'pointcloud-radar-read',
    points: radarPoints,
    bytes: radarBytes.length,
    read_ms: round(await time(() => RadarPointCloud.fromBuffer(radarBytes), repeats * 10), 4),
  });

  const pc = LidarPointCloud.fromBuffer(lidarBytes);
  const m = transformMatrix([1, 2, 3], Quaternion.fromYaw(0.3));
  print({
    bench: 'pointcloud-lidar-transform',
    points: lidarPoints,
    transform_ms: round(await time(() => pc.transform(m))),
  });

  // A 10-sweep chain at 20 Hz with a moving ego, as for a LIDAR_TOP keyframe and its 9 previous sweeps.
  const nsweeps = 10;
  mkdirSync(join(dir, 'sweeps'));
  const cs: CalibratedSensor = {
    token: 'cs',
    sensor_token: 'lidar',
    translation: [0.985793, 0, 1.84019],
    rotation: Quaternion.fromYaw(-Math.PI / 2).elements,
    camera_intrinsic: [],
  };
  const sampleData: SampleData[] = [];
  const egoPoses: EgoPose[] = [];
  for (let i = 0; i < nsweeps; i++) {
    const timestamp = 1_532_402_927_647_951 - i * 50_000;
    const filename = `sweeps/${i}.pcd.bin`;
    writeFileSync(join(dir, filename), lidarBytes);
    egoPoses.push({
      token: `e${i}`,
      translation: [400 - 0.4 * i, 1100, 0],
      rotation: Quaternion.fromYaw(0.01 * i).elements,
      timestamp,
    });
    sampleData.push({
      token: `s${i}`,
      sample_token: 'sample',
      ego_pose_token: `e${i}`,
      calibrated_sensor_token: 'cs',
      filename,
      fileformat: 'pcd',
      width: 0,
      height: 0,
      timestamp,
      is_key_frame: i === 0,
      prev: i + 1 < nsweeps ? `s${i + 1}` : '',
      next: i > 0 ? `s${i - 1}` : '',
    });
  }
  const tables = {
    sample_data: new Map(sampleData.map((r) => [r.token, r])),
    ego_pose: new Map(egoPoses.map((r) => [r.token, r])),
    calibrated_sensor: new Map([[cs.token, cs]]),
  };
  const nusc: SweepSource = {
    dataroot: dir,
    get: <K extends 'sample_data' | 'ego_pose' | 'calibrated_sensor'>(table: K, token: string) =>
      tables[table].get(token) as TableRecords[K],
  };
  const sample = { token: 'sample', data: { LIDAR_TOP: 's0' } };
  let aggregated = 0;
  const multisweepMs = await time(
    async () => {
      const { pointCloud } = await LidarPointCloud.fromFileMultisweep(
        nusc,
        sample,
        'LIDAR_TOP',
        'LIDAR_TOP',
        nsweeps,
      );
      aggregated = pointCloud.nbrPoints();
    },
    Math.max(5, Math.round(repeats / 10)),
  );
  print({
    bench: 'pointcloud-lidar-multisweep',
    sweeps: nsweeps,
    points: aggregated,
    multisweep_ms: round(multisweepMs),
  });

  // CAN bus: a 20 s scene (pose 50 Hz = 1000 messages), parsed and checked from disk, then SAD's look-up.
  const scenePoses = Array.from({ length: 41 }, (_, i) => ({
    timestamp: 1_532_402_927_647_951 + i * 500_000,
    translation: [400 + 4 * i, 1100 + 0.1 * i * i, 0],
    rotation: Quaternion.fromYaw(0.01 * i).elements,
  }));
  const can = canBusFromEgoPoses(scenePoses);
  mkdirSync(join(dir, 'can_bus'));
  writeFileSync(join(dir, 'can_bus', 'scene-0061_pose.json'), JSON.stringify(can.pose));
  writeFileSync(
    join(dir, 'can_bus', 'scene-0061_steeranglefeedback.json'),
    JSON.stringify(can.steeranglefeedback),
  );
  const uncached = new NuScenesCanBus({ dataroot: dir, cacheSize: 0 });
  print({
    bench: 'canbus-load-pose',
    messages: can.pose.length,
    load_ms: round(await time(() => uncached.getMessages('scene-0061', 'pose'))),
  });
  const cached = new NuScenesCanBus({ dataroot: dir });
  cached.getSadEgoState('scene-0061', scenePoses[0].timestamp);
  let k = 0;
  print({
    bench: 'canbus-sad-ego-state',
    lookup_ms: round(
      await time(
        () => cached.getSadEgoState('scene-0061', scenePoses[k++ % scenePoses.length].timestamp),
        repeats * 10,
      ),
      5,
    ),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
