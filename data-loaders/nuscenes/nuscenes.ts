import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SpikedriveError } from '../../src/util/index.ts';
import {
  Box,
  BoxVisibility,
  boxInImage,
  type Matrix,
  multiplyMatrices,
  Quaternion,
  transformMatrix,
} from './geometry/index.ts';
import { MapMask } from './map-mask.ts';
import { type LoadedTables, type LoadTablesOptions, loadTables, loadTablesSync } from './tables/load.ts';
import type { ColumnarTable, ObjectTable, Table } from './tables/table.ts';
import type {
  CalibratedSensor,
  Category,
  EgoPose,
  ImageAnnotation,
  Instance,
  LoadedTableName,
  Log,
  MapRecord,
  NuScenesRecords,
  Sample,
  Scene,
  Sensor,
  SensorChannel,
  SensorModality,
  Vec3,
} from './types.ts';

export interface NuScenesOptions {
  /** Release folder name: v1.0-mini, v1.0-trainval or v1.0-test (any folder of the dataroot loads). */
  version?: string;
  /** The folder holding v1.0-*, samples/, sweeps/, maps/. */
  dataroot?: string;
  /** Print table counts and timings while loading (default true, as the devkit). */
  verbose?: boolean;
  /** Metres per pixel of the legacy map masks (default 0.1, at least 0.1). */
  mapResolution?: number;
  /** Where verbose lines go (default console.log). */
  log?: (line: string) => void;
  /** Files at least this large are streamed (default 16 MiB); 0 streams all (tests). */
  streamThresholdBytes?: number;
}

export interface GetSampleDataOptions {
  /** For cameras: how much of a box must be in the image (default ANY). */
  boxVisLevel?: BoxVisibility;
  /** Only these annotations (their current, non-interpolated boxes), as the devkit's selected_anntokens. */
  selectedAnnTokens?: readonly string[];
  /** Boxes in the ego frame with the ego yaw only (parallel to the ground), instead of the sensor frame. */
  useFlatVehicleCoordinates?: boolean;
}

export interface SampleDataResult {
  /** Absolute path of the blob (not checked for existence, as in the devkit). */
  path: string;
  /** Boxes in the sensor frame (or flat ego frame), cameras: only those passing boxInImage. */
  boxes: Box[];
  /** 3×3 for cameras, undefined for lidar and radar. */
  cameraIntrinsic: Matrix | undefined;
}

type Records = NuScenesRecords;
type SampleDataRecord = Records['sample_data'];
type AnnotationRecord = Records['sample_annotation'];

const DEFAULT_DATAROOT = '/data/sets/nuscenes';

/**
 * The nuScenes database, as the devkit's `NuScenes`: loads the 13 tables of a release (plus lidarseg and
 * panoptic when present), checks them, builds the reverse indexes and the derived fields
 * (`category_name`, `sensor_modality`, `channel`, `sample.data`, `sample.anns`, `log.map_token`), and
 * answers `get(table, token)` in O(1).
 *
 * sample_data, ego_pose and sample_annotation are stored column by column (trainval has millions of
 * rows); `get` on them returns a fresh record object each call. Records of the other tables are shared
 * objects: treat every record as read-only.
 */
export class NuScenes {
  readonly version: string;
  readonly dataroot: string;
  readonly verbose: boolean;
  readonly mapResolution: number;
  /** Table names in load order: the 13, then lidarseg/panoptic when present. */
  readonly tableNames: readonly LoadedTableName[];
  /** `image_annotations.json` rows when the file exists (not indexed: its rows have no token). */
  readonly imageAnnotations: readonly ImageAnnotation[] | undefined;
  /** Seconds spent loading tables and building indexes. */
  readonly loadSeconds: number;

  private readonly tables: Map<LoadedTableName, Table<unknown>>;
  private readonly sampleDataTable: ColumnarTable<SampleDataRecord>;
  private readonly egoPoseTable: ColumnarTable<EgoPose>;
  private readonly annotationTable: ColumnarTable<AnnotationRecord>;
  /** Per calibrated_sensor row: its sensor's channel and modality. */
  private readonly csChannel: SensorChannel[];
  private readonly csModality: SensorModality[];
  /** Per instance row: its category name. */
  private readonly instanceCategory: string[];
  private readonly mapMasks = new Map<string, MapMask>();

