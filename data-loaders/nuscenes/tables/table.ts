import { SpikedriveError } from '../../../src/util/index.ts';
import { DictionaryColumn, ListColumn, NumberColumn, PathColumn } from './columns.ts';
import { TokenColumn } from './token-column.ts';

/** One loaded table: rows in file order, an O(1) token → row index, records by row. */
export interface Table<R> {
  /** The table name, e.g. `sample_data`. */
  readonly name: string;
  /** The file name used in messages, e.g. `v1.0-mini/sample_data.json`. */
  readonly file: string;
  readonly length: number;
  /** Row of a token, or -1. */
  indexOf(token: string): number;
  tokenAt(row: number): string;
  /** The record of a row. Columnar tables build a fresh object per call. */
  at(row: number): R;
  /** Bytes of storage outside the JS heap (typed arrays); 0 for object tables. */
  readonly byteLength: number;
}

export type JsonRecord = Record<string, unknown>;

export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function badField(
  file: string,
  token: unknown,
  row: number,
  field: string,
  expected: string,
  value: unknown,
) {
  const who = typeof token === 'string' ? `record ${token}` : `record #${row}`;
  return new SpikedriveError(`${file}: ${who} has ${field} = ${describeValue(value)}; expected ${expected}`, {
    subject: `${file}#${typeof token === 'string' ? token : row}`,
    fix: `Fix or regenerate ${file}; the field layout is in the nuScenes schema (docs/data.md).`,
  });
}

export function danglingLink(file: string, token: string, field: string, target: string, targetFile: string) {
  return new SpikedriveError(
    `${file}: record ${token} has ${field} = "${target}", but ${targetFile} has no record with that token`,
    {
      subject: `${file}#${token}.${field}`,
      fix: `The tables do not belong together: re-download or regenerate the whole ${targetFile.split('/')[0]} folder so every link resolves.`,
    },
  );
}

export function duplicateToken(file: string, token: string, first: number, second: number) {
  return new SpikedriveError(`${file}: token ${token} appears twice (records #${first} and #${second})`, {
    subject: `${file}#${token}`,
    fix: `Every token must be unique within its table; regenerate ${file}.`,
  });
}

/** A small table kept as plain objects (category, scene, sample, …). */
export class ObjectTable<R extends { token: string }> implements Table<R> {
  readonly name: string;
  readonly file: string;
  readonly records: R[];
  private readonly index = new Map<string, number>();
  readonly byteLength = 0;

  constructor(name: string, file: string, records: R[]) {
    this.name = name;
    this.file = file;
    this.records = records;
    records.forEach((record, row) => {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw badField(file, undefined, row, 'the record', 'a JSON object', record);
      }
      if (typeof record.token !== 'string')
        throw badField(file, undefined, row, 'token', 'a string', record.token);
      const seen = this.index.get(record.token);
      if (seen !== undefined) throw duplicateToken(file, record.token, seen, row);
      this.index.set(record.token, row);
    });
  }

  get length(): number {
    return this.records.length;
  }

  indexOf(token: string): number {
    return this.index.get(token) ?? -1;
  }

  tokenAt(row: number): string {
    return this.records[row].token;
  }

  at(row: number): R {
    return this.records[row];
  }
}

/** How one JSON field of a columnar table is stored. */
export type ColumnSpec =
  | { field: string; kind: 'token' }
  /** A token of another table (or this one: target 'self'), stored as that table's row (−1 for ""). */
  | { field: string; kind: 'link'; target: string; optional?: boolean; default?: string }
  /** A list of tokens of a small table (attribute_tokens). */
  | { field: string; kind: 'links'; target: string; default?: string[] }
  /** `width` numbers (width > 1: a JSON array of that length). */
  | { field: string; kind: 'number'; width: 1 | 3 | 4; integer?: boolean; default?: number }
  | { field: string; kind: 'bool'; default?: boolean }
  /** A string from a small vocabulary. */
  | { field: string; kind: 'dict'; default?: string }
  /** A file name (compressed, see PathColumn). */
  | { field: string; kind: 'path' };

/** Finds the already loaded tables that links point to. */
export interface LinkResolver {
  table(name: string): Table<unknown> | undefined;
}

type SpecOf<K extends ColumnSpec['kind']> = Extract<ColumnSpec, { kind: K }>;
type Storage =
  | {
      kind: 'link';
      spec: SpecOf<'link'>;
      rows: NumberColumn<Int32Array>;
      /** Same-table links are kept as tokens until the table is complete. */
      pending: TokenColumn | undefined;
      target: Table<unknown> | undefined;
    }
  | { kind: 'links'; spec: SpecOf<'links'>; list: ListColumn; target: Table<unknown> }
  | { kind: 'number'; spec: SpecOf<'number'>; values: NumberColumn<Float64Array> }
  | { kind: 'bool'; spec: SpecOf<'bool'>; values: NumberColumn<Uint8Array> }
  | { kind: 'dict'; spec: SpecOf<'dict'>; dict: DictionaryColumn }
  | { kind: 'path'; spec: SpecOf<'path'>; paths: PathColumn }
  | { kind: 'token'; spec: SpecOf<'token'> };

