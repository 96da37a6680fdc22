import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SpikedriveError, writeFileAtomic, writeFileAtomicSync } from '../../src/util/index.ts';
import type { RgbImage } from '../nuscenes/index.ts';
import type { ImageGeometry } from './options.ts';

/**
 * An on-disk cache of preprocessed camera images: the resized and cropped 8-bit RGB (before normalisation,
 * which is a cheap exact lookup), keyed by sample_data token under a folder named by a hash of the image
 * options, so changing the resize/crop/resampler starts a fresh folder. Each entry records the source file's
 * size and modification time and is re-decoded when they change. Writes are atomic (temp file + rename), so a
 * killed run leaves no torn entry.
 */

const MAGIC = 0x31434453; // 'SDC1'
const HEADER_BYTES = 32;
const FORMAT_VERSION = 1;

export interface ImageCacheKey {
  geometry: ImageGeometry;
  resampler: 'pil' | 'sharp';
}

export interface ImageCacheStats {
  hits: number;
  misses: number;
  writes: number;
}

/** The folder name for a set of image options (stable across runs and machines). */
export function imageCacheFolderName(key: ImageCacheKey): string {
  const text = JSON.stringify({
    v: FORMAT_VERSION,
    resize: key.geometry.resize,
    crop: key.geometry.crop,
    resampler: key.resampler,
  });
  return `rgb-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

export class SadImageCache {
  /** The cache root given by the user. */
  readonly root: string;
  /** `<root>/<hash of the options>`. */
  readonly folder: string;
  readonly stats: ImageCacheStats = { hits: 0, misses: 0, writes: 0 };
  readonly #width: number;
  readonly #height: number;

  constructor(root: string, key: ImageCacheKey) {
    this.root = root;
    this.folder = join(root, imageCacheFolderName(key));
    this.#width = key.geometry.crop.width;
    this.#height = key.geometry.crop.height;
    try {
      mkdirSync(this.folder, { recursive: true });
    } catch (error) {
      throw new SpikedriveError(
        `cannot create the image cache folder ${this.folder}: ${(error as Error).message}`,
        {
          subject: this.folder,
          fix: 'Pass a writable cache folder (or none to disable the cache).',
          cause: error,
        },
      );
    }
    const description = join(this.folder, 'options.json');
    try {
      statSync(description);
    } catch {
      // A human-readable note of what the folder holds.
      writeFileAtomicSync(description, `${JSON.stringify({ version: FORMAT_VERSION, ...key }, null, 2)}\n`);
    }
  }

  /** Where the entry of a sample_data token lives (two-level fan-out keeps folders small). */
  entryPath(sampleDataToken: string): string {
    const safe = sampleDataToken.replace(/[^A-Za-z0-9_-]/g, '_');
    return join(this.folder, safe.slice(0, 2) || '__', `${safe}.rgb`);
  }

  /** The cached image, or undefined when absent, stale (source changed) or unreadable. */
  async get(sampleDataToken: string, sourcePath: string): Promise<RgbImage | undefined> {
    let bytes: Buffer;
    let source: { size: number; mtimeMs: number };
    try {
      [bytes, source] = await Promise.all([readFile(this.entryPath(sampleDataToken)), stat(sourcePath)]);
    } catch {
      this.stats.misses++;
      return undefined;
    }
    const image = this.#decode(bytes, source);
    if (image) this.stats.hits++;
    else this.stats.misses++;
    return image;
  }

  /** Synchronous `get` (for tests and tools). */
  getSync(sampleDataToken: string, sourcePath: string): RgbImage | undefined {
    try {
      const bytes = readFileSync(this.entryPath(sampleDataToken));
      return this.#decode(bytes, statSync(sourcePath));
    } catch {
      return undefined;
    }
  }

  #decode(bytes: Buffer, source: { size: number; mtimeMs: number }): RgbImage | undefined {
    if (bytes.length < HEADER_BYTES) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (view.getUint32(0, true) !== MAGIC) return undefined;
    const width = view.getUint32(4, true);
    const height = view.getUint32(8, true);
    if (width !== this.#width || height !== this.#height) return undefined;
    if (view.getFloat64(16, true) !== source.size || view.getFloat64(24, true) !== source.mtimeMs)
      return undefined;
    if (bytes.length !== HEADER_BYTES + width * height * 3) return undefined;
    return {
      data: new Uint8Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES, width * height * 3),
      width,
      height,
    };
  }

  /** Stores an image for a token (atomically), stamped with the source file's size and time. */
  async put(sampleDataToken: string, sourcePath: string, image: RgbImage): Promise<void> {
    if (image.width !== this.#width || image.height !== this.#height) {
      throw new RangeError(
        `cache holds ${this.#width}×${this.#height} images, got ${image.width}×${image.height}`,
      );
    }
    const source = await stat(sourcePath);
    const bytes = new Uint8Array(HEADER_BYTES + image.data.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, image.width, true);
    view.setUint32(8, image.height, true);
    view.setUint32(12, FORMAT_VERSION, true);
    view.setFloat64(16, source.size, true);
    view.setFloat64(24, source.mtimeMs, true);
    bytes.set(image.data, HEADER_BYTES);
    await writeFileAtomic(this.entryPath(sampleDataToken), bytes);
    this.stats.writes++;
  }
}
