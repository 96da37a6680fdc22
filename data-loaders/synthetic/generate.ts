// `generateSyntheticDataset`: the whole synthetic nuScenes release. For each of the four real locations it
// builds the town, writes its map expansion, legacy semantic prior and basemap; then for each scene it
// simulates traffic, casts the lidar, renders the six cameras in worker threads (visibility from occlusion
// counts), writes the CAN bus files, and finally all 13 tables and the manifest that marks the folder complete.
// Scenes named in `firstScenes` are produced first and announced with tables of their own (a preview), so a
// viewer can open them while the rest renders; the finished folder is the same bytes either way.
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import {
  createRng,
  type Rng,
  SpikedriveError,
  writeFileAtomic,
  writeJsonAtomic,
} from '../../src/util/index.ts';
import {
  MAP_LOCATIONS,
  type MapLocation,
  type Matrix,
  multiplyMatrices,
  Quaternion,
  type QuaternionWxyz,
  type TableName,
  type TableRecords,
  transformMatrix,
} from '../nuscenes/index.ts';
import { buildCanBus } from './canbus.ts';
import {
  NUSCENES_ATTRIBUTES,
  NUSCENES_CATEGORIES,
  NUSCENES_VISIBILITIES,
  visibilityToken,
} from './classes.ts';
import {
  basemapImage,
  CLASS_INTENSITY,
  GROUND_RESOLUTION_M,
  groundClassAt,
  groundRasterFromClasses,
  paintGroundClasses,
  semanticPriorMask,
} from './ground.ts';
import { castLidarSweep, type LidarBox } from './lidar.ts';
import { buildMapExpansion } from './map-expansion.ts';
import { buildNetwork, type SyntheticNetwork } from './network.ts';
import {
  completeOutput,
  GENERATOR_VERSION,
  prepareOutput,
  type SynthArguments,
  type SynthManifest,
  writePartialMarker,
} from './output.ts';
import {
  type CameraJob,
  type CameraJobResult,
  type CuboidSpec,
  DEFAULT_RENDERER_MODULE,
  sumCameraCounts,
} from './render-job.ts';
import { RenderPool } from './render-pool.ts';
import { IMAGE_HEIGHT, IMAGE_WIDTH, RIG_CAMERAS, RIG_SENSORS, scaledIntrinsic } from './rig.ts';
import { SYNTH_VERSIONS, type SynthVersion, sceneNames } from './scene-names.ts';
import { tokenFactory } from './tokens.ts';
import {
  type AgentTrack,
  agentPoseAt,
  EGO_LENGTH_M,
  EGO_REAR_AXLE_TO_CENTRE_M,
  EGO_WIDTH_M,
  egoStateAt,
  type SimulationResult,
  simulateScene,
} from './traffic.ts';

/** The legacy semantic-prior file names the devkit's BitMap looks up per location. */
export const SEMANTIC_PRIOR_FILES: Record<MapLocation, string> = {
  'singapore-onenorth': '53992ee3023e5494b90c316c183be829',
  'singapore-hollandvillage': '37819e65e09e5547b8a3ceaefba56bb2',
  'singapore-queenstown': '93406b464a165eaba6d9de76ca09f5da',
  'boston-seaport': '36092f0b03a857c6a3403e25b4b7aab3',
};

export const DEFAULT_SAMPLES_PER_SCENE = 40;
/** Agents within this distance (m) of the ego at a keyframe are annotated (their whole track in between). */
export const ANNOTATION_RANGE_M = 60;
/** Cuboids beyond this distance are not drawn (fog hides them anyway). */
const RENDER_RANGE_M = 150;
const KEYFRAME_INTERVAL_S = 0.5;
/** Cuboid ids of buildings start here (agents are numbered from 0). */
const BUILDING_ID_BASE = 1_000_000;
const CAN_MARGIN_S = 0.5;
const SCENES_PER_LOG = 3;
/** The order the tables are written in (the scene table last). */
const TABLE_ORDER: TableName[] = [
  'category',
  'attribute',
  'visibility',
  'sensor',
  'calibrated_sensor',
  'log',
  'map',
  'instance',
  'ego_pose',
  'sample_data',
  'sample_annotation',
  'sample',
  'scene',
];

export interface SynthProgress {
  phase: 'maps' | 'keyframes' | 'tables' | 'done';
  done: number;
  total: number;
}

