// A small hand-built nuScenes-format world for the SAD loader's tests and golden fixtures: curving ego
// paths with pitch and roll, cameras whose ego poses differ from the lidar's, tiny lossless PNG images,
// a hand-made map expansion, CAN bus files, and agents chosen to exercise every label rule (visibility
// filtering, future-only and vanishing instances, overlaps, ignored categories, humans). Deterministic:
// the same spec gives the same bytes, so tests regenerate it instead of committing it.
// As a script: node bin/run-ts.js test/unit/sad-data/hand-world.ts OUT_DIR   (writes the golden world)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { Quaternion } from '../../../data-loaders/nuscenes/index.ts';
import { createRng, type Rng } from '../../../src/util/index.ts';

export const HAND_CAMERAS = [
  'CAM_FRONT',
  'CAM_FRONT_RIGHT',
  'CAM_BACK_RIGHT',
  'CAM_BACK',
  'CAM_BACK_LEFT',
  'CAM_FRONT_LEFT',
] as const;

/** An ego or agent pose in the scene's own planar frame (metres, radians), mapped to global by the scene. */
export interface PlanarPose {
  x: number;
  y: number;
  z?: number;
  yaw: number;
  pitch?: number;
  roll?: number;
}

export interface HandAgent {
  category: string;
  /** width, length, height. */
  size: [number, number, number];
  /** Pose at each keyframe (undefined: not annotated then) and its visibility token. */
  at: (keyframe: number) => (PlanarPose & { visibility?: string }) | undefined;
}

export interface HandScene {
  name: string;
  location: 'singapore-onenorth' | 'singapore-hollandvillage' | 'singapore-queenstown' | 'boston-seaport';
  /** Global position and heading of the scene's planar frame. */
  origin: { x: number; y: number; heading: number };
  keyframes: number;
  /** Ego pose at time t seconds after the first keyframe (planar frame). */
  ego: (tS: number) => PlanarPose;
  /** Forward speed and steering-wheel angle (CAN) at time t. */
  can: (tS: number) => { speedMps: number; steeringRad: number };
  agents: HandAgent[];
  /** Drivable-area polygons (exterior, then optional holes) and lane dividers, planar frame. */
  map: {
    drivable: { exterior: [number, number][]; holes?: [number, number][][] }[];
    dividers: [number, number][][];
  };
  /** Camera timestamps after the lidar keyframe, µs (cameras fire at other times: other ego poses). */
  cameraDelayUs: number[];
}

export interface HandWorldOptions {
  imageWidth: number;
  imageHeight: number;
  /** Seed for tokens and image noise. */
  seed: string;
  /** Write the camera images (default true); label-only tests can skip them. */
  images?: boolean;
}

const CATEGORY_NAMES = [
  'animal',
  'human.pedestrian.adult',
  'human.pedestrian.child',
  'human.pedestrian.construction_worker',
  'human.pedestrian.personal_mobility',
  'human.pedestrian.police_officer',
  'human.pedestrian.stroller',
  'human.pedestrian.wheelchair',
  'movable_object.barrier',
  'movable_object.debris',
  'movable_object.pushable_pullable',
  'movable_object.trafficcone',
  'static_object.bicycle_rack',
  'vehicle.bicycle',
  'vehicle.bus.bendy',
  'vehicle.bus.rigid',
  'vehicle.car',
  'vehicle.construction',
  'vehicle.emergency.ambulance',
  'vehicle.emergency.police',
  'vehicle.motorcycle',
  'vehicle.trailer',
  'vehicle.truck',
];

const LOCATIONS = [
  'singapore-onenorth',
  'singapore-hollandvillage',
  'singapore-queenstown',
  'boston-seaport',
] as const;
const CANVAS_EDGE: Record<string, [number, number]> = {
  'singapore-onenorth': [1585.6, 2025.0],
  'singapore-hollandvillage': [2808.3, 2922.9],
  'singapore-queenstown': [3228.6, 3687.1],
  'boston-seaport': [2979.5, 2118.1],
};

function quaternionOf(yaw: number, pitch = 0, roll = 0): [number, number, number, number] {
  // R = Rz(yaw)·Ry(pitch)·Rx(roll), as a [w, x, y, z] quaternion.
  const q = Quaternion.fromAxisAngle([0, 0, 1], yaw)
    .multiply(Quaternion.fromAxisAngle([0, 1, 0], pitch))
    .multiply(Quaternion.fromAxisAngle([1, 0, 0], roll));
  return [q.w, q.x, q.y, q.z];
}

