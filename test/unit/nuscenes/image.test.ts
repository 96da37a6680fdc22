import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeCameraImage,
  decodeCameraImageRgb,
  IMAGENET_MEAN,
  IMAGENET_STD,
  SAD_IMAGE_OPTIONS,
  sadImageOptions,
  updateIntrinsics,
} from '../../../data-loaders/nuscenes/index.ts';
import { SpikedriveError } from '../../../src/util/index.ts';
import { fixture, golden } from './helpers.ts';

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

describe('camera image decoding', () => {
  const g = golden().image;
  const path = () => fixture().getSampleDataPath(g.sample_data_token);

  it('decodes a 1600×900 JPEG byte-identically to PIL', async () => {
    const rgb = await decodeCameraImageRgb(path());
    expect([rgb.width, rgb.height, rgb.data.length]).toEqual([1600, 900, 1600 * 900 * 3]);
    expect(md5(rgb.data)).toBe(g.decoded_md5);
  });

  it('SAD preprocessing: PIL-exact bilinear 480×270, rows 46..270, 3×224×480, ImageNet-normalised', async () => {
    expect(SAD_IMAGE_OPTIONS.resize).toEqual({ width: 480, height: 270 });
    expect(SAD_IMAGE_OPTIONS.crop).toEqual({ left: 0, top: 46, width: 480, height: 224 });
    const rgb = await decodeCameraImageRgb(path(), SAD_IMAGE_OPTIONS);
    expect([rgb.width, rgb.height]).toEqual([480, 224]);
    expect(md5(rgb.data)).toBe(g.resized_cropped_md5);
    const image = await decodeCameraImage(path(), SAD_IMAGE_OPTIONS);
    expect([image.channels, image.height, image.width]).toEqual(g.shape_chw);
    const plane = 224 * 480;
    for (const [c, y, x, value] of g.samples)
      expect(image.data[c * plane + y * 480 + x]).toBeCloseTo(value, 6);
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      for (let i = 0; i < plane; i++) sum += image.data[c * plane + i];
      expect(sum / plane).toBeCloseTo(g.channel_means[c], 5);
    }
  });

  it('normalises (v/255 − mean)/std per channel: the CAM_FRONT patch (200, 40, 40) by hand', async () => {
    const image = await decodeCameraImage(path(), { layout: 'hwc' });
    expect(image.layout).toBe('hwc');
    // Pixel (80, 80) lies in the flat 160×160 colour patch; JPEG keeps a flat patch within a level or two.
    const o = (80 * 1600 + 80) * 3;
    const expected = [200, 40, 40].map((v, c) => (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]);
    for (let c = 0; c < 3; c++)
      expect(Math.abs(image.data[o + c] - expected[c])).toBeLessThan(2.5 / 255 / 0.224);
    const plain = await decodeCameraImage(path(), { normalize: false, layout: 'chw' });
    const rgb = await decodeCameraImageRgb(path());
    expect(plain.data[1600 * 900 + 80 * 1600 + 80]).toBeCloseTo(rgb.data[o + 1] / 255, 7);
    // CHW and HWC hold the same numbers.
    const chw = await decodeCameraImage(path());
    expect(chw.data[2 * 1600 * 900 + 10 * 1600 + 700]).toBe(image.data[(10 * 1600 + 700) * 3 + 2]);
  });

  it('writes into a caller buffer, and the sharp resampler stays within a few levels of PIL', async () => {
    const out = new Float32Array(3 * 224 * 480 + 10);
    const image = await decodeCameraImage(path(), { ...SAD_IMAGE_OPTIONS, out });
    expect(image.data).toBe(out);
    const pil = await decodeCameraImageRgb(path(), SAD_IMAGE_OPTIONS);
    const fast = await decodeCameraImageRgb(path(), { ...SAD_IMAGE_OPTIONS, resampler: 'sharp' });
    let worst = 0;
    for (let i = 0; i < pil.data.length; i++) worst = Math.max(worst, Math.abs(pil.data[i] - fast.data[i]));
    expect(worst).toBeLessThanOrEqual(4);
  });

  it('pads a crop that reaches outside the image with zeros (PIL crop)', async () => {
    const rgb = await decodeCameraImageRgb(path(), {
      resize: { width: 480, height: 270 },
      crop: { left: -2, top: 260, width: 480, height: 20 },
    });
    expect([rgb.width, rgb.height]).toEqual([480, 20]);
    expect(rgb.data[0]).toBe(0); // column −2
    expect(rgb.data[(15 * 480 + 100) * 3]).toBe(0); // row 275
    expect(rgb.data[(5 * 480 + 100) * 3]).toBeGreaterThan(0);
  });

  it('adjusts intrinsics for the resize and crop like SAD', () => {
    const k = [
      [1266.417203046554, 0, 816.2670197447984],
      [0, 1266.417203046554, 491.50706579294757],
      [0, 0, 1],
    ];
    const o = sadImageOptions();
    const updated = updateIntrinsics(k, {
      scaleWidth: o.scale,
      scaleHeight: o.scale,
      leftCrop: o.crop.left,
      topCrop: o.crop.top,
    });
    expect(updated[0][0]).toBeCloseTo(379.925, 3);
    expect(updated[0][2]).toBeCloseTo(244.88, 3);
    expect(updated[1][2]).toBeCloseTo(147.452 - 46, 3);
    expect(k[0][0]).toBe(1266.417203046554); // input untouched
  });

  it('a missing or corrupt image is a SpikedriveError', async () => {
    await expect(decodeCameraImage('/nonexistent.jpg')).rejects.toBeInstanceOf(SpikedriveError);
    const bad = join(tmpdir(), `spikedrive-bad-${process.pid}.jpg`);
    writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
    await expect(decodeCameraImage(bad)).rejects.toThrow(/cannot decode/);
  });
});