  /**
   * Loads synchronously (big tables are still streamed). `preloaded` is internal: `NuScenes.load` reads
   * the tables asynchronously and hands them over.
   */
  constructor(options: NuScenesOptions = {}, preloaded?: { loaded: LoadedTables; started: number }) {
    const started = preloaded?.started ?? performance.now();
    const settings = NuScenes.settings(options);
    if (!preloaded) NuScenes.announce(settings);
    const loaded = preloaded?.loaded ?? loadTablesSync(settings.load);
    this.version = settings.version;
    this.dataroot = settings.dataroot;
    this.verbose = settings.verbose;
    this.mapResolution = settings.mapResolution;
    this.tableNames = loaded.names;
    this.imageAnnotations = loaded.imageAnnotations;
    this.tables = loaded.tables;
    this.sampleDataTable = this.tables.get('sample_data') as ColumnarTable<SampleDataRecord>;
    this.egoPoseTable = this.tables.get('ego_pose') as ColumnarTable<EgoPose>;
    this.annotationTable = this.tables.get('sample_annotation') as ColumnarTable<AnnotationRecord>;
    const derived = this.buildDerived(loaded);
    this.csChannel = derived.csChannel;
    this.csModality = derived.csModality;
    this.instanceCategory = derived.instanceCategory;
    this.loadSeconds = (performance.now() - started) / 1000;
    if (settings.verbose)
      settings.log(`Done loading and indexing in ${this.loadSeconds.toFixed(3)} seconds.\n======`);
  }

  /**
   * Loads asynchronously: files are read without blocking the event loop between chunks (a progress
   * bar keeps moving). `onTable` is called after each table.
   */
  static async load(
    options: NuScenesOptions & {
      onTable?: (name: LoadedTableName, rows: number, seconds: number) => void;
    } = {},
  ): Promise<NuScenes> {
    const started = performance.now();
    const settings = NuScenes.settings(options);
    NuScenes.announce(settings);
    const onTable = settings.load.onTable;
    const loaded = await loadTables({
      ...settings.load,
      onTable: (name, rows, seconds) => {
        onTable?.(name, rows, seconds);
        options.onTable?.(name, rows, seconds);
      },
    });
    return new NuScenes(options, { loaded, started });
  }

  private static settings(options: NuScenesOptions) {
    const version = options.version ?? 'v1.0-mini';
    const dataroot = options.dataroot ?? DEFAULT_DATAROOT;
    const verbose = options.verbose ?? true;
    const log = options.log ?? ((line: string) => console.log(line));
    const mapResolution = options.mapResolution ?? 0.1;
    const load: LoadTablesOptions = {
      dataroot,
      version,
      streamThresholdBytes: options.streamThresholdBytes,
      onTable: verbose ? (name, rows) => log(`${rows} ${name},`) : undefined,
    };
    return { version, dataroot, verbose, log, mapResolution, load };
  }

  private static announce(settings: ReturnType<typeof NuScenes.settings>): void {
    if (settings.verbose) settings.log(`======\nLoading NuScenes tables for version ${settings.version}...`);
  }

  /** The folder holding the tables, `<dataroot>/<version>`. */
  get tableRoot(): string {
    return join(this.dataroot, this.version);
  }

  // ---------------------------------------------------------------- reverse indexes and derived fields

