// `npm run bench -- data [--trainval] [--keep]`: nuScenes table loading and camera decoding.
// Prints one JSON object per line:
//   data-fixture-load        fixture tables (v1.0-mini layout): load time median, RSS/heap delta
//   data-image-decode        1600×900 JPEG → RGB (sharp), images/s
//   data-image-sad           decode + SAD preprocessing (PIL-exact bilinear 480×270, crop 224×480, normalise)
//   data-image-sad-sharp     the same with libvips resampling
//   data-image-sad-parallel  SAD preprocessing, 4 images in flight (libuv decodes in parallel)
//   data-trainval-load       (--trainval) synthetic tables with trainval's row counts, generated under
//                            /tmp, loaded in a child process: load time, peak RSS, heap, typed-array bytes
//                            (--scenes N for a smaller set, --keep to keep the files, --repeats N)
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import {
  decodeCameraImage,
  decodeCameraImageRgb,
  NuScenes,
  SAD_IMAGE_OPTIONS,
} from '../data-loaders/nuscenes/index.ts';
import { median } from './_util.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const FIXTURE = join(root, 'test/fixtures/nuscenes');
const args = process.argv.slice(2);

function emit(record: Record<string, unknown>): void {
  console.log(JSON.stringify({ backend: 'node-cpu', ...record }));
}

// ------------------------------------------------------------------ child: load a dataroot, report

if (args[0] === '--child-load') {
  const [, dataroot, version] = args;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const nusc = new NuScenes({ dataroot, version, verbose: false });
  const loadMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  // Touch the indexes so the numbers include a working database.
  const sd = nusc.getAt('sample_data', nusc.count('sample_data') - 1);
  nusc.getBoxes(sd.token);
  const memory = process.memoryUsage();
  console.log(
    JSON.stringify({
      load_ms: loadMs,
      // CPU time (user + system, all threads) is steadier than wall time on a shared machine.
      cpu_ms: (cpu.user + cpu.system) / 1000,
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
      array_buffers_bytes: memory.arrayBuffers,
      columnar_bytes: nusc.columnarBytes,
      rows: Object.fromEntries(nusc.tableNames.map((t) => [t, nusc.count(t)])),
    }),
  );
  process.exit(0);
}

// ------------------------------------------------------------------ fixture tables

async function benchFixtureLoad(): Promise<void> {
  new NuScenes({ dataroot: FIXTURE, verbose: false }); // warm-up (JIT, file cache)
  const times: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  let keep: NuScenes[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    keep.push(new NuScenes({ dataroot: FIXTURE, verbose: false }));
    times.push(performance.now() - t);
  }
  const rssDelta = (process.memoryUsage().rss - rssBefore) / keep.length;
  const heapDelta = (process.memoryUsage().heapUsed - heapBefore) / keep.length;
  emit({
    bench: 'data-fixture-load',
    load_ms: median(times),
    rows: keep[0].count('sample_data') + keep[0].count('ego_pose') + keep[0].count('sample_annotation'),
    rss_delta_bytes: Math.round(rssDelta),
    heap_delta_bytes: Math.round(heapDelta),
    repeats: times.length,
  });
  keep = [];
}

// ------------------------------------------------------------------ camera images

async function benchImages(): Promise<void> {
  const nusc = new NuScenes({ dataroot: FIXTURE, verbose: false });
  const paths = nusc
    .all('sample_data')
    .filter((sd) => sd.sensor_modality === 'camera')
    .map((sd) => nusc.getSampleDataPath(sd.token));
  const rounds = 3;
  const cases: [string, (path: string) => Promise<unknown>][] = [
    ['data-image-decode', (p) => decodeCameraImageRgb(p)],
    ['data-image-sad', (p) => decodeCameraImage(p, SAD_IMAGE_OPTIONS)],
    ['data-image-sad-sharp', (p) => decodeCameraImage(p, { ...SAD_IMAGE_OPTIONS, resampler: 'sharp' })],
  ];
  for (const [name, run] of cases) {
    for (const p of paths.slice(0, 4)) await run(p); // warm-up
    const perImage: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const p of paths) {
        const t = performance.now();
        await run(p);
        perImage.push(performance.now() - t);
      }
    }
    const ms = median(perImage);
    emit({
      bench: name,
      per_image_ms: ms,
      images_per_s: 1000 / ms,
      images: perImage.length,
      size: '1600x900',
    });
  }
  // Several images in flight: sharp decodes on libuv threads while the main thread resamples.
  const inFlight = 4;
  const started = performance.now();
  let done = 0;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < paths.length; i += inFlight) {
      const batch = paths.slice(i, i + inFlight);
      await Promise.all(batch.map((p) => decodeCameraImage(p, SAD_IMAGE_OPTIONS)));
      done += batch.length;
    }
  }
  const elapsed = performance.now() - started;
  emit({
    bench: 'data-image-sad-parallel',
    images_per_s: (done * 1000) / elapsed,
    in_flight: inFlight,
    images: done,
  });
}