/**
 * A big table stored column by column in typed arrays (see columns.ts). `at(row)` rebuilds the JSON
 * record (the same fields in the same order); fields outside the schema are kept on the side.
 */
export class ColumnarTable<R extends { token: string }> implements Table<R> {
  readonly name: string;
  readonly file: string;
  readonly tokens: TokenColumn;
  private readonly storages: Storage[];
  private readonly known: Set<string>;
  private readonly extras = new Map<number, JsonRecord>();
  private finished = false;

  constructor(name: string, file: string, specs: readonly ColumnSpec[], resolver: LinkResolver) {
    this.name = name;
    this.file = file;
    this.tokens = new TokenColumn(0);
    this.known = new Set(specs.map((s) => s.field));
    this.storages = specs.map((spec): Storage => {
      switch (spec.kind) {
        case 'token':
          return { kind: 'token', spec };
        case 'link': {
          const rows = new NumberColumn(Int32Array, 1, 0);
          if (spec.target === 'self')
            return { kind: 'link', spec, rows, pending: new TokenColumn(0), target: undefined };
          const target = resolver.table(spec.target);
          if (!target) throw new Error(`${name}.${spec.field}: table ${spec.target} must be loaded first`);
          return { kind: 'link', spec, rows, pending: undefined, target };
        }
        case 'links': {
          const target = resolver.table(spec.target);
          if (!target) throw new Error(`${name}.${spec.field}: table ${spec.target} must be loaded first`);
          return { kind: 'links', spec, list: new ListColumn(0), target };
        }
        case 'number':
          return { kind: 'number', spec, values: new NumberColumn(Float64Array, spec.width, 0) };
        case 'bool':
          return { kind: 'bool', spec, values: new NumberColumn(Uint8Array, 1, 0) };
        case 'dict':
          return { kind: 'dict', spec, dict: new DictionaryColumn(0) };
        case 'path':
          return { kind: 'path', spec, paths: new PathColumn(0) };
        default:
          throw new Error(`unknown column kind in ${name}`);
      }
    });
  }

  get length(): number {
    return this.tokens.length;
  }

  /** Pre-sizes every column (from the file size, to avoid repeated growth). */
  reserve(rows: number): void {
    this.tokens.reserve(rows);
    for (const s of this.storages) {
      if ('rows' in s) s.rows.reserve(rows);
      else if ('list' in s) s.list.reserve(rows);
      else if ('values' in s) s.values.reserve(rows);
      else if ('dict' in s) s.dict.reserve(rows);
      else if ('paths' in s) s.paths.reserve(rows);
    }
  }

