// A small synthetic release end to end (real camera renderer at 1/20 size, 2 scenes × 8 keyframes): every
// table has the nuScenes schema, every token resolves, files exist, the CAN bus agrees with the ego poses, the
// TypeScript devkit port loads it, the same arguments give byte-identical files whatever the number of render
// workers or with scenes produced first (a preview the devkit port opens), and the output folder is handled safely
// (reuse, clean an interrupted run, refuse foreign data); the demo is generated in place under a lock file (a second
// start waits, a dead holder's half-written world is taken over).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSplitsScenes, NuScenes, TABLE_NAMES } from '../../data-loaders/nuscenes/index.ts';
import {
  demoLockPath,
  ensureDemoDataset,
  generateSyntheticDataset,
  MANIFEST_NAME,
  PARTIAL_MARKER_NAME,
  SEMANTIC_PRIOR_FILES,
  type SynthOptions,
  sceneNames,
} from '../../data-loaders/synthetic/index.ts';
import { SpikedriveError } from '../../src/util/index.ts';

const root = mkdtempSync(join(tmpdir(), 'spikedrive-synth-'));
const base: SynthOptions = {
  out: join(root, 'a'),
  scenes: 2,
  seed: 7,
  samplesPerScene: 8,
  imageScale: 0.05,
  workers: 2,
};
const FAKE_RENDERER = new URL('../unit/synthetic/fake-renderer.ts', import.meta.url).href;

const token = z.string().regex(/^[0-9a-f]{32}$/);
const link = z.union([token, z.literal('')]);
const vec3 = z.tuple([z.number(), z.number(), z.number()]);
const quat = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .refine((q) => Math.abs(Math.hypot(...q) - 1) < 1e-6);
const schemas = {
  category: z.object({ token, name: z.string(), description: z.string() }).strict(),
  attribute: z.object({ token, name: z.string(), description: z.string() }).strict(),
  visibility: z
    .object({ token: z.enum(['1', '2', '3', '4']), level: z.string(), description: z.string() })
    .strict(),
  instance: z
    .object({
      token,
      category_token: token,
      nbr_annotations: z.number().int().positive(),
      first_annotation_token: token,
      last_annotation_token: token,
    })
    .strict(),
  sensor: z.object({ token, channel: z.string(), modality: z.enum(['camera', 'lidar', 'radar']) }).strict(),
  calibrated_sensor: z
    .object({
      token,
      sensor_token: token,
      translation: vec3,
      rotation: quat,
      camera_intrinsic: z.union([z.tuple([vec3, vec3, vec3]), z.tuple([])]),
    })
    .strict(),
  ego_pose: z
    .object({
      token,
      translation: vec3.refine((t) => t[2] === 0),
      rotation: quat,
      timestamp: z.number().int(),
    })
    .strict(),
  log: z
    .object({
      token,
      logfile: z.string().regex(/^n0(15|08)-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d[+-]0[48]00$/),
      vehicle: z.string(),
      date_captured: z.string().regex(/^\d{4}-\d\d-\d\d$/),
      location: z.enum([
        'singapore-onenorth',
        'singapore-hollandvillage',
        'singapore-queenstown',
        'boston-seaport',
      ]),
    })
    .strict(),
  scene: z
    .object({
      token,
      name: z.string().regex(/^scene-\d{4}$/),
      description: z.string(),
      log_token: token,
      nbr_samples: z.number().int(),
      first_sample_token: token,
      last_sample_token: token,
    })
    .strict(),
  sample: z
    .object({ token, timestamp: z.number().int(), prev: link, next: link, scene_token: token })
    .strict(),
  sample_data: z
    .object({
      token,
      sample_token: token,
      ego_pose_token: token,
      calibrated_sensor_token: token,
      filename: z.string(),
      fileformat: z.enum(['jpg', 'pcd']),
      width: z.number().int(),
      height: z.number().int(),
      timestamp: z.number().int(),
      is_key_frame: z.boolean(),
      prev: link,
      next: link,
    })
    .strict(),
  sample_annotation: z
    .object({
      token,
      sample_token: token,
      instance_token: token,
      visibility_token: z.enum(['1', '2', '3', '4']),
      attribute_tokens: z.array(token).length(1),
      translation: vec3,
      size: vec3.refine((s) => s.every((v) => v > 0)),
      rotation: quat,
      prev: link,
      next: link,
      num_lidar_pts: z.number().int().nonnegative(),
      num_radar_pts: z.literal(0),
    })
    .strict(),
  map: z
    .object({
      token,
      log_tokens: z.array(token),
      category: z.literal('semantic_prior'),
      filename: z.string(),
    })
    .strict(),
};

