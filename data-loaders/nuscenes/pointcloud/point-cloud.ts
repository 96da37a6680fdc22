import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { SpikedriveError } from '../../../src/util/index.ts';
import type { Matrix } from '../geometry/index.ts';

/**
 * The devkit's `PointCloud`: d rows × N points, rows 0–2 being x, y, z (the only rows that transforms
 * change; the rest are per-point attributes). Each row is a Float32Array, so `points.slice(0, 3)` feeds
 * `viewPoints` and `pointsInBox` directly and rows upload to tensors without copying. Operations change the
 * cloud in place, as in the devkit; maths runs in float64 and is stored back as float32 (what numpy does
 * for the devkit's float32 lidar arrays).
 */
export abstract class PointCloud {
  /** d rows of N values each. Replaced (not resized) by operations that drop points. */
  points: Float32Array[];

  protected constructor(points: Float32Array[], nbrDims: number) {
    if (points.length !== nbrDims) {
      throw new RangeError(`a ${new.target.name} needs ${nbrDims} rows of points, got ${points.length}`);
    }
    const n = points[0].length;
    if (points.some((row) => row.length !== n)) {
      throw new RangeError(`every row of a ${new.target.name} must hold the same number of points`);
    }
    this.points = points;
  }

  /** Rows per point (4 for lidar, 18 for radar). */
  abstract nbrDims(): number;

  /** Number of points N. */
  nbrPoints(): number {
    return this.points[0].length;
  }

  /** Keeps the points whose mask entry is true or non-zero, in order (e.g. with `pointsInBox`'s result). */
  keepPoints(keep: ArrayLike<boolean | number>): void {
    if (keep.length !== this.nbrPoints()) {
      throw new RangeError(
        `keepPoints needs one mask entry per point (${this.nbrPoints()}), got ${keep.length}`,
      );
    }
    const n = this.nbrPoints();
    let kept = 0;
    for (let i = 0; i < n; i++) if (keep[i]) kept++;
    if (kept === n) return;
    this.points = this.points.map((row) => {
      const out = new Float32Array(kept);
      for (let i = 0, k = 0; i < n; i++) if (keep[i]) out[k++] = row[i];
      return out;
    });
  }

  /**
   * The devkit's `subsample`: draws ⌊N·ratio⌋ points uniformly **with replacement** (numpy's
   * `random.choice` default), so points can repeat. Pass a seeded `random` (e.g. `createRng(seed).next`)
   * for repeatable results.
   */
  subsample(ratio: number, random: () => number = Math.random): void {
    if (!(ratio >= 0)) throw new RangeError(`subsample ratio must be >= 0, got ${ratio}`);
    const n = this.nbrPoints();
    const size = Math.trunc(n * ratio);
    const picks = new Uint32Array(size);
    for (let k = 0; k < size; k++) picks[k] = Math.min(n - 1, Math.floor(random() * n));
    this.points = this.points.map((row) => {
      const out = new Float32Array(size);
      for (let k = 0; k < size; k++) out[k] = row[picks[k]];
      return out;
    });
  }

  /** The devkit's `remove_close`: drops points with |x| < radius **and** |y| < radius (a square, not a circle). */
  removeClose(radius: number): void {
    const [xs, ys] = this.points;
    const n = this.nbrPoints();
    const keep = new Uint8Array(n);
    for (let i = 0; i < n; i++) keep[i] = Math.abs(xs[i]) < radius && Math.abs(ys[i]) < radius ? 0 : 1;
    this.keepPoints(keep);
  }

  /** Adds (x, y, z) to every point. */
  translate(x: ArrayLike<number>): void {
    for (let r = 0; r < 3; r++) {
      const row = this.points[r];
      const t = x[r];
      for (let i = 0; i < row.length; i++) row[i] = row[i] + t;
    }
  }

  /** Applies a 3×3 rotation matrix (row-major) to x, y, z. */
  rotate(rotation: Matrix): void {
    checkShape(rotation, 3, 'rotate');
    this.#apply(rotation, false);
  }

  /** Applies a 4×4 homogeneous transform (row-major) to x, y, z. */
  transform(matrix: Matrix): void {
    checkShape(matrix, 4, 'transform');
    this.#apply(matrix, true);
  }

  #apply(m: Matrix, homogeneous: boolean): void {
    const [xs, ys, zs] = this.points;
    const [r0, r1, r2] = m;
    const t0 = homogeneous ? r0[3] : 0;
    const t1 = homogeneous ? r1[3] : 0;
    const t2 = homogeneous ? r2[3] : 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const y = ys[i];
      const z = zs[i];
      xs[i] = r0[0] * x + r0[1] * y + r0[2] * z + t0;
      ys[i] = r1[0] * x + r1[1] * y + r1[2] * z + t1;
      zs[i] = r2[0] * x + r2[1] * y + r2[2] * z + t2;
    }
  }

  /** Points as N × d, point after point (e.g. for a three.js BufferAttribute, or a row-per-point tensor). */
  toPointMajor(): Float32Array {
    const d = this.points.length;
    const n = this.nbrPoints();
    const out = new Float32Array(n * d);
    for (let r = 0; r < d; r++) {
      const row = this.points[r];
      for (let i = 0; i < n; i++) out[i * d + r] = row[i];
    }
    return out;
  }
}

function checkShape(m: Matrix, size: number, what: string): void {
  if (m.length !== size || m.some((row) => row.length !== size)) {
    throw new RangeError(`${what} needs a ${size}×${size} matrix, got ${m.length}×${m[0]?.length ?? 0}`);
  }
}

/** Appends clouds' rows into fresh Float32Arrays (the devkit's `np.hstack`). */
export function concatRows(clouds: readonly Float32Array[][], nbrDims: number): Float32Array[] {
  const total = clouds.reduce((sum, rows) => sum + (rows[0]?.length ?? 0), 0);
  const out = Array.from({ length: nbrDims }, () => new Float32Array(total));
  let offset = 0;
  for (const rows of clouds) {
    for (let r = 0; r < nbrDims; r++) out[r].set(rows[r], offset);
    offset += rows[0]?.length ?? 0;
  }
  return out;
}

/** Checks a point cloud file's extension as the devkit does (`.bin` for lidar, `.pcd` for radar). */
export function checkExtension(path: string, extension: string, kind: string): void {
  if (!path.endsWith(extension)) {
    throw new SpikedriveError(`Unsupported filetype for a ${kind} point cloud: ${path}`, {
      subject: path,
      fix: `${kind} point clouds are read from ${extension} files; check the sample_data channel and filename.`,
    });
  }
}

function notFound(path: string, error: unknown): SpikedriveError {
  const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
  return new SpikedriveError(
    missing
      ? `Point cloud file not found: ${path}`
      : `Cannot read point cloud file ${path}: ${(error as Error).message}`,
    {
      subject: path,
      fix: missing
        ? 'Check the dataroot (sample_data filenames are relative to it) and that samples/ and sweeps/ were unpacked.'
        : 'Check the file permissions.',
      cause: error,
    },
  );
}

/** Reads a whole file, turning a missing file into a SpikedriveError that names it. */
export async function readBlob(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw notFound(path, error);
  }
}

export function readBlobSync(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw notFound(path, error);
  }
}