  private buildDerived(loaded: LoadedTables) {
    const sensor = this.objectTable('sensor');
    const cs = this.objectTable('calibrated_sensor');
    const category = this.objectTable('category');
    const instance = this.objectTable('instance');
    const csChannel: SensorChannel[] = [];
    const csModality: SensorModality[] = [];
    for (const record of cs.records) {
      const s = sensor.records[sensor.indexOf(record.sensor_token)];
      csChannel.push(s.channel);
      csModality.push(s.modality);
    }
    const instanceCategory = instance.records.map((record) => {
      return (category.records[category.indexOf(record.category_token)] as Category).name;
    });

    // sample.data (keyframes only, later rows win as in the devkit's dict) and sample.anns (table order).
    const samples = this.objectTable('sample');
    for (const record of samples.records) {
      const r = record as Records['sample'];
      r.data = {};
      r.anns = [];
    }
    const sd = this.sampleDataTable;
    const sdSample = sd.links('sample_token');
    const sdCs = sd.links('calibrated_sensor_token');
    const sdKey = sd.numbers('is_key_frame');
    for (let row = 0; row < sd.length; row++) {
      if (sdKey[row] !== 1) continue;
      const sample = samples.records[sdSample[row]] as Records['sample'];
      sample.data[csChannel[sdCs[row]]] = sd.tokenAt(row);
    }
    const ann = this.annotationTable;
    const annSample = ann.links('sample_token');
    for (let row = 0; row < ann.length; row++) {
      (samples.records[annSample[row]] as Records['sample']).anns.push(ann.tokenAt(row));
    }

    // log.map_token: the map table may not be empty and must list every log.
    const maps = this.objectTable('map');
    if (maps.length === 0) {
      throw new SpikedriveError(`${maps.file} is empty`, {
        subject: maps.file,
        fix: 'The map table needs at least one record whose log_tokens list every log (the devkit requires it).',
      });
    }
    const logToMap = new Map<string, string>();
    for (const record of maps.records) {
      for (const logToken of record.log_tokens) logToMap.set(logToken, record.token);
    }
    const logs = this.objectTable('log');
    for (const record of logs.records) {
      const mapToken = logToMap.get(record.token);
      if (mapToken === undefined) {
        throw new SpikedriveError(
          `log ${record.token} (${record.logfile}, ${record.location}) is not listed in any map record's log_tokens`,
          {
            subject: `${logs.file}#${record.token}`,
            fix: `Add the log token to the log_tokens of the ${record.location} record in ${maps.file}.`,
          },
        );
      }
      (record as Records['log']).map_token = mapToken;
    }

    // Each map record's raster must exist (read lazily), as the devkit's MapMask asserts.
    for (const record of maps.records) {
      this.mapMasks.set(record.token, new MapMask(join(this.dataroot, record.filename), this.mapResolution));
    }

    this.checkLidarTasks(loaded, category);
    return { csChannel, csModality, instanceCategory };
  }

  /** lidarseg/panoptic: every category needs `index`, and the label folder holds one file per record. */
  private checkLidarTasks(loaded: LoadedTables, category: ObjectTable<Category>): void {
    for (const task of ['lidarseg', 'panoptic'] as const) {
      const table = loaded.tables.get(task);
      if (!table) continue;
      const missing = category.records.find((c) => typeof c.index !== 'number');
      if (missing) {
        throw new SpikedriveError(
          `${task}.json is present but category ${missing.name} (${missing.token}) has no index`,
          {
            subject: `${category.file}#${missing.token}`,
            fix: `Use the category.json that comes with nuScenes-${task}, not the original one.`,
          },
        );
      }
      const folder = join(this.dataroot, task, this.version);
      const ext = task === 'lidarseg' ? '.bin' : '.npz';
      const files = existsSync(folder)
        ? listFiles(folder).filter((f) => f.endsWith('.bin') || f.endsWith('.npz'))
        : [];
      if (files.length !== table.length) {
        throw new SpikedriveError(
          `there are ${files.length} label files in ${folder} but ${table.length} ${task} records`,
          {
            subject: folder,
            fix: `Extract the nuScenes-${task} archive for ${this.version} into ${this.dataroot} (one ${ext} per record), or remove ${task}.json.`,
          },
        );
      }
    }
  }

  private objectTable<T extends LoadedTableName>(name: T): ObjectTable<Records[T] & { token: string }> {
    return this.tables.get(name) as unknown as ObjectTable<Records[T] & { token: string }>;
  }