// ------------------------------------------------------------------ synthetic trainval-sized tables

/** Row counts of v1.0-trainval (nuscenes.md §6); `--scenes N` makes a smaller set for a quick run. */
const sceneArg = args.indexOf('--scenes');
const TRAINVAL = {
  scenes: sceneArg >= 0 ? Number(args[sceneArg + 1]) : 850,
  logs: 68,
  samplesPerScene: 40,
  instancesPerScene: 76,
};

function makeToken(kind: number, index: number): string {
  // Deterministic 32-hex tokens that look random (a 32-bit mix per word).
  let s = '';
  let h = (kind * 0x9e3779b1 + index * 0x85ebca77) >>> 0;
  for (let w = 0; w < 4; w++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
    h = (h ^ (h >>> 15) ^ (index + w * 0x3141592)) >>> 0;
    s += h.toString(16).padStart(8, '0');
  }
  return s;
}

/** Writes a table as Python's json.dump(indent=0) would, streaming records to disk. */
class TableWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  private size = 0;
  private first = true;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
    this.buffer.push('[\n');
  }
  add(record: Record<string, unknown>): void {
    const text = JSON.stringify(record, null, 1).replace(/^ +/gm, '');
    this.buffer.push(this.first ? text : `,\n${text}`);
    this.first = false;
    this.size += text.length;
    if (this.size > 4 << 20) this.flush();
  }
  private flush(): void {
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }
  close(): void {
    this.buffer.push('\n]\n');
    this.flush();
    closeSync(this.fd);
  }
}