function toGlobal(scene: HandScene, p: PlanarPose) {
  const { x, y, heading } = scene.origin;
  const c = Math.cos(heading);
  const s = Math.sin(heading);
  return {
    translation: [x + c * p.x - s * p.y, y + s * p.x + c * p.y, p.z ?? 0] as [number, number, number],
    rotation: quaternionOf(p.yaw + heading, p.pitch ?? 0, p.roll ?? 0),
  };
}

function pointToGlobal(scene: HandScene, [px, py]: [number, number]): [number, number] {
  const { x, y, heading } = scene.origin;
  const c = Math.cos(heading);
  const s = Math.sin(heading);
  return [x + c * px - s * py, y + s * px + c * py];
}

/** Camera → ego rotation for a camera looking along `yaw` (ego frame), tilted down by `tilt`. */
function cameraRotation(yaw: number, tilt: number): [number, number, number, number] {
  // Optical axes: camera z → ego x, camera x → ego −y, camera y → ego −z, then yaw about z and a tilt.
  const base = Quaternion.fromMatrix([
    [0, 0, 1],
    [-1, 0, 0],
    [0, -1, 0],
  ]);
  const q = Quaternion.fromAxisAngle([0, 0, 1], yaw)
    .multiply(Quaternion.fromAxisAngle([0, 1, 0], tilt))
    .multiply(base);
  return [q.w, q.x, q.y, q.z];
}