  /** Appends parsed records (in file order); `firstRow` is the array index of records[0]. */
  add(records: readonly unknown[], firstRow: number): void {
    const file = this.file;
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const row = firstRow + i;
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw badField(file, undefined, row, 'the record', 'a JSON object', record);
      }
      const r = record as JsonRecord;
      const token = r.token;
      if (typeof token !== 'string') throw badField(file, undefined, row, 'token', 'a string', token);
      for (const s of this.storages) {
        const spec = s.spec;
        let value = r[spec.field];
        if (value === undefined && 'default' in spec && spec.default !== undefined) value = spec.default;
        switch (s.kind) {
          case 'token':
            break;
          case 'link': {
            if (typeof value !== 'string')
              throw badField(file, token, row, spec.field, 'a token string', value);
            if (value === '') {
              if (!s.spec.optional)
                throw badField(file, token, row, spec.field, 'a token (it may not be empty)', value);
              s.rows.push(-1);
            } else if (s.pending) {
              s.rows.push(s.pending.push(value));
            } else {
              const target = s.target as Table<unknown>;
              const at = target.indexOf(value);
              if (at < 0) throw danglingLink(file, token, spec.field, value, target.file);
              s.rows.push(at);
            }
            break;
          }
          case 'links': {
            if (!Array.isArray(value))
              throw badField(file, token, row, spec.field, 'a list of tokens', value);
            const ids: number[] = [];
            for (const item of value) {
              if (typeof item !== 'string')
                throw badField(file, token, row, spec.field, 'a list of tokens', value);
              const at = s.target.indexOf(item);
              if (at < 0) throw danglingLink(file, token, spec.field, item, s.target.file);
              ids.push(at);
            }
            s.list.push(ids);
            break;
          }
          case 'number': {
            const width = s.spec.width;
            const expected = width === 1 ? 'a number' : `a list of ${width} numbers`;
            if (width === 1) {
              if (typeof value !== 'number') throw badField(file, token, row, spec.field, expected, value);
              s.values.push(value);
            } else {
              if (!Array.isArray(value) || value.length !== width) {
                throw badField(file, token, row, spec.field, expected, value);
              }
              const at = s.values.grow();
              for (let k = 0; k < width; k++) {
                const v = value[k];
                if (typeof v !== 'number') throw badField(file, token, row, spec.field, expected, value);
                s.values.set(at, k, v);
              }
            }
            break;
          }
          case 'bool': {
            if (typeof value !== 'boolean')
              throw badField(file, token, row, spec.field, 'true or false', value);
            s.values.push(value ? 1 : 0);
            break;
          }
          case 'dict': {
            if (typeof value !== 'string') throw badField(file, token, row, spec.field, 'a string', value);
            s.dict.push(value);
            break;
          }
          case 'path': {
            if (typeof value !== 'string') throw badField(file, token, row, spec.field, 'a file name', value);
            s.paths.push(value);
            break;
          }
        }
      }
      this.tokens.push(token);
      // Fields outside the schema are rare (none in real releases): keep them so nothing is los.
      let extra: JsonRecord | undefined;
      for (const key in r) {
        if (!this.known.has(key)) {
          extra ??= {};
          extra[key] = r[key];
        }
      }
      if (extra) this.extras.set(row, extra);
    }
  }

  /** Builds the token index and resolves links within the table; call once after the last `add`. */
  finish(): void {
    const duplicate = this.tokens.buildIndex();
    if (duplicate) throw duplicateToken(this.file, duplicate.token, duplicate.first, duplicate.second);
    for (const s of this.storages) {
      if ('rows' in s && s.pending) {
        const pending = s.pending;
        const rows = s.rows.data;
        for (let row = 0; row < this.length; row++) {
          const at = rows[row];
          if (at < 0) continue;
          const target = this.tokens.find(pending.get(at));
          if (target < 0) {
            throw danglingLink(this.file, this.tokens.get(row), s.spec.field, pending.get(at), this.file);
          }
          rows[row] = target;
        }
        s.pending = undefined;
      }
      if ('rows' in s) s.rows.trim();
      else if ('list' in s) s.list.trim();
      else if ('values' in s) s.values.trim();
      else if ('dict' in s) s.dict.trim();
      else if ('paths' in s) s.paths.trim();
    }
    this.finished = true;
  }

  indexOf(token: string): number {
    return this.tokens.find(token);
  }

  tokenAt(row: number): string {
    return this.tokens.get(row);
  }

  private storage(field: string): Storage {
    const s = this.storages.find((x) => x.spec.field === field);
    if (!s) throw new Error(`${this.name} has no column ${field}`);
    return s;
  }

  /** The typed array behind a number/bool column (row-major, `width` per row). */
  numbers(field: string): Float64Array | Uint8Array {
    const s = this.storage(field);
    if (!('values' in s)) throw new Error(`${this.name}.${field} is not a number column`);
    return s.values.data;
  }

  /** The row indexes behind a link column (−1 for an empty link). */
  links(field: string): Int32Array {
    const s = this.storage(field);
    if (!('rows' in s)) throw new Error(`${this.name}.${field} is not a link column`);
    return s.rows.data;
  }

  linkTarget(field: string): Table<unknown> {
    const s = this.storage(field);
    if (!('rows' in s)) throw new Error(`${this.name}.${field} is not a link column`);
    return s.target ?? this;
  }

  /** One string field of a row (dict or path column). */
  text(field: string, row: number): string {
    const s = this.storage(field);
    if ('dict' in s) return s.dict.get(row);
    if ('paths' in s) return s.paths.get(row);
    throw new Error(`${this.name}.${field} is not a text column`);
  }

  at(row: number): R {
    if (!this.finished) throw new Error(`${this.name} read before it finished loading`);
    const out: JsonRecord = {};
    for (const s of this.storages) {
      const spec = s.spec;
      switch (s.kind) {
        case 'token':
          out.token = this.tokens.get(row);
          break;
        case 'link': {
          const at = s.rows.data[row];
          out[spec.field] = at < 0 ? '' : (s.target ?? this).tokenAt(at);
          break;
        }
        case 'links': {
          out[spec.field] = Array.from(s.list.get(row), (at) => s.target.tokenAt(at));
          break;
        }
        case 'number': {
          const w = s.spec.width;
          const data = s.values.data;
          out[spec.field] = w === 1 ? data[row] : Array.from(data.subarray(row * w, row * w + w));
          break;
        }
        case 'bool':
          out[spec.field] = s.values.data[row] === 1;
          break;
        case 'dict':
          out[spec.field] = s.dict.get(row);
          break;
        case 'path':
          out[spec.field] = s.paths.get(row);
          break;
      }
    }
    const extra = this.extras.get(row);
    if (extra) Object.assign(out, extra);
    return out as unknown as R;
  }

  get byteLength(): number {
    let bytes = this.tokens.byteLength;
    for (const s of this.storages) {
      if ('rows' in s) bytes += s.rows.byteLength;
      else if ('list' in s) bytes += s.list.byteLength;
      else if ('values' in s) bytes += s.values.byteLength;
      else if ('dict' in s) bytes += s.dict.byteLength;
      else if ('paths' in s) bytes += s.paths.byteLength;
    }
    return bytes;
  }
}