function generateTrainval(dataroot: string): void {
  const version = 'v1.0-trainval';
  const dir = join(dataroot, version);
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(dataroot, 'maps'), { recursive: true });
  const channels = [
    ['CAM_FRONT', 'camera', 6],
    ['CAM_FRONT_RIGHT', 'camera', 6],
    ['CAM_BACK_RIGHT', 'camera', 6],
    ['CAM_BACK', 'camera', 6],
    ['CAM_BACK_LEFT', 'camera', 6],
    ['CAM_FRONT_LEFT', 'camera', 6],
    ['LIDAR_TOP', 'lidar', 10],
    ['RADAR_FRONT', 'radar', 7],
    ['RADAR_FRONT_LEFT', 'radar', 6],
    ['RADAR_FRONT_RIGHT', 'radar', 6],
    ['RADAR_BACK_LEFT', 'radar', 6],
    ['RADAR_BACK_RIGHT', 'radar', 6],
  ] as const; // per sample interval: 1 keyframe + sweeps; 77 in all
  const write = (name: string, rows: unknown[]) =>
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(rows, null, 1));
  const categories = ['vehicle.car', 'vehicle.truck', 'human.pedestrian.adult', 'movable_object.barrier'];
  write(
    'category',
    categories.map((name, i) => ({ token: makeToken(1, i), name, description: '' })),
  );
  write('attribute', [{ token: makeToken(2, 0), name: 'vehicle.moving', description: '' }]);
  write(
    'visibility',
    ['1', '2', '3', '4'].map((token) => ({ token, level: 'v80-100', description: '' })),
  );
  write(
    'sensor',
    channels.map(([channel, modality], i) => ({ token: makeToken(3, i), channel, modality })),
  );
  const cs: unknown[] = [];
  for (let s = 0; s < TRAINVAL.scenes; s++) {
    channels.forEach(([, modality], c) => {
      cs.push({
        token: makeToken(4, s * 12 + c),
        sensor_token: makeToken(3, c),
        translation: [1.7, 0.01, 1.5],
        rotation: [0.5, -0.5, 0.5, -0.5],
        camera_intrinsic:
          modality === 'camera'
            ? [
                [1266.4, 0, 816.3],
                [0, 1266.4, 491.5],
                [0, 0, 1],
              ]
            : [],
      });
    });
  }
  write('calibrated_sensor', cs);
  const logs = Array.from({ length: TRAINVAL.logs }, (_, i) => ({
    token: makeToken(5, i),
    logfile: `n015-2018-07-${String(10 + (i % 20)).padStart(2, '0')}-11-22-45+0800`,
    vehicle: 'n015',
    date_captured: '2018-07-24',
    location: 'singapore-onenorth',
  }));
  write('log', logs);
  const hash = '53992ee3023e5494b90c316c183be829';
  write('map', [
    {
      token: hash,
      category: 'semantic_prior',
      filename: `maps/${hash}.png`,
      log_tokens: logs.map((l) => l.token),
    },
  ]);
  const png = new PNG({ width: 4, height: 4 });
  writeFileSync(join(dataroot, 'maps', `${hash}.png`), PNG.sync.write(png));

  const scenes: unknown[] = [];
  const samples: unknown[] = [];
  const instances: unknown[] = [];
  const sdWriter = new TableWriter(join(dir, 'sample_data.json'));
  const poseWriter = new TableWriter(join(dir, 'ego_pose.json'));
  const annWriter = new TableWriter(join(dir, 'sample_annotation.json'));
  let sdIndex = 0;
  let annIndex = 0;
  for (let s = 0; s < TRAINVAL.scenes; s++) {
    const sampleToken = (k: number) => makeToken(6, s * TRAINVAL.samplesPerScene + k);
    const t0 = 1532402927647951 + s * 60_000_000;
    const log = logs[s % logs.length];
    for (let k = 0; k < TRAINVAL.samplesPerScene; k++) {
      samples.push({
        token: sampleToken(k),
        timestamp: t0 + k * 500_000,
        prev: k > 0 ? sampleToken(k - 1) : '',
        next: k < TRAINVAL.samplesPerScene - 1 ? sampleToken(k + 1) : '',
        scene_token: makeToken(7, s),
      });
    }
    scenes.push({
      token: makeToken(7, s),
      log_token: log.token,
      nbr_samples: TRAINVAL.samplesPerScene,
      first_sample_token: sampleToken(0),
      last_sample_token: sampleToken(TRAINVAL.samplesPerScene - 1),
      name: `scene-${String(s + 1).padStart(4, '0')}`,
      description: 'synthetic',
    });
    // Per channel: a chain of keyframes with sweeps between them.
    channels.forEach(([channel, modality, perInterval], c) => {
      const count = TRAINVAL.samplesPerScene * perInterval - (perInterval - 1);
      const first = sdIndex;
      for (let j = 0; j < count; j++) {
        const key = j % perInterval === 0;
        const sample = Math.ceil(j / perInterval);
        const t = t0 + Math.round((j * 500_000) / perInterval) + c * 1000;
        const token = makeToken(8, sdIndex);
        poseWriter.add({
          token,
          timestamp: t,
          rotation: [0.572, -0.0017, 0.0118, -0.8201],
          translation: [411.3 + j * 0.01, 1180.9 - j * 0.02, 0.0],
        });
        const folder = key ? 'samples' : 'sweeps';
        const ext = modality === 'camera' ? 'jpg' : modality === 'lidar' ? 'pcd.bin' : 'pcd';
        sdWriter.add({
          token,
          sample_token: sampleToken(sample),
          ego_pose_token: token,
          calibrated_sensor_token: makeToken(4, s * 12 + c),
          timestamp: t,
          fileformat: modality === 'camera' ? 'jpg' : 'pcd',
          is_key_frame: key,
          height: modality === 'camera' ? 900 : 0,
          width: modality === 'camera' ? 1600 : 0,
          filename: `${folder}/${channel}/${log.logfile}__${channel}__${t}.${ext}`,
          prev: j > 0 ? makeToken(8, first + j - 1) : '',
          next: j < count - 1 ? makeToken(8, first + j + 1) : '',
        });
        sdIndex++;
      }
    });
    // Instances spanning runs of consecutive samples (about 18 annotations each, as trainval's 1.17 M / 64 k).
    for (let i = 0; i < TRAINVAL.instancesPerScene; i++) {
      const length = 12 + ((i * 7) % 13);
      const start = (i * 5) % (TRAINVAL.samplesPerScene - length + 1);
      const firstAnn = annIndex;
      for (let k = 0; k < length; k++) {
        annWriter.add({
          token: makeToken(9, annIndex),
          sample_token: sampleToken(start + k),
          instance_token: makeToken(10, s * TRAINVAL.instancesPerScene + i),
          visibility_token: String(1 + (k % 4)),
          attribute_tokens: i % 3 === 0 ? [makeToken(2, 0)] : [],
          translation: [420.5 + i + k * 0.5, 1170.25 - i, 0.9],
          size: [1.9, 4.6, 1.6],
          rotation: [0.9999, 0, 0, 0.0141],
          prev: k > 0 ? makeToken(9, annIndex - 1) : '',
          next: k < length - 1 ? makeToken(9, annIndex + 1) : '',
          num_lidar_pts: 40,
          num_radar_pts: 2,
        });
        annIndex++;
      }
      instances.push({
        token: makeToken(10, s * TRAINVAL.instancesPerScene + i),
        category_token: makeToken(1, i % categories.length),
        nbr_annotations: length,
        first_annotation_token: makeToken(9, firstAnn),
        last_annotation_token: makeToken(9, annIndex - 1),
      });
    }
  }
  sdWriter.close();
  poseWriter.close();
  annWriter.close();
  write('scene', scenes);
  write('sample', samples);
  write('instance', instances);
}