  private table(name: string): Table<unknown> {
    const table = this.tables.get(name as LoadedTableName);
    if (!table) {
      throw new SpikedriveError(`Table ${name} not found`, {
        subject: name,
        fix: `Use one of: ${this.tableNames.join(', ')}.`,
      });
    }
    return table;
  }

  // ---------------------------------------------------------------- records

  /** The record of a table by token, O(1), with the derived fields (the devkit's `get`). */
  get<T extends LoadedTableName>(table: T, token: string): Records[T] {
    return this.getAt(table, this.getind(table, token));
  }

  /** Row index of a token in its table (the devkit's `getind`). */
  getind(table: LoadedTableName, token: string): number {
    const t = this.table(table);
    const row = t.indexOf(token);
    if (row < 0) {
      throw new SpikedriveError(`${table} has no record with token ${JSON.stringify(token)}`, {
        subject: `${t.file}#${token}`,
        fix: `Check the token; it must come from this dataset (${this.version} in ${this.dataroot}).`,
      });
    }
    return row;
  }

  /** Same as `getind`. */
  getIndex(table: LoadedTableName, token: string): number {
    return this.getind(table, token);
  }

  /** Whether a table has a record with this token. */
  has(table: LoadedTableName, token: string): boolean {
    return this.table(table).indexOf(token) >= 0;
  }

  /** The record at a row of a table (rows are in file order). */
  getAt<T extends LoadedTableName>(table: T, row: number): Records[T] {
    const t = this.table(table);
    if (!(row >= 0 && row < t.length))
      throw new RangeError(`${table} row ${row} is out of range 0..${t.length - 1}`);
    const record = t.at(row) as Records[T];
    if (table === 'sample_data') {
      const r = record as SampleDataRecord;
      const cs = this.sampleDataTable.links('calibrated_sensor_token')[row];
      r.sensor_modality = this.csModality[cs];
      r.channel = this.csChannel[cs];
    } else if (table === 'sample_annotation') {
      const instance = this.annotationTable.links('instance_token')[row];
      (record as AnnotationRecord).category_name = this.instanceCategory[instance];
    }
    return record;
  }

  /** Number of records of a table. */
  count(table: LoadedTableName): number {
    return this.table(table).length;
  }

  /** Every record of a table, in file order. For the big tables this builds one object per row. */
  *records<T extends LoadedTableName>(table: T): Generator<Records[T]> {
    const n = this.table(table).length;
    for (let row = 0; row < n; row++) yield this.getAt(table, row);
  }

  /** The records of a table as an array (the devkit's `nusc.<table>`); mind the size for big tables. */
  all<T extends LoadedTableName>(table: T): Records[T][] {
    return [...this.records(table)];
  }

  /** Tokens of the records whose `field` equals `query` (a linear scan; arrays compare element-wise). */
  field2token<T extends LoadedTableName>(table: T, field: string, query: unknown): string[] {
    const matches: string[] = [];
    const t = this.table(table);
    const n = t.length;
    for (let row = 0; row < n; row++) {
      const record = this.getAt(table, row) as unknown as Record<string, unknown>;
      if (!(field in record)) {
        throw new SpikedriveError(`${table} records have no field ${field}`, {
          subject: `${table}.${field}`,
          fix: `Use a field of ${table}: ${Object.keys(record).join(', ')}.`,
        });
      }
      if (sameValue(record[field], query)) matches.push(t.tokenAt(row));
    }
    return matches;
  }

  /**
   * Absolute path of a sample_data blob. With `check` (the default) a missing file is a
   * SpikedriveError naming the file and the fix.
   */
  getSampleDataPath(sampleDataToken: string, options: { check?: boolean } = {}): string {
    const row = this.getind('sample_data', sampleDataToken);
    const filename = this.sampleDataTable.text('filename', row);
    const path = join(this.dataroot, filename);
    if ((options.check ?? true) && !existsSync(path)) {
      throw new SpikedriveError(
        `sample_data ${sampleDataToken}: file ${filename} is missing from ${this.dataroot}`,
        {
          subject: path,
          fix: `Download and extract the blobs (samples/ and sweeps/) of ${this.version} into ${this.dataroot}, or use the metadata-only API.`,
        },
      );
    }
    return path;
  }

