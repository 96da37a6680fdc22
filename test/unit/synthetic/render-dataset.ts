// A tiny nuScenes-format dataset written on the fly for the sample-renderer tests: one scene of three
// keyframes, the six cameras (images drawn by the synthetic rasteriser) plus LIDAR_TOP, a car ahead and
// a pedestrian to the left. Only what the devkit port needs to load it (nuscenes.md §4).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  multiplyMatrices,
  Quaternion,
  transformMatrix,
} from '../../../data-loaders/nuscenes/geometry/index.ts';
import type { Vec3 } from '../../../data-loaders/nuscenes/types.ts';
import { encodeJpeg, renderCamera } from '../../../data-loaders/synthetic/render/index.ts';
import { CAMERA_ORDER, cameraRotation, intrinsic, streetGround } from './render-fixtures.ts';

const hexToken = (n: number) => n.toString(16).padStart(32, '0');
let next = 1;
const token = () => hexToken(next++);

const RIG: Record<string, { t: Vec3; yawDeg: number; fx: number }> = {
  CAM_FRONT: { t: [1.7, 0.016, 1.511], yawDeg: 0, fx: 1266.4 },
  CAM_FRONT_RIGHT: { t: [1.551, -0.493, 1.496], yawDeg: -55, fx: 1260.8 },
  CAM_FRONT_LEFT: { t: [1.521, 0.495, 1.51], yawDeg: 55, fx: 1272.6 },
  CAM_BACK: { t: [0.028, 0.004, 1.58], yawDeg: 180, fx: 809.2 },
  CAM_BACK_LEFT: { t: [1.036, 0.485, 1.591], yawDeg: 110, fx: 1256.7 },
  CAM_BACK_RIGHT: { t: [1.015, -0.48, 1.562], yawDeg: -110, fx: 1259.5 },
};

export interface TinyDataset {
  dataroot: string;
  version: 'v1.0-mini';
  sampleTokens: string[];
  /** Ego x (east) per sample; ego y = −1.75, yaw 0. */
  egoX: number[];
  carAnnTokens: string[];
  /** camera channel → image path of the middle sample. */
  middleImages: Record<string, string>;
}

