import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import type h5wasmModule from 'h5wasm/node';
import { SpikedriveError } from '../../util/errors.ts';

/**
 * A plain in-memory picture of an HDF5 file (groups, datasets, attributes), so that NIR layout rules can be checked
 * and tested without touching the HDF5 library, and files are written in one go. Only what NIR uses is modelled:
 * vlen UTF-8 strings, float32/float64/int64 (and, when reading, other integer) arrays and scalars.
 */
export type RawDtype =
  | 'string'
  | 'float32'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'other';

export type RawValue =
  | string
  | string[]
  | number
  | bigint
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

export interface RawDataset {
  kind: 'dataset';
  dtype: RawDtype;
  /** [] for a scalar. */
  shape: number[];
  value: RawValue;
  /** gzip (deflate) when written compressed. */
  compression?: 'gzip';
}

export type RawAttribute = string | number | bigint;

export interface RawGroup {
  kind: 'group';
  children: Map<string, RawEntry>;
  attrs?: Map<string, RawAttribute>;
}

export type RawEntry = RawGroup | RawDataset;

export function rawGroup(entries: [string, RawEntry][] = []): RawGroup {
  return { kind: 'group', children: new Map(entries) };
}

export function rawString(value: string): RawDataset {
  return { kind: 'dataset', dtype: 'string', shape: [], value };
}

/** An int64 scalar (Python ints are written as int64 by h5py). */
export function rawInt(value: number): RawDataset {
  return { kind: 'dataset', dtype: 'int64', shape: [], value: BigInt(value) };
}

/** An int64 array. */
export function rawInts(values: readonly number[]): RawDataset {
  return {
    kind: 'dataset',
    dtype: 'int64',
    shape: [values.length],
    value: BigInt64Array.from(values.map((v) => BigInt(v))),
  };
}

type H5 = typeof h5wasmModule;
let ready: Promise<unknown> | null = null;
let readyResolved = false;
let lib: H5 | null = null;

/**
 * Loads the HDF5 wasm module once. Imported lazily: loading it costs seconds, and most commands (and the modules
 * that only build or run NIR graphs) never touch a file.
 */
export async function hdf5Ready(): Promise<void> {
  ready ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    lib = m.default;
  });
  await ready;
  readyResolved = true;
}

// h5wasm dtype strings are struct-style: '<f' f32, '<d' f64, '<q' i64 ('<f8' would silently mean f32).
const WRITE_DTYPE: Partial<Record<RawDtype, string>> = {
  float32: '<f',
  float64: '<d',
  int64: '<q',
  int32: '<i',
};

/** Chunk shape for gzip: the whole array when small, otherwise about 256 KiB chunks along the first axis. */
function chunksFor(shape: number[], bytesPerValue: number): number[] {
  const rowValues = shape.slice(1).reduce((a, b) => a * b, 1);
  const rows = Math.max(
    1,
    Math.min(shape[0], Math.floor((256 * 1024) / Math.max(1, rowValues * bytesPerValue))),
  );
  return [rows, ...shape.slice(1)];
}

type H5Group = InstanceType<H5['Group']>;

function writeEntries(group: H5Group, entries: Map<string, RawEntry>, where: string): void {
  for (const [name, entry] of entries) {
    if (name.includes('/') || name === '') {
      throw new SpikedriveError(`HDF5 name "${name}" under ${where} is empty or contains "/"`, {
        subject: `${where}/${name}`,
        fix: 'Rename the node: NIR node names must not contain "/".',
      });
    }
    if (entry.kind === 'group') {
      const child = group.create_group(name);
      if (entry.attrs) for (const [k, v] of entry.attrs) child.create_attribute(k, attrValue(v));
      writeEntries(child, entry.children, `${where}/${name}`);
      continue;
    }
    writeDataset(group, name, entry, `${where}/${name}`);
  }
}

function attrValue(v: RawAttribute): string | number {
  return typeof v === 'bigint' ? Number(v) : v;
}

function writeDataset(group: H5Group, name: string, d: RawDataset, where: string): void {
  if (d.dtype === 'string') {
    // vlen UTF-8 strings, scalar or N-d (NIR's edges are (E, 2)); strings cannot be compressed.
    const data = typeof d.value === 'string' ? d.value : (d.value as string[]);
    group.create_dataset({ name, data, shape: d.shape.length === 0 ? null : d.shape });
    return;
  }
  const dtype = WRITE_DTYPE[d.dtype];
  if (dtype === undefined) {
    throw new SpikedriveError(`Cannot write ${d.dtype} dataset ${where}`, {
      subject: where,
      fix: 'Store NIR arrays as float32, float64, int32 or int64.',
    });
  }
  const v = d.value;
  if (typeof v === 'number' || typeof v === 'bigint' || d.shape.length === 0) {
    // A plain number with no shape is what makes h5wasm write a true scalar (a typed array becomes shape (1,)).
    const scalar =
      typeof v === 'number' || typeof v === 'bigint' ? Number(v) : Number((v as ArrayLike<number>)[0]);
    group.create_dataset({ name, data: scalar, dtype });
    return;
  }
  const data = v as Float32Array | Float64Array | BigInt64Array | Int32Array;
  const size = d.shape.reduce((a, b) => a * b, 1);
  const compress = d.compression === 'gzip' && d.shape.length > 0 && size > 0;
  group.create_dataset({
    name,
    data,
    shape: d.shape,
    dtype,
    ...(compress ? { chunks: chunksFor(d.shape, data.BYTES_PER_ELEMENT), compression: 'gzip' as const } : {}),
  });
}