  /**
   * Which sample_data blobs are missing on disk (all of them, or of some channels / keyframes only).
   * Returns the missing files' dataroot-relative names (at most `limit`, default all).
   */
  checkFiles(
    options: { channels?: readonly SensorChannel[]; keyFramesOnly?: boolean; limit?: number } = {},
  ): { checked: number; missing: string[] } {
    const sd = this.sampleDataTable;
    const cs = sd.links('calibrated_sensor_token');
    const key = sd.numbers('is_key_frame');
    const channels = options.channels ? new Set(options.channels) : undefined;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const missing: string[] = [];
    let checked = 0;
    for (let row = 0; row < sd.length && missing.length < limit; row++) {
      if (options.keyFramesOnly && key[row] !== 1) continue;
      if (channels && !channels.has(this.csChannel[cs[row]])) continue;
      const filename = sd.text('filename', row);
      checked++;
      if (!existsSync(join(this.dataroot, filename))) missing.push(filename);
    }
    return { checked, missing };
  }

  /** Throws a SpikedriveError listing the first missing blobs, if any (see `checkFiles`). */
  assertFilesExist(options: { channels?: readonly SensorChannel[]; keyFramesOnly?: boolean } = {}): void {
    const { checked, missing } = this.checkFiles({ ...options, limit: 6 });
    if (missing.length === 0) return;
    const shown = missing.slice(0, 5).join(', ');
    throw new SpikedriveError(
      `${missing.length > 5 ? 'more than 5' : missing.length} of ${checked} sample_data files are missing from ${this.dataroot} (e.g. ${shown})`,
      {
        subject: join(this.dataroot, missing[0]),
        fix: `Extract the ${this.version} blob archives (samples/, sweeps/) into ${this.dataroot}.`,
      },
    );
  }

  /** The legacy raster of a map record (or of a log, through its map_token). */
  getMapMask(token: string): MapMask {
    const mask = this.mapMasks.get(token) ?? this.mapMasks.get(this.get('log', token).map_token);
    if (!mask) throw new Error(`no map mask for ${token}`);
    return mask;
  }

  // ---------------------------------------------------------------- traversal

  /** The scene's samples in time order, first to last. */
  *sceneSamples(sceneToken: string): Generator<Records['sample']> {
    let token = this.get('scene', sceneToken).first_sample_token;
    while (token !== '') {
      const sample = this.get('sample', token);
      yield sample;
      token = sample.next;
    }
  }

  firstSample(sceneToken: string): Records['sample'] {
    return this.get('sample', this.get('scene', sceneToken).first_sample_token);
  }

  lastSample(sceneToken: string): Records['sample'] {
    return this.get('sample', this.get('scene', sceneToken).last_sample_token);
  }

  /** The previous keyframe sample of the same scene, or undefined at the scene start. */
  prevSample(sampleToken: string): Records['sample'] | undefined {
    const prev = this.get('sample', sampleToken).prev;
    return prev === '' ? undefined : this.get('sample', prev);
  }

  nextSample(sampleToken: string): Records['sample'] | undefined {
    const next = this.get('sample', sampleToken).next;
    return next === '' ? undefined : this.get('sample', next);
  }

  /** The previous sample_data of the same sensor (sweep or keyframe), or undefined. */
  prevSampleData(sampleDataToken: string): SampleDataRecord | undefined {
    const row = this.getind('sample_data', sampleDataToken);
    const prev = this.sampleDataTable.links('prev')[row];
    return prev < 0 ? undefined : this.getAt('sample_data', prev);
  }

  nextSampleData(sampleDataToken: string): SampleDataRecord | undefined {
    const row = this.getind('sample_data', sampleDataToken);
    const next = this.sampleDataTable.links('next')[row];
    return next < 0 ? undefined : this.getAt('sample_data', next);
  }

