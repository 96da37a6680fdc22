import { join } from 'node:path';
import { SpikedriveError } from '../../../src/util/index.ts';
import { type Matrix, multiplyMatrices, Quaternion, transformMatrix } from '../geometry/index.ts';
import type { Sample, SensorChannel, TableRecords } from '../types.ts';
import type { PointCloud } from './point-cloud.ts';
import { concatRows } from './point-cloud.ts';

/** The tables multisweep reads. */
export type SweepTable = 'sample_data' | 'ego_pose' | 'calibrated_sensor';

/**
 * What multisweep needs of a `NuScenes` instance: the dataroot (sample_data filenames are relative to it)
 * and `get(table, token)` for three tables, as the devkit's `nusc.get`. The `NuScenes` class satisfies it;
 * so does a small stub in tests.
 */
export interface SweepSource {
  readonly dataroot: string;
  get<K extends SweepTable>(table: K, token: string): TableRecords[K];
}

/** The part of a sample record multisweep reads: its token (for errors) and the derived `data` map. */
export type MultisweepSample = Pick<Sample, 'token' | 'data'>;

export interface MultisweepResult<T extends PointCloud> {
  /** All sweeps' points in the reference sensor frame at the reference time, newest sweep first. */
  pointCloud: T;
  /** Per point: t_ref − t_sweep in seconds (≥ 0 for earlier sweeps), the devkit's time-lag row. */
  times: Float64Array;
}

/** How multisweep makes and reads clouds of one kind. */
export interface PointCloudKind<T extends PointCloud> {
  nbrDims: number;
  fromFile(path: string): Promise<T>;
  create(rows: Float32Array[]): T;
}

function sampleDataToken(sample: MultisweepSample, channel: SensorChannel, role: string): string {
  const token = sample.data?.[channel];
  if (token === undefined || token === '') {
    const channels = Object.keys(sample.data ?? {});
    throw new SpikedriveError(`Sample ${sample.token} has no ${channel} keyframe (the ${role} channel)`, {
      subject: sample.token,
      fix:
        channels.length > 0
          ? `Pick one of its channels: ${channels.join(', ')}.`
          : 'Pass a sample loaded by NuScenes (its derived `data` map lists the keyframe per channel).',
    });
  }
  return token;
}

/**
 * The devkit's `PointCloud.from_file_multisweep`. Starting at the sample's keyframe of `channel`, it reads
 * up to `nsweeps` sweeps back along the sample_data `prev` chain (stopping where the chain ends), drops
 * points within `minDistanceM` of each sweep's sensor (square test, `removeClose`), and maps every sweep
 * into the reference sensor frame at the reference time with ref←car · car←global(t_ref) ·
 * global←car(t_i) · car←sensor_i, where the reference is the sample's keyframe of `refChannel`. Each point
 * also gets its time lag t_ref − t_i in seconds.
 */
export async function fromFileMultisweep<T extends PointCloud>(
  kind: PointCloudKind<T>,
  nusc: SweepSource,
  sample: MultisweepSample,
  channel: SensorChannel,
  refChannel: SensorChannel,
  nsweeps = 5,
  minDistanceM = 1,
): Promise<MultisweepResult<T>> {
  if (!Number.isInteger(nsweeps) || nsweeps < 0) {
    throw new SpikedriveError(`nsweeps must be a whole number >= 0, got ${nsweeps}`, {
      subject: 'nsweeps',
      fix: 'Pass the number of sweeps to aggregate, e.g. 5 (lidar runs at 20 Hz, so 10 sweeps span 0.5 s).',
    });
  }
  const refSd = nusc.get('sample_data', sampleDataToken(sample, refChannel, 'reference'));
  const refPose = nusc.get('ego_pose', refSd.ego_pose_token);
  const refCs = nusc.get('calibrated_sensor', refSd.calibrated_sensor_token);
  // Same expression as the devkit (seconds first, then the difference) so the lags agree to the last bit.
  const refTimeS = 1e-6 * refSd.timestamp;
  const refFromCar = transformMatrix(refCs.translation, Quaternion.fromArray(refCs.rotation), true);
  const carFromGlobal = transformMatrix(refPose.translation, Quaternion.fromArray(refPose.rotation), true);
  const refFromGlobal: Matrix = multiplyMatrices(refFromCar, carFromGlobal);

  const clouds: Float32Array[][] = [];
  const lags: { lagS: number; count: number }[] = [];
  let current = nusc.get('sample_data', sampleDataToken(sample, channel, 'sweep'));
  for (let sweep = 0; sweep < nsweeps; sweep++) {
    const pc = await kind.fromFile(join(nusc.dataroot, current.filename));
    pc.removeClose(minDistanceM);
    const pose = nusc.get('ego_pose', current.ego_pose_token);
    const cs = nusc.get('calibrated_sensor', current.calibrated_sensor_token);
    const globalFromCar = transformMatrix(pose.translation, Quaternion.fromArray(pose.rotation), false);
    const carFromCurrent = transformMatrix(cs.translation, Quaternion.fromArray(cs.rotation), false);
    // The devkit's reduce(np.dot, [...]) multiplies left to right.
    pc.transform(multiplyMatrices(multiplyMatrices(refFromGlobal, globalFromCar), carFromCurrent));
    clouds.push(pc.points);
    lags.push({ lagS: refTimeS - 1e-6 * current.timestamp, count: pc.nbrPoints() });
    if (current.prev === '') break;
    current = nusc.get('sample_data', current.prev);
  }

  const pointCloud = kind.create(concatRows(clouds, kind.nbrDims));
  const times = new Float64Array(pointCloud.nbrPoints());
  let offset = 0;
  for (const { lagS, count } of lags) {
    times.fill(lagS, offset, offset + count);
    offset += count;
  }
  return { pointCloud, times };
}
