import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SpikedriveError } from '../../../src/util/index.ts';
import {
  type ImageAnnotation,
  type LoadedTableName,
  OPTIONAL_TABLE_NAMES,
  RELEASE_VERSIONS,
  TABLE_NAMES,
} from '../types.ts';
import {
  type JsonArrayReadOptions,
  readJsonArray,
  readJsonArraySync,
  readJsonArrayWhole,
} from './json-array.ts';
import {
  badField,
  ColumnarTable,
  type ColumnSpec,
  danglingLink,
  type JsonRecord,
  type LinkResolver,
  ObjectTable,
  type Table,
} from './table.ts';

/** The tables stored column by column (millions of rows in trainval); the rest are plain objects. */
export const COLUMNAR_SCHEMAS: Partial<Record<LoadedTableName, readonly ColumnSpec[]>> = {
  ego_pose: [
    { field: 'token', kind: 'token' },
    { field: 'timestamp', kind: 'number', width: 1 },
    { field: 'rotation', kind: 'number', width: 4 },
    { field: 'translation', kind: 'number', width: 3 },
  ],
  sample_data: [
    { field: 'token', kind: 'token' },
    { field: 'sample_token', kind: 'link', target: 'sample' },
    { field: 'ego_pose_token', kind: 'link', target: 'ego_pose' },
    { field: 'calibrated_sensor_token', kind: 'link', target: 'calibrated_sensor' },
    { field: 'timestamp', kind: 'number', width: 1 },
    // Not read by the devkit; defaults keep hand-made datasets that omit them loadable.
    { field: 'fileformat', kind: 'dict', default: '' },
    { field: 'is_key_frame', kind: 'bool' },
    { field: 'height', kind: 'number', width: 1, integer: true, default: 0 },
    { field: 'width', kind: 'number', width: 1, integer: true, default: 0 },
    { field: 'filename', kind: 'path' },
    { field: 'prev', kind: 'link', target: 'self', optional: true },
    { field: 'next', kind: 'link', target: 'self', optional: true },
  ],
  sample_annotation: [
    { field: 'token', kind: 'token' },
    { field: 'sample_token', kind: 'link', target: 'sample' },
    { field: 'instance_token', kind: 'link', target: 'instance' },
    { field: 'visibility_token', kind: 'link', target: 'visibility', optional: true, default: '' },
    { field: 'attribute_tokens', kind: 'links', target: 'attribute', default: [] },
    { field: 'translation', kind: 'number', width: 3 },
    { field: 'size', kind: 'number', width: 3 },
    { field: 'rotation', kind: 'number', width: 4 },
    { field: 'prev', kind: 'link', target: 'self', optional: true },
    { field: 'next', kind: 'link', target: 'self', optional: true },
    { field: 'num_lidar_pts', kind: 'number', width: 1, integer: true, default: 0 },
    { field: 'num_radar_pts', kind: 'number', width: 1, integer: true, default: 0 },
  ],
};

/**
 * Links of the object tables, checked once every table is loaded: [table, field, target table,
 * may be empty]. The columnar tables check theirs while loading.
 */
const OBJECT_LINKS: readonly [LoadedTableName, string, LoadedTableName, boolean][] = [
  ['instance', 'category_token', 'category', false],
  ['instance', 'first_annotation_token', 'sample_annotation', true],
  ['instance', 'last_annotation_token', 'sample_annotation', true],
  ['calibrated_sensor', 'sensor_token', 'sensor', false],
  ['scene', 'log_token', 'log', false],
  ['scene', 'first_sample_token', 'sample', true],
  ['scene', 'last_sample_token', 'sample', true],
  ['sample', 'scene_token', 'scene', false],
  ['sample', 'prev', 'sample', true],
  ['sample', 'next', 'sample', true],
  ['lidarseg', 'sample_data_token', 'sample_data', false],
  ['panoptic', 'sample_data_token', 'sample_data', false],
];

