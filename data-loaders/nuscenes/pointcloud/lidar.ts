import { SpikedriveError } from '../../../src/util/index.ts';
import type { SensorChannel } from '../types.ts';
import {
  fromFileMultisweep,
  type MultisweepResult,
  type MultisweepSample,
  type SweepSource,
} from './multisweep.ts';
import { checkExtension, PointCloud, readBlob, readBlobSync } from './point-cloud.ts';

/** Values per point in a nuScenes `.pcd.bin`: x, y, z, intensity, ring index. */
export const LIDAR_FILE_DIMS = 5;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The devkit's `LidarPointCloud`: 4 rows (x, y, z, intensity) read from a `.pcd.bin` of little-endian
 * float32 × 5 per point (the ring index is dropped, as in the devkit). Coordinates are in the LIDAR_TOP
 * frame: x right, y forward, z up.
 */
export class LidarPointCloud extends PointCloud {
  static readonly NBR_DIMS = 4;

  constructor(points: Float32Array[]) {
    super(points, LidarPointCloud.NBR_DIMS);
  }

  nbrDims(): number {
    return LidarPointCloud.NBR_DIMS;
  }

  /** An empty cloud (4 rows of 0 points). */
  static empty(): LidarPointCloud {
    return new LidarPointCloud(Array.from({ length: LidarPointCloud.NBR_DIMS }, () => new Float32Array(0)));
  }

  /** Parses the bytes of a `.pcd.bin`; `source` names the file in errors. */
  static fromBuffer(bytes: Uint8Array, source = 'lidar data'): LidarPointCloud {
    const recordBytes = 4 * LIDAR_FILE_DIMS;
    if (bytes.length % recordBytes !== 0) {
      throw new SpikedriveError(
        `${source}: ${bytes.length} bytes is not a whole number of lidar points (float32 × ${LIDAR_FILE_DIMS} = ${recordBytes} bytes each)`,
        {
          subject: source,
          fix: 'Re-extract the file; a .pcd.bin holds x, y, z, intensity, ring as float32 per point.',
        },
      );
    }
    const n = bytes.length / recordBytes;
    const rows = Array.from({ length: LidarPointCloud.NBR_DIMS }, () => new Float32Array(n));
    if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
      // Fast path: view the file as float32 and de-interleave.
      const values = new Float32Array(bytes.buffer, bytes.byteOffset, n * LIDAR_FILE_DIMS);
      for (let r = 0; r < LidarPointCloud.NBR_DIMS; r++) {
        const row = rows[r];
        for (let i = 0, j = r; i < n; i++, j += LIDAR_FILE_DIMS) row[i] = values[j];
      }
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      for (let r = 0; r < LidarPointCloud.NBR_DIMS; r++) {
        const row = rows[r];
        for (let i = 0; i < n; i++) row[i] = view.getFloat32((i * LIDAR_FILE_DIMS + r) * 4, true);
      }
    }
    return new LidarPointCloud(rows);
  }

  /** The devkit's `from_file`: reads a `.pcd.bin` (the path must end in `.bin`). */
  static async fromFile(path: string): Promise<LidarPointCloud> {
    checkExtension(path, '.bin', 'lidar');
    return LidarPointCloud.fromBuffer(await readBlob(path), path);
  }

  static fromFileSync(path: string): LidarPointCloud {
    checkExtension(path, '.bin', 'lidar');
    return LidarPointCloud.fromBuffer(readBlobSync(path), path);
  }

  /**
   * The devkit's `from_file_multisweep` for lidar: `nsweeps` sweeps of `channel` back from the sample's
   * keyframe, each with points within `minDistanceM` (square) removed and mapped into `refChannel`'s sensor
   * frame at the reference time; `times` holds each point's time lag t_ref − t_sweep in seconds.
   */
  static fromFileMultisweep(
    nusc: SweepSource,
    sample: MultisweepSample,
    channel: SensorChannel,
    refChannel: SensorChannel,
    nsweeps = 5,
    minDistanceM = 1,
  ): Promise<MultisweepResult<LidarPointCloud>> {
    return fromFileMultisweep(
      {
        nbrDims: LidarPointCloud.NBR_DIMS,
        fromFile: LidarPointCloud.fromFile,
        create: (rows) => new LidarPointCloud(rows),
      },
      nusc,
      sample,
      channel,
      refChannel,
      nsweeps,
      minDistanceM,
    );
  }
}

/**
 * Writes points as a nuScenes `.pcd.bin` (little-endian float32 × 5 per point). Takes 5 rows (x, y, z,
 * intensity, ring) or 4 (ring written as 0).
 */
export function encodeLidarPcdBin(rows: readonly ArrayLike<number>[]): Uint8Array {
  if (rows.length !== 4 && rows.length !== LIDAR_FILE_DIMS) {
    throw new RangeError(
      `encodeLidarPcdBin needs 4 or 5 rows (x, y, z, intensity[, ring]), got ${rows.length}`,
    );
  }
  const n = rows[0].length;
  if (rows.some((row) => row.length !== n)) throw new RangeError('every lidar row must have the same length');
  const out = new Uint8Array(n * LIDAR_FILE_DIMS * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < LIDAR_FILE_DIMS; r++) {
      view.setFloat32((i * LIDAR_FILE_DIMS + r) * 4, r < rows.length ? rows[r][i] : 0, true);
    }
  }
  return out;
}