const CAMERA_YAW: Record<string, number> = {
  CAM_FRONT: 0,
  CAM_FRONT_RIGHT: -0.96,
  CAM_BACK_RIGHT: -1.92,
  CAM_BACK: Math.PI,
  CAM_BACK_LEFT: 1.92,
  CAM_FRONT_LEFT: 0.96,
};

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 1)}\n`);
}

function png(width: number, height: number, rng: Rng): Buffer {
  const image = new PNG({ width, height, colorType: 2 });
  for (let i = 0; i < width * height; i++) {
    const y = Math.floor(i / width);
    image.data[i * 4] = (rng.int(0, 64) + y * 3) & 255;
    image.data[i * 4 + 1] = rng.int(0, 256);
    image.data[i * 4 + 2] = (200 - y * 2 + rng.int(0, 32)) & 255;
    image.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(image, { colorType: 2 });
}

/** Writes the world as a v1.0-mini dataset root at `dir` (replacing it). */
export function writeHandWorld(dir: string, scenes: readonly HandScene[], options: HandWorldOptions): void {
  const rng = createRng(options.seed);
  const token = () => Array.from({ length: 32 }, () => '0123456789abcdef'[rng.int(0, 16)]).join('');
  const imageRng = rng.fork('images');
  rmSync(dir, { recursive: true, force: true });
  const tableDir = join(dir, 'v1.0-mini');
  mkdirSync(tableDir, { recursive: true });
  mkdirSync(join(dir, 'maps', 'expansion'), { recursive: true });
  mkdirSync(join(dir, 'can_bus'), { recursive: true });

  const category = CATEGORY_NAMES.map((name, i) => ({
    token: token(),
    name,
    description: name,
    index: i + 1,
  }));
  const categoryToken = new Map(category.map((c) => [c.name, c.token]));
  const visibility = [
    { token: '1', level: 'v0-40', description: 'visibility of whole object is between 0 and 40%' },
    { token: '2', level: 'v40-60', description: 'visibility of whole object is between 40 and 60%' },
    { token: '3', level: 'v60-80', description: 'visibility of whole object is between 60 and 80%' },
    { token: '4', level: 'v80-100', description: 'visibility of whole object is between 80 and 100%' },
  ];
  const channels = [...HAND_CAMERAS, 'LIDAR_TOP'] as const;
  const sensor = channels.map((channel) => ({
    token: token(),
    channel,
    modality: channel === 'LIDAR_TOP' ? 'lidar' : 'camera',
  }));
  const sensorToken = new Map(sensor.map((s) => [s.channel, s.token]));

  const calibrated_sensor: Record<string, unknown>[] = [];
  const ego_pose: Record<string, unknown>[] = [];
  const log: Record<string, unknown>[] = [];
  const scene: Record<string, unknown>[] = [];
  const sample: Record<string, unknown>[] = [];
  const sample_data: Record<string, unknown>[] = [];
  const sample_annotation: Record<string, unknown>[] = [];
  const instance: Record<string, unknown>[] = [];
  const mapLayers = new Map<
    string,
    { node: unknown[]; line: unknown[]; polygon: unknown[]; drivable: unknown[]; dividers: unknown[] }
  >();

  const { imageWidth: W, imageHeight: H } = options;
  const t0Base = 1_532_402_927_000_000;

  scenes.forEach((sc, sceneIndex) => {
    const logToken = token();
    const logfile = `n015-2018-07-2${sceneIndex}-11-22-45+0800`;
    log.push({
      token: logToken,
      logfile,
      vehicle: 'n015',
      date_captured: `2018-07-2${sceneIndex}`,
      location: sc.location,
    });
    // Calibrations of this log's car.
    const calib = new Map<string, string>();
    for (const channel of channels) {
      const t = token();
      calib.set(channel, t);
      if (channel === 'LIDAR_TOP') {
        calibrated_sensor.push({
          token: t,
          sensor_token: sensorToken.get(channel),
          translation: [0.943713, 0.0, 1.84023],
          rotation: quaternionOf(-Math.PI / 2 + 0.004, 0.002, -0.003),
          camera_intrinsic: [],
        });
      } else {
        const yaw = CAMERA_YAW[channel];
        const fx = W * 0.79 + sceneIndex;
        calibrated_sensor.push({
          token: t,
          sensor_token: sensorToken.get(channel),
          translation: [1.5 * Math.cos(yaw) + 0.3, 0.9 * Math.sin(yaw), 1.5 + 0.01 * sceneIndex],
          rotation: cameraRotation(yaw, 0.02 + 0.005 * sceneIndex),
          camera_intrinsic: [
            [fx, 0, W / 2 + 1.37],
            [0, fx, H / 2 - 0.61],
            [0, 0, 1],
          ],
        });
      }
    }

    const sceneToken = token();
    const sampleTokens = Array.from({ length: sc.keyframes }, () => token());
    const t0 = t0Base + sceneIndex * 100_000_000;
    const times = sampleTokens.map((_, k) => t0 + k * 500_000 + (k % 3) * 1_000);
    const prevOfChannel = new Map<string, { row: Record<string, unknown> } | undefined>();
    sampleTokens.forEach((st, k) => {
      sample.push({
        token: st,
        timestamp: times[k],
        prev: k > 0 ? sampleTokens[k - 1] : '',
        next: k + 1 < sc.keyframes ? sampleTokens[k + 1] : '',
        scene_token: sceneToken,
      });
      for (const channel of channels) {
        const delay =
          channel === 'LIDAR_TOP'
            ? 0
            : sc.cameraDelayUs[HAND_CAMERAS.indexOf(channel as (typeof HAND_CAMERAS)[number])];
        const timestamp = times[k] + delay;
        const sdToken = token();
        const pose = toGlobal(sc, sc.ego((timestamp - t0) / 1e6));
        ego_pose.push({ token: sdToken, timestamp, rotation: pose.rotation, translation: pose.translation });
        const isCamera = channel !== 'LIDAR_TOP';
        const filename = isCamera
          ? `samples/${channel}/${logfile}__${channel}__${timestamp}.png`
          : `samples/${channel}/${logfile}__${channel}__${timestamp}.pcd.bin`;
        const row: Record<string, unknown> = {
          token: sdToken,
          sample_token: st,
          ego_pose_token: sdToken,
          calibrated_sensor_token: calib.get(channel),
          timestamp,
          fileformat: isCamera ? 'png' : 'pcd',
          is_key_frame: true,
          height: isCamera ? H : 0,
          width: isCamera ? W : 0,
          filename,
          prev: '',
          next: '',
        };
        const previous = prevOfChannel.get(channel);
        if (previous) {
          row.prev = previous.row.token;
          previous.row.next = sdToken;
        }
        prevOfChannel.set(channel, { row });
        sample_data.push(row);
        if (isCamera && options.images !== false) {
          mkdirSync(join(dir, 'samples', channel), { recursive: true });
          writeFileSync(join(dir, filename), png(W, H, imageRng));
        }
      }
    });
    scene.push({
      token: sceneToken,
      log_token: logToken,
      nbr_samples: sc.keyframes,
      first_sample_token: sampleTokens[0],
      last_sample_token: sampleTokens[sc.keyframes - 1],
      name: sc.name,
      description: `hand-built ${sc.name}`,
    });

    // Annotations: per keyframe, agents in a fixed order.
    const agentTokens = sc.agents.map(() => token());
    const annsOf: string[][] = sc.agents.map(() => []);
    sampleTokens.forEach((st, k) => {
      sc.agents.forEach((agent, a) => {
        const p = agent.at(k);
        if (!p) return;
        const pose = toGlobal(sc, p);
        const annToken = token();
        const list = annsOf[a];
        const row = {
          token: annToken,
          sample_token: st,
          instance_token: agentTokens[a],
          visibility_token: p.visibility ?? '4',
          attribute_tokens: [],
          translation: [pose.translation[0], pose.translation[1], (p.z ?? 0) + agent.size[2] / 2],
          size: agent.size,
          rotation: pose.rotation,
          prev: list.length > 0 ? list[list.length - 1] : '',
          next: '',
          num_lidar_pts: 10,
          num_radar_pts: 0,
        };
        if (list.length > 0) {
          const prevRow = sample_annotation.find((r) => r.token === list[list.length - 1]);
          if (prevRow) prevRow.next = annToken;
        }
        list.push(annToken);
        sample_annotation.push(row);
      });
    });
    sc.agents.forEach((agent, a) => {
      if (annsOf[a].length === 0) return;
      instance.push({
        token: agentTokens[a],
        category_token: categoryToken.get(agent.category),
        nbr_annotations: annsOf[a].length,
        first_annotation_token: annsOf[a][0],
        last_annotation_token: annsOf[a][annsOf[a].length - 1],
      });
    });

    // CAN bus: pose at 50 Hz, steering at 100 Hz, from 0.5 s before the first keyframe to 0.5 s after the last.
    const duration = (sc.keyframes - 1) * 0.5 + 1;
    const poseMessages = [];
    for (let i = 0; i <= duration * 50; i++) {
      const tS = i / 50 - 0.5;
      const p = toGlobal(sc, sc.ego(tS));
      const can = sc.can(tS);
      poseMessages.push({
        utime: Math.round(t0 + tS * 1e6),
        pos: p.translation,
        orientation: p.rotation,
        vel: [can.speedMps, 0.001, -0.002],
        accel: [0.01, -0.02, 9.81],
        rotation_rate: [0, 0, 0],
      });
    }
    const steerMessages = [];
    for (let i = 0; i <= duration * 100; i++) {
      const tS = i / 100 - 0.5;
      steerMessages.push({ utime: Math.round(t0 + tS * 1e6 + 3_000), value: sc.can(tS).steeringRad });
    }
    writeJson(join(dir, 'can_bus', `${sc.name}_pose.json`), poseMessages);
    writeJson(join(dir, 'can_bus', `${sc.name}_steeranglefeedback.json`), steerMessages);
    writeJson(join(dir, 'can_bus', `${sc.name}_meta.json`), { vehicle: 'n015' });

    // Map geometry of this scene, in its location's layers.
    const layers = mapLayers.get(sc.location) ?? {
      node: [],
      line: [],
      polygon: [],
      drivable: [],
      dividers: [],
    };
    mapLayers.set(sc.location, layers);
    const nodeOf = (p: [number, number]) => {
      const [x, y] = pointToGlobal(sc, p);
      const t = token();
      layers.node.push({ token: t, x, y });
      return t;
    };
    const polygonTokens: string[] = [];
    for (const area of sc.map.drivable) {
      const t = token();
      layers.polygon.push({
        token: t,
        exterior_node_tokens: area.exterior.map(nodeOf),
        holes: (area.holes ?? []).map((hole) => ({ node_tokens: hole.map(nodeOf) })),
      });
      polygonTokens.push(t);
    }
    layers.drivable.push({ token: token(), polygon_tokens: polygonTokens });
    for (const divider of sc.map.dividers) {
      const lineToken = token();
      const nodes = divider.map(nodeOf);
      layers.line.push({ token: lineToken, node_tokens: nodes });
      layers.dividers.push({
        token: token(),
        line_token: lineToken,
        lane_divider_segments: nodes.map((n) => ({ node_token: n, segment_type: 'SINGLE_DASHED_WHITE' })),
      });
    }
  });

  for (const location of LOCATIONS) {
    const layers = mapLayers.get(location) ?? { node: [], line: [], polygon: [], drivable: [], dividers: [] };
    writeJson(join(dir, 'maps', 'expansion', `${location}.json`), {
      version: '1.3',
      canvas_edge: CANVAS_EDGE[location],
      node: layers.node,
      line: layers.line,
      polygon: layers.polygon,
      drivable_area: layers.drivable,
      road_segment: [],
      road_block: [],
      lane: [],
      ped_crossing: [],
      walkway: [],
      stop_line: [],
      carpark_area: [],
      road_divider: [],
      lane_divider: layers.dividers,
      traffic_light: [],
      lane_connector: [],
      arcline_path_3: {},
      connectivity: {},
    });
  }
  // The legacy raster the devkit insists on (any 8-bit image will do).
  const legacy = new PNG({ width: 8, height: 8, colorType: 0 });
  writeFileSync(
    join(dir, 'maps', '53992ee3023e5494b90c316c183be829.png'),
    PNG.sync.write(legacy, { colorType: 0 }),
  );
  const map = [
    {
      token: '53992ee3023e5494b90c316c183be829',
      log_tokens: log.map((l) => l.token),
      category: 'semantic_prior',
      filename: 'maps/53992ee3023e5494b90c316c183be829.png',
    },
  ];
  const tables: Record<string, unknown[]> = {
    attribute: [],
    calibrated_sensor,
    category,
    ego_pose,
    instance,
    log,
    map,
    sample,
    sample_annotation,
    sample_data,
    scene,
    sensor,
    visibility,
  };
  for (const [name, rows] of Object.entries(tables)) writeJson(join(tableDir, `${name}.json`), rows);
}

// ------------------------------------------------------------------ the golden world

/** An ego path: straight for `straightS` seconds, then a constant yaw rate, at constant speed. */
function turningPath(speed: number, straightS: number, yawRate: number) {
  return (tS: number): PlanarPose => {
    const wobble = {
      z: 0.05 * Math.sin(1.3 * tS),
      pitch: 0.012 * Math.sin(0.9 * tS + 0.3),
      roll: -0.008 * Math.cos(1.7 * tS),
    };
    if (tS <= straightS || yawRate === 0) return { x: speed * tS, y: 0, yaw: 0, ...wobble };
    const r = speed / yawRate;
    const yaw = yawRate * (tS - straightS);
    return { x: speed * straightS + r * Math.sin(yaw), y: r * (1 - Math.cos(yaw)), yaw, ...wobble };
  };
}

/** A pose `ahead` metres along the path and `left` metres to its left, at time t. */
function alongPath(
  path: (t: number) => PlanarPose,
  tS: number,
  ahead: number,
  left: number,
  speed: number,
): PlanarPose {
  const p = path(tS + ahead / Math.max(speed, 1e-6));
  return { x: p.x - Math.sin(p.yaw) * left, y: p.y + Math.cos(p.yaw) * left, yaw: p.yaw };
}

function goldenAgents(
  path: (t: number) => PlanarPose,
  speed: number,
  rng: Rng,
  keyframes: number,
): HandAgent[] {
  const t = (k: number) => k * 0.5;
  const agents: HandAgent[] = [
    // A car ahead in the lane, always visible.
    {
      category: 'vehicle.car',
      size: [1.9, 4.6, 1.6],
      at: (k) => ({ ...alongPath(path, t(k), 14, 0, speed) }),
    },
    // A parked truck at a fixed spot, rotated.
    {
      category: 'vehicle.truck',
      size: [2.6, 8.2, 3.2],
      at: () => ({ x: 22, y: -7.5, yaw: 0.7, visibility: '3' }),
    },
    // A bicycle crossing from the right (a vehicle for SAD).
    {
      category: 'vehicle.bicycle',
      size: [0.7, 1.8, 1.4],
      at: (k) => ({ x: 9 + 0.4 * k, y: -12 + 2.1 * k, yaw: 1.4, visibility: '2' }),
    },
    // A pedestrian walking, invisible (visibility 1) in keyframe 1 only.
    {
      category: 'human.pedestrian.adult',
      size: [0.7, 0.8, 1.8],
      at: (k) => ({ x: 6 + 0.2 * k, y: 5 - 0.7 * k, yaw: -1.3, visibility: k === 1 ? '1' : '4' }),
    },
    // A child never visible in the past (visibility 1 until keyframe 4): never enters the instance map early.
    {
      category: 'human.pedestrian.child',
      size: [0.5, 0.5, 1.2],
      at: (k) => ({ x: 3, y: 8 + 0.3 * k, yaw: 0, visibility: k < 4 ? '1' : '4' }),
    },
    // A car that first appears at keyframe 4 (future-only for the early windows).
    {
      category: 'vehicle.car',
      size: [1.8, 4.4, 1.5],
      at: (k) => (k >= 4 ? { ...alongPath(path, t(k), -11, 3.5, speed) } : undefined),
    },
    // A car missing from keyframe 2 and back afterwards.
    {
      category: 'vehicle.car',
      size: [1.9, 4.7, 1.6],
      at: (k) => (k === 2 ? undefined : { ...alongPath(path, t(k), 25, -3.5, speed * 0.8) }),
    },
    // An ignored barrier and an ignored bicycle rack ('bicycle' but not 'vehicle').
    { category: 'movable_object.barrier', size: [0.5, 2.0, 1.0], at: () => ({ x: 15, y: 6, yaw: 0.2 }) },
    { category: 'static_object.bicycle_rack', size: [1.0, 5.0, 1.0], at: () => ({ x: -8, y: 7, yaw: 0 }) },
    // A car overlapping the first one (drawn later, wins the overlap).
    {
      category: 'vehicle.car',
      size: [1.9, 4.4, 1.6],
      at: (k) => ({ ...alongPath(path, t(k), 16.5, 1.0, speed), visibility: '3' }),
    },
    // A police car near the grid's front edge (partly outside).
    {
      category: 'vehicle.emergency.police',
      size: [2.0, 5.0, 1.7],
      at: (k) => ({ ...alongPath(path, t(k), 48.5, 0.5, speed) }),
    },
    // A motorcycle just behind, invisible at keyframe 1 only.
    {
      category: 'vehicle.motorcycle',
      size: [0.8, 2.1, 1.4],
      at: (k) => ({ ...alongPath(path, t(k), -7, -0.8, speed), visibility: k === 1 ? '1' : '4' }),
    },
    // A stroller (human) and an animal (ignored).
    {
      category: 'human.pedestrian.stroller',
      size: [0.6, 0.9, 1.1],
      at: (k) => ({ x: -3 + 0.5 * k, y: -9, yaw: 0.1 }),
    },
    { category: 'animal', size: [0.4, 0.9, 0.6], at: (k) => ({ x: 12, y: 9 - 0.2 * k, yaw: 2 }) },
  ];
  // Seeded traffic: cars at random spots, some moving, random visibility.
  for (let i = 0; i < 10; i++) {
    const x0 = rng.uniform(-40, 45);
    const y0 = rng.uniform(-40, 40);
    const yaw = rng.uniform(-Math.PI, Math.PI);
    const v = rng.chance(0.5) ? rng.uniform(0, 6) : 0;
    const vis = Array.from({ length: keyframes }, () => String(rng.int(1, 5)));
    const size: [number, number, number] = [rng.uniform(1.6, 2.2), rng.uniform(3.8, 5.5), 1.6];
    agents.push({
      category: rng.pick([
        'vehicle.car',
        'vehicle.car',
        'vehicle.truck',
        'vehicle.bus.rigid',
        'human.pedestrian.adult',
      ]),
      size,
      at: (k) => ({
        x: x0 + v * t(k) * Math.cos(yaw),
        y: y0 + v * t(k) * Math.sin(yaw),
        yaw,
        visibility: vis[k],
      }),
    });
  }
  return agents;
}

function roadMap(path: (t: number) => PlanarPose, durationS: number, speed: number): HandScene['map'] {
  const left: [number, number][] = [];
  const right: [number, number][] = [];
  const divider: [number, number][] = [];
  const divider2: [number, number][] = [];
  const steps = 24;
  for (let i = 0; i <= steps; i++) {
    const tS = -4 + ((durationS + 10) * i) / steps;
    const off = (d: number) => alongPath(path, tS, 0, d, speed);
    const l = off(7.5);
    const r = off(-7.5);
    left.push([l.x, l.y]);
    right.push([r.x, r.y]);
    const d = off(1.75);
    divider.push([d.x, d.y]);
    const d2 = off(-3.6);
    divider2.push([d2.x, d2.y]);
  }
  return {
    drivable: [
      {
        exterior: [...right, ...left.reverse()],
        holes: [
          [
            [0, 0],
            [5, 0],
            [5, 2],
            [0, 2],
          ].map(([a, l]) => {
            const p = alongPath(path, 2.5, a, 2.5 + l, speed);
            return [p.x, p.y] as [number, number];
          }),
        ],
      },
      // A parking lot off the road.
      {
        exterior: [
          [-20, -30],
          [-5, -30],
          [-5, -12],
          [-20, -12],
        ],
      },
    ],
    dividers: [divider, divider2],
  };
}

/** The world of the golden fixtures: a left turn (Singapore), a right turn (Boston), and a short stop. */
export function goldenScenes(): HandScene[] {
  const rng = createRng('sad-golden-world');
  const leftPath = turningPath(8, 2, 0.28);
  const rightPath = turningPath(6, 1.5, -0.33);
  const stopPath = (tS: number): PlanarPose => ({ x: Math.min(tS, 1.5) * 3, y: 0, yaw: 0.001 * tS });
  return [
    {
      name: 'scene-0061',
      location: 'singapore-onenorth',
      origin: { x: 612.3, y: 1204.7, heading: 2.1 },
      keyframes: 11,
      ego: leftPath,
      can: (tS) => ({ speedMps: 8, steeringRad: tS > 2 ? 0.42 : 0.003 }),
      agents: goldenAgents(leftPath, 8, rng.fork('left'), 11),
      map: roadMap(leftPath, 5, 8),
      cameraDelayUs: [12_000, 21_000, 33_000, 41_000, 47_000, 5_000],
    },
    {
      name: 'scene-0103',
      location: 'boston-seaport',
      origin: { x: 1011.4, y: 1623.9, heading: -0.6 },
      keyframes: 11,
      ego: rightPath,
      can: (tS) => ({ speedMps: 6, steeringRad: tS > 1.5 ? -0.5 : -0.01 }),
      agents: goldenAgents(rightPath, 6, rng.fork('right'), 11),
      map: roadMap(rightPath, 5, 6),
      cameraDelayUs: [9_000, 18_000, 27_000, 36_000, 44_000, 2_000],
    },
    {
      name: 'scene-0553',
      location: 'singapore-queenstown',
      origin: { x: 800.1, y: 900.2, heading: 0.3 },
      keyframes: 6,
      ego: stopPath,
      can: (tS) => ({ speedMps: tS < 1.5 ? 3 : 0, steeringRad: 0 }),
      agents: goldenAgents(stopPath, 3, rng.fork('stop'), 6),
      map: roadMap(turningPath(3, 100, 0), 3, 3),
      cameraDelayUs: [10_000, 20_000, 30_000, 40_000, 45_000, 1_000],
    },
  ];
}

/** Image size of the golden world (small, lossless PNG) and the matching SAD image options. */
export const GOLDEN_IMAGE = { width: 96, height: 54 };
export const GOLDEN_IMAGE_OPTIONS = {
  originalWidth: 96,
  originalHeight: 54,
  resizeScale: 0.5,
  topCrop: 3,
  finalDim: [24, 40] as [number, number],
};

export function writeGoldenWorld(dir: string, options: { images?: boolean } = {}): void {
  writeHandWorld(dir, goldenScenes(), {
    imageWidth: GOLDEN_IMAGE.width,
    imageHeight: GOLDEN_IMAGE.height,
    seed: 'sad-golden-world',
    images: options.images,
  });
}

if (process.argv[1] && resolve(process.argv[1]).endsWith('hand-world.ts') && process.argv[2]) {
  writeGoldenWorld(resolve(process.argv[2]));
  console.log(`wrote the SAD golden world to ${resolve(process.argv[2])}`);
}