/** Fields the derived indexes read from object tables: [table, field, expected, check]. */
const REQUIRED_FIELDS: readonly [LoadedTableName, string, string, (v: unknown) => boolean][] = [
  ['category', 'name', 'a string', (v) => typeof v === 'string'],
  ['sensor', 'channel', 'a string', (v) => typeof v === 'string'],
  [
    'sensor',
    'modality',
    "'camera', 'lidar' or 'radar'",
    (v) => v === 'camera' || v === 'lidar' || v === 'radar',
  ],
  ['calibrated_sensor', 'translation', 'a list of 3 numbers', (v) => isNumbers(v, 3)],
  ['calibrated_sensor', 'rotation', 'a list of 4 numbers [w, x, y, z]', (v) => isNumbers(v, 4)],
  ['sample', 'timestamp', 'a number (microseconds)', (v) => typeof v === 'number'],
  ['log', 'location', 'a string', (v) => typeof v === 'string'],
  ['map', 'filename', 'a file name', (v) => typeof v === 'string'],
];

function isNumbers(v: unknown, n: number): boolean {
  return Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number');
}

export interface LoadTablesOptions extends JsonArrayReadOptions {
  dataroot: string;
  version: string;
  /** Called after each table with its name, row count and seconds taken. */
  onTable?: (name: LoadedTableName, rows: number, seconds: number) => void;
}

export interface LoadedTables {
  tableRoot: string;
  /** Table names in load order: the 13, then lidarseg/panoptic when present. */
  names: LoadedTableName[];
  tables: Map<LoadedTableName, Table<unknown>>;
  imageAnnotations: ImageAnnotation[] | undefined;
}

function fileName(version: string, table: string): string {
  return `${version}/${table}.json`;
}

/** Checks the dataroot and version folder and lists the table files, before anything is read. */
export function checkDataroot(
  dataroot: string,
  version: string,
): { tableRoot: string; optional: LoadedTableName[] } {
  if (!existsSync(dataroot) || !statSync(dataroot).isDirectory()) {
    throw new SpikedriveError(`nuScenes dataroot ${dataroot} does not exist or is not a folder`, {
      subject: dataroot,
      fix: 'Pass --dataroot the folder that holds v1.0-*/, samples/, sweeps/ and maps/ (e.g. /data/sets/nuscenes).',
    });
  }
  const tableRoot = join(dataroot, version);
  if (!existsSync(tableRoot) || !statSync(tableRoot).isDirectory()) {
    const present = readdirSync(dataroot, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(dataroot, d.name, 'sample.json')))
      .map((d) => d.name)
      .sort();
    const valid = RELEASE_VERSIONS.join(', ');
    const known = (RELEASE_VERSIONS as readonly string[]).includes(version);
    throw new SpikedriveError(
      `Database version not found: ${tableRoot}${known ? '' : ` ("${version}" is not a nuScenes release: ${valid})`}. ` +
        (present.length > 0
          ? `Version folders in ${dataroot}: ${present.join(', ')}.`
          : `${dataroot} has no version folder with tables.`),
      {
        subject: tableRoot,
        fix:
          present.length > 0
            ? `Use --version ${present[0]}${present.length > 1 ? ` (or ${present.slice(1).join(', ')})` : ''}.`
            : `Unpack the nuScenes metadata (e.g. v1.0-mini.tgz) into ${dataroot}, so that ${dataroot}/v1.0-mini/sample.json exists.`,
      },
    );
  }
  const missing = TABLE_NAMES.filter((t) => !existsSync(join(tableRoot, `${t}.json`)));
  if (missing.length > 0) {
    throw new SpikedriveError(
      `${tableRoot} lacks ${missing.length === 1 ? 'the table' : `${missing.length} tables`}: ${missing.map((t) => `${t}.json`).join(', ')}`,
      {
        subject: join(tableRoot, `${missing[0]}.json`),
        fix: `All 13 tables must be present (an empty one may be []); re-extract the ${version} metadata archive.`,
      },
    );
  }
  const optional = OPTIONAL_TABLE_NAMES.filter((t) => existsSync(join(tableRoot, `${t}.json`)));
  return { tableRoot, optional };
}

/**
 * Builds tables as their records arrive. The same builder serves the synchronous and the asynchronous
 * loader; only the file reading differs.
 */
class TablesBuilder implements LinkResolver {
  readonly tables = new Map<LoadedTableName, Table<unknown>>();
  private readonly version: string;

  constructor(version: string) {
    this.version = version;
  }

  table(name: string): Table<unknown> | undefined {
    return this.tables.get(name as LoadedTableName);
  }