  /**
   * Walks a sensor's sample_data chain from `sampleDataToken` (excluded) towards `direction`, through
   * sweeps and keyframes, at most `maxCount` records (default: to the end of the scene).
   */
  *sampleDataChain(
    sampleDataToken: string,
    options: { direction?: 'prev' | 'next'; maxCount?: number } = {},
  ): Generator<SampleDataRecord> {
    const links = this.sampleDataTable.links(options.direction ?? 'next');
    let row = links[this.getind('sample_data', sampleDataToken)];
    let left = options.maxCount ?? Number.POSITIVE_INFINITY;
    while (row >= 0 && left-- > 0) {
      yield this.getAt('sample_data', row);
      row = links[row];
    }
  }

  /**
   * The sweeps (non-keyframes) of `channel` between a sample's keyframe and the neighbouring keyframe of
   * that channel, in time order (oldest first). `direction` 'prev' (default) gives those before the
   * sample, 'next' those after it.
   */
  sweeps(
    sampleToken: string,
    channel: SensorChannel,
    direction: 'prev' | 'next' = 'prev',
  ): SampleDataRecord[] {
    const sample = this.get('sample', sampleToken);
    const key = sample.data[channel];
    if (key === undefined) {
      throw new SpikedriveError(`sample ${sampleToken} has no ${channel} keyframe`, {
        subject: `sample#${sampleToken}`,
        fix: `Use one of its channels: ${Object.keys(sample.data).join(', ')}.`,
      });
    }
    const out: SampleDataRecord[] = [];
    for (const sd of this.sampleDataChain(key, { direction })) {
      if (sd.is_key_frame) break;
      out.push(sd);
    }
    return direction === 'prev' ? out.reverse() : out;
  }

  /** The scene of a sample. */
  sceneOf(sampleToken: string): Scene {
    return this.get('scene', this.get('sample', sampleToken).scene_token);
  }

  /** The log of a scene. */
  logOf(sceneToken: string): Records['log'] {
    return this.get('log', this.get('scene', sceneToken).log_token);
  }

  // ---------------------------------------------------------------- poses and calibration

  egoPoseOf(sampleDataToken: string): EgoPose {
    const row = this.getind('sample_data', sampleDataToken);
    return this.egoPoseTable.at(this.sampleDataTable.links('ego_pose_token')[row]);
  }

  calibratedSensorOf(sampleDataToken: string): CalibratedSensor {
    const row = this.getind('sample_data', sampleDataToken);
    return this.objectTable('calibrated_sensor').records[
      this.sampleDataTable.links('calibrated_sensor_token')[row]
    ];
  }

  sensorOf(sampleDataToken: string): Sensor {
    return this.get('sensor', this.calibratedSensorOf(sampleDataToken).sensor_token);
  }

  /** 4×4 sensor → ego (the calibrated_sensor extrinsics). */
  sensorToEgo(sampleDataToken: string): Matrix {
    const cs = this.calibratedSensorOf(sampleDataToken);
    return transformMatrix(cs.translation, Quaternion.fromArray(cs.rotation));
  }

  /** 4×4 ego → sensor. */
  egoToSensor(sampleDataToken: string): Matrix {
    const cs = this.calibratedSensorOf(sampleDataToken);
    return transformMatrix(cs.translation, Quaternion.fromArray(cs.rotation), true);
  }

  /** 4×4 ego (at the sample_data's timestamp) → global. */
  egoToGlobal(sampleDataToken: string): Matrix {
    const pose = this.egoPoseOf(sampleDataToken);
    return transformMatrix(pose.translation, Quaternion.fromArray(pose.rotation));
  }

  /** 4×4 global → ego (at the sample_data's timestamp). */
  globalToEgo(sampleDataToken: string): Matrix {
    const pose = this.egoPoseOf(sampleDataToken);
    return transformMatrix(pose.translation, Quaternion.fromArray(pose.rotation), true);
  }

  /** 4×4 sensor → global: egoToGlobal · sensorToEgo. */
  sensorToGlobal(sampleDataToken: string): Matrix {
    return multiplyMatrices(this.egoToGlobal(sampleDataToken), this.sensorToEgo(sampleDataToken));
  }