type AnyRecord = Record<string, unknown> & { token: string };
let tables: Record<string, AnyRecord[]>;

function readTables(dataroot: string): Record<string, AnyRecord[]> {
  return Object.fromEntries(
    TABLE_NAMES.map((name) => [
      name,
      JSON.parse(readFileSync(join(dataroot, 'v1.0-mini', `${name}.json`), 'utf8')),
    ]),
  );
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const path = join(d, entry);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

function digestTree(dir: string): Map<string, string> {
  return new Map(
    listFiles(dir).map((f) => [
      f,
      createHash('sha1')
        .update(readFileSync(join(dir, f)))
        .digest('hex'),
    ]),
  );
}

beforeAll(async () => {
  const result = await generateSyntheticDataset(base);
  expect(result.reused).toBe(false);
  tables = readTables(base.out);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a generated synthetic release', () => {
  it('holds all 13 tables with the nuScenes schema', () => {
    for (const name of TABLE_NAMES) {
      const rows = tables[name];
      expect(Array.isArray(rows), name).toBe(true);
      const schema = schemas[name];
      for (const row of rows) {
        const parsed = schema.safeParse(row);
        if (!parsed.success) expect.fail(`${name} ${row.token}: ${parsed.error.message}`);
      }
      expect(new Set(rows.map((r) => r.token)).size, `${name} tokens are unique`).toBe(rows.length);
    }
    expect(tables.category.length).toBe(23);
    expect(tables.attribute.length).toBe(8);
    expect(tables.visibility.length).toBe(4);
    expect(tables.sensor.map((s) => s.channel).sort()).toEqual(
      [
        'CAM_BACK',
        'CAM_BACK_LEFT',
        'CAM_BACK_RIGHT',
        'CAM_FRONT',
        'CAM_FRONT_LEFT',
        'CAM_FRONT_RIGHT',
        'LIDAR_TOP',
      ].sort(),
    );
    expect(tables.map.length).toBe(4);
    expect(tables.sample.length).toBe(16);
    expect(tables.sample_data.length).toBe(112);
    expect(tables.ego_pose.length).toBe(112);
    expect(tables.sample_annotation.length).toBeGreaterThan(50);
  });

  it('resolves every token and chains samples, sensor data and annotations both ways', () => {
    const index = Object.fromEntries(
      TABLE_NAMES.map((t) => [t, new Map(tables[t].map((r) => [r.token, r]))]),
    );
    const resolve = (table: string, t: unknown, what: string) => {
      if (!index[table].has(t as string)) expect.fail(`${what}: ${String(t)} not in ${table}`);
      return index[table].get(t as string)!;
    };
    for (const m of tables.map) for (const t of m.log_tokens as string[]) resolve('log', t, 'map.log_tokens');
    const mappedLogs = new Set(tables.map.flatMap((m) => m.log_tokens as string[]));
    for (const log of tables.log) expect(mappedLogs.has(log.token)).toBe(true);
    for (const cs of tables.calibrated_sensor)
      resolve('sensor', cs.sensor_token, 'calibrated_sensor.sensor_token');
    for (const inst of tables.instance) {
      resolve('category', inst.category_token, 'instance.category_token');
      let ann = resolve('sample_annotation', inst.first_annotation_token, 'instance.first');
      let n = 1;
      while (ann.next !== '') {
        const next = resolve('sample_annotation', ann.next, 'annotation.next');
        expect(next.prev).toBe(ann.token);
        expect(next.instance_token).toBe(inst.token);
        ann = next;
        n++;
      }
      expect(ann.token).toBe(inst.last_annotation_token);
      expect(n).toBe(inst.nbr_annotations);
    }
    for (const ann of tables.sample_annotation) {
      resolve('sample', ann.sample_token, 'annotation.sample_token');
      resolve('instance', ann.instance_token, 'annotation.instance_token');
      for (const a of ann.attribute_tokens as string[])
        resolve('attribute', a, 'annotation.attribute_tokens');
      resolve('visibility', ann.visibility_token, 'annotation.visibility_token');
    }
    for (const scene of tables.scene) {
      resolve('log', scene.log_token, 'scene.log_token');
      let sample = resolve('sample', scene.first_sample_token, 'scene.first_sample_token');
      let n = 1;
      while (sample.next !== '') {
        const next = resolve('sample', sample.next, 'sample.next');
        expect(next.prev).toBe(sample.token);
        expect((next.timestamp as number) - (sample.timestamp as number)).toBeGreaterThan(490_000);
        expect((next.timestamp as number) - (sample.timestamp as number)).toBeLessThan(510_000);
        sample = next;
        n++;
      }
      expect(sample.token).toBe(scene.last_sample_token);
      expect(n).toBe(scene.nbr_samples);
    }
    const channelOf = (sd: AnyRecord) =>
      (
        resolve(
          'sensor',
          resolve('calibrated_sensor', sd.calibrated_sensor_token, 'sd.cs').sensor_token,
          'cs.sensor',
        ) as AnyRecord
      ).channel as string;
    const perSample = new Map<string, Set<string>>();
    for (const sd of tables.sample_data) {
      const sample = resolve('sample', sd.sample_token, 'sample_data.sample_token');
      const pose = resolve('ego_pose', sd.ego_pose_token, 'sample_data.ego_pose_token');
      expect(pose.token).toBe(sd.token);
      expect(pose.timestamp).toBe(sd.timestamp);
      if (sd.prev !== '') expect(resolve('sample_data', sd.prev, 'sd.prev').next).toBe(sd.token);
      const channel = channelOf(sd);
      if (channel === 'LIDAR_TOP') expect(sd.timestamp).toBe(sample.timestamp);
      else expect(Math.abs((sd.timestamp as number) - (sample.timestamp as number))).toBeLessThan(60_000);
      if (!perSample.has(sample.token)) perSample.set(sample.token, new Set());
      perSample.get(sample.token)!.add(channel);
      expect(sd.filename).toMatch(
        new RegExp(`^samples/${channel}/n0\\d\\d-[^_]+__${channel}__${sd.timestamp}\\.(jpg|pcd\\.bin)$`),
      );
    }
    for (const channels of perSample.values()) expect(channels.size).toBe(7);
  });

  it('uses scene names of the mini split lists, train and val', () => {
    const splits = createSplitsScenes();
    const names = tables.scene.map((s) => s.name as string);
    expect(names.filter((n) => splits.mini_train.includes(n)).length).toBe(1);
    expect(names.filter((n) => splits.mini_val.includes(n)).length).toBe(1);
  });

  it('writes every file a table points to: JPEGs of the stated size, float32×5 lidar, maps, CAN bus', async () => {
    for (const sd of tables.sample_data) {
      const path = join(base.out, sd.filename as string);
      expect(existsSync(path), path).toBe(true);
      if (sd.fileformat === 'pcd') expect(statSync(path).size % 20).toBe(0);
    }
    const jpg = tables.sample_data.find((sd) => sd.fileformat === 'jpg')!;
    const meta = await sharp(join(base.out, jpg.filename as string)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', jpg.width, jpg.height]);
    expect([jpg.width, jpg.height]).toEqual([80, 45]);
    for (const m of tables.map) expect(existsSync(join(base.out, m.filename as string))).toBe(true);
    for (const location of [
      'singapore-onenorth',
      'singapore-hollandvillage',
      'singapore-queenstown',
      'boston-seaport',
    ]) {
      expect(existsSync(join(base.out, 'maps', 'expansion', `${location}.json`))).toBe(true);
      expect(existsSync(join(base.out, 'maps', 'basemap', `${location}.png`))).toBe(true);
    }
    for (const scene of tables.scene) {
      for (const message of ['pose', 'steeranglefeedback', 'ms_imu', 'vehicle_monitor', 'route', 'meta']) {
        expect(existsSync(join(base.out, 'can_bus', `${scene.name}_${message}.json`))).toBe(true);
      }
    }
    expect(existsSync(join(base.out, MANIFEST_NAME))).toBe(true);
    expect(existsSync(join(base.out, PARTIAL_MARKER_NAME))).toBe(false);
  });

  it('has CAN pose messages that agree with the ego poses (position, forward speed)', () => {
    const index = new Map(tables.sample_data.map((sd) => [sd.token, sd]));
    for (const scene of tables.scene) {
      const pose = JSON.parse(
        readFileSync(join(base.out, 'can_bus', `${scene.name}_pose.json`), 'utf8'),
      ) as Array<{
        utime: number;
        pos: number[];
        vel: number[];
      }>;
      const samples = tables.sample.filter((s) => s.scene_token === scene.token);
      const lidar = samples.map((s) => {
        const sd = tables.sample_data.find(
          (d) => d.sample_token === s.token && (d.filename as string).includes('LIDAR_TOP'),
        )!;
        return tables.ego_pose.find((p) => p.token === index.get(sd.token)!.ego_pose_token)!;
      });
      expect(pose[0].utime).toBeLessThanOrEqual(lidar[0].timestamp as number);
      expect(pose[pose.length - 1].utime).toBeGreaterThanOrEqual(lidar[lidar.length - 1].timestamp as number);
      for (let k = 0; k + 1 < lidar.length; k++) {
        const ego = lidar[k];
        const nearest = pose.reduce((a, b) =>
          Math.abs(b.utime - (ego.timestamp as number)) < Math.abs(a.utime - (ego.timestamp as number))
            ? b
            : a,
        );
        const t = ego.translation as number[];
        expect(Math.hypot(nearest.pos[0] - t[0], nearest.pos[1] - t[1])).toBeLessThan(0.25);
        // Mean of vel[0] over the half second equals the distance travelled between keyframes.
        const next = lidar[k + 1];
        const t2 = next.translation as number[];
        const dtS = ((next.timestamp as number) - (ego.timestamp as number)) / 1e6;
        const inside = pose.filter(
          (m) => m.utime >= (ego.timestamp as number) && m.utime <= (next.timestamp as number),
        );
        const meanSpeed = inside.reduce((s, m) => s + m.vel[0], 0) / inside.length;
        expect(Math.abs(meanSpeed * dtS - Math.hypot(t2[0] - t[0], t2[1] - t[1]))).toBeLessThan(0.15);
      }
    }
  });

  it('loads with the TypeScript devkit port, which finds boxes in the cameras and the lidar', async () => {
    const nusc = await NuScenes.load({ dataroot: base.out, version: 'v1.0-mini', verbose: false });
    let boxes = 0;
    for (const sample of tables.sample) {
      const record = nusc.get('sample', sample.token);
      expect(Object.keys(record.data ?? {}).length).toBe(7);
      const lidar = nusc.getSampleData(record.data!.LIDAR_TOP!);
      boxes += lidar.boxes.length;
      const front = nusc.getSampleData(record.data!.CAM_FRONT!);
      expect(front.cameraIntrinsic).toBeDefined();
    }
    expect(boxes).toBe(tables.sample_annotation.length);
  });

  it('regenerates byte-identical files with another worker count, over an interrupted run it cleans', async () => {
    const out = join(root, 'b');
    mkdirSync(join(out, 'samples', 'CAM_FRONT'), { recursive: true });
    writeFileSync(join(out, PARTIAL_MARKER_NAME), '{}');
    writeFileSync(join(out, 'samples', 'CAM_FRONT', 'half-written.jpg'), 'x');
    const result = await generateSyntheticDataset({ ...base, out, workers: 0 });
    expect(result.cleaned).toBe(true);
    const a = digestTree(base.out);
    const b = digestTree(out);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [file, hash] of a) if (b.get(file) !== hash) expect.fail(`${file} differs between runs`);
  });

  it('reuses a complete dataset, refuses other arguments without --force and foreign folders always', async () => {
    const again = await generateSyntheticDataset(base);
    expect(again.reused).toBe(true);
    await expect(generateSyntheticDataset({ ...base, seed: 8 })).rejects.toThrow(/other arguments/);
    const foreign = join(root, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(generateSyntheticDataset({ ...base, out: foreign })).rejects.toBeInstanceOf(SpikedriveError);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    await expect(generateSyntheticDataset({ ...base, out: join(root, 'c'), scenes: 11 })).rejects.toThrow(
      /1 to 10/,
    );
    await expect(
      generateSyntheticDataset({ ...base, out: join(root, 'c'), samplesPerScene: 1 }),
    ).rejects.toThrow(/samples-per-scene/);
  });
});

describe('scenes first (a preview)', () => {
  it('writes the named scenes first with tables of their own, then the same bytes as without', async () => {
    // The release made without it (beforeAll, the real renderer) is the reference.
    const out = join(root, 'first');
    // Scene 1 (val) is in the second location: the first location waits until it is done.
    const val = sceneNames('v1.0-mini', 2).find((s) => s.split === 'val')!.name;
    const seen: Array<{ sceneNames: string[]; tables: Record<string, AnyRecord[]>; missing: string[] }> = [];
    const keyframesAtPreview: number[] = [];
    const loadedScenes: string[][] = [];
    let keyframes = 0;
    await generateSyntheticDataset({
      ...base,
      out,
      firstScenes: [val],
      workersAfterPreview: 1,
      onProgress: (p) => {
        if (p.phase === 'keyframes') keyframes = p.done;
      },
      onPreview: (preview) => {
        // What a viewer opening the preview now reads.
        const previewTables = readTables(out);
        seen.push({
          sceneNames: preview.sceneNames,
          tables: previewTables,
          missing: previewTables.sample_data
            .map((sd) => sd.filename as string)
            .filter((f) => !existsSync(join(out, f))),
        });
        keyframesAtPreview.push(keyframes);
        expect(preview.dataroot).toBe(out);
        expect(existsSync(join(out, MANIFEST_NAME))).toBe(false);
        expect(existsSync(join(out, PARTIAL_MARKER_NAME))).toBe(true);
        // The devkit port opens it (the full tables wait for this promise).
        return NuScenes.load({ dataroot: out, version: 'v1.0-mini', verbose: false }).then((nusc) => {
          loadedScenes.push(nusc.scenes.map((s) => s.name));
        });
      },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0].sceneNames).toEqual([val]);
    expect(seen[0].tables.scene.map((s) => s.name)).toEqual([val]);
    expect(seen[0].tables.sample).toHaveLength(8);
    expect(seen[0].missing).toEqual([]);
    // Only its log, its sensors and the maps already written: the devkit opens every map listed.
    expect(seen[0].tables.log).toHaveLength(1);
    expect(seen[0].tables.calibrated_sensor).toHaveLength(7);
    expect(seen[0].tables.map.map((m) => m.filename)).toEqual([
      `maps/${SEMANTIC_PRIOR_FILES[seen[0].tables.log[0].location as keyof typeof SEMANTIC_PRIOR_FILES]}.png`,
    ]);
    expect(loadedScenes).toEqual([[val]]);
    // The first scene's keyframes only (8 of 16): the preview came before the other scene was rendered.
    expect(keyframesAtPreview).toEqual([8]);
    const a = digestTree(base.out);
    const b = digestTree(out);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [file, hash] of a) if (b.get(file) !== hash) expect.fail(`${file} differs with firstScenes`);
    await expect(
      generateSyntheticDataset({ ...base, out: join(root, 'bad-first'), firstScenes: ['scene-9999'] }),
    ).rejects.toThrow(/scene-9999/);
  });
});

describe('ensureDemoDataset', () => {
  const demoArgs = { version: 'v1.0-mini', scenes: 2, seed: 1, samplesPerScene: 2, imageScale: 0.05 };
  const demoFolder = join(root, 'cache', 'demo');

  it('generates the demo in place, val scene first (a preview), and reuses it afterwards', async () => {
    const leftover = `${demoFolder}.tmp-999999999`;
    mkdirSync(leftover, { recursive: true });
    const phases = new Set<string>();
    const previews: string[][] = [];
    const first = await ensureDemoDataset({
      folder: demoFolder,
      arguments: demoArgs,
      workers: 0,
      rendererModule: FAKE_RENDERER,
      onProgress: (p) => phases.add(p.phase),
      onPreview: (preview) => {
        previews.push(preview.sceneNames);
        // Opened where it will stay; not complete yet, and this process holds the lock.
        expect(preview.dataroot).toBe(demoFolder);
        expect(existsSync(join(demoFolder, MANIFEST_NAME))).toBe(false);
        expect(JSON.parse(readFileSync(demoLockPath(demoFolder), 'utf8')).pid).toBe(process.pid);
      },
    });
    expect(first).toEqual({ dataroot: demoFolder, version: 'v1.0-mini', generated: true });
    expect(previews).toEqual([
      sceneNames('v1.0-mini', 2)
        .filter((s) => s.split === 'val')
        .map((s) => s.name),
    ]);
    expect(phases).toEqual(new Set(['maps', 'keyframes', 'tables', 'done']));
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(demoLockPath(demoFolder))).toBe(false);
    expect(readTables(demoFolder).scene).toHaveLength(2);
    const second = await ensureDemoDataset({
      folder: demoFolder,
      arguments: demoArgs,
      rendererModule: FAKE_RENDERER,
      onPreview: () => expect.fail('a cached demo has no preview'),
    });
    expect(second.generated).toBe(false);
    // A folder holding something else is refused (and the lock taken to look at it is given back).
    const foreign = join(root, 'cache-foreign', 'demo');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(ensureDemoDataset({ folder: foreign, arguments: demoArgs })).rejects.toThrow(
      /not a spikedrive demo/,
    );
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(demoLockPath(foreign))).toBe(false);
  });

  it('waits while a live process holds the lock, and uses the world it completes', async () => {
    const folder = join(root, 'cache-wait', 'demo');
    mkdirSync(dirname(folder), { recursive: true });
    // The holder: a live process that is not this one (the test runner's parent).
    writeFileSync(demoLockPath(folder), JSON.stringify({ pid: process.ppid, startedMs: 0, owner: 'other' }));
    let progressed = false;
    const waiting = ensureDemoDataset({
      folder,
      arguments: demoArgs,
      rendererModule: FAKE_RENDERER,
      pollMs: 20,
      onProgress: () => {
        progressed = true;
      },
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(folder)).toBe(false);
    // The holder finishes: the complete world appears.
    cpSync(demoFolder, folder, { recursive: true });
    expect(await waiting).toEqual({ dataroot: folder, version: 'v1.0-mini', generated: false });
    expect(progressed).toBe(false);
    // The holder's lock is the holder's to remove.
    expect(JSON.parse(readFileSync(demoLockPath(folder), 'utf8')).owner).toBe('other');
  });

  it('takes over from a dead holder: cleans its half-written world and regenerates it once', async () => {
    const folder = join(root, 'cache-dead', 'demo');
    mkdirSync(join(folder, 'samples', 'CAM_FRONT'), { recursive: true });
    writeFileSync(join(folder, PARTIAL_MARKER_NAME), '{}');
    writeFileSync(join(folder, 'samples', 'CAM_FRONT', 'half-written.jpg'), 'x');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(demoLockPath(folder), JSON.stringify({ pid: dead, startedMs: 0, owner: 'dead' }));
    // Two starts at once (same process): one generates, the other waits for it.
    const options = { folder, arguments: demoArgs, workers: 0, rendererModule: FAKE_RENDERER, pollMs: 20 };
    const results = await Promise.all([ensureDemoDataset(options), ensureDemoDataset(options)]);
    expect(results.map((r) => r.generated).sort()).toEqual([false, true]);
    expect(existsSync(join(folder, 'samples', 'CAM_FRONT', 'half-written.jpg'))).toBe(false);
    expect(existsSync(demoLockPath(folder))).toBe(false);
    const a = digestTree(demoFolder);
    const b = digestTree(folder);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [file, hash] of a) if (b.get(file) !== hash) expect.fail(`${file} differs after a takeover`);
  });
});