export interface SynthOptions {
  /** Output folder (the dataroot). */
  out: string;
  scenes: number;
  seed: number;
  samplesPerScene?: number;
  version?: SynthVersion;
  /**
   * Image size as a fraction of 1600×900 (intrinsics scaled to match). Only for fast tests: real tools
   * assume 1600×900, which is the default and what the CLI writes.
   */
  imageScale?: number;
  /** Render worker threads (default: the machine's available parallelism; 0 renders on the main thread). */
  workers?: number;
  /** Replace a complete synthetic dataset made with other arguments. */
  force?: boolean;
  onProgress?: (progress: SynthProgress) => void;
  /** Module URL exporting `renderCamera` and `encodeJpeg` (default: ./render/index.ts). */
  rendererModule?: string;
  jpegQuality?: number;
  /**
   * Scene names to produce first (the locations holding them are processed first). Once they are complete the
   * 13 tables are written holding only the finished scenes and `onPreview` is called; the full tables and the
   * manifest follow at the end, byte-identical to a run without this option.
   */
  firstScenes?: readonly string[];
  /**
   * Called once the `firstScenes` are on disk with tables of their own (not when a complete dataset is reused).
   * The remaining scenes wait until a promise it returns has settled (scenes already in flight go on), so the
   * caller's first work on the preview has the cores, and a reader that opens the preview in it reads the
   * preview's tables, never a mix with the full ones.
   */
  onPreview?: (preview: SynthPreview) => undefined | Promise<unknown>;
  /** Render workers kept busy after the preview (default: all): leaves cores to whoever opened the preview. */
  workersAfterPreview?: number;
}

/** A readable but incomplete dataset: the tables hold `sceneNames` only (no manifest yet). */
export interface SynthPreview {
  dataroot: string;
  version: SynthVersion;
  sceneNames: string[];
}

export interface SynthResult {
  dataroot: string;
  version: SynthVersion;
  sceneNames: string[];
  keyframes: number;
  /** True when an identical complete dataset was already there (nothing was written). */
  reused: boolean;
  /** True when an interrupted or replaced dataset was removed first. */
  cleaned: boolean;
  seconds: number;
}

interface LogPlan {
  key: string;
  location: MapLocation;
  logfile: string;
  vehicle: string;
  dateCaptured: string;
  startUs: number;
  scenes: number[];
}

interface ScenePlan {
  index: number;
  name: string;
  location: MapLocation;
  log: LogPlan;
  firstKeyframeUs: number;
}

type Rows = { [T in TableName]: TableRecords[T][] };

interface SceneRows {
  scene: TableRecords['scene'];
  sample: TableRecords['sample'][];
  sample_data: TableRecords['sample_data'][];
  ego_pose: TableRecords['ego_pose'][];
  sample_annotation: TableRecords['sample_annotation'][];
  instance: TableRecords['instance'][];
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const round = (v: number, digits = 6) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};
const yawQuaternion = (yaw: number): QuaternionWxyz => [
  round(Math.cos(yaw / 2), 9),
  0,
  0,
  round(Math.sin(yaw / 2), 9),
];

function validateOptions(
  options: SynthOptions,
): Required<Pick<SynthOptions, 'samplesPerScene' | 'version' | 'imageScale'>> {
  const version = options.version ?? 'v1.0-mini';
  if (!SYNTH_VERSIONS.includes(version)) {
    throw new SpikedriveError(`cannot generate a synthetic '${String(version)}' release`, {
      subject: '--version',
      fix: `use one of ${SYNTH_VERSIONS.join(', ')} (v1.0-test has no annotations to generate)`,
    });
  }
  const samplesPerScene = options.samplesPerScene ?? DEFAULT_SAMPLES_PER_SCENE;
  if (!Number.isInteger(samplesPerScene) || samplesPerScene < 2 || samplesPerScene > 400) {
    throw new SpikedriveError(
      `--samples-per-scene must be an integer from 2 to 400, got ${samplesPerScene}`,
      {
        subject: '--samples-per-scene',
        fix: 'use 40 (as real nuScenes scenes); SAD needs at least 9 consecutive keyframes per scene',
      },
    );
  }
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 2 ** 31) {
    throw new SpikedriveError(`--seed must be a non-negative integer, got ${options.seed}`, {
      subject: '--seed',
      fix: 'pass an integer such as --seed 0',
    });
  }
  const imageScale = options.imageScale ?? 1;
  if (!(imageScale > 0 && imageScale <= 1)) {
    throw new SpikedriveError(`imageScale must be in (0, 1], got ${imageScale}`, {
      subject: 'imageScale',
      fix: 'leave it at 1 (1600×900 images) outside tests',
    });
  }
  sceneNames(version, options.scenes); // validates the scene count
  return { samplesPerScene, version, imageScale };
}

