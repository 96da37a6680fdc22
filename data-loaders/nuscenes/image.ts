import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { SpikedriveError } from '../../src/util/index.ts';
import type { Matrix } from './geometry/index.ts';

/**
 * Camera images → tensor-ready Float32Arrays: JPEG decode (sharp/libjpeg-turbo, byte-identical to
 * PIL's decode), resize, crop, and torchvision-style normalisation ((v/255 − mean)/std per channel).
 *
 * Resizing defaults to a port of PIL's BILINEAR resample (its antialiasing triangle filter, 22-bit
 * fixed-point coefficients, horizontal pass then vertical, each rounded to 8 bits), because SAD/FIERY
 * preprocess with `img.resize(dims, PIL.Image.BILINEAR)` and libvips' linear kernel differs by up to 3
 * levels. `resampler: 'sharp'` uses libvips instead (faster, not identical).
 */

/** ImageNet statistics used by SAD (`NuscenesData.py`, torchvision Normalize). */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A normalised float image. `chw`: [3, H, W] planes; `hwc`: [H, W, 3] interleaved. */
export interface CameraImage {
  data: Float32Array;
  width: number;
  height: number;
  channels: 3;
  layout: 'chw' | 'hwc';
}

export interface CameraImageOptions {
  /** Resize the full image to exactly this size first (PIL's `img.resize((width, height))`). */
  resize?: { width: number; height: number };
  /** Then crop this box (PIL's `img.crop((left, top, left + width, top + height))`; outside is 0). */
  crop?: { left: number; top: number; width: number; height: number };
  /** 'pil' (default): exact PIL BILINEAR; 'sharp': libvips linear (faster, within ~3 levels). */
  resampler?: 'pil' | 'sharp';
  /** Per-channel mean/std applied to v/255; `false` gives plain v/255. Default ImageNet. */
  normalize?: { mean: readonly number[]; std: readonly number[] } | false;
  /** Default 'chw' (PyTorch order). */
  layout?: 'chw' | 'hwc';
  /** Write into this array (length width·height·3) instead of allocating, e.g. a batch slice. */
  out?: Float32Array;
}

/** SAD's camera preprocessing (config: scale 0.3, top crop 46, final 224 × 480), as options. */
export function sadImageOptions(
  config: {
    originalWidth?: number;
    originalHeight?: number;
    resizeScale?: number;
    topCrop?: number;
    finalHeight?: number;
    finalWidth?: number;
  } = {},
): CameraImageOptions & {
  scale: number;
  resize: { width: number; height: number };
  crop: NonNullable<CameraImageOptions['crop']>;
} {
  const originalWidth = config.originalWidth ?? 1600;
  const originalHeight = config.originalHeight ?? 900;
  const scale = config.resizeScale ?? 0.3;
  const topCrop = config.topCrop ?? 46;
  const finalHeight = config.finalHeight ?? 224;
  const finalWidth = config.finalWidth ?? 480;
  // As FIERY/SAD's get_resizing_and_cropping_parameters: int() truncation, centred horizontal crop.
  const width = Math.trunc(originalWidth * scale);
  const height = Math.trunc(originalHeight * scale);
  const left = Math.trunc(Math.max(0, (width - finalWidth) / 2));
  return {
    scale,
    resize: { width, height },
    crop: { left, top: topCrop, width: finalWidth, height: finalHeight },
    normalize: { mean: IMAGENET_MEAN, std: IMAGENET_STD },
    layout: 'chw',
  };
}

/** The paper's setting: 1600×900 → 480×270 → rows 46..270 → 3×224×480, ImageNet-normalised. */
export const SAD_IMAGE_OPTIONS = sadImageOptions();

/**
 * Intrinsics after resize and crop (FIERY/SAD's `update_intrinsics`): fx, cx scaled by the width
 * scale, fy, cy by the height scale, then the principal point moved by the crop.
 */
export function updateIntrinsics(
  intrinsic: Matrix,
  options: { scaleWidth?: number; scaleHeight?: number; leftCrop?: number; topCrop?: number },
): Matrix {
  const k = intrinsic.map((row) => [...row]);
  const sw = options.scaleWidth ?? 1;
  const sh = options.scaleHeight ?? 1;
  k[0][0] *= sw;
  k[0][2] *= sw;
  k[1][1] *= sh;
  k[1][2] *= sh;
  k[0][2] -= options.leftCrop ?? 0;
  k[1][2] -= options.topCrop ?? 0;
  return k;
}

