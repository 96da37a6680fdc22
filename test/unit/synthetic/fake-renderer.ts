// A stand-in for the camera rasteriser in tests that do not look at pixels: every cuboid whose centre
// projects into the image counts as fully visible (100 px), the image is flat grey. Cheap and deterministic.
import sharp from 'sharp';
import type { CameraRender, CameraView, RenderWorld } from '../../../data-loaders/synthetic/render/index.ts';

export function renderCamera(view: CameraView, world: RenderWorld): CameraRender {
  const rgb = new Uint8Array(view.width * view.height * 3).fill(128);
  const visiblePixels = new Map<number, number>();
  const unoccludedPixels = new Map<number, number>();
  const m = view.cameraToGlobal;
  for (const cuboid of world.cuboids) {
    // global → camera: Rᵀ (p − t)
    const d = [0, 1, 2].map((i) => cuboid.center[i] - m[i][3]);
    const p = [0, 1, 2].map((j) => m[0][j] * d[0] + m[1][j] * d[1] + m[2][j] * d[2]);
    let pixels = 0;
    if (p[2] > 1) {
      const k = view.intrinsic;
      const u = (k[0][0] * p[0]) / p[2] + k[0][2];
      const v = (k[1][1] * p[1]) / p[2] + k[1][2];
      if (u >= 0 && u < view.width && v >= 0 && v < view.height) pixels = 100;
    }
    visiblePixels.set(cuboid.id, pixels);
    unoccludedPixels.set(cuboid.id, pixels);
  }
  return { rgb, visiblePixels, unoccludedPixels };
}

export async function encodeJpeg(
  rgb: Uint8Array,
  width: number,
  height: number,
  quality = 85,
): Promise<Uint8Array> {
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
}
