// One camera image of the synthetic world: render, encode as JPEG, write atomically, and return the
// per-cuboid pixel counts that become visibility tokens. Runs in a render worker or, with no workers, inline.

import { writeFileAtomic } from '../../src/util/index.ts';
import { Quaternion } from '../nuscenes/geometry/index.ts';
import type { Matrix3, QuaternionWxyz, Vec3 } from '../nuscenes/types.ts';
import type { CameraRender, CameraView, Cuboid, GroundRaster, RenderWorld } from './render/index.ts';

/** The renderer's entry points (the real one lives in ./render/; tests may pass a stand-in module). */
export interface RendererModule {
  renderCamera(view: CameraView, world: RenderWorld): CameraRender;
  encodeJpeg(rgb: Uint8Array, width: number, height: number, quality?: number): Promise<Uint8Array>;
}

/** A cuboid as plain data (structured-clone friendly: the rotation is [w, x, y, z]). */
export interface CuboidSpec {
  id: number;
  center: Vec3;
  wlh: Vec3;
  rotation: QuaternionWxyz;
  colorRgb: [number, number, number];
}

export interface CameraJob {
  /** Absolute path of the JPEG to write. */
  path: string;
  width: number;
  height: number;
  intrinsic: Matrix3;
  cameraToGlobal: number[][];
  cuboids: CuboidSpec[];
  jpegQuality: number;
}

export interface CameraJobResult {
  /** [cuboid id, visible pixels, pixels it would cover unoccluded], for cuboids with any pixels. */
  counts: Array<[number, number, number]>;
}

export const DEFAULT_RENDERER_MODULE = new URL('./render/index.ts', import.meta.url).href;

export async function runCameraJob(
  renderer: RendererModule,
  ground: GroundRaster,
  job: CameraJob,
): Promise<CameraJobResult> {
  const cuboids: Cuboid[] = job.cuboids.map((c) => ({
    id: c.id,
    center: c.center,
    wlh: c.wlh,
    rotation: Quaternion.fromArray(c.rotation),
    colorRgb: c.colorRgb,
  }));
  const view: CameraView = {
    width: job.width,
    height: job.height,
    intrinsic: job.intrinsic,
    cameraToGlobal: job.cameraToGlobal,
  };
  const render = renderer.renderCamera(view, { ground, cuboids });
  const jpeg = await renderer.encodeJpeg(render.rgb, job.width, job.height, job.jpegQuality);
  await writeFileAtomic(job.path, jpeg);
  const counts: Array<[number, number, number]> = [];
  for (const [id, unoccluded] of render.unoccludedPixels) {
    if (unoccluded > 0) counts.push([id, render.visiblePixels.get(id) ?? 0, unoccluded]);
  }
  counts.sort((a, b) => a[0] - b[0]);
  return { counts };
}

/** Σ visible and Σ unoccluded pixels per cuboid id over several cameras (the six of one keyframe). */
export function sumCameraCounts(results: readonly CameraJobResult[]): Map<number, [number, number]> {
  const sums = new Map<number, [number, number]>();
  for (const result of results) {
    for (const [id, visible, unoccluded] of result.counts) {
      const sum = sums.get(id) ?? [0, 0];
      sum[0] += visible;
      sum[1] += unoccluded;
      sums.set(id, sum);
    }
  }
  return sums;
}
