import { SpikedriveError } from '../../../src/util/index.ts';
import type { SensorChannel } from '../types.ts';
import {
  fromFileMultisweep,
  type MultisweepResult,
  type MultisweepSample,
  type SweepSource,
} from './multisweep.ts';
import { encodePcd, type PcdField, parsePcd } from './pcd.ts';
import { checkExtension, PointCloud, readBlob, readBlobSync } from './point-cloud.ts';

/** The 18 fields of a nuScenes radar `.pcd`, in file order, with their binary layout. */
export const RADAR_PCD_FIELDS: readonly Omit<PcdField, 'count'>[] = [
  { name: 'x', size: 4, type: 'F' },
  { name: 'y', size: 4, type: 'F' },
  { name: 'z', size: 4, type: 'F' },
  { name: 'dyn_prop', size: 1, type: 'I' },
  { name: 'id', size: 2, type: 'I' },
  { name: 'rcs', size: 4, type: 'F' },
  { name: 'vx', size: 4, type: 'F' },
  { name: 'vy', size: 4, type: 'F' },
  { name: 'vx_comp', size: 4, type: 'F' },
  { name: 'vy_comp', size: 4, type: 'F' },
  { name: 'is_quality_valid', size: 1, type: 'I' },
  { name: 'ambig_state', size: 1, type: 'I' },
  { name: 'x_rms', size: 1, type: 'I' },
  { name: 'y_rms', size: 1, type: 'I' },
  { name: 'invalid_state', size: 1, type: 'I' },
  { name: 'pdh0', size: 1, type: 'I' },
  { name: 'vx_rms', size: 1, type: 'I' },
  { name: 'vy_rms', size: 1, type: 'I' },
];

/** Row index of each radar field (`RADAR_ROW.vx_comp` = 8). */
export const RADAR_ROW: Readonly<Record<string, number>> = Object.fromEntries(
  RADAR_PCD_FIELDS.map((f, i) => [f.name, i]),
);

// The devkit filters by fixed row positions (dyn_prop 3, ambig_state 11, invalid_state = 4th from last).
const DYN_PROP_ROW = 3;
const AMBIG_STATE_ROW = 11;
const INVALID_STATE_ROW = 14;

/** Which radar returns to keep; each list holds the state values that pass. */
export interface RadarFilters {
  /** Cluster validity states to keep (devkit default [0]: valid). */
  invalidStates?: readonly number[];
  /** Dynamic properties to keep (default 0..6; [0, 2, 6] keeps moving objects only). */
  dynpropStates?: readonly number[];
  /** Doppler ambiguity states to keep (default [3]: unambiguous). */
  ambigStates?: readonly number[];
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * The devkit's `RadarPointCloud`: 18 rows (x, y, z, dyn_prop, id, rcs, vx, vy, vx_comp, vy_comp,
 * is_quality_valid, ambig_state, x_rms, y_rms, invalid_state, pdh0, vx_rms, vy_rms) from a binary PCD v0.7
 * file, in the radar frame (x forward, y left). Reading filters returns by invalid_state, dyn_prop and
 * ambig_state; the class-wide defaults are the devkit's and can be changed (globally, as in the devkit) with
 * `setFilters`/`disableFilters`/`defaultFilters`, or per call.
 */
export class RadarPointCloud extends PointCloud {
  static readonly NBR_DIMS = 18;

  /** Class-wide filter: invalid_state values kept (devkit default [0]). */
  static invalidStates: readonly number[] = [0];
  /** Class-wide filter: dyn_prop values kept (devkit default 0..6). */
  static dynpropStates: readonly number[] = range(7);
  /** Class-wide filter: ambig_state values kept (devkit default [3]). */
  static ambigStates: readonly number[] = [3];

  constructor(points: Float32Array[]) {
    super(points, RadarPointCloud.NBR_DIMS);
  }

  nbrDims(): number {
    return RadarPointCloud.NBR_DIMS;
  }

  static empty(): RadarPointCloud {
    return new RadarPointCloud(Array.from({ length: RadarPointCloud.NBR_DIMS }, () => new Float32Array(0)));
  }

  /** Changes the class-wide filters (the lists given replace the current ones). */
  static setFilters(filters: RadarFilters): void {
    if (filters.invalidStates !== undefined) RadarPointCloud.invalidStates = [...filters.invalidStates];
    if (filters.dynpropStates !== undefined) RadarPointCloud.dynpropStates = [...filters.dynpropStates];
    if (filters.ambigStates !== undefined) RadarPointCloud.ambigStates = [...filters.ambigStates];
  }