/** Logs: scenes of one location grouped in threes, each log on its own day, Singapore +0800 and Boston −0400. */
function planLogsAndScenes(
  names: string[],
  samplesPerScene: number,
  rng: Rng,
): { logs: LogPlan[]; scenes: ScenePlan[] } {
  const logs: LogPlan[] = [];
  const scenes: ScenePlan[] = [];
  const current = new Map<MapLocation, LogPlan>();
  const sceneSpacingUs = Math.round((samplesPerScene * KEYFRAME_INTERVAL_S + 12) * 1e6);
  names.forEach((name, index) => {
    const location = sceneLocation(index);
    let log = current.get(location);
    if (!log || log.scenes.length >= SCENES_PER_LOG) {
      const logIndex = logs.length;
      const singapore = location.startsWith('singapore');
      const day = new Date(Date.UTC(2018, 6, 23 + logIndex * 2));
      const hour = 8 + ((logIndex * 5) % 10);
      const minute = rng.int(0, 60);
      const second = rng.int(0, 60);
      const tzHours = singapore ? 8 : -4;
      const date = `${day.getUTCFullYear()}-${pad(day.getUTCMonth() + 1)}-${pad(day.getUTCDate())}`;
      const vehicle = singapore ? 'n015' : 'n008';
      const startMs =
        Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hour, minute, second) -
        tzHours * 3600_000;
      log = {
        key: `log-${logIndex}`,
        location,
        logfile: `${vehicle}-${date}-${pad(hour)}-${pad(minute)}-${pad(second)}${singapore ? '+0800' : '-0400'}`,
        vehicle,
        dateCaptured: date,
        startUs: startMs * 1000 + rng.int(0, 1_000_000),
        scenes: [],
      };
      logs.push(log);
      current.set(location, log);
    }
    const firstKeyframeUs =
      log.startUs + 15_000_000 + log.scenes.length * sceneSpacingUs + rng.int(0, 2_000_000);
    log.scenes.push(index);
    scenes.push({ index, name, location, log, firstKeyframeUs });
  });
  return { logs, scenes };
}

/** The town of a location in the world of `seed` (as `generateSyntheticDataset` builds it). */
export function worldNetwork(seed: number, location: MapLocation): SyntheticNetwork {
  return buildNetwork(location, createRng(`spikedrive-synth/${seed}/network/${location}`));
}

/** The location of scene `index`: the four real maps in turn. */
export function sceneLocation(index: number): MapLocation {
  return MAP_LOCATIONS[index % MAP_LOCATIONS.length];
}

/** The traffic simulation of scene `index` in the world of `seed` (as `generateSyntheticDataset` runs it). */
export function simulateWorldScene(
  seed: number,
  network: SyntheticNetwork,
  index: number,
  samplesPerScene: number,
): SimulationResult {
  return simulateScene({
    network,
    rng: createRng(`spikedrive-synth/${seed}/scene/${index}/sim`),
    sceneIndex: index,
    durationS: (samplesPerScene - 1) * KEYFRAME_INTERVAL_S,
  });
}

function egoToGlobalMatrix(x: number, y: number, yaw: number): Matrix {
  return transformMatrix([x, y, 0], Quaternion.fromYaw(yaw));
}

/** Turns of the ego over a scene, from its heading: each ±60° of accumulated heading change is one turn. */
function describeTurns(sim: SimulationResult, durationS: number): string[] {
  const turns: string[] = [];
  let accumulated = 0;
  let previous = egoStateAt(sim, 0).yaw;
  for (let t = 0.25; t <= durationS + 1e-9; t += 0.25) {
    const yaw = egoStateAt(sim, t).yaw;
    let d = yaw - previous;
    while (d > Math.PI) d -= 2 * Math.PI;
    while (d < -Math.PI) d += 2 * Math.PI;
    accumulated += d;
    previous = yaw;
    if (Math.abs(accumulated) > Math.PI / 3) {
      turns.push(accumulated > 0 ? 'left turn' : 'right turn');
      accumulated = 0;
    }
  }
  return turns;
}

function attributeName(track: AgentTrack, speed: number): string {
  switch (track.kind) {
    case 'parked':
      return 'vehicle.parked';
    case 'motorcycle':
    case 'bicycle':
      return 'cycle.with_rider';
    case 'pedestrian':
      return speed > 0.2 ? 'pedestrian.moving' : 'pedestrian.standing';
    default:
      return speed > 0.3 ? 'vehicle.moving' : 'vehicle.stopped';
  }
}

const LIDAR_INTENSITY: Record<string, number> = {
  car: 42,
  parked: 42,
  truck: 55,
  bus: 50,
  motorcycle: 30,
  bicycle: 22,
  pedestrian: 14,
};