  /** Starts a table; returns the sink for its records and the function that completes it. */
  begin(name: LoadedTableName): {
    sink: (records: unknown[], first: number) => void;
    end: () => Table<unknown>;
  } {
    const file = fileName(this.version, name);
    const schema = COLUMNAR_SCHEMAS[name];
    if (schema) {
      const table = new ColumnarTable<{ token: string }>(name, file, schema, this);
      return {
        sink: (records, first) => table.add(records, first),
        end: () => {
          table.finish();
          this.tables.set(name, table);
          return table;
        },
      };
    }
    const parts: unknown[][] = [];
    return {
      sink: (records) => {
        parts.push(records);
      },
      end: () => {
        const records = (parts.length === 1 ? parts[0] : parts.flat()) as { token: string }[];
        const table = new ObjectTable(name, file, records);
        this.tables.set(name, table);
        return table;
      },
    };
  }

  /** Field and link checks of the object tables, once everything is loaded. */
  check(): void {
    for (const [name, field, expected, ok] of REQUIRED_FIELDS) {
      const table = this.tables.get(name) as ObjectTable<JsonRecord & { token: string }> | undefined;
      if (!table) continue;
      table.records.forEach((record, row) => {
        if (!ok(record[field])) throw badField(table.file, record.token, row, field, expected, record[field]);
      });
    }
    for (const [name, field, targetName, mayBeEmpty] of OBJECT_LINKS) {
      const table = this.tables.get(name) as ObjectTable<JsonRecord & { token: string }> | undefined;
      const target = this.tables.get(targetName);
      if (!table || !target) continue;
      table.records.forEach((record, row) => {
        const value = record[field];
        if (typeof value !== 'string')
          throw badField(table.file, record.token, row, field, 'a token string', value);
        if (value === '' && mayBeEmpty) return;
        if (target.indexOf(value) < 0)
          throw danglingLink(table.file, record.token, field, value, target.file);
      });
    }
    const map = this.tables.get('map') as ObjectTable<JsonRecord & { token: string }>;
    const log = this.tables.get('log') as ObjectTable<JsonRecord & { token: string }>;
    map.records.forEach((record, row) => {
      const logs = record.log_tokens;
      if (!Array.isArray(logs)) {
        throw badField(map.file, record.token, row, 'log_tokens', 'a list of log tokens', logs);
      }
      for (const token of logs) {
        if (typeof token !== 'string' || log.indexOf(token) < 0) {
          throw danglingLink(map.file, record.token, 'log_tokens', String(token), log.file);
        }
      }
    });
  }
}

function plan(options: LoadTablesOptions) {
  const { tableRoot, optional } = checkDataroot(options.dataroot, options.version);
  const names: LoadedTableName[] = [...TABLE_NAMES, ...optional];
  return { tableRoot, names, builder: new TablesBuilder(options.version) };
}

function readImageAnnotations(tableRoot: string, version: string): ImageAnnotation[] | undefined {
  const path = join(tableRoot, 'image_annotations.json');
  if (!existsSync(path)) return undefined;
  return readJsonArrayWhole(path, fileName(version, 'image_annotations')) as ImageAnnotation[];
}

/** Loads every table of a release synchronously (big files are streamed, see json-array.ts). */
export function loadTablesSync(options: LoadTablesOptions): LoadedTables {
  const { tableRoot, names, builder } = plan(options);
  for (const name of names) {
    const started = performance.now();
    const { sink, end } = builder.begin(name);
    readJsonArraySync(join(tableRoot, `${name}.json`), fileName(options.version, name), sink, options);
    const table = end();
    options.onTable?.(name, table.length, (performance.now() - started) / 1000);
  }
  builder.check();
  return {
    tableRoot,
    names,
    tables: builder.tables,
    imageAnnotations: readImageAnnotations(tableRoot, options.version),
  };
}

/** The same as `loadTablesSync`, reading files asynchronously (the event loop stays responsive). */
export async function loadTables(options: LoadTablesOptions): Promise<LoadedTables> {
  const { tableRoot, names, builder } = plan(options);
  for (const name of names) {
    const started = performance.now();
    const { sink, end } = builder.begin(name);
    await readJsonArray(join(tableRoot, `${name}.json`), fileName(options.version, name), sink, options);
    const table = end();
    options.onTable?.(name, table.length, (performance.now() - started) / 1000);
  }
  builder.check();
  return {
    tableRoot,
    names,
    tables: builder.tables,
    imageAnnotations: readImageAnnotations(tableRoot, options.version),
  };
}