  /** The devkit's `disable_filters`: keep every return (invalid 0..17, dyn_prop 0..7, ambig 0..4). */
  static disableFilters(): void {
    RadarPointCloud.setFilters({ invalidStates: range(18), dynpropStates: range(8), ambigStates: range(5) });
  }

  /** The devkit's `default_filters`. */
  static defaultFilters(): void {
    RadarPointCloud.setFilters({ invalidStates: [0], dynpropStates: range(7), ambigStates: [3] });
  }

  /**
   * Parses the bytes of a radar `.pcd` and applies the filters (per-call lists override the class-wide
   * ones). As in the devkit, a NaN anywhere in the first point means an empty cloud.
   */
  static fromBuffer(bytes: Uint8Array, filters: RadarFilters = {}, source = 'radar data'): RadarPointCloud {
    const { header, columns } = parsePcd(bytes, source);
    if (header.fields.length !== RadarPointCloud.NBR_DIMS) {
      throw new SpikedriveError(
        `${source}: a nuScenes radar PCD has ${RadarPointCloud.NBR_DIMS} fields, this one has ${header.fields.length} (${header.fields.map((f) => f.name).join(' ')})`,
        {
          subject: source,
          fix: `Use a nuScenes RADAR_* .pcd with FIELDS ${RADAR_PCD_FIELDS.map((f) => f.name).join(' ')}.`,
        },
      );
    }
    const n = header.points;
    if (n === 0 || columns.some((column) => Number.isNaN(column[0]))) return RadarPointCloud.empty();
    const invalid = new Set(filters.invalidStates ?? RadarPointCloud.invalidStates);
    const dynprop = new Set(filters.dynpropStates ?? RadarPointCloud.dynpropStates);
    const ambig = new Set(filters.ambigStates ?? RadarPointCloud.ambigStates);
    const keep = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      keep[i] =
        invalid.has(columns[INVALID_STATE_ROW][i]) &&
        dynprop.has(columns[DYN_PROP_ROW][i]) &&
        ambig.has(columns[AMBIG_STATE_ROW][i])
          ? 1
          : 0;
    }
    const pc = new RadarPointCloud(columns.map((column) => Float32Array.from(column)));
    pc.keepPoints(keep);
    return pc;
  }

  /** The devkit's `from_file`: reads a radar `.pcd` (the path must end in `.pcd`). */
  static async fromFile(path: string, filters: RadarFilters = {}): Promise<RadarPointCloud> {
    checkExtension(path, '.pcd', 'radar');
    return RadarPointCloud.fromBuffer(await readBlob(path), filters, path);
  }

  static fromFileSync(path: string, filters: RadarFilters = {}): RadarPointCloud {
    checkExtension(path, '.pcd', 'radar');
    return RadarPointCloud.fromBuffer(readBlobSync(path), filters, path);
  }

  /**
   * The devkit's `from_file_multisweep` for radar (class-wide filters apply): see
   * `LidarPointCloud.fromFileMultisweep`. Only x, y, z are transformed; the velocity rows stay in each
   * sweep's own radar frame, as in the devkit.
   */
  static fromFileMultisweep(
    nusc: SweepSource,
    sample: MultisweepSample,
    channel: SensorChannel,
    refChannel: SensorChannel,
    nsweeps = 5,
    minDistanceM = 1,
  ): Promise<MultisweepResult<RadarPointCloud>> {
    return fromFileMultisweep(
      {
        nbrDims: RadarPointCloud.NBR_DIMS,
        fromFile: (path) => RadarPointCloud.fromFile(path),
        create: (rows) => new RadarPointCloud(rows),
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

/** Writes 18 radar rows (in RADAR_PCD_FIELDS order) as a nuScenes-style binary PCD v0.7. */
export function encodeRadarPcd(rows: readonly ArrayLike<number>[]): Uint8Array {
  if (rows.length !== RadarPointCloud.NBR_DIMS) {
    throw new RangeError(`encodeRadarPcd needs ${RadarPointCloud.NBR_DIMS} rows, got ${rows.length}`);
  }
  return encodePcd(RADAR_PCD_FIELDS, rows);
}