function describeSource(source: string | Uint8Array): string {
  return typeof source === 'string' ? source : `an in-memory image (${source.length} bytes)`;
}

/** Decodes (and optionally resizes and crops) to 8-bit RGB. */
export async function decodeCameraImageRgb(
  source: string | Uint8Array,
  options: Pick<CameraImageOptions, 'resize' | 'crop' | 'resampler'> = {},
): Promise<RgbImage> {
  if (typeof source === 'string' && !existsSync(source)) {
    throw new SpikedriveError(`camera image ${source} does not exist`, {
      subject: source,
      fix: 'Extract the samples/ and sweeps/ folders of the dataset into the dataroot (or check the path).',
    });
  }
  const resampler = options.resampler ?? 'pil';
  let pipeline = sharp(source, { failOn: 'error' }).removeAlpha().toColourspace('srgb');
  if (options.resize && resampler === 'sharp') {
    pipeline = pipeline.resize(options.resize.width, options.resize.height, {
      kernel: 'linear',
      fit: 'fill',
      fastShrinkOnLoad: false,
    });
  }
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new SpikedriveError(`cannot decode ${describeSource(source)}: ${(error as Error).message}`, {
      subject: typeof source === 'string' ? source : 'image',
      fix: 'The file is not a readable JPEG/PNG (truncated download?); re-extract it from the dataset archive.',
      cause: error,
    });
  }
  let image: RgbImage = {
    data: new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.length),
    width: decoded.info.width,
    height: decoded.info.height,
  };
  if (decoded.info.channels !== 3) image = toRgb(image, decoded.info.channels);
  if (options.resize && resampler === 'pil') {
    image = resizeBilinearPil(image, options.resize.width, options.resize.height, options.crop);
    // The resize produced only the rows the crop keeps (from row max(0, top)); crop the rest here.
    if (options.crop)
      return cropRgb(image, { ...options.crop, top: options.crop.top - Math.max(0, options.crop.top) });
    return image;
  }
  return options.crop ? cropRgb(image, options.crop) : image;
}

/** Decodes, resizes, crops and normalises a camera image into a Float32Array. */
export async function decodeCameraImage(
  source: string | Uint8Array,
  options: CameraImageOptions = {},
): Promise<CameraImage> {
  const rgb = await decodeCameraImageRgb(source, options);
  return normalizeRgb(rgb, options);
}

/** (v/255 − mean)/std per channel in float32 steps, as torchvision's ToTensor + Normalize. */
export function normalizeRgb(
  image: RgbImage,
  options: Pick<CameraImageOptions, 'normalize' | 'layout' | 'out'> = {},
): CameraImage {
  const { width, height, data } = image;
  const n = width * height;
  const layout = options.layout ?? 'chw';
  const out = options.out ?? new Float32Array(n * 3);
  if (out.length < n * 3) throw new RangeError(`out has ${out.length} elements; ${n * 3} are needed`);
  const norm =
    options.normalize === undefined ? { mean: IMAGENET_MEAN, std: IMAGENET_STD } : options.normalize;
  // One lookup table per channel: 256 values, computed with the float32 rounding of each torch step.
  const lut = [0, 1, 2].map((c) => {
    const table = new Float32Array(256);
    const mean = norm ? Math.fround(norm.mean[c]) : 0;
    const std = norm ? Math.fround(norm.std[c]) : 1;
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
    return table;
  });
  const [l0, l1, l2] = lut;
  if (layout === 'chw') {
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      out[i] = l0[data[o]];
      out[n + i] = l1[data[o + 1]];
      out[2 * n + i] = l2[data[o + 2]];
    }
  } else {
    for (let o = 0; o < n * 3; o += 3) {
      out[o] = l0[data[o]];
      out[o + 1] = l1[data[o + 1]];
      out[o + 2] = l2[data[o + 2]];
    }
  }
  return { data: out, width, height, channels: 3, layout };
}

function toRgb(image: RgbImage, channels: number): RgbImage {
  const n = image.width * image.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) data[i * 3 + c] = image.data[i * channels + Math.min(c, channels - 1)];
  }
  return { data, width: image.width, height: image.height };
}

