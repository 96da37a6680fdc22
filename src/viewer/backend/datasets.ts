// A nuScenes dataroot opened by the viewer: its scenes and samples, what one sample looks like from the ego (camera
// projections, annotation boxes, ego path) in the flattened ego frame SAD's BEV uses, the HD map around the ego, and
// camera images (downscaled JPEGs, cached).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  categoryColor,
  MAP_LOCATIONS,
  type MapLocation,
  NuScenes,
  NuScenesMap,
  Quaternion,
  transformMatrix,
} from '../../../data-loaders/nuscenes/index.ts';
import { hdmapFrame } from '../../../data-loaders/sad/index.ts';
import { SpikedriveError } from '../../util/index.ts';
import type { BoxView, CameraView, DatasetInfo, SampleView, SceneInfo } from '../api/protocol.ts';

type M4 = number[][];

// 4×4 products of a few rigid transforms: hand-written (three's Matrix4 is column-major and float64 either way).
function mul(a: M4, b: M4): M4 {
  return a.map((row) =>
    [0, 1, 2, 3].map((c) => row[0] * b[0][c] + row[1] * b[1][c] + row[2] * b[2][c] + row[3] * b[3][c]),
  );
}

function apply(m: M4, p: readonly number[]): [number, number, number] {
  return [0, 1, 2].map((r) => m[r][0] * p[0] + m[r][1] * p[1] + m[r][2] * p[2] + m[r][3]) as [
    number,
    number,
    number,
  ];
}

const CAMERA_ORDER = [
  'CAM_FRONT_LEFT',
  'CAM_FRONT',
  'CAM_FRONT_RIGHT',
  'CAM_BACK_LEFT',
  'CAM_BACK',
  'CAM_BACK_RIGHT',
];

/** Release folders under a dataroot (those holding sample.json). */
export function findVersions(dataroot: string): string[] {
  if (!existsSync(dataroot) || !statSync(dataroot).isDirectory()) return [];
  return readdirSync(dataroot)
    .filter((name) => existsSync(join(dataroot, name, 'sample.json')))
    .sort();
}

export class DatasetSession {
  readonly datasetId: string;
  readonly dataroot: string;
  readonly nusc: NuScenes;
  readonly #maps = new Map<MapLocation, NuScenesMap | null>();
  readonly #images = new Map<string, Uint8Array>();
  readonly #info: DatasetInfo;