/**
 * Writes a raw tree as an HDF5 file, atomically: into a temporary file beside the target, renamed into place
 * only once complete, so an interrupted export never leaves a half-written `.nir`.
 */
export async function writeRawHdf5(path: string, root: RawGroup): Promise<void> {
  await hdf5Ready();
  writeRawHdf5Sync(path, root);
}

/** Whether `hdf5Ready()` has completed (the synchronous functions need it). */
export function hdf5IsReady(): boolean {
  return readyResolved;
}

function requireReady(): H5 {
  if (!readyResolved || lib === null) {
    throw new SpikedriveError('The HDF5 library is not loaded yet', {
      subject: 'h5wasm',
      fix: 'Await hdf5Ready() once before using the synchronous HDF5 functions.',
    });
  }
  return lib;
}

/** `writeRawHdf5` without the await; `hdf5Ready()` must have completed. */
export function writeRawHdf5Sync(path: string, root: RawGroup): void {
  const h5 = requireReady();
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const file = new h5.File(temp, 'w');
    try {
      writeEntries(file, root.children, '');
    } finally {
      file.close();
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Serialises a raw tree to HDF5 bytes (for the wire protocol). */
export async function rawHdf5Bytes(root: RawGroup): Promise<Uint8Array> {
  await hdf5Ready();
  return rawHdf5BytesSync(root);
}

/** `rawHdf5Bytes` without the await; `hdf5Ready()` must have completed. */
export function rawHdf5BytesSync(root: RawGroup): Uint8Array {
  const temp = `${tmpdir()}/spikedrive-nir-${process.pid}-${randomBytes(6).toString('hex')}.h5`;
  writeRawHdf5Sync(temp, root);
  try {
    return new Uint8Array(readFileSync(temp));
  } finally {
    rmSync(temp, { force: true });
  }
}

function dtypeOf(meta: { type: number; size: number; signed: boolean; vlen: boolean }): RawDtype {
  // H5T classes: 0 integer, 1 float, 3 string.
  if (meta.type === 3) return 'string';
  if (meta.type === 1) return meta.size === 4 ? 'float32' : meta.size === 8 ? 'float64' : 'other';
  if (meta.type === 0) {
    if (meta.size === 8 && meta.signed) return 'int64';
    if (meta.size === 4 && meta.signed) return 'int32';
    if (meta.size === 2 && meta.signed) return 'int16';
    if (meta.size === 1) return meta.signed ? 'int8' : 'uint8';
  }
  return 'other';
}

type H5Dataset = InstanceType<H5['Dataset']>;

function readDataset(d: H5Dataset, where: string): RawDataset {
  const meta = d.metadata;
  const dtype = dtypeOf(meta);
  const shape = d.shape ?? [];
  let value: RawValue;
  if (dtype === 'other') {
    value = '';
  } else {
    const v = d.value;
    if (v === null || v === undefined) {
      throw new SpikedriveError(`Cannot read HDF5 dataset ${where}`, {
        subject: where,
        fix: 'The file may be damaged; re-export it.',
      });
    }
    if (dtype === 'string') {
      value = Array.isArray(v) ? (v as string[]) : String(v);
    } else if (typeof v === 'number' || typeof v === 'bigint') {
      value = v;
    } else {
      value = v as RawValue;
    }
  }
  const out: RawDataset = { kind: 'dataset', dtype, shape, value };
  if (d.filters.some((f) => f.id === 1)) out.compression = 'gzip';
  return out;
}

function readGroup(group: H5Group, where: string): RawGroup {
  const out = rawGroup();
  const attrs = group.attrs;
  const names = Object.keys(attrs);
  if (names.length > 0) {
    out.attrs = new Map();
    for (const name of names) {
      const value = attrs[name].value;
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') {
        out.attrs.set(name, value);
      } else if (value !== null && typeof value === 'object' && 'length' in value && value.length === 1) {
        out.attrs.set(name, (value as ArrayLike<number>)[0]);
      } else {
        out.attrs.set(name, String(value));
      }
    }
  }
  for (const name of group.keys()) {
    const entry = group.get(name);
    const path = `${where}/${name}`;
    const h5 = requireReady();
    if (entry instanceof h5.Group) out.children.set(name, readGroup(entry, path));
    else if (entry instanceof h5.Dataset) out.children.set(name, readDataset(entry, path));
  }
  return out;
}

/** Reads a whole HDF5 file into a raw tree. A file that is not HDF5 gets a clear error. */
export async function readRawHdf5(path: string): Promise<RawGroup> {
  await hdf5Ready();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new SpikedriveError(`Cannot read NIR file ${path}: ${(error as Error).message}`, {
      subject: path,
      fix: 'Check the path; NIR files are HDF5 (.nir).',
      cause: error,
    });
  }
  // HDF5 signature \x89HDF\r\n\x1a\n at offset 0 (a user block would move it; NIR writers never add one).
  const signature = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) {
    throw new SpikedriveError(`${path} is not an HDF5 file`, {
      subject: path,
      fix: 'A .nir file is HDF5 as written by nir.write (or `spikedrive export nir`).',
    });
  }
  const file = new (requireReady().File)(path, 'r');
  try {
    return readGroup(file, '');
  } finally {
    file.close();
  }
}

/** Reads HDF5 bytes (e.g. received over the wire) into a raw tree. */
export async function readRawHdf5Bytes(bytes: Uint8Array): Promise<RawGroup> {
  const temp = `${tmpdir()}/spikedrive-nir-${process.pid}-${randomBytes(6).toString('hex')}.h5`;
  writeFileSync(temp, bytes);
  try {
    return await readRawHdf5(temp);
  } finally {
    rmSync(temp, { force: true });
  }
}