/** PIL's `crop`: a box that may reach outside the image; outside pixels are 0. */
export function cropRgb(
  image: RgbImage,
  box: { left: number; top: number; width: number; height: number },
): RgbImage {
  const { left, top, width, height } = box;
  if (left === 0 && top === 0 && width === image.width && height === image.height) return image;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= image.height) continue;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(width, image.width - left);
    if (x1 <= x0) continue;
    data.set(
      image.data.subarray((sy * image.width + left + x0) * 3, (sy * image.width + left + x1) * 3),
      (y * width + x0) * 3,
    );
  }
  return { data, width, height };
}

const PRECISION_BITS = 32 - 8 - 2;

/** PIL's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter. */
function pilCoefficients(inSize: number, outSize: number) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * kernelSize);
  const pre = new Float64Array(kernelSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      pre[x] = w;
      ww += w;
    }
    for (let x = 0; x < kernelSize; x++) {
      const k = x < xmax && ww !== 0 ? pre[x] / ww : 0;
      weights[xx * kernelSize + x] =
        k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, kernelSize };
}

function clip8(v: number): number {
  const s = v >> PRECISION_BITS;
  return s < 0 ? 0 : Math.min(s, 255);
}

/**
 * PIL's `Image.resize(size, BILINEAR)` for 8-bit RGB, bit-exact. Hand-written because no npm library
 * reproduces PIL's resampling. With `crop`, only the output rows the crop keeps are computed (the
 * returned image then starts at row `crop.top`).
 */
export function resizeBilinearPil(
  image: RgbImage,
  width: number,
  height: number,
  crop?: { top: number; height: number },
): RgbImage {
  const rowFirst = crop ? Math.max(0, crop.top) : 0;
  const rowEnd = crop ? Math.min(height, crop.top + crop.height) : height;
  const half = 1 << (PRECISION_BITS - 1);
  // Vertical coefficients first: they tell which input rows the horizontal pass needs.
  const needV = height !== image.height;
  const needH = width !== image.width;
  const v = needV ? pilCoefficients(image.height, height) : undefined;
  let inFirst = 0;
  let inEnd = image.height;
  if (v) {
    inFirst = v.bounds[rowFirst * 2];
    const last = Math.max(rowFirst, rowEnd - 1);
    inEnd = v.bounds[last * 2] + v.bounds[last * 2 + 1];
  } else {
    inFirst = rowFirst;
    inEnd = rowEnd;
  }
  // Horizontal pass over the needed input rows.
  let mid: Uint8Array;
  const midRows = inEnd - inFirst;
  if (needH) {
    const h = pilCoefficients(image.width, width);
    mid = new Uint8Array(midRows * width * 3);
    const src = image.data;
    const k = h.weights;
    const ks = h.kernelSize;
    for (let y = 0; y < midRows; y++) {
      const rowBase = (y + inFirst) * image.width * 3;
      const outBase = y * width * 3;
      for (let xx = 0; xx < width; xx++) {
        const xmin = h.bounds[xx * 2];
        const xmax = h.bounds[xx * 2 + 1];
        let s0 = half;
        let s1 = half;
        let s2 = half;
        const kb = xx * ks;
        let p = rowBase + xmin * 3;
        for (let x = 0; x < xmax; x++, p += 3) {
          const w = k[kb + x];
          s0 += src[p] * w;
          s1 += src[p + 1] * w;
          s2 += src[p + 2] * w;
        }
        const o = outBase + xx * 3;
        mid[o] = clip8(s0);
        mid[o + 1] = clip8(s1);
        mid[o + 2] = clip8(s2);
      }
    }
  } else {
    mid = image.data.subarray(inFirst * image.width * 3, inEnd * image.width * 3);
  }
  const outRows = rowEnd - rowFirst;
  if (!v) return { data: mid.slice(0, outRows * width * 3), width, height: outRows };
  const out = new Uint8Array(outRows * width * 3);
  const stride = width * 3;
  const k = v.weights;
  const ks = v.kernelSize;
  for (let yy = rowFirst; yy < rowEnd; yy++) {
    const ymin = v.bounds[yy * 2] - inFirst;
    const ymax = v.bounds[yy * 2 + 1];
    const kb = yy * ks;
    const outBase = (yy - rowFirst) * stride;
    for (let i = 0; i < stride; i++) {
      let s = half;
      let p = ymin * stride + i;
      for (let y = 0; y < ymax; y++, p += stride) s += mid[p] * k[kb + y];
      out[outBase + i] = clip8(s);
    }
  }
  return { data: out, width, height: outRows };
}