  /** 4×4 global → sensor: egoToSensor · globalToEgo. */
  globalToSensor(sampleDataToken: string): Matrix {
    return multiplyMatrices(this.egoToSensor(sampleDataToken), this.globalToEgo(sampleDataToken));
  }

  // ---------------------------------------------------------------- boxes

  /** The annotation's box in the global frame (the devkit's `get_box`). */
  getBox(sampleAnnotationToken: string): Box {
    const record = this.get('sample_annotation', sampleAnnotationToken);
    return new Box(record.translation, record.size, Quaternion.fromArray(record.rotation), {
      name: record.category_name,
      token: record.token,
    });
  }

  /**
   * Global-frame boxes of the annotations at a sample_data's time (the devkit's `get_boxes`). For a
   * keyframe, or when the sample has no predecessor, the sample's own boxes. For a sweep, each instance
   * also annotated in the previous sample gets its centre linearly interpolated and its rotation slerped
   * at (t − t0)/(t1 − t0), t clamped to [t0, t1], keeping the current size; other instances keep their
   * current box; instances only in the previous sample are dropped.
   */
  getBoxes(sampleDataToken: string): Box[] {
    const sd = this.get('sample_data', sampleDataToken);
    const current = this.get('sample', sd.sample_token);
    if (current.prev === '' || sd.is_key_frame) return current.anns.map((token) => this.getBox(token));
    const previous = this.get('sample', current.prev);
    const prevByInstance = new Map<string, AnnotationRecord>();
    for (const token of previous.anns) {
      const record = this.get('sample_annotation', token);
      prevByInstance.set(record.instance_token, record);
    }
    const t0 = previous.timestamp;
    const t1 = current.timestamp;
    if (t1 === t0) {
      throw new SpikedriveError(
        `samples ${previous.token} and ${current.token} have the same timestamp ${t0}`,
        {
          subject: `sample#${current.token}`,
          fix: 'Consecutive samples must have increasing timestamps; regenerate sample.json.',
        },
      );
    }
    // Rare database timestamps fall outside the keyframe interval: clamp, as the devkit does.
    const t = Math.max(t0, Math.min(t1, sd.timestamp));
    const amount = (t - t0) / (t1 - t0);
    return current.anns.map((token) => {
      const record = this.get('sample_annotation', token);
      const prev = prevByInstance.get(record.instance_token);
      if (!prev) return this.getBox(token);
      const center = record.translation.map((c1, k) => interp(t, t0, t1, prev.translation[k], c1));
      const rotation = Quaternion.slerp(
        Quaternion.fromArray(prev.rotation),
        Quaternion.fromArray(record.rotation),
        amount,
      );
      return new Box(center, record.size, rotation, { name: record.category_name, token: record.token });
    });
  }