async function benchTrainval(): Promise<void> {
  const dataroot = join(tmpdir(), `spikedrive-trainval-tables-${TRAINVAL.scenes}`);
  const marker = join(dataroot, 'v1.0-trainval', 'map.json');
  let generateMs = 0;
  if (!existsSync(marker)) {
    rmSync(dataroot, { recursive: true, force: true });
    const t = performance.now();
    generateTrainval(dataroot);
    generateMs = performance.now() - t;
  }
  const bytes = ['sample_data', 'ego_pose', 'sample_annotation'].map(
    (n) => statSync(join(dataroot, 'v1.0-trainval', `${n}.json`)).size,
  );
  const runs: Record<string, unknown>[] = [];
  const repeats = Number(args[args.indexOf('--repeats') + 1]) || 1;
  for (let i = 0; i < repeats; i++) {
    const out = execFileSync(
      process.execPath,
      [join(root, 'bin/run-ts.js'), join(here, 'data.ts'), '--child-load', dataroot, 'v1.0-trainval'],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    runs.push(JSON.parse(out.trim().split('\n').at(-1) as string));
  }
  const pick = (key: string) => median(runs.map((r) => r[key] as number));
  emit({
    bench: 'data-trainval-load',
    load_ms: pick('load_ms'),
    cpu_ms: pick('cpu_ms'),
    peak_rss_bytes: pick('peak_rss_bytes'),
    heap_used_bytes: pick('heap_used_bytes'),
    array_buffers_bytes: pick('array_buffers_bytes'),
    columnar_bytes: pick('columnar_bytes'),
    rows: runs[0].rows,
    json_bytes: { sample_data: bytes[0], ego_pose: bytes[1], sample_annotation: bytes[2] },
    generate_ms: generateMs || undefined,
    repeats,
  });
  if (!args.includes('--keep')) rmSync(dataroot, { recursive: true, force: true });
}

await benchFixtureLoad();
await benchImages();
if (args.includes('--trainval')) await benchTrainval();