  private constructor(datasetId: string, dataroot: string, nusc: NuScenes) {
    this.datasetId = datasetId;
    this.dataroot = dataroot;
    this.nusc = nusc;
    const scenes: SceneInfo[] = nusc.scenes.map((scene) => ({
      sceneToken: scene.token,
      name: scene.name,
      description: scene.description,
      samples: [...nusc.sceneSamples(scene.token)].map((s) => ({ token: s.token, timestampUs: s.timestamp })),
    }));
    const mapsFolder = join(dataroot, 'maps', 'expansion');
    this.#info = {
      datasetId,
      dataroot,
      version: nusc.version,
      scenes,
      cameras: CAMERA_ORDER,
      hasMaps: existsSync(mapsFolder),
    };
  }

  /** Opens a dataroot (the version named, or the only/first release found). */
  static async open(datasetId: string, dataroot: string, version?: string): Promise<DatasetSession> {
    const versions = findVersions(dataroot);
    if (versions.length === 0) {
      throw new SpikedriveError(
        `${dataroot} is not a nuScenes dataroot (no release folder with sample.json)`,
        {
          subject: dataroot,
          fix: 'Open the folder that holds v1.0-mini/ or v1.0-trainval/ (and samples/, maps/), e.g. the demo world.',
        },
      );
    }
    const chosen = version ?? versions[0];
    if (!versions.includes(chosen)) {
      throw new SpikedriveError(`${dataroot} has no release ${chosen}`, {
        subject: chosen,
        fix: `Use one of ${versions.join(', ')}.`,
      });
    }
    const nusc = await NuScenes.load({ dataroot, version: chosen, verbose: false });
    return new DatasetSession(datasetId, dataroot, nusc);
  }

  get info(): DatasetInfo {
    return this.#info;
  }

  #sample(token: string) {
    if (!this.nusc.has('sample', token)) {
      throw new SpikedriveError(`sample ${token} is not in ${this.dataroot} (${this.nusc.version})`, {
        subject: `sample#${token}`,
        fix: 'Pick a sample from this dataset’s scene list, or open the dataset the run was made on.',
      });
    }
    return this.nusc.get('sample', token);
  }

  /** The LIDAR_TOP sample_data of a sample (the SAD reference frame). */
  #lidar(token: string): string {
    const sd = this.#sample(token).data?.LIDAR_TOP;
    if (!sd) {
      throw new SpikedriveError(`sample ${token} has no LIDAR_TOP record`, {
        subject: `sample#${token}`,
        fix: 'SAD’s BEV frame is the LIDAR_TOP ego pose; use a dataset with LIDAR_TOP keyframes.',
      });
    }
    return sd;
  }

  /** Flattened ego frame (translation + yaw of the LIDAR_TOP ego pose) ← world. */
  #worldToBev(lidarSd: string): { m: M4; pose: SampleView['egoPose'] } {
    const pose = this.nusc.egoPoseOf(lidarSd);
    const yaw = Quaternion.fromArray(pose.rotation).yawPitchRoll[0];
    const m = transformMatrix(pose.translation, Quaternion.fromYaw(yaw), true) as M4;
    const [x, y, z] = pose.translation;
    return { m, pose: { x, y, z, yawRad: yaw } };
  }

  sampleView(token: string): SampleView {
    const sample = this.#sample(token);
    const lidarSd = this.#lidar(token);
    const { m: worldToBev, pose } = this.#worldToBev(lidarSd);
    const bevToWorld = transformMatrix([pose.x, pose.y, pose.z], Quaternion.fromYaw(pose.yawRad)) as M4;
    const lidarPose = this.nusc.egoPoseOf(lidarSd);
    const lidarCal = this.nusc.calibratedSensorOf(lidarSd);
    const lidarToBev = mul(
      worldToBev,
      mul(
        transformMatrix(lidarPose.translation, Quaternion.fromArray(lidarPose.rotation)) as M4,
        transformMatrix(lidarCal.translation, Quaternion.fromArray(lidarCal.rotation)) as M4,
      ),
    );
    const cameras: CameraView[] = [];
    for (const channel of CAMERA_ORDER) {
      const sd = sample.data?.[channel as keyof typeof sample.data];
      if (!sd) continue;
      const record = this.nusc.get('sample_data', sd);
      const cal = this.nusc.calibratedSensorOf(sd);
      const camPose = this.nusc.egoPoseOf(sd);
      const K = cal.camera_intrinsic as number[][];
      if (!Array.isArray(K) || K.length !== 3) continue;
      const bevToCam = mul(
        transformMatrix(cal.translation, Quaternion.fromArray(cal.rotation), true) as M4,
        mul(
          transformMatrix(camPose.translation, Quaternion.fromArray(camPose.rotation), true) as M4,
          bevToWorld,
        ),
      );
      const P: number[] = [];
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 4; c++)
          P.push(K[r][0] * bevToCam[0][c] + K[r][1] * bevToCam[1][c] + K[r][2] * bevToCam[2][c]);
      }
      cameras.push({
        channel,
        sampleDataToken: sd,
        width: record.width || 1600,
        height: record.height || 900,
        bevToImage: P,
      });
    }
    const boxes: BoxView[] = (sample.anns ?? []).map((ann) => {
      const box = this.nusc.getBox(ann);
      const record = this.nusc.get('sample_annotation', ann);
      const center = apply(worldToBev, box.center);
      const yaw = box.orientation.yawPitchRoll[0] - pose.yawRad;
      const category = record.category_name ?? box.name;
      return {
        annotationToken: ann,
        instanceToken: record.instance_token,
        category,
        center,
        size: [box.wlh[0], box.wlh[1], box.wlh[2]],
        yawRad: Math.atan2(Math.sin(yaw), Math.cos(yaw)),
        rgb: categoryColor(category),
      };
    });
    const egoPath: [number, number][] = [];
    let egoPathIndex = 0;
    for (const s of this.nusc.sceneSamples(sample.scene_token)) {
      const sd = s.data?.LIDAR_TOP;
      if (!sd) continue;
      if (s.token === token) egoPathIndex = egoPath.length;
      const p = apply(worldToBev, this.nusc.egoPoseOf(sd).translation);
      egoPath.push([p[0], p[1]]);
    }
    const scene = this.nusc.get('scene', sample.scene_token);
    return {
      datasetId: this.datasetId,
      token,
      sceneToken: scene.token,
      sceneName: scene.name,
      timestampUs: sample.timestamp,
      egoPose: pose,
      lidarToBev: lidarToBev.flat(),
      cameras,
      boxes,
      egoPath,
      egoPathIndex,
    };
  }

  #map(location: MapLocation): NuScenesMap | null {
    if (!this.#maps.has(location)) {
      const file = join(this.dataroot, 'maps', 'expansion', `${location}.json`);
      this.#maps.set(
        location,
        existsSync(file) ? new NuScenesMap({ dataroot: this.dataroot, mapName: location }) : null,
      );
    }
    return this.#maps.get(location) ?? null;
  }

  /** The HD map around the ego as SAD rasterises it: [2, rows, cols] uint8 (lane divider, drivable area) × 255. */
  sampleMap(
    token: string,
    grid = { xBound: [-50, 50, 0.5] as const, yBound: [-50, 50, 0.5] as const },
  ): Uint8Array {
    const sample = this.#sample(token);
    const location = this.nusc.logOf(sample.scene_token).location;
    const map = (MAP_LOCATIONS as readonly string[]).includes(location)
      ? this.#map(location as MapLocation)
      : null;
    if (!map) {
      throw new SpikedriveError(`no map expansion for ${location} in ${this.dataroot}`, {
        subject: join(this.dataroot, 'maps', 'expansion'),
        fix: 'Extract the nuScenes map expansion (v1.3) into maps/expansion/ to see the HD map layer.',
      });
    }
    const frame = hdmapFrame(map, this.nusc.egoPoseOf(this.#lidar(token)), {
      ...grid,
      hdmapElements: ['lane_divider', 'drivable_area'],
    });
    const out = new Uint8Array(frame.data.length);
    for (let i = 0; i < out.length; i++) out[i] = frame.data[i] ? 255 : 0;
    return out;
  }

  /** The path of a camera blob, checked to lie inside the dataroot (filenames come from the tables). */
  cameraPath(sampleDataToken: string, resolveInside: (path: string) => string): string {
    if (!this.nusc.has('sample_data', sampleDataToken)) {
      throw new SpikedriveError(`sample_data ${sampleDataToken} is not in ${this.dataroot}`, {
        subject: `sample_data#${sampleDataToken}`,
        fix: 'Request a camera of a sample of this dataset.',
      });
    }
    return resolveInside(this.nusc.getSampleDataPath(sampleDataToken));
  }

  /** A camera image as JPEG, scaled down to `maxWidth` (cached, 256 images at most). */
  async cameraImage(path: string, maxWidth: number | undefined): Promise<Uint8Array> {
    const key = `${path}@${maxWidth ?? 0}`;
    const hit = this.#images.get(key);
    if (hit) return hit;
    let bytes: Uint8Array;
    if (maxWidth === undefined) bytes = new Uint8Array(await readFile(path));
    else {
      bytes = new Uint8Array(
        await sharp(path)
          .resize({ width: maxWidth, withoutEnlargement: true })
          .jpeg({ quality: 82 })
          .toBuffer(),
      );
    }
    this.#images.set(key, bytes);
    if (this.#images.size > 256) this.#images.delete(this.#images.keys().next().value as string);
    return bytes;
  }
}