  /**
   * The blob path, the boxes moved into the sensor frame (or the flat ego frame) and the camera
   * intrinsic (the devkit's `get_sample_data`). Camera boxes failing `boxInImage` at `boxVisLevel` are
   * dropped.
   */
  getSampleData(sampleDataToken: string, options: GetSampleDataOptions = {}): SampleDataResult {
    const sd = this.get('sample_data', sampleDataToken);
    const cs = this.calibratedSensorOf(sampleDataToken);
    const pose = this.egoPoseOf(sampleDataToken);
    const path = this.getSampleDataPath(sampleDataToken, { check: false });
    const isCamera = sd.sensor_modality === 'camera';
    let cameraIntrinsic: Matrix | undefined;
    if (isCamera) {
      const k = cs.camera_intrinsic as number[][];
      if (!Array.isArray(k) || k.length !== 3 || k.some((row) => !Array.isArray(row) || row.length !== 3)) {
        throw new SpikedriveError(
          `calibrated_sensor ${cs.token} (${sd.channel}) has camera_intrinsic = ${JSON.stringify(cs.camera_intrinsic)}; a camera needs a 3×3 matrix`,
          {
            subject: `${this.version}/calibrated_sensor.json#${cs.token}`,
            fix: 'Fix camera_intrinsic in calibrated_sensor.json (cameras: 3×3 K; lidar/radar: []).',
          },
        );
      }
      cameraIntrinsic = k.map((row) => [...row]);
    }
    const boxes = options.selectedAnnTokens
      ? options.selectedAnnTokens.map((token) => this.getBox(token))
      : this.getBoxes(sampleDataToken);
    const egoTranslation = pose.translation.map((v) => -v);
    const egoRotation = Quaternion.fromArray(pose.rotation);
    const out: Box[] = [];
    for (const box of boxes) {
      if (options.useFlatVehicleCoordinates) {
        // Ego frame with the yaw only (pyquaternion's yaw_pitch_roll[0]); no sensor step.
        const yaw = egoRotation.yawPitchRoll[0];
        box.translate(egoTranslation);
        box.rotate(new Quaternion(Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)).inverse);
      } else {
        box.translate(egoTranslation);
        box.rotate(egoRotation.inverse);
        box.translate(cs.translation.map((v) => -v));
        box.rotate(Quaternion.fromArray(cs.rotation).inverse);
      }
      if (
        isCamera &&
        cameraIntrinsic &&
        !boxInImage(box, cameraIntrinsic, [sd.width, sd.height], options.boxVisLevel ?? BoxVisibility.ANY)
      ) {
        continue;
      }
      out.push(box);
    }
    return { path, boxes: out, cameraIntrinsic };
  }

  /**
   * Velocity of an annotated object in m/s, global frame (the devkit's `box_velocity`): a central
   * difference over the prev/next annotations, one-sided at the ends, using the samples' timestamps.
   * NaN×3 when the object has a single annotation or the time gap exceeds `maxTimeDiffS` (doubled for
   * a central difference).
   */
  boxVelocity(sampleAnnotationToken: string, maxTimeDiffS = 1.5): Vec3 {
    const current = this.get('sample_annotation', sampleAnnotationToken);
    const hasPrev = current.prev !== '';
    const hasNext = current.next !== '';
    if (!hasPrev && !hasNext) return [Number.NaN, Number.NaN, Number.NaN];
    const first = hasPrev ? this.get('sample_annotation', current.prev) : current;
    const last = hasNext ? this.get('sample_annotation', current.next) : current;
    const timeLast = 1e-6 * this.get('sample', last.sample_token).timestamp;
    const timeFirst = 1e-6 * this.get('sample', first.sample_token).timestamp;
    const timeDiff = timeLast - timeFirst;
    const maxDiff = hasPrev && hasNext ? maxTimeDiffS * 2 : maxTimeDiffS;
    if (timeDiff > maxDiff) return [Number.NaN, Number.NaN, Number.NaN];
    return [0, 1, 2].map((k) => (last.translation[k] - first.translation[k]) / timeDiff) as Vec3;
  }

  // ---------------------------------------------------------------- small conveniences

  /** The records of the small tables, by name (shared objects; read-only). */
  get scenes(): readonly Scene[] {
    return this.objectTable('scene').records;
  }

  get logs(): readonly Log[] {
    return this.objectTable('log').records;
  }

  get maps(): readonly MapRecord[] {
    return this.objectTable('map').records;
  }

  get categories(): readonly Category[] {
    return this.objectTable('category').records;
  }

  get instances(): readonly Instance[] {
    return this.objectTable('instance').records;
  }

  get samples(): readonly Sample[] {
    return this.objectTable('sample').records;
  }

  get sensors(): readonly Sensor[] {
    return this.objectTable('sensor').records;
  }

  /** Bytes held in typed arrays by the big tables (outside the JS heap). */
  get columnarBytes(): number {
    return this.sampleDataTable.byteLength + this.egoPoseTable.byteLength + this.annotationTable.byteLength;
  }
}

/** numpy's interp for one point inside [x0, x1]: slope·(x − x0) + y0, and y1 exactly at x1. */
function interp(x: number, x0: number, x1: number, y0: number, y1: number): number {
  if (x === x1) return y1;
  return ((y1 - y0) / (x1 - x0)) * (x - x0) + y0;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  return a === b;
}

function listFiles(folder: string): string[] {
  try {
    return readdirSync(folder);
  } catch {
    return [];
  }
}