/** The car 15 m ahead of the ego in its lane and a pedestrian 8 m to the left, at every sample. */
export async function writeTinyDataset(dataroot: string, imageWidth = 800): Promise<TinyDataset> {
  next = 1;
  const version = 'v1.0-mini';
  const w = imageWidth;
  const h = Math.round((w * 9) / 16);
  const scale = w / 1600;
  mkdirSync(join(dataroot, version), { recursive: true });
  mkdirSync(join(dataroot, 'maps'), { recursive: true });
  const logfile = 'n015-2018-07-24-11-22-45+0800';
  const categories = [
    { token: token(), name: 'vehicle.car', description: '' },
    { token: token(), name: 'human.pedestrian.adult', description: '' },
  ];
  const visibility = ['v0-40', 'v40-60', 'v60-80', 'v80-100'].map((level, i) => ({
    token: String(i + 1),
    level,
    description: '',
  }));
  const channels = [...CAMERA_ORDER, 'LIDAR_TOP'] as const;
  const sensors = channels.map((channel) => ({
    token: token(),
    channel,
    modality: channel === 'LIDAR_TOP' ? 'lidar' : 'camera',
  }));
  const calibrated = channels.map((channel, i): CalibratedRow => {
    if (channel === 'LIDAR_TOP') {
      return {
        token: token(),
        sensor_token: sensors[i].token,
        translation: [0.94, 0, 1.84],
        rotation: Quaternion.fromYaw(-Math.PI / 2).elements,
        camera_intrinsic: [],
      };
    }
    const r = RIG[channel];
    return {
      token: token(),
      sensor_token: sensors[i].token,
      translation: r.t,
      rotation: cameraRotation((r.yawDeg * Math.PI) / 180).elements,
      camera_intrinsic: intrinsic(r.fx * scale, 800 * scale, 450 * scale),
    };
  });
  const log = {
    token: token(),
    logfile,
    vehicle: 'n015',
    date_captured: '2018-07-24',
    location: 'singapore-onenorth',
  };
  const mapToken = token();
  const mapFile = 'maps/53992ee3023e5494b90c316c183be829.png';
  await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ffffff' } })
    .png()
    .toFile(join(dataroot, mapFile));
  const map = [{ token: mapToken, log_tokens: [log.token], category: 'semantic_prior', filename: mapFile }];
  const sceneToken = token();
  const instances = categories.map((c) => ({
    token: token(),
    category_token: c.token,
    nbr_annotations: 3,
    first_annotation_token: '',
    last_annotation_token: '',
  }));
  const egoX = [0, 2.5, 5];
  const t0 = 1532402927647951;
  const sampleTokens = egoX.map(() => token());
  const samples = sampleTokens.map((tok, i) => ({
    token: tok,
    timestamp: t0 + i * 500_000,
    scene_token: sceneToken,
    prev: i > 0 ? sampleTokens[i - 1] : '',
    next: i < 2 ? sampleTokens[i + 1] : '',
  }));
  const sampleData: Record<string, unknown>[] = [];
  const egoPoses: Record<string, unknown>[] = [];
  const annotations: Record<string, unknown>[] = [];
  const carAnnTokens: string[] = [];
  const middleImages: Record<string, string> = {};
  const ground = streetGround();
  const sdTokens = channels.map(() => egoX.map(() => token()));
  for (let s = 0; s < 3; s++) {
    const ego: Vec3 = [egoX[s], -1.75, 0];
    const car = { center: [ego[0] + 15, -1.75, 0.8] as Vec3, size: [1.9, 4.6, 1.6] as Vec3 };
    const ped = { center: [ego[0] + 2, 6.25, 0.9] as Vec3, size: [0.6, 0.7, 1.8] as Vec3 };
    const annTokens = [token(), token()];
    carAnnTokens.push(annTokens[0]);
    [car, ped].forEach((a, k) => {
      annotations.push({
        token: annTokens[k],
        sample_token: sampleTokens[s],
        instance_token: instances[k].token,
        attribute_tokens: [],
        visibility_token: '4',
        translation: a.center,
        size: a.size,
        rotation: [1, 0, 0, 0],
        num_lidar_pts: 10,
        num_radar_pts: 0,
        prev: '',
        next: '',
      });
    });
    // Drawn in neutral colours, so coloured pixels in the figure come from the box overlays.
    const cuboids = [
      {
        id: 1,
        center: car.center,
        wlh: car.size,
        rotation: new Quaternion(),
        colorRgb: [120, 130, 150] as Vec3,
      },
      {
        id: 2,
        center: ped.center,
        wlh: ped.size,
        rotation: new Quaternion(),
        colorRgb: [140, 120, 110] as Vec3,
      },
    ];
    channels.forEach((channel, c) => {
      const tok = sdTokens[c][s];
      const timestamp = t0 + s * 500_000 + (channel === 'LIDAR_TOP' ? 0 : 10_000 + c * 5_000);
      egoPoses.push({ token: tok, translation: ego, rotation: [1, 0, 0, 0], timestamp });
      const folder = `samples/${channel}`;
      const filename = `${folder}/${logfile}__${channel}__${timestamp}.${channel === 'LIDAR_TOP' ? 'pcd.bin' : 'jpg'}`;
      sampleData.push({
        token: tok,
        sample_token: sampleTokens[s],
        ego_pose_token: tok,
        calibrated_sensor_token: calibrated[c].token,
        timestamp,
        fileformat: channel === 'LIDAR_TOP' ? 'pcd' : 'jpg',
        is_key_frame: true,
        height: channel === 'LIDAR_TOP' ? 0 : h,
        width: channel === 'LIDAR_TOP' ? 0 : w,
        filename,
        prev: s > 0 ? sdTokens[c][s - 1] : '',
        next: s < 2 ? sdTokens[c][s + 1] : '',
      });
      mkdirSync(join(dataroot, folder), { recursive: true });
      if (channel === 'LIDAR_TOP') {
        writeFileSync(join(dataroot, filename), new Uint8Array(20));
        return;
      }
      if (s === 1) middleImages[channel] = join(dataroot, filename);
      const cs = calibrated[c];
      const camToGlobal = multiplyMatrices(
        transformMatrix(ego, new Quaternion()),
        transformMatrix(cs.translation, Quaternion.fromArray(cs.rotation)),
      );
      const view = { width: w, height: h, intrinsic: cs.camera_intrinsic, cameraToGlobal: camToGlobal };
      const r = renderCamera(view, { ground, cuboids });
      pendingImages.push(
        encodeJpeg(r.rgb, w, h, 85).then((jpeg) => writeFileSync(join(dataroot, filename), jpeg)),
      );
    });
  }
  await Promise.all(pendingImages.splice(0));
  instances.forEach((inst, k) => {
    inst.first_annotation_token = annotations[k].token as string;
    inst.last_annotation_token = annotations[4 + k].token as string;
  });
  for (let k = 0; k < annotations.length; k++) {
    if (k >= 2) annotations[k].prev = annotations[k - 2].token;
    if (k + 2 < annotations.length) annotations[k].next = annotations[k + 2].token;
  }
  const scene = {
    token: sceneToken,
    name: 'scene-0061',
    description: 'renderer test',
    log_token: log.token,
    nbr_samples: 3,
    first_sample_token: sampleTokens[0],
    last_sample_token: sampleTokens[2],
  };
  const tables: Record<string, unknown[]> = {
    category: categories,
    attribute: [],
    visibility,
    instance: instances,
    sensor: sensors,
    calibrated_sensor: calibrated,
    ego_pose: egoPoses,
    log: [log],
    scene: [scene],
    sample: samples,
    sample_data: sampleData,
    sample_annotation: annotations,
    map,
  };
  for (const [name, rows] of Object.entries(tables)) {
    writeFileSync(join(dataroot, version, `${name}.json`), JSON.stringify(rows, null, 1));
  }
  return { dataroot, version, sampleTokens, egoX, carAnnTokens, middleImages };
}

const pendingImages: Promise<void>[] = [];

interface CalibratedRow {
  token: string;
  sensor_token: string;
  translation: Vec3;
  rotation: number[];
  camera_intrinsic: number[][];
}