/** Generates (or reuses) a complete synthetic nuScenes dataset folder. */
export async function generateSyntheticDataset(options: SynthOptions): Promise<SynthResult> {
  const started = performance.now();
  const { samplesPerScene, version, imageScale } = validateOptions(options);
  const out = resolve(options.out);
  const args: SynthArguments = {
    version,
    scenes: options.scenes,
    seed: options.seed,
    samplesPerScene,
    imageScale,
  };
  const named = sceneNames(version, options.scenes);
  const firstScenes = options.firstScenes ?? [];
  for (const name of firstScenes) {
    if (!named.some((s) => s.name === name)) {
      throw new SpikedriveError(`firstScenes names ${name}, which this world does not hold`, {
        subject: 'firstScenes',
        fix: `name scenes of this world: ${named.map((s) => s.name).join(', ')}`,
      });
    }
  }
  const state = prepareOutput(out, args, options.force ?? false);
  const totalKeyframes = options.scenes * samplesPerScene;
  if (state.kind === 'reuse') {
    options.onProgress?.({ phase: 'done', done: totalKeyframes, total: totalKeyframes });
    return {
      dataroot: out,
      version,
      sceneNames: state.manifest.sceneNames,
      keyframes: totalKeyframes,
      reused: true,
      cleaned: false,
      seconds: (performance.now() - started) / 1000,
    };
  }
  await writePartialMarker(out, args);

  const rng = createRng(`spikedrive-synth/${options.seed}`);
  const token = tokenFactory(`spikedrive-synth/${options.seed}/${version}`);
  const { logs, scenes } = planLogsAndScenes(
    named.map((s) => s.name),
    samplesPerScene,
    rng.fork('logs'),
  );
  const width = Math.round(IMAGE_WIDTH * imageScale);
  const height = Math.round(IMAGE_HEIGHT * imageScale);
  const workers = options.workers ?? Math.max(1, availableParallelism());
  const pool = new RenderPool(workers, options.rendererModule ?? DEFAULT_RENDERER_MODULE);
  const jpegQuality = options.jpegQuality ?? 85;

  // Tokens of the fixed tables.
  const categoryToken = (name: string) => token(`category/${name}`);
  const attributeToken = (name: string) => token(`attribute/${name}`);
  const sensorToken = (channel: string) => token(`sensor/${channel}`);
  const calibratedToken = (log: LogPlan, channel: string) => token(`calibrated_sensor/${log.key}/${channel}`);
  const logToken = (log: LogPlan) => token(`log/${log.key}`);

  const sensorToEgo = new Map(
    RIG_SENSORS.map((s) => [s.channel, transformMatrix(s.translation, Quaternion.fromArray(s.rotation))]),
  );
  const sceneRows: SceneRows[] = new Array(scenes.length);
  let keyframesDone = 0;
  const progress = (phase: SynthProgress['phase'], done: number, total: number) =>
    options.onProgress?.({ phase, done, total });

  // Scenes wanted first: their locations go first (one location's ground raster is in the pool at a time), and
  // within a location they go first too; rows are stored by scene index, so the tables come out the same.
  const first = new Set(firstScenes);
  const isFirst = (plan: ScenePlan) => first.has(plan.name);
  const locationOrder = [...MAP_LOCATIONS].sort(
    (a, b) =>
      Number(scenes.some((s) => s.location === b && isFirst(s))) -
      Number(scenes.some((s) => s.location === a && isFirst(s))),
  );
  const mapsWritten = new Set<MapLocation>();
  let previewed = first.size === 0;
  const previewIfReady = async () => {
    if (previewed || !scenes.every((s) => !isFirst(s) || sceneRows[s.index])) return;
    previewed = true;
    await writeTables(sceneRows.filter((r) => r !== undefined));
    if (options.workersAfterPreview !== undefined) pool.limitWorkers(options.workersAfterPreview);
    // The rest waits for the caller's first work on the preview (a failure there is its own: the generation goes on).
    await Promise.resolve(
      options.onPreview?.({
        dataroot: out,
        version,
        sceneNames: scenes.filter((s) => sceneRows[s.index]).map((s) => s.name),
      }),
    ).catch(() => {});
  };

  try {
    for (const [li, location] of locationOrder.entries()) {
      progress('maps', li, MAP_LOCATIONS.length);
      const network = worldNetwork(options.seed, location);
      const locationScenes = scenes
        .filter((s) => s.location === location)
        .sort((a, b) => Number(isFirst(b)) - Number(isFirst(a)));
      if (locationScenes.length === 0) {
        await writeLocationMaps(network, location);
        continue;
      }

      // Surface classes at 0.1 m: lidar intensities and (at full image size) the cameras' ground texture.
      const classes = paintGroundClasses(network);

      // The cameras' ground texture: 0.1 m for full-size images; reduced images (tests) need less detail.
      const cameraResolutionM = Math.min(0.5, GROUND_RESOLUTION_M / imageScale);
      const raster = groundRasterFromClasses(
        cameraResolutionM === GROUND_RESOLUTION_M ? classes : paintGroundClasses(network, cameraResolutionM),
        pool.workerCount > 0,
      );
      await pool.drain();
      pool.setGround(raster);
      const inFlight: Array<Promise<void>> = [];
      let maps: Promise<void> | null = null;
      for (const plan of locationScenes) {
        if (inFlight.length >= 2) await inFlight.shift();
        inFlight.push(
          runScene(plan, network, classes).then(async (rows) => {
            sceneRows[plan.index] = rows;
            await maps;
            await previewIfReady();
          }),
        );
        // The maps are written while the first scene's cameras render (they need the ground, not the maps).
        if (!maps) {
          maps = writeLocationMaps(network, location);
          maps.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
        }
      }
      await maps;
      await Promise.all(inFlight);
    }
    progress('maps', MAP_LOCATIONS.length, MAP_LOCATIONS.length);
  } finally {
    await pool.close();
  }

  // The 13 tables, then the manifest.
  progress('tables', 0, 1);
  const rows = await writeTables(sceneRows);
  const manifest: SynthManifest = {
    format: 'spikedrive-synth',
    generatorVersion: GENERATOR_VERSION,
    arguments: args,
    sceneNames: scenes.map((s) => s.name),
    counts: Object.fromEntries(TABLE_ORDER.map((t) => [t, (rows[t] as unknown[]).length])),
  };
  await completeOutput(out, manifest);
  progress('tables', 1, 1);
  progress('done', totalKeyframes, totalKeyframes);
  return {
    dataroot: out,
    version,
    sceneNames: manifest.sceneNames,
    keyframes: totalKeyframes,
    reused: false,
    cleaned: state.cleaned,
    seconds: (performance.now() - started) / 1000,
  };

  // ---------------------------------------------------------------------------------------------------
  /** A location's map expansion, legacy semantic prior and basemap. */
  async function writeLocationMaps(network: SyntheticNetwork, location: MapLocation): Promise<void> {
    const { json } = buildMapExpansion(network, `spikedrive-synth/${options.seed}`);
    await writeFileAtomic(join(out, 'maps', 'expansion', `${location}.json`), JSON.stringify(json));
    const prior = semanticPriorMask(network);
    await writeFileAtomic(
      join(out, 'maps', `${SEMANTIC_PRIOR_FILES[location]}.png`),
      // 8-bit grey as the real masks ('L' mode); sharp would otherwise widen one channel to RGB.
      await sharp(prior.classes, { raw: { width: prior.width, height: prior.height, channels: 1 } })
        .toColourspace('b-w')
        .png({ compressionLevel: 6 })
        .toBuffer(),
    );
    const basemap = basemapImage(network);
    await writeFileAtomic(
      join(out, 'maps', 'basemap', `${location}.png`),
      await sharp(basemap.rgb, { raw: { width: basemap.width, height: basemap.height, channels: 3 } })
        .png({ compressionLevel: 6 })
        .toBuffer(),
    );
    mapsWritten.add(location);
  }

  /**
   * The 13 tables holding `done` (scene rows in scene order), each written atomically; returns their rows. Logs
   * (and their sensors) of scenes not done yet, and maps not written yet, are left out: the devkit opens every map
   * the table lists. With every scene done this is the whole release.
   */
  async function writeTables(done: readonly SceneRows[]): Promise<Rows> {
    const doneLogs = new Set(done.map((s) => s.scene.log_token));
    const keptLogs = logs.filter((log) => doneLogs.has(logToken(log)));
    const rows: Rows = {
      category: NUSCENES_CATEGORIES.map((c) => ({
        token: categoryToken(c.name),
        name: c.name,
        description: c.description,
      })),
      attribute: NUSCENES_ATTRIBUTES.map((a) => ({
        token: attributeToken(a.name),
        name: a.name,
        description: a.description,
      })),
      visibility: NUSCENES_VISIBILITIES.map((v) => ({
        token: v.token,
        level: v.level,
        description: v.description,
      })),
      instance: [],
      sensor: RIG_SENSORS.map((s) => ({
        token: sensorToken(s.channel),
        channel: s.channel,
        modality: s.modality,
      })),
      calibrated_sensor: keptLogs.flatMap((log) =>
        RIG_SENSORS.map((s) => ({
          token: calibratedToken(log, s.channel),
          sensor_token: sensorToken(s.channel),
          translation: s.translation,
          rotation: s.rotation,
          camera_intrinsic: s.intrinsic.length === 0 ? [] : scaledIntrinsic(s.intrinsic, imageScale),
        })),
      ),
      ego_pose: [],
      log: keptLogs.map((log) => ({
        token: logToken(log),
        logfile: log.logfile,
        vehicle: log.vehicle,
        date_captured: log.dateCaptured,
        location: log.location,
      })),
      scene: [],
      sample: [],
      sample_data: [],
      sample_annotation: [],
      map: MAP_LOCATIONS.filter((location) => mapsWritten.has(location)).map((location) => ({
        token: token(`map/${location}`),
        log_tokens: keptLogs.filter((l) => l.location === location).map(logToken),
        category: 'semantic_prior',
        filename: `maps/${SEMANTIC_PRIOR_FILES[location]}.png`,
      })),
    };
    for (const s of done) {
      rows.scene.push(s.scene);
      rows.sample.push(...s.sample);
      rows.sample_data.push(...s.sample_data);
      rows.ego_pose.push(...s.ego_pose);
      rows.sample_annotation.push(...s.sample_annotation);
      rows.instance.push(...s.instance);
    }
    for (const table of TABLE_ORDER) {
      const list = rows[table] as unknown[];
      const body = list.length === 0 ? '[]\n' : `[\n${list.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
      await writeFileAtomic(join(out, version, `${table}.json`), body);
    }
    return rows;
  }

  /** One scene: simulate, write lidar + CAN, submit the cameras; resolves when every image is written. */
  async function runScene(
    plan: ScenePlan,
    network: SyntheticNetwork,
    classes: ReturnType<typeof paintGroundClasses>,
  ): Promise<SceneRows> {
    const sceneRng = rng.fork(`scene/${plan.index}`);
    const sim = simulateWorldScene(options.seed, network, plan.index, samplesPerScene);
    const jitterRng = sceneRng.fork('timing');
    const keyframeS = Array.from({ length: samplesPerScene }, (_, k) =>
      k === 0 ? 0 : k * KEYFRAME_INTERVAL_S + jitterRng.int(-2000, 2001) / 1e6,
    );
    const us = (t: number) => plan.firstKeyframeUs + Math.round(t * 1e6);
    const sceneToken = token(`scene/${plan.index}`);
    const sampleTokens = keyframeS.map((_, k) => token(`sample/${plan.index}/${k}`));
    const sdToken = (k: number, channel: string) => token(`sample_data/${plan.index}/${k}/${channel}`);
    const rowsOut: SceneRows = {
      scene: {
        token: sceneToken,
        name: plan.name,
        description: '',
        log_token: logToken(plan.log),
        nbr_samples: samplesPerScene,
        first_sample_token: sampleTokens[0],
        last_sample_token: sampleTokens[samplesPerScene - 1],
      },
      sample: [],
      sample_data: [],
      ego_pose: [],
      sample_annotation: [],
      instance: [],
    };

    // Buildings: static boxes that occlude (ids from BUILDING_ID_BASE, never annotated).
    const buildingBoxes: LidarBox[] = network.buildings.map((b, i) => ({
      id: BUILDING_ID_BASE + i,
      center: [b.x, b.y, b.heightM / 2],
      wlh: [b.widthM, b.lengthM, b.heightM],
      yaw: b.yaw,
      intensity: 30,
    }));
    const buildingCuboids: CuboidSpec[] = network.buildings.map((b, i) => ({
      id: BUILDING_ID_BASE + i,
      center: [b.x, b.y, b.heightM / 2],
      wlh: [b.widthM, b.lengthM, b.heightM],
      rotation: [Math.cos(b.yaw / 2), 0, 0, Math.sin(b.yaw / 2)],
      colorRgb: b.colorRgb,
    }));

    // Which agents get annotated: those within range at some keyframe, from their first to last such keyframe.
    const agents = sim.agents;
    const posesAtKeyframe = keyframeS.map((t) => agents.map((a) => agentPoseAt(sim, a, t)));
    const egoAtKeyframe = keyframeS.map((t) => egoStateAt(sim, t));
    const annotatedRange = new Map<number, [number, number]>();
    agents.forEach((_agent, ai) => {
      let first = -1;
      let last = -1;
      for (let k = 0; k < samplesPerScene; k++) {
        const pose = posesAtKeyframe[k][ai];
        if (!pose) continue;
        const ego = egoAtKeyframe[k];
        if (Math.hypot(pose.x - ego.x, pose.y - ego.y) <= ANNOTATION_RANGE_M) {
          if (first < 0) first = k;
          last = k;
        }
      }
      if (first >= 0) annotatedRange.set(ai, [first, last]);
    });

    // Keyframes: lidar here, cameras in the pool.
    const lidarHits: Array<Map<number, number>> = [];
    const cameraResults: Array<Promise<CameraJobResult[]>> = [];
    const writes: Array<Promise<void>> = [];
    const lidarToEgo = sensorToEgo.get('LIDAR_TOP')!;
    for (let k = 0; k < samplesPerScene; k++) {
      const tLidar = keyframeS[k];
      const ego = egoAtKeyframe[k];
      const egoToGlobal = egoToGlobalMatrix(ego.x, ego.y, ego.yaw);
      const boxes: LidarBox[] = buildingBoxes.filter(
        (b) => Math.hypot(b.center[0] - ego.x, b.center[1] - ego.y) < RENDER_RANGE_M,
      );
      agents.forEach((agent, ai) => {
        const pose = posesAtKeyframe[k][ai];
        if (!pose) return;
        boxes.push({
          id: ai,
          center: [pose.x, pose.y, agent.wlh[2] / 2],
          wlh: agent.wlh,
          yaw: pose.yaw,
          intensity: LIDAR_INTENSITY[agent.kind],
        });
      });
      const sweep = castLidarSweep({
        sensorToGlobal: multiplyMatrices(egoToGlobal, lidarToEgo),
        sensorToEgo: lidarToEgo,
        boxes,
        groundIntensity: (x, y) => CLASS_INTENSITY[groundClassAt(classes, x, y)],
        egoBody: {
          xMin: EGO_REAR_AXLE_TO_CENTRE_M - EGO_LENGTH_M / 2,
          xMax: EGO_REAR_AXLE_TO_CENTRE_M + EGO_LENGTH_M / 2,
          halfWidth: EGO_WIDTH_M / 2,
        },
      });
      lidarHits.push(sweep.hitsPerBox);
      const lidarFile = `samples/LIDAR_TOP/${plan.log.logfile}__LIDAR_TOP__${us(tLidar)}.pcd.bin`;
      writes.push(writeFileAtomic(join(out, lidarFile), new Uint8Array(sweep.points.buffer)));

      const jobs: Array<Promise<CameraJobResult>> = [];
      for (const camera of RIG_CAMERAS) {
        const t = tLidar + camera.offsetUs / 1e6;
        const egoCam = egoStateAt(sim, t);
        const cameraToGlobal = multiplyMatrices(
          egoToGlobalMatrix(egoCam.x, egoCam.y, egoCam.yaw),
          sensorToEgo.get(camera.channel)!,
        );
        const cuboids: CuboidSpec[] = buildingCuboids.filter(
          (b) => Math.hypot(b.center[0] - egoCam.x, b.center[1] - egoCam.y) < RENDER_RANGE_M,
        );
        agents.forEach((agent, ai) => {
          const pose = agentPoseAt(sim, agent, t);
          if (!pose || Math.hypot(pose.x - egoCam.x, pose.y - egoCam.y) > RENDER_RANGE_M) return;
          cuboids.push({
            id: ai,
            center: [pose.x, pose.y, agent.wlh[2] / 2],
            wlh: agent.wlh,
            rotation: [Math.cos(pose.yaw / 2), 0, 0, Math.sin(pose.yaw / 2)],
            colorRgb: agent.colorRgb,
          });
        });
        const file = `samples/${camera.channel}/${plan.log.logfile}__${camera.channel}__${us(t)}.jpg`;
        const job: CameraJob = {
          path: join(out, file),
          width,
          height,
          intrinsic: scaledIntrinsic(camera.intrinsic, imageScale),
          cameraToGlobal,
          cuboids,
          jpegQuality,
        };
        jobs.push(pool.render(job));
        rowsOut.sample_data.push({
          token: sdToken(k, camera.channel),
          sample_token: sampleTokens[k],
          ego_pose_token: sdToken(k, camera.channel),
          calibrated_sensor_token: calibratedToken(plan.log, camera.channel),
          filename: file,
          fileformat: 'jpg',
          width,
          height,
          timestamp: us(t),
          is_key_frame: true,
          prev: k > 0 ? sdToken(k - 1, camera.channel) : '',
          next: k + 1 < samplesPerScene ? sdToken(k + 1, camera.channel) : '',
        });
        rowsOut.ego_pose.push({
          token: sdToken(k, camera.channel),
          translation: [round(egoCam.x), round(egoCam.y), 0],
          rotation: yawQuaternion(egoCam.yaw),
          timestamp: us(t),
        });
      }
      cameraResults.push(
        Promise.all(jobs).then((results) => {
          keyframesDone++;
          progress('keyframes', keyframesDone, totalKeyframes);
          return results;
        }),
      );
      rowsOut.sample_data.push({
        token: sdToken(k, 'LIDAR_TOP'),
        sample_token: sampleTokens[k],
        ego_pose_token: sdToken(k, 'LIDAR_TOP'),
        calibrated_sensor_token: calibratedToken(plan.log, 'LIDAR_TOP'),
        filename: lidarFile,
        fileformat: 'pcd',
        width: 0,
        height: 0,
        timestamp: us(tLidar),
        is_key_frame: true,
        prev: k > 0 ? sdToken(k - 1, 'LIDAR_TOP') : '',
        next: k + 1 < samplesPerScene ? sdToken(k + 1, 'LIDAR_TOP') : '',
      });
      rowsOut.ego_pose.push({
        token: sdToken(k, 'LIDAR_TOP'),
        translation: [round(ego.x), round(ego.y), 0],
        rotation: yawQuaternion(ego.yaw),
        timestamp: us(tLidar),
      });
      rowsOut.sample.push({
        token: sampleTokens[k],
        timestamp: us(tLidar),
        prev: k > 0 ? sampleTokens[k - 1] : '',
        next: k + 1 < samplesPerScene ? sampleTokens[k + 1] : '',
        scene_token: sceneToken,
      });
    }

    // CAN bus, consistent with the ego poses.
    const can = buildCanBus(
      sim,
      plan.firstKeyframeUs,
      -CAN_MARGIN_S,
      keyframeS[samplesPerScene - 1] + CAN_MARGIN_S,
    );
    for (const [message, body] of Object.entries(can)) {
      writes.push(writeJsonAtomic(join(out, 'can_bus', `${plan.name}_${message}.json`), body, 0));
    }

    // Visibility from the six cameras of each keyframe, then the annotations.
    const perKeyframe = await Promise.all(cameraResults);
    await Promise.all(writes);
    const annotationToken = (k: number, ai: number) => token(`sample_annotation/${plan.index}/${k}/${ai}`);
    let vehicles = 0;
    let people = 0;
    for (const [ai, [first, last]] of [...annotatedRange.entries()].sort((a, b) => a[0] - b[0])) {
      const agent = agents[ai];
      if (agent.category.startsWith('human')) people++;
      else vehicles++;
      const instanceToken = token(`instance/${plan.index}/${ai}`);
      rowsOut.instance.push({
        token: instanceToken,
        category_token: categoryToken(agent.category),
        nbr_annotations: last - first + 1,
        first_annotation_token: annotationToken(first, ai),
        last_annotation_token: annotationToken(last, ai),
      });
    }
    for (let k = 0; k < samplesPerScene; k++) {
      const seen = sumCameraCounts(perKeyframe[k]);
      for (const [ai, [first, last]] of [...annotatedRange.entries()].sort((a, b) => a[0] - b[0])) {
        if (k < first || k > last) continue;
        const agent = agents[ai];
        const pose = posesAtKeyframe[k][ai]!;
        const [visible, unoccluded] = seen.get(ai) ?? [0, 0];
        rowsOut.sample_annotation.push({
          token: annotationToken(k, ai),
          sample_token: sampleTokens[k],
          instance_token: token(`instance/${plan.index}/${ai}`),
          visibility_token: visibilityToken(unoccluded > 0 ? visible / unoccluded : 0),
          attribute_tokens: [attributeToken(attributeName(agent, pose.speed))],
          translation: [round(pose.x), round(pose.y), round(agent.wlh[2] / 2)],
          size: agent.wlh,
          rotation: yawQuaternion(pose.yaw),
          prev: k > first ? annotationToken(k - 1, ai) : '',
          next: k < last ? annotationToken(k + 1, ai) : '',
          num_lidar_pts: lidarHits[k].get(ai) ?? 0,
          num_radar_pts: 0,
        });
      }
    }
    const turns = describeTurns(sim, keyframeS[samplesPerScene - 1]);
    rowsOut.scene.description = `Synthetic ${plan.location}, ${network.driveOnLeft ? 'left' : 'right'}-hand traffic; ego: ${
      turns.length > 0 ? turns.join(', ') : 'straight on'
    }; ${vehicles} vehicles, ${people} pedestrians`;
    return rowsOut;
  }
}
